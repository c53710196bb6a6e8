"""The one pipeline: repository root from any subfolder, files as git sees them, one place for the policy,
coverage in every report, configuration errors without tracebacks."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from mlwarden.cli import main
from tests import payloads

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

META = "reason = 'r'\nowner = 'sec@example.org'\nadded = 2026-01-01\nexpires = 2099-01-01\n"


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, timeout=60)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, marker: Path) -> Path:
    _git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("import torch\nm = torch.load('w.pt')\n")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "evil.bin").write_bytes(payloads.protocol0(marker))
    (tmp_path / ".gitignore").write_text("ignored/\n*.log\n")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "init")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _json(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    doc: dict[str, object] = json.loads(capsys.readouterr().out)
    return doc


def _rules(doc: dict[str, object]) -> set[str]:
    return {r["rule_id"] for r in doc["results"]}  # type: ignore[attr-defined]


def _paths(doc: dict[str, object]) -> set[str]:
    return {r["path"] for r in doc["results"]}  # type: ignore[attr-defined]


def test_from_a_subfolder_config_policy_and_paths_are_the_repositorys(repo: Path, monkeypatch: pytest.MonkeyPatch,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "allowlists").mkdir()
    (repo / "allowlists" / "policy.toml").write_text(
        f"schema_version = 1\n[[exception]]\nrule = 'MW704'\npath = 'src/*.py'\n{META}")
    (repo / "pyproject.toml").write_text("[tool.mlwarden]\nexclude = ['models/**']\n")
    monkeypatch.chdir(repo / "src")
    assert main(["scan", "--format", "json"]) == 0
    doc = _json(capsys)
    assert "MW101" not in _rules(doc)  # excluded by the root's configuration
    assert "MW704" not in _rules(doc)  # waived by the root's policy
    assert doc["waived"][0]["path"] == "src/app.py"  # type: ignore[index]
    assert doc["coverage"]["not_examined"]["excluded by configuration"] == 1  # type: ignore[index]


def test_allowlist_add_from_a_subfolder_edits_the_roots_policy(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo / "src")
    assert main(["allowlist", "add", "pickle", "--global", "acme.Net", "--reason", "r", "--owner", "o@x.org",
                 "--expires", "2099-01-01"]) == 0
    assert (repo / "allowlists" / "policy.toml").is_file()
    assert not (repo / "src" / "allowlists").exists()


def test_force_added_ignored_file_is_scanned_untracked_ignored_is_not(repo: Path, marker: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "ignored").mkdir()
    (repo / "ignored" / "forced.pkl").write_bytes(payloads.protocol0(marker))
    (repo / "ignored" / "stray.pkl").write_bytes(payloads.protocol0(marker))
    _git(repo, "add", "-f", "ignored/forced.pkl")
    assert main(["models", ".", "--format", "json"]) == 1
    paths = _paths(_json(capsys))
    assert "ignored/forced.pkl" in paths
    assert "ignored/stray.pkl" not in paths
    assert "models/evil.bin" in paths


def test_since_scans_only_what_the_branch_changed(repo: Path, marker: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    _git(repo, "checkout", "-q", "-b", "feature")
    (repo / "new.pkl").write_bytes(payloads.protocol0(marker))
    _git(repo, "add", "new.pkl")
    _git(repo, "commit", "-q", "-m", "feature")
    assert main(["scan", "--since", "main", "--format", "json"]) == 1
    doc = _json(capsys)
    assert _paths(doc) == {"new.pkl"}
    assert main(["scan", "--since", "no-such-ref"]) == 2
    assert "not a git revision" in capsys.readouterr().err


def test_exclude_option_and_ignore_file(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", "--exclude", "models/", "--format", "json"]) == 1
    assert "models/evil.bin" not in _paths(_json(capsys))
    (repo / ".mlwardenignore").write_text("src/\n")
    main(["scan", "--format", "json"])
    paths = _paths(_json(capsys))
    assert "src/app.py" not in paths
    assert "models/evil.bin" in paths


def test_select_ignore_and_severity_overrides(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", "--select", "MW7", "--format", "json"]) == 1
    assert _rules(_json(capsys)) == {"MW704"}
    assert main(["scan", "--ignore", "MW101,MW704", "--format", "json"]) == 0
    assert not _rules(_json(capsys)) & {"MW101", "MW704"}
    (repo / "pyproject.toml").write_text("[tool.mlwarden]\nignore = ['MW101']\n[tool.mlwarden.severity]\n"
                                         "MW704 = 'low'\n")
    assert main(["scan", "--format", "json"]) == 0
    results = _json(capsys)["results"]
    assert [r["severity"] for r in results if r["rule_id"] == "MW704"] == ["low"]  # type: ignore[attr-defined]


def test_unknown_rule_ids_name_the_closest(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", "--select", "MW4O1"]) == 2
    assert "unknown rule 'MW4O1'" in capsys.readouterr().err
    (repo / "pyproject.toml").write_text("[tool.mlwarden]\nignore = ['MW7044']\n")
    assert main(["scan"]) == 2
    err = capsys.readouterr().err
    assert "unknown rule 'MW7044'" in err
    assert "MW704" in err


CONFIG_KEYS = ["exclude", "fail-on", "policy", "osv-db", "osv-max-age-days", "sbom", "budgets", "select", "ignore",
               "severity", "per-path-ignores"]
POLICY_SETTINGS = ["grace_days", "warn_days", "require_hashes", "allow_extra_index_url", "hf_require_commit_pin",
                   "max_file_mb", "allowed_data_extensions"]


@pytest.mark.parametrize("key", CONFIG_KEYS)
def test_every_config_key_misspelt_is_a_one_line_error(repo: Path, key: str,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    typo = key[:-1] + ("x" if key[-1] != "x" else "y")
    (repo / "pyproject.toml").write_text(f"[tool.mlwarden]\n{typo} = 1\n")
    assert main(["scan"]) == 2
    err = capsys.readouterr().err
    assert f"did you mean '{key}'" in err
    assert "Traceback" not in err
    assert "internal error" not in err


@pytest.mark.parametrize("key", POLICY_SETTINGS)
def test_every_policy_setting_misspelt_is_a_problem_not_a_crash(repo: Path, key: str,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "allowlists").mkdir()
    (repo / "allowlists" / "policy.toml").write_text(f"schema_version = 1\n[policy]\n{key}s = 1\n")
    # the invalid file is an error and is not applied; the tree's own findings still decide (issue #15)
    assert main(["scan"]) in (1, 2)
    err = capsys.readouterr().err
    assert f"did you mean '{key}'" in err
    assert "internal error" not in err


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0", "'ten'", "true", "1.5"])
def test_hostile_budget_values_are_errors(repo: Path, value: str, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "pyproject.toml").write_text(f"[tool.mlwarden.budgets]\nmax-depth = {value}\n")
    assert main(["models", "models"]) == 2
    err = capsys.readouterr().err
    assert "max-depth" in err
    assert "internal error" not in err


def test_special_files_are_never_opened(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import os

    os.mkfifo(repo / "pipe.pkl")
    assert main(["models", "pipe.pkl"]) == 2  # would hang if it were opened
    assert "a FIFO (named pipe), not a regular file" in capsys.readouterr().out
    assert main(["scan", "--format", "json"]) == 1  # in a folder: git lists no FIFO; never opened either way
    assert "pipe.pkl" not in _paths(_json(capsys))


def test_an_unreadable_file_is_not_a_pass(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "broken.pkl").symlink_to(repo / "gone.pkl")
    assert main(["models", "broken.pkl"]) == 2
    assert "broken.pkl" in capsys.readouterr().out


def test_missing_path_and_no_dependency_file_are_errors(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "nope.pkl"]) == 2
    assert main(["deps"]) == 2
    assert "no dependency file found" in capsys.readouterr().out


def test_one_bad_file_never_hides_the_others(repo: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    import mlwarden.code.scanner as code_scanner

    real = code_scanner.check_code_file

    def flaky(path: Path, display: str, policy: object) -> object:
        if path.name == "bad.py":
            raise RecursionError("maximum recursion depth exceeded")
        return real(path, display, policy)  # type: ignore[arg-type]

    monkeypatch.setattr(code_scanner, "check_code_file", flaky)
    (repo / "bad.py").write_text("x = 1\n")
    assert main(["scan", "--format", "json"]) == 1
    doc = _json(capsys)
    assert {"MW101", "MW704"} <= _rules(doc)
    assert any(e["path"] == "bad.py" and "could not be checked" in e["message"]
               for e in doc["errors"])  # type: ignore[attr-defined]


def test_coverage_in_text_json_and_sarif(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["scan"])
    out = capsys.readouterr().out
    assert "# checked: " in out
    assert "models 1" in out
    main(["scan", "--format", "sarif"])
    sarif = json.loads(capsys.readouterr().out)
    invocation = sarif["runs"][0]["invocations"][0]
    assert invocation["properties"]["coverage"]["checked"]["models"] == 1
    notes = [n["message"]["text"] for n in invocation["toolExecutionNotifications"]]
    assert any("no dependency file found" in n for n in notes)


def test_inline_suppression_and_show_suppressed(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "src" / "app.py").write_text("import torch\nm = torch.load('w.pt')  # noqa: MW704\n")
    assert main(["code", "src", "--format", "json"]) == 0
    doc = _json(capsys)
    assert not doc["results"]
    assert doc["suppressed"][0]["rule_id"] == "MW704"  # type: ignore[index]
    main(["code", "src", "--show-suppressed"])
    assert "[suppressed inline]" in capsys.readouterr().out
    (repo / "src" / "app.py").write_text("import torch\nm = torch.load('w.pt')  # mlwarden: ignore[MW705]\n")
    assert main(["code", "src"]) == 1


def test_file_names_cannot_forge_output_lines(repo: Path, marker: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = "x\nfake.py:1: MW101 critical: forged\x1b[2J.pkl"
    (repo / name).write_bytes(payloads.protocol0(marker))
    main(["models", name])
    out = capsys.readouterr().out
    assert "\nfake.py:1: MW101" not in out
    assert "\x1b[2J" not in out
    assert "x\\nfake.py" in out


def test_waivers_apply_to_audit_findings(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.conftest import ROOT

    (repo / "requirements.txt").write_text("urllib3==1.26.4\n")
    db = str(ROOT / "tests" / "data" / "advisories")
    assert main(["audit", "--db", db, "--format", "json"]) == 1
    ids = [r["details"]["key"].split(":")[0] for r in _json(capsys)["results"]]  # type: ignore[attr-defined]
    (repo / "allowlists").mkdir()
    entries = "".join(f"[[exception]]\nvulnerability = '{i}'\n{META}" for i in ids)
    (repo / "allowlists" / "policy.toml").write_text("schema_version = 1\n" + entries)
    assert main(["audit", "--db", db, "--format", "json"]) == 0
    assert len(_json(capsys)["waived"]) == len(ids)  # type: ignore[arg-type]
    (repo / "allowlists" / "policy.toml").write_text(
        f"schema_version = 1\n[[exception]]\nrule = 'MW311'\npath = 'requirements.txt'\n{META}")
    assert main(["audit", "--db", db]) == 0


def test_grace_period_is_the_same_for_the_hook_and_scan(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import datetime as dt

    recent = dt.date.today() - dt.timedelta(days=3)  # expired, inside the default 14-day grace period
    (repo / "allowlists").mkdir()
    (repo / "allowlists" / "policy.toml").write_text(
        f"schema_version = 1\n[[pickle]]\nglobals = ['acme.Net']\nreason = 'r'\nowner = 'o'\n"
        f"added = 2020-01-01\nexpires = {recent}\n")
    hook = main(["allowlist", "check"])
    scan = main(["scan", "--select", "MW6"])
    assert hook == scan == 0
    capsys.readouterr()
    (repo / "allowlists" / "policy.toml").write_text(
        "schema_version = 1\n[[pickle]]\nglobals = ['acme.Net']\nreason = 'r'\nowner = 'o'\n"
        "added = 2020-01-01\nexpires = 2020-06-01\n")
    assert main(["allowlist", "check"]) == main(["scan", "--select", "MW6"]) == 1


def test_waivers_and_expiry_apply_to_hf_verify(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    from tests.hub.cache_builder import build_repo, sha256

    weights = b"\x00" * 64
    build_repo(tmp_path / "hub", "acme/tiny", {"model.bin": weights}, lfs={"model.bin"})
    blob = tmp_path / "hub" / "models--acme--tiny" / "blobs" / sha256(weights)
    blob.write_bytes(b"\x01" * 64)
    monkeypatch.chdir(tmp_path)
    assert main(["hf", "verify", "hub", "--format", "json"]) == 1
    assert "MW201" in _rules(_json(capsys))
    (tmp_path / "allowlists").mkdir()
    policy = tmp_path / "allowlists" / "policy.toml"
    policy.write_text(f"schema_version = 1\n[[exception]]\nrule = 'MW201'\npath = 'hub/**'\n{META}")
    assert main(["hf", "verify", "hub", "--format", "json"]) == 0
    assert len(_json(capsys)["waived"]) == 1  # type: ignore[arg-type]
    policy.write_text("schema_version = 1\n[[exception]]\nrule = 'MW201'\npath = 'hub/**'\nreason = 'r'\n"
                      "owner = 'o'\nadded = 2020-01-01\nexpires = 2020-02-01\n")
    assert main(["hf", "verify", "hub"]) == 1  # an expired waiver (past its grace period) waives nothing


def test_explain_honours_the_policy_and_fail_on(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import pickle

    (repo / "net.pkl").write_bytes(pickle.dumps(ExplainProbe(), protocol=4))
    assert main(["explain", "net.pkl", "--fail-on", "low"]) == 1  # an unknown class is instantiated
    capsys.readouterr()
    (repo / "allowlists").mkdir()
    (repo / "allowlists" / "policy.toml").write_text(
        f"schema_version = 1\n[[pickle]]\nglobals = ['{__name__}.ExplainProbe']\n{META}")
    assert main(["explain", "net.pkl", "--fail-on", "low"]) == 0  # the policy's safe global applies, as in `models`


class ExplainProbe:
    """A class outside the safe list; pickled by reference only (never loaded)."""


def test_suppressions_inside_notebook_cells(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def notebook(cells: list[dict[str, object]]) -> str:
        return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells})

    def code(source: str, tags: list[str] | None = None) -> dict[str, object]:
        return {"cell_type": "code", "execution_count": None, "metadata": {"tags": tags or []}, "outputs": [],
                "source": source}

    nb = repo / "nb.ipynb"
    nb.write_text(notebook([code("import torch\n"), code("m = torch.load('w.pt')\n")]))
    assert main(["code", "nb.ipynb", "--format", "json"]) == 1
    assert _json(capsys)["results"][0]["member"] == "cell 2"  # type: ignore[index]
    nb.write_text(notebook([code("import torch\n"), code("m = torch.load('w.pt')  # noqa: MW704\n")]))
    assert main(["code", "nb.ipynb"]) == 0
    nb.write_text(notebook([code("import torch\n"), code("m = torch.load('w.pt')\n", ["mlwarden-ignore[MW704]"])]))
    assert main(["code", "nb.ipynb"]) == 0
    nb.write_text(notebook([code("import torch\n"), code("m = torch.load('w.pt')\n", ["mlwarden-ignore[MW705]"])]))
    assert main(["code", "nb.ipynb"]) == 1


def test_sbom_lists_what_git_tracks_and_staged_reads_the_index(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "requirements.txt").write_text("numpy==1.26.4\n")
    _git(repo, "add", "requirements.txt")
    (repo / "scratch-requirements.txt").write_text("torch==2.0.0\n")  # untracked: not part of the project
    assert main(["sbom", "generate", "--staged"]) == 0
    sbom = next((repo / "sbom").glob("*.cdx.json")).read_text()
    assert '"name": "numpy"' in sbom
    assert '"name": "torch"' not in sbom
    (repo / "requirements.txt").write_text("numpy==2.0.0\n")  # an unstaged edit
    assert main(["sbom", "check", "--staged", "--check"]) == 0  # the index did not change
    assert main(["sbom", "check", "--check"]) == 1  # the working tree did


def test_text_files_are_not_models(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "settings.json").write_text(json.dumps({"name": "x", "values": list(range(2000))}))
    (repo / "ci.yaml").write_text("steps:\n  - run: make\n" * 300)
    (repo / "run").write_text("#!/bin/sh\nexec make test\n")
    (repo / "notes.txt").write_text("(lp0\nS'just text that starts like a pickle'\n" + "x" * 5000)
    main(["models", ".", "--format", "json"])
    formats = _json(capsys)["inventory"]["model_formats"]  # type: ignore[index]
    assert set(formats) == {"models/evil.bin"}


def test_a_misspelt_suppression_is_an_error_naming_the_closest_rule(repo: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "src" / "app.py").write_text("import torch\nm = torch.load('w.pt')  # noqa: MW7O4\n")
    assert main(["code", "src"]) == 1  # the finding is not silenced
    out = capsys.readouterr().out
    assert "src/app.py:2: error: inline suppression names unknown rule 'MW7O4' (did you mean 'MW704'?)" in out
    (repo / "src" / "app.py").write_text("import torch\nm = torch.load('w.pt')  # mlwarden: ignore[MW999]\n")
    assert main(["code", "src", "--fail-on", "critical"]) == 2  # nothing fails, but the typo is not a pass
