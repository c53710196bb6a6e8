"""The dependency graph a lock file records: which package depends on which, and which are the project's own.

uv.lock and poetry.lock list each package's dependencies; pylock.toml may (`packages[].dependencies`).
Pipfile.lock and requirements files do not: their SBOM graph is flat, and says so. Read here from the lock
file itself because the dependency model (deps/model.Pin) carries no edges; a Pin that has a `dependencies`
attribute (names) is used as is. Every field is type-checked: a wrong-typed entry is skipped, never a crash.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlwarden.policy.model import canonicalize_name

Key = tuple[str, str | None]  # (canonical name, version or None when the edge does not say)
GRAPH_KINDS = ("uv.lock", "poetry.lock", "pylock")


@dataclass
class LockGraph:
    edges: dict[Key, set[Key]] = field(default_factory=dict)
    roots: set[Key] = field(default_factory=set)  # the project's direct dependencies; empty when unknown


def read_graph(path: Path, kind: str) -> LockGraph | None:
    """The graph of one lock file, or None when the format records none or the file cannot be read."""
    from mlwarden import _toml
    from mlwarden.errors import MlwardenError
    from mlwarden.safeload import read_text_bounded

    if kind not in GRAPH_KINDS:
        return None
    try:
        data = _toml.loads(read_text_bounded(path, 64 << 20))  # bounded: a FIFO or /dev/zero is refused
    except (MlwardenError, OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None  # the dependency parser reports the file; the SBOM falls back to a flat graph
    if kind == "uv.lock":
        return _uv(data)
    if kind == "poetry.lock":
        return _poetry(data, _pyproject_roots(path.parent / "pyproject.toml"))
    return _pylock(data)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _edge(entry: Any) -> Key | None:
    if isinstance(entry, dict) and isinstance(entry.get("name"), str):
        version = entry.get("version")
        return canonicalize_name(entry["name"]), version if isinstance(version, str) else None
    return None


def _uv(data: dict[str, Any]) -> LockGraph:
    graph = LockGraph()
    for package in _list(data.get("package")):
        package = _dict(package)
        if not isinstance(package.get("name"), str):
            continue
        version = package.get("version") if isinstance(package.get("version"), str) else None
        me: Key = (canonicalize_name(package["name"]), version)
        deps = list(_list(package.get("dependencies")))
        for group in (*_dict(package.get("optional-dependencies")).values(),
                      *_dict(package.get("dev-dependencies")).values()):
            deps += _list(group)
        targets = {key for key in map(_edge, deps) if key is not None}
        source = _dict(package.get("source"))
        if source.keys() & {"editable", "virtual", "directory", "path"}:
            graph.roots |= targets  # the project (or a workspace member): its dependencies are direct
        graph.edges.setdefault(me, set()).update(targets)
    return graph


def _poetry(data: dict[str, Any], roots: set[str]) -> LockGraph:
    graph = LockGraph()
    for package in _list(data.get("package")):
        package = _dict(package)
        if not isinstance(package.get("name"), str):
            continue
        version = package.get("version") if isinstance(package.get("version"), str) else None
        me: Key = (canonicalize_name(package["name"]), version)
        graph.edges.setdefault(me, set()).update(
            (canonicalize_name(name), None) for name in _dict(package.get("dependencies")) if isinstance(name, str))
    names = {key[0] for key in graph.edges}
    graph.roots = {(name, None) for name in roots & names}
    return graph


def _pylock(data: dict[str, Any]) -> LockGraph | None:
    graph = LockGraph()
    recorded = False
    for package in _list(data.get("packages")):
        package = _dict(package)
        if not isinstance(package.get("name"), str):
            continue
        version = package.get("version") if isinstance(package.get("version"), str) else None
        me: Key = (canonicalize_name(package["name"]), version)
        if "dependencies" in package:
            recorded = True
        graph.edges.setdefault(me, set()).update(
            key for key in map(_edge, _list(package.get("dependencies"))) if key is not None)
    return graph if recorded else None


def _pyproject_roots(path: Path) -> set[str]:
    """Names the project declares (PEP 621, PEP 735 groups, poetry and its groups): the lock's direct deps."""
    from packaging.requirements import InvalidRequirement, Requirement

    from mlwarden import _toml
    from mlwarden.errors import MlwardenError
    from mlwarden.safeload import read_text_bounded

    try:
        data = _toml.loads(read_text_bounded(path, 64 << 20))  # bounded: a FIFO or /dev/zero is refused
    except (MlwardenError, OSError, UnicodeDecodeError, ValueError, RecursionError):
        return set()
    names: set[str] = set()

    def requirement(text: Any) -> None:
        if isinstance(text, str):
            with contextlib.suppress(InvalidRequirement):
                names.add(canonicalize_name(Requirement(text).name))

    project = _dict(_dict(data).get("project"))
    for text in _list(project.get("dependencies")):
        requirement(text)
    for group in (*_dict(project.get("optional-dependencies")).values(),
                  *_dict(_dict(data).get("dependency-groups")).values()):
        for text in _list(group):
            requirement(text)
    poetry = _dict(_dict(_dict(data).get("tool")).get("poetry"))
    tables = [_dict(poetry.get("dependencies")), _dict(poetry.get("dev-dependencies"))]
    tables += [_dict(_dict(group).get("dependencies")) for group in _dict(poetry.get("group")).values()]
    for table in tables:
        names |= {canonicalize_name(name) for name in table if isinstance(name, str) and name.lower() != "python"}
    return names
