"""A zip reader that sees what every loader sees.

Loaders read one zip differently, and an attacker lives in the gap:
- torch's miniz trusts the central directory and takes the local header offsets as absolute, ignores CRCs, flag
  bits and local names (GHSA-w8jq-xcqf-f792, CVE-2025-10156), and finds the end record searching backwards;
- Python's `zipfile` (numpy .npz, pandas, Keras) finds the end record in the last 22 bytes or else the last
  signature in the final 64 KiB (a fake one can sit in the comment), and shifts every offset by the data found
  before the central directory (prepended data, "gaps"); its name table keeps the LAST of duplicate names;
- streaming readers walk local headers from the start.
So every end record in the tail is read, each with and without zipfile's shift, plus a walk of the local
headers, and the union of the members (each extent once) is scanned. Where the interpretations disagree, or
headers are odd (duplicate names, stored sizes that differ), a note says so. Only headers are read here; member
data is streamed on demand.
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
_TAIL = 65_535 + 22
_MAX_END_RECORDS = 16
_MAX_DIRECTORY = 64 << 20  # read into memory per view; real directories are ~100 bytes a member
_METHODS = {8: "deflate-raw", 12: "bz2", 14: "lzma-zip", 93: "zstd"}


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

    @property
    def encrypted(self) -> bool:
        return bool(self.flags & 0x1)

    @property
    def extent(self) -> tuple[int, int, int, int]:
        return (self.data_offset, self.compressed_size, self.size, self.method)


def _read_at(f: BinaryIO, offset: int, n: int) -> bytes:
    if offset < 0:
        return b""
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


@dataclass(frozen=True)
class _EndRecord:
    position: int
    count: int
    cd_size: int
    cd_offset: int
    cd_end: int  # where zipfile expects the directory to end (the end record, or the zip64 record)


def _end_records(f: BinaryIO, file_size: int) -> list[_EndRecord]:
    """Every end-of-central-directory record in the tail, last first (miniz and zipfile take the last one that
    fits; zipfile first tries exactly 22 bytes from the end)."""
    tail_len = min(file_size, _TAIL)
    base = file_size - tail_len
    tail = _read_at(f, base, tail_len)
    found: list[_EndRecord] = []
    idx = len(tail)
    while len(found) < _MAX_END_RECORDS:
        idx = tail.rfind(_EOCD, 0, idx)
        if idx < 0:
            break
        if len(tail) - idx >= 22:
            (_, _, _, _, count, cd_size, cd_offset, _) = struct.unpack_from("<4sHHHHIIH", tail, idx)
            loc = tail.rfind(_EOCD64_LOCATOR, max(0, idx - 20), idx)
            records = []
            if loc >= 0:
                # miniz seeks to the offset the locator stores; zipfile reads the record just before the
                # locator. They differ when the archive does not start at 0 (torch.save archives back to back in
                # a distributed checkpoint's storage file, prepended data): read both.
                stored = struct.unpack_from("<Q", tail, loc + 8)[0]
                for eocd64_pos in dict.fromkeys((stored, base + loc - 56)):
                    rec = _read_at(f, eocd64_pos, 56) if eocd64_pos >= 0 else b""
                    if len(rec) == 56 and rec[:4] == _EOCD64:
                        big_count, big_size, big_offset = struct.unpack_from("<QQQ", rec, 32)
                        records.append(_EndRecord(base + idx, big_count, big_size, big_offset, eocd64_pos))
            found.extend(records or [_EndRecord(base + idx, count, cd_size, cd_offset, base + idx)])
    return found


def _central(f: BinaryIO, rec: _EndRecord, shift: int, max_members: int,
             notes: list[str]) -> list[ZipMember]:
    if rec.count > max_members:
        raise ZipBudgetError(f"archive declares {rec.count} members (budget {max_members})")
    if rec.cd_size > _MAX_DIRECTORY:
        raise ZipError(f"central directory of {rec.cd_size} bytes is larger than {_MAX_DIRECTORY >> 20} MiB")
    directory = _read_at(f, rec.cd_offset + shift, rec.cd_size)
    members: list[ZipMember] = []
    pos = 0
    # zipfile reads entries until the directory's size is used up (not the count); miniz uses the count.
    while pos + 46 <= len(directory) and len(members) < max_members:
        if directory[pos:pos + 4] != _CENTRAL:
            notes.append(f"central directory is corrupt after {len(members)} members")
            break
        (_, _, _, flags, method, _, _, _, csize, size, n, m, k, _, _, ext_attr, offset) = struct.unpack_from(
            "<4sHHHHHHIIIHHHHHII", directory, pos)
        raw_name = directory[pos + 46:pos + 46 + n]
        extra = directory[pos + 46 + n:pos + 46 + n + m]
        size, csize, offset = _zip64_extra(extra, size, csize, offset)
        name = _decode_name(raw_name, flags)
        member = _with_local(f, name, method, flags, csize, size, offset + shift, ext_attr, notes)
        if member is not None:
            members.append(member)
        pos += 46 + n + m + k
    if len(members) != rec.count and not notes:
        notes.append(f"end record counts {rec.count} members, the directory holds {len(members)}")
    return members


def _with_local(f: BinaryIO, name: str, method: int, flags: int, csize: int, size: int, offset: int,
                ext_attr: int, notes: list[str]) -> ZipMember | None:
    header = _read_at(f, offset, 30)
    if len(header) < 30 or header[:4] != _LOCAL:
        notes.append(f"member {name!r}: no local header at offset {offset}")
        return None
    n, m = struct.unpack_from("<HH", header, 26)
    local_name = _decode_name(_read_at(f, offset + 30, n), flags)
    if local_name != name:
        notes.append(f"member {name!r}: local header names it {local_name!r}")
    return ZipMember(name=name, method=method, flags=flags, compressed_size=csize, size=size,
                     header_offset=offset, data_offset=offset + 30 + n + m, local_name=local_name,
                     is_dir=name.endswith("/"), external_attr=ext_attr)


def _walk_local(f: BinaryIO, file_size: int, start: int, max_members: int) -> list[ZipMember]:
    members: list[ZipMember] = []
    offset = start
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
    return members


def read_members(f: BinaryIO, file_size: int, max_members: int) -> tuple[list[ZipMember], list[str]]:
    """The union of the members every reader sees (each extent once, in a stable order), and notes about
    header tricks and disagreements between readers."""
    notes: list[str] = []
    failed: list[str] = []  # notes of views that found nothing: reported only if no view finds anything
    views: list[tuple[str, list[ZipMember]]] = []
    for rec in _end_records(f, file_size):
        # zipfile: offsets shift by whatever lies before the directory; miniz: offsets are absolute.
        concat = rec.cd_end - rec.cd_size - rec.cd_offset
        for label, shift in (("miniz", 0), ("zipfile", concat)):
            if shift < 0 or (label == "zipfile" and shift == 0):
                continue
            if any(v[0].endswith(f"@{rec.position}+{shift}") for v in views):
                continue
            view_notes: list[str] = []
            try:
                members = _central(f, rec, shift, max_members, view_notes)
            except ZipBudgetError:
                raise
            except (ZipError, struct.error) as exc:
                view_notes.append(str(exc))
                members = []
            if members:
                notes.extend(view_notes)
                views.append((f"{label}@{rec.position}+{shift}", members))
            else:
                failed.extend(view_notes)
    starts = [min(m.header_offset for m in members) for _label, members in views]
    walked = _walk_local(f, file_size, min(starts) if starts else 0, max_members)
    if not views:
        notes.extend(failed)
        if not walked:
            raise ZipError("no zip members found" + (f" ({failed[0]})" if failed else ""))
        notes.append("no central directory: members found by walking local headers")
    union: list[ZipMember] = []
    seen: set[tuple[int, int, int, int]] = set()
    for _label, members in views:
        for member in members:
            if member.extent not in seen:
                seen.add(member.extent)
                union.append(member)
    hidden = [m for m in walked if m.extent not in seen and (m.header_offset, m.name) not in
              {(u.header_offset, u.name) for u in union}]
    if views and hidden:
        notes.append(f"{len(hidden)} member(s) found only by walking local headers: "
                     + ", ".join(repr(m.name) for m in hidden[:3]))
    union += hidden
    if len(views) > 1:
        names = [sorted((m.name, m.extent) for m in members) for _label, members in views]
        if any(n != names[0] for n in names[1:]):
            notes.append(f"{len(views)} central directories (or offsets) disagree: loaders see different "
                         "files; all are scanned")
    counts: dict[str, int] = {}
    for member in union:
        counts[member.name] = counts.get(member.name, 0) + 1
    notes.extend(f"name {name!r} appears {count} times (zipfile reads the last, other readers the first)"
                 for name, count in counts.items() if count > 1)
    for member in union:
        if member.method == 0 and member.compressed_size != member.size:
            notes.append(f"member {member.name!r}: stored with compressed size {member.compressed_size} but "
                         f"size {member.size}")
    if len(union) > max_members:
        raise ZipBudgetError(f"archive holds more than {max_members} members")
    return union, notes


def open_member(f: BinaryIO, member: ZipMember, budget: Budget, *, length: int | None = None) -> Readable:
    """A stream over one member's data, decompressed on the fly within the budget.

    A stored member is read as zipfile reads it: min(compressed size, size) bytes, unless ``length`` is given."""
    if member.method == 0:
        extent = min(member.compressed_size, member.size) if length is None else length
        return RangeReader(f, member.data_offset, extent)
    raw = RangeReader(f, member.data_offset, member.compressed_size)
    kind = _METHODS.get(member.method)
    if kind is None:
        raise ZipError(f"member {member.name!r}: unsupported compression method {member.method}")
    return Decompressor(raw, kind, budget)


def iter_members(members: list[ZipMember]) -> Iterator[ZipMember]:
    """Members that hold data: a name ending in '/' does not stop zipfile.open from reading its bytes."""
    yield from (m for m in members if not m.is_dir or m.size > 0 or m.compressed_size > 0)
