"""The command line: a click group whose subcommands load lazily. The only place that knows about argv
and exit codes (0 clean, 1 findings at or above --fail-on, 2 usage/configuration/operational error,
130 interrupted)."""

from __future__ import annotations

import importlib
import io
import os
import sys
from collections.abc import Sequence

import click

from mlwarden import __version__
from mlwarden.errors import MlwardenError, PolicyError
from mlwarden.exitcodes import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, EXIT_INTERRUPTED
from mlwarden.redact import redact

__all__ = ["EXIT_CLEAN", "EXIT_ERROR", "EXIT_FINDINGS", "EXIT_INTERRUPTED", "cli", "main"]

_COMMANDS = {
    "allowlist": ("mlwarden.cli.allowlist", "allowlist", "Edit and check the advisor's policy files."),
    "audit": ("mlwarden.cli.deps", "audit", "Known vulnerabilities: offline OSV database or online services."),
    "code": ("mlwarden.cli.code", "code", "Unsafe model loading in .py files and notebooks."),
    "deps": ("mlwarden.cli.deps", "deps", "Pinning, hashes, sources, typosquats of dependencies (offline)."),
    "explain": ("mlwarden.cli.explain", "explain", "Show what a pickle would do, as pseudo-Python."),
    "hf": ("mlwarden.cli.hf", "hf", "Verify and scan Hugging Face downloads (offline)."),
    "models": ("mlwarden.cli.models", "models", "Scan model files (pickles and every container)."),
    "rule": ("mlwarden.cli.rule", "rule", "Explain a rule (or list them all)."),
    "sbom": ("mlwarden.cli.sbom", "sbom", "CycloneDX SBOM: generate, check freshness, validate, diff."),
    "scan": ("mlwarden.cli.scan", "scan", "Run every check over a tree (default: .)."),
    "secrets": ("mlwarden.cli.secrets", "secrets", "Secrets and personal data in code, notebooks and data files."),
}


class LazyGroup(click.Group):
    """Imports a subcommand's module only when that subcommand runs (or its help is shown)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = _COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module = importlib.import_module(entry[0])
        command = getattr(module, entry[1])
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Short help comes from the table above, so --help imports no subcommand module.
        rows = [(name, _COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mlwarden")
@click.option("--color/--no-color", default=None, help="Colour text output (default: on a terminal, unless "
              "NO_COLOR is set).")
@click.option("--debug", is_flag=True, envvar="MLWARDEN_DEBUG", help="Show tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, color: bool | None, debug: bool) -> None:
    """mlwarden guards the supply chain of data-science and ML repositories."""
    if color is None and (os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb"):
        color = False
    ctx.color = color
    ctx.meta["mlwarden.debug"] = debug


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or bool(os.environ.get("MLWARDEN_DEBUG"))
    try:
        result = cli.main(args=args, prog_name="mlwarden", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.UsageError as exc:
        shown = io.StringIO()
        exc.show(file=shown)  # it quotes the offending argument, which may be a URL with a password
        click.echo(redact(shown.getvalue()), err=True, nl=False)
        return EXIT_ERROR
    except (click.Abort, KeyboardInterrupt):
        click.echo("mlwarden: interrupted", err=True)
        return EXIT_INTERRUPTED
    except PolicyError as exc:
        click.echo(redact(f"mlwarden: error: {exc}"), err=True)
        for problem in exc.problems:
            click.echo(redact(f"  {problem}"), err=True)
        return EXIT_ERROR
    except (MlwardenError, click.ClickException) as exc:
        message = exc.format_message() if isinstance(exc, click.ClickException) else str(exc)
        click.echo(redact(f"mlwarden: error: {message}"), err=True)
        return EXIT_ERROR
    except Exception as exc:
        if debug:
            raise
        click.echo(redact(f"mlwarden: internal error: {type(exc).__name__}: {exc} (run with --debug for details)"),
                   err=True)
        return EXIT_ERROR
    return int(result) if isinstance(result, int) else EXIT_CLEAN
