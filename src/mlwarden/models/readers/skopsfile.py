"""skops files: a zip whose ``schema.json`` describes the object tree that ``skops.io.load`` rebuilds.

skops refuses to load a type that is not trusted, unless the caller passes it in ``trusted=`` (often straight
from ``get_untrusted_types``). This reader walks the schema as skops' nodes do and reports the same untrusted
types, without importing skops or the types: each node kind (``__loader__``) trusts its own default set
(skops.io._general/_numpy/_scipy/_sklearn); anything else is what ``get_untrusted_types`` would return."""

from __future__ import annotations

import string
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

from mlwarden.findings import Severity
from mlwarden.models.readers import sniffs
from mlwarden.models.readers.base import Blob, ReaderFormat, Report, Scan, emit
from mlwarden.rules import SKOPS_UNTRUSTED_TYPE

_PRIMITIVES = {"builtins.int", "builtins.float", "builtins.str", "builtins.bool"}
_CONTAINERS = {"builtins.list", "builtins.set", "builtins.map", "builtins.tuple"}
# Node kind -> the types it trusts by default (None: decided by a function below).
_TRUSTED: dict[str, set[str] | None] = {
    "DictNode": {"builtins.dict", "collections.OrderedDict"},
    "DefaultDictNode": {"collections.defaultdict"},
    "ListNode": {"builtins.list"},
    "SetNode": {"builtins.set"},
    "TupleNode": {"builtins.tuple"},
    "BytesNode": {"builtins.bytes"},
    "BytearrayNode": {"builtins.bytearray"},
    "SliceNode": {"builtins.slice"},
    "JsonNode": None,  # always safe
    "FunctionNode": None,  # numpy and scipy.special ufuncs
    "TypeNode": None,  # primitives, containers, numpy scalar types
    "ObjectNode": None,  # scikit-learn estimators and their internal helper types
    "NdArrayNode": None,
    "MaskedArrayNode": {"numpy.ma.core.MaskedArray"},
    "RandomStateNode": {"numpy.random.mtrand.RandomState"},
    "RandomGeneratorNode": {"numpy.random._generator.Generator"},
    "SparseMatrixNode": set(),  # skops 0.16 lists scipy.sparse matrices as untrusted
    "TreeNode": set(),  # and sklearn's Tree (crafted node arrays crash sklearn: skops UNTRUSTED_TYPE_REASONS)
    "LossNode": None,
    "MethodNode": set(), "PartialNode": set(), "ConstructorFromReduceNode": set(), "OperatorFuncNode": set(),
    "DTypeNode": set(), "CachedNode": set(), "_DictWithDeprecatedKeysNode": set(),
}
_UNTRUSTED_SKLEARN = {"sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"}
# Untrusted by skops, but plain data structures of the libraries skops is built for: a finding at low, since
# the user must still pass them in trusted= (a crafted one can crash, not run code).
_DATA_KINDS = {"TreeNode", "SparseMatrixNode", "DTypeNode", "ObjectNode"}
_DATA_MODULES = ("sklearn.", "scipy.sparse.", "numpy")
MAX_NODES = 2_000_000


def _is_numpy_scalar(path: str) -> bool:
    module, _, name = path.rpartition(".")
    return module in ("numpy", "numpy._core.numerictypes", "numpy.core.numerictypes") and (
        name in {"bool_", "bool", "object_", "bytes_", "str_", "void", "datetime64", "timedelta64"}
        or name.rstrip(string.digits) in {"int", "uint", "float", "complex", "longdouble", "clongdouble",
                                         "intc", "uintc", "longlong", "ulonglong", "half", "single", "double",
                                         "csingle", "cdouble", "byte", "ubyte", "short", "ushort", "intp",
                                         "uintp", "long", "ulong"})


@cache
def _ufuncs(module: str) -> frozenset[str]:
    """Public ufunc names of numpy / scipy.special, read from the installed libraries (never the file)."""
    try:
        if module == "numpy":
            import numpy as np

            return frozenset(n for n in dir(np) if isinstance(getattr(np, n), np.ufunc))
        import numpy as np
        import scipy.special as sp  # type: ignore[import-untyped]

        return frozenset(n for n in dir(sp) if not n.startswith("_") and isinstance(getattr(sp, n), np.ufunc))
    except ImportError:  # without the library nothing can be shown to be a ufunc: fail closed
        return frozenset()


