"""Find the files a command should look at: honours .gitignore files and the configuration's excludes."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import pathspec

from mlwarden.paths import display_path

_Spec = pathspec.GitIgnoreSpec
_ALWAYS_SKIP = {".git", ".hg", ".svn", "__pycache__", "node_modules", ".mypy_cache", ".ruff_cache", ".pytest_cache",
                ".tox", ".nox"}


def excluded(rel: str, patterns: tuple[str, ...]) -> bool:
    for pattern in patterns:
        if fnmatch.fnmatchcase(rel, pattern) or fnmatch.fnmatchcase(rel, pattern.rstrip("/*") + "/*"):
            return True
        if pattern.endswith("/**") and (rel == pattern[:-3] or rel.startswith(pattern[:-2])):
            return True
    return False


def _is_file(path: Path) -> bool:
    """Path.is_file that answers False for a folder it may not enter (Python 3.11 raises PermissionError)."""
    try:
        return path.is_file()
    except OSError:
        return False


def _gitignore(directory: Path) -> _Spec | None:
    path = directory / ".gitignore"
    if not _is_file(path):
        return None
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return pathspec.GitIgnoreSpec.from_lines(lines)


def iter_files(paths: Iterable[Path], root: Path, exclude: tuple[str, ...] = (),
               unreadable: list[tuple[Path, str]] | None = None) -> Iterator[Path]:
    """Every regular file under ``paths`` (files given explicitly are always yielded). Folders that cannot be
    listed and links to files outside ``root`` are appended to ``unreadable`` with the reason (fail closed: the
    caller reports them) instead of vanishing."""
    seen: set[Path] = set()
    for start in paths:
        if start.is_file() or (start.exists() and not start.is_dir()):
            if start not in seen:
                seen.add(start)
                yield start
            continue
        if not start.is_dir():
            continue
        yield from _walk(start, root, exclude, seen, unreadable)


def _walk(top: Path, root: Path, exclude: tuple[str, ...], seen: set[Path],
          unreadable: list[tuple[Path, str]] | None = None) -> Iterator[Path]:
    specs: list[tuple[Path, _Spec]] = []
    # .gitignore files of the folders above `top`, up to the root, apply too.
    resolved_root = root.resolve()
    parent = top.resolve().parent
    while parent.is_relative_to(resolved_root):
        spec = _gitignore(parent)
        if spec:
            specs.append((parent, spec))
        if parent == resolved_root:
            break
        parent = parent.parent
    specs.reverse()  # outermost first, as git applies them
    stack: list[tuple[Path, list[tuple[Path, _Spec]]]] = [(top, specs)]
    while stack:
        directory, inherited = stack.pop()
        own = _gitignore(directory)
        active = [*inherited, (directory.resolve(), own)] if own else inherited
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            if unreadable is not None:
                unreadable.append((directory, "folder cannot be read (permission denied); its files were not "
                                              "checked"))
            continue
        for entry in entries:
            path = Path(entry.path)
            if entry.name in _ALWAYS_SKIP:
                continue
            is_dir = entry.is_dir(follow_symlinks=False)
            if _ignored(path, is_dir, active) or excluded(display_path(path, root), exclude):
                continue
            if is_dir:
                if _is_file(path / "pyvenv.cfg"):
                    continue  # a virtual environment: installed packages, not the project's files
                stack.append((path, active))
            elif entry.is_file(follow_symlinks=False) and path not in seen:
                seen.add(path)
                yield path
            elif entry.is_symlink() and unreadable is not None and _leads_out(path, resolved_root):
                # a link inside the project is skipped (its target is checked where it is); one that leads
                # out would be checked nowhere: say so rather than pass over it
                unreadable.append((path, "a link to a file outside the project; not read"))


def _leads_out(path: Path, resolved_root: Path) -> bool:
    target = Path(os.path.realpath(path))
    if target.is_relative_to(resolved_root):
        return False
    try:
        return not target.is_dir()  # a link to a folder outside is not walked, as git would not
    except OSError:
        return True


def _ignored(path: Path, is_dir: bool, specs: list[tuple[Path, _Spec]]) -> bool:
    """git's rule: .gitignore files from the top down, the last pattern that matches decides."""
    resolved = path.resolve() if not path.is_symlink() else path.absolute()
    ignored = False
    for base, spec in specs:
        try:
            rel = resolved.relative_to(base).as_posix()
        except ValueError:
            continue
        decision = spec.check_file(rel + ("/" if is_dir else "")).include
        if decision is not None:
            ignored = decision
    return ignored
