"""`mlwarden secrets [PATH…]`: secrets and personal data (the mlwarden-secrets hook)."""

from __future__ import annotations

from pathlib import Path

import click

from mlwarden.cli._common import Options, output_options, run_pipeline


@click.command(short_help="Secrets and personal data in code, notebooks and data files.")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@output_options
def secrets(paths: tuple[Path, ...], opts: Options) -> int:
    """Find secrets (detect-secrets' plugins and filters, plus Hugging Face, Weights & Biases, Kaggle, OpenAI,
    Anthropic and cloud ML tokens) and validated personal data in PATHS (default: the tree): code and text,
    notebooks cell by cell including outputs, CSV/TSV/JSON/JSONL and parquet files by sampling rows. Also
    data files the policy does not allow and files over its size limit. Secrets known to an existing
    .secrets.baseline, lines with `pragma: allowlist secret` or `# noqa: MW401`, and [[exception]] waivers do
    not fail. Findings never show a secret, only a masked prefix."""
    return run_pipeline(["secrets"], paths, opts, category="secrets", default_to_root=True)
