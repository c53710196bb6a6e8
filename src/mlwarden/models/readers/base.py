"""What every reader returns, and the shape of the adapter the scanner's format table calls."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO, NamedTuple, Protocol

from mlwarden.findings import Severity
from mlwarden.rules import FORMAT_NOT_INSPECTED

MAX_DOCUMENT = 64 << 20  # largest metadata document (JSON, YAML, protobuf) a reader loads into memory


class Problem(NamedTuple):
    """One finding of a reader: rule id, member inside the file (or None), message, stable key."""

    rule: str
    member: str | None
    message: str
    key: str
    severity: Severity | None = None  # None: the rule's default


@dataclass
class Nested:
    """Bytes a loader deserialises (a pickle inside a checkpoint, an archive inside a storage file): scan them
    too. Either ``data``, or a range (``start``, ``length``) of the file being read, for large payloads."""

    label: str
    data: bytes
    start: int = 0
    length: int = -1  # -1: the payload is ``data``


@dataclass
class Report:
    problems: list[Problem] = field(default_factory=list)
    nested: list[Nested] = field(default_factory=list)
    formats: list[str] = field(default_factory=list)

    def add(self, rule: str, member: str | None, message: str, key: str,
            severity: Severity | None = None) -> None:
        self.problems.append(Problem(rule, member, message, key, severity))

    def unverifiable(self, member: str | None, why: str, key: str) -> None:
        """Fail closed: a model-like file we could not read fully is a finding, never silence."""
        self.add(FORMAT_NOT_INSPECTED, member, f"could not be verified: {why}", key, Severity.HIGH)


class Blob(Protocol):
    file: BinaryIO
    size: int
    name: str
    member: str | None


class Scan(Protocol):
    def add(self, rule_id: str, member: str | None, message: str, key: str,
            severity: Severity | None = None, evidence: str = "") -> None: ...

    def nested(self, data: bytes | tuple[int, int], member_label: str) -> None:
        """Scan bytes, or a (start, length) range of the blob's file, as a file of its own."""


@dataclass(frozen=True)
class ReaderFormat:
    """Same fields as the scanner table's ``Format``: sniff(head, name, size) and scan(blob, scan)."""

    name: str
    sniff: Callable[[bytes, str, int | None], bool]
    scan: Callable[[Blob, Scan], None]
    seekable: bool


def emit(report: Report, scan: Scan, member: str | None) -> None:
    """Hand a report to the scanner: problems as findings, nested payloads to be scanned in turn."""
    for p in report.problems:
        scan.add(p.rule, join(member, p.member), p.message, p.key, p.severity)
    for n in report.nested:
        scan.nested(n.data if n.length < 0 else (n.start, n.length), join(member, n.label) or n.label)


def join(outer: str | None, inner: str | None) -> str | None:
    if outer and inner:
        return f"{outer}/{inner}"
    return outer or inner


def basename(name: str) -> str:
    return name.replace("\\", "/").rsplit("/", 1)[-1]


def map_or_read(f: BinaryIO, limit: int) -> bytes | memoryview:
    """The file's bytes for a protobuf walk: memory-mapped when the file has a descriptor (a 2 GB ONNX model
    then costs only the pages its headers sit on; tensor data is sliced past, never touched), else read."""
    import mmap

    try:
        fileno = f.fileno()
    except (OSError, AttributeError, ValueError):
        return read_limited(f, limit)
    size = os.fstat(fileno).st_size
    if size > limit:
        raise ValueError(f"larger than the {limit >> 20} MiB a metadata document may be")
    if size == 0:
        return b""
    return memoryview(mmap.mmap(fileno, 0, access=mmap.ACCESS_READ))


def read_limited(f: BinaryIO, limit: int = MAX_DOCUMENT) -> bytes:
    """The whole file if it fits the limit; raises ValueError otherwise (a finding for the caller)."""
    f.seek(0)
    data = f.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"larger than the {limit >> 20} MiB a metadata document may be")
    return data
