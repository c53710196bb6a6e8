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


def has_object(descr: str, state: object) -> bool:
    """Whether numpy would see ``dtype.hasobject``: joblib then pickles the array instead of raw bytes."""
    if isinstance(state, tuple) and len(state) >= 8 and isinstance(state[7], int) and state[7] & _HASOBJECT:
        return True
    match = _DESCR.fullmatch(descr)
    return match is None or match.group(1) == "O"


def itemsize(descr: str, state: object) -> int | None:
    """numpy's itemsize for a pickled dtype; None when it cannot be known (the caller fails closed)."""
    match = _DESCR.fullmatch(descr)
    if match is None:
        return None
    kind, digits = match.group(1), match.group(2)
    if kind == "?":
        return 1 if not digits or digits == "1" else None
    if kind in _FLEXIBLE:
        # numpy's __setstate__ takes elsize from the state for flexible (and structured) dtypes.
        if isinstance(state, tuple) and len(state) >= 6 and isinstance(state[5], int) and state[5] >= 0:
            return state[5]
        if not digits:
            return None
        return int(digits) * (4 if kind == "U" else 1)
    sizes = _FIXED.get(kind)
    if sizes is None:
        return None
    if not digits:
        return 8 if kind in "Mm" else None
    size = int(digits)
    return size if size in sizes else None


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
