"""Recognise a format by its bytes, never by its name."""

from __future__ import annotations

import io
import re
import struct

from mlwarden.models.pickle_vm import analyse

HEAD_SIZE = 4096
_IDENTIFIER = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_<][\w<>]*)+$")

_COMPRESSED = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bz2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x5d\x00\x00", "lzma"),
    (b"\x78\x01", "zlib"),
    (b"\x78\x5e", "zlib"),
    (b"\x78\x9c", "zlib"),
    (b"\x78\xda", "zlib"),
)


def sniff(head: bytes, total_size: int | None) -> str:
    """The format of a blob from its first bytes: zip, 7z, tar, npy, hdf5, gguf, safetensors, a
    compression wrapper, pickle, or "unknown"."""
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        return "zip"
    if head[:6] == b"7z\xbc\xaf\x27\x1c":
        return "7z"
    if head[:6] == b"\x93NUMPY":
        return "npy"
    if head[:8] == b"\x89HDF\r\n\x1a\n":
        return "hdf5"
    if head[:4] == b"GGUF":
        return "gguf"
    if len(head) > 262 and head[257:262] == b"ustar":
        return "tar"
    for magic, kind in _COMPRESSED:
        if head.startswith(magic):
            return kind
    if _looks_like_safetensors(head, total_size):
        return "safetensors"
    if _looks_like_pickle(head, total_size):
        return "pickle"
    return "unknown"


def _looks_like_safetensors(head: bytes, total_size: int | None) -> bool:
    if len(head) < 10:
        return False
    (length,) = struct.unpack_from("<Q", head)
    if head[8:9] != b"{" or length < 2:
        return False
    return total_size is None or length + 8 <= total_size


def _looks_like_pickle(head: bytes, total_size: int | None) -> bool:
    if not head:
        return False
    if head[0] == 0x80:
        return len(head) > 1 and head[1] <= 5
    if len(head) >= 2 and head[:1] == b"{":
        import json

        try:
            json.loads(head)
        except ValueError:
            pass
        else:
            return False
    # Protocol 0/1 pickles have no magic (CVE-2025-10155: they hide as .bin files). Probe the head.
    probe = analyse(io.BytesIO(head), max_pickles=1)
    if probe.globals and not all(_IDENTIFIER.match(name) for name in probe.globals):
        return False  # text such as "class Net(Module):" reads as GLOBAL; real globals are identifiers
    if probe.pickles or probe.globals:
        return True
    whole = total_size is not None and total_size <= len(head)
    if whole:
        return False
    return len(head) >= HEAD_SIZE and any(
        p.kind == "unparsable" and ("without STOP" in p.message or "truncated" in p.message)
        for p in probe.problems)
