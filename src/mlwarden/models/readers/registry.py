"""The readers of this package in one tuple, until the scanner's format table takes them over."""

from __future__ import annotations

from mlwarden.models.readers import distcp, onnxmodel, savedmodel, skopsfile, templates, torchscript, torchserve
from mlwarden.models.readers.base import ReaderFormat

FORMATS: tuple[ReaderFormat, ...] = (savedmodel.FORMAT, onnxmodel.FORMAT, templates.FORMAT, skopsfile.FORMAT,
                                     torchserve.FORMAT, torchserve.MANIFEST_FORMAT, torchscript.FORMAT, distcp.FORMAT)


def matching(head: bytes, name: str, size: int | None) -> list[ReaderFormat]:
    return [fmt for fmt in FORMATS if fmt.sniff(head, name, size)]
