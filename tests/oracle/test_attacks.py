"""Red-team differential tests (issue 12): seeded attack variants per class (attacks.py) are loaded by their REAL
loader in a throwaway subprocess; every one whose marker payload ran must be flagged high or above, without a
scan error, and a folder scan of them all must still report every file. The bypasses found are kept as code in
attack_corpus.py. Real joblib files made by joblib itself must stay quiet (the plain-pickle view of joblib's
layout must not turn random array bytes into alarms).

MLWARDEN_ATTACK_SEED / MLWARDEN_ATTACK_COUNT widen the run (e.g. COUNT=80 for a full red-team sweep).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from mlwarden.findings import Severity
from mlwarden.models.scanner import scan_model_file
from tests.oracle import attack_corpus, attacks, harness

SEED = int(os.environ.get("MLWARDEN_ATTACK_SEED", "12"))
COUNT = int(os.environ.get("MLWARDEN_ATTACK_COUNT", "4"))


def _flagged_high(path: Path, display: str) -> tuple[bool, str]:
    result, _ = scan_model_file(path, display)
    high = any(f.severity >= Severity.HIGH for f in result.findings)
    why = str(result.error) if result.error else repr([(f.rule, f.severity.label, f.message) for f in result.findings])
    return result.error is None and high, why


def _missed(tmp_path: Path, rows: list[attacks.Attack], ran: set[str]) -> list[str]:
    missed = []
    for i, attack in enumerate(rows):
        if attack.name not in ran:
            continue
        folder = tmp_path / f"{i:04d}"
        folder.mkdir()
        path = folder / attack.filename
        path.write_bytes(attack.data)
        ok, why = _flagged_high(path, attack.filename)
        if not ok:
            missed.append(f"{attack.name}: {why}")
    return missed


@pytest.fixture(scope="module")
def generated() -> tuple[list[attacks.Attack], set[str]]:
    rows = attacks.generate(SEED, COUNT)
    ran = harness.run_named_loaders([(a.name, a.filename, a.data, a.loader) for a in rows])
    return rows, ran


def test_generated_attacks_that_run_are_flagged_high(
        tmp_path: Path, generated: tuple[list[attacks.Attack], set[str]]) -> None:
    rows, ran = generated
    assert len(ran) >= len(rows) // 3, "most generated attacks should run; the loaders or the generator changed"
    assert {a.cls for a in rows if a.name in ran} >= set(attacks.CLASSES) - {"frames"}
    assert _missed(tmp_path, rows, ran) == []


def test_folder_scan_reports_every_attack(tmp_path: Path, generated: tuple[list[attacks.Attack], set[str]]) -> None:
    rows, ran = generated
    names, live = [], []
    for i, attack in enumerate(rows):
        name = f"{i:04d}-{attack.filename}"
        (tmp_path / name).write_bytes(attack.data)
        names.append(name)
        if attack.name in ran:
            live.append(name)
    # One file that no reader understands, named like a model, among them: it is reported, the others still are.
    (tmp_path / "zzzz-broken.pt").write_bytes(b"\x80\x05\x95" + b"\xff" * 64)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    out = subprocess.run([sys.executable, "-m", "mlwarden", "models", str(tmp_path), "--format", "json"],
                         capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300, check=False)
    assert out.returncode == 1, out.stderr
    doc = json.loads(out.stdout)
    high = {Path(r["path"]).name for r in doc["results"] if r["severity"] in ("high", "critical")}
    assert [n for n in live if n not in high] == []
    assert "zzzz-broken.pt" in high
    assert doc["coverage"]["files_scanned"] == len(names) + 1


@pytest.mark.parametrize("build", attack_corpus.BUILDERS, ids=lambda b: b.__name__)
def test_corpus_bypass_stays_flagged(tmp_path: Path, build: Callable[[], attacks.Attack]) -> None:
    attack = build()
    path = tmp_path / attack.filename
    path.write_bytes(attack.data)
    ok, why = _flagged_high(path, attack.filename)
    assert ok, why


def test_corpus_samples_still_run_in_their_loader() -> None:
    rows = [build() for build in attack_corpus.BUILDERS]
    ran = harness.run_named_loaders([(a.name, a.filename, a.data, a.loader) for a in rows])
    assert ran == {a.name for a in rows}


def test_real_joblib_files_have_no_high_finding(tmp_path: Path) -> None:
    """joblib's raw array bytes are also read as pickle opcodes (the plain-pickle view): arrays of every
    common dtype, random contents, every protocol, plain and compressed (lz4 too), must not make that view raise an
    alarm."""
    np = pytest.importorskip("numpy")
    joblib = pytest.importorskip("joblib")
    rng = np.random.default_rng(SEED)
    dtypes = ("<f8", "<f4", "<f2", "<i8", "<i4", "|u1", "|i1", "<c16", "|b1", "<u2")
    for i in range(60):
        dtype = dtypes[i % len(dtypes)]
        raw = rng.bytes(int(rng.integers(1, 400)) * np.dtype(dtype).itemsize)
        array = np.frombuffer(raw, dtype="|u1").astype(bool) if dtype == "|b1" else np.frombuffer(raw, dtype=dtype)
        value = {"w": array, "tail": [array[:2], {"k": array[-1:]}],
                 "o": np.array([1, "s", None], dtype=object) if i % 4 == 0 else None}
        compress = (("zlib", 3), ("lz4", 3), 0, 0, 0)[i % 5]
        # protocols 0 and 1 write the array wrapper through copyreg._reconstructor
        joblib.dump(value, tmp_path / f"a{i}.joblib", compress=compress, protocol=(0, 1, 2, 3, 4, 5)[i % 6])
    noisy = []
    for path in sorted(tmp_path.iterdir()):
        result, _ = scan_model_file(path, path.name)
        high = [(f.rule, f.message) for f in result.findings if f.severity >= Severity.HIGH]
        if high or result.error is not None:
            noisy.append(f"{path.name}: {high} {result.error}")
    assert noisy == []
