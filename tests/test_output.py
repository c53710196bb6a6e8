"""Output formats: SARIF validates against the OASIS schema; fingerprints are stable."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from mlwarden.findings import Finding, Location, Report, ScanError, Severity
from mlwarden.output import get_formatter
from mlwarden.output.text import summary

SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())


def _report() -> Report:
    report = Report(files_scanned=2)
    report.findings = [
        Finding("MW101", Severity.CRITICAL, Location("models/a.pt", member="archive/data.pkl"), "calls os.system",
                key="os.system"),
        Finding("MW103", Severity.MEDIUM, Location("b.pkl"), "imports x.y", key="x.y"),
        Finding("MW601", Severity.HIGH, Location("allowlists/p.toml", line=7), "expired", key="k"),
    ]
    report.errors = [ScanError("c.bin", "cannot read")]
    return report


def test_sarif_validates_and_carries_severity() -> None:
    doc = json.loads(get_formatter("sarif").format(_report(), Severity.HIGH))
    jsonschema.Draft4Validator(SCHEMA).validate(doc)
    run = doc["runs"][0]
    assert {r["id"] for r in run["tool"]["driver"]["rules"]} == {"MW101", "MW103", "MW601"}
    assert all("security-severity" in r["properties"] for r in run["tool"]["driver"]["rules"])
    result = next(r for r in run["results"] if r["ruleId"] == "MW101")
    assert result["partialFingerprints"]["mlwarden/v1"]
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 1
    assert run["invocations"][0]["executionSuccessful"] is False


def test_empty_sarif_validates() -> None:
    doc = json.loads(get_formatter("sarif").format(Report(), Severity.HIGH))
    jsonschema.Draft4Validator(SCHEMA).validate(doc)


def test_fingerprint_ignores_lines_and_messages_order() -> None:
    a = Finding("MW601", Severity.HIGH, Location("p.toml", line=3), "m", key="k")
    b = Finding("MW601", Severity.HIGH, Location("p.toml", line=9), "m", key="k")
    assert a.fingerprint == b.fingerprint
    assert a.fingerprint != Finding("MW601", Severity.HIGH, Location("q.toml", line=3), "m", key="k").fingerprint


def test_json_is_sorted_and_versioned() -> None:
    doc = json.loads(get_formatter("json").format(_report(), Severity.HIGH))
    assert doc["schema_version"] == 1
    assert [r["path"] for r in doc["results"]] == ["allowlists/p.toml", "b.pkl", "models/a.pt"]
    assert doc["errors"] == [{"path": "c.bin", "message": "cannot read"}]


def test_text_and_summary() -> None:
    text = get_formatter("text").format(_report(), Severity.HIGH)
    assert "models/a.pt!archive/data.pkl: MW101 critical: calls os.system" in text
    assert "allowlists/p.toml:7: MW601 high: expired" in text
    line = summary(_report(), Severity.HIGH)
    assert "1 critical, 1 high, 1 medium" in line
    assert "(2 at or above high)" in line
