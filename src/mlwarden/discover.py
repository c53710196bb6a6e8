"""Which files a command looks at, found the way git sees the repository.

* The repository root is found from any subfolder (the nearest folder holding ``.git``), so configuration,
  policy and display paths are the same wherever the command runs.
* Inside git, files come from ``git ls-files``: tracked files (force-added ignored files included) and
  untracked files that are not ignored. Outside git, a walk that honours ``.gitignore`` files.
* ``--staged`` judges what is in the index, not the working tree (the blob is copied to a private folder).
* ``--since REF`` keeps the files changed since the merge base with REF (CI on a branch).
* The configuration's ``exclude``, ``--exclude`` and a ``.mlwardenignore`` file (gitignore syntax) apply.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mlwarden.errors import InputError
from mlwarden.findings import ScanError
from mlwarden.paths import display_path

IGNORE_FILE = ".mlwardenignore"
# Never project content: version-control internals, caches and tool state.
_ALWAYS_SKIP = frozenset({".git", ".hg", ".svn", "__pycache__", "node_modules", ".mypy_cache", ".ruff_cache",
                          ".pytest_cache", ".tox", ".nox", ".hypothesis"})


@dataclass
class Targets:
    """Files named on the command line, files found under folders, and paths that do not exist."""

    named: list[Path] = field(default_factory=list)
    found: list[Path] = field(default_factory=list)
    missing: list[ScanError] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> count

    def skip(self, reason: str, count: int = 1) -> None:
        if count:
            self.skipped[reason] = self.skipped.get(reason, 0) + count


def repo_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: the current one) that holds ``.git``; the start
    folder itself outside git."""
    here = (start or Path.cwd()).absolute()
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder
    return here


def _git(root: Path, *args: str, warnings: list[str] | None = None) -> bytes | None:
    import subprocess

    try:
        proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, check=False, timeout=120,
                              env={**os.environ, "LC_ALL": "C"})  # untranslated warnings: they are parsed
    except (OSError, subprocess.TimeoutExpired):
        return None
    if warnings is not None:
        warnings += os.fsdecode(proc.stderr).splitlines()
    return proc.stdout if proc.returncode == 0 else None


_GIT_UNREADABLE = re.compile(r"^warning: could not open directory '(?P<path>.*)': (?P<why>.*)$")


def _is_git(root: Path) -> bool:
    return (root / ".git").exists()


def gather(paths: Sequence[Path], root: Path, exclude: Sequence[str], *, default_to_root: bool,
           since: str | None = None, untracked: bool = True) -> Targets:
    """Files named, files found under the folders named (the whole repository when nothing is named and
    ``default_to_root``), and an error for each path that does not exist."""
    targets = Targets()
    spec = _exclusions(root, exclude)
    folders: list[Path] = []
    for path in paths:
        if path.is_dir():
            folders.append(path)
        elif not (path.exists() or path.is_symlink()):
            targets.missing.append(ScanError(display_path(path, root), "no such file or directory"))
        elif (special := special_file(path)) is not None:
            targets.missing.append(ScanError(display_path(path, root), f"not read: {special}"))
        else:
            targets.named.append(path)
    if not paths and default_to_root:
        folders = [root]
    if folders:
        found = _git_files(root, folders, untracked=untracked, unreadable=targets.missing) if _is_git(root) \
            else None
        if found is None:
            from mlwarden.walk import iter_files

            unreadable: list[tuple[Path, str]] = []
            found = list(iter_files(folders, root, unreadable=unreadable))
            for path, why in unreadable:  # not checked, and said so
                targets.missing.append(ScanError(display_path(path, root), why))
        kept = []
        for path in found:
            rel = display_path(path, root)
            if _skipped_dir(rel):
                targets.skip("tool caches and virtual environments")
            elif special_file(path) is not None:
                targets.skip("special files (FIFOs, devices, sockets) are never read")
            elif spec is not None and spec.match_file(rel):
                targets.skip("excluded by configuration")
            else:
                kept.append(path)
        targets.found = kept
    if since is not None:
        changed = changed_since(root, since)
        before = len(targets.named) + len(targets.found)
        targets.named = [p for p in targets.named if _key(p) in changed]
        targets.found = [p for p in targets.found if _key(p) in changed]
        targets.skip(f"unchanged since {since}", before - len(targets.named) - len(targets.found))
    return targets


def special_file(path: Path) -> str | None:
    """Why a path must not be opened (a FIFO blocks, a device never ends), or None for a regular file. Decided
    with stat, without opening anything; a dangling link is left to the check, which reports it unreadable."""
    import stat

    from mlwarden.safeload import file_kind

    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    return None if stat.S_ISREG(mode) else f"{file_kind(mode)}, not a regular file"


def _key(path: Path) -> Path:
    return Path(os.path.abspath(path))


def _skipped_dir(rel: str) -> bool:
    parts = rel.split("/")[:-1]
    return any(part in _ALWAYS_SKIP for part in parts)


def _exclusions(root: Path, exclude: Sequence[str]) -> _Spec | None:
    """One gitignore-style spec from the configuration's globs, --exclude and .mlwardenignore."""
    patterns = list(exclude)
    ignore_file = root / IGNORE_FILE
    if ignore_file.is_file():
        try:
            patterns += ignore_file.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError as exc:
            raise InputError(f"{IGNORE_FILE}: cannot read: {exc.strerror or exc}") from None
    if not patterns:
        return None
    import pathspec

    return _Spec(pathspec.GitIgnoreSpec.from_lines(patterns), tuple(exclude))


