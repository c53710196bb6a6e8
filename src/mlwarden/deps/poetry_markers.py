"""Where poetry installs each package of a poetry.lock older than 2.1: the graph walked from pyproject.toml.

Before lock-version 2.1 a package's own ``marker`` is not what poetry installs by (the old fixture locks
``pywin32`` with ``sys_platform == "win32"`` while the project requires it everywhere): `poetry install` and
`poetry export` walk the dependencies from the project, ANDing each edge's ``markers`` and ``python`` constraint
(deps/markers.py). Every group and extra is selected, as `poetry export --all-groups --all-extras` does.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

from mlwarden.deps.markers import as_marker, propagate
from mlwarden.policy.model import canonicalize_name


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _items(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _version_atom(op: str, version: str) -> str:
    name = "python_full_version" if version.count(".") >= 2 else "python_version"
    return f'{name} {op} "{version}"'


def python_marker(constraint: str) -> str | None:
    """poetry's python constraint ("^3.7", ">=3.6,<4", "~2.7 || >=3.4") as a marker; None when it allows
    every version or cannot be read (then the edge is taken everywhere: the safe side)."""
    alternatives = []
    for part in constraint.split("||"):
        atoms: list[str] = []
        for token in re.findall(r"(\^|~=|~|>=|<=|!=|==|>|<)?\s*([0-9][0-9.*]*|\*)", part):
            op, version = token
            if version == "*":
                continue
            numbers = [n for n in version.rstrip(".*").split(".") if n]
            if not numbers:
                return None
            if op == "^":
                upper = f"{int(numbers[0]) + 1}.0" if numbers[0] != "0" else f"0.{int(numbers[1]) + 1}" \
                    if len(numbers) > 1 else "1.0"
                atoms += [_version_atom(">=", version), _version_atom("<", upper)]
            elif op in ("~", "~="):
                upper_numbers = numbers[:-1] if op == "~=" and len(numbers) > 1 else numbers[:2]
                if len(upper_numbers) == 1:
                    upper = f"{int(upper_numbers[0]) + 1}.0"
                else:
                    upper = f"{upper_numbers[0]}.{int(upper_numbers[1]) + 1}"
                atoms += [_version_atom(">=", version), _version_atom("<", upper)]
            elif version.endswith("*"):
                atoms.append(_version_atom("!=" if op == "!=" else "==", version))
            else:
                atoms.append(_version_atom(op or "==", version))
        if not atoms:
            return None
        alternatives.append(" and ".join(atoms))
    if not alternatives:
        return None
    return alternatives[0] if len(alternatives) == 1 else " or ".join(f"({a})" for a in alternatives)


def _edge_marker(spec: dict[str, Any]) -> str | None:
    markers = spec.get("markers") if isinstance(spec.get("markers"), str) else None
    python = python_marker(spec["python"]) if isinstance(spec.get("python"), str) else None
    if markers and python:
        return f"({markers}) and ({python})"
    return markers or python


def _specs(value: object) -> list[dict[str, Any]]:
    """A dependency value: "1.0", {version = …}, or a list of them (multiple constraints)."""
    if isinstance(value, str):
        return [{"version": value}]
    if isinstance(value, dict):
        return [value]
    return [v for v in _items(value) if isinstance(v, dict)]


def _roots(pyproject: dict[str, Any]) -> list[tuple[Any, str | None]]:
    tool = _mapping(_mapping(pyproject.get("tool")).get("poetry"))
    tables = [tool.get("dependencies"), tool.get("dev-dependencies")]
    tables += [_mapping(group).get("dependencies") for group in _mapping(tool.get("group")).values()]
    roots: list[tuple[Any, str | None]] = []
    for table in tables:
        for name, value in _mapping(table).items():
            if name.lower() == "python":
                continue
            for spec in _specs(value):
                roots.append((canonicalize_name(name), _edge_marker(spec)))
                roots += [((canonicalize_name(name), str(e)), _edge_marker(spec)) for e in _items(spec.get("extras"))]
    project = _mapping(pyproject.get("project"))
    strings = _items(project.get("dependencies")) + [r for group in _mapping(project.get("optional-dependencies"))
                                                     .values() for r in _items(group)]
    for text in strings:
        try:
            req = Requirement(str(text))
        except InvalidRequirement:
            continue
        marker = str(req.marker) if req.marker else None
        roots.append((canonicalize_name(req.name), marker))
        roots += [((canonicalize_name(req.name), e), marker) for e in req.extras]
    return roots


def poetry_markers(packages: list[Any], pyproject: dict[str, Any]) -> dict[str, str | None] | None:
    """canonical name -> the marker poetry installs it under; None when the project's roots are unknown."""
    roots = _roots(pyproject)
    if not roots:
        return None
    edges: dict[Any, list[tuple[Any, str | None]]] = {}
    for package in packages:
        if not isinstance(package, dict) or not isinstance(package.get("name"), str):
            continue
        name = canonicalize_name(package["name"])
        extras = {str(extra): {canonicalize_name(re.split(r"[\s(\[<>=!~;]", str(r), maxsplit=1)[0])
                               for r in _items(listed)}
                  for extra, listed in _mapping(package.get("extras")).items()}
        base = edges.setdefault(name, [])
        for dep, value in _mapping(package.get("dependencies")).items():
            target = canonicalize_name(dep)
            for spec in _specs(value):
                edge = (target, _edge_marker(spec))
                more = [((target, str(e)), edge[1]) for e in _items(spec.get("extras"))]
                if spec.get("optional"):  # installed only when an extra of this package asks for it
                    for extra, names in extras.items():
                        if target in names:
                            edges.setdefault((name, extra), []).extend([edge, *more])
                else:
                    base += [edge, *more]
        for extra in extras:
            edges.setdefault((name, extra), []).append((name, None))
    conditions = propagate(roots, edges)
    return {key: as_marker(condition) for key, condition in conditions.items() if isinstance(key, str)}


def read_pyproject(lock: Path) -> dict[str, Any]:
    """The pyproject.toml beside a lock, or {} (then the lock's own markers stand)."""
    from mlwarden.deps.reading import ReadFailure, inside, load_toml, read_text

    pyproject = lock.parent / "pyproject.toml"
    if not pyproject.exists() or not inside(pyproject, lock.parent):  # never follow a link out of the folder
        return {}
    try:
        return load_toml(read_text(pyproject, utf8_only=True))
    except (ReadFailure, OSError, RecursionError):
        return {}
