"""NumPy `.npy`: the header read as numpy's `format._read_array_header` reads it.

numpy evaluates the header dict with `ast.literal_eval` (safe literal evaluation: no names, no calls), so we do
the same rather than match it with a regex: escapes, either quote style, duplicate keys (the last wins) and any
whitespace behave exactly as in the loader. An array whose dtype holds objects (`'O'`, `'object'`, a structured
dtype with an object field) is stored as a pickle that `np.load(allow_pickle=True)` unpickles: MW113 and the
pickle is scanned. Versions 1, 2 and 3 (utf-8 header) are read; numpy waives its header-size limit when
allow_pickle is set, so a large header is read up to our own bound and past it fails closed.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from mlwarden.models.formats.base import Blob, Format, Scan
from mlwarden.models.streams import read_exact
from mlwarden.rules import NUMPY_OBJECT_ARRAY

MAGIC = b"\x93NUMPY"
MAX_HEADER = 64 << 20
_LENGTH_BYTES = {1: 2, 2: 4, 3: 4}
_PY2_LONG = re.compile(r"(\d+)L\b")


class NpyError(ValueError):
    pass


def read_header(f: Any) -> tuple[dict[str, Any], int]:
    """The header dict of a .npy stream (positioned at its start) and the offset of the array data."""
    magic = read_exact(f, 8)
    if len(magic) < 8 or magic[:6] != MAGIC:
        raise NpyError("not a .npy file")
    major = magic[6]
    width = _LENGTH_BYTES.get(major)
    if width is None:
        raise NpyError(f"unknown .npy version {major}.{magic[7]}")
    raw = read_exact(f, width)
    if len(raw) != width:
        raise NpyError("header is truncated")
    length = int.from_bytes(raw, "little")
    if length > MAX_HEADER:
        raise NpyError(f"header of {length} bytes is longer than {MAX_HEADER}")
    body = read_exact(f, length)
    if len(body) != length:
        raise NpyError("header is truncated")
    text = body.decode("utf-8" if major >= 3 else "latin-1", "strict")
    try:
        header = ast.literal_eval(text)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        if major > 2:
            raise NpyError("header is not a Python literal") from None
        try:  # numpy's _filter_header drops Python 2 'L' suffixes for old files
            header = ast.literal_eval(_PY2_LONG.sub(r"\1", text))
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            raise NpyError("header is not a Python literal") from None
    if not isinstance(header, dict):
        raise NpyError("header is not a dict")
    if set(header) != {"descr", "fortran_order", "shape"}:
        raise NpyError(f"header keys are {sorted(map(str, header))}, not descr, fortran_order and shape")
    return header, 8 + width + length


_OBJECT_CODES = re.compile(r"^[<>|=]?(?:O\d*|object_?\d*)$")


def _numpy_says(descr: Any) -> bool | None:
    try:
        from numpy.lib.format import descr_to_dtype
    except ImportError:  # pragma: no cover - numpy is in every environment that reads .npy files
        return None
    try:
        return bool(descr_to_dtype(descr).hasobject)
    except Exception:  # noqa: BLE001 - numpy raises many types for odd descrs: the walk below decides
        return None


def descr_has_object(descr: Any, depth: int = 0) -> bool:
    """Whether numpy would build a dtype with object fields from ``descr`` (pickled when saved).

    numpy itself decides when it is installed (descr_to_dtype, pure data); otherwise the descr literal is walked
    the way np.dtype reads it: a type string, a list of (name, dtype[, shape]) fields, or a (dtype, shape) pair."""
    if depth == 0:
        decided = _numpy_says(descr)
        if decided is not None:
            return decided
    if depth > 64:
        return True  # deeper than any real dtype: assume the worst
    if isinstance(descr, str):
        return bool(_OBJECT_CODES.match(descr.strip()))
    if isinstance(descr, (list, tuple)):
        return any(descr_has_object(item, depth + 1) for item in descr if not isinstance(item, int))
    if isinstance(descr, dict):
        return any(descr_has_object(v, depth + 1) for v in descr.values())
    return False


def sniff(head: bytes, name: str, size: int | None) -> bool:
    return head[:6] == MAGIC


def _scan(blob: Blob, scan: Scan) -> None:
    try:
        header, _offset = read_header(blob.file)
    except (NpyError, UnicodeDecodeError, OSError) as exc:
        scan.unverified(blob.member, f"NumPy header cannot be read: {exc}", "npy-header")
        return
    descr = header["descr"]
    if descr_has_object(descr):
        label = f"{blob.member}/(pickle)" if blob.member else "(pickle)"
        before = scan.found
        scan.nested(blob.file, label, as_format="pickle")
        # An object array whose pickle holds only safe values is ordinary data (pandas and old numpy write
        # them); the note that it needs allow_pickle=True matters when its pickle has findings of its own.
        if scan.found > before:
            scan.add(NUMPY_OBJECT_ARRAY, blob.member, f"object array (dtype {descr!r}) stored as a pickle, which "
                     "np.load(allow_pickle=True) unpickles", "npy-object")


FORMAT = Format("npy", sniff, _scan, names=("*.npy",))
