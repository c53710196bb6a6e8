"""The issue's "done when": a tree holding one malformed file of each kind still yields a full report with every
other finding, and a tree with credentials planted in every format shows none of them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fuzz import seeds
from tests.fuzz.mutate import tree_digest
from tests.fuzz.targets import EVIL_PICKLE, run_cli

MALFORMED = {
    "requirements.txt": b"numpy==1.26.4\n-r /dev/zero\n-r missing.txt\n" + b"x" * 5000 + b"==1\n",
    "pyproject.toml": b"[project]\ndependencies = 7\n",
    "uv.lock": b"version = 1\n[[package]]\nname = 3\nversion = []\nsource = 'pypi'\n",
    "poetry.lock": b"[[package]]\nname = 'x'\n",
    "Pipfile.lock": b'{"default": [], "_meta": {"sources": 5}}',
    "pylock.toml": b"lock-version = [1]\npackages = 'x'\n",
    "environment.yml": b"dependencies: &a [*a]\n",
    "train.ipynb": b'{"cells": [{"cell_type": "code", "source": [1, null], "outputs": 5}], "nbformat": 4}',
    "broken.ipynb": b'{"cells": ',
    "src/app.py": b"def broken(:\n",
    "models/truncated.pt": b"PK\x03\x04" + b"\x00" * 30,
    "models/bad.pt": b"\x80\x04\x95" + b"\xff" * 8,  # a pickle cut short
    "data/people.csv": b"name,email\n" + b"\xff\xfe" * 10 + b"\n",
}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for rel, data in {**MALFORMED, "models/evil.pkl": EVIL_PICKLE}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    (root / ".gitignore").write_text("out/\n")
    return root


def test_one_malformed_file_of_each_kind_still_yields_a_full_report(tree: Path) -> None:
    before = tree_digest(tree)
    for fmt in ("json", "sarif", "text"):
        code, _out, _err = run_cli(tree, ["scan", ".", "--format", fmt, "-o", f"out/report.{fmt}"])
        assert code == 1  # the critical pickle finding, whatever else went wrong
    report = json.loads((tree / "out" / "report.json").read_text())
    # errors name "path" or "path:line"
    paths = {r["path"] for r in report["results"]} | {e["path"].split(":")[0] for e in report["errors"]}
    assert "models/evil.pkl" in paths
    missing = [rel for rel in MALFORMED if rel not in paths]  # every malformed file is named
    assert missing == []
    after = tree_digest(tree)
    assert {rel: after.get(rel) for rel in before} == before  # no input changed


def test_the_malicious_pickle_survives_malformed_model_files(tree: Path) -> None:
    code, _out, _err = run_cli(tree, ["models", ".", "--format", "json", "-o", "out/models.json"])
    assert code == 1
    report = json.loads((tree / "out" / "models.json").read_text())
    assert "models/evil.pkl" in {r["path"] for r in report["results"]}


def test_no_credential_in_any_output(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    for rel, text in seeds.dependency_seeds().items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    (root / "allowlists").mkdir()
    (root / "allowlists" / "policy.toml").write_text(seeds.POLICY)
    (root / "train.ipynb").write_text(json.dumps(seeds.NOTEBOOK))
    from tests.fuzz.targets import no_secret

    for args in (["secrets", "--format", "json"], ["code", "--format", "sarif"]):
        _code, out, err = run_cli(root, args)
        no_secret(out, err)
