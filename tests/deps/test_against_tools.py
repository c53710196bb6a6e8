"""Differential tests (issue 14): what our readers take from real lock and requirements files against what the tool
that wrote them would install.

The truth for a lock is the tool's own export of it (`uv export`, `poetry export`, `pipenv requirements`,
`pdm export`, generated offline and committed next to the lock, see tests/data/locks/SOURCES.md), read by
**pip's own parser** (`pip._internal.req.req_file.parse_requirements`): so neither side is read by our code.
For requirements files pip's parser is the oracle directly. Compared per release: (name, version), hashes,
markers (by meaning: both evaluated over a grid of environments, since tools simplify markers differently) and
the kind of source (index, VCS, URL, local path).
"""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from mlwarden.deps.formats import parse_file
from mlwarden.deps.model import Manifest, Pin
from mlwarden.deps.requirements import parse_requirements
from mlwarden.policy.model import canonicalize_name
from tests.conftest import ROOT

LOCKS = ROOT / "tests" / "data" / "locks"
REQUIREMENTS = ROOT / "tests" / "data" / "requirements"


@dataclass(frozen=True)
class Entry:
    """One requirement as pip reads it (or as our reader reads it), reduced to what the comparison needs."""

    name: str
    specifier: str
    marker: str | None
    hashes: frozenset[str]
    source: str  # "index" | "vcs" | "url" | "path"
    editable: bool = False

    @property
    def version(self) -> str | None:
        spec = list(SpecifierSet(self.specifier))
        return spec[0].version if len(spec) == 1 and spec[0].operator in ("==", "===") else None


def _source_of_url(url: str | None) -> str:
    if not url:
        return "index"
    lowered = url.lower()
    if lowered.startswith(("git+", "hg+", "svn+", "bzr+")):
        return "vcs"
    if lowered.startswith("file:") or "://" not in lowered:
        return "path"
    return "url"


def pip_reads(path: Path) -> list[Entry]:
    """pip's own parser (with a session, as `pip install -r` builds it), following -r/-c like pip does."""
    from pip._internal.network.session import PipSession
    from pip._internal.req.req_file import parse_requirements as pip_parse

    out = []
    for parsed in pip_parse(str(path), session=PipSession()):
        text = parsed.requirement
        options = parsed.options or {}
        hashes = frozenset(f"{algo}:{digest}" for algo, digests in (options.get("hashes") or {}).items()
                           for digest in digests)
        if parsed.is_editable or text.startswith((".", "/", "git+", "file:", "http://", "https://")):
            location = text.split(";")[0].strip()
            egg = location.split("#egg=")[-1].split("&")[0] if "#egg=" in location else location
            out.append(Entry(canonicalize_name(egg.rsplit("/", 1)[-1].removesuffix(".git")), "", None, hashes,
                             _source_of_url(location), parsed.is_editable))
            continue
        req = Requirement(text)
        out.append(Entry(canonicalize_name(req.name), str(req.specifier), str(req.marker) if req.marker else None,
                         hashes, _source_of_url(req.url)))
    return out


def _pin_entry(pin: Pin) -> Entry:
    source = pin.source.kind if pin.source is not None else "index"
    return Entry(canonicalize_name(pin.name), f"=={pin.version}" if pin.version else pin.specifier, pin.markers,
                 frozenset(pin.hashes), {"conda-channel": "index", "find-links": "index"}.get(source, source))


# --- markers by meaning ------------------------------------------------------------------------------------------
_PLATFORMS = [("linux", "posix", "Linux", "x86_64"), ("linux", "posix", "Linux", "aarch64"),
              ("darwin", "posix", "Darwin", "arm64"), ("darwin", "posix", "Darwin", "x86_64"),
              ("win32", "nt", "Windows", "AMD64")]
_PYTHONS = ["2.7", "3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14"]


def environments(requires_python: str | None) -> list[dict[str, str]]:
    """Every (platform, Python, implementation) the project can run on: where two markers must agree."""
    allowed = SpecifierSet(requires_python or "")
    out = []
    for (sys_platform, os_name, system, machine), python, impl in itertools.product(
            _PLATFORMS, _PYTHONS, ("cpython", "pypy")):
        if python + ".0" not in allowed and python not in allowed:
            continue
        out.append({"sys_platform": sys_platform, "os_name": os_name, "platform_system": system,
                    "platform_machine": machine, "python_version": python, "python_full_version": python + ".0",
                    "implementation_name": impl, "platform_python_implementation":
                    "CPython" if impl == "cpython" else "PyPy", "extra": ""})
    return out


