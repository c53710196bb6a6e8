"""The format table: every model format the scanner reads, as one module each and one entry here.

The router (models/scanner.py) tries EVERY format whose sniff matches a blob, not the first: a file that
parses as two formats is scanned as both and the worst finding wins. Order only fixes the order of reports.
To add a format: write ``formats/<name>.py`` exposing ``FORMAT = Format(name, sniff, scan, seekable, names)``
(see base.py) and add it below.
"""

from __future__ import annotations

from mlwarden.models.formats import (
    compressed,
    executable,
    gguf,
    keras,
    npy,
    pickle_,
    safetensors,
    sevenz,
    tar,
    zip_,
)
from mlwarden.models.formats.base import Blob, Format, Scan, StopScan
from mlwarden.models.readers import table as readers_table

FORMATS: tuple[Format, ...] = (
    zip_.FORMAT,
    sevenz.FORMAT,
    npy.FORMAT,
    keras.HDF5,
    keras.CONFIG,
    gguf.FORMAT,
    tar.FORMAT,
    *compressed.FORMATS,
    safetensors.FORMAT,
    executable.FORMAT,
    pickle_.FORMAT,
    *readers_table.table_formats(Format),  # models/readers: SavedModel, ONNX, templates, skops, .mar, …
)
BY_NAME: dict[str, Format] = {fmt.name: fmt for fmt in FORMATS}
# The readers' adapter records their names itself, only when a reader really read the blob (their sniffs are
# broad: every zip may hold TorchScript code).
SELF_REPORTING: frozenset[str] = frozenset(fmt.name for fmt in readers_table.table_formats(Format))

# The readers' pure functions, for callers and tests that used models/formats.py.
check_safetensors = safetensors.check_safetensors
gguf_templates = gguf.gguf_templates
GGUFError = gguf.GGUFError
check_template = gguf.check_template
check_keras_config = keras.check_keras_config


def npy_header(f: object) -> tuple[str, int]:
    """The dtype description (as text) of a .npy stream and the offset of its data; raises ValueError."""
    header, offset = npy.read_header(f)
    return repr(header["descr"]), offset


def matching(head: bytes, name: str, size: int | None) -> list[Format]:
    """Every format whose sniff accepts the blob (a sniff that raises counts as no)."""
    found = []
    for fmt in FORMATS:
        try:
            if fmt.sniff(head, name, size):
                found.append(fmt)
        except Exception:  # noqa: BLE001, S112 - a sniff is a guess over hostile bytes; a crash means "not this one"
            continue
    return found


__all__ = ["BY_NAME", "FORMATS", "Blob", "Format", "Scan", "StopScan", "matching"]
