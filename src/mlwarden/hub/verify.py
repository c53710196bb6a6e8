"""Offline integrity of Hugging Face downloads: every blob against its name, every snapshot link inside its
repository, trees manifests, refs, local_dir metadata, incomplete downloads.

This proves self-consistency: content matches the name it was stored under and the manifest of its commit.
Provenance (that the commit is the approved one) comes from the policy's [[hf]] entries (`hf scan`).
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from mlwarden.errors import InputError
from mlwarden.findings import Finding, Location, Report
from mlwarden.hub.hashing import HashJob, hash_files
from mlwarden.hub.layout import (
    COMMIT,
    MAX_TREE_DEPTH,
    SHA256,
    CachedRepo,
    LocalDir,
    inside,
    load_repo,
    repos_in_cache,
    snapshot_files,
    too_deep,
    walk_entries,
)
from mlwarden.paths import display_path
from mlwarden.rules import (
    HF_BAD_REF,
    HF_BLOB_TAMPERED,
    HF_DANGLING,
    HF_INCOMPLETE,
    HF_LINK_ESCAPES,
    HF_LOCAL_DIR_MISMATCH,
    HF_MANIFEST_MISMATCH,
    HF_UNVERIFIABLE,
    make_finding,
)
from mlwarden.safeload import is_regular_file, load_json_bounded, read_text_bounded, special_file_reason

MAX_MANIFEST_BYTES = 256 * 1024 * 1024  # trees/<commit>.json of the largest repositories is a few MB
MAX_METADATA_BYTES = 64 * 1024  # three short lines


@dataclass
class Stats:
    repos: int = 0
    revisions: int = 0
    files: int = 0
    bytes_hashed: int = 0


@dataclass
class Targets:
    repos: list[CachedRepo] = field(default_factory=list)
    local_dirs: list[LocalDir] = field(default_factory=list)
    cache_roots: dict[Path, Path] = field(default_factory=dict)  # repo path -> cache root (shared blobs)


def blob_kind(name: str) -> str | None:
    if SHA256.match(name):
        return "sha256"
    if COMMIT.match(name):
        return "git-sha1"
    return None


class _Collector:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.findings: list[Finding] = []

    def add(self, rule_id: str, path: Path, message: str, key: str = "") -> None:
        self.findings.append(make_finding(rule_id, Location(display_path(path, self.root)), message, key or message))


def verify(
    targets: Targets, root: Path, *, progress: bool | None = None, workers: int | None = None
) -> tuple[Report, Stats]:
    out = _Collector(root)
    stats = Stats(repos=len(targets.repos) + len(targets.local_dirs))
    jobs: dict[Path, HashJob] = {}
    expectations: list[tuple[Path, str, str, str]] = []  # (file, kind, expected, rule)
    for repo in targets.repos:
        stats.revisions += len(repo.revisions)
        _check_repo(repo, targets.cache_roots.get(repo.path), out, jobs, expectations, stats)
    for local in targets.local_dirs:
        stats.revisions += 1
        _check_local_dir(local, out, jobs, expectations, stats)
    results = hash_files(jobs.values(), progress=progress, workers=workers)
    for path, kind, expected, rule in expectations:
        result = results.get(path)
        if result is None:
            continue
        if result.error:
            out.add(HF_UNVERIFIABLE, path, f"cannot be read: {result.error}", "unreadable")
            continue
        if result.digest != expected:
            what = (
                "its name"
                if rule == HF_BLOB_TAMPERED
                else "its download metadata"
                if rule == HF_LOCAL_DIR_MISMATCH
                else "the manifest"
            )
            out.add(rule, path, f"{kind} {result.digest} does not match {what} ({expected})", "hash")
    stats.bytes_hashed = sum(r.size for r in results.values())
    report = Report(findings=out.findings, files_scanned=stats.files)
    return report, stats


def _check_repo(
    repo: CachedRepo,
    cache_root: Path | None,
    out: _Collector,
    jobs: dict[Path, HashJob],
    expectations: list[tuple[Path, str, str, str]],
    stats: Stats,
) -> None:
    for rule, path, message, key in repo.problems:
        out.add(rule, path, message, key)
    blobs = repo.blobs
    blobs_norm = os.path.normpath(blobs.absolute())
    shared = os.path.normpath((cache_root / "blobs").absolute()) if cache_root else None
    # Every link is resolved only inside the named cache: a folder or blob that leads elsewhere is a finding,
    # and what lies behind it is never read.
    cache_real = os.path.realpath(cache_root if cache_root is not None else repo.path)
    if blobs.is_dir():
        real_blobs = os.path.realpath(blobs)
        if not inside(real_blobs, cache_real):
            out.add(HF_LINK_ESCAPES, blobs, f"blobs folder resolves to {real_blobs}, outside the cache", "escape")
        else:
            for blob in sorted(blobs.iterdir()):
                _check_blob(blob, shared, cache_real, out, jobs, expectations)
    for ref, content in sorted(repo.refs.items()):
        ref_path = repo.path / "refs" / ref
        if not COMMIT.match(content):
            out.add(HF_BAD_REF, ref_path, f"ref {ref!r} does not hold a 40-hex commit", f"ref:{ref}")
        elif content not in repo.revisions:
            out.add(HF_BAD_REF, ref_path, f"ref {ref!r} points to {content}, which has no snapshot", f"ref:{ref}")
    for commit, revision in sorted(repo.revisions.items()):
        if not COMMIT.match(commit):
            out.add(HF_BAD_REF, revision.snapshot, f"snapshot folder {commit!r} is not named by a commit", "snapshot")
        manifest = _manifest(repo.path / "trees" / f"{commit}.json", out)
        for entry in snapshot_files(revision.snapshot):
            stats.files += 1
            rel = entry.relative_to(revision.snapshot).as_posix()
            listed = manifest.get(rel) if manifest else None
            if too_deep(entry):
                out.add(
                    HF_UNVERIFIABLE, entry, f"folders nested deeper than {MAX_TREE_DEPTH} levels; not examined", "deep"
                )
                continue
            if entry.is_symlink():
                try:
                    target = os.path.normpath(os.path.join(os.path.abspath(entry.parent), os.readlink(entry)))
                except OSError as exc:
                    out.add(HF_UNVERIFIABLE, entry, f"link cannot be read: {exc.strerror or exc}", "odd")
                    continue
                if os.path.dirname(target) != blobs_norm:
                    out.add(HF_LINK_ESCAPES, entry, f"links to {target}, outside {blobs_norm}", "escape")
                    continue
                real = os.path.realpath(entry)
                if not inside(real, cache_real):
                    out.add(
                        HF_LINK_ESCAPES,
                        entry,
                        f"links (through {os.path.basename(target)}) to {real}, outside the cache",
                        "escape",
                    )
                    continue
                if os.path.isdir(target):
                    out.add(HF_LINK_ESCAPES, entry, "links to a folder", "escape")
                    continue
                if not os.path.lexists(target):
                    out.add(HF_DANGLING, entry, f"links to the missing blob {os.path.basename(target)}", "dangling")
                    continue
                if listed is not None:
                    expected = listed.get("lfs_sha256") or listed.get("blob_id")
                    if expected and os.path.basename(target) != expected:
                        out.add(
                            HF_MANIFEST_MISMATCH,
                            entry,
                            f"links to blob {os.path.basename(target)} but trees/{commit}.json lists {expected}",
                            "manifest",
                        )
            elif entry.is_file():
                # Caches written where links are unsupported hold copies: verify them through the manifest.
                if listed is not None and listed.get("lfs_sha256"):
                    _expect(entry, "sha256", str(listed["lfs_sha256"]), HF_MANIFEST_MISMATCH, jobs, expectations)
                elif listed is not None and listed.get("blob_id"):
                    _expect(entry, "git-sha1", str(listed["blob_id"]), HF_MANIFEST_MISMATCH, jobs, expectations)
                else:
                    out.add(HF_UNVERIFIABLE, entry, "is a copy, not a link, and no manifest lists it", "copy")
            else:
                reason = special_file_reason(entry) or "neither a file nor a link"
                out.add(HF_UNVERIFIABLE, entry, f"is {reason}; never opened", "odd")


def _check_blob(
    blob: Path,
    shared: str | None,
    cache_real: str,
    out: _Collector,
    jobs: dict[Path, HashJob],
    expectations: list[tuple[Path, str, str, str]],
) -> None:
    name = blob.name
    if name.endswith(".incomplete"):
        out.add(HF_INCOMPLETE, blob, "interrupted download", "incomplete")
        return
    if blob.is_symlink():
        # huggingface_hub 2.x may link a repo blob into the cache-wide shared store.
        try:
            target = os.path.normpath(os.path.join(os.path.abspath(blob.parent), os.readlink(blob)))
        except OSError as exc:
            out.add(HF_UNVERIFIABLE, blob, f"blob link cannot be read: {exc.strerror or exc}", "odd")
            return
        if shared is None or not (target + os.sep).startswith(shared + os.sep):
            out.add(HF_LINK_ESCAPES, blob, f"blob links to {target}, outside the cache's blob stores", "escape")
            return
        real = os.path.realpath(blob)
        if not inside(real, cache_real):
            out.add(HF_LINK_ESCAPES, blob, f"blob resolves to {real}, outside the cache", "escape")
            return
        if not os.path.lexists(real) or not os.path.exists(blob):
            loop = _is_loop(blob)
            out.add(
                HF_UNVERIFIABLE if loop else HF_DANGLING,
                blob,
                "blob link loops" if loop else "blob links to a missing file in the shared store",
                "loop" if loop else "dangling",
            )
            return
    try:
        mode = os.stat(blob).st_mode
    except OSError as exc:
        out.add(HF_UNVERIFIABLE, blob, f"blob cannot be read: {exc.strerror or exc}", "unreadable")
        return
    if stat.S_ISDIR(mode):
        out.add(HF_UNVERIFIABLE, blob, "blob is a folder", "dir")
        return
    if not stat.S_ISREG(mode):
        out.add(HF_UNVERIFIABLE, blob, f"blob is {special_file_reason(blob)}; never opened", "special")
        return
    kind = blob_kind(name)
    if kind is None:
        out.add(HF_UNVERIFIABLE, blob, "blob name is not a content hash (sha256 or git sha1)", "name")
        return
    _expect(blob, kind, name, HF_BLOB_TAMPERED, jobs, expectations)


def _is_loop(path: Path) -> bool:
    try:
        os.stat(path)
    except OSError as exc:
        return exc.errno == errno.ELOOP
    return False


def _expect(
    path: Path,
    kind: str,
    expected: str,
    rule: str,
    jobs: dict[Path, HashJob],
    expectations: list[tuple[Path, str, str, str]],
) -> None:
    jobs[path] = HashJob(path, kind)
    expectations.append((path, kind, expected, rule))


def _manifest(path: Path, out: _Collector) -> dict[str, dict[str, object]] | None:
    if not os.path.lexists(path):
        return None
    try:
        text = read_text_bounded(path, MAX_MANIFEST_BYTES, source=path.name)
        data = load_json_bounded(text, 16, source=path.name)
        files = data.get("files") if isinstance(data, dict) else None
        if not isinstance(files, dict):
            raise InputError(f"{path.name}: 'files' is not an object")
        return {str(k): v for k, v in files.items() if isinstance(v, dict)}
    except InputError as exc:
        out.add(
            HF_MANIFEST_MISMATCH,
            path,
            f"tree manifest cannot be read: {str(exc).split(': ', 1)[-1]}",
            "manifest-unreadable",
        )
        return None


def _check_local_dir(
    local: LocalDir,
    out: _Collector,
    jobs: dict[Path, HashJob],
    expectations: list[tuple[Path, str, str, str]],
    stats: Stats,
) -> None:
    meta_dir = local.metadata_dir
    if not meta_dir.is_dir():
        return
    local_real = os.path.realpath(local.path)
    for meta in walk_entries(meta_dir):
        if too_deep(meta):
            out.add(HF_UNVERIFIABLE, meta, f"folders nested deeper than {MAX_TREE_DEPTH} levels; not examined", "deep")
            continue
        if meta.name.endswith(".incomplete"):
            out.add(HF_INCOMPLETE, meta, "interrupted download", "incomplete")
            continue
        if not meta.name.endswith(".metadata") or (meta.is_dir() and not meta.is_symlink()):
            continue
        rel = meta.relative_to(meta_dir).as_posix()[: -len(".metadata")]
        target = local.path / rel
        stats.files += 1
        try:
            lines = read_text_bounded(meta, MAX_METADATA_BYTES, source=meta.name).splitlines()
        except InputError as exc:
            out.add(HF_UNVERIFIABLE, meta, f"metadata cannot be read: {str(exc).split(': ', 1)[-1]}", "metadata")
            continue
        etag = lines[1].strip() if len(lines) > 1 else ""
        kind = blob_kind(etag)
        real = os.path.realpath(target)
        if kind is None:
            out.add(HF_UNVERIFIABLE, meta, "metadata holds no content hash", "metadata")
        elif not inside(real, local_real):
            out.add(HF_LINK_ESCAPES, target, f"resolves to {real}, outside the download folder", "escape")
        elif not os.path.lexists(target):
            out.add(HF_DANGLING, target, "recorded in the download metadata but missing", "missing")
        elif not is_regular_file(target):
            reason = special_file_reason(target)
            out.add(HF_UNVERIFIABLE, target, f"is {reason}; never opened", "special")
        else:
            _expect(target, kind, etag, HF_LOCAL_DIR_MISMATCH, jobs, expectations)


def resolve_targets(paths: list[Path]) -> tuple[Targets, list[Path]]:
    """Repos and local_dirs under the given paths; the paths that hold neither are returned apart."""
    from mlwarden.hub.layout import LocalDir, classify_target

    targets = Targets()
    unknown: list[Path] = []
    for path in paths:
        kind = classify_target(path)
        if kind == "cache":
            for repo in repos_in_cache(path):
                targets.repos.append(repo)
                targets.cache_roots[repo.path] = path
        elif kind == "repo":
            targets.repos.append(load_repo(path))
            targets.cache_roots[path] = path.parent
        elif kind == "local_dir":
            targets.local_dirs.append(LocalDir(path))
        else:
            unknown.append(path)
    return targets, unknown
