"""What every checking command shares: its options, the step from argv to a Run and Targets (`start`),
and the step from a concluded Report to output and an exit code (`emit`)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from mlwarden.errors import ConfigError
from mlwarden.exitcodes import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS
from mlwarden.findings import Report, Severity
from mlwarden.output import FORMATS, get_formatter

if TYPE_CHECKING:
    from mlwarden.discover import Targets
    from mlwarden.pipeline import Run

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Options:
    """The options every checking command takes, packed once."""

    fmt: str = "text"
    output: Path | None = None
    fail_on: str | None = None
    policy: Path | None = None
    exclude: tuple[str, ...] = ()
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    quiet: bool = False
    show_suppressed: bool = False
    staged: bool = False


def _split(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(v.strip() for value in values for v in value.split(",") if v.strip())


def format_for(output: Path | None) -> str:
    """The report format an output file's name asks for: `-o out.sarif` is SARIF, as GitHub's upload expects."""
    name = output.name.lower() if output is not None else ""
    if name.endswith((".sarif", ".sarif.json")):
        return "sarif"
    return "json" if name.endswith(".json") else "text"


def output_options(func: F) -> F:
    """Adds the shared options and passes them to the command as one ``opts: Options`` argument."""
    import functools

    @functools.wraps(func)
    def wrapper(*args: Any, fmt: str | None, output: Path | None, fail_on: str | None, policy: Path | None,
                exclude: tuple[str, ...], select: tuple[str, ...], ignore: tuple[str, ...], quiet: bool,
                show_suppressed: bool, staged: bool, **kwargs: Any) -> Any:
        opts = Options(fmt or format_for(output), output, fail_on, policy, _split(exclude), _split(select),
                       _split(ignore), quiet, show_suppressed, staged)
        return func(*args, opts=opts, **kwargs)

    options = [
        click.option("--format", "fmt", type=click.Choice(FORMATS), envvar="MLWARDEN_FORMAT", default=None,
                     help="Output format (default: from the -o file's suffix, .sarif or .json, else text)."),
        click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
                     help="Write the report to this file instead of stdout (atomically)."),
        click.option("--fail-on", type=click.Choice([s.label for s in Severity]), default=None,
                     help="Lowest severity that makes the exit code 1 (default: high, or the configuration's "
                     "fail-on)."),
        click.option("--policy", type=click.Path(dir_okay=False, path_type=Path), envvar="MLWARDEN_POLICY",
                     help="Organisation policy file, layered under the repository's allowlists/."),
        click.option("--exclude", multiple=True, metavar="GLOB",
                     help="Skip files matching this gitignore-style pattern (repeatable, or comma-separated)."),
        click.option("--select", multiple=True, metavar="RULES",
                     help="Report only these rule ids or prefixes (e.g. MW1,MW401)."),
        click.option("--ignore", multiple=True, metavar="RULES", help="Never report these rule ids or prefixes."),
        click.option("-q", "--quiet", is_flag=True, help="No summary on stderr; text output lists findings only."),
        click.option("--show-suppressed", is_flag=True,
                     help="Also list findings suppressed inline (# noqa: MWxxx) in the report."),
        click.option("--staged", is_flag=True,
                     help="Judge the staged (index) version of the files named, not the working tree."),
    ]
    decorated: Any = wrapper
    for option in reversed(options):
        decorated = option(decorated)
    return decorated  # type: ignore[no-any-return]


def load_run(opts: Options, start_dir: Path | None = None, *, lenient_policy: bool = False) -> Run:
    """Configuration and policy from the repository root (found from any subfolder). With ``lenient_policy``
    (the checking commands) an invalid policy file is an error of the report, not of the run."""
    from mlwarden.config import load_config, rule_ids
    from mlwarden.discover import repo_root
    from mlwarden.pipeline import Run
    from mlwarden.policy import load_policy

    root = repo_root(start_dir)
    config = load_config(root)
    config = config.with_overrides(
        fail_on=Severity.parse(opts.fail_on) if opts.fail_on else None,
        policy=str(opts.policy) if opts.policy else None,
    )
    rule_ids(list(opts.select), "--select", "select")
    rule_ids(list(opts.ignore), "--ignore", "ignore")
    config = replace(config, exclude=(*config.exclude, *opts.exclude), select=(*config.select, *opts.select),
                     ignore=(*config.ignore, *opts.ignore))
    policy_file = config.policy
    if policy_file and not Path(policy_file).is_absolute() and not opts.policy:
        policy_file = str(root / policy_file)  # a configuration's path is relative to the repository
    if not lenient_policy:
        return Run(root=root, config=config, policy=load_policy(root, policy_file))
    from mlwarden.findings import ScanError
    from mlwarden.policy.load import load_policy_for_checks

    policy, broken, problems = load_policy_for_checks(root, policy_file)
    if problems:  # every problem, as `allowlist check` lists them; the report names the files not applied
        from mlwarden.redact import redact

        click.echo(f"mlwarden: error: invalid policy ({len(problems)} problem{'s' if len(problems) > 1 else ''}); "
                   "checking without the files named below", err=True)
        for problem in problems:
            click.echo(redact(f"  {problem}"), err=True)
    return Run(root=root, config=config, policy=policy,
               policy_errors=tuple(ScanError(name, why) for name, why in broken))


def targets_for(paths: Sequence[Path], run: Run, *, default_to_root: bool, since: str | None = None,
                untracked: bool = True) -> Targets:
    from mlwarden.discover import gather

    return gather(paths, run.root, run.config.exclude, default_to_root=default_to_root, since=since,
                  untracked=untracked)


@contextmanager
def staged_view(targets: Targets, run: Run, staged: bool) -> Iterator[tuple[Targets, Run]]:
    """With --staged, the named files are replaced by copies of their index version in a private folder
    laid out like the repository; findings still name the repository paths."""
    if not staged:
        yield targets, run
        return
    import tempfile

    from mlwarden.discover import staged_copies

    with tempfile.TemporaryDirectory(prefix="mlwarden-staged-") as tmp:
        copies, _ = staged_copies([*targets.named, *targets.found], run.root, Path(tmp))
        staged_targets = replace(targets, named=copies, found=[])
        yield staged_targets, replace(run, content_root=Path(tmp))


def run_pipeline(checks: Sequence[str] | Sequence[Any], paths: Sequence[Path], opts: Options, *,
                 category: str, default_to_root: bool, named_always: bool = False, expiry: bool = False,
                 since: str | None = None) -> int:
    """The whole of a checking command: configuration, targets, checks, policy, output, exit code."""
    from mlwarden.pipeline import conclude, run_checks

    run = load_run(opts, lenient_policy=True)
    targets = targets_for(paths, run, default_to_root=default_to_root, since=since)
    with staged_view(targets, run, opts.staged) as (chosen, view):
        report = run_checks(checks, chosen, view, named_always=named_always)
        report = conclude(report, view, expiry=expiry)
    return emit(report, opts, run, category=category)


def emit(report: Report, opts: Options, run: Run | None = None, *, category: str,
         fail_on: Severity | None = None) -> int:
    """Write the report (stdout or --output, atomically), the summary to stderr; return the exit code."""
    from mlwarden.output.text import summary

    threshold = fail_on or (run.config.fail_on if run else Severity.HIGH)
    ctx = click.get_current_context()
    color = bool(ctx.color) if ctx.color is not None else (opts.output is None and sys.stdout.isatty())
    formatter = get_formatter(opts.fmt, color=color and opts.fmt == "text", category=category, quiet=opts.quiet,
                              show_suppressed=opts.show_suppressed)
    document = formatter.format(report, threshold)
    if opts.output is None:
        click.echo(document, nl=False, color=color)
    else:
        write_atomic(opts.output, document)
    if not opts.quiet:
        click.echo(summary(report, threshold), err=True)
    worst = report.worst()
    if worst is not None and worst >= threshold:
        return EXIT_FINDINGS
    return EXIT_ERROR if report.errors else EXIT_CLEAN


def write_atomic(path: Path, text: str) -> None:
    from mlwarden.errors import MlwardenError
    from mlwarden.fileio import write_atomic as _write

    try:
        _write(path, text)
    except MlwardenError:
        raise
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
