"""Human output: one `path[!member][:line]: RULE severity message` line per finding (editors parse it)."""

from __future__ import annotations

from mlwarden.findings import Report, Severity

_COLORS = {
    Severity.CRITICAL: "\x1b[1;31m", Severity.HIGH: "\x1b[31m", Severity.MEDIUM: "\x1b[33m",
    Severity.LOW: "\x1b[36m", Severity.INFO: "\x1b[2m",
}
_RESET = "\x1b[0m"


class TextFormatter:
    def __init__(self, *, color: bool = False) -> None:
        self.color = color

    def format(self, report: Report, fail_on: Severity) -> str:
        lines = []
        for finding in report.sorted_findings():
            label = finding.severity.label
            if self.color:
                label = f"{_COLORS[finding.severity]}{label}{_RESET}"
            line = f"{finding.location}: {finding.rule} {label}: {finding.message}"
            lines.append(line)
        for error in report.errors:
            lines.append(f"{error.path}: error: {error.message}")
        return "\n".join(lines) + ("\n" if lines else "")


def summary(report: Report, fail_on: Severity) -> str:
    """The one-line summary written to stderr."""
    counts: dict[Severity, int] = {}
    for finding in report.sorted_findings():
        counts[finding.severity] = counts.get(finding.severity, 0) + 1
    parts = [f"{counts[s]} {s.label}" for s in sorted(counts, reverse=True)]
    failing = sum(n for s, n in counts.items() if s >= fail_on)
    text = f"mlwarden: {report.files_scanned} file(s) scanned, "
    text += ", ".join(parts) if parts else "no findings"
    if report.waived:
        text += f", {len(report.waived)} waived by policy"
    if report.errors:
        text += f", {len(report.errors)} error(s)"
    text += f" ({failing} at or above {fail_on.label})"
    return text
