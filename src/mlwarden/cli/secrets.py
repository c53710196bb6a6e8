"""`mlwarden secrets [PATH…]`: secrets and personal data (the mlwarden-secrets hook)."""

from __future__ import annotations

from pathlib import Path

import click

from mlwarden.cli._common import emit, load_run_config, output_options


@click.command(short_help="Secrets and personal data in code, notebooks and data files.")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@output_options
def secrets(paths: tuple[Path, ...], fmt: str, output: Path | None, fail_on: str | None,
            policy: Path | None) -> int:
    """Find secrets (detect-secrets' plugins and filters, plus Hugging Face, Weights & Biases, Kaggle, OpenAI,
    Anthropic and cloud ML tokens) and validated personal data in PATHS (default: the tree): code and text,
    notebooks cell by cell including outputs, CSV/TSV/JSON/JSONL and parquet files by sampling rows. Also
    data files the policy does not allow and files over its size limit. Secrets known to an existing
    .secrets.baseline, lines with `pragma: allowlist secret` and [[exception]] waivers do not fail. Findings
    never show a secret, only a masked prefix."""
    from mlwarden.cli._common import gather
    from mlwarden.findings import Report
    from mlwarden.policy import load_policy
    from mlwarden.scanning import apply_waivers, check_leaks

    root = Path.cwd()
    config = load_run_config(fail_on, policy, root)
    merged = load_policy(root, config.policy)
    named, found, missing = gather(paths, root, config.exclude, default_to_root=True)
    report = Report(errors=missing)
    report.extend(check_leaks(named + found, root, merged))
    apply_waivers(report, merged)
    return emit(report, fmt=fmt, output=output, fail_on=config.fail_on, category="secrets")
