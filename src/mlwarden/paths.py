"""Paths as findings show them."""

from __future__ import annotations

from pathlib import Path


def display_path(path: Path, root: Path) -> str:
    """A repository-relative POSIX path when possible (stable for SARIF fingerprints)."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()
