"""The policy: what the security advisor allows, denies and waives, and where each entry came from."""

from __future__ import annotations

import datetime as dt
import enum
import fnmatch
import re
from dataclasses import dataclass, field
from typing import Any


def canonicalize_name(name: str) -> str:
    """PEP 503 normalisation (what packaging.utils.canonicalize_name does, without importing packaging)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def identity(kind: str, fields: dict[str, Any]) -> str:
    """The value that names an entry on the command line (`allowlist remove KIND IDENT`)."""
    from mlwarden.policy.kinds import TABLE  # read only where entries are named, not on every hook run

    return TABLE[kind].ident(fields)


@dataclass(frozen=True)
class Origin:
    """The file and line an entry was read from ("<default>" for the shipped policy)."""

    file: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass(frozen=True)
class Entry:
    """One [[kind]] table. ``fields`` holds the kind-specific keys, already validated."""

    kind: str
    fields: dict[str, Any]
    reason: str
    owner: str
    added: dt.date
    expires: dt.date
    origin: Origin

    def get(self, key: str, default: Any = None) -> Any:
        return self.fields.get(key, default)

    @property
    def key(self) -> str:
        """What identifies the entry to a person (and to `allowlist remove`)."""
        from mlwarden.policy.kinds import TABLE

        return TABLE[self.kind].label(self.fields)


class Status(str, enum.Enum):
    """Where an entry is in its life: the one place expiry and grace are decided."""

    ACTIVE = "active"
    EXPIRING = "expiring"  # within warn_days of its expiry date
    GRACE = "grace"  # expired, still applied for grace_days
    EXPIRED = "expired"  # past the grace period: no longer applied

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Settings:
    grace_days: int = 14
    warn_days: int = 30
    require_hashes: bool = False
    allow_extra_index_url: bool = False
    hf_require_commit_pin: bool = True
    max_file_mb: int = 50
    allowed_data_extensions: tuple[str, ...] = ()
    cooldown_days: int = 0  # no dependency version uploaded fewer days ago (0: off); see deps/cooldown.py


@dataclass(frozen=True)
class Policy:
    settings: Settings = field(default_factory=Settings)
    entries: tuple[Entry, ...] = ()
    files: tuple[str, ...] = ()

    def of_kind(self, kind: str) -> list[Entry]:
        return [e for e in self.entries if e.kind == kind]

    # -- expiry ------------------------------------------------------------------------------------
    def status(self, entry: Entry, today: dt.date | None = None) -> Status:
        today = today or dt.date.today()
        if entry.expires < today:
            return Status.GRACE if today <= self.grace_end(entry) else Status.EXPIRED
        if entry.expires <= today + dt.timedelta(days=self.settings.warn_days):
            return Status.EXPIRING
        return Status.ACTIVE

    def grace_end(self, entry: Entry) -> dt.date:
        return entry.expires + dt.timedelta(days=self.settings.grace_days)

    def expiry(self, today: dt.date | None = None) -> list[tuple[Entry, Status]]:
        """The policy files' entries that are not simply active (the shipped default never expires)."""
        statuses = ((entry, self.status(entry, today)) for entry in self.entries if entry.origin.file != "<default>")
        return [(entry, status) for entry, status in statuses if status is not Status.ACTIVE]

    def in_force(self, entry: Entry, today: dt.date | None = None) -> bool:
        return self.status(entry, today) is not Status.EXPIRED

    def live(self, kind: str, today: dt.date | None = None) -> list[Entry]:
        return [e for e in self.of_kind(kind) if self.in_force(e, today)]

    # -- pickle globals ------------------------------------------------------------------------------
    def extra_safe_globals(self, today: dt.date | None = None) -> frozenset[str]:
        names: set[str] = set()
        for entry in self.live("pickle", today):
            names.update(entry.fields["globals"])
        return frozenset(names)

    # -- waivers ------------------------------------------------------------------------------------------
    def waiver_for(self, rule: str, path: str, *, member: str | None = None,
                   today: dt.date | None = None) -> Entry | None:
        """The exception that waives ``rule`` at ``path`` (a POSIX path relative to the repository)."""
        for entry in self.live("exception", today):
            if entry.get("rule") != rule:
                continue
            pattern = entry.get("path", "*")
            if path_matches(path, pattern) or (member and path_matches(f"{path}!{member}", pattern)):
                return entry
        return None

    def vulnerability_waiver(self, ids: set[str], today: dt.date | None = None) -> Entry | None:
        wanted = {i.upper() for i in ids}
        for entry in self.live("exception", today):
            vuln = entry.get("vulnerability")
            if vuln and vuln.upper() in wanted:
                return entry
        return None

    # -- packages -----------------------------------------------------------------------------------------
    def package_decision(self, name: str, version: str | None,
                         today: dt.date | None = None) -> tuple[str, Entry | None]:
        """("denied" | "allowed" | "not-allowed" | "unlisted", deciding entry). Deny beats allow."""
        canonical = canonicalize_name(name)
        matching = [e for e in self.live("package", today) if canonicalize_name(e.fields["name"]) == canonical]
        for entry in matching:
            if entry.get("action") == "deny" and _version_in(version, entry.get("versions")):
                return "denied", entry
        allows = [e for e in matching if e.get("action", "allow") == "allow"]
        for entry in sorted(allows, key=lambda e: 0 if e.get("versions") else 1):  # most specific first
            if _version_in(version, entry.get("versions")):
                return "allowed", entry
        if allows:
            return "not-allowed", allows[0]
        return "unlisted", None


def _version_in(version: str | None, versions: str | None) -> bool:
    if not versions:
        return True
    if version is None:
        return True  # an unpinned requirement may resolve into the range
    from packaging.specifiers import SpecifierSet

    return SpecifierSet(versions).contains(version, prereleases=True)


def path_matches(path: str, pattern: str) -> bool:
    path = path.replace("\\", "/").removeprefix("./")
    if fnmatch.fnmatchcase(path, pattern):
        return True
    # "dir/**" also matches files directly in dir; "**/x" also matches x at the top.
    regex = re.escape(pattern).replace(r"\*\*/", "(?:.*/)?").replace(r"\*\*", ".*").replace(r"\*", "[^/]*")
    regex = regex.replace(r"\?", "[^/]")
    return re.fullmatch(regex, path) is not None
