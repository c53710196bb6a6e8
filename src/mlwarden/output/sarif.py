"""SARIF 2.1.0 for GitHub code scanning: rules with security-severity, stable partialFingerprints."""

from __future__ import annotations

import json
from typing import Any

from mlwarden import __version__
from mlwarden.findings import Finding, Report, Severity
from mlwarden.output.json import coverage
from mlwarden.rules import RULES

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
_LEVEL = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning",
          Severity.LOW: "note", Severity.INFO: "note"}
_SECURITY_SEVERITY = {Severity.CRITICAL: "9.5", Severity.HIGH: "8.0", Severity.MEDIUM: "5.5",
                      Severity.LOW: "3.0", Severity.INFO: "0.0"}


class SarifFormatter:
    def __init__(self, *, category: str = "scan") -> None:
        self.category = category

    def format(self, report: Report, fail_on: Severity) -> str:
        findings = report.sorted_findings()
        rule_ids = sorted({f.rule for f in findings})
        index = {rule_id: i for i, rule_id in enumerate(rule_ids)}
        run: dict[str, Any] = {
            "tool": {"driver": {
                "name": "mlwarden",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": "https://pypi.org/project/mlwarden/",
                "rules": [_rule(rule_id) for rule_id in rule_ids],
            }},
            "automationDetails": {"id": f"mlwarden/{self.category}/"},
            "results": [_result(f, index[f.rule]) for f in findings],
            "invocations": [{
                "executionSuccessful": not report.errors,
                "toolExecutionNotifications": [
                    *({"level": "error", "message": {"text": f"{e.path}: {e.message}"},
                       "locations": [{"physicalLocation": {"artifactLocation": {"uri": e.path}}}]}
                      for e in report.errors),
                    *({"level": "note", "message": {"text": note}} for note in dict.fromkeys(report.notes)),
                    *({"level": "note", "message": {"text": f"not examined: {count} file(s): {reason}"}}
                      for reason, count in sorted(report.skipped.items())),
                ],
                "properties": {"coverage": coverage(report)},
            }],
        }
        doc = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
        return json.dumps(doc, indent=2) + "\n"


def _rule(rule_id: str) -> dict[str, Any]:
    rule = RULES[rule_id]
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.help},
        "help": {"text": f"{rule.help}\n\nRemediation: {rule.remediation}",
                 "markdown": f"{rule.help}\n\n**Remediation:** {rule.remediation}"},
        "defaultConfiguration": {"level": _LEVEL[rule.severity]},
        "properties": {"tags": ["security", "supply-chain"],
                       "security-severity": _SECURITY_SEVERITY[rule.severity]},
    }


def _result(finding: Finding, rule_index: int) -> dict[str, Any]:
    loc = finding.location
    message = finding.message if not loc.member else f"{finding.message} (in {loc.member})"
    return {
        "ruleId": finding.rule,
        "ruleIndex": rule_index,
        "level": _LEVEL[finding.severity],
        "message": {"text": message},
        "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": loc.path.replace("\\", "/")},
            "region": {"startLine": loc.file_line or loc.line or 1},
        }, **({"logicalLocations": [{"name": loc.member, "kind": "member"}]} if loc.member else {})}],
        "partialFingerprints": {"mlwarden/v1": finding.fingerprint},
        "properties": {"security-severity": _SECURITY_SEVERITY[finding.severity],
                       "severity": finding.severity.label},
    }
