"""safetensors: the header (length, JSON, dtypes, shapes, offsets, sizes, overlaps) checked as the safetensors
library validates it. Nothing in the format executes code; a malformed header is MW111."""

from __future__ import annotations

import itertools
import struct
from typing import BinaryIO

from mlwarden.models.formats.base import Blob, Format, Scan
from mlwarden.rules import SAFETENSORS_MALFORMED

Problem = tuple[str, str, str]  # rule id, message, stable key

_SAFETENSORS_DTYPES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "F8_E8M0": 1, "I16": 2, "U16": 2, "F16": 2,
    "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8, "C64": 8, "F4": 1, "F6_E2M3": 1,
    "F6_E3M2": 1,
}
MAX_SAFETENSORS_HEADER = 100 * 1024 * 1024  # the limit the safetensors library itself enforces


def check_safetensors(f: BinaryIO, size: int) -> list[Problem]:
    import json

    f.seek(0)
    raw = f.read(8)
    if len(raw) < 8:
        return [(SAFETENSORS_MALFORMED, "file is shorter than the 8-byte header length", "short")]
    (length,) = struct.unpack("<Q", raw)
    if length > MAX_SAFETENSORS_HEADER:
        return [
            (SAFETENSORS_MALFORMED, f"header length {length} exceeds {MAX_SAFETENSORS_HEADER} bytes", "header-size")
        ]
    if 8 + length > size:
        return [(SAFETENSORS_MALFORMED, f"header length {length} runs past the end of the file", "header-size")]
    try:
        header = json.loads(f.read(length).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return [(SAFETENSORS_MALFORMED, f"header is not valid JSON: {exc}", "header-json")]
    if not isinstance(header, dict):
        return [(SAFETENSORS_MALFORMED, "header is not a JSON object", "header-json")]
    problems: list[Problem] = []
    data_size = size - 8 - length
    spans: list[tuple[int, int, str]] = []
    for name, entry in header.items():
        if name == "__metadata__":
            if not isinstance(entry, dict) or not all(isinstance(v, str) for v in entry.values()):
                problems.append((SAFETENSORS_MALFORMED, "__metadata__ must map strings to strings", "metadata"))
            continue
        if not isinstance(entry, dict):
            problems.append((SAFETENSORS_MALFORMED, f"tensor {name!r}: entry is not an object", f"entry:{name}"))
            continue
        dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
        if dtype not in _SAFETENSORS_DTYPES:
            problems.append((SAFETENSORS_MALFORMED, f"tensor {name!r}: unknown dtype {dtype!r}", f"dtype:{name}"))
            continue
        if not (
            isinstance(shape, list) and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
        ):
            problems.append(
                (
                    SAFETENSORS_MALFORMED,
                    f"tensor {name!r}: shape must be a list of non-negative integers",
                    f"shape:{name}",
                )
            )
            continue
        if not (
            isinstance(offsets, list)
            and len(offsets) == 2
            and all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
        ):
            problems.append(
                (SAFETENSORS_MALFORMED, f"tensor {name!r}: data_offsets must be two integers", f"offsets:{name}")
            )
            continue
        begin, end = offsets
        if not 0 <= begin <= end <= data_size:
            problems.append(
                (
                    SAFETENSORS_MALFORMED,
                    f"tensor {name!r}: data_offsets {offsets} fall outside the {data_size}-byte data section",
                    f"range:{name}",
                )
            )
            continue
        count = 1
        for dim in shape:
            count *= dim
        expected = count * _SAFETENSORS_DTYPES[dtype]
        if dtype == "F4":
            expected = (count + 1) // 2
        if end - begin != expected:
            problems.append(
                (
                    SAFETENSORS_MALFORMED,
                    f"tensor {name!r}: {end - begin} bytes for shape {shape} of {dtype} (expected {expected})",
                    f"size:{name}",
                )
            )
        spans.append((begin, end, name))
    spans.sort()
    for (_b1, e1, n1), (b2, _e2, n2) in itertools.pairwise(spans):
        if b2 < e1:
            problems.append((SAFETENSORS_MALFORMED, f"tensors {n1!r} and {n2!r} overlap", f"overlap:{n1}:{n2}"))
    return problems


def sniff(head: bytes, name: str, size: int | None) -> bool:
    if len(head) < 10:
        return False
    (length,) = struct.unpack_from("<Q", head)
    if head[8:9] != b"{" or length < 2:
        return False
    return size is None or length + 8 <= size


def _scan(blob: Blob, scan: Scan) -> None:
    assert blob.size is not None
    for rule, message, key in check_safetensors(blob.file, blob.size):
        scan.add(rule, blob.member, message, key)


FORMAT = Format("safetensors", sniff, _scan, seekable=True, names=("*.safetensors",))