def _trusted(loader: str, path: str) -> bool:
    module, _, name = path.rpartition(".")
    if loader == "JsonNode":
        return True
    if loader == "FunctionNode":
        if module in ("numpy", "numpy.core", "numpy._core", "numpy.core.umath", "numpy._core.umath"):
            return name in _ufuncs("numpy")
        return module.startswith("scipy.special") and name in _ufuncs("scipy.special")
    if loader == "TypeNode":
        return path in _PRIMITIVES or path in _CONTAINERS or _is_numpy_scalar(path)
    if loader == "NdArrayNode":
        return path == "numpy.ndarray" or _is_numpy_scalar(path)
    if loader in ("ObjectNode", "LossNode"):
        # skops trusts the estimators sklearn.utils.all_estimators lists and a few loss/link/binning helpers:
        # public classes defined inside sklearn's own modules.
        if path in _UNTRUSTED_SKLEARN:
            return False
        return (module.startswith("sklearn.") and not name.startswith("_")) or name == "_BinMapper"
    trusted = _TRUSTED.get(loader)
    return bool(trusted) and path in trusted  # type: ignore[operator]


def _nodes(node: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    if depth > 500:
        raise ValueError("schema nested deeper than 500 levels")
    if isinstance(node, dict):
        if "__loader__" in node:
            yield node
        for key, value in node.items():
            if key not in ("__class__", "__module__", "__loader__"):
                yield from _nodes(value, depth + 1)
    elif isinstance(node, list):
        for item in node:
            yield from _nodes(item, depth + 1)


def untrusted_types(schema: Any) -> list[tuple[str, str]]:
    """(type path, node kind) of every node skops would not trust by default, sorted, first kind seen."""
    found: dict[str, str] = {}
    for count, node in enumerate(_nodes(schema)):
        if count > MAX_NODES:
            raise ValueError(f"more than {MAX_NODES} schema nodes")
        loader = str(node.get("__loader__"))
        path = f"{node.get('__module__')}.{node.get('__class__')}"
        if loader == "MethodNode":
            content = node.get("content")
            func = content.get("func") if isinstance(content, dict) else None
            obj = content.get("obj") if isinstance(content, dict) else None
            if isinstance(obj, dict):
                path = f"{obj.get('__module__')}.{obj.get('__class__')}.{func}"
        if loader not in _TRUSTED:
            found.setdefault(path, f"unknown node kind {loader}")
        elif not _trusted(loader, path):
            found.setdefault(path, loader)
    return sorted(found.items())


def check_skops(names: list[str], read: Callable[[str], bytes], *, named: bool = True) -> Report:
    """Problems of a skops archive given its member names and a reader of members (bytes, bounded). ``named``:
    the file is named *.skops (it must then be one); otherwise only a schema of skops nodes makes it one."""
    import json  # lazily: the hook's start-up stays light

    from mlwarden.models.classify import dangerous_reason, of_loading_script

    report = Report(formats=["skops"])
    if "schema.json" not in names:
        if not named:
            return Report()
        report.unverifiable(None, "skops file has no schema.json", "skops-schema")
        return report
    try:
        schema = json.loads(read("schema.json"))
        if not named and not _is_skops_schema(schema):
            return Report()
        found = untrusted_types(schema)
    except (ValueError, RecursionError, OSError) as exc:
        report.unverifiable("schema.json", f"skops schema cannot be read: {exc}", "skops-schema")
        return report
    for path, loader in found:
        reason = dangerous_reason(path)
        callable_kind = loader in ("FunctionNode", "TypeNode", "MethodNode", "PartialNode", "OperatorFuncNode",
                                   "ConstructorFromReduceNode") or loader.startswith("unknown")
        # Any other untrusted object type is rebuilt with __new__ and __setstate__ of its class: a call too.
        library_data = loader in _DATA_KINDS and path.startswith(_DATA_MODULES)
        # An object of the loading script's own class (__main__.X, ObjectNode): as for a pickle's NEWOBJ of one,
        # the file cannot bring that code; a review, not a block (models/classify.py).
        script_class = loader == "ObjectNode" and of_loading_script(path)
        severity = (Severity.CRITICAL if reason else Severity.LOW if library_data
                    else Severity.MEDIUM if script_class else Severity.HIGH)
        what = "function or type" if callable_kind else "object type"
        report.add(
            SKOPS_UNTRUSTED_TYPE,
            "schema.json",
            f"untrusted {what} {path} ({loader})"
            + (f": {reason}" if reason else "")
            + "; skops.io.load refuses it unless passed in trusted=",
            f"skops:{path}",
            severity,
        )
    return report


sniff = sniffs.skops


def _is_skops_schema(schema: Any) -> bool:
    """What skops.io.load reads: a top-level node with a __loader__ (and a protocol number)."""
    return isinstance(schema, dict) and "__loader__" in schema


def scan(blob: Blob, scan: Scan) -> None:
    from mlwarden.models.readers.zipaccess import zip_report

    named = blob.name.lower().endswith(".skops")
    emit(zip_report(blob, lambda names, read: check_skops(names, read, named=named), fail_closed=named), scan,
         blob.member)


FORMAT = ReaderFormat("skops", sniff, scan, seekable=True)