class _Spec:
    """gitignore semantics, plus the configuration's historical fnmatch globs ("tests/data/**")."""

    def __init__(self, spec: object, globs: tuple[str, ...]) -> None:
        self.spec = spec
        self.globs = globs

    def match_file(self, rel: str) -> bool:
        from mlwarden.walk import excluded

        return bool(self.spec.match_file(rel)) or excluded(rel, self.globs)  # type: ignore[attr-defined]


def _git_files(root: Path, folders: Iterable[Path], *, untracked: bool = True,
               unreadable: list[ScanError] | None = None) -> list[Path] | None:
    """Tracked files (force-added ones too) and, with ``untracked``, untracked files git does not ignore,
    under ``folders``.
    Virtual environments inside the tree are skipped (installed packages are not the project's files)."""
    rels = []
    for folder in folders:
        rel = display_path(folder, root)
        rels.append("." if rel in ("", ".") else rel)
    others = ("--others", "--exclude-standard") if untracked else ()
    warnings: list[str] = []
    out = _git(root, "ls-files", "-z", "--cached", *others, "--", *rels, warnings=warnings)
    if out is None:
        return None
    for line in warnings:  # git skips a folder it cannot open with a warning: fail closed, name it
        if (found := _GIT_UNREADABLE.match(line)) and unreadable is not None:
            unreadable.append(ScanError(found["path"].rstrip("/") or ".",
                                        f"folder cannot be read ({found['why'].lower()}); its files were not checked"))
    files: list[Path] = []
    venvs: dict[str, bool] = {}
    for raw in sorted(set(out.split(b"\0"))):
        if not raw:
            continue
        rel = os.fsdecode(raw)
        path = root / rel
        if not (path.is_file() or path.is_symlink()) or _in_venv(root, rel, venvs):
            continue  # deleted in the working tree, a submodule, or part of a virtual environment
        files.append(path)
    return files


def _in_venv(root: Path, rel: str, cache: dict[str, bool]) -> bool:
    parts = rel.split("/")[:-1]
    for i in range(1, len(parts) + 1):
        folder = "/".join(parts[:i])
        if folder not in cache:
            try:
                cache[folder] = (root / folder / "pyvenv.cfg").is_file()
            except OSError:  # a folder it may not enter (Python 3.11 raises): not a virtual environment
                cache[folder] = False
        if cache[folder]:
            return True
    return False


def changed_since(root: Path, ref: str) -> set[Path]:
    """Files added or changed since the merge base of ``ref`` and HEAD (committed, staged or not), plus
    untracked files: what a branch adds."""
    base = _git(root, "merge-base", ref, "HEAD")
    if base is None:
        raise InputError(f"--since {ref}: not a git revision of this repository")
    out = _git(root, "diff", "--name-only", "-z", "--no-renames", "--diff-filter=d", base.decode().strip())
    untracked = _git(root, "ls-files", "-z", "--others", "--exclude-standard")
    names = (out or b"").split(b"\0") + (untracked or b"").split(b"\0")
    return {_key(root / os.fsdecode(n)) for n in names if n}


def staged_copies(paths: Sequence[Path], root: Path, workdir: Path) -> tuple[list[Path], dict[Path, Path]]:
    """Copy the staged (index) version of each path into ``workdir``, keeping its repository-relative
    name, so checks judge what will be committed. Returns the copies and a map copy -> original. A path
    that is not in the index (deleted, or never added) is judged as it is on disk."""
    copies: list[Path] = []
    origin: dict[Path, Path] = {}
    for path in paths:
        rel = display_path(path, root)
        listing = _git(root, "ls-files", "-s", "-z", "--", rel)
        fields = listing.split(b"\0")[0].split() if listing else []
        if len(fields) < 2 or fields[0] == b"160000":  # absent from the index, or a submodule
            copies.append(path)
            continue
        copy = workdir / rel
        copy.parent.mkdir(parents=True, exist_ok=True)
        import subprocess

        with copy.open("wb") as out:  # streamed: a staged checkpoint never sits in memory
            proc = subprocess.run(["git", "-C", str(root), "cat-file", "blob", fields[1].decode()], stdout=out,
                                  stderr=subprocess.DEVNULL, check=False, timeout=600)
        if proc.returncode != 0:
            raise InputError(f"{rel}: cannot read the staged version (git cat-file failed)")
        copies.append(copy)
        origin[copy] = path
    return copies, origin


def index_snapshot(root: Path, workdir: Path) -> list[Path]:
    """Every file of git's index, written under ``workdir`` as the index holds it (``git checkout-index``):
    what the next commit will contain, whatever the working tree says."""
    if not _is_git(root):
        raise InputError("--staged needs a git repository")
    prefix = str(workdir).rstrip(os.sep) + os.sep
    if _git(root, "checkout-index", "--all", "--force", f"--prefix={prefix}") is None:
        raise InputError("cannot read git's index (git checkout-index failed)")
    listing = _git(root, "ls-files", "-z", "--cached") or b""
    files = [workdir / os.fsdecode(raw) for raw in listing.split(b"\0") if raw]
    return [f for f in files if f.is_file()]
