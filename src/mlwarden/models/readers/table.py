"""The readers as entries of the scanner's format table (``mlwarden.models.formats``, whose ``Format``,
``Blob`` and ``Scan`` live in ``formats/base.py``). Wiring is one line in that table:

    FORMATS = (..., *readers.table.table_formats())

The adapter maps this package's two differences: a nested payload given as a (start, length) range of the blob
becomes a stream over that range, and ``names`` says which file names must fail closed when no reader can read
them."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from mlwarden.models.readers import registry
from mlwarden.models.readers.registry import LazyReader

# File names that mean "this is that format": unreadable, they are reported as not verified (table semantics).
NAMES: dict[str, tuple[str, ...]] = {
    "tf-savedmodel": ("saved_model.pb", "saved_model.pbtxt", "keras_metadata.pb"),
    "onnx": ("*.onnx",),
    "chat-template": ("tokenizer_config.json", "chat_template.json", "chat_template.jinja"),
    "skops": ("*.skops",),
    "torchserve-mar": ("*.mar",),
    "torchserve-manifest": ("*/mar-inf/manifest.json",),
    "torchscript-code": (),
    "torch-distcp": ("*.distcp",),
}


class _TableScan:
    """This package's Scan protocol over the table's Scan."""

    def __init__(self, scan: Any, blob: Any) -> None:
        self._scan, self._blob = scan, blob

    def add(self, rule_id: str, member: str | None, message: str, key: str, severity: Any = None,
            evidence: str = "") -> None:
        self._scan.add(rule_id, member, message, key, severity, evidence)

    def nested(self, data: bytes | tuple[int, int], member_label: str) -> None:
        if isinstance(data, tuple):
            from mlwarden.models.streams import RangeReader

            start, length = data
            self._scan.nested(RangeReader(self._blob.file, start, length), member_label, name=member_label)
        else:
            self._scan.nested(data, member_label, name=member_label)


def _adapt(reader: LazyReader) -> Callable[[Any, Any], None]:
    def scan(blob: Any, table_scan: Any) -> None:
        reader.scan(blob, _TableScan(table_scan, blob))
        formats = getattr(table_scan, "formats", None)
        if isinstance(formats, list) and reader.name not in formats and reader.name != "torchscript-code":
            formats.append(reader.name)

    return scan


def table_formats(format_cls: Any = None) -> tuple[Any, ...]:
    """The readers as ``Format`` entries (``format_cls`` defaults to ``mlwarden.models.formats.base.Format``)."""
    if format_cls is None:
        format_cls = importlib.import_module("mlwarden.models.formats.base").Format
    return tuple(format_cls(reader.name, reader.sniff, _adapt(reader), reader.seekable, NAMES.get(reader.name, ()))
                 for reader in registry.FORMATS)
