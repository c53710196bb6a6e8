"""The readers of this package, as entries whose sniff is light (readers/sniffs.py) and whose reader module is
imported only when a blob matched: a hook that sees one pickle imports none of them."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mlwarden.models.readers import sniffs


@dataclass(frozen=True)
class LazyReader:
    """A reader format (name, sniff, scan, seekable) whose scan lives in ``module``."""

    name: str
    sniff: Callable[[bytes, str, int | None], bool]
    module: str
    scan_attr: str = "scan"
    seekable: bool = True

    def scan(self, blob: Any, scan: Any) -> None:
        reader = importlib.import_module(f"mlwarden.models.readers.{self.module}")
        getattr(reader, self.scan_attr)(blob, scan)


FORMATS: tuple[LazyReader, ...] = (
    LazyReader("tf-savedmodel", sniffs.savedmodel, "savedmodel"),
    LazyReader("onnx", sniffs.onnx, "onnxmodel"),
    LazyReader("chat-template", sniffs.template, "templates"),
    LazyReader("skops", sniffs.skops, "skopsfile"),
    LazyReader("torchserve-mar", sniffs.torchserve, "torchserve"),
    LazyReader("torchserve-manifest", sniffs.torchserve_manifest, "torchserve", "scan_manifest"),
    LazyReader("torchscript-code", sniffs.torchscript, "torchscript"),
    LazyReader("torch-distcp", sniffs.distcp, "distcp"),
)


def matching(head: bytes, name: str, size: int | None) -> list[LazyReader]:
    return [fmt for fmt in FORMATS if fmt.sniff(head, name, size)]
