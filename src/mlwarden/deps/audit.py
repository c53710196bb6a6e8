"""Known vulnerabilities of pinned dependencies: offline (an OSV database) or online (pip-audit's services)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from mlwarden.deps.model import Manifest, Pin
from mlwarden.deps.osv import Advisory, OsvDatabase
from mlwarden.findings import Finding, Location, ScanError, Severity
from mlwarden.policy.model import Policy
from mlwarden.rules import DEP_MALICIOUS, DEP_UNAUDITED, DEP_VULNERABLE, RULES, make_finding


@dataclass
class AuditResult:
    findings: list[Finding] = field(default_factory=list)
    waived: list[Finding] = field(default_factory=list)
    unaudited: list[tuple[Pin, str]] = field(default_factory=list)
    audited: int = 0


def severity_for(score: float | None) -> Severity:
    if score is None:
        return Severity.HIGH
    if score >= 9.0:
        return Severity.CRITICAL
    if score >= 7.0:
        return Severity.HIGH
    if score >= 4.0:
        return Severity.MEDIUM
    return Severity.LOW


def auditable_pins(manifests: Iterable[Manifest]) -> tuple[list[Pin], list[tuple[Pin, str]]]:
    """Pins to audit, and pins that cannot be (no exact version). Ranges in pyproject.toml are left to the
    lock file when one is among the inputs."""
    manifests = list(manifests)
    left_to_lock = superseded_by_lock(manifests)
    pins: list[Pin] = []
    unaudited: list[tuple[Pin, str]] = []
    for manifest in manifests:
        if manifest.file in left_to_lock:
            continue
        for pin in manifest.pins:
            if pin.ecosystem != "PyPI":
                # OSV has no conda ecosystem: a conda package is not audited, and saying so is the only honest
                # answer (a conda-only environment must not pass as "no known vulnerabilities").
                unaudited.append((pin, "conda package: no advisory database covers conda packages"))
                continue
            if pin.source is not None and pin.source.kind in ("vcs", "path", "url"):
                unaudited.append((pin, "installed from a VCS, path or URL: no release to look up"))
            elif pin.version is None:
                unaudited.append((pin, f"not pinned ({pin.specifier or 'any version'})"))
            else:
                pins.append(pin)
    return pins, unaudited


def superseded_by_lock(manifests: Iterable[Manifest]) -> set[str]:
    """Declaration files (pyproject.toml, setup.cfg, Pipfile) whose ranges a lock among ``manifests`` resolves:
    the audit judges the lock's releases instead."""
    manifests = list(manifests)
    if not any(m.kind in ("uv.lock", "poetry.lock", "pdm.lock", "Pipfile.lock", "pylock", "conda-lock",
                          "conda-explicit", "installed") for m in manifests):
        return set()
    return {m.file for m in manifests if m.kind in ("pyproject", "setup.cfg", "Pipfile")}


def audit_offline(pins: list[Pin], db: OsvDatabase, policy: Policy) -> AuditResult:
    result = AuditResult()
    for pin in pins:
        assert pin.version is not None
        result.audited += 1
        for advisory in db.matches(pin.name, pin.version):
            _record(result, pin, advisory, policy)
    return result


def audit_online(pins: list[Pin], policy: Policy, *, service: str = "osv", osv_url: str | None = None,
                 timeout: int = 15) -> AuditResult:
    from mlwarden.deps import online

    result = AuditResult()
    for pin in pins:
        assert pin.version is not None
        try:
            advisories = online.query(pin.name, pin.version, service=service, osv_url=osv_url, timeout=timeout)
        except online.Unreachable as exc:
            result.unaudited.append((pin, f"the {service} service could not be reached: {exc}"))
            continue
        result.audited += 1
        for advisory in advisories:
            _record(result, pin, advisory, policy)
    return result


def _record(result: AuditResult, pin: Pin, advisory: Advisory, policy: Policy) -> None:
    if advisory.malicious:
        # Not waivable by a vulnerability exception: there is no fixed version of an attack.
        result.findings.append(make_finding(
            DEP_MALICIOUS, Location(pin.file, line=pin.line),
            f"{pin.name} {pin.version} is a known malicious package: {advisory.id}: {advisory.summary}",
            f"{advisory.id}:{pin.name}"))
        return
    rule = RULES[DEP_VULNERABLE]
    fixed = ", ".join(advisory.fixed) or "none known"
    aliases = f" ({', '.join(advisory.aliases)})" if advisory.aliases else ""
    score = f", CVSS {advisory.score}" if advisory.score is not None else ""
    finding = Finding(DEP_VULNERABLE, severity_for(advisory.score), Location(pin.file, line=pin.line),
                      f"{pin.name} {pin.version}: {advisory.id}{aliases}{score}: {advisory.summary} "
                      f"[fixed in: {fixed}]", f"{advisory.id}:{pin.name}", "", rule.remediation)
    if policy.vulnerability_waiver({advisory.id, *advisory.aliases}):
        result.waived.append(finding)
    else:
        result.findings.append(finding)


def unaudited_errors(unaudited: list[tuple[Pin, str]], *, allow: bool) -> tuple[list[Finding], list[ScanError]]:
    """Fail closed: each unaudited pin is an error (exit 2), or a low finding with --allow-unaudited."""
    if allow:
        rule = RULES[DEP_UNAUDITED]
        return [Finding(DEP_UNAUDITED, Severity.LOW, Location(p.file, line=p.line), f"{p.name}: {why}",
                        f"unaudited:{p.name}", "", rule.remediation) for p, why in unaudited], []
    errors = [ScanError(f"{p.file}:{p.line}" if p.line else p.file, f"{p.name} could not be audited: {why}")
              for p, why in unaudited]
    return [], errors


def load_database(path: str, cache_dir: Path | None = None, *, max_age_days: int | None = None) -> OsvDatabase:
    """The offline database; InputError (exit 2) when missing, empty, not OSV or older than max_age_days."""
    return OsvDatabase.load(Path(path), cache_dir, max_age_days=max_age_days)
