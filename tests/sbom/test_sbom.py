"""SBOM: dependencies, models and datasets in one valid, reproducible CycloneDX document; check; diff."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import pytest

from mlwarden.cli import main
from mlwarden.sbom.validate import validate
from tests import payloads
from tests.conftest import ROOT
from tests.hub.cache_builder import build_repo

SHA = "sha256:" + "a" * 64
UV_LOCK = f"""version = 1
requires-python = ">=3.10"

[[package]]
name = "jinja2"
version = "2.11.2"
source = {{ registry = "https://pypi.org/simple" }}
wheels = [{{ url = "https://files.pythonhosted.org/jinja2.whl", hash = "{SHA}", size = 1 }}]

[[package]]
name = "numpy"
version = "1.26.4"
source = {{ registry = "https://pypi.corp.example/simple" }}
wheels = [{{ url = "https://pypi.corp.example/numpy.whl", hash = "{SHA}", size = 1 }}]
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, marker: Path) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / ".xdg"))
    (tmp_path / ".gitignore").write_text(".xdg/\n")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "churn"\nversion = "1.2.0"\ndependencies = ["numpy"]\n')
    (tmp_path / "uv.lock").write_text(UV_LOCK)
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "clf.pkl").write_bytes(pickle.dumps({"coef": [0.1, 0.2]}, protocol=4))
    (tmp_path / "models" / "evil.pkl").write_bytes(payloads.os_system(marker))
    (tmp_path / "models" / "encoder.safetensors").write_bytes(payloads.safetensors(
        {"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\x00" * 8))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.csv").write_text("a,b\n1,2\n")
    return tmp_path


def generate(project: Path, *extra: str) -> dict[str, Any]:
    assert main(["sbom", "generate", *extra]) == 0
    doc: dict[str, Any] = json.loads((project / "sbom" / "churn.cdx.json").read_text())
    return doc


def components(bom: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in bom["components"]}


def props(component: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["value"] for p in component.get("properties", [])}


def test_one_valid_sbom_lists_everything(project: Path) -> None:
    bom = generate(project)
    assert validate(bom) == []
    assert bom["metadata"]["component"] == {"type": "application", "bom-ref": "project:churn", "name": "churn",
                                            "version": "1.2.0"}
    by_name = components(bom)
    assert by_name["jinja2"]["purl"] == "pkg:pypi/jinja2@2.11.2"
    assert by_name["jinja2"]["hashes"] == [{"alg": "SHA-256", "content": "a" * 64}]
    assert by_name["numpy"]["purl"] == "pkg:pypi/numpy@1.26.4?repository_url=https:%2F%2Fpypi.corp.example%2Fsimple"
    for name, kind, verdict in (("models/clf.pkl", "machine-learning-model", "clean"),
                                ("models/evil.pkl", "machine-learning-model", "critical"),
                                ("models/encoder.safetensors", "machine-learning-model", "clean"),
                                ("data/train.csv", "data", None)):
        component = by_name[name]
        assert component["type"] == kind
        assert component["hashes"][0]["alg"] == "SHA-256"
        if verdict:
            assert props(component)["mlwarden:verdict"] == verdict
    assert props(by_name["models/evil.pkl"])["mlwarden:rules"] == "MW101"
    assert "timestamp" not in bom["metadata"]
    assert "serialNumber" not in bom


def test_byte_identical_across_runs(project: Path) -> None:
    generate(project)
    first = (project / "sbom" / "churn.cdx.json").read_bytes()
    generate(project)
    assert (project / "sbom" / "churn.cdx.json").read_bytes() == first
    assert main(["sbom", "generate", "--format", "xml", "-o", "a.xml"]) == 0
    assert main(["sbom", "generate", "--format", "xml", "-o", "b.xml"]) == 0
    assert (project / "a.xml").read_bytes() == (project / "b.xml").read_bytes()
    assert b"<timestamp>" not in (project / "a.xml").read_bytes()
    assert main(["sbom", "generate", "--timestamp", "--serial-number", "-o", "t.json"]) == 0
    stamped = json.loads((project / "t.json").read_text())
    assert stamped["serialNumber"].startswith("urn:uuid:")
    assert validate(stamped) == []


def test_spec_15_validates(project: Path) -> None:
    bom = generate(project, "--spec", "1.5")
    assert bom["specVersion"] == "1.5"
    assert validate(bom) == []


def test_vulnerabilities_and_vex(project: Path) -> None:
    db = str(ROOT / "tests" / "data" / "advisories")
    bom = generate(project, "--db", db)
    assert validate(bom) == []
    vulns = {v["id"]: v for v in bom["vulnerabilities"]}
    assert vulns
    assert all(v["affects"] == [{"ref": "pkg:pypi/jinja2@2.11.2"}] for v in vulns.values())
    waived = sorted(vulns)[0]
    (project / "allowlists").mkdir()
    (project / "allowlists" / "p.toml").write_text(
        f"schema_version = 1\n[[exception]]\nvulnerability = '{waived}'\nreason = 'sandboxed'\nowner = 'sec'\n"
        "added = 2026-01-01\nexpires = 2099-01-01\n")
    bom = generate(project, "--db", db)
    analysis = {v["id"]: v.get("analysis") for v in bom["vulnerabilities"]}
    assert analysis[waived]["state"] == "not_affected"
    assert "sandboxed" in analysis[waived]["detail"]
    assert validate(bom) == []


def test_hf_cache_components(project: Path) -> None:
    commit = "0123456789abcdef0123456789abcdef01234567"
    build_repo(project / ".xdg" / "hub", "acme/BERT-Large", {"config.json": b"{}", "model.safetensors": b"W" * 9,
                                                             "onnx/model.onnx": b"O"}, commit=commit,
               refs={"main": commit}, lfs={"model.safetensors", "onnx/model.onnx"})
    build_repo(project / ".xdg" / "hub", "acme/reviews", {"data.csv": b"a\n"}, commit="f" * 40,
               repo_type="datasets")
    bom = generate(project, "--hf-cache", str(project / ".xdg" / "hub"))
    component = components(bom)["acme/BERT-Large"]
    assert component["purl"] == f"pkg:huggingface/acme/BERT-Large@{commit}"  # case kept, as the purl type says
    assert component["version"] == commit
    card = {p["name"]: p["value"] for p in component["modelCard"]["properties"]}
    assert card["mlwarden:source-revision"] == commit
    assert card["mlwarden:repo-type"] == "model"
    assert card["mlwarden:formats"] == "onnx,safetensors"
    import hashlib

    assert [(f["name"], f["bom-ref"], f["hashes"]) for f in component["components"]] == [
        ("acme/BERT-Large/model.safetensors", f"pkg:huggingface/acme/BERT-Large@{commit}#model.safetensors",
         [{"alg": "SHA-256", "content": hashlib.sha256(b"W" * 9).hexdigest()}]),
        ("acme/BERT-Large/onnx/model.onnx", f"pkg:huggingface/acme/BERT-Large@{commit}#onnx/model.onnx",
         [{"alg": "SHA-256", "content": hashlib.sha256(b"O").hexdigest()}]),
    ]  # config.json is not an LFS file: its blob is named by a git SHA-1, not listed as a hash
    assert component["externalReferences"] == [{"type": "distribution", "url": "https://huggingface.co/acme/BERT-Large"}]
    dataset = components(bom)["acme/reviews"]
    assert dataset["type"] == "data"
    assert dataset["data"] == [{"type": "dataset", "name": "acme/reviews",
                                "contents": {"url": "https://huggingface.co/datasets/acme/reviews"}}]
    assert validate(bom) == []


def test_unreadable_model_is_a_component_with_an_error(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import mlwarden.hub.hashing as hashing

    real = hashing.hash_file

    def failing(job: hashing.HashJob, buffer: bytearray, progress: Any = None) -> hashing.HashResult:
        if job.path.name == "clf.pkl":
            return hashing.HashResult(job, None, 0, "Permission denied")
        return real(job, buffer, progress)

    monkeypatch.setattr(hashing, "hash_file", failing)
    bom = generate(project)
    component = components(bom)["models/clf.pkl"]
    assert props(component)["mlwarden:error"] == "Permission denied"
    assert "hashes" not in component
    assert validate(bom) == []


def test_check_up_to_date_stale_and_broken(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sbom", "check"]) == 1  # missing: written, and the hook fails
    path = project / "sbom" / "churn.cdx.json"
    written = path.read_bytes()
    stamp = path.stat().st_mtime_ns
    assert main(["sbom", "check"]) == 0
    assert main(["sbom", "check"]) == 0
    assert path.stat().st_mtime_ns == stamp  # twice on an unchanged tree: passes and writes nothing
    (project / "uv.lock").write_text(UV_LOCK.replace("1.26.4", "2.0.0"))
    assert main(["sbom", "check", "--check"]) == 1
    assert path.read_bytes() == written  # --check never writes
    assert main(["sbom", "check"]) == 1
    assert b"2.0.0" in path.read_bytes()
    capsys.readouterr()
    path.write_text("{ not json")
    assert main(["sbom", "check"]) == 1
    err = capsys.readouterr().err
    assert "not valid JSON" in err
    assert "replace it" in err
    assert main(["sbom", "check"]) == 0


def test_diff_explains_an_upgrade(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(ROOT / "tests" / "data" / "advisories")
    assert main(["sbom", "generate", "--db", db, "-o", "old.json"]) == 0
    (project / "uv.lock").write_text(UV_LOCK.replace("2.11.2", "3.1.4"))
    (project / "models" / "clf.pkl").write_bytes(payloads.os_system(Path("/nonexistent")))
    assert main(["sbom", "generate", "--db", db, "-o", "new.json"]) == 0
    capsys.readouterr()
    assert main(["sbom", "diff", "old.json", "new.json", "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    changes = {c["name"]: c["changes"] for c in result["changed"]}
    assert changes["jinja2"]["version"] == {"old": "2.11.2", "new": "3.1.4"}
    assert changes["models/clf.pkl"]["properties.mlwarden:verdict"] == {"old": "clean", "new": "critical"}
    assert changes["jinja2"]["purl"] == {"old": "pkg:pypi/jinja2@2.11.2", "new": "pkg:pypi/jinja2@3.1.4"}
    assert result["vulnerabilities_removed"]
    assert main(["sbom", "diff", "old.json", "new.json", "--format", "markdown"]) == 0
    assert "version 2.11.2 → 3.1.4" in capsys.readouterr().out


def test_validate_command(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    generate(project)
    assert main(["sbom", "validate", "sbom/churn.cdx.json"]) == 0
    bad = json.loads((project / "sbom" / "churn.cdx.json").read_text())
    bad["components"][0]["type"] = "spaceship"
    (project / "bad.json").write_text(json.dumps(bad))
    assert main(["sbom", "validate", "bad.json"]) == 1
    assert "$.components[0].type" in capsys.readouterr().out
    (project / "nojson.json").write_text("nope")
    assert main(["sbom", "validate", "nojson.json"]) == 1
    assert main(["sbom", "validate", "missing.json"]) == 2
