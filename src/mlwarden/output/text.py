"""Human output: one `path[!member][:line]: RULE severity: message` line per finding (editors parse it),
the fix and where to read more under it, then what was checked and what was not."""

from __future__ import annotations

import re

from mlwarden.findings import Finding, Report, Severity

_COLORS = {
    Severity.CRITICAL: "\x1b[1;31m", Severity.HIGH: "\x1b[31m", Severity.MEDIUM: "\x1b[33m",
    Severity.LOW: "\x1b[36m", Severity.INFO: "\x1b[2m",
}
_RESET = "\x1b[0m"
# C0/C1 controls, DEL and the Unicode line/paragraph separators: a file name must never be able to start a
# new line or move the cursor, or it could forge a finding line.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` with every control character shown as an escape (``\\n``, ``\\x1b``)."""
    return _UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


class TextFormatter:
    def __init__(self, *, color: bool = False, quiet: bool = False, show_suppressed: bool = False) -> None:
        self.color = color
        self.quiet = quiet
        self.show_suppressed = show_suppressed

    def _line(self, finding: Finding, suffix: str = "") -> list[str]:
        label = finding.severity.label
        if self.color:
            label = f"{_COLORS[finding.severity]}{label}{_RESET}"
        lines = [f"{printable(str(finding.location))}: {finding.rule} {label}: {printable(finding.message)}{suffix}"]
        if not self.quiet:
            if finding.remediation:
                lines.append(f"    fix: {printable(finding.remediation)}")
            lines.append(f"    see: mlwarden rule {finding.rule}")
        return lines

    def format(self, report: Report, fail_on: Severity) -> str:
        lines: list[str] = []
        for finding in report.sorted_findings():
            lines += self._line(finding)
        if self.show_suppressed:
            for finding in sorted(report.suppressed, key=Finding.sort_key):
                lines += self._line(finding, " [suppressed inline]")
        for error in report.errors:
            lines.append(f"{printable(error.path)}: error: {printable(error.message)}")
        if not self.quiet:
            lines += [f"# {line}" for line in coverage_lines(report)]
        return "\n".join(lines) + ("\n" if lines else "")


def coverage_lines(report: Report) -> list[str]:
    """What was checked and what was not: the end of every text report."""
    lines = []
    if report.checks:
        checked = ", ".join(f"{name} {count}" for name, count in report.checks.items())
        lines.append(f"checked: {report.files_scanned} file(s) ({checked})")
    if report.skipped:
        skipped = "; ".join(f"{reason}: {count}" for reason, count in sorted(report.skipped.items()))
        lines.append(f"not examined: {sum(report.skipped.values())} file(s) ({skipped})")
    if report.errors:
        lines.append(f"NOT CHECKED: {len(report.errors)} file(s) or input(s) could not be checked (listed above)")
    lines += [f"note: {printable(note)}" for note in dict.fromkeys(report.notes)]
    return lines


def summary(report: Report, fail_on: Severity) -> str:
    """The one-line summary written to stderr."""
    counts: dict[Severity, int] = {}
    for finding in report.sorted_findings():
        counts[finding.severity] = counts.get(finding.severity, 0) + 1
    parts = [f"{counts[s]} {s.label}" for s in sorted(counts, reverse=True)]
    failing = sum(n for s, n in counts.items() if s >= fail_on)
    checked = ", ".join(f"{name} {count}" for name, count in report.checks.items())
    text = f"mlwarden: {report.files_scanned} file(s) scanned"
    text += f" ({checked}), " if checked else ", "
    text += ", ".join(parts) if parts else "no findings"
    if report.waived:
        text += f", {len(report.waived)} waived by policy"
    if report.suppressed:
        text += f", {len(report.suppressed)} suppressed inline"
    if report.errors:
        text += f", {len(report.errors)} not checked (error)"
    text += f" ({failing} at or above {fail_on.label})"
    return text
