"""The one pipeline every checking command runs.

    targets (discover) → checks (each: wants + check → Outcome) → Report → conclude (policy) → emit

A check is a module with a ``CHECK`` object: ``wants(path)`` says which files it looks at (from what the
file is, never from which command runs), ``check(files, run)`` returns an :class:`Outcome`: findings, the
files it examined and those it could not (errors with the reason). ``scan``, every subcommand and every hook
are this pipeline with a different selection of checks; :func:`conclude` is the one place that applies
severity overrides, rule selection, inline suppressions, the policy's waivers and its expiry.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from mlwarden.findings import Finding, Location, Report, ScanError
from mlwarden.rules import POLICY_ENTRY_EXPIRED, POLICY_ENTRY_EXPIRING

if TYPE_CHECKING:
    from mlwarden.config import Config
    from mlwarden.discover import Targets
    from mlwarden.policy import Entry, Policy


@dataclass(frozen=True)
class Run:
    """What every check needs besides its files; built once per command."""

    root: Path  # the repository: configuration, policy, baselines
    config: Config
    policy: Policy
    today: dt.date = field(default_factory=dt.date.today)
    content_root: Path | None = None  # where the judged files are (--staged: a copy of the index)
    policy_errors: tuple[ScanError, ...] = ()  # policy files not applied (invalid): errors of the report

    @property
    def base(self) -> Path:
        return self.content_root or self.root

    def display(self, path: Path) -> str:
        from mlwarden.paths import display_path

        return display_path(path, self.base)


@dataclass
class Outcome:
    """What one check made of its files."""

    findings: list[Finding] = field(default_factory=list)
    waived: list[Finding] = field(default_factory=list)  # only a check's own baseline (detect-secrets)
    suppressed: list[Finding] = field(default_factory=list)  # silenced inside members (notebook cells, tags)
    errors: list[ScanError] = field(default_factory=list)  # files it could not check, and why
    files: int = 0  # files it examined
    notes: list[str] = field(default_factory=list)  # what it did not cover that is not an error
    inventory: dict[str, Any] = field(default_factory=dict)


class Check(Protocol):
    name: str

    def wants(self, path: Path) -> bool: ...

    def check(self, files: Sequence[Path], run: Run) -> Outcome: ...


# Imported on use, like the CLI's subcommands: a hook pays only for the check it runs.
CHECKS: dict[str, str] = {
    "models": "mlwarden.models.check",
    "code": "mlwarden.code.check",
    "deps": "mlwarden.deps.check",
    "secrets": "mlwarden.leaks.check",  # noqa: MW401 (a module path, not a secret)
}


def load_check(name: str) -> Check:
    check: Check = importlib.import_module(CHECKS[name]).CHECK
    return check


def each_file(files: Iterable[Path], run: Run, examine: Callable[[Path, str], list[Finding]],
              outcome: Outcome | None = None) -> Outcome:
    """Run ``examine(path, display)`` on every file, isolating failures: an error on one file (expected or
    not) becomes that file's ScanError and never stops the others."""
    from mlwarden.errors import MlwardenError

    out = outcome or Outcome()
    for path in files:
        display = run.display(path)
        try:
            out.findings.extend(examine(path, display))
        except MlwardenError as exc:
            out.errors.append(ScanError(display, str(exc)))
            continue
        except Exception as exc:  # noqa: BLE001 - any failure on one file is that file's error, never the run's
            out.errors.append(ScanError(display, f"could not be checked: internal error "
                                                 f"({type(exc).__name__}: {exc})"))
            continue
        out.files += 1
    return out


def run_checks(checks: Sequence[str | Check], targets: Targets, run: Run, *, named_always: bool = False) -> Report:
    """Every check (by name, or a configured check object), over the files it wants. Files named on the
    command line go to a check whatever their kind when ``named_always`` (a single-check command given a
    file on purpose)."""
    report = Report(errors=list(targets.missing), skipped=dict(targets.skipped))
    wanted_by_any: set[Path] = set()
    for chosen_check in checks:
        check = load_check(chosen_check) if isinstance(chosen_check, str) else chosen_check
        name = check.name
        chosen = [p for p in targets.named if named_always or check.wants(p)]
        chosen += [p for p in targets.found if check.wants(p)]
        wanted_by_any.update(chosen)
        report.add(name, check.check(chosen, run))
    report.files_seen = len(targets.named) + len(targets.found)
    report.files_scanned = len(wanted_by_any)
    unexamined = len({*targets.named, *targets.found} - wanted_by_any)
    if unexamined:
        report.skipped["no check applies"] = report.skipped.get("no check applies", 0) + unexamined
    return report


