"""Issue #15's "concurrent policy edits lose nothing", with real processes: adds and removes racing on one policy
file, and `sbom generate -o` racing with itself while a reader watches the output (never a partial file)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from mlwarden import _toml

SRC = Path(__file__).resolve().parents[2] / "src"
META = "reason = 'r'\nowner = 'o'\nadded = 2026-01-01\nexpires = 2099-01-01\n"


def _spawn(cwd: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(SRC), "NO_COLOR": "1"}
    env.pop("MLWARDEN_POLICY", None)
    return subprocess.Popen([sys.executable, "-m", "mlwarden", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _finish(procs: list[subprocess.Popen[bytes]]) -> list[tuple[int, str]]:
    out = []
    for proc in procs:
        _stdout, stderr = proc.communicate(timeout=180)
        out.append((proc.returncode, stderr.decode("utf-8", "replace")))
    return out


def test_mixed_concurrent_adds_and_removes_lose_nothing(tmp_path: Path) -> None:
    """10 entries removed and 10 added by 20 processes at once: exactly the 10 new ones and the 5 untouched
    ones remain, the file is whole, no lock or temporary file is left behind."""
    root = tmp_path / "repo"
    (root / "allowlists").mkdir(parents=True)
    old = "".join(f"[[pickle]]\nglobals = ['old.mod{i}.Cls']\n{META}\n" for i in range(15))
    (root / "allowlists" / "policy.toml").write_text(f"schema_version = 1\n\n{old}")
    procs = [_spawn(root, "allowlist", "remove", "pickle", f"old.mod{i}.Cls") for i in range(10)]
    procs += [_spawn(root, "allowlist", "add", "pickle", "--global", f"new.mod{i}.Cls", "--reason", "r",
                     "--owner", "o", "--expires", "2099-01-01") for i in range(10)]
    outcomes = _finish(procs)
    assert [code for code, _ in outcomes] == [0] * 20, outcomes
    data = _toml.loads((root / "allowlists" / "policy.toml").read_text())
    names = sorted(g for entry in data["pickle"] for g in entry["globals"])
    assert names == sorted([f"new.mod{i}.Cls" for i in range(10)] + [f"old.mod{i}.Cls" for i in range(10, 15)])
    assert sorted(p.name for p in (root / "allowlists").iterdir()) == ["policy.toml"]


def test_concurrent_sbom_generate_never_leaves_a_partial_file(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    deps = "\n".join(f"package{i}=={i}.0" for i in range(300))  # a large enough SBOM to be written in pieces
    (root / "requirements.txt").write_text(deps + "\n")
    (root / "out").mkdir()
    target = root / "out" / "bom.json"
    seen: list[str] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            try:
                text = target.read_text(encoding="utf-8")
            except FileNotFoundError:
                time.sleep(0.001)
                continue
            try:
                doc = json.loads(text)
                seen.append("whole" if len(doc.get("components", [])) >= 300 else "short")
            except ValueError:
                seen.append("partial")

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        outcomes = _finish([_spawn(root, "sbom", "generate", "-o", "out/bom.json") for _ in range(8)])
    finally:
        stop.set()
        watcher.join()
    assert [code for code, _ in outcomes] == [0] * 8, outcomes
    assert "partial" not in seen
    assert "short" not in seen
    assert seen  # the watcher did read the file while the writers raced
    assert json.loads(target.read_text())["bomFormat"] == "CycloneDX"
    assert sorted(p.name for p in (root / "out").iterdir()) == ["bom.json"]  # no temporary file left
