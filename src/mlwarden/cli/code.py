"""`mlwarden code PATH…`: unsafe model loading in Python files and notebooks (the mlwarden-code hook)."""

from __future__ import annotations

from pathlib import Path

import click

from mlwarden.cli._common import Options, output_options, run_pipeline


@click.command(short_help="Unsafe model loading in .py files and notebooks.")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@output_options
def code(paths: tuple[Path, ...], opts: Options) -> int:
    """Check Python files and notebooks (directories: every .py and .ipynb under them) for unpinned Hub
    downloads and repositories the policy does not allow, trust_remote_code=True, torch.load without
    weights_only=True, pickle/dill/joblib/pandas/numpy loads of pickles, Keras load_model without safe
    mode, yaml.load without a safe loader, tar extraction without a filter and custom-op libraries.
    Notebooks are read cell by cell: findings name the cell as Jupyter shows it and the line inside it."""
    return run_pipeline(["code"], paths, opts, category="code", default_to_root=False, named_always=True)
