"""`mlwarden deps [FILE…]` and `mlwarden audit [FILE…]`: dependency checks and known vulnerabilities."""

from __future__ import annotations

from pathlib import Path

import click

from mlwarden.cli._common import Options, output_options, run_pipeline

_installed_option = click.option(
    "--installed", "installed", multiple=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Also read an installed environment (a virtualenv or site-packages folder): its *.dist-info and .pth "
    "files.")


@click.command(short_help="Pinning, hashes, sources, typosquats of dependencies (offline).")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@_installed_option
@click.option("--online", is_flag=True, help="Ask the index's JSON API (PyPI, or --pypi-url) for the upload times "
              "the lock files do not record, for the policy's cooldown (cached in --cache-dir). Off by default.")
@click.option("--pypi-url", help="JSON API base of the index for --online (a mirror; default "
              "https://pypi.org/pypi).")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where --online caches upload times (default: $XDG_CACHE_HOME/mlwarden).")
@output_options
def deps(paths: tuple[Path, ...], installed: tuple[Path, ...], online: bool, pypi_url: str | None,
         cache_dir: Path | None, opts: Options) -> int:
    """Check requirements files, pyproject.toml, uv.lock, poetry.lock, Pipfile.lock, pylock.toml and conda
    environment files (default: every one in the repository) against the policy: unpinned requirements,
    missing hashes, indexes, find-links, channels, VCS hosts and direct URLs not allowed, VCS refs that are
    not commits, dependency confusion, denied packages and typosquats. Offline. Finding no dependency file
    at all is an error (exit 2), never a pass. With a cooldown in the policy (cooldown_days), versions
    uploaded too recently are findings unless an allowlist entry names the version; --online asks the index
    for upload times a lock does not record."""
    from mlwarden.deps.check import DepsCheck

    check = DepsCheck(audit=False, required=True, installed=installed, index_times=online, pypi_url=pypi_url,
                      cache_dir=cache_dir)
    return run_pipeline([check], paths, opts, category="deps", default_to_root=True, named_always=True)


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
          opts: Options) -> int:
    """Audit the pinned dependencies of PATHS (default: every dependency file in the repository) for known
    vulnerabilities. Offline with --db (or osv-db in the configuration); online with --online. A package
    that cannot be checked fails the audit (exit 2) unless --allow-unaudited: it never passes silently.
    Waivers are [[exception]] entries with vulnerability = an id or alias."""
    from mlwarden.deps.check import DepsCheck

    check = DepsCheck(name="audit", policy_checks=False, audit=True, database=str(db) if db else None,
                      online=online, service=service, osv_url=osv_url, allow_unaudited=allow_unaudited,
                      cache_dir=cache_dir, required=True, max_db_age=max_db_age, installed=installed)
    return run_pipeline([check], paths, opts, category="audit", default_to_root=True, named_always=True)
