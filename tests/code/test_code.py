"""Unsafe model-loading code in .py files and notebooks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlwarden.cli import main
from mlwarden.code.checks import check_source
from mlwarden.code.scanner import check_code_file
from mlwarden.policy import Policy

PIN = "96e8b76aa8ed13c5952c4750e817de301f27a6a8"

UNSAFE = f"""\
import torch as t
import numpy as np
import pandas as pd
import pickle, dill, yaml, joblib, tarfile
from transformers import AutoModel, pipeline
from huggingface_hub import hf_hub_download as dl
from datasets import load_dataset
import tensorflow as tf

m = AutoModel.from_pretrained("acme/bert")                                   # 10 MW701
m = AutoModel.from_pretrained("acme/bert", revision="main")                  # 11 MW701
m = AutoModel.from_pretrained("acme/bert", revision="{PIN}", trust_remote_code=True)  # 12 MW703
dl("acme/bert", "model.bin")                                                 # 13 MW701
load_dataset("acme/data")                                                    # 14 MW701
p = pipeline("text-classification", model="acme/clf")                        # 15 MW701
t.load("ckpt.pt")                                                            # 16 MW704
t.load("ckpt.pt", weights_only=False)                                        # 17 MW704
pickle.loads(b"")                                                            # 18 MW705
dill.load(open("x", "rb"))                                                   # 19 MW705
joblib.load("m.joblib")                                                      # 20 MW705
pd.read_pickle("df.pkl")                                                     # 21 MW705
np.load("a.npy", allow_pickle=True)                                          # 22 MW705
tf.keras.models.load_model("m.h5")                                           # 23 MW706
tf.keras.models.load_model("m.keras", safe_mode=False)                       # 24 MW706
yaml.load(open("c.yml"))                                                     # 25 MW707
with tarfile.open("a.tgz") as tar:
    tar.extractall("out")                                                    # 27 MW708
t.ops.load_library("custom.so")                                              # 28 MW709
"""

SAFE = f"""\
import torch, numpy as np, yaml, tarfile
from transformers import AutoModel, pipeline
m = AutoModel.from_pretrained("acme/bert", revision="{PIN}")
m = AutoModel.from_pretrained("./local/checkpoint")
p = pipeline("sentiment-analysis")
torch.load("ckpt.pt", weights_only=True)
np.load("a.npy")
np.load("a.npy", allow_pickle=False)
yaml.load(open("c.yml"), Loader=yaml.SafeLoader)
yaml.safe_load("a: 1")
with tarfile.open("a.tgz") as tar:
    tar.extractall("out", filter="data")
import zipfile
zipfile.ZipFile("a.zip").extractall("out")
"""


def test_every_unsafe_pattern_with_its_line() -> None:
    result = check_source(UNSAFE)
    got = {(i.line, i.rule) for i in result.issues}
    expected = {(10, "MW701"), (11, "MW701"), (12, "MW703"), (13, "MW701"), (14, "MW701"), (15, "MW701"),
                (16, "MW704"), (17, "MW704"), (18, "MW705"), (19, "MW705"), (20, "MW705"), (21, "MW705"),
                (22, "MW705"), (23, "MW706"), (24, "MW706"), (25, "MW707"), (27, "MW708"), (28, "MW709")}
    assert got == expected
    assert all(i.message for i in result.issues)
    assert {r.repo_id for r in result.hub_refs} == {"acme/bert", "acme/data", "acme/clf"}


def test_safe_variants_are_quiet() -> None:
    assert check_source(SAFE).issues == []


def test_messages_name_the_safer_call() -> None:
    messages = " ".join(i.message for i in check_source(UNSAFE).issues)
    for hint in ("weights_only=True", "yaml.safe_load", "40-hex commit", 'filter="data"', ".keras"):
        assert hint in messages


def test_notebook_cells_and_lines(tmp_path: Path) -> None:
    cells = [
        {"cell_type": "markdown", "source": ["# token: not code\n"]},
        {"cell_type": "code", "source": ["%pip install torch\n", "import torch as tt\n"], "outputs": []},
        {"cell_type": "code", "source": ["x = 1\n", "!ls\n", "m = tt.load('a.pt')\n"], "outputs": []},
        {"cell_type": "code", "source": "%%bash\necho hi\n", "outputs": []},
        {"cell_type": "code", "source": ["def broken(:\n"], "outputs": []},
    ]
    notebook = tmp_path / "nb.ipynb"
    notebook.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    findings, _ = check_code_file(notebook, "nb.ipynb", Policy())
    got = {(f.rule, f.location.member, f.location.line) for f in findings}
    assert got == {("MW704", "cell 2", 3), ("MW710", "cell 4", 1)}  # code cells numbered from 1


def test_bad_inputs_are_findings(tmp_path: Path) -> None:
    (tmp_path / "bad.ipynb").write_text("{not json")
    (tmp_path / "bad.py").write_text("def f(:\n    pass\n")
    (tmp_path / "bin.py").write_bytes(b"\xff\xfe\x00import os\n")
    for name in ("bad.ipynb", "bad.py", "bin.py"):
        findings, _ = check_code_file(tmp_path / name, name, Policy())
        assert [f.rule for f in findings] == ["MW710"], (name, findings)
    findings, _ = check_code_file(tmp_path / "bad.py", "bad.py", Policy())
    assert findings[0].location.line == 1


def test_policy_repositories(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "train.py").write_text(
        "from transformers import AutoModel\n"
        f"AutoModel.from_pretrained('acme/bert', revision='{PIN}')\n"
        f"AutoModel.from_pretrained('other/bert', revision='{PIN}')\n"
        f"AutoModel.from_pretrained('acme/old', revision='{'1' * 40}')\n")
    assert main(["code", "train.py"]) == 0  # no [[hf]] entries: nothing to hold repositories against
    (tmp_path / "allowlists").mkdir()
    (tmp_path / "allowlists" / "hf.toml").write_text(
        f"schema_version = 1\n[[hf]]\nrepo = 'acme/bert'\nrevisions = ['{PIN}']\n"
        "reason = 'r'\nowner = 'o'\nadded = 2026-01-01\nexpires = 2099-01-01\n"
        f"[[hf]]\nrepo = 'acme/old'\nrevisions = ['{PIN}']\n"
        "reason = 'r'\nowner = 'o'\nadded = 2026-01-01\nexpires = 2099-01-01\n")
    capsys.readouterr()
    assert main(["code", "train.py", "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert {(r["rule_id"], r["line"]) for r in doc["results"]} == {("MW702", 3), ("MW702", 4)}
    assert len(doc["inventory"]["hub_references"]) == 3


def test_scan_runs_code_checks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "load.py").write_text("import torch\ntorch.load('x.pt')\n")
    assert main(["scan"]) == 1
    assert main(["code", "pkg"]) == 1
    assert main(["code", "missing.py"]) == 2
