"""The Finding model every checker returns and every output format renders."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from mlwarden.redact import redact


class Severity(enum.IntEnum):
    """Ordered severities; comparisons use the integer order."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(s.label for s in cls)
            raise ValueError(f"unknown severity {text!r} (expected one of: {names})") from None


@dataclass(frozen=True, order=True)
class Location:
    """Where a finding is: a file, optionally a line and a path inside a container."""

    path: str
    line: int | None = None  # in the member when there is one (a notebook cell: the line inside the cell)
    member: str | None = None
    file_line: int | None = None  # the line in the file itself, when ``line`` is inside a member (SARIF)

    def __str__(self) -> str:
        text = self.path
        if self.member:
            text += f"!{self.member}"
        if self.line is not None:
            text += f":{self.line}"
        return text


@dataclass(frozen=True)
class Finding:
    """One problem. ``key`` is the stable identity of the problem inside its file (no line numbers)."""

    rule: str
    severity: Severity
    location: Location
    message: str
    key: str = ""
    evidence: str = ""
    remediation: str = ""
    advisories: tuple[str, ...] = ()  # vulnerability ids and aliases, for `vulnerability =` waivers

    def __post_init__(self) -> None:
        # The last gate before every output: a value quoted from any input (a manifest, a lock file, a cache
        # manifest) never carries a credential, whichever reader forgot to redact it (issue #15).
        for name in ("message", "evidence", "key"):
            value = getattr(self, name)
            if value:
                object.__setattr__(self, name, redact(value))

    @property
    def fingerprint(self) -> str:
        """Stable across runs and line moves: rule, path, member and key."""
        import hashlib

        raw = "\x1f".join((self.rule, self.location.path, self.location.member or "", self.key or self.message))
        return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:32]

    def sort_key(self) -> tuple[str, str, int, str, int, str]:
        loc = self.location
        return (loc.path, loc.member or "", loc.line or 0, self.rule, -int(self.severity), self.message)


@dataclass(frozen=True)
class ScanError:
    """A file that could not be examined at all (exit code 2 unless findings already fail the run)."""

    path: str
    message: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "message", redact(self.message))  # the quoted input may hold a credential


@dataclass
class Report:
    """What one command found, and what it covered: findings, errors (what could not be checked, and why),
    files examined per check, files skipped per reason, what was waived, suppressed or deselected."""

    findings: list[Finding] = field(default_factory=list)
    errors: list[ScanError] = field(default_factory=list)
    files_scanned: int = 0
    waived: list[Finding] = field(default_factory=list)
    inventory: dict[str, Any] = field(default_factory=dict)  # what a command found besides findings
    checks: dict[str, int] = field(default_factory=dict)  # check name -> files it examined
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> files not examined on purpose
    notes: list[str] = field(default_factory=list)  # what was not covered, that is not an error
    suppressed: list[Finding] = field(default_factory=list)  # silenced inline (a noqa comment naming the rule)
    deselected: int = 0  # findings removed by --select/--ignore or per-path ignores
    files_seen: int = 0

    def add(self, name: str, outcome: Any) -> None:
        """Merge one check's Outcome (pipeline.Outcome). ``files_scanned`` (distinct files) is set by the
        pipeline, since one file may go to several checks."""
        self.findings.extend(outcome.findings)
        self.waived.extend(outcome.waived)
        self.suppressed.extend(getattr(outcome, "suppressed", ()))
        self.errors.extend(outcome.errors)
        self.notes.extend(outcome.notes)
        self.inventory.update(outcome.inventory)
        self.checks[name] = self.checks.get(name, 0) + outcome.files

    def extend(self, other: Report) -> None:
        self.findings.extend(other.findings)
        self.errors.extend(other.errors)
        self.files_scanned += other.files_scanned
        self.waived.extend(other.waived)
        self.inventory.update(other.inventory)
        for name, count in other.checks.items():
            self.checks[name] = self.checks.get(name, 0) + count
        self.notes.extend(other.notes)

    def sorted_findings(self) -> list[Finding]:
        unique: dict[tuple[str, ...], Finding] = {}
        for finding in self.findings:
            loc = finding.location
            ident = (finding.rule, loc.path, loc.member or "", str(loc.line), finding.key, finding.message)
            unique.setdefault(ident, finding)
        return sorted(unique.values(), key=Finding.sort_key)

    def worst(self) -> Severity | None:
        return max((f.severity for f in self.findings), default=None)
