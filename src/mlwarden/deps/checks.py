"""Offline dependency checks against the policy: pinning, hashes, sources, VCS commits, dependency confusion,
denied packages, typosquats."""

from __future__ import annotations

import fnmatch
import re

from mlwarden.deps.formats import safe_urlsplit
from mlwarden.deps.model import DEFAULT_CONDA_CHANNELS, PYPI_SIMPLE, Manifest, Pin, Source
from mlwarden.findings import Finding, Location, Severity
from mlwarden.policy.model import Entry, Policy, canonicalize_name
from mlwarden.rules import (
    DEP_CONFUSION,
    DEP_DENIED,
    DEP_MISSING_HASH,
    DEP_SOURCE_NOT_ALLOWED,
    DEP_TYPOSQUAT,
    DEP_UNPINNED,
    DEP_VCS_UNPINNED,
    make_finding,
)

_PYPI_HOSTS = ("pypi.org", "pypi.python.org", "files.pythonhosted.org")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
# Files that declare ranges (their lock carries the hashes) or hold no download to hash.
_DECLARATIONS = ("pyproject", "setup.cfg", "Pipfile", "conda", "wheel", "installed")
_UNSAFE_UV_STRATEGIES = ("unsafe-first-match", "unsafe-best-match")


def _finding(rule_id: str, file: str, line: int | None, message: str, key: str,
             severity: Severity | None = None) -> Finding:
    return make_finding(rule_id, Location(file, line=line), message, key, severity=severity)


def normalise_url(url: str) -> str:
    parts = safe_urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:  # a port that is not a number: compare the URL as written, never crash on it
        return url.strip().lower().rstrip("/")
    if port:
        host += f":{port}"
    return f"{parts.scheme.lower()}://{host}{parts.path.rstrip('/')}"


def _is_pypi(url: str) -> bool:
    return (safe_urlsplit(url).hostname or "").lower() in _PYPI_HOSTS


