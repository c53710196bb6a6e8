"""A tolerant zip reader that sees what torch's loader sees.

Python's zipfile refuses archives that torch.load accepts: encryption/flag bits set, bad CRCs, a local
header whose name differs from the central directory (GHSA-w8jq-xcqf-f792, CVE-2025-10156). A scanner
built on zipfile therefore errors out exactly where an attacker wants it to. This reader trusts the central
directory like torch's miniz does, ignores CRCs and flags, reports header disagreements, and falls back to
walking local headers when the central directory is missing. It reads only headers; member data is
streamed on demand.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from mlwarden.models.streams import Budget, Decompressor, RangeReader, Readable

_EOCD = b"PK\x05\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_EOCD64 = b"PK\x06\x06"
_CENTRAL = b"PK\x01\x02"
_LOCAL = b"PK\x03\x04"


class ZipError(Exception):
    pass


class ZipBudgetError(ZipError):
    """The archive declares more members than the budget allows."""


@dataclass(frozen=True)
class ZipMember:
    name: str
    method: int
    flags: int
    compressed_size: int
    size: int
    header_offset: int
    data_offset: int
    local_name: str
    is_dir: bool
    external_attr: int

    @property
    def is_symlink(self) -> bool:
        return (self.external_attr >> 16) & 0o170000 == 0o120000


def _read_at(f: BinaryIO, offset: int, n: int) -> bytes:
    f.seek(offset)
    return f.read(n)


def _zip64_extra(extra: bytes, size: int, csize: int, offset: int) -> tuple[int, int, int]:
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, pos)
        body = extra[pos + 4:pos + 4 + length]
        if tag == 1:
            values = [struct.unpack_from("<Q", body, i)[0] for i in range(0, len(body) - 7, 8)]
            if size == 0xFFFFFFFF and values:
                size = values.pop(0)
            if csize == 0xFFFFFFFF and values:
                csize = values.pop(0)
            if offset == 0xFFFFFFFF and values:
                offset = values.pop(0)
        pos += 4 + length
    return size, csize, offset


def _decode_name(raw: bytes, flags: int) -> str:
    return raw.decode("utf-8" if flags & 0x800 else "cp437", "replace")


def read_members(f: BinaryIO, file_size: int, max_members: int) -> tuple[list[ZipMember], list[str]]:
    """Members of the archive and notes about header tricks (name mismatches, missing directory)."""
    notes: list[str] = []
    tail_len = min(file_size, 65_557)
    tail = _read_at(f, file_size - tail_len, tail_len)
    idx = tail.rfind(_EOCD)
    if idx < 0 or len(tail) - idx < 22:
        notes.append("no central directory: members found by walking local headers")
        return _walk_local(f, file_size, max_members), notes
    eocd_pos = file_size - tail_len + idx
    (_, _, _, _, count, cd_size, cd_offset, _) = struct.unpack_from("<4sHHHHIIH", tail, idx)
    cd_end = eocd_pos  # where the central directory should end
    loc = tail.rfind(_EOCD64_LOCATOR, max(0, idx - 20), idx)
    if loc >= 0:
        eocd64_pos = struct.unpack_from("<Q", tail, loc + 8)[0]
        rec = _read_at(f, eocd64_pos, 56)
        if rec[:4] == _EOCD64:
            count, cd_size, cd_offset = struct.unpack_from("<QQQ", rec, 32)
            cd_end = eocd64_pos
    # Archives with a prefix (self-extracting, or data prepended) shift every offset.
    shift = max(cd_end - cd_size - cd_offset, 0)
    if count > max_members:
        raise ZipBudgetError(f"archive declares {count} members (budget {max_members})")
    directory = _read_at(f, cd_offset + shift, cd_size)
    members: list[ZipMember] = []
    pos = 0
    while pos + 46 <= len(directory) and len(members) < count:
        if directory[pos:pos + 4] != _CENTRAL:
            notes.append("central directory is corrupt after "
                         f"{len(members)} members; the rest found by walking local headers")
            seen = {m.header_offset for m in members}
            members += [m for m in _walk_local(f, file_size, max_members) if m.header_offset not in seen]
            break
        (_, _, _, flags, method, _, _, _, csize, size, n, m, k, _, _, ext_attr, offset) = struct.unpack_from(
            "<4sHHHHHHIIIHHHHHII", directory, pos)
        raw_name = directory[pos + 46:pos + 46 + n]
        extra = directory[pos + 46 + n:pos + 46 + n + m]
        size, csize, offset = _zip64_extra(extra, size, csize, offset)
        name = _decode_name(raw_name, flags)
        members.append(_with_local(f, name, method, flags, csize, size, offset + shift, ext_attr, notes))
        pos += 46 + n + m + k
    return members, notes


def _with_local(f: BinaryIO, name: str, method: int, flags: int, csize: int, size: int, offset: int,
                ext_attr: int, notes: list[str]) -> ZipMember:
    header = _read_at(f, offset, 30)
    if len(header) < 30 or header[:4] != _LOCAL:
        raise ZipError(f"member {name!r}: no local header at offset {offset}")
    n, m = struct.unpack_from("<HH", header, 26)
    local_name = _decode_name(_read_at(f, offset + 30, n), flags)
    if local_name != name:
        notes.append(f"member {name!r}: local header names it {local_name!r}")
    return ZipMember(name=name, method=method, flags=flags, compressed_size=csize, size=size,
                     header_offset=offset, data_offset=offset + 30 + n + m, local_name=local_name,
                     is_dir=name.endswith("/"), external_attr=ext_attr)


def _walk_local(f: BinaryIO, file_size: int, max_members: int) -> list[ZipMember]:
    members: list[ZipMember] = []
    offset = 0
    while offset + 30 <= file_size and len(members) < max_members:
        header = _read_at(f, offset, 30)
        if header[:4] != _LOCAL:
            break
        (_, _, flags, method, _, _, _, csize, size, n, m) = struct.unpack_from("<4sHHHHHIIIHH", header)
        raw = _read_at(f, offset + 30, n + m)
        name = _decode_name(raw[:n], flags)
        size, csize, _ = _zip64_extra(raw[n:], size, csize, 0)
        if flags & 0x08 and csize == 0:
            break  # sizes only in a data descriptor: cannot walk further without the directory
        members.append(ZipMember(name=name, method=method, flags=flags, compressed_size=csize, size=size,
                                 header_offset=offset, data_offset=offset + 30 + n + m, local_name=name,
                                 is_dir=name.endswith("/"), external_attr=0))
        offset += 30 + n + m + csize
    if not members:
        raise ZipError("no zip members found")
    return members


def open_member(f: BinaryIO, member: ZipMember, budget: Budget) -> Readable:
    """A stream over one member's data, decompressed on the fly within the budget."""
    raw = RangeReader(f, member.data_offset, member.compressed_size)
    if member.method == 0:
        return raw
    kind = {8: "deflate-raw", 12: "bz2", 14: "lzma"}.get(member.method)
    if kind is None or member.method == 14:
        raise ZipError(f"member {member.name!r}: unsupported compression method {member.method}")
    return Decompressor(raw, kind, budget)


def iter_members(members: list[ZipMember]) -> Iterator[ZipMember]:
    yield from (m for m in members if not m.is_dir)
