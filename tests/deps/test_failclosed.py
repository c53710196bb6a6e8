"""Probes for every way a dependency check could pass without checking (issue 14): none may exit 0."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mlwarden.cli import main
from mlwarden.deps.osv import OsvDatabase
from mlwarden.errors import InputError
from tests.conftest import ROOT

DB = ROOT / "tests" / "data" / "advisories"
LOCKS = ROOT / "tests" / "data" / "locks"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def audit(*args: str, db: Path | None = None, cache: Path | None = None) -> int:
    argv = ["audit", *args]
    if db is not None:
        argv += ["--db", str(db), "--cache-dir", str(cache or db.parent / "cache")]
    return main(argv)


def test_empty_database_fails(project: Path) -> None:
    (project / "requirements.txt").write_text("numpy==1.26.4\n")
    (project / "db").mkdir()
    assert audit(db=project / "db", cache=project / "c") == 2


def test_database_that_is_not_osv_fails(project: Path) -> None:
    (project / "requirements.txt").write_text("numpy==1.26.4\n")
    (project / "db").mkdir()
    (project / "db" / "a.json").write_text(json.dumps({"hello": "world"}))
    (project / "db" / "b.json").write_text("{not json")
    assert audit(db=project / "db", cache=project / "c") == 2
    with pytest.raises(InputError, match="none of its 2 files is an OSV record"):
        OsvDatabase.load(project / "db", project / "c2")


def test_database_older_than_the_limit_fails(project: Path) -> None:
    (project / "requirements.txt").write_text("numpy==1.26.4\n")
    # the committed subset's newest record is from 2025-12 (the MAL- record); 1 day is far too short
    assert audit("--max-db-age", "1", db=DB, cache=project / "c") == 2
    assert audit("--max-db-age", "100000", db=DB, cache=project / "c") == 0


def test_truncated_uv_lock_fails(project: Path) -> None:
    text = (LOCKS / "uv-spectree" / "uv.lock").read_text()
    cut = text.index("[[package]]", len(text) // 2)  # still valid TOML: cut between two packages
    (project / "uv.lock").write_text(text[:cut])
    assert main(["deps"]) == 2
    assert audit(db=DB, cache=project / "c") == 2
    (project / "uv.lock").write_text(text[: len(text) // 2])  # cut mid-line: not TOML
    assert main(["deps"]) == 2


def test_truncated_poetry_lock_fails(project: Path) -> None:
    text = (LOCKS / "poetry-2.x-self" / "poetry.lock").read_text()
    (project / "poetry.lock").write_text(text[: text.index("[metadata]")])
    assert main(["deps"]) == 2


@pytest.mark.parametrize("version", ["2.0", "1.1", "0.9", "1", ""])
def test_unknown_pylock_version_fails(project: Path, version: str) -> None:
    text = (LOCKS / "uv-spectree" / "pylock.toml").read_text().replace('lock-version = "1.0"',
                                                                        f'lock-version = "{version}"')
    (project / "pylock.toml").write_text(text)
    assert main(["deps"]) == 2
    assert audit(db=DB, cache=project / "c") == 2


def test_unknown_uv_lock_version_fails(project: Path) -> None:
    text = (LOCKS / "uv-spectree" / "uv.lock").read_text().replace("version = 1\n", "version = 2\n", 1)
    (project / "uv.lock").write_text(text)
    assert main(["deps"]) == 2


def test_requirements_folder_is_discovered(project: Path) -> None:
    (project / "requirements").mkdir()
    (project / "requirements" / "base.txt").write_text("numpy>=1\n")  # unpinned: MW301
    assert main(["deps"]) == 0  # medium finding under the default fail-on (high)...
    assert main(["deps", "--fail-on", "medium"]) == 1  # ...but it was read


def test_conda_only_environment_is_not_a_pass(project: Path) -> None:
    (project / "environment.yml").write_text("channels: [conda-forge]\ndependencies:\n  - numpy=1.26.4\n")
    assert audit(db=DB, cache=project / "c") == 2
    assert audit("--allow-unaudited", db=DB, cache=project / "c") == 0


def test_missing_include_fails(project: Path) -> None:
    (project / "requirements.txt").write_text("-r missing.txt\nnumpy==1.26.4\n")
    assert main(["deps"]) == 2
    assert audit(db=DB, cache=project / "c") == 2


def test_unparsable_requirement_line_fails(project: Path) -> None:
    (project / "requirements.txt").write_text("numpy==1.26.4\nthis is (not a requirement\n")
    assert main(["deps"]) == 1
    assert audit(db=DB, cache=project / "c") == 1


def test_local_wheel_in_uv_lock_is_not_a_pass(project: Path) -> None:
    for name in ("uv.lock", "pyproject.toml"):
        shutil.copy(LOCKS / "uv-local-sources" / name, project / name)
    assert audit(db=DB, cache=project / "c") == 2  # localwheel, localdir and the git package: not audited


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig"])
def test_utf16_and_bom_requirements_are_read(project: Path, encoding: str) -> None:
    (project / "requirements.txt").write_bytes("pillow==8.0.1\n".encode(encoding))
    assert audit("--fail-on", "low", db=DB, cache=project / "c") == 1  # pillow 8.0.1 has advisories


def test_no_dependency_file_fails(project: Path) -> None:
    (project / "README.md").write_text("hello\n")
    assert main(["deps"]) == 2
    assert audit(db=DB, cache=project / "c") == 2


def test_include_outside_the_project_is_refused_unread(project: Path, tmp_path_factory: pytest.TempPathFactory,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    outside = tmp_path_factory.mktemp("home") / "credentials"
    outside.write_text("aws_secret_access_key = AKIAREALLYSECRETVALUE\n")
    (project / "requirements.txt").write_text(f"-r {outside}\nnumpy==1.26.4\n")
    assert main(["deps", "--format", "json"]) == 2
    out = capsys.readouterr()
    assert "outside the project" in out.out + out.err
    assert "AKIAREALLYSECRETVALUE" not in out.out + out.err
