from __future__ import annotations

from typing import Protocol

from mlwarden.findings import Report, Severity


class Formatter(Protocol):
    """Renders a report as the document written to stdout or --output."""

    def format(self, report: Report, fail_on: Severity) -> str: ...
