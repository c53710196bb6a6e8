"""Plugs the readers of ``mlwarden.models.readers`` (SavedModel, ONNX, chat templates, skops, TorchServe .mar,
TorchScript code, distributed checkpoints; written on another branch against the same interface) into the
format table, if that package is present.

Their ``Scan.nested`` also takes a ``(start, length)`` range of the blob's file (an archive carved out of a
storage file): it becomes a stream over that range here. Their sniffs take the full path, their blobs a base name.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any

from mlwarden.models.formats.base import Blob, Format, Scan
from mlwarden.models.streams import RangeReader, Readable


def _basename(name: str) -> str:
    return name.replace("\\", "/").rsplit("/", 1)[-1]


class _RangeScan:
    """Their Scan over ours: ranges of the blob's file become streams."""

    def __init__(self, scan: Scan, blob: Blob) -> None:
        self._scan = scan
        self._blob = blob

    def add(self, rule_id: str, member: str | None, message: str, key: str, severity: Any = None,
            evidence: str = "") -> None:
        self._scan.add(rule_id, member, message, key, severity, evidence)

    def nested(self, data: bytes | tuple[int, int] | Readable, member_label: str | None, **kw: Any) -> None:
        if isinstance(data, tuple):
            start, length = data
            data = RangeReader(self._blob.file, start, length)
        self._scan.nested(data, member_label, **kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._scan, name)


def _adapt(reader: Any) -> Format:
    def sniff(head: bytes, name: str, size: int | None) -> bool:
        return bool(reader.sniff(head, name, size))  # the full path: some live under fixed folders (MAR-INF/)

    def scan(blob: Blob, outer: Scan) -> None:
        reader.scan(dataclasses.replace(blob, name=_basename(blob.name)), _RangeScan(outer, blob))

    return Format(str(reader.name), sniff, scan, seekable=bool(getattr(reader, "seekable", True)),
                  names=tuple(getattr(reader, "names", ())))


def reader_formats() -> tuple[Format, ...]:
    try:
        registry = importlib.import_module("mlwarden.models.readers.registry")
    except ImportError:
        return ()
    return tuple(_adapt(reader) for reader in getattr(registry, "FORMATS", ()))
