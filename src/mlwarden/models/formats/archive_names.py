"""Checks on member names and contents shared by every archive reader (zip, tar, 7z)."""

from __future__ import annotations

import re

from mlwarden.findings import Severity
from mlwarden.models.formats.base import Scan
from mlwarden.rules import ARCHIVE_SUSPICIOUS_MEMBER

_DRIVE = re.compile(r"^[A-Za-z]:")
_EXECUTABLE_NAMES = re.compile(r"\.(?:exe|dll|so|dylib|sys|scr|com|bat|cmd|ps1|vbs|msi|sh|bash|elf|apk|jar)$",
                               re.IGNORECASE)


def check_member_name(name: str, label: str, scan: Scan, *, is_link: bool = False) -> None:
    """Path traversal (extraction writes outside the folder: Keras and TorchServe extract archives) and links."""
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or ".." in parts or _DRIVE.match(name):
        scan.add(ARCHIVE_SUSPICIOUS_MEMBER, label, f"member path {name!r} escapes the archive", f"path:{name}",
                 severity=Severity.HIGH)
    if is_link:
        scan.add(ARCHIVE_SUSPICIOUS_MEMBER, label, f"member {name!r} is a symbolic link", f"link:{name}")
    if _EXECUTABLE_NAMES.search(name.rstrip("/")) and in_model_archive(scan):
        scan.add(
            ARCHIVE_SUSPICIOUS_MEMBER,
            label,
            f"archive holds an executable or script by name: {name!r}",
            f"exe-name:{name}",
            severity=Severity.HIGH,
        )


def executable_kind(head: bytes) -> str | None:
    """What kind of native executable or script the bytes start, if any."""
    if head[:4] == b"\x7fELF":
        return "ELF executable"
    if head[:2] == b"MZ" and len(head) >= 0x40:
        pe = int.from_bytes(head[0x3C:0x40], "little")
        if pe + 4 <= len(head) and head[pe : pe + 4] == b"PE\x00\x00":
            return "Windows PE executable"
    if head[:4] in (b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe"):
        return "Mach-O executable"
    if head[:2] == b"#!":
        return "script with an interpreter line"
    return None


_GENERIC_ARCHIVES = (
    ".zip",
    ".tar",
    ".gz",
    ".tgz",
    ".bz2",
    ".tbz2",
    ".xz",
    ".txz",
    ".lzma",
    ".7z",
    ".zst",
    ".lz4",
    ".z",
    ".whl",
    ".jar",
    ".egg",
)


def in_model_archive(scan: Scan) -> bool:
    """Whether the file being scanned is a model archive (a .pt, .npz, .keras, .mar, … or any name that is not a
    generic archive's): there an executable or script has no business; in a tarball of tools it is expected."""
    base = scan.display.replace("\\", "/").rsplit("/", 1)[-1].lower()
    return not base.endswith(_GENERIC_ARCHIVES)
