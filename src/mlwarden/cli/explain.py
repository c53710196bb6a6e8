"""`mlwarden explain FILE`: what the pickles in a file would do, as readable pseudo-Python."""

from __future__ import annotations

from pathlib import Path

import click


@click.command(short_help="Show what a pickle would do, as pseudo-Python.")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--max-lines", type=click.IntRange(min=1), default=200, show_default=True,
              help="Lines of pseudo-Python shown per pickle.")
def explain(path: Path, max_lines: int) -> int:
    """Decompile every pickle in FILE (including those inside torch zips, joblib, NumPy object arrays
    and archives) with fickling, without executing anything, and list the scanner's findings under it.
    Each pickle is headed by its member path inside the container."""
    from mlwarden.errors import InputError
    from mlwarden.models.explain import explain_file

    if not path.is_file():
        raise InputError(f"{path}: no such file")
    text, failing = explain_file(path, max_lines=max_lines)
    click.echo(text, nl=False)
    return 1 if failing else 0
