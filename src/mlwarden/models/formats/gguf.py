"""GGUF: metadata walked without loading tensors (as gguf-py / llama.cpp read it); chat templates checked for
Jinja sandbox escapes (MW110, CVE-2024-34359) by the chat-template analysis every template shares."""

from __future__ import annotations

import struct
from typing import BinaryIO

from mlwarden.models.formats.base import Blob, Format, Scan

Problem = tuple[str, str, str]  # rule id, message, stable key
_GGUF_SCALARS = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}

class GGUFError(Exception):
    pass


def _gguf_read(f: BinaryIO, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise GGUFError("file is truncated")
    return data


def _gguf_string(f: BinaryIO, limit: int) -> bytes:
    (n,) = struct.unpack("<Q", _gguf_read(f, 8))
    if n > limit:
        raise GGUFError(f"string of {n} bytes exceeds the budget")
    return _gguf_read(f, n)


def gguf_templates(f: BinaryIO, *, max_kv: int = 1_000_000, max_string: int = 64 << 20) -> dict[str, str]:
    """The chat templates (tokenizer.chat_template*) of a GGUF file; skips every other value."""
    f.seek(0)
    if _gguf_read(f, 4) != b"GGUF":
        raise GGUFError("not a GGUF file")
    (version,) = struct.unpack("<I", _gguf_read(f, 4))
    if version == 1:
        raise GGUFError("GGUF version 1 is not supported")
    _tensors, kv_count = struct.unpack("<QQ", _gguf_read(f, 16))
    if kv_count > max_kv:
        raise GGUFError(f"{kv_count} metadata entries exceed the budget")
    templates: dict[str, str] = {}
    for _ in range(kv_count):
        key = _gguf_string(f, 1 << 16).decode("utf-8", "replace")
        (vtype,) = struct.unpack("<I", _gguf_read(f, 4))
        if vtype == 8:
            value = _gguf_string(f, max_string)
            if key.startswith("tokenizer.chat_template"):
                # a repeated key: readers disagree on which one wins (gguf-py the last, a C lookup the first)
                where = key if key not in templates else f"{key} (repeated, #{len(templates) + 1})"
                templates[where] = value.decode("utf-8", "replace")
        elif vtype == 9:
            atype, count = struct.unpack("<IQ", _gguf_read(f, 12))
            if atype == 8:
                for _ in range(count):
                    (n,) = struct.unpack("<Q", _gguf_read(f, 8))
                    if n > max_string:
                        raise GGUFError("array string exceeds the budget")
                    f.seek(n, 1)
            elif atype in _GGUF_SCALARS:
                f.seek(_GGUF_SCALARS[atype] * count, 1)
            else:
                raise GGUFError(f"unsupported array type {atype}")
        elif vtype in _GGUF_SCALARS:
            _gguf_read(f, _GGUF_SCALARS[vtype])
        else:
            raise GGUFError(f"unknown metadata value type {vtype}")
    return templates


def sniff(head: bytes, name: str, size: int | None) -> bool:
    return head[:4] == b"GGUF"


def _scan(blob: Blob, scan: Scan) -> None:
    try:
        templates = gguf_templates(blob.file)
    except (GGUFError, OSError, ValueError) as exc:
        scan.unverified(blob.member, f"GGUF metadata cannot be read: {exc}", "corrupt-gguf")
        return
    for key, template in templates.items():
        for rule, message, fkey in check_template(key, template):
            scan.add(rule, blob.member, message, fkey)


FORMAT = Format("gguf", sniff, _scan, seekable=True, names=("*.gguf",))


def check_template(key: str, template: str) -> list[tuple[str, str, str]]:
    """The one SSTI analysis (models/readers/templates.py), imported only when a GGUF holds a template."""
    from mlwarden.models.readers.templates import check_template as analyse

    return analyse(key, template)
