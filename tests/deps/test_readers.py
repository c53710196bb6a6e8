"""Readers against real files from public projects (tests/data/locks/SOURCES.md) and against the tools that
wrote them: uv's own export of the same lock, pip's own requirements parser."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from mlwarden.deps.formats import kind_of, parse_file
from mlwarden.deps.model import Manifest, Pin
from mlwarden.deps.requirements import parse_requirements
from mlwarden.policy.model import canonicalize_name

LOCKS = Path(__file__).resolve().parents[1] / "data" / "locks"


def parse(relative: str) -> list[Manifest]:
    path = LOCKS / relative
    return parse_file(path, path.parent)


def by_name(pins: list[Pin]) -> dict[str, Pin]:
    return {canonicalize_name(p.name): p for p in pins}


def uv_export(path: Path) -> dict[tuple[str, str], set[str]]:
    """(name, version) -> hashes from `uv export` requirements text (a fork can lock two versions)."""
    out: dict[tuple[str, str], set[str]] = {}
    text = path.read_text().replace("\\\n", " ")
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==([^\s;]+)", line.strip())
        if match:
            key = (canonicalize_name(match.group(1)), match.group(2))
            out.setdefault(key, set()).update(re.findall(r"--hash=(sha256:[0-9a-f]{64})", line))
    return out


def by_release(pins: list[Pin]) -> dict[tuple[str, str], Pin]:
    return {(canonicalize_name(p.name), p.version or ""): p for p in pins}


def test_uv_lock_agrees_with_uv_export() -> None:
    [manifest] = parse("uv-spectree/uv.lock")
    assert not manifest.problems
    truth = uv_export(LOCKS / "uv-spectree" / "uv-export.txt")
    pins = by_release(manifest.pins)
    assert len(pins) == len(manifest.pins)
    assert set(pins) == set(truth)  # every release uv installs, and only those (the project itself is not a pin)
    for key, hashes in truth.items():
        assert set(pins[key].hashes) == hashes, key
    assert sum(len(p.hashes) for p in manifest.pins) == 809
    assert all(p.uploaded and p.uploaded.endswith("Z") for p in manifest.pins)  # every registry file has a time


def test_uv_written_pylock_matches_its_uv_lock() -> None:
    [lock] = parse("uv-spectree/uv.lock")
    [pylock] = parse("uv-spectree/pylock.toml")
    assert not pylock.problems
    locked, exported = by_release(lock.pins), by_release(pylock.pins)
    assert set(exported) == set(locked)
    for name, pin in exported.items():
        assert pin.version == locked[name].version
        assert {h.replace("sha256:", "") for h in pin.hashes} == {h.replace("sha256:", "") for h in
                                                                  locked[name].hashes}
        assert pin.uploaded == locked[name].uploaded, name  # TOML datetimes and uv's strings: same instant


def test_uv_local_sources_as_uv_wrote_them() -> None:
    [manifest] = parse("uv-local-sources/uv.lock")
    pins = by_name(manifest.pins)
    # the virtual project and the editable workspace member are local code, not downloads
    assert set(pins) == {"gitdep", "localdir", "localwheel"}
    git = pins["gitdep"].source
    assert git is not None
    assert git.kind == "vcs"
    assert git.commit == "f51f0b363e09caec1a06c030eef2b2464bc554ee"
    wheel = pins["localwheel"]
    assert wheel.source is not None
    assert wheel.source.kind == "path"
    assert wheel.version == "1.0.0"
    assert wheel.hashes == ("sha256:3ea49be18c753352a7e6c159a241443ece0e231b399b5827a7fc6e4d26a9a6ab",)
    assert pins["localdir"].source is not None
    assert pins["localdir"].source.kind == "path"


def test_pylock_directories_are_not_pypi_pins() -> None:
    [manifest] = parse("uv-local-sources/pylock.toml")
    pins = by_name(manifest.pins)
    assert set(pins) == {"gitdep", "localwheel"}  # "localdir" and the editable member are directories
    assert pins["localwheel"].source is not None
    assert pins["localwheel"].source.kind == "path"
    assert any("local director" in note for note in manifest.notes)


def test_uv_pyproject_dependency_groups() -> None:
    [manifest] = parse("uv-spectree/pyproject.toml")
    groups = {g for p in manifest.pins for g in p.groups}
    assert any(g.startswith("group:") for g in groups)
    assert any(g.startswith("extra:") for g in groups)


@pytest.mark.parametrize("folder", ["poetry-2.x-self", "poetry-1.x-metadata-files"])
def test_poetry_lock_agrees_with_poetry_export(folder: str) -> None:
    """poetry-export.txt: `poetry export -f requirements.txt --all-groups [--all-extras]` by poetry 2.5.1 with
    poetry-plugin-export 1.10.1, offline, from the committed lock."""
    [manifest] = parse(f"{folder}/poetry.lock")
    export = (LOCKS / folder / "poetry-export.txt").read_text()
    truth = uv_export(LOCKS / folder / "poetry-export.txt")  # the same requirements format
    registry = {key: pin for key, pin in by_release(manifest.pins).items() if pin.source is None}
    assert set(registry) == set(truth)
    for key, hashes in truth.items():
        assert set(registry[key].hashes) == hashes, key
    vcs = [p for p in manifest.pins if p.source is not None and p.source.kind == "vcs"]
    for pin in vcs:  # exported as "name @ git+URL@commit": the commit the lock resolved
        assert pin.source is not None
        assert f"{pin.name} @ git+{pin.source.url}@{pin.source.commit}" in export


def test_pdm_lock_agrees_with_pdm_export() -> None:
    """pdm-export.txt: `pdm export -f requirements -G :all` by PDM 2.29.4, offline, from the committed lock."""
    [manifest] = parse("pdm-self/pdm.lock")
    assert not manifest.problems
    truth = uv_export(LOCKS / "pdm-self" / "pdm-export.txt")
    ours: dict[tuple[str, str], set[str]] = {}
    for pin in manifest.pins:  # pdm lists a release once per marker/group combination
        ours.setdefault((canonicalize_name(pin.name), pin.version or ""), set()).update(pin.hashes)
    assert ours == truth


def test_poetry_1x_hashes_from_metadata_files() -> None:
    [manifest] = parse("poetry-1.x-metadata-files/poetry.lock")
    text = (LOCKS / "poetry-1.x-metadata-files" / "poetry.lock").read_text()
    assert len(manifest.pins) == text.count("[[package]]") == 9
    files = text.split("[metadata.files]")[1]
    for pin in manifest.pins:
        block = re.search(rf"^{re.escape(pin.name)} = \[(.*?)^\]", files, re.MULTILINE | re.DOTALL)
        assert block is not None
        assert set(pin.hashes) == set(re.findall(r'hash = "([^"]+)"', block.group(1))), pin.name
    assert sum(len(p.hashes) for p in manifest.pins) == 28
    # the lock's own marker says win32, but the project requires pywin32 = "227" everywhere, and poetry (walking
    # the graph for locks before 2.1) installs and exports it everywhere: tests/deps/test_against_tools.py
    assert by_name(manifest.pins)["pywin32"].markers is None


def test_poetry_2x_groups_markers_and_hashes() -> None:
    [manifest] = parse("poetry-2.x-self/poetry.lock")
    text = (LOCKS / "poetry-2.x-self" / "poetry.lock").read_text()
    assert len(manifest.pins) == text.count("[[package]]")
    assert sum(len(p.hashes) for p in manifest.pins) == len(re.findall(r'hash = "sha256:', text))
    pins = by_name(manifest.pins)
    assert pins["anyio"].groups == ("main",)
    assert pins["backports-tarfile"].markers == 'python_version < "3.12"'
    assert any(p.source is not None and p.source.kind == "vcs" for p in manifest.pins)  # poetry-core from git


def test_poetry_pyproject_dev_groups_sources_and_markers() -> None:
    [manifest] = parse("poetry-2.x-self/pyproject.toml")
    groups = {g for p in manifest.pins for g in p.groups}
    assert {"main", "group:dev", "group:test"} <= groups
    [sample] = parse("poetry-sample-project/pyproject.toml")
    pins = by_name(sample.pins)
    assert pins["pendulum"].source is not None
    assert pins["pendulum"].source.kind == "vcs"
    assert pins["pendulum"].source.ref == "2.0"
    assert pins["demo"].source is not None
    assert pins["demo"].source.kind == "path"
    assert pins["functools32"].markers is not None
    assert "win32" in pins["functools32"].markers
    assert pins["pytest"].groups == ("group:dev",)


def test_poetry_directory_dependency_is_local_code() -> None:
    [manifest] = parse("poetry-path-dep/poetry.lock")
    assert "bazz" not in by_name(manifest.pins)
    assert len(manifest.pins) == (LOCKS / "poetry-path-dep" / "poetry.lock").read_text().count("[[package]]") - 1


def test_pipfile_lock_package_in_two_sections_is_one_install() -> None:
    import json

    [manifest] = parse("pipenv-self/Pipfile.lock")
    data = json.loads((LOCKS / "pipenv-self" / "Pipfile.lock").read_text())
    both = set(data["default"]) & set(data["develop"])
    assert both  # the real file has them
    releases = {(name, spec["version"]) for section in ("default", "develop") for name, spec in data[section].items()}
    assert len(manifest.pins) == len(releases)  # one pin per release: a shared one once, different versions twice
    pins = by_release(manifest.pins)
    same = [n for n in both if data["default"][n]["version"] == data["develop"][n]["version"]]
    assert same
    for name in same:
        pin = pins[(canonicalize_name(name), data["default"][name]["version"].lstrip("="))]
        assert set(pin.groups) == {"default", "develop"}
    assert manifest.indexes == [("https://pypi.org/simple", manifest.indexes[0][1])]


def test_pipfile_lock_agrees_with_pipenv_requirements() -> None:
    """pipenv-requirements.txt: `pipenv requirements --dev --hash` by pipenv 2026.10.3, offline, from the lock."""
    [manifest] = parse("pipenv-self/Pipfile.lock")
    installed: dict[str, tuple[str, set[str]]] = {}
    for line in (LOCKS / "pipenv-self" / "pipenv-requirements.txt").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==([^;\s]+)", line)
        if match:
            installed[canonicalize_name(match.group(1))] = (match.group(2), set(re.findall(r"--hash=(\S+)", line)))
    ours = by_release(manifest.pins)
    assert {name for name, _ in ours} == set(installed)
    for name, (version, hashes) in installed.items():
        assert set(ours[(name, version)].hashes) == hashes, name  # the release pipenv installs is among ours


def test_pipfile_and_pipenv_pylock() -> None:
    [pipfile] = parse("pipenv-self/Pipfile")
    assert pipfile.kind == "Pipfile"
    assert pipfile.pins
    [pylock] = parse("pipenv-self/pylock.toml")
    [lock] = parse("pipenv-self/Pipfile.lock")
    assert len(pylock.pins) == (LOCKS / "pipenv-self" / "pylock.toml").read_text().count("[[packages]]")
    assert lock.pins
    assert any("cooldown is not checked" in n for n in pylock.notes)  # no upload-time in pipenv's pylock
    [example] = parse("pipenv-example/pylock.toml")
    assert by_name(example.pins)["requests"].uploaded == "2022-07-13T14:00:00Z"


def test_conda_environment_and_conda_lock() -> None:
    [env] = parse("conda-maternal-health/environment.yml")
    pins = by_name(env.pins)
    assert pins["numpy"].version == "1.26.4"
    assert pins["numpy"].ecosystem == "conda"
    assert env.channels[0][0] == "conda-forge"
    [lock] = parse("conda-maternal-health/conda-lock.yml")
    import yaml

    data = yaml.safe_load((LOCKS / "conda-maternal-health" / "conda-lock.yml").read_text())
    unique = {(p["manager"], p["name"], p["version"]) for p in data["package"]}
    assert len(lock.pins) == len(unique)
    assert sum(len(p.hashes) for p in lock.pins) == len({(p["name"], p["version"], h) for p in data["package"]
                                                          for h in p["hash"].values()})
    assert {p.source.url for p in lock.pins if p.source} == {"conda-forge"}


def test_conda_lock_agrees_with_conda_lock_render() -> None:
    """explicit/conda-<platform>.lock: `conda-lock render --kind explicit -p PLATFORM` by conda-lock 4.0.3, offline:
    the files conda installs, with their md5."""
    [lock] = parse("conda-maternal-health/conda-lock.yml")
    # conda names are not PEP 503 names: cached-property and cached_property are two packages
    ours = {(p.name.lower(), p.version): p for p in lock.pins if p.ecosystem == "conda"}
    rendered: set[tuple[str, str | None]] = set()
    for explicit in sorted((LOCKS / "conda-maternal-health" / "explicit").glob("conda-*.lock")):
        [manifest] = parse_file(explicit, explicit.parent)
        assert not manifest.problems
        assert manifest.pins
        for pin in manifest.pins:
            key = (pin.name.lower(), pin.version)
            rendered.add(key)
            assert set(pin.hashes) <= set(ours[key].hashes), key  # the md5 conda checks is one we read
    assert rendered == set(ours)


def test_discovery_of_every_kind() -> None:
    cases = {"requirements/base.txt": "requirements", "reqs/dev.txt": "requirements", "dev.in": "requirements",
             "requirements-dev.in": "requirements", "constraints-ml.txt": "requirements", "MANIFEST.in": None,
             "Makefile.in": None, "x-1.0-py3-none-any.whl": "wheel",
             "Pipfile": "Pipfile", "Pipfile.lock": "Pipfile.lock", "pylock.toml": "pylock",
             "pylock.dev.toml": "pylock", "conda-lock.yml": "conda-lock", "conda-linux-64.lock": "conda-explicit",
             "environment.yml": "conda",
             "notes.txt": None, "setup.cfg": "setup.cfg", "pdm.lock": "pdm.lock", "uv.lock": "uv.lock",
             "poetry.lock": "poetry.lock"}
    for name, kind in cases.items():
        assert kind_of(Path(name)) == kind, name


# --- requirements against pip's own parser ----------------------------------------------------------------------
def _pip_parse(path: Path) -> list[tuple[str, tuple[str, ...]]]:
    from pip._internal.network.session import PipSession
    from pip._internal.req.req_file import parse_requirements as pip_parse

    out = []
    for req in pip_parse(str(path), session=PipSession()):
        hashes = req.options.get("hashes", {}) if req.options else {}
        out.append((req.requirement, tuple(sorted(f"{k}:{v}" for k, vs in hashes.items() for v in vs))))
    return out


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le-bom", "latin-1-cookie"])
def test_requirements_read_as_pip_reads_them(tmp_path: Path, encoding: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQ_DIR", "sub")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "extra.txt").write_text("scipy==1.13.1  # pinned\n")
    body = ("numpy==1.26.4 \\\n    --hash=sha256:" + "a" * 64 + " \\\n    --hash=sha256:" + "b" * 64 + "\n"
            "# a comment line\n"
            "pandas>=2 ; python_version >= '3.9'  # trailing comment\n"
            "-r ${REQ_DIR}/extra.txt\n"
            "--extra-index https://pypi.org/simple\n"  # optparse accepts a unique prefix
            "torch==2.6.0+cpu\n"
            "scikit-learn==1.5.0  # caf\u00e9 \u2014 non-ASCII\n" if encoding != "latin-1-cookie" else "")
    path = tmp_path / "requirements.txt"
    if encoding == "utf-16-le-bom":
        path.write_bytes(b"\xff\xfe" + body.encode("utf-16-le"))
    elif encoding == "latin-1-cookie":
        text = "# -*- coding: latin-1 -*-\nnumpy==1.26.4  # caf\u00e9\nscikit-learn==1.5.0\n"
        path.write_bytes(text.encode("latin-1"))
    else:
        path.write_bytes(body.encode(encoding))
    ours = [(p.name + p.specifier + (f"; {p.markers}" if p.markers else ""), tuple(sorted(p.hashes)))
            for m in parse_requirements(path, tmp_path) for p in m.pins]
    pips = _pip_parse(path)
    normalise = [(str(_norm(r)), h) for r, h in pips]
    assert sorted(str(_norm(r)) for r, _ in ours) == sorted(r for r, _ in normalise)
    assert sorted(h for _, h in ours) == sorted(h for _, h in normalise)
    assert all(not m.problems for m in parse_requirements(path, tmp_path))


def _norm(text: str) -> object:
    from packaging.requirements import Requirement

    req = Requirement(text)
    return (canonicalize_name(req.name), str(req.specifier), str(req.marker or ""))


@pytest.mark.skipif(shutil.which("uv") is None and not Path("/work/main/.venv/bin/uv").exists(),
                    reason="uv is not installed")
def test_uv_export_live_when_uv_is_installed(tmp_path: Path) -> None:
    """The committed uv-export.txt is what today's uv says; re-run it when uv is at hand."""
    uv = shutil.which("uv") or "/work/main/.venv/bin/uv"
    for name in ("uv.lock", "pyproject.toml"):
        shutil.copy(LOCKS / "uv-spectree" / name, tmp_path / name)
    done = subprocess.run([uv, "export", "--frozen", "--offline", "--all-groups", "--all-extras", "--no-emit-project",
                           "--no-header", "--no-annotate"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-500:]
    (tmp_path / "export.txt").write_text(done.stdout)
    [manifest] = parse_file(tmp_path / "uv.lock", tmp_path)
    truth = uv_export(tmp_path / "export.txt")
    assert set(by_release(manifest.pins)) == set(truth)
