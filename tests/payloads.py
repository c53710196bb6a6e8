"""Hostile samples, built by code. Every payload would only create a marker file if it ever ran.

The tests scan them and then assert that the marker does not exist: mlwarden never executes what it scans.
Nothing here is ever unpickled.
"""

from __future__ import annotations

import io
import pickle
import struct
import zipfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

PROTO = b"\x80"
STOP = b"."
MARK = b"("
REDUCE = b"R"
BUILD = b"b"
TUPLE1 = b"\x85"
TUPLE2 = b"\x86"
EMPTY_DICT = b"}"
MEMOIZE = b"\x94"
STACK_GLOBAL = b"\x93"
NEWOBJ = b"\x81"
NEWOBJ_EX = b"\x92"
EMPTY_TUPLE = b")"


def glob(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def ustr(text: str) -> bytes:
    data = text.encode()
    if len(data) < 256:
        return b"\x8c" + bytes([len(data)]) + data
    return b"X" + struct.pack("<I", len(data)) + data


def binget(index: int) -> bytes:
    return b"h" + bytes([index])


def bytes_op(data: bytes) -> bytes:
    return b"B" + struct.pack("<I", len(data)) + data


def command(marker: Path) -> str:
    return f"touch {marker}"


def p4(body: bytes) -> bytes:
    return PROTO + b"\x04" + body + STOP


# --- raw pickle payloads -------------------------------------------------------------------------------
def os_system(marker: Path) -> bytes:
    """GLOBAL + REDUCE, protocol 2."""
    return PROTO + b"\x02" + glob("os", "system") + ustr(command(marker)) + TUPLE1 + REDUCE + STOP


def protocol0(marker: Path) -> bytes:
    """Protocol 0 has no magic bytes (CVE-2025-10155: hidden as .bin)."""
    return b"cos\nsystem\n(S'" + command(marker).encode() + b"'\ntR."


def inst_opcode(marker: Path) -> bytes:
    return b"(S'" + command(marker).encode() + b"'\nios\nsystem\n."


def obj_opcode(marker: Path) -> bytes:
    return MARK + glob("os", "system") + ustr(command(marker)) + b"o" + STOP


def stack_global_memo(marker: Path) -> bytes:
    """STACK_GLOBAL operands fetched through the memo (picklescan memo bug, modelscan #85)."""
    body = (ustr("os") + MEMOIZE + ustr("system") + MEMOIZE + b"0" + b"0"  # push, memoise, pop both
            + binget(0) + binget(1) + STACK_GLOBAL + ustr(command(marker)) + TUPLE1 + REDUCE)
    return p4(body)


def memo_value_from_reduce(marker: Path) -> bytes:
    """The callable is the memoised *result* of a REDUCE: getattr(__import__('os'), 'system')."""
    body = (glob("builtins", "getattr") + glob("builtins", "__import__") + ustr("os") + TUPLE1 + REDUCE
            + ustr("system") + TUPLE2 + REDUCE + MEMOIZE + b"0" + binget(0) + ustr(command(marker)) + TUPLE1
            + REDUCE)
    return p4(body)


def stack_global_non_string(marker: Path) -> bytes:
    """STACK_GLOBAL operand that is not a constant string (modelscan #338 type confusion)."""
    body = (glob("builtins", "str") + ustr("os") + TUPLE1 + REDUCE + ustr("system") + STACK_GLOBAL
            + ustr(command(marker)) + TUPLE1 + REDUCE)
    return p4(body)


def ext_registered(marker: Path, code: int) -> bytes:
    """EXT1: the global comes from the copyreg extension registry, not from the stream."""
    return PROTO + b"\x02" + b"\x82" + bytes([code]) + ustr(command(marker)) + TUPLE1 + REDUCE + STOP


def ext_unregistered(marker: Path) -> bytes:
    return PROTO + b"\x02" + b"\x83" + struct.pack("<H", 4242) + ustr(command(marker)) + TUPLE1 + REDUCE + STOP


def dotted_reexport(marker: Path) -> bytes:
    """Protocol 4 dotted qualname reaching os through another module's attribute."""
    body = ustr("torch") + ustr("_utils.os.system") + STACK_GLOBAL + ustr(command(marker)) + TUPLE1 + REDUCE
    return p4(body)


def builtins_dict_get(marker: Path) -> bytes:
    """numpy.__builtins__ + dict.get (modelscan #330)."""
    body = (glob("builtins", "dict.get") + ustr("numpy") + ustr("__builtins__") + STACK_GLOBAL + ustr("exec")
            + TUPLE2 + REDUCE + ustr(f"open({str(marker)!r}, 'w').close()") + TUPLE1 + REDUCE)
    return p4(body)


def resolver(marker: Path, module: str = "pkgutil", name: str = "resolve_name") -> bytes:
    """A string-to-callable resolver (GHSA-vvpj-8cmc-gx39): resolve_name('os:system')(cmd)."""
    body = glob(module, name) + ustr("os:system") + TUPLE1 + REDUCE + ustr(command(marker)) + TUPLE1 + REDUCE
    return p4(body)


def gadget(marker: Path, module: str, name: str) -> bytes:
    return p4(glob(module, name) + ustr(command(marker)) + TUPLE1 + REDUCE)


def nested_loads(marker: Path) -> bytes:
    """pickle.loads on embedded bytes (GHSA-84r2-jw7c-4r5q)."""
    return p4(glob("pickle", "loads") + bytes_op(os_system(marker)) + TUPLE1 + REDUCE)


def nested_codecs(marker: Path) -> bytes:
    """Protocol 2 spells bytes as _codecs.encode(str, 'latin1'); the payload hides in that string."""
    inner = os_system(marker).decode("latin-1")
    return (PROTO + b"\x02" + glob("pickle", "loads") + glob("_codecs", "encode") + ustr(inner)
            + ustr("latin1") + TUPLE2 + REDUCE + TUPLE1 + REDUCE + STOP)


def broken_after_payload(marker: Path) -> bytes:
    """The payload runs before the corrupt tail (nullifAI): truncated stream, no STOP."""
    return PROTO + b"\x02" + glob("os", "system") + ustr(command(marker)) + TUPLE1 + REDUCE + b"\x8c\xff"


def setstate_injection(marker: Path, module: str = "os", name: str = "system") -> bytes:
    """BUILD assigns __setstate__ on an allowed object, then a second BUILD calls it with the command."""
    body = (glob("collections", "OrderedDict") + EMPTY_TUPLE + NEWOBJ + EMPTY_DICT + MARK + ustr("__setstate__")
            + glob(module, name) + b"u" + BUILD + ustr(command(marker)) + BUILD)
    return p4(body)


def newobj_ex(marker: Path) -> bytes:
    body = glob("subprocess", "Popen") + ustr(command(marker)) + TUPLE1 + EMPTY_DICT + NEWOBJ_EX
    return p4(body)


def stacked(marker: Path) -> bytes:
    """A benign pickle followed by a malicious one in the same file."""
    return pickle.dumps({"weights": [1.0, 2.0]}, protocol=4) + os_system(marker)


def sleepy_state_dict(marker: Path) -> bytes:
    """A real-looking state dict with an exec hidden among the values (Trail of Bits, Sleepy Pickle)."""
    payload = f"open({str(marker)!r}, 'w').close()"
    return p4(glob("collections", "OrderedDict") + EMPTY_TUPLE + REDUCE + MARK + ustr("layer.weight")
              + glob("builtins", "exec") + ustr(payload) + TUPLE1 + REDUCE + b"u")


PICKLE_PAYLOADS: dict[str, Callable[[Path], bytes]] = {
    "os_system": os_system,
    "protocol0": protocol0,
    "inst_opcode": inst_opcode,
    "obj_opcode": obj_opcode,
    "stack_global_memo": stack_global_memo,
    "memo_value_from_reduce": memo_value_from_reduce,
    "stack_global_non_string": stack_global_non_string,
    "ext_unregistered": ext_unregistered,
    "dotted_reexport": dotted_reexport,
    "builtins_dict_get": builtins_dict_get,
    "pkgutil_resolve_name": resolver,
    "importlib_import_module": lambda m: resolver(m, "importlib", "import_module"),
    "operator_attrgetter": lambda m: resolver(m, "operator", "attrgetter"),
    "nested_loads": nested_loads,
    "nested_codecs": nested_codecs,
    "broken_after_payload": broken_after_payload,
    "setstate_injection": setstate_injection,
    "newobj_ex": newobj_ex,
    "stacked": stacked,
    "sleepy_state_dict": sleepy_state_dict,
    "asyncio_submodule": lambda m: gadget(m, "asyncio.unix_events", "_UnixSubprocessTransport"),
    "collect_env_run": lambda m: gadget(m, "torch.utils.collect_env", "run"),
    "spawnv_passfds": lambda m: gadget(m, "multiprocessing.util", "spawnv_passfds"),
    "mailcap": lambda m: gadget(m, "mailcap", "findmatch"),
    "pip_main": lambda m: gadget(m, "pip", "main"),
    "venv_create": lambda m: gadget(m, "venv", "create"),
    "f2py": lambda m: gadget(m, "numpy.f2py", "run_main"),
    "runpy": lambda m: gadget(m, "runpy", "run_path"),
    "pty_spawn": lambda m: gadget(m, "pty", "spawn"),
    "profile_run": lambda m: gadget(m, "cProfile", "run"),
    "pydoc_pipepager": lambda m: gadget(m, "pydoc", "pipepager"),
    "timeit": lambda m: gadget(m, "timeit", "timeit"),
    "code_interact": lambda m: gadget(m, "code", "InteractiveInterpreter"),
    "webbrowser": lambda m: gadget(m, "webbrowser", "open"),
    "shutil_rmtree": lambda m: gadget(m, "shutil", "rmtree"),
    "ctypes": lambda m: gadget(m, "ctypes", "CDLL"),
}


# --- containers -------------------------------------------------------------------------------------------
def zip_bytes(members: Iterable[tuple[str, bytes | str]] | Mapping[str, bytes | str], *,
              method: int = zipfile.ZIP_STORED, comment: bytes = b"") -> bytes:
    """A zip of (name, data) members in order; duplicate names are allowed (some samples need them)."""
    import warnings

    items = members.items() if isinstance(members, Mapping) else members
    buf = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buf, "w", method) as zf:
        warnings.simplefilter("ignore")  # zipfile warns on a duplicate name
        for name, data in items:
            zf.writestr(name, data)
        zf.comment = comment
    return buf.getvalue()


