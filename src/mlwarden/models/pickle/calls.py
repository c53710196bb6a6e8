"""What a call does with its arguments, for the callables whose arguments matter.

A safe-listed helper that calls, instantiates or resolves what it is given is only as safe as what it
receives: ``torch._tensor._rebuild_from_type_v2(func, ...)`` runs ``func``, ``copyreg._reconstructor``
runs ``base.__new__``/``base.__init__``, ``collections.defaultdict(factory)`` calls ``factory`` later.
The machine records the received global as *called* ("through <helper>"), so the verdict is the worst of
what the helper receives and never depends on knowing which callables are dangerous.
"""

from __future__ import annotations

# Loaders whose bytes argument is itself a serialised object; the payload is extracted and scanned.
LOADERS = frozenset({
    "pickle.loads", "pickle.load", "_pickle.loads", "_pickle.load", "cPickle.loads", "pickle._loads",
    "dill.loads", "dill._dill.loads", "cloudpickle.loads", "joblib.load", "numpy.load",
    "torch.load", "torch.serialization.load", "torch.storage._load_from_bytes", "marshal.loads",
})

# Argument positions that the helper calls (or whose __new__/__init__/__setstate__ it runs). ``None``
# means every argument: the helper's signature varies, so anything callable it receives is counted.
HIGHER_ORDER: dict[str, tuple[int, ...] | None] = {
    # torch: func(*args), then new_type's __setstate__ (as_subclass + __setstate__)
    "torch._tensor._rebuild_from_type": (0, 1),
    "torch._tensor._rebuild_from_type_v2": (0, 1),
    "torch._utils._rebuild_wrapper_subclass": (0,),  # cls._make_wrapper_subclass
    # numpy: ndarray.__new__(subtype, ...) runs the subtype's __array_finalize__
    "numpy.core.multiarray._reconstruct": (0,),
    "numpy._core.multiarray._reconstruct": (0,),
    "numpy.core._internal._reconstruct": (0,),  # the same, as pickles from before numpy 1.0 name it
    "numpy.ma.core._mareconstruct": (0, 1),  # subtype.__new__, ndarray.__new__(baseclass)
    "numpy.random._pickle.__bit_generator_ctor": (0,),  # any type given is instantiated
    "numpy.random._pickle.__randomstate_ctor": (1,),  # bit_generator_ctor(name)
    "numpy.random._pickle.__generator_ctor": (1,),
    "numpy.random.__RandomState_ctor": (1,),
    # copyreg: object.__new__(cls) or base.__new__(cls, state) + base.__init__(obj, state)
    "copyreg._reconstructor": (0, 1),
    "copyreg.__newobj__": (0,),
    "copyreg.__newobj_ex__": (0,),
    # lazy or deferred calls: the callable runs when the result is used
    "builtins.map": (0,),
    "builtins.filter": (0,),
    "functools.partial": (0,),
    "functools.reduce": (0,),
    "collections.defaultdict": (0,),
    "builtins.sorted": None,
    "builtins.min": None,
    "builtins.max": None,
    "builtins.property": None,
    "builtins.classmethod": None,
    "builtins.staticmethod": None,
    # Cython/pandas unpickle helpers: cls.__new__(cls, ...)
    "pandas.core.indexes.base._new_Index": (0,),
    "pandas._libs.arrays.__pyx_unpickle_NDArrayBacked": (0,),
    "numpy.random.bit_generator.__pyx_unpickle_SeedSequence": (0,),
    "array._array_reconstructor": (0,),
    "dill._dill._create_array": (0,),  # f(*args) then __setstate__
}

# Functions that turn strings into a global (import + getattr). A constant argument is resolved and the
# result is treated like a GLOBAL opcode; anything else is unresolved.
RESOLVERS: dict[str, str] = {
    "torch._utils._import_dotted_name": "dotted",  # __import__(parts[0]) then getattr down the parts
    "numpy.core._ufunc_reconstruct": "module-name",  # getattr(__import__(module), name)
    "numpy._core._ufunc_reconstruct": "module-name",
    "numpy.core._internal._ufunc_reconstruct": "module-name",
    "numpy._core._internal._ufunc_reconstruct": "module-name",
    "dill._dill._load_type": "dill-type",  # a name in dill's type table: builtins types, types.*Type, ...
}


def dill_type(name: str) -> tuple[str, str] | None:
    """The (module, name) of ``dill._dill._load_type(name)`` when it can be told from the name alone: a
    builtin type ("slice", "dict") or a ``types`` module type ("CodeType", which builds code: dangerous).
    dill's own aliases (PartialType, AttrGetterType...) are left unresolved, so they fail closed."""
    import builtins
    import types

    value = getattr(builtins, name, None)
    if isinstance(value, type) and not name.startswith("_"):
        return "builtins", name
    if name.endswith("Type") and isinstance(getattr(types, name, None), type):
        return "types", name
    return None

# Safe helpers whose result is the bytes of their first argument (protocol 0-2 encodes bytes this way).
BYTES_MAKERS = frozenset({"_codecs.encode", "builtins.bytes", "builtins.bytearray"})
_ERRORS = frozenset({"strict", "ignore", "replace", "surrogateescape", "surrogatepass", "backslashreplace",
                     "xmlcharrefreplace", "namereplace"})


def encode_like_loader(func: str, argv: tuple[object, ...]) -> bytes | None:
    """The bytes ``_codecs.encode(text, encoding, errors)`` / ``bytes(text, encoding)`` give in the loader,
    with the encoding argument honoured (``_codecs.encode`` defaults to UTF-8). None when the loader
    would fail or the encoding is not a plain text codec (then nothing is assumed about the bytes)."""
    import codecs

    if not argv:
        return None
    data = argv[0]
    if isinstance(data, bytes):
        return data if func != "_codecs.encode" else None  # encode(bytes, ...) needs a bytes codec
    if not isinstance(data, str):
        return None
    encoding = argv[1] if len(argv) > 1 else ("utf-8" if func == "_codecs.encode" else None)
    errors = argv[2] if len(argv) > 2 else "strict"
    if not isinstance(encoding, str) or not isinstance(errors, str) or errors not in _ERRORS:
        return None
    try:
        info = codecs.lookup(encoding)  # the stdlib's own codec table, as the loader's _codecs.encode
    except LookupError:
        return None
    if not info._is_text_encoding:
        return None
    try:
        out = info.encode(data, errors)[0]
    except (UnicodeError, ValueError, TypeError):
        return None
    return out if isinstance(out, bytes) else None
