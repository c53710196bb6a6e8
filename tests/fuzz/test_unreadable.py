"""Unreadable files and folders (found by scripts/hostile_campaign.py). They cannot live in tests/corpus (a
mode is not committed) and root reads everything, so the CLI runs in a subprocess without the capabilities
that let root ignore permissions (setpriv), or as the ordinary user it already is."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fuzz.targets import EVIL_PICKLE

SRC = Path(__file__).resolve().parents[2] / "src"
DROP_CAPS = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search",
             "--inh-caps", "-dac_override,-dac_read_search"]

if os.geteuid() == 0 and shutil.which("setpriv") is None:  # pragma: no cover - depends on the machine
    pytest.skip("root without setpriv: permissions cannot be made to bite", allow_module_level=True)


def _run(cwd: Path, *args: str) -> tuple[int, str, str]:
    prefix = DROP_CAPS if os.geteuid() == 0 else []
    env = {**os.environ, "PYTHONPATH": str(SRC), "NO_COLOR": "1"}
    env.pop("MLWARDEN_POLICY", None)
    proc = subprocess.run([*prefix, sys.executable, "-m", "mlwarden", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "allowlists").mkdir(parents=True)
    (root / "allowlists" / "policy.toml").write_text("schema_version = 1\n")
    (root / "models").mkdir()
    (root / "models" / "evil.pkl").write_bytes(EVIL_PICKLE)
    return root


@pytest.fixture
def locked(project: Path) -> Iterator[list[Path]]:
    """Folders and files made unreadable; permissions restored afterwards so tmp_path can be removed."""
    paths: list[Path] = []
    yield paths
    for path in paths:
        path.chmod(0o755)


@pytest.mark.parametrize("args", [["allowlist", "remove", "pickle", "a.B"],
                                  ["allowlist", "add", "pickle", "--global", "a.B", "--reason", "r", "--owner", "o",
                                   "--expires", "2099-01-01"],
                                  ["allowlist", "check"], ["allowlist", "show"]])
def test_an_unreadable_policy_folder_is_one_error_line(project: Path, locked: list[Path], args: list[str]) -> None:
    (project / "allowlists").chmod(0)
    locked.append(project / "allowlists")
    code, out, err = _run(project, *args)
    assert code == 2, (out, err)
    assert "Traceback" not in err
    assert "internal error" not in err
    assert "allowlists" in err


@pytest.mark.parametrize("git", [False, True], ids=["plain-folder", "git-repository"])
def test_unreadable_files_and_folders_are_named_and_hide_nothing(project: Path, locked: list[Path],
                                                                 git: bool) -> None:
    if git:  # git ls-files skips a folder it cannot open with only a warning
        subprocess.run(["git", "init", "-q", str(project)], check=True)
    (project / "private").mkdir()
    (project / "private" / "more.pkl").write_bytes(EVIL_PICKLE)
    (project / "models" / "locked.pkl").write_bytes(EVIL_PICKLE)
    for path, mode in ((project / "private", 0), (project / "models" / "locked.pkl", 0)):
        path.chmod(mode)
        locked.append(path)
    code, out, err = _run(project, "scan", ".", "--format", "json")
    assert code == 1, err  # the readable critical finding decides the exit code
    assert "Traceback" not in err
    report = json.loads(out)
    assert any(r["path"] == "models/evil.pkl" and r["severity"] == "critical" for r in report["results"])
    named = {r["path"] for r in report["results"]} | {e["path"].split(":")[0] for e in report["errors"]}
    assert "models/locked.pkl" in named
    assert any(p == "private" or p.startswith("private/") for p in named), report["errors"]


def test_explain_inside_an_unreadable_folder_is_one_error_line(project: Path, locked: list[Path]) -> None:
    (project / "models").chmod(0)
    locked.append(project / "models")
    code, _out, err = _run(project, "explain", "models/evil.pkl")
    assert code == 2
    assert "Traceback" not in err
    assert "models/evil.pkl" in err


def test_sbom_check_on_an_unreadable_sbom_folder_is_one_error_line(project: Path, locked: list[Path]) -> None:
    (project / "requirements.txt").write_text("numpy==1.26.4\n")
    (project / "sbom").mkdir()
    (project / "sbom" / "repo.cdx.json").write_text("{}")
    (project / "sbom").chmod(0)
    locked.append(project / "sbom")
    code, _out, err = _run(project, "sbom", "check", "--file", "sbom/repo.cdx.json", "--check")
    assert code in (1, 2)
    assert "Traceback" not in err
    assert "sbom/repo.cdx.json" in err