def torch_like_zip(data_pkl: bytes, *, name: str = "archive/data.pkl", extra: dict[str, bytes] | None = None,
                   compress: bool = False) -> bytes:
    """A zip laid out like torch.save's (archive/data.pkl, archive/version, archive/data/0)."""
    buf = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(buf, "w", method) as zf:
        zf.writestr(name, data_pkl)
        zf.writestr("archive/version", "3\n")
        zf.writestr("archive/data/0", b"\x80" * 64)  # tensor bytes that happen to start like a pickle
        for member, data in (extra or {}).items():
            zf.writestr(member, data)
    return buf.getvalue()


def set_zip_flag_bits(data: bytes, flags: int = 0x0001) -> bytes:
    """Set general-purpose flag bits (e.g. 'encrypted') in every header: zipfile refuses, torch does not."""
    out = bytearray(data)
    for sig, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        pos = out.find(sig)
        while pos >= 0:
            struct.pack_into("<H", out, pos + offset, struct.unpack_from("<H", out, pos + offset)[0] | flags)
            pos = out.find(sig, pos + 4)
    return bytes(out)


def corrupt_crc(data: bytes) -> bytes:
    out = bytearray(data)
    for sig, offset in ((b"PK\x03\x04", 14), (b"PK\x01\x02", 16)):
        pos = out.find(sig)
        while pos >= 0:
            struct.pack_into("<I", out, pos + offset, 0xDEADBEEF)
            pos = out.find(sig, pos + 4)
    return bytes(out)


def rename_local_header(data: bytes, old: str, new: str) -> bytes:
    """Local header names a different file than the central directory (same length)."""
    assert len(old) == len(new)
    pos = data.find(b"PK\x03\x04")
    out = bytearray(data)
    name_at = pos + 30
    assert out[name_at:name_at + len(old)] == old.encode()
    out[name_at:name_at + len(new)] = new.encode()
    return bytes(out)


def gguf(metadata: dict[str, str | int], tensor_count: int = 0) -> bytes:
    """A GGUF v3 header with string/uint32 metadata and no tensors."""
    out = bytearray(b"GGUF" + struct.pack("<I", 3) + struct.pack("<QQ", tensor_count, len(metadata)))
    for key, value in metadata.items():
        raw_key = key.encode()
        out += struct.pack("<Q", len(raw_key)) + raw_key
        if isinstance(value, str):
            raw = value.encode()
            out += struct.pack("<I", 8) + struct.pack("<Q", len(raw)) + raw
        else:
            out += struct.pack("<I", 4) + struct.pack("<I", value)
    return bytes(out)


def safetensors(header: dict[str, object] | bytes, data: bytes = b"") -> bytes:
    import json

    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data