class SourceRules:
    """The policy's [[index]], [[vcs]] and [[url]] entries, ready for matching."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.indexes = [e for e in policy.live("index") if e.get("kind", "pypi-simple") == "pypi-simple"]
        self.find_links = [e for e in policy.live("index") if e.get("kind") == "find-links"]
        self.channels = [e for e in policy.live("index") if e.get("kind") == "conda-channel"]
        self.vcs = policy.live("vcs")
        self.urls = policy.live("url")

    def index_entry(self, url: str, entries: list[Entry] | None = None) -> Entry | None:
        wanted = normalise_url(url)
        for entry in self.indexes if entries is None else entries:
            if wanted == normalise_url(str(entry.get("url"))):
                return entry
        return None

    def index_allowed(self, url: str) -> bool:
        if not self.indexes:
            return _is_pypi(url)
        return self.index_entry(url) is not None

    def find_links_allowed(self, url: str) -> bool:
        return self.index_entry(url, self.find_links) is not None

    def channel_allowed(self, channel: str) -> bool:
        if not self.channels:
            return channel in DEFAULT_CONDA_CHANNELS
        wanted = channel.rstrip("/")
        return any(str(e.get("url")).rstrip("/") == wanted for e in self.channels)

    def vcs_entry(self, url: str) -> Entry | None:
        parts = safe_urlsplit(url if "://" in url else "ssh://" + url.replace(":", "/", 1))
        host = (parts.hostname or "").lower()
        path = parts.path.strip("/").removesuffix(".git")
        for entry in self.vcs:
            if str(entry.get("host")).lower() != host:
                continue
            orgs = entry.get("orgs") or ["*"]
            if any(fnmatch.fnmatchcase(path, org) or fnmatch.fnmatchcase(path.split("/")[0], org) for org in orgs):
                return entry
        return None

    def url_entry(self, url: str) -> Entry | None:
        for entry in self.urls:
            if fnmatch.fnmatchcase(url, str(entry.get("pattern"))):
                return entry
        return None

    def exclusive_index_for(self, name: str) -> Entry | None:
        canonical = canonicalize_name(name)
        for entry in self.indexes:
            if entry.get("exclusive") and any(fnmatch.fnmatchcase(canonical, canonicalize_name(g).replace("-", "-"))
                                              or fnmatch.fnmatchcase(canonical, g) for g in entry.get("scope", [])):
                return entry
        return None


def check_manifest(manifest: Manifest, policy: Policy, *, typosquats: bool = True,
                   fatal_as_findings: bool = True) -> list[Finding]:
    """Findings of one manifest. Fatal problems (the file could not be read fully) are findings too unless
    the caller reports them as errors (``run.manifest_errors``)."""
    rules = SourceRules(policy)
    findings = [_finding(p.rule, p.file, p.line, p.message, f"problem:{p.message}") for p in manifest.problems
                if fatal_as_findings or not p.fatal]
    findings += _file_sources(manifest, rules, policy)
    for pin in manifest.pins:
        findings += _pin_findings(pin, manifest, rules, policy, typosquats)
    return findings


def _file_sources(manifest: Manifest, rules: SourceRules, policy: Policy) -> list[Finding]:
    out: list[Finding] = []
    for url, line in manifest.indexes + manifest.extra_indexes:
        if not rules.index_allowed(url):
            out.append(
                _finding(
                    DEP_SOURCE_NOT_ALLOWED,
                    manifest.file,
                    line,
                    f"index {url} is not allowed by any [[index]] entry",
                    f"index:{normalise_url(url)}",
                )
            )
    if manifest.extra_indexes and not policy.settings.allow_extra_index_url:
        url, line = manifest.extra_indexes[0]
        out.append(
            _finding(
                DEP_CONFUSION,
                manifest.file,
                line,
                f"extra index {url} is merged with the main index: any "
                "name can resolve from either (dependency confusion)",
                "extra-index",
            )
        )
    for url, line in manifest.find_links:
        if not rules.find_links_allowed(url):
            out.append(
                _finding(
                    DEP_SOURCE_NOT_ALLOWED,
                    manifest.file,
                    line,
                    f'find-links {url} is not allowed by any [[index]] entry (kind = "find-links")',
                    f"find-links:{url}",
                )
            )
    for channel, line in manifest.channels:
        if not rules.channel_allowed(channel):
            out.append(
                _finding(
                    DEP_SOURCE_NOT_ALLOWED,
                    manifest.file,
                    line,
                    f"conda channel {channel} is not allowed",
                    f"channel:{channel}",
                )
            )
    if manifest.index_strategy and manifest.index_strategy[0] in _UNSAFE_UV_STRATEGIES:
        strategy, line = manifest.index_strategy
        out.append(
            _finding(
                DEP_CONFUSION,
                manifest.file,
                line,
                f"uv index-strategy {strategy!r} lets any index serve any name (dependency confusion); use first-index",
                "uv-strategy",
            )
        )
    return out


def _pin_findings(pin: Pin, manifest: Manifest, rules: SourceRules, policy: Policy, typosquats: bool) -> list[Finding]:
    out: list[Finding] = []
    where = (pin.file, pin.line)
    source = pin.source
    name = canonicalize_name(pin.name)
    if source is not None:
        out += _source_findings(pin, source, rules, policy)
    elif manifest.kind in ("requirements", "conda") and pin.version is None:
        out.append(
            _finding(
                DEP_UNPINNED,
                *where,
                f"{pin.name}{pin.specifier or ''} is not pinned to one version",
                f"unpinned:{name}",
            )
        )
    if (
        policy.settings.require_hashes
        and manifest.kind not in _DECLARATIONS
        and not pin.hashes
        and (source is None or source.kind in ("index", "url"))
    ):
        out.append(
            _finding(DEP_MISSING_HASH, *where, f"{pin.name} has no hash (the policy requires hashes)", f"nohash:{name}")
        )
    if pin.ecosystem == "PyPI":
        decision, entry = policy.package_decision(pin.name, pin.version)
        if decision == "denied" and entry is not None:
            out.append(
                _finding(
                    DEP_DENIED,
                    *where,
                    f"{pin.name} {pin.version or pin.specifier or ''} is denied by "
                    f"[[package]] {entry.key} ({entry.origin}): {entry.reason}",
                    f"denied:{name}",
                )
            )
        elif decision == "not-allowed" and entry is not None:
            out.append(
                _finding(
                    DEP_DENIED,
                    *where,
                    f"{pin.name} {pin.version} is outside the versions [[package]] {entry.key} allows ({entry.origin})",
                    f"denied:{name}",
                )
            )
        allowed_by = entry if decision == "allowed" else None
        if allowed_by is not None and allowed_by.get("index") and source is not None and source.kind == "index":
            index = next((e for e in rules.indexes if e.get("id") == allowed_by.get("index")), None)
            if index is not None and normalise_url(str(index.get("url"))) != normalise_url(source.url):
                out.append(
                    _finding(
                        DEP_SOURCE_NOT_ALLOWED,
                        *where,
                        f"{pin.name} must come from index {index.get('id')}, not {source.url}",
                        f"pkg-index:{name}",
                    )
                )
        exclusive = rules.exclusive_index_for(pin.name)
        if exclusive is not None:
            out += _confusion(pin, manifest, exclusive)
        if typosquats and decision != "allowed" and exclusive is None:
            from mlwarden.deps.typosquat import typosquat_target

            match = typosquat_target(pin.name)
            if match is not None:
                out.append(_finding(DEP_TYPOSQUAT, *where, match.describe(), f"typo:{name}", severity=match.severity))
    return out


def _source_findings(pin: Pin, source: Source, rules: SourceRules, policy: Policy) -> list[Finding]:
    where = (pin.file, pin.line)
    name = canonicalize_name(pin.name)
    if source.kind == "vcs":
        entry = rules.vcs_entry(source.url)
        out = []
        if entry is None:
            out.append(
                _finding(
                    DEP_SOURCE_NOT_ALLOWED,
                    *where,
                    f"{pin.name} comes from {source.url}, which no [[vcs]] entry allows",
                    f"vcs:{name}",
                )
            )
        require_commit = entry.get("require_commit", True) if entry is not None else True
        commit = source.commit or (source.ref if source.ref and _COMMIT.match(source.ref) else None)
        if require_commit and not (source.ref and _COMMIT.match(source.ref)):
            what = f"@{source.ref}" if source.ref else "without a ref"
            locked = f" (the lock file records {commit})" if commit else ""
            out.append(
                _finding(
                    DEP_VCS_UNPINNED,
                    *where,
                    f"{pin.name} from {source.url} {what}: pin a 40-hex commit{locked}",
                    f"vcsref:{name}",
                    Severity.MEDIUM if commit else None,
                )
            )
        return out
    if source.kind == "url":
        entry = rules.url_entry(source.url)
        out = []
        if entry is None:
            out.append(
                _finding(
                    DEP_SOURCE_NOT_ALLOWED,
                    *where,
                    f"{pin.name} is downloaded from {source.url}, which no [[url]] entry allows",
                    f"url:{name}",
                )
            )
        if (entry is None or entry.get("require_hash", True)) and not pin.hashes and "sha256=" not in source.url:
            out.append(
                _finding(DEP_MISSING_HASH, *where, f"{pin.name} is a direct URL without a hash", f"urlhash:{name}")
            )
        return out
    if source.kind == "index" and not rules.index_allowed(source.url):
        return [
            _finding(
                DEP_SOURCE_NOT_ALLOWED,
                *where,
                f"{pin.name} is locked from index {source.url}, which no [[index]] entry allows",
                f"lockindex:{name}",
            )
        ]
    if source.kind == "conda-channel" and not rules.channel_allowed(source.url):
        return [
            _finding(
                DEP_SOURCE_NOT_ALLOWED,
                *where,
                f"{pin.name} comes from conda channel {source.url}, which is not allowed",
                f"channel:{name}",
            )
        ]
    return []


def _confusion(pin: Pin, manifest: Manifest, exclusive: Entry) -> list[Finding]:
    url = normalise_url(str(exclusive.get("url")))
    where = (pin.file, pin.line)
    if pin.source is not None and pin.source.kind == "index":
        if normalise_url(pin.source.url) != url:
            return [
                _finding(
                    DEP_CONFUSION,
                    *where,
                    f"internal package {pin.name} is locked from {pin.source.url}, not "
                    f"its exclusive index {exclusive.get('id')}",
                    f"confusion:{pin.name}",
                    Severity.CRITICAL,
                )
            ]
        return []
    declared = [normalise_url(u) for u, _ in manifest.indexes + manifest.extra_indexes]
    others = [u for u in declared if u != url] or ([] if declared else [PYPI_SIMPLE])
    if others:
        return [
            _finding(
                DEP_CONFUSION,
                *where,
                f"internal package {pin.name} can resolve from {others[0]}; it must come "
                f"only from {exclusive.get('id')}",
                f"confusion:{pin.name}",
            )
        ]
    return []
