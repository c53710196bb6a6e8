"""What `scan` and `models` share: run the model scanner over files, apply the policy's waivers and
report the policy's own expiring entries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

from mlwarden.config import Config
from mlwarden.findings import Finding, Location, Report
from mlwarden.paths import display_path
from mlwarden.policy import Policy
from mlwarden.rules import make_finding


def scan_models(files: Iterable[Path], root: Path, config: Config, policy: Policy, *,
                sniff_first: bool) -> Report:
    """Scan model files. With ``sniff_first`` a file is scanned only if its bytes look like a model."""
    from mlwarden.models.scanner import is_model_candidate, scan_model_file

    report = Report()
    extra = policy.extra_safe_globals()
    for path in files:
        if sniff_first and not is_model_candidate(path):
            continue
        result, _ = scan_model_file(path, display_path(path, root), budgets=config.budgets, extra_safe=extra)
        report.files_scanned += 1
        report.findings.extend(result.findings)
        if result.error:
            report.errors.append(result.error)
    return report


def check_code(files: Iterable[Path], root: Path, policy: Policy, *, explicit: set[Path] | None = None) -> Report:
    """Unsafe model loading in the .py files and notebooks among ``files`` (files named explicitly always)."""
    from mlwarden.code.scanner import check_code_file, is_code_file

    report = Report()
    for path in files:
        if not is_code_file(path) and path not in (explicit or set()):
            continue
        findings, refs = check_code_file(path, display_path(path, root), policy)
        report.files_scanned += 1
        report.findings.extend(findings)
        if refs:
            report.inventory.setdefault("hub_references", []).extend(
                {"path": display_path(path, root), "repo_id": r.repo_id, "revision": r.revision, "line": r.line}
                for r in refs)
    return report


def scan_dependencies(files: Iterable[Path], root: Path, policy: Policy, osv_db: str | None) -> list[Finding]:
    """Dependency checks over the dependency files among ``files``; the audit too when a database is set."""
    from mlwarden.deps.run import check_dependencies, dependency_files, parse_all

    manifests = parse_all(dependency_files(files), root)
    if not manifests:
        return []
    findings = check_dependencies(manifests, policy).findings
    if osv_db:
        from mlwarden.deps.audit import audit_offline, auditable_pins, load_database

        pins, _ = auditable_pins(manifests)
        findings += audit_offline(pins, load_database(osv_db), policy).findings
    return findings


PARALLEL_LEAK_FILES = 64  # from this many files on, the leak scan uses every core


def check_leaks(files: Iterable[Path], root: Path, policy: Policy) -> Report:
    """Secrets, personal data and data-file rules over ``files`` (on every core for large trees)."""
    import os

    from mlwarden.leaks import workers
    from mlwarden.leaks.secrets import load_baseline

    chosen = list(files)
    baseline = load_baseline(root)
    report = Report(files_scanned=len(chosen))
    jobs = [(str(path), display_path(path, root)) for path in chosen]
    cores = os.cpu_count() or 1
    if len(jobs) >= PARALLEL_LEAK_FILES and cores > 1 and hasattr(os, "fork"):
        import multiprocessing

        with multiprocessing.get_context("fork").Pool(
                min(cores, 8), initializer=workers.start, initargs=(root, policy, baseline)) as pool:
            results = list(pool.imap(workers.scan_one, jobs, chunksize=8))
    else:
        workers.start(root, policy, baseline)
        try:
            results = [workers.scan_one(job) for job in jobs]
        finally:
            workers.stop()
    for findings, waived, suppressed in results:
        report.findings.extend(findings)
        report.waived.extend(waived)
        report.waived.extend(suppressed)  # inline suppressions; the lead's --show-suppressed will list them apart
    return report


def apply_waivers(report: Report, policy: Policy, today: dt.date | None = None) -> Report:
    """Move findings waived by an [[exception]] entry to ``report.waived``."""
    kept: list[Finding] = []
    for finding in report.findings:
        entry = policy.waiver_for(finding.rule, finding.location.path, member=finding.location.member,
                                  today=today)
        (report.waived if entry else kept).append(finding)
    report.findings = kept
    return report


def policy_expiry_findings(policy: Policy, today: dt.date | None = None) -> list[Finding]:
    """MW601 for entries past their grace period, MW602 for entries in grace or expiring soon."""
    today = today or dt.date.today()
    findings: list[Finding] = []
    for entry in policy.entries:
        status = policy.status(entry, today)
        if status == "active":
            continue
        rule_id = "MW601" if status == "expired" else "MW602"
        if status == "expired":
            message = f"[[{entry.kind}]] {entry.key} expired on {entry.expires} (owner {entry.owner}); it no " \
                      "longer applies"
        elif status == "grace":
            end = entry.expires + dt.timedelta(days=policy.settings.grace_days)
            message = f"[[{entry.kind}]] {entry.key} expired on {entry.expires}; it applies until the grace " \
                      f"period ends on {end} (owner {entry.owner})"
        else:
            message = f"[[{entry.kind}]] {entry.key} expires on {entry.expires} (owner {entry.owner})"
        findings.append(make_finding(rule_id, Location(entry.origin.file, line=entry.origin.line), message,
                                     f"{entry.kind}:{entry.key}"))
    return [f for f in findings if f.location.path != "<default>"]
