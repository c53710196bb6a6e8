"""Seed inputs for the fuzz tests, one or more per reader. Real files from public repositories live in
tests/fuzz/seeds/ (sources in its README); the rest are written here in the shape their tools write them.
Credentials are planted wherever a format can carry one (mutate.SECRET), so every property can also check
that no output repeats them."""

from __future__ import annotations

import functools
import json
import pickle
import tempfile
from pathlib import Path

from tests.fuzz.mutate import CREDENTIAL_URL, TOKEN_URL

# Stored as <name>.seed so that no tool (mlwarden's own SBOM and dependency checks included) takes them for the
# project's files.
HERE = Path(__file__).resolve().parent / "seeds"
ADVISORIES = Path(__file__).resolve().parents[1] / "data" / "advisories" / "vulns"
SHA = "sha256:" + "ab" * 32

REQUIREMENTS = f"""--index-url {CREDENTIAL_URL}
--extra-index-url https://pypi.org/simple
-r base.txt
-c constraints.txt
numpy==1.26.4 \\
    --hash={SHA}
requests[socks]>=2.31 ; python_version >= "3.8"
private @ {TOKEN_URL}@v1.0
-e ./local
./wheels/thing-1.0-py3-none-any.whl
"""

PYPROJECT_UV = f"""[project]
name = "churn"
version = "1.0"
dependencies = ["numpy>=1.26", "private @ {TOKEN_URL}"]
[project.optional-dependencies]
gpu = ["torch==2.3.0"]
[dependency-groups]
dev = ["pytest", {{include-group = "lint"}}]
lint = ["ruff"]
[[tool.uv.index]]
name = "corp"
url = "{CREDENTIAL_URL}"
[tool.uv.sources]
private = {{ git = "{TOKEN_URL.removeprefix('git+')}", rev = "v1" }}
[tool.poetry.dependencies]
python = "^3.10"
pandas = {{ version = "2.2.0", source = "corp" }}
[[tool.poetry.source]]
name = "corp"
url = "{CREDENTIAL_URL}"
"""

POETRY_LOCK = f"""[[package]]
name = "numpy"
version = "1.26.4"
description = "Fundamental package for array computing in Python"
optional = false
python-versions = ">=3.9"
files = [
    {{file = "numpy-1.26.4.tar.gz", hash = "{SHA}"}},
]

[[package]]
name = "private"
version = "1.0"
description = ""
optional = false
python-versions = "*"
files = []

[package.source]
type = "git"
url = "{TOKEN_URL.removeprefix('git+')}"
reference = "v1"
resolved_reference = "96e8b76aa8ed13c5952c4750e817de301f27a6a8"

[metadata]
lock-version = "2.0"
python-versions = "^3.10"
content-hash = "{'0' * 64}"
"""

PYLOCK = f"""lock-version = "1.0"
created-by = "pip"
[[packages]]
name = "numpy"
version = "1.26.4"
index = "{CREDENTIAL_URL}"
[[packages.wheels]]
name = "numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.whl"
url = "https://files.pythonhosted.org/numpy.whl"
hashes = {{sha256 = "{'ab' * 32}"}}
"""

ENVIRONMENT_PIP = f"""name: train
channels:
  - conda-forge
  - https://user:{CREDENTIAL_URL.split(':')[2].split('@')[0]}@conda.internal.example/channel
dependencies:
  - python=3.11
  - numpy=1.26.4
  - pip
  - pip:
      - --index-url {CREDENTIAL_URL}
      - private @ {TOKEN_URL}
      - torch==2.3.0
"""


def pipfile_with_credentials() -> str:
    doc = json.loads((HERE / "Pipfile.lock.seed").read_text())
    doc["_meta"]["sources"].append({"name": "corp", "url": CREDENTIAL_URL, "verify_ssl": True})
    doc["default"]["private"] = {"git": TOKEN_URL.removeprefix("git+"), "ref": "v1"}
    return json.dumps(doc, indent=4)


def dependency_seeds() -> dict[str, str]:
    """file name -> text; the name picks the parser."""
    return {
        "requirements.txt": REQUIREMENTS,
        "pyproject.toml": PYPROJECT_UV,
        "uv.lock": (HERE / "uv.lock.seed").read_text(),
        "poetry.lock": POETRY_LOCK,
        "Pipfile.lock": pipfile_with_credentials(),
        "pylock.toml": PYLOCK,
        "environment.yml": ENVIRONMENT_PIP,
        "environment-real.yml": (HERE / "environment.yml.seed").read_text(),
        "real/pyproject.toml": (HERE / "pyproject.toml.seed").read_text(),
    }