def same_meaning(first: str | None, second: str | None, envs: list[dict[str, str]]) -> bool:
    """Both markers hold in the same environments. Exports are made with every group and extra, so each
    group or extra a lock marker names (PEP 751 `'dev' in dependency_groups`) is selected."""
    import re

    named = frozenset(re.findall(r"['\"]([\w.-]+)['\"]\s+in\s+(?:dependency_groups|extras)", f"{first} {second}"))
    a = Marker(first) if first else None
    b = Marker(second) if second else None

    def holds(marker: Marker | None, env: dict[str, str]) -> bool:
        if marker is None:
            return True
        return marker.evaluate({**env, "extras": named, "dependency_groups": named}, context="lock_file")

    return all(holds(a, env) == holds(b, env) for env in envs)


# --- comparison ---------------------------------------------------------------------------------------------------
@dataclass
class Comparison:
    missing: list[tuple[str, str | None]]  # the tool installs it, we did not read it
    extra: list[tuple[str, str | None]]  # we read it, the tool does not install it
    hashes: list[tuple[str, str | None]]
    markers: list[tuple[str, str | None, str | None, str | None]]
    sources: list[tuple[str, str, str]]

    def agrees(self) -> bool:
        return not (self.missing or self.extra or self.hashes or self.markers or self.sources)


def compare(ours: list[Entry], theirs: list[Entry], envs: list[dict[str, str]], *,
            markers: bool = True) -> Comparison:
    def keyed(entries: list[Entry]) -> dict[tuple[str, str | None], list[Entry]]:
        out: dict[tuple[str, str | None], list[Entry]] = {}
        for entry in entries:
            # a VCS, URL or path requirement is one per name (its version is what the lock recorded, or none)
            version = None if entry.source != "index" else entry.version or entry.specifier or None
            out.setdefault((entry.name, version), []).append(entry)
        return out

    mine, truth = keyed(ours), keyed(theirs)
    result = Comparison(sorted(set(truth) - set(mine), key=str), sorted(set(mine) - set(truth), key=str), [], [],
                        [])
    for key in sorted(set(mine) & set(truth), key=str):
        if frozenset().union(*(e.hashes for e in mine[key])) != frozenset().union(*(e.hashes for e in truth[key])):
            result.hashes.append(key)
        if {e.source for e in mine[key]} != {e.source for e in truth[key]}:
            result.sources.append((key[0], str(sorted({e.source for e in mine[key]})),
                                   str(sorted({e.source for e in truth[key]}))))
        if markers:
            # a release listed twice (one per marker) is installed where any of its markers holds
            ours_marker = _any(e.marker for e in mine[key])
            their_marker = _any(e.marker for e in truth[key])
            if not same_meaning(ours_marker, their_marker, envs):
                result.markers.append((*key, ours_marker, their_marker))
    return result


def _any(markers: object) -> str | None:
    values = list(markers)  # type: ignore[call-overload]
    if any(m is None for m in values):
        return None
    return " or ".join(f"({m})" for m in values)


def _requires_python(folder: Path) -> str | None:
    from mlwarden import _toml

    pyproject = folder / "pyproject.toml"
    if not pyproject.exists():
        return None
    data = _toml.loads(pyproject.read_text())
    value = data.get("project", {}).get("requires-python")
    if value:
        return str(value)
    poetry = data.get("tool", {}).get("poetry", {}).get("dependencies", {}).get("python")
    if isinstance(poetry, str) and poetry.startswith("^"):  # poetry's caret: >=x.y,<x+1
        major = poetry[1:].split(".")[0]
        return f">={poetry[1:]},<{int(major) + 1}"
    if isinstance(poetry, str) and "||" not in poetry and "~" not in poetry:
        return poetry  # ">=3.9,<3.13" is already a PEP 440 specifier set
    return None


def _lock_pins(path: Path) -> list[Pin]:
    manifests: list[Manifest] = parse_file(path, path.parent)
    assert manifests
    assert not [p for p in manifests[0].problems if p.fatal], manifests[0].problems
    return manifests[0].pins


# (folder, lock, the tool's export, the tool, compare markers): every lock committed with its tool's export.
LOCK_CASES = [
    ("uv-spectree", "uv.lock", "uv-export.txt", "uv 0.13.9", True),
    ("uv-dezoomcamp-workshop", "uv.lock", "uv-export.txt", "uv 0.13.9", True),
    ("uv-dezoomcamp-scripts", "uv.lock", "uv-export.txt", "uv 0.13.9", True),
    ("uv-spectree", "pylock.toml", "uv-export.txt", "uv 0.13.9", True),
    ("uv-dezoomcamp-workshop", "uv-pylock.toml", "uv-export.txt", "uv 0.13.9", True),
    ("uv-dezoomcamp-scripts", "uv-pylock.toml", "uv-export.txt", "uv 0.13.9", True),
    ("poetry-2.x-self", "poetry.lock", "poetry-export.txt", "poetry 2.5.1", True),
    ("poetry-1.x-metadata-files", "poetry.lock", "poetry-export.txt", "poetry 2.5.1", True),
    ("poetry-poc", "poetry.lock", "poetry-export.txt", "poetry 2.5.1", True),
    ("pipenv-self", "Pipfile.lock", "pipenv-requirements.txt", "pipenv 2026.10.3", True),
    ("pipenv-mlops-web-service", "Pipfile.lock", "pipenv-requirements.txt", "pipenv 2026.10.3", True),
    ("pipenv-mlops-best-practices", "Pipfile.lock", "pipenv-requirements.txt", "pipenv 2026.10.3", True),
    ("pdm-self", "pdm.lock", "pdm-export.txt", "pdm 2.29.4", True),
    ("pdm-demo", "pdm.lock", "pdm-export.txt", "pdm 2.29.4", True),
    ("pdm-demo", "pylock.toml", "pdm-export.txt", "pdm 2.29.4", True),
]


