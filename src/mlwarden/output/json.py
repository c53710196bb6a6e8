"""JSON output: one document with a schema_version, sorted findings and errors."""

from __future__ import annotations

import json
from typing import Any

from mlwarden import __version__
from mlwarden.findings import Report, Severity

SCHEMA_VERSION = 1


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
        }
        if report.inventory:
            doc["inventory"] = report.inventory
        return json.dumps(doc, indent=2, sort_keys=False) + "\n"
