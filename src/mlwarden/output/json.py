"""JSON output: one document with a schema_version, sorted findings and errors."""

from __future__ import annotations

import json
from typing import Any

from mlwarden import __version__
from mlwarden.findings import Report, Severity

SCHEMA_VERSION = 1


def coverage(report: Report) -> dict[str, Any]:
    """What was checked and what was not (also SARIF's run properties)."""
    return {"checked": dict(report.checks), "files_scanned": report.files_scanned,
            "not_examined": dict(sorted(report.skipped.items())), "not_checked": len(report.errors),
            "deselected": report.deselected, "notes": list(dict.fromkeys(report.notes))}


class JsonFormatter:
    def format(self, report: Report, fail_on: Severity) -> str:
        doc: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "mlwarden", "version": __version__},
            "fail_on": fail_on.label,
            "files_scanned": report.files_scanned,
            "results": [
                {
                    "rule_id": f.rule,
                    "severity": f.severity.label,
                    "path": f.location.path,
                    "member": f.location.member,
                    "line": f.location.line,
                    "message": f.message,
                    "fingerprint": f.fingerprint,
                    "details": {"evidence": f.evidence, "remediation": f.remediation, "key": f.key},
                }
                for f in report.sorted_findings()
            ],
            "waived": [
                {"rule_id": f.rule, "path": f.location.path, "member": f.location.member,
                 "fingerprint": f.fingerprint}
                for f in sorted(report.waived, key=lambda f: f.sort_key())
            ],
            "errors": [{"path": e.path, "message": e.message} for e in report.errors],
            "suppressed": [
                {"rule_id": f.rule, "path": f.location.path, "line": f.location.line, "fingerprint": f.fingerprint}
                for f in sorted(report.suppressed, key=lambda f: f.sort_key())
            ],
            "coverage": coverage(report),
        }
        if report.inventory:
            doc["inventory"] = report.inventory
        return json.dumps(doc, indent=2, sort_keys=False) + "\n"
