"""Issue #15's "done when": a tree holding one malformed file of EVERY kind mlwarden reads (each lock format, a
notebook, an OSV record in the configured database, a CycloneDX SBOM, a policy file, a secrets baseline, every
model format) plus one known critical finding still yields a full report: `scan . -o out.sarif` and
`--format json` both carry the critical finding, and every malformed file is named in the findings or in the
coverage errors (fail closed: nothing malformed is silently skipped). An invalid policy file is an error on that
file and is not applied; the `allowlist` commands still refuse it."""

from __future__ import annotations

import gzip
import io
import json
import struct
import tarfile
from pathlib import Path
from typing import Any

import pytest

from tests.fuzz import seeds
from tests.fuzz.mutate import tree_digest
from tests.fuzz.targets import EVIL_PICKLE, run_cli
from tests.payloads import zip_bytes


def _tar_with_bad_member() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("model/data.pkl")
        payload = b"\x80\x04\x95" + b"\xff" * 8  # a pickle cut short
        info.size = len(payload)
        archive.addfile(info, io.BytesIO(payload))
    return buffer.getvalue()[:700]  # and the archive itself cut inside its first member


def _model_files() -> dict[str, bytes]:
    """One malformed file per model format: headers that lie, archives cut short, members that do not parse."""
    real = seeds.model_seeds()
    return {
        "models/cut.pkl": real["p.pkl"][: len(real["p.pkl"]) // 2],
        "models/cut.pt": real["m.pt"][: len(real["m.pt"]) // 2],  # torch zip without its central directory
        "models/legacy-cut.pt": real["legacy.pt"][:40],
        "models/cut.joblib": real["clf.joblib"][: len(real["clf.joblib"]) // 3],
        "models/bad-header.npy": b"\x93NUMPY\x01\x00\x20\x00{'descr': '<i8', 'fortran_order': 1e999, }\n",
        "models/bad-member.npz": zip_bytes({"a.npy": b"\x93NUMPY\x01\x00\xff\xff" + b"x" * 16}),
        "models/lying.safetensors": struct.pack("<Q", 1 << 40) + b'{"w": {}}',
        "models/bad.gguf": b"GGUF" + struct.pack("<I", 3) + struct.pack("<QQ", 1 << 60, 1 << 60),
        "models/bad.h5": b"\x89HDF\r\n\x1a\n" + b"\x00" * 40,
        "models/bad.keras": zip_bytes({"config.json": b'{"class_name": ', "metadata.json": b"[]"}),
        "models/bad.tar": _tar_with_bad_member(),
        "models/bad.pkl.gz": gzip.compress(EVIL_PICKLE)[:20],
        "models/bad.7z": b"7z\xbc\xaf\x27\x1c\x00\x04" + b"\xff" * 24,
        "models/bad.onnx": b"\x08\x07\x12\x07pytorch\x3a\xff\xff\xff\xff\x0f",
        "models/saved/saved_model.pb": b"\x08\x01\x12\xff\xff\xff\xff\x0f",
        "models/bad.skops": zip_bytes({"schema.json": b'{"__class__": 5, "content": ['}),
        "models/bad.mar": zip_bytes({"MAR-INF/MANIFEST.json": b'{"model": ['}),
    }


MALFORMED: dict[str, bytes] = {
    # dependency files: one per format mlwarden reads
    "requirements.txt": b"numpy==1.26.4\n-r missing.txt\n" + b"x" * 5000 + b"==1\n",
    "pyproject.toml": b"[project]\ndependencies = 7\n",
    "uv.lock": b"version = 1\n[[package]]\nname = 3\nversion = []\nsource = 'pypi'\n",
    "poetry.lock": b"[[package]]\nname = 'x'\nversion = {a = 1}\n",
    "Pipfile.lock": b'{"default": [], "_meta": {"sources": 5}}',
    "pylock.toml": b"lock-version = [1]\npackages = 'x'\n",
    "environment.yml": b"dependencies: &a [*a]\n",
    "pdm.lock": b"[[package]]\nname = [1]\n",
    # code
    "train.ipynb": b'{"cells": [{"cell_type": "code", "source": [1, null], "outputs": 5}], "nbformat": 4}',
    "src/app.py": b"def broken(:\n",
    # data
    "data/people.csv": b"name,email\n" + b"\xff\xfe" * 10 + b"\n",
    # the OSV database the configuration names
    "osv-db/PYSEC-0000-1.json": b'{"id": "PYSEC-0000-1", "affected": 5, "modified": []}',
    # a committed SBOM (read by `sbom check` / `sbom diff`, listed by scan as a project file)
    "sbom/repo.cdx.json": b'{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": {"a": 1}}',
    # a secrets baseline
    ".secrets.baseline": b'{"results": {"src/app.py": 5}, "version": [] ',
    # a policy file of the wrong shape: an error on that file, the checks run with the other layers
    "allowlists/policy.toml": b"schema_version = 1\n[[pickle]]\nglobals = 5\n",
    **_model_files(),
}
NOT_READ_BY_SCAN = {"sbom/repo.cdx.json"}  # read by `sbom check` and `sbom diff` (tested below), not by scan
GOOD_OSV = sorted((seeds.ADVISORIES).glob("*/*.yaml"))[0]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    files = {**MALFORMED, "models/evil.pkl": EVIL_PICKLE, f"osv-db/{GOOD_OSV.name}": GOOD_OSV.read_bytes(),
             ".mlwarden.toml": b'osv-db = "osv-db"\n', ".gitignore": b"out/\n"}
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def _named(report: dict[str, Any]) -> set[str]:
    """Files a report names: in a finding, an error ("path" or "path:line") or a coverage note ("...: path: why",
    how a skipped OSV record or an unusable baseline is reported: the run is still sound without them)."""
    named = {r["path"] for r in report["results"]} | {e["path"].split(":")[0] for e in report["errors"]}
    for note in report["coverage"]["notes"]:
        named.update(rel for rel in MALFORMED if f" {rel}: " in f" {note}")
    return named


def test_scan_reports_the_critical_finding_and_names_every_malformed_file(tree: Path) -> None:
    before = tree_digest(tree)
    code, _out, _err = run_cli(tree, ["scan", ".", "--format", "sarif", "-o", "out.sarif"])
    assert code == 1
    sarif = json.loads((tree / "out.sarif").read_text())
    results = sarif["runs"][0]["results"]
    evil = [r for r in results if r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            == "models/evil.pkl"]
    assert any(r["level"] == "error" for r in evil)
    code, _out, _err = run_cli(tree, ["scan", ".", "--format", "json", "-o", "out.json"])
    assert code == 1
    report = json.loads((tree / "out.json").read_text())
    named = _named(report)
    assert any(r["path"] == "models/evil.pkl" and r["severity"] == "critical" for r in report["results"])
    missing = sorted(rel for rel in MALFORMED if rel not in named and rel not in NOT_READ_BY_SCAN)
    assert missing == []
    after = tree_digest(tree)
    assert {rel: after.get(rel) for rel in before} == before  # no input changed


def test_sbom_diff_names_the_malformed_sbom(tree: Path) -> None:
    good = tree / "good.cdx.json"
    good.write_text(json.dumps(seeds.CYCLONEDX))
    code, _out, err = run_cli(tree, ["sbom", "diff", "good.cdx.json", "sbom/repo.cdx.json"])
    assert code == 2
    assert "sbom/repo.cdx.json" in err
    assert len(err.strip().splitlines()) <= 3


def test_allowlist_commands_still_refuse_the_malformed_policy(tree: Path) -> None:
    code, _out, err = run_cli(tree, ["allowlist", "check"])
    assert code == 2
    assert "allowlists/policy.toml:3" in err
    assert "globals" in err
