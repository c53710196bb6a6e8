"""`mlwarden code FILE…`: unsafe model loading in Python files and notebooks (the mlwarden-code hook)."""

from __future__ import annotations

from pathlib import Path

import click

from mlwarden.cli._common import emit, load_run_config, output_options


@click.command(short_help="Unsafe model loading in .py files and notebooks.")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@output_options
def code(paths: tuple[Path, ...], fmt: str, output: Path | None, fail_on: str | None, policy: Path | None) -> int:
    """Check Python files and notebooks (directories: every .py and .ipynb under them) for unpinned Hub
    downloads and repositories the policy does not allow, trust_remote_code=True, torch.load without
    weights_only=True, pickle/dill/joblib/pandas/numpy loads of pickles, Keras load_model without safe
    mode, yaml.load without a safe loader, tar extraction without a filter and custom-op libraries.
    Notebooks are read cell by cell: findings name the cell and the line inside it."""
    from mlwarden.cli._common import gather
    from mlwarden.findings import Report
    from mlwarden.policy import load_policy
    from mlwarden.scanning import apply_waivers, check_code

    root = Path.cwd()
    config = load_run_config(fail_on, policy, root)
    merged = load_policy(root, config.policy)
    named, found, missing = gather(paths, root, config.exclude, default_to_root=False)
    report = Report(errors=missing)
    report.extend(check_code(named + found, root, merged, explicit=set(named)))
    apply_waivers(report, merged)
    return emit(report, fmt=fmt, output=output, fail_on=config.fail_on, category="code")
