"""Paths as findings show them."""

from __future__ import annotations

import os
from pathlib import Path


def display_path(path: Path, root: Path) -> str:
    """A repository-relative POSIX path when possible (stable for SARIF fingerprints). A link is named
    by where it is, never by where it points."""
    absolute = Path(os.path.abspath(path))
    for base in (Path(os.path.abspath(root)), resolved(root)):
        try:
            return absolute.relative_to(base).as_posix()
        except ValueError:
            continue
    try:
        return (resolved(path.parent) / path.name).relative_to(resolved(root)).as_posix()
    except (ValueError, OSError):
        return path.as_posix()


def resolved(path: Path) -> Path:
    """``path.resolve()`` that never raises: on Python < 3.13 a symlink loop makes ``Path.resolve`` raise
    RuntimeError, which escaped every caller handed a hostile tree (issue #15). os.path.realpath leaves the
    looping part as it is, which is all a comparison or a containment check needs."""
    return Path(os.path.realpath(path))