def _kind_name(name: str) -> str:
    return "pylock.toml" if name.endswith("pylock.toml") else name


@pytest.mark.parametrize(("folder", "lock", "export", "tool", "with_markers"), LOCK_CASES,
                         ids=[f"{c[0]}/{c[1]}" for c in LOCK_CASES])
def test_lock_reads_what_its_tool_installs(folder: str, lock: str, export: str, tool: str, with_markers: bool,
                                           tmp_path: Path) -> None:
    path = LOCKS / folder / lock
    if _kind_name(lock) != lock:  # a pylock under another name: read it under its own
        shutil.copy(path, tmp_path / "pylock.toml")
        path = tmp_path / "pylock.toml"
    ours = [_pin_entry(p) for p in _lock_pins(path)]
    theirs = [e for e in pip_reads(LOCKS / folder / export) if not (e.editable and e.source == "path")]
    envs = environments(_requires_python(LOCKS / folder))
    result = compare(ours, theirs, envs, markers=with_markers)
    if lock == "Pipfile.lock":
        # pipenv disagrees with itself here: `pipenv requirements --dev` lets default's version win, but
        # `pipenv sync --dev` installs "default" then "develop" in two pip runs, so develop's version is what ends
        # up installed (routines/install.py). Each version is installed by one of pipenv's commands: both are read.
        data = json.loads(path.read_text())
        develop_only = {(canonicalize_name(n), str(v.get("version", "")).lstrip("=")) for n, v in
                        data.get("develop", {}).items() if n in data.get("default", {}) and
                        v.get("version") != data["default"][n].get("version")}
        assert set(result.extra) == develop_only
        result.extra = []
    assert result.agrees(), (tool, result)


# Real requirements files (tests/data/requirements/README.md names each one's source), and every tool export above:
# our requirements reader against pip's.
REQUIREMENT_FILES = sorted(p.relative_to(ROOT).as_posix() for p in REQUIREMENTS.rglob("*.txt")) + sorted(
    f"tests/data/locks/{folder}/{export}" for folder, _, export, _, _ in LOCK_CASES
    if export.endswith(".txt")) + ["tests/data/locks/pdm-self/pdm-export.txt"]


@pytest.mark.parametrize("relative", sorted(set(REQUIREMENT_FILES)))
def test_requirements_read_as_pip_reads_them(relative: str) -> None:
    path = ROOT / relative
    manifests = parse_requirements(path, path.parent)
    assert not [p for m in manifests for p in m.problems if p.fatal]
    ours = [_pin_entry(p) for m in manifests for p in m.pins]
    theirs = pip_reads(path)
    # every requirement, with its specifier, marker (as written: both sides use packaging), hashes and source
    assert sorted((e.name, e.specifier, e.marker, e.source) for e in ours) == \
        sorted((e.name, e.specifier, e.marker, e.source) for e in theirs)
    assert {(e.name, e.specifier): e.hashes for e in ours} == {(e.name, e.specifier): e.hashes for e in theirs}


@pytest.mark.parametrize(("folder", "lock", "command"), [
    ("uv-dezoomcamp-workshop", "uv.lock", ["export", "--frozen", "--offline", "--all-groups", "--all-extras",
                                           "--no-emit-project", "--no-header", "--no-annotate"]),
    ("uv-dezoomcamp-scripts", "uv.lock", ["export", "--frozen", "--offline", "--all-groups", "--all-extras",
                                          "--no-emit-project", "--no-header", "--no-annotate"]),
])
def test_committed_uv_exports_are_what_uv_says_today(folder: str, lock: str, command: list[str],
                                                     tmp_path: Path) -> None:
    """The committed export is uv's own answer: re-run it when uv is at hand (offline, from the lock only)."""
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")  # the venv's uv when not on PATH
    if not Path(uv).exists():
        pytest.skip("uv is not installed")
    for name in (lock, "pyproject.toml"):
        shutil.copy(LOCKS / folder / name, tmp_path / name)
    done = subprocess.run([uv, *command], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        pytest.skip(f"uv export failed here: {done.stderr.strip()[:200]}")
    assert done.stdout == (LOCKS / folder / "uv-export.txt").read_text()
