"""Options shared by every checking command, and the step from a Report to output and an exit code."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from mlwarden.config import Config, load_config
from mlwarden.errors import ConfigError
from mlwarden.findings import Report, ScanError, Severity
from mlwarden.output import FORMATS, get_formatter

F = TypeVar("F", bound=Callable[..., Any])


def output_options(func: F) -> F:
    func = click.option("--format", "fmt", type=click.Choice(FORMATS), envvar="MLWARDEN_FORMAT",
                        default="text", show_default=True, help="Output format.")(func)
    func = click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
                        help="Write the report to this file instead of stdout.")(func)
    func = click.option("--fail-on", type=click.Choice([s.label for s in Severity]), default=None,
                        help="Lowest severity that makes the exit code 1 (default: high, or the "
                        "configuration's fail-on).")(func)
    func = click.option("--policy", type=click.Path(dir_okay=False, path_type=Path), envvar="MLWARDEN_POLICY",
                        help="Organisation policy file, layered under the repository's allowlists/.")(func)
    return func


def load_run_config(fail_on: str | None, policy: Path | None, root: Path | None = None) -> Config:
    config = load_config(root or Path.cwd())
    return config.with_overrides(
        fail_on=Severity.parse(fail_on) if fail_on else None,
        policy=str(policy) if policy else None,
    )


def gather(paths: tuple[Path, ...], root: Path, exclude: tuple[str, ...], *,
           default_to_root: bool) -> tuple[list[Path], list[Path], list[ScanError]]:
    """The files named on the command line, the files found under the folders named (the whole tree when
    nothing is named and ``default_to_root``), and an error for every path that does not exist."""
    from mlwarden.paths import display_path

    named = [p for p in paths if p.is_file()]
    folders = [p for p in paths if p.is_dir()] or ([root] if default_to_root and not paths else [])
    found: list[Path] = []
    if folders:
        from mlwarden.walk import iter_files

        found = list(iter_files(folders, root, exclude))
    missing = [ScanError(display_path(p, root), "no such file") for p in paths if not p.exists()]
    return named, found, missing


def emit(report: Report, *, fmt: str, output: Path | None, fail_on: Severity, category: str) -> int:
    """Write the report (stdout or --output, atomically), the summary to stderr; return the exit code."""
    from mlwarden.output.text import summary

    ctx = click.get_current_context()
    color = bool(ctx.color) if ctx.color is not None else (output is None and sys.stdout.isatty())
    document = get_formatter(fmt, color=color and fmt == "text", category=category).format(report, fail_on)
    if output is None:
        click.echo(document, nl=False, color=color)
    else:
        write_atomic(output, document)
    click.echo(summary(report, fail_on), err=True)
    from mlwarden.cli import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS

    worst = report.worst()
    if worst is not None and worst >= fail_on:
        return EXIT_FINDINGS
    return EXIT_ERROR if report.errors else EXIT_CLEAN


def write_atomic(path: Path, text: str) -> None:
    from mlwarden.fileio import write_atomic as _write

    try:
        _write(path, text)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
