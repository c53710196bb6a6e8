"""`hf scan`: every file of every cached revision through the model scanner, remote code, and the policy."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlwarden.config import Budgets
from mlwarden.errors import InputError
from mlwarden.findings import Finding, Location, Report, Severity
from mlwarden.hub.hashing import HashJob, hash_files
from mlwarden.hub.layout import MAX_TREE_DEPTH, CachedRepo, LocalDir, inside, snapshot_files, walk_entries
from mlwarden.hub.policy import hf_entry, revision_allowed
from mlwarden.hub.verify import Targets
from mlwarden.paths import display_path
from mlwarden.policy.model import Entry, Policy
from mlwarden.rules import (
    HF_DANGLING,
    HF_EXPECTED_HASH,
    HF_FORMAT_NOT_ALLOWED,
    HF_LINK_ESCAPES,
    HF_REMOTE_CODE,
    HF_REPO_NOT_ALLOWED,
    HF_REVISION_NOT_ALLOWED,
    HF_UNVERIFIABLE,
    make_finding,
)
from mlwarden.safeload import load_json_bounded, read_text_bounded, special_file_reason

MAX_CONFIG_BYTES = 16 * 1024 * 1024
MAX_METADATA_BYTES = 64 * 1024

_REMOTE_CODE_CONFIGS = (
    "config.json",
    "tokenizer_config.json",
    "preprocessor_config.json",
    "processor_config.json",
    "feature_extractor_config.json",
    "image_processor_config.json",
)


@dataclass
class _Revision:
    repo_id: str
    repo_type: str
    commit: str | None
    refs: list[str]
    root: Path  # snapshot folder or local_dir
    files: list[Path] = field(default_factory=list)
    container: str = ""  # resolved folder every link must stay inside: the named cache, or the local_dir


def scan_hf(targets: Targets, root: Path, policy: Policy, budgets: Budgets, *, layout_findings: bool = True) -> Report:
    """Scan every file of every revision. Files that are never opened (special files, links leaving the cache)
    are findings when ``layout_findings`` (pass False when `hf verify` runs in the same report: it reports them
    too)."""
    from mlwarden.models.scanner import is_model_candidate, scan_model_file

    report = Report()
    revisions = _revisions(targets)
    if layout_findings:
        for repo in targets.repos:
            report.findings += [
                _finding(rule, display_path(path, root), message, key) for rule, path, message, key in repo.problems
            ]
    inventory: list[dict[str, Any]] = []
    scanned: dict[str, list[Finding]] = {}
    extra_safe = policy.extra_safe_globals()
    for rev in revisions:
        findings: list[Finding] = []
        entry = hf_entry(policy, rev.repo_id, rev.repo_type)
        for path in rev.files:
            display = display_path(path, root)
            real = os.path.realpath(path)
            unread = _unreadable(real, rev.container)
            if unread is not None:
                if layout_findings:
                    findings.append(_finding(unread[0], display, unread[1], unread[2]))
                continue
            report.files_scanned += 1
            if real not in scanned:
                scanned[real] = []
                if is_model_candidate(Path(real)):
                    result, _ = scan_model_file(Path(real), display, budgets=budgets, extra_safe=extra_safe)
                    scanned[real] = result.findings
                    if result.error:
                        report.errors.append(result.error)
            findings += [_relocate(f, display) for f in scanned[real]]
            findings += _code_findings(path, display, policy, entry, rev)
        findings += _remote_code_configs(rev, root, entry)
        findings += _policy_findings(rev, root, policy, entry)
        report.findings.extend(findings)
        worst = max((f.severity for f in findings), default=None)
        inventory.append(
            {
                "repo_id": rev.repo_id,
                "repo_type": rev.repo_type,
                "commit": rev.commit,
                "refs": rev.refs,
                "path": display_path(rev.root, root),
                "files": len(rev.files),
                "verdict": worst.label if worst is not None else "clean",
                "allowed_by": str(entry.origin) if entry else None,
            }
        )
    _add_cache_facts(targets, inventory)
    report.inventory["hf"] = inventory
    return report


def _add_cache_facts(targets: Targets, inventory: list[dict[str, Any]]) -> None:
    """Sizes and access times from huggingface_hub's own cache scan, where it is installed and the cache is
    sound enough for it; the verdicts above never depend on it (it neither hashes nor checks links)."""
    try:
        from huggingface_hub import scan_cache_dir
    except ImportError:
        return
    facts: dict[tuple[str, str | None], dict[str, Any]] = {}
    for root in sorted(set(targets.cache_roots.values())):
        if _holds_special_files(root):
            continue  # scan_cache_dir opens every ref: a FIFO there would hang the run (our checks report it)
        try:
            info = scan_cache_dir(root)
        except Exception:  # noqa: BLE001, S112 - a cache it cannot read is already reported by our checks
            continue
        for repo in info.repos:
            for revision in repo.revisions:
                facts[(repo.repo_id, revision.commit_hash)] = {
                    "size_on_disk": revision.size_on_disk,
                    "last_modified": int(revision.last_modified),
                }
    for item in inventory:
        item.update(facts.get((item["repo_id"], item["commit"]), {}))


def _holds_special_files(root: str | os.PathLike[str], limit: int = 200_000) -> bool:
    """Whether anything under ``root`` is, or links to, a FIFO, device or socket (or the tree is too large or
    too deep to tell): huggingface_hub's own scan would open it. stat only, nothing is opened; an explicit
    stack, because os.walk recurses (1,200 nested folders raised RecursionError)."""
    seen = 0
    stack: list[tuple[str, int]] = [(os.fspath(root), 0)]
    while stack:
        folder, depth = stack.pop()
        if depth > MAX_TREE_DEPTH:
            return True
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue  # our own checks report what cannot be read
        for entry in entries:
            seen += 1
            if seen > limit:
                return True
            try:
                mode = os.stat(entry.path).st_mode  # follows links: a link to a FIFO is as bad as a FIFO
            except OSError:
                continue
            if stat.S_ISDIR(mode):
                if not entry.is_symlink():
                    stack.append((entry.path, depth + 1))
            elif not stat.S_ISREG(mode):
                return True
    return False


def _unreadable(real: str, container: str) -> tuple[str, str, str] | None:
    """(rule, message, key) for a file that must not be opened: it leads outside the cache (or local_dir),
    it is missing, it is a FIFO/device/socket (opening a FIFO would hang the scan), or it is a folder the walk
    did not enter because the tree is too deep."""
    if not inside(real, container):
        return HF_LINK_ESCAPES, f"resolves to {real}, outside the cache; not scanned", "escape"
    if not os.path.lexists(real):
        return HF_DANGLING, "link to a missing file; not scanned", "dangling"
    if os.path.isdir(real):
        return (
            HF_UNVERIFIABLE,
            f"folders nested deeper than {MAX_TREE_DEPTH} levels (or a link to a folder); not scanned",
            "deep",
        )
    reason = special_file_reason(real)
    if reason is not None:
        return HF_UNVERIFIABLE, f"is {reason}; never opened", "special"
    return None


def _revisions(targets: Targets) -> list[_Revision]:
    out: list[_Revision] = []
    for repo in targets.repos:
        cache = targets.cache_roots.get(repo.path, repo.path)
        out += _repo_revisions(repo, os.path.realpath(cache))
    for local in targets.local_dirs:
        out.append(_local_revision(local))
    return out


def _repo_revisions(repo: CachedRepo, container: str) -> list[_Revision]:
    revisions = []
    for commit, rev in sorted(repo.revisions.items()):
        item = _Revision(repo.repo_id, repo.repo_type, commit, list(rev.refs), rev.snapshot, container=container)
        item.files = snapshot_files(rev.snapshot)
        revisions.append(item)
    return revisions


def _local_revision(local: LocalDir) -> _Revision:
    commit = None
    meta_dir = local.metadata_dir
    if meta_dir.is_dir():
        for meta in (m for m in walk_entries(meta_dir) if m.name.endswith(".metadata")):
            try:  # bounded, and a FIFO named *.metadata is refused (hf verify reports it)
                first = read_text_bounded(meta, MAX_METADATA_BYTES, source=meta.name).splitlines()[0].strip()
            except (InputError, IndexError):
                continue
            commit = first or commit
            break
    files = walk_entries(local.path, skip=(".cache",))
    item = _Revision(
        local.path.name, "model", commit, [], local.path, sorted(files), container=os.path.realpath(local.path)
    )
    return item


def _relocate(finding: Finding, display: str) -> Finding:
    loc = finding.location
    return Finding(
        finding.rule,
        finding.severity,
        Location(display, loc.line, loc.member),
        finding.message,
        finding.key,
        finding.evidence,
        finding.remediation,
    )


def _finding(rule_id: str, path: str, message: str, key: str, severity: Severity | None = None) -> Finding:
    return make_finding(rule_id, Location(path), message, key, severity=severity)


def _trusts_remote_code(entry: Entry | None) -> bool:
    return entry is not None and entry.get("trust_remote_code") is True


def _code_findings(path: Path, display: str, policy: Policy, entry: Entry | None, rev: _Revision) -> list[Finding]:
    if path.suffix != ".py":
        return []
    from mlwarden.code.scanner import check_code_file

    findings, _ = check_code_file(path, display, policy)
    if not _trusts_remote_code(entry):
        findings.append(
            _finding(
                HF_REMOTE_CODE,
                display,
                f"Python file in {rev.repo_id}: transformers imports it under trust_remote_code=True",
                "py",
            )
        )
    return findings


def _remote_code_configs(rev: _Revision, root: Path, entry: Entry | None) -> list[Finding]:
    if _trusts_remote_code(entry):
        return []
    findings = []
    for name in _REMOTE_CODE_CONFIGS:
        path = rev.root / name
        if not os.path.lexists(path) or _unreadable(os.path.realpath(path), rev.container) is not None:
            continue  # reported with the file itself
        try:
            data = load_json_bounded(read_text_bounded(path, MAX_CONFIG_BYTES, source=name), source=name)
        except InputError as exc:
            findings.append(
                _finding(
                    HF_UNVERIFIABLE,
                    display_path(path, root),
                    f"cannot be read, so remote code cannot be ruled out: {str(exc).split(': ', 1)[-1]}",
                    "config",
                )
            )
            continue
        if not isinstance(data, dict):
            continue
        for key in ("auto_map", "custom_pipelines"):
            value = data.get(key)
            if value:
                refs = sorted({str(v) for v in (value.values() if isinstance(value, dict) else [value])})[:4]
                foreign = [r for r in refs if "--" in r]
                text = f"{name} has {key} ({', '.join(refs)})"
                if foreign:
                    text += "; code from another repository: " + ", ".join(foreign)
                findings.append(_finding(HF_REMOTE_CODE, display_path(path, root), text, key))
    return findings


def _policy_findings(rev: _Revision, root: Path, policy: Policy, entry: Entry | None) -> list[Finding]:
    where = display_path(rev.root, root)
    if not policy.of_kind("hf"):
        return []
    if entry is None:
        return [
            _finding(
                HF_REPO_NOT_ALLOWED,
                where,
                f"{rev.repo_type} {rev.repo_id} is not allowed by any [[hf]] entry",
                f"repo:{rev.repo_id}",
            )
        ]
    findings = []
    if not revision_allowed(entry, rev.commit):
        findings.append(
            _finding(
                HF_REVISION_NOT_ALLOWED,
                where,
                f"{rev.repo_id} revision {rev.commit or '(unknown)'} is not among "
                f"the commits [[hf]] {entry.key} approves ({entry.origin})",
                f"rev:{rev.commit}",
            )
        )
    formats = entry.get("allow_formats")
    if formats:
        allowed = {str(f).lower().lstrip(".") for f in formats}
        for path in rev.files:
            fmt = path.suffix.lower().lstrip(".") or path.name.lower()
            if fmt not in allowed and not path.name.startswith("."):
                findings.append(
                    _finding(
                        HF_FORMAT_NOT_ALLOWED,
                        display_path(path, root),
                        f"format {fmt!r} is not in allow_formats of [[hf]] {entry.key}",
                        f"fmt:{path.name}",
                    )
                )
    expected = entry.get("expected_files") or {}
    if expected:
        # The policy may come from the repository under scan: a path that leaves the revision is not hashed.
        expected = {
            rel: digest for rel, digest in expected.items() if inside(os.path.realpath(rev.root / rel), rev.container)
        }
        jobs = {rev.root / rel: HashJob(rev.root / rel, "sha256") for rel in expected}
        results = hash_files([j for j in jobs.values() if j.path.exists()], progress=False)
        for rel, digest in sorted(expected.items()):
            path = rev.root / rel
            result = results.get(path)
            want = str(digest).split(":", 1)[-1]
            if result is None:
                findings.append(
                    _finding(
                        HF_EXPECTED_HASH,
                        display_path(path, root),
                        f"{rel} is missing; [[hf]] {entry.key} expects it",
                        f"exp:{rel}",
                        Severity.MEDIUM,
                    )
                )
            elif result.digest != want:
                findings.append(
                    _finding(
                        HF_EXPECTED_HASH,
                        display_path(path, root),
                        f"sha256 {result.digest} differs from the expected {want}",
                        f"exp:{rel}",
                    )
                )
    return findings
