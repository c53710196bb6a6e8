"""`mlwarden models PATH…`: scan model files (the mlwarden-models hook)."""

from __future__ import annotations

from pathlib import Path

import click

from mlwarden.cli._common import Options, output_options, run_pipeline


@click.command(short_help="Scan model files (pickles and every container).")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--all-files", is_flag=True, help="Scan every file, even those whose bytes do not look like a "
              "model format.")
@output_options
def models(paths: tuple[Path, ...], all_files: bool, opts: Options) -> int:
    """Scan model files by content: pickles of every protocol, PyTorch (zip, legacy, TorchScript), joblib,
    NumPy, safetensors, Keras, GGUF, and zip/tar/7z/compressed wrappers.

    Every file named or found under a folder named is recognised by its bytes, never by its name: a pickle
    named notes.txt is scanned, a text file named model.pkl is not a model (--all-files scans everything).
    """
    from mlwarden.models.check import ModelCheck

    return run_pipeline([ModelCheck(sniff=not all_files)], paths, opts, category="models", default_to_root=False)