# -- conclusion: the policy, once ---------------------------------------------------------------------------


def conclude(report: Report, run: Run, *, expiry: bool = False, select: Sequence[str] = (),
             ignore: Sequence[str] = ()) -> Report:
    """Severity overrides, rule selection, inline suppressions, the policy's waivers and (for ``scan`` and
    the allowlist hook) its own expired and expiring entries: the same for every command and hook. Policy files
    that were not applied (invalid) are errors of the report: the run went on without them, and says so."""
    report.errors.extend(run.policy_errors)
    if expiry:
        report.findings += policy_expiry_findings(run.policy, run.today)
    overrides = run.config.severity
    if overrides:
        report.findings = [_override(f, overrides) for f in report.findings]
    selected = (*run.config.select, *select)
    ignored = (*run.config.ignore, *ignore)
    per_path = run.config.per_path_ignores
    if selected or ignored or per_path:
        kept = []
        for finding in report.findings:
            if _rule_selected(finding, selected, ignored, per_path):
                kept.append(finding)
            else:
                report.deselected += 1
        report.findings = kept
    _apply_suppressions(report, run)
    return apply_waivers(report, run.policy, run.today, base=run.base)


def _override(finding: Finding, overrides: dict[str, Any]) -> Finding:
    from dataclasses import replace

    severity = overrides.get(finding.rule)
    return replace(finding, severity=severity) if severity is not None else finding


def _matches_rule(rule: str, patterns: Iterable[str]) -> bool:
    return any(rule.startswith(p) for p in patterns)


def _rule_selected(finding: Finding, selected: Sequence[str], ignored: Sequence[str],
                   per_path: dict[str, tuple[str, ...]]) -> bool:
    from mlwarden.policy.model import path_matches

    if selected and not _matches_rule(finding.rule, selected):
        return False
    if _matches_rule(finding.rule, ignored):
        return False
    return not any(path_matches(finding.location.path, glob) and _matches_rule(finding.rule, rules)
                   for glob, rules in per_path.items())


def _apply_suppressions(report: Report, run: Run) -> None:
    """Inline ``# noqa: MW401`` / ``# mlwarden: ignore[MW401]`` on the finding's line; in a notebook, on the
    line inside the cell, and the cell's ``mlwarden-ignore`` tag or metadata for the whole cell."""
    kept: list[Finding] = []
    texts: dict[str, _Source] = {}
    for finding in report.findings:
        path = finding.location.path
        if path not in texts:
            texts[path] = _Source(run.base / path, path)
        if texts[path].suppresses(finding):
            report.suppressed.append(finding)
        else:
            kept.append(finding)
    report.findings = kept
    for source in texts.values():
        report.errors += source.typos  # a misspelt id silences nothing: say so, and do not pass


class _Source:
    """A file's lines (and, for a notebook, its cells), read once and only when a finding needs them."""

    def __init__(self, path: Path, display: str) -> None:
        self.path = path
        self.display = display
        self._lines: list[str] | None = None
        self._notebook: Any = None
        self._read = False
        self.typos: list[ScanError] = []
        self._checked: set[tuple[str | None, int]] = set()

    def _silences(self, rule: str, text: str, member: str | None, line: int) -> bool:
        from mlwarden import suppress
        from mlwarden.rules import closest_rule

        rules = suppress.suppressed_rules(text)
        if rules and (member, line) not in self._checked:
            self._checked.add((member, line))
            where = f"{self.display}{'!' + member if member else ''}:{line}"
            self.typos += [ScanError(where, f"inline suppression names unknown rule {typo!r}{closest_rule(typo)}")
                           for typo in suppress.unknown_rules(rules)]
        return suppress.covers(rules, rule)

    def _load(self) -> None:
        if self._read:
            return
        self._read = True
        from mlwarden import suppress

        self._lines = suppress.file_lines(self.path)
        if self._lines is not None and self.path.suffix == ".ipynb":
            from mlwarden.notebook import NotebookError, read_notebook

            try:
                self._notebook = read_notebook("\n".join(self._lines))
            except NotebookError:
                self._notebook = None

    def suppresses(self, finding: Finding) -> bool:
        from mlwarden import suppress

        loc = finding.location
        if loc.line is None and loc.member is None:
            return False
        self._load()
        if loc.member is None:
            lines = self._lines
            return lines is not None and 0 < (loc.line or 0) <= len(lines) and \
                self._silences(finding.rule, lines[(loc.line or 0) - 1], None, loc.line or 0)
        if self._notebook is None:
            return False
        label, _, output = loc.member.partition(" output ")
        cell = self._notebook.find(label)
        if cell is None:
            return False
        if suppress.covers(suppress.cell_rules({"metadata": cell.metadata}), finding.rule):
            return True
        source = cell.source.split("\n")
        return not output and loc.line is not None and 0 < loc.line <= len(source) and \
            self._silences(finding.rule, source[loc.line - 1], loc.member, loc.line)


