"""joblib's layout inside the pickle stream: raw array bytes (or a nested pickle) follow a
``NumpyArrayWrapper``'s BUILD, and old joblib (``NDArrayWrapper``/``ZNDArrayWrapper``) opens companion
files by name (``np.load(filename, allow_pickle=True)``). The size of the raw bytes is computed from the
real dtype (its ``numpy.dtype(descr, ...)`` call and its BUILD state), as numpy computes ``itemsize``.
"""

from __future__ import annotations

import re
from pathlib import Path

from mlwarden.models.pickle.values import DictVal, Global, Instance

# Also under the paths of old joblib releases and of the copy scikit-learn vendored (sklearn.externals).
WRAPPERS = frozenset({"joblib.numpy_pickle.NumpyArrayWrapper",
                      "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper"})
COMPANION_WRAPPERS = frozenset({
    f"{prefix}.{name}" for prefix in ("joblib.numpy_pickle_compat", "joblib.numpy_pickle",
                                      "sklearn.externals.joblib.numpy_pickle_compat",
                                      "sklearn.externals.joblib.numpy_pickle")
    for name in ("NDArrayWrapper", "ZNDArrayWrapper")})
DTYPES = frozenset({"numpy.dtype", "numpy.core.multiarray.dtype", "numpy._core.multiarray.dtype"})

_DESCR = re.compile(r"[<>|=]?([A-Za-z?])(\d*)")
# Sizes numpy accepts for the fixed-size kinds (a type string with another size is not a dtype).
_FIXED = {"b": {1}, "i": {1, 2, 4, 8}, "u": {1, 2, 4, 8}, "f": {2, 4, 8, 10, 12, 16}, "c": {8, 16, 20, 24, 32},
          "M": {8}, "m": {8}}
_FLEXIBLE = frozenset("SaUV")
_HASOBJECT = 0x01  # NPY_ITEM_HASOBJECT in the dtype's flags (BUILD state[7])


def dtype_of(value: object) -> tuple[str, object] | None:
    """(descr, BUILD state) of a ``numpy.dtype(descr, align, copy)`` call result, or None."""
    if not isinstance(value, Instance) or not isinstance(value.func, Global):
        return None
    if value.func.dotted not in DTYPES or not value.args or not isinstance(value.args[0], str):
        return None
    return value.args[0], value.state


def _setstate(state: object) -> tuple[object, int, int | None] | None:
    """(fields, elsize, flags) of a dtype BUILD state, unpacked by its length as numpy's ``arraydescr_setstate``
    does: 9/8 items ``(version, endian, subarray, names, fields, elsize, alignment, flags[, metadata])``, 7 without
    flags, 6 ``(version, endian, subarray, fields, elsize, alignment)``, 5 the same without a version. Old forms
    (version < 3) have no flags: numpy computes them from the type. None when numpy would reject the state."""
    if not isinstance(state, tuple):
        return None
    size = len(state)
    if size in (8, 9):
        version, fields, elsize, flags = state[0], state[4], state[5], state[7]
    elif size == 7:
        version, fields, elsize, flags = state[0], state[4], state[5], None
    elif size == 6:
        version, fields, elsize, flags = state[0], state[3], state[4], None
    elif size == 5:
        version, fields, elsize, flags = 0, state[2], state[3], None
    else:
        return None
    if not isinstance(version, int) or not 0 <= version <= 4 or not isinstance(elsize, int):
        return None
    if flags is not None and not isinstance(flags, int):
        return None
    return fields, elsize, flags


def layout(descr: str, state: object) -> tuple[bool, int] | None:
    """(hasobject, itemsize) as numpy sees a pickled ``numpy.dtype(descr, ...)`` after its BUILD state, or None
    when it cannot be known (the caller fails closed). With a state of 8 or 9 items numpy takes ``hasobject``
    from the state's flags, whatever the type ('O' with flags 0 is not an object dtype to joblib); flexible
    types (S, a, U, V and structured) take their size from the state, the others keep their own."""
    match = _DESCR.fullmatch(descr)
    if match is None:
        return None
    kind, digits = match.group(1), match.group(2)
    parsed = None
    if state is not None:
        parsed = _setstate(state)
        if parsed is None:
            return None
    fields, elsize, flags = parsed if parsed is not None else (None, -1, None)
    if flags is not None:
        hasobject = bool(flags & _HASOBJECT)
    elif fields is not None:
        return None  # an old state with fields: numpy derives hasobject from them
    else:
        hasobject = kind == "O"
    if hasobject:
        return True, 0
    size: int | None
    if kind in _FLEXIBLE:
        if parsed is not None:
            size = elsize if elsize >= 0 else None
        else:
            size = int(digits) * (4 if kind == "U" else 1) if digits else None
    elif kind == "?":
        size = 1 if not digits or digits == "1" else None
    elif kind in _FIXED:
        size = (8 if kind in "Mm" else None) if not digits else int(digits)
        if size is not None and size not in _FIXED[kind]:
            size = None
    else:
        size = None  # 'O' whose flags say it holds no objects, or a kind we do not know
    return None if size is None else (False, size)


def companion_name(state: object) -> str | None:
    """The file an old joblib wrapper loads by name (relative to the pickle's folder)."""
    if isinstance(state, DictVal):
        name = state.items.get("filename")
        if isinstance(name, str):
            return name
    return None


def companion_escapes(filename: str) -> bool:
    """Whether joblib's ``os.path.join(folder, filename)`` leaves the pickle's folder."""
    parts = filename.replace("\\", "/").split("/")
    return (not filename or filename.startswith(("/", "\\")) or ".." in parts
            or re.match(r"^[A-Za-z]:", filename) is not None)


def companion_paths(pickle_path: Path, filenames: list[str]) -> list[Path]:
    """The companion files that exist next to ``pickle_path`` (as old joblib opens them), for the caller
    to scan like any model file. Names that leave the folder are not followed (they are reported)."""
    folder = pickle_path.parent
    found = []
    for name in filenames:
        if companion_escapes(name):
            continue
        path = folder / name
        if path.is_file():
            found.append(path)
    return found
