"""`mlwarden hf verify|scan`: Hugging Face cache and local_dir downloads, offline."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mlwarden.cli._common import Options, emit, load_run, output_options

if TYPE_CHECKING:
    from mlwarden.hub.verify import Targets


@click.group(short_help="Verify and scan Hugging Face downloads (offline).")
def hf() -> None:
    """Hugging Face hub cache and local_dir downloads, checked offline."""


def _targets(paths: tuple[Path, ...]) -> Targets:
    from mlwarden.errors import InputError
    from mlwarden.hub.layout import default_cache_dir
    from mlwarden.hub.verify import resolve_targets

    given = list(paths) or [default_cache_dir()]
    missing = [p for p in given if not p.exists()]
    if missing:
        where = "" if paths else " (from HF_HUB_CACHE / HF_HOME / the default location)"
        raise InputError(f"no Hugging Face cache or local_dir at {missing[0]}{where}")
    targets, unknown = resolve_targets(given)
    if unknown:
        raise InputError(f"{unknown[0]} is neither a Hugging Face cache, a cached repository, nor a local_dir "
                         "download (no models--*/datasets--* folders, no .cache/huggingface)")
    return targets


@hf.command(short_help="Check every cached file against its hash, links, manifests and refs.")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Hashing threads (default: one per core).")
@output_options
def verify(paths: tuple[Path, ...], workers: int | None, opts: Options) -> int:
    """Verify caches and local_dir downloads offline (default: the cache huggingface_hub uses, from
    HF_HUB_CACHE, HF_HOME or ~/.cache/huggingface/hub): every blob against its name (sha256 for LFS
    files, git blob sha1 for the others), every snapshot link inside its repository, trees/<commit>.json
    manifests, refs, local_dir .metadata files, and incomplete downloads."""
    from mlwarden.hub.verify import verify as run_verify
    from mlwarden.pipeline import conclude

    run = load_run(opts, lenient_policy=True)  # a broken policy file hides no finding
    targets = _targets(paths)
    start = time.perf_counter()
    report, stats = run_verify(targets, run.root, workers=workers)
    if not opts.quiet:
        _summary(stats.repos, stats.revisions, stats.files, stats.bytes_hashed, time.perf_counter() - start)
    report.inventory["hf_verify"] = {"repositories": stats.repos, "revisions": stats.revisions,
                                     "files": stats.files, "bytes_hashed": stats.bytes_hashed}
    report.checks["hf-verify"] = stats.files
    return emit(conclude(report, run), opts, run, category="hf")


@hf.command(short_help="Scan every cached file, find remote code, hold repos against the policy.")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--verify/--no-verify", "also_verify", default=True, show_default=True,
              help="Also run the integrity checks of `hf verify`.")
@output_options
def scan(paths: tuple[Path, ...], also_verify: bool, opts: Options) -> int:
    """Run every cached file through the model scanner, report remote code (auto_map, custom_pipelines,
    Python files, AST-checked, never imported), and hold every repository and revision against the
    policy's [[hf]] entries (repo or org, approved commits, formats, trust_remote_code, expected hashes).
    The JSON output lists repositories, revisions and verdicts under "inventory"."""
    from mlwarden.hub.scan import scan_hf
    from mlwarden.hub.verify import verify as run_verify
    from mlwarden.pipeline import conclude

    run = load_run(opts, lenient_policy=True)  # a broken policy file hides no finding
    root = run.root
    targets = _targets(paths)
    report = scan_hf(targets, root, run.policy, run.config.budgets, layout_findings=not also_verify)
    report.checks["hf-scan"] = report.files_scanned
    if also_verify:
        start = time.perf_counter()
        checked, stats = run_verify(targets, root)
        report.findings.extend(checked.findings)
        report.errors.extend(checked.errors)
        report.checks["hf-verify"] = stats.files
        if not opts.quiet:
            _summary(stats.repos, stats.revisions, stats.files, stats.bytes_hashed, time.perf_counter() - start)
    return emit(conclude(report, run), opts, run, category="hf")


def _summary(repos: int, revisions: int, files: int, hashed: int, seconds: float) -> None:
    rate = hashed / seconds / 1e6 if seconds > 0 else 0.0
    click.echo(f"mlwarden: verified {repos} repositor{'y' if repos == 1 else 'ies'}, {revisions} revision(s), "
               f"{files} file(s), {hashed / 1e6:,.1f} MB hashed in {seconds:.2f} s ({rate:,.0f} MB/s)", err=True)
