"""Issue 14, "done when": a lock holding a known malicious version is critical, whatever kind of lock it is.

Each case is a real lock (tests/data/locks, sources in SOURCES.md) in which one real package, urllib3, is renamed
to 1337test at version 1, the release OSV's MAL-2024-4720 names (tests/data/advisories/malicious). `audit`
and `scan` (with osv-db configured) must report it as critical MW313 with the record id, at that file, and
`sbom generate --db` must list the advisory against the component.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from mlwarden.cli import main
from tests.conftest import ROOT

LOCKS = ROOT / "tests" / "data" / "locks"
DB = ROOT / "tests" / "data" / "advisories"


def _renamed_toml(text: str, header: str) -> str:
    """urllib3 -> 1337test everywhere (its entry, the edges to it, its file names), and its version -> 1."""
    text = re.sub(r"\burllib3\b", "1337test", text)
    start = text.index(f'{header}\nname = "1337test"')
    block_end = text.find(header, start + len(header))
    block = text[start:block_end if block_end != -1 else len(text)]
    return text.replace(block, re.sub(r'(?m)^version = "[^"]+"', 'version = "1"', block, count=1), 1)


def _renamed_pipfile_lock(text: str) -> str:
    data = json.loads(text)
    for section in ("default", "develop"):
        if "urllib3" in data.get(section, {}):
            entry = data[section].pop("urllib3")
            entry["version"] = "==1"
            data[section]["1337test"] = entry
    return json.dumps(data, indent=4)


CASES: dict[str, tuple[Callable[[], str], Path | None]] = {
    "uv.lock": (lambda: _renamed_toml((LOCKS / "uv-dezoomcamp-scripts" / "uv.lock").read_text(), "[[package]]"),
                LOCKS / "uv-dezoomcamp-scripts" / "pyproject.toml"),
    "poetry.lock": (lambda: _renamed_toml((LOCKS / "poetry-poc" / "poetry.lock").read_text(), "[[package]]"),
                    LOCKS / "poetry-poc" / "pyproject.toml"),
    "pdm.lock": (lambda: _renamed_toml((LOCKS / "pdm-demo" / "pdm.lock").read_text(), "[[package]]"),
                 LOCKS / "pdm-demo" / "pyproject.toml"),
    "pylock.toml": (lambda: _renamed_toml((LOCKS / "pdm-demo" / "pylock.toml").read_text(), "[[packages]]"), None),
    "Pipfile.lock": (lambda: _renamed_pipfile_lock((LOCKS / "pipenv-mlops-web-service" / "Pipfile.lock")
                                                   .read_text()), LOCKS / "pipenv-mlops-web-service" / "Pipfile"),
    "requirements.txt": (lambda: re.sub(r"(?m)^urllib3==[^\s;]+", "1337test==1", (LOCKS / "pipenv-mlops-web-service" /
                                                                               "pipenv-requirements.txt").read_text()),
                         None),
    "environment.yml": (lambda: "channels: [conda-forge]\ndependencies:\n  - python=3.12.1\n  - pip\n  - pip:\n"
                        "    - requests==2.32.3\n    - 1337test==1\n", None),
}


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    monkeypatch.chdir(root)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return root


@pytest.mark.parametrize("name", sorted(CASES))
def test_malicious_version_in_a_lock_is_critical(name: str, repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build, companion = CASES[name]
    text = build()
    assert "1337test" in text
    (repo / name).write_text(text)
    if companion is not None:
        (repo / companion.name).write_text(companion.read_text())
    (repo / ".mlwarden.toml").write_text(f"osv-db = {json.dumps(str(DB))}\n")
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    for argv in (["audit", "--allow-unaudited", "--format", "json"], ["scan", "--format", "json"]):
        capsys.readouterr()
        code = main(argv)
        document = json.loads(capsys.readouterr().out)
        malicious = [r for r in document["results"] if r["rule_id"] == "MW313"]
        assert code == 1, argv
        assert [(r["severity"], r["path"]) for r in malicious] == [("critical", name)], argv
        assert "MAL-2024-4720" in malicious[0]["message"]
    capsys.readouterr()
    assert main(["sbom", "generate", "-o", "-", "--db", str(DB)]) == 0
    bom = json.loads(capsys.readouterr().out)
    assert "MAL-2024-4720" in {v["id"] for v in bom.get("vulnerabilities", [])}
