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
    marker = "AKIA" + "REALLYSECRETVALUE"  # a planted look-alike, built so the repository holds no key
    outside.write_text(f"aws_secret_access_key = {marker}\n")
    (project / "requirements.txt").write_text(f"-r {outside}\nnumpy==1.26.4\n")
    assert main(["deps", "--format", "json"]) == 2
    out = capsys.readouterr()
    assert "outside the project" in out.out + out.err
    assert marker not in out.out + out.err


def test_truncated_conda_lock_fails(project: Path) -> None:
    text = (LOCKS / "conda-maternal-health" / "conda-lock.yml").read_text()
    (project / "conda-lock.yml").write_text(text[: text.index("- name:", len(text) // 2)])  # valid YAML, cut short
    assert main(["deps"]) == 2


def test_poetry_1x_metadata_files_keys_are_matched_by_canonical_name(project: Path) -> None:
    (project / "poetry.lock").write_text(
        '[[package]]\nname = "PyYAML"\nversion = "6.0.1"\ncategory = "main"\n\n[metadata]\nlock-version = "1.1"\n'
        'python-versions = "^3.8"\ncontent-hash = "x"\n\n[metadata.files]\npyyaml = [\n'
        '    {file = "PyYAML-6.0.1.tar.gz", hash = "sha256:' + "c" * 64 + '"},\n]\n')
    from mlwarden.deps.formats import parse_file

    [manifest] = parse_file(project / "poetry.lock", project)
    assert manifest.pins[0].hashes == ("sha256:" + "c" * 64,)


def test_database_folder_that_cannot_be_listed_fails(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    (project / "db").mkdir()
    shutil.copytree(DB / "malicious", project / "db" / "malicious")
    real_walk = os.walk

    def walk(top: str, onerror: object = None) -> object:  # a folder the audit user may not list (root can)
        if callable(onerror):
            onerror(PermissionError(13, "Permission denied", str(Path(top) / "vulns")))
        return real_walk(top)

    monkeypatch.setattr("os.walk", walk)
    with pytest.raises(InputError, match="cannot be read"):
        OsvDatabase.load(project / "db", project / "c")


def test_dependency_file_linking_out_of_the_project_is_not_read(project: Path,
                                                                tmp_path_factory: pytest.TempPathFactory,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    outside = tmp_path_factory.mktemp("home") / "credentials"
    marker = "hunter" + "2-outside-value"
    outside.write_text(f"password = {marker}\n")
    (project / "requirements.txt").symlink_to(outside)
    assert main(["deps"]) == 2  # discovery does not follow the link, and nothing else was found
    out = capsys.readouterr()
    assert marker not in out.out + out.err
    from mlwarden.deps.formats import parse_file

    [manifest] = parse_file(project / "requirements.txt", project)  # handed over by any other caller
    assert manifest.problems[0].fatal
    assert "outside the project" in manifest.problems[0].message
    assert not manifest.pins


def test_truncated_pdm_lock_fails(project: Path) -> None:
    text = (LOCKS / "pdm-self" / "pdm.lock").read_text()
    (project / "pdm.lock").write_text(text[: text.index("[[package]]", len(text) // 2)])
    assert main(["deps"]) == 2
