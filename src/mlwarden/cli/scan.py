"""`mlwarden scan [PATH…]`: the main job, every check over a tree."""

from __future__ import annotations

from pathlib import Path

import click

from mlwarden.cli._common import emit, load_run_config, output_options


@click.command(short_help="Run every check over a tree (default: .).")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@output_options
def scan(paths: tuple[Path, ...], fmt: str, output: Path | None, fail_on: str | None,
         policy: Path | None) -> int:
    """Walk PATHS (default: the current directory), honouring .gitignore and the configuration's
    `exclude`, route each file to every check that applies, and report once.

    Checks: model files by content (pickle and every container); unsafe model loading in .py files and
    notebooks; dependency files (pinning, hashes, sources, typosquats, and known vulnerabilities when
    osv-db is configured); secrets and personal data in code, notebooks and data files; the policy's own
    entries (expired and expiring allowlist entries and waivers).
    """
    from mlwarden.findings import Report, ScanError
    from mlwarden.paths import display_path
    from mlwarden.policy import load_policy
    from mlwarden.scanning import (
        apply_waivers,
        check_code,
        check_leaks,
        policy_expiry_findings,
        scan_dependencies,
        scan_models,
    )

    root = Path.cwd()
    config = load_run_config(fail_on, policy, root)
    merged = load_policy(root, config.policy)
    targets = list(paths) or [Path(".")]
    report = Report()
    for target in targets:
        if not target.exists():
            report.errors.append(ScanError(display_path(target, root), "no such file or directory"))
    from mlwarden.walk import iter_files

    files = list(iter_files([t for t in targets if t.exists()], root, config.exclude))
    report.extend(scan_models(files, root, config, merged, sniff_first=True))
    code_report = check_code(files, root, merged)
    report.findings.extend(code_report.findings)
    report.inventory.update(code_report.inventory)
    report.findings.extend(scan_dependencies(files, root, merged, config.osv_db))
    leaks = check_leaks(files, root, merged)
    report.findings.extend(leaks.findings)
    report.waived.extend(leaks.waived)
    report.findings.extend(policy_expiry_findings(merged))
    report.files_scanned = max(report.files_scanned, len(files))
    apply_waivers(report, merged)
    return emit(report, fmt=fmt, output=output, fail_on=config.fail_on, category="scan")