NOTEBOOK = {
    "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Train\n", "Loads the model."]},
        {"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": [
            {"name": "stdout", "output_type": "stream", "text": ["token ghp_" + "A1b2C3d4" * 4 + "\n"]},
            {"output_type": "execute_result", "execution_count": 1, "metadata": {},
             "data": {"text/plain": ["'alice@example.com'"], "image/png": "iVBORw0KGgo="}},
        ], "source": ["import torch, pickle\n", "m = torch.load('model.pt')\n",
                      f"!pip install --index-url {CREDENTIAL_URL} private\n", "pickle.load(open('x.pkl', 'rb'))"]},
        {"cell_type": "raw", "metadata": {}, "source": "raw text"},
    ],
    "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                 "language_info": {"name": "python", "version": "3.11.7"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}

META = "reason = 'r'\nowner = 'o'\nadded = 2026-01-01\nexpires = 2099-01-01\n"
POLICY = f"""schema_version = 1
[policy]
require_hashes = true
[[index]]
id = "corp"
url = "{CREDENTIAL_URL}"
{META}
[[package]]
name = "numpy"
versions = ">=1.26"
index = "corp"
{META}
[[pickle]]
globals = ["acme.nets.Net"]
{META}
[[exception]]
rule = "MW102"
path = "models/*.pkl"
{META}
[[hf]]
repo = "acme/tiny"
revisions = ["{'0' * 40}"]
{META}
"""


def osv_seeds() -> dict[str, bytes]:
    """Real OSV records (tests/data/advisories, from the OSV PyPI export), as YAML and as JSON."""
    import yaml

    out: dict[str, bytes] = {}
    for path in sorted(ADVISORIES.glob("*/*.yaml"))[:6]:
        raw = path.read_bytes()
        out[path.name] = raw
        out[path.with_suffix(".json").name] = json.dumps(yaml.safe_load(raw), default=str).encode()
    return out


CYCLONEDX = {
    "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
    "metadata": {"component": {"type": "application", "name": "churn", "version": "1.0", "bom-ref": "root"}},
    "components": [
        {"type": "library", "bom-ref": "pkg:pypi/numpy@1.26.4", "name": "numpy", "version": "1.26.4",
         "purl": "pkg:pypi/numpy@1.26.4", "hashes": [{"alg": "SHA-256", "content": "ab" * 32}]},
        {"type": "machine-learning-model", "bom-ref": "file:models/clf.pkl", "name": "models/clf.pkl",
         "hashes": [{"alg": "SHA-256", "content": "cd" * 32}],
         "properties": [{"name": "mlwarden:verdict", "value": "clean"}]},
        {"type": "data", "bom-ref": "file:data/train.csv", "name": "data/train.csv"},
    ],
    "dependencies": [{"ref": "root", "dependsOn": ["pkg:pypi/numpy@1.26.4"]}],
    "vulnerabilities": [{"id": "PYSEC-2017-1", "affects": [{"ref": "pkg:pypi/numpy@1.26.4"}],
                         "analysis": {"state": "not_affected", "detail": "waived"}}],
}


@functools.lru_cache(maxsize=1)
def model_seeds() -> dict[str, bytes]:
    """Model files written by the real libraries: torch.save (zip and legacy), joblib/sklearn, numpy, safetensors,
    and a plain pickle. Built once per session."""
    import joblib
    import numpy as np
    import torch
    from safetensors.numpy import save as st_save
    from sklearn.linear_model import LogisticRegression

    out: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        state = {"w": torch.arange(6, dtype=torch.float32).reshape(2, 3), "b": torch.zeros(2)}
        torch.save(state, folder / "m.pt")
        torch.save(state, folder / "legacy.pt", _use_new_zipfile_serialization=False)
        clf = LogisticRegression().fit(np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0, 0, 1, 1]))
        joblib.dump(clf, folder / "clf.joblib")
        np.save(folder / "a.npy", np.arange(4, dtype=np.int64))
        np.save(folder / "o.npy", np.array([{"k": 1}, None], dtype=object), allow_pickle=True)
        np.savez(folder / "z.npz", a=np.arange(3), b=np.ones(2))
        for path in sorted(folder.iterdir()):
            out[path.name] = path.read_bytes()
    out["w.safetensors"] = st_save({"w": np.ones((2, 2), dtype=np.float32)})
    out["p.pkl"] = pickle.dumps({"coef": [0.1, 0.2], "name": "x"}, protocol=4)
    return out
