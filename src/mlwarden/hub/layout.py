"""Where Hugging Face downloads live, and what is in them: cache roots, repositories, revisions, refs,
and ``local_dir`` downloads.

We walk the layout ourselves rather than through ``huggingface_hub.scan_cache_dir``: that API stats but never
hashes, resolves a snapshot link to any target (one pointing to /etc/hostname is accepted without a word),
and turns a corrupt repository into a warning and skips it, while here a corrupt repository is exactly what
must be examined. Its constants module also freezes HF_HOME/HF_HUB_CACHE at import; the environment is read
here on each call, with the same precedence. Where it serves, `hf scan` does use it: sizes and modification
times of sound repositories in its inventory come from ``scan_cache_dir`` (hub/scan.py).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from mlwarden.rules import HF_LINK_ESCAPES, HF_UNVERIFIABLE

REPO_TYPES = {"models": "model", "datasets": "dataset", "spaces": "space", "kernels": "kernel"}
COMMIT = re.compile(r"^[0-9a-f]{40}$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")


def default_cache_dir(env: dict[str, str] | None = None) -> Path:
    """HF_HUB_CACHE, then the legacy HUGGINGFACE_HUB_CACHE, then $HF_HOME/hub, then ~/.cache/huggingface/hub."""
    env = dict(os.environ) if env is None else env
    for key in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if env.get(key):
            return Path(env[key]).expanduser()
    if env.get("HF_HOME"):
        return Path(env["HF_HOME"]).expanduser() / "hub"
    xdg = env.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "huggingface" / "hub"


@dataclass
class Revision:
    commit: str
    snapshot: Path
    refs: list[str] = field(default_factory=list)


@dataclass
class CachedRepo:
    """One ``<type>s--<org>--<name>`` folder of the cache."""

    path: Path
    repo_type: str
    repo_id: str
    revisions: dict[str, Revision] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)  # ref name -> raw content
    # What could not be loaded, as (rule, path, message, key): verify reports it, nothing is silently skipped.
    problems: list[tuple[str, Path, str, str]] = field(default_factory=list)

    @property
    def blobs(self) -> Path:
        return self.path / "blobs"


@dataclass
class LocalDir:
    """A ``local_dir`` download: files in place plus .cache/huggingface/download/*.metadata."""

    path: Path

    @property
    def metadata_dir(self) -> Path:
        return self.path / ".cache" / "huggingface" / "download"


def parse_repo_folder(name: str) -> tuple[str, str] | None:
    """("model", "org/name") for "models--org--name"; None for anything else."""
    parts = name.split("--")
    if len(parts) < 2 or parts[0] not in REPO_TYPES:
        return None
    return REPO_TYPES[parts[0]], "/".join(parts[1:])


def is_local_dir(path: Path) -> bool:
    return (path / ".cache" / "huggingface").is_dir()


def is_cache_root(path: Path) -> bool:
    try:
        return any(parse_repo_folder(child.name) and child.is_dir() for child in path.iterdir())
    except OSError:
        return False


def classify_target(path: Path) -> str:
    """"repo", "local_dir", "cache" or "unknown" for a path given on the command line."""
    if not path.is_dir():
        return "unknown"
    if parse_repo_folder(path.name) and ((path / "snapshots").exists() or (path / "blobs").exists()):
        return "repo"
    if is_local_dir(path):
        return "local_dir"
    if is_cache_root(path) or (path / "CACHEDIR.TAG").exists():
        return "cache"
    return "unknown"


MAX_REF_BYTES = 4096  # a ref holds one 40-hex commit


def inside(path: str, folder: str) -> bool:
    """``path`` is ``folder`` or below it (both already normalised or resolved)."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def load_repo(path: Path) -> CachedRepo:
    from mlwarden.errors import InputError
    from mlwarden.safeload import read_bytes_bounded

    parsed = parse_repo_folder(path.name)
    repo_type, repo_id = parsed if parsed else ("model", path.name)
    repo = CachedRepo(path=path, repo_type=repo_type, repo_id=repo_id)
    snapshots = path / "snapshots"
    if snapshots.is_dir():
        for entry in sorted(snapshots.iterdir()):
            if entry.is_dir() and not entry.is_symlink():
                repo.revisions[entry.name] = Revision(entry.name, entry)
            else:  # huggingface_hub writes only folders here: a link or a file is never walked
                problem = "snapshot entry is not a folder; not examined"
                repo.problems.append((HF_UNVERIFIABLE, entry, problem, "snapshot"))
    refs = path / "refs"
    if refs.is_dir():
        for ref in walk_entries(refs):
            if too_deep(ref):
                repo.problems.append(
                    (HF_UNVERIFIABLE, ref, f"refs nested deeper than {MAX_TREE_DEPTH} levels; not examined", "deep")
                )
                continue
            name = ref.relative_to(refs).as_posix()
            try:  # a FIFO or /dev/zero in refs/ is refused, not read
                content = read_bytes_bounded(ref, MAX_REF_BYTES, source=name).decode("utf-8", "replace").strip()
            except InputError as exc:
                repo.problems.append(
                    (HF_UNVERIFIABLE, ref, f"ref cannot be read: {str(exc).split(': ', 1)[-1]}", f"ref:{name}")
                )
                continue
            repo.refs[name] = content[:200]
            if content in repo.revisions:
                repo.revisions[content].refs.append(name)
    return repo


def repos_in_cache(root: Path) -> list[CachedRepo]:
    out = []
    real_root = os.path.realpath(root)
    for child in sorted(root.iterdir()):
        parsed = parse_repo_folder(child.name)
        if not parsed or not child.is_dir():
            continue
        real = os.path.realpath(child)
        if child.is_symlink() and not inside(real, real_root):
            repo = CachedRepo(path=child, repo_type=parsed[0], repo_id=parsed[1])
            repo.problems.append(
                (
                    HF_LINK_ESCAPES,
                    child,
                    f"repository folder links to {real}, outside the cache; not examined",
                    "escape",
                )
            )
            out.append(repo)
            continue
        out.append(load_repo(child))
    return out


MAX_TREE_DEPTH = 64  # real repositories nest a few levels; a deeper tree is hostile or broken


def walk_entries(folder: Path, *, skip: tuple[str, ...] = (), max_depth: int = MAX_TREE_DEPTH) -> list[Path]:
    """Every entry under ``folder`` that is not a real folder (files, links, special files), sorted. Links are
    listed, never followed. A folder deeper than ``max_depth`` is listed itself instead of being entered
    (see :func:`too_deep`). Iterative: os.walk and Path.rglob recurse (before Python 3.12) and a hostile tree
    a thousand folders deep raises RecursionError; unreadable folders are skipped like os.walk does."""
    out: list[Path] = []
    stack: list[tuple[Path, int]] = [(folder, 0)]
    while stack:
        current, depth = stack.pop()
        try:
            entries = list(os.scandir(current))
        except OSError:
            continue
        for entry in entries:
            path = Path(entry.path)
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            if not is_dir:
                out.append(path)
            elif entry.name in skip:
                continue
            elif depth + 1 >= max_depth:
                out.append(path)  # reported, not entered
            else:
                stack.append((path, depth + 1))
    return sorted(out)


def too_deep(path: Path) -> bool:
    """A real folder returned by :func:`walk_entries`: the tree goes deeper than the walk does."""
    return path.is_dir() and not path.is_symlink()


def snapshot_files(snapshot: Path) -> list[Path]:
    """Every entry of a snapshot that is a file or a link (links are not followed while walking), and the
    folders too deep to enter."""
    return walk_entries(snapshot)
