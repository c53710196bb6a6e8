"""torch.distributed.checkpoint storage files (``*.distcp``).

``FileSystemWriter`` appends one ``torch.save`` archive per item to a storage file: tensors (which
``FileSystemReader`` loads with ``weights_only=True``) and every non-tensor item (loaded by the default planner
with ``torch.load(weights_only=False)``, that is an unrestricted unpickle). The items sit back to back, so this
reader carves every archive by its end-of-central-directory record and hands each to the scanner; bytes no
archive covers are handed over too, so a raw pickle between archives is read as well. The ``.metadata`` file
beside them is a plain pickle and is recognised by content."""

from __future__ import annotations

import struct
from collections.abc import Iterator

from mlwarden.models.readers import sniffs
from mlwarden.models.readers.base import Blob, Nested, ReaderFormat, Report, Scan

_EOCD = b"PK\x05\x06"
_LOCAL = b"PK\x03\x04"
_CHUNK = 16 << 20


def _find_all(f: Blob, needle: bytes) -> Iterator[int]:
    """Offsets of ``needle`` in the file, streamed in chunks (storage files are as large as the model)."""
    pos, carry = 0, b""
    f.file.seek(0)
    while True:
        chunk = f.file.read(_CHUNK)
        if not chunk:
            return
        data = carry + chunk
        base = pos - len(carry)
        i = data.find(needle)
        while i >= 0:
            yield base + i
            i = data.find(needle, i + 1)
        carry = data[-(len(needle) - 1):]
        pos += len(chunk)


def _read_at(blob: Blob, offset: int, n: int) -> bytes:
    blob.file.seek(offset)
    return blob.file.read(n)


def archives(blob: Blob) -> list[tuple[int, int]]:
    """(start, length) of each zip archive in the file, validated by a local header at its computed start."""
    found: list[tuple[int, int]] = []
    for eocd in _find_all(blob, _EOCD):
        record = _read_at(blob, eocd, 22)
        if len(record) < 22:
            continue
        _, _, _, _, _, cd_size, cd_offset, comment = struct.unpack("<4sHHHHIIH", record)
        end = eocd + 22 + comment
        cd_end = eocd
        z64 = _zip64(blob, eocd)
        if z64 is not None:  # torch (miniz) always writes the zip64 record and locator before the EOCD
            big_size, big_offset, cd_end = z64
            cd_size = big_size if cd_size == 0xFFFFFFFF else cd_size
            cd_offset = big_offset if cd_offset == 0xFFFFFFFF else cd_offset
        elif 0xFFFFFFFF in (cd_size, cd_offset):
            continue
        start = cd_end - cd_size - cd_offset
        if start < 0 or end > blob.size or _read_at(blob, start, 4) != _LOCAL:
            continue
        found.append((start, end - start))
    return found


def _zip64(blob: Blob, eocd: int) -> tuple[int, int, int] | None:
    locator = _read_at(blob, eocd - 20, 20)
    if len(locator) < 20 or locator[:4] != b"PK\x06\x07":
        return None
    record_pos = eocd - 20 - 56
    record = _read_at(blob, record_pos, 56)
    if len(record) < 56 or record[:4] != b"PK\x06\x06":
        return None
    cd_size, cd_offset = struct.unpack_from("<QQ", record, 40)
    return cd_size, cd_offset, record_pos


def check_distcp(blob: Blob) -> Report:
    report = Report(formats=["torch-distcp"])
    spans = sorted(archives(blob))
    covered = 0
    for start, length in spans:
        if start > covered:
            report.nested.append(Nested(f"@{covered}-{start}", b"", covered, start - covered))
        report.nested.append(Nested(f"@{start}(torch.save)", b"", start, length))
        covered = max(covered, start + length)
    if covered < blob.size:
        report.nested.append(Nested(f"@{covered}-{blob.size}", b"", covered, blob.size - covered))
    if not spans:
        report.unverifiable(None, "no torch.save archive found in the distributed-checkpoint storage file",
                            "distcp-empty")
    return report


sniff = sniffs.distcp

def scan(blob: Blob, scan: Scan) -> None:
    from mlwarden.models.readers.base import emit

    emit(check_distcp(blob), scan, blob.member)


FORMAT = ReaderFormat("torch-distcp", sniff, scan, seekable=True)
