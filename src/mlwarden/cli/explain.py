"""`mlwarden explain FILE`: what the pickles in a file would do, as readable pseudo-Python."""

from __future__ import annotations

from pathlib import Path

import click


@click.command(short_help="Show what a pickle would do, as pseudo-Python.")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--max-lines", type=click.IntRange(min=1), default=200, show_default=True,
              help="Lines of pseudo-Python shown per pickle.")
@click.option("--fail-on", type=click.Choice(["info", "low", "medium", "high", "critical"]), default=None,
              help="Lowest severity that makes the exit code 1 (default: the configuration's, or high).")
@click.option("--policy", type=click.Path(dir_okay=False, path_type=Path), envvar="MLWARDEN_POLICY",
              help="Organisation policy file, layered under the repository's allowlists/.")
def explain(path: Path, max_lines: int, fail_on: str | None, policy: Path | None) -> int:
    """Decompile every pickle in FILE (including those inside torch zips, joblib, NumPy object arrays
    and archives) with fickling, without executing anything, and list the scanner's findings under it.
    Each pickle is headed by its member path inside the container."""
    from mlwarden.cli._common import Options, load_run
    from mlwarden.discover import special_file
    from mlwarden.errors import InputError
    from mlwarden.models.explain import explain_file

    try:
        if not path.is_file():
            raise InputError(f"{path}: no such file")
    except OSError as exc:  # inside a folder it may not enter (Python 3.11 raises)
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if (special := special_file(path)) is not None:
        raise InputError(f"{path}: not read: {special}")
    run = load_run(Options(fail_on=fail_on, policy=policy))
    text, failing = explain_file(path, max_lines=max_lines, display=run.display(path), budgets=run.config.budgets,
                                 extra_safe=run.policy.extra_safe_globals(run.today), fail_on=run.config.fail_on)
    click.echo(text, nl=False)
    return 1 if failing else 0