def apply_waivers(report: Report, policy: Policy, today: dt.date | None = None, *,
                  base: Path | None = None) -> Report:
    """Move findings waived by an [[exception]] entry (rule + path, or vulnerability id), or by a [[model]]
    approval of the file's exact content, to ``waived``."""
    approvals = _ModelApprovals(policy, today, base)
    kept: list[Finding] = []
    for finding in report.findings:
        entry = policy.waiver_for(finding.rule, finding.location.path, member=finding.location.member,
                                  today=today)
        if entry is None and finding.advisories:
            entry = policy.vulnerability_waiver(set(finding.advisories), today)
        if entry is None and finding.rule.startswith(MODEL_RULES):
            entry = approvals.approving(finding.location.path)
        (report.waived if entry else kept).append(finding)
    report.findings = kept
    return report


MODEL_RULES = "MW1"  # what a [[model]] approval waives: the model scanner's findings on that file


class _ModelApprovals:
    """[[model]] entries: a reviewed file is approved by its sha256, so a changed file is judged again. Each
    approved file is hashed once, and only when it has a finding."""

    def __init__(self, policy: Policy, today: dt.date | None, base: Path | None) -> None:
        self.entries = {str(e.get("path")): e for e in policy.live("model", today)} if base else {}
        self.base = base
        self.digests: dict[str, str | None] = {}
        self.buffer: bytearray | None = None  # one read buffer for every approved file, made on first use

    def approving(self, path: str) -> Entry | None:
        entry = self.entries.get(path)
        if entry is None or self.base is None:
            return None
        if path not in self.digests:
            from mlwarden.hub.hashing import CHUNK, HashJob, hash_file

            self.buffer = self.buffer or bytearray(CHUNK)
            hashed = hash_file(HashJob(self.base / path, "sha256"), self.buffer)
            # unreadable, special or changing while hashed: nothing is approved
            self.digests[path] = "sha256:" + hashed.digest if hashed.digest else None
        return entry if self.digests[path] == entry.get("sha256") else None


def policy_expiry_findings(policy: Policy, today: dt.date | None = None) -> list[Finding]:
    """MW601 for entries past their grace period (they no longer apply), MW602 for entries in their grace
    period or expiring within ``warn_days``. The allowlist hook and ``scan`` both use this."""
    from mlwarden.policy.model import Status
    from mlwarden.rules import make_finding

    findings: list[Finding] = []
    for entry, status in policy.expiry(today):
        if status is Status.EXPIRED:
            rule_id = POLICY_ENTRY_EXPIRED
            message = f"[[{entry.kind}]] {entry.key} expired on {entry.expires} (owner {entry.owner}); it no " \
                      "longer applies"
        elif status is Status.GRACE:
            rule_id = POLICY_ENTRY_EXPIRING
            message = f"[[{entry.kind}]] {entry.key} expired on {entry.expires}; it applies until the grace " \
                      f"period ends on {policy.grace_end(entry)} (owner {entry.owner})"
        else:
            rule_id = POLICY_ENTRY_EXPIRING
            message = f"[[{entry.kind}]] {entry.key} expires on {entry.expires} (owner {entry.owner})"
        findings.append(make_finding(rule_id, Location(entry.origin.file, line=entry.origin.line), message,
                                     f"{entry.kind}:{entry.key}"))
    return findings
