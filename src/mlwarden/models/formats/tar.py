"""tar archives (and the legacy torch tar form), read by `tarfile` itself so that we see what torch's
`_legacy_load` (tarfile.open mode 'r:') and pandas see.

Recognition mirrors `tarfile.TarInfo.frombuf`: a 512-byte header that is not all zeros and whose checksum
(unsigned or signed sum, octal or base-256 field) matches. Old V7 headers have no "ustar" magic and are tar all
the same. Members are scanned whenever tarfile would hand out their bytes: regular files and members of unknown
type, which tarfile treats as regular files.
"""

from __future__ import annotations

import struct

from mlwarden.models.formats.archive_names import check_member_name
from mlwarden.models.formats.base import Blob, Format, Scan


def _nti(field: bytes) -> int | None:
    if field[:1] in (b"\x80", b"\xff"):
        n = 0
        for byte in field[1:]:
            n = (n << 8) + byte
        if field[0] == 0xFF:
            n = -((256 ** (len(field) - 1)) - n)
        return n
    text = field.split(b"\x00", 1)[0]
    try:
        return int(text.decode("ascii").strip() or "0", 8)
    except (UnicodeDecodeError, ValueError):
        return None


def sniff(head: bytes, name: str, size: int | None) -> bool:
    if len(head) < 512:
        return False
    block = head[:512]
    if block.count(0) == 512:
        return False
    chksum = _nti(block[148:156])
    if chksum is None:
        return False
    unsigned = 256 + sum(struct.unpack_from("148B8x356B", block))
    signed = 256 + sum(struct.unpack_from("148b8x356b", block))
    return chksum in (unsigned, signed)


def _label(member: str | None, part: str) -> str:
    return f"{member}/{part}" if member else part


def _scan(blob: Blob, scan: Scan) -> None:
    import tarfile

    member = blob.member
    try:
        with tarfile.open(fileobj=blob.file, mode="r|") as tar:
            for info in tar:
                scan.count_members(1, member)
                scan.check_time(member)
                label = _label(member, info.name)
                check_member_name(info.name, label, scan, is_link=info.issym() or info.islnk())
                if not (info.isreg() or info.type not in tarfile.SUPPORTED_TYPES):
                    continue
                extracted = tar.extractfile(info)
                if extracted is not None:
                    scan.nested(extracted, label, name=info.name)
    except tarfile.TarError as exc:
        scan.unverified(member, f"tar archive cannot be read: {exc}", "corrupt-tar")


FORMAT = Format("tar", sniff, _scan, names=("*.tar",))
