"""`mlwarden models FILE…`: scan model files (the mlwarden-models hook)."""

from __future__ import annotations

from pathlib import Path

import click

from mlwarden.cli._common import emit, load_run_config, output_options


@click.command(short_help="Scan model files (pickles and every container).")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--all-files", is_flag=True, help="Scan every file given, even those whose bytes do not look "
              "like a model format (by default directories are filtered by content).")
@output_options
def models(paths: tuple[Path, ...], all_files: bool, fmt: str, output: Path | None, fail_on: str | None,
           policy: Path | None) -> int:
    """Scan model files and directories by content: pickles of every protocol, PyTorch (zip, legacy,
    TorchScript), joblib, NumPy, safetensors, Keras, GGUF, and zip/tar/7z/compressed wrappers.

    Files named on the command line are always examined; files found inside directories only when
    their bytes look like a supported format.
    """
    from mlwarden.findings import Report, ScanError
    from mlwarden.paths import display_path
    from mlwarden.policy import load_policy
    from mlwarden.scanning import apply_waivers, scan_models

    root = Path.cwd()
    config = load_run_config(fail_on, policy, root)
    merged = load_policy(root, config.policy)
    report = Report()
    explicit = [p for p in paths if not p.is_dir()]
    for path in explicit:
        if not path.exists() and not path.is_symlink():
            report.errors.append(ScanError(display_path(path, root), "no such file"))
    existing = [p for p in explicit if p.exists()]
    report.extend(scan_models(existing, root, config, merged, sniff_first=False))
    folders = [p for p in paths if p.is_dir()]
    if folders:
        from mlwarden.walk import iter_files

        found = iter_files(folders, root, config.exclude)
        report.extend(scan_models(found, root, config, merged, sniff_first=not all_files))
    apply_waivers(report, merged)
    return emit(report, fmt=fmt, output=output, fail_on=config.fail_on, category="models")
