"""Checks for model formats that carry no pickle: safetensors headers, GGUF chat templates, Keras configs,
and NumPy headers. Each takes bytes or a seekable file and returns (rule id, message, key) problems."""

from __future__ import annotations

import itertools
import re
import struct
from collections.abc import Iterator
from typing import Any, BinaryIO

from mlwarden.models.classify import dangerous_reason
from mlwarden.models.readers.templates import check_template as check_template  # shared SSTI analysis

Problem = tuple[str, str, str]  # rule id, message, stable key

# --- safetensors -------------------------------------------------------------------------------------
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
        return [("MW111", "file is shorter than the 8-byte header length", "short")]
    (length,) = struct.unpack("<Q", raw)
    if length > MAX_SAFETENSORS_HEADER:
        return [("MW111", f"header length {length} exceeds {MAX_SAFETENSORS_HEADER} bytes", "header-size")]
    if 8 + length > size:
        return [("MW111", f"header length {length} runs past the end of the file", "header-size")]
    try:
        header = json.loads(f.read(length).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return [("MW111", f"header is not valid JSON: {exc}", "header-json")]
    if not isinstance(header, dict):
        return [("MW111", "header is not a JSON object", "header-json")]
    problems: list[Problem] = []
    data_size = size - 8 - length
    spans: list[tuple[int, int, str]] = []
    for name, entry in header.items():
        if name == "__metadata__":
            if not isinstance(entry, dict) or not all(isinstance(v, str) for v in entry.values()):
                problems.append(("MW111", "__metadata__ must map strings to strings", "metadata"))
            continue
        if not isinstance(entry, dict):
            problems.append(("MW111", f"tensor {name!r}: entry is not an object", f"entry:{name}"))
            continue
        dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
        if dtype not in _SAFETENSORS_DTYPES:
            problems.append(("MW111", f"tensor {name!r}: unknown dtype {dtype!r}", f"dtype:{name}"))
            continue
        if not (isinstance(shape, list) and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                                                for d in shape)):
            problems.append(("MW111", f"tensor {name!r}: shape must be a list of non-negative integers",
                             f"shape:{name}"))
            continue
        if not (isinstance(offsets, list) and len(offsets) == 2
                and all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)):
            problems.append(("MW111", f"tensor {name!r}: data_offsets must be two integers",
                             f"offsets:{name}"))
            continue
        begin, end = offsets
        if not 0 <= begin <= end <= data_size:
            problems.append(("MW111", f"tensor {name!r}: data_offsets {offsets} fall outside the "
                             f"{data_size}-byte data section", f"range:{name}"))
            continue
        count = 1
        for dim in shape:
            count *= dim
        expected = count * _SAFETENSORS_DTYPES[dtype]
        if dtype == "F4":
            expected = (count + 1) // 2
        if end - begin != expected:
            problems.append(("MW111", f"tensor {name!r}: {end - begin} bytes for shape {shape} of {dtype} "
                             f"(expected {expected})", f"size:{name}"))
        spans.append((begin, end, name))
    spans.sort()
    for (_b1, e1, n1), (b2, _e2, n2) in itertools.pairwise(spans):
        if b2 < e1:
            problems.append(("MW111", f"tensors {n1!r} and {n2!r} overlap", f"overlap:{n1}:{n2}"))
    return problems


# --- GGUF ----------------------------------------------------------------------------------------------
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
                templates[key] = value.decode("utf-8", "replace")
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


# --- Keras -----------------------------------------------------------------------------------------------
_KERAS_MODULES = ("keras", "tf_keras", "tensorflow.keras", "tensorflow.python.keras", "keras_nlp",
                  "keras_hub", "keras_cv")


def check_keras_config(config: Any) -> list[Problem]:
    import json

    problems: list[Problem] = []
    for node in _walk(config):
        if node.get("class_name") == "Lambda":
            inner = node.get("config", {})
            name = inner.get("name", "?") if isinstance(inner, dict) else "?"
            has_code = "code" in json.dumps(inner)[:1_000_000] if isinstance(inner, dict) else False
            what = "with marshalled Python bytecode" if has_code else "calling a Python function"
            problems.append(("MW109", f"Lambda layer {name!r} {what}; it runs when the model is loaded",
                             f"lambda:{name}"))
        module = node.get("module")
        if isinstance(module, str) and module and not module.startswith(_KERAS_MODULES):
            reason = dangerous_reason(f"{module}.{node.get('class_name', '')}")
            rule = "MW101" if reason else "MW109"
            problems.append((rule, f"config references {module}.{node.get('class_name', '?')} outside Keras"
                             + (f": {reason}" if reason else ""), f"module:{module}"))
    return problems


def _walk(value: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    if depth > 200:
        return
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _walk(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item, depth + 1)


# --- NumPy ----------------------------------------------------------------------------------------------
def npy_header(f: BinaryIO) -> tuple[str, int]:
    """The dtype description of a .npy stream and the offset of its data; raises ValueError if bad."""
    magic = f.read(8)
    if magic[:6] != b"\x93NUMPY" or len(magic) < 8:
        raise ValueError("not a .npy file")
    major = magic[6]
    size = {1: 2, 2: 4, 3: 4}.get(major)
    if size is None:
        raise ValueError(f"unknown .npy version {major}")
    raw = f.read(size)
    if len(raw) != size:
        raise ValueError("header is truncated")
    length = int.from_bytes(raw, "little")
    start = 8 + size
    if length > 1 << 20:
        raise ValueError("header longer than 1 MiB")
    header = f.read(length).decode("latin-1")
    match = re.search(r"""['"]descr['"]\s*:\s*(.+?)\s*,\s*['"](?:fortran_order|shape)""", header, re.DOTALL)
    if not match:
        raise ValueError("header has no descr")
    return match.group(1), start + length


def descr_has_object(descr: str) -> bool:
    return bool(re.search(r"""['"][|<>=]?O\d*['"]""", descr))
