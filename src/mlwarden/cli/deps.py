"""`mlwarden deps [FILE…]` and `mlwarden audit [FILE…]`: dependency checks and known vulnerabilities."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from mlwarden.cli._common import emit, load_run_config, output_options

if TYPE_CHECKING:
    from mlwarden.findings import ScanError


def _inputs(paths: tuple[Path, ...], root: Path, exclude: tuple[str, ...]) -> tuple[list[Path], list[ScanError]]:
    """Dependency files named, and those found under the folders named (default: the tree)."""
    from mlwarden.cli._common import gather
    from mlwarden.deps.run import dependency_files

    named, found, missing = gather(paths, root, exclude, default_to_root=True)
    return named + dependency_files(found), missing


_installed_option = click.option(
    "--installed", "installed", multiple=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Also read an installed environment (a virtualenv or site-packages folder): its *.dist-info and .pth files.")


@click.command(short_help="Pinning, hashes, sources, typosquats of dependencies (offline).")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@_installed_option
@output_options
def deps(paths: tuple[Path, ...], installed: tuple[Path, ...], fmt: str, output: Path | None, fail_on: str | None,
         policy: Path | None) -> int:
    """Check requirements files, pyproject.toml, uv.lock, poetry.lock, Pipfile.lock, pylock.toml and conda
    environment files (default: every one under the current directory) against the policy: unpinned
    requirements, missing hashes, indexes, find-links, channels, VCS hosts and direct URLs not allowed,
    VCS refs that are not commits, dependency confusion, denied packages and typosquats. Offline."""
    from mlwarden.deps.run import check_dependencies, parse_all
    from mlwarden.policy import load_policy
    from mlwarden.scanning import apply_waivers

    root = Path.cwd()
    config = load_run_config(fail_on, policy, root)
    merged = load_policy(root, config.policy)
    files, missing = _inputs(paths, root, config.exclude)
    report = check_dependencies(parse_all(files, root, installed=installed), merged, root=root)
    report.errors += missing
    apply_waivers(report, merged)
    return emit(report, fmt=fmt, output=output, fail_on=config.fail_on, category="deps")


@click.command(short_help="Known vulnerabilities: offline OSV database or online services.")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--db", type=click.Path(path_type=Path), help="OSV database: a folder of OSV JSON/YAML records or "
              "an OSV zip export (default: osv-db in the configuration).")
@click.option("--online", is_flag=True, help="Ask pip-audit's vulnerability service instead of a local database.")
@click.option("--service", type=click.Choice(["osv", "pypi"]), default="osv", show_default=True,
              help="Online service.")
@click.option("--osv-url", help="OSV query endpoint for --online (a mirror).")
@click.option("--allow-unaudited", is_flag=True, help="Report packages that could not be checked as low "
              "findings instead of failing (exit 2).")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where the database index is cached (default: $XDG_CACHE_HOME/mlwarden).")
@click.option("--max-db-age", "max_db_age", type=click.IntRange(min=0), default=None,
              help="Fail (exit 2) when the OSV database's newest record is older than this many days.")
@_installed_option
@output_options
def audit(paths: tuple[Path, ...], db: Path | None, online: bool, service: str, osv_url: str | None,
          allow_unaudited: bool, cache_dir: Path | None, max_db_age: int | None, installed: tuple[Path, ...],
          fmt: str, output: Path | None, fail_on: str | None, policy: Path | None) -> int:
    """Audit the pinned dependencies of PATHS (default: every dependency file under the current directory)
    for known vulnerabilities. Offline with --db (or osv-db in the configuration); online with --online.
    A package that cannot be checked fails the audit (exit 2) unless --allow-unaudited: it never passes
    silently. Waivers are [[exception]] entries with vulnerability = an id or alias."""
    from mlwarden.deps.audit import audit_offline, audit_online, auditable_pins, load_database, unaudited_errors
    from mlwarden.deps.run import manifest_errors, no_dependency_files, parse_all, read_findings
    from mlwarden.errors import ConfigError
    from mlwarden.findings import Report
    from mlwarden.policy import load_policy

    root = Path.cwd()
    config = load_run_config(fail_on, policy, root)
    merged = load_policy(root, config.policy)
    database = str(db) if db else config.osv_db
    if not online and not database:
        raise ConfigError("no vulnerability database: pass --db PATH (or set osv-db in [tool.mlwarden]), or --online")
    files, missing = _inputs(paths, root, config.exclude)
    manifests = parse_all(files, root, installed=installed)
    pins, unaudited = auditable_pins(manifests)
    if online:
        result = audit_online(pins, merged, service=service, osv_url=osv_url)
    else:
        assert database is not None
        osv = load_database(database, cache_dir, max_age_days=max_db_age)
        click.echo(f"mlwarden: OSV database {database}: {osv.stats.records} records"
                   f"{' (index cached)' if osv.stats.cached else ' (index built)'}"
                   f"{f', {len(osv.stats.warnings)} warning(s)' if osv.stats.warnings else ''}", err=True)
        result = audit_offline(pins, osv, merged)
    findings, errors = unaudited_errors(unaudited + result.unaudited, allow=allow_unaudited)
    report = Report(findings=result.findings + findings + read_findings(manifests), errors=errors,
                    files_scanned=len(manifests), waived=result.waived)
    report.errors += missing + manifest_errors(manifests) + ([] if manifests else [no_dependency_files(root, "audit")])
    report.inventory["audit"] = {"audited": result.audited, "unaudited": len(unaudited + result.unaudited)}
    return emit(report, fmt=fmt, output=output, fail_on=config.fail_on, category="audit")
