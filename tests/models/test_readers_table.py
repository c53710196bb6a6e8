"""The readers plug into the scanner's format table through readers.table (a stand-in Format and Scan here)."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests import payloads
from tests.models import pbuild as pb


@dataclass(frozen=True)
class _Format:
    name: str
    sniff: Any
    scan: Any
    seekable: bool = False
    names: tuple[str, ...] = field(default=())


@dataclass
class _Blob:
    file: Any
    size: int
    name: str
    member: str | None


class _Scan:
    def __init__(self) -> None:
        self.formats: list[str] = []
        self.found: list[tuple[str, str | None]] = []
        self.nested_payloads: list[tuple[bytes, str | None, str]] = []

    def add(self, rule_id: str, member: str | None, message: str, key: str, severity: Any = None,
            evidence: str = "") -> None:
        self.found.append((rule_id, member))

    def nested(self, data: Any, member: str | None, *, name: str = "", as_format: str | None = None) -> None:
        self.nested_payloads.append((data if isinstance(data, bytes) else data.read(), member, name))


def test_table_entries_scan_and_nest() -> None:
    from mlwarden.models.readers.table import table_formats

    formats = {f.name: f for f in table_formats(_Format)}
    assert formats["onnx"].names == ("*.onnx",)
    assert all(f.seekable for f in formats.values())

    data = pb.saved_model(pb.graph([pb.node("cb", "PyFunc")]))
    scan = _Scan()
    assert formats["tf-savedmodel"].sniff(data[:4096], "saved_model.pb", len(data))
    formats["tf-savedmodel"].scan(_Blob(io.BytesIO(data), len(data), "saved_model.pb", "m/saved_model.pb"), scan)
    assert scan.found == [("MW130", "m/saved_model.pb")]
    assert scan.formats == ["tf-savedmodel"]

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("a/data.pkl", payloads.os_system(Path("/nonexistent/marker")))
    storage = b"RAWPICKLE" + archive.getvalue()
    scan = _Scan()
    formats["torch-distcp"].scan(_Blob(io.BytesIO(storage), len(storage), "__0_0.distcp", None), scan)
    assert [(d[:4], m) for d, m, _ in scan.nested_payloads] == [(b"RAWP", "@0-9"), (b"PK\x03\x04", "@9(torch.save)")]
