"""`mlwarden scan [PATH…]`: the main job, every check over a tree."""

from __future__ import annotations

from pathlib import Path

import click

from mlwarden.cli._common import Options, output_options, run_pipeline

SCAN_CHECKS = ("models", "code", "deps", "secrets")


@click.command(short_help="Run every check over a tree (default: .).")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--since", metavar="REF", help="Only files added or changed since the merge base with REF "
              "(e.g. origin/main): what a branch adds.")
@output_options
def scan(paths: tuple[Path, ...], since: str | None, opts: Options) -> int:
    """Check PATHS (default: the whole repository, from any subfolder). Inside git, the files are those git
    knows (tracked, force-added ones too, and untracked files that are not ignored); the configuration's
    `exclude`, --exclude and .mlwardenignore apply. Each file goes to every check that wants it.

    Checks: model files by content (pickle and every container); unsafe model loading in .py files and
    notebooks; dependency files (pinning, hashes, sources, typosquats, and known vulnerabilities when
    osv-db is configured); secrets and personal data in code, notebooks and data files; the policy's own
    entries (expired and expiring allowlist entries and waivers). The report ends with what was checked
    and what was not.
    """
    return run_pipeline(SCAN_CHECKS, paths, opts, category="scan", default_to_root=True, expiry=True,
                        since=since)
