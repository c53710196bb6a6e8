"""Turn what the pickle machine saw into findings: safe list first, known-dangerous next, the rest unknown.

The safe list is an *allowlist*: a global is safe only if its exact dotted name is on it. Deny lists alone
are bypassed again and again (research/model-scanners.md §4); the dangerous list here only decides whether
an unknown global is critical rather than high.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from mlwarden.findings import Finding, Location, Severity
from mlwarden.models.pickle import LOADERS, Analysis, Usage
from mlwarden.models.pickle.joblib import companion_escapes
from mlwarden.rules import (
    PICKLE_DANGEROUS_CALLABLE,
    PICKLE_NESTED_LOADER,
    PICKLE_UNKNOWN_CALLABLE,
    PICKLE_UNKNOWN_IMPORT,
    PICKLE_UNPARSABLE,
    PICKLE_UNRESOLVED_GLOBAL,
    SCAN_BUDGET_EXCEEDED,
    make_finding,
)

# Modules (and their submodules) that run code, touch the OS or resolve names to callables.
DANGEROUS_MODULES = frozenset(
    {
        "os",
        "posix",
        "nt",
        "posixpath",
        "ntpath",
        "subprocess",
        "sys",
        "socket",
        "socketserver",
        "shutil",
        "pty",
        "runpy",
        "pickle",
        "_pickle",
        "cPickle",
        "pickletools",
        "dill",
        "cloudpickle",
        "marshal",
        "code",
        "codeop",
        "importlib",
        "imp",
        "pkgutil",
        "zipimport",
        "ctypes",
        "_ctypes",
        "multiprocessing",
        "asyncio",
        "webbrowser",
        "http",
        "urllib",
        "urllib2",
        "urllib3",
        "httplib",
        "requests",
        "aiohttp",
        "ftplib",
        "smtplib",
        "telnetlib",
        "poplib",
        "imaplib",
        "pdb",
        "bdb",
        "timeit",
        "cProfile",
        "profile",
        "trace",
        "pydoc",
        "platform",
        "venv",
        "ensurepip",
        "pip",
        "setuptools",
        "distutils",
        "io",
        "_io",
        "types",
        "threading",
        "_thread",
        "signal",
        "mailcap",
        "commands",
        "popen2",
        "tempfile",
        "glob",
        "linecache",
        "site",
        "shelve",
        "dbm",
        "logging.config",
        "compileall",
        "py_compile",
        "inspect",
        "gc",
        "weakref",
        "_posixsubprocess",
        "_winapi",
        "msvcrt",
        "winreg",
        "operator",
        "_operator",
        "numpy.f2py",
        "numpy.testing",
        "numpy.distutils",
        "numpy.lib.npyio",
        "numpy.load",
        "numpy.ctypeslib",
        "torch.hub",
        "torch.utils.collect_env",
        "torch.utils.cpp_extension",
        "torch.serialization",
        "torch.load",
        "torch._dynamo",
        "torch.jit",
        "torch.package",
        "torch._inductor",
        "torch.utils.data.datapipes",
        "joblib.load",
        "joblib.numpy_pickle.load",
        "pandas.io.pickle",
        "pandas.read_pickle",
        "keras.src.utils.python_utils",
        "tensorflow.io",
        "jinja2",
        "yaml",
        "bash",
        # evaluate strings, compile or run code, spawn workers, or open files by name
        "sympy",
        "doctest",
        "torch.fx",
        "torch.export",
        "torch.utils.benchmark",
        "torch.utils._config_module",
        "joblib.externals.loky",
        "joblib.parallel",
        "joblib.pool",
        "numpy.memmap",
        "numpy.lib.format",
        "numpy.fromfile",
        "numpy.loadtxt",
        "numpy.genfromtxt",
        "numpy.save",
        "numpy.savez",
        "torch.from_file",
        "torch.save",
        "pandas.io",
        "tensorflow",
        "keras.src.saving",
    }
)
# Top-level functions of these packages that read files or evaluate text (pandas.read_csv, pandas.eval...).
_DANGEROUS_PREFIXES = ("pandas.read_", "pandas.eval", "numpy.load", "torch.load")
# Names in builtins that execute code, open files or reach arbitrary attributes.
DANGEROUS_BUILTINS = frozenset(
    {
        "eval",
        "exec",
        "execfile",
        "compile",
        "open",
        "file",
        "__import__",
        "getattr",
        "setattr",
        "delattr",
        "globals",
        "locals",
        "vars",
        "input",
        "raw_input",
        "breakpoint",
        "exit",
        "quit",
        "help",
        "apply",
        "reload",
        "memoryview",
        "__loader__",
        "__spec__",
        "__build_class__",
        "type",
    }
)
# Attribute traversal through these reaches interpreter internals (modelscan #89, picklescan #66).
DANGEROUS_DUNDERS = frozenset(
    {
        "__builtins__",
        "__globals__",
        "__subclasses__",
        "__import__",
        "__code__",
        "__dict__",
        "__getattribute__",
        "__class__",
        "__base__",
        "__bases__",
        "__mro__",
        "__closure__",
        "__func__",
        "__self__",
        "__loader__",
        "__spec__",
        "__reduce__",
        "__reduce_ex__",
        "__setstate__",
        "__init__",
        "__new__",
        "__call__",
        "__getattr__",
        "__module__",
        "__wrapped__",
    }
)
# Roots that are dangerous even when reached through another module's attribute (torch._utils.os...).
_TRAVERSAL_ROOTS = frozenset(
    {
        "os",
        "posix",
        "nt",
        "subprocess",
        "sys",
        "builtins",
        "__builtin__",
        "socket",
        "shutil",
        "pty",
        "runpy",
        "pickle",
        "marshal",
        "importlib",
        "ctypes",
        "code",
        "pdb",
        "webbrowser",
        "multiprocessing",
        "asyncio",
        "commands",
        "popen2",
        "pkgutil",
        "operator",
    }
)


# Deserialisers that torch itself emits in ordinary pickles: the call is expected, its payload is scanned.
SAFE_LOADERS = frozenset({"torch.storage._load_from_bytes"})
# Harmless functions inside otherwise dangerous modules: TorchScript's own pickles (constants.pkl, debug_pkl)
# rebuild lists and tensors through torch.jit._pickle helpers.
_SAFE_EXCEPTIONS = frozenset(
    {
        "torch.serialization._get_layout",
        "torch.jit._pickle.build_intlist",
        "torch.jit._pickle.build_tensorlist",
        "torch.jit._pickle.build_doublelist",
        "torch.jit._pickle.build_boollist",
        "torch.jit._pickle.build_complexlist",
        "torch.jit._pickle.build_tensor_from_id",
        "torch.jit._pickle.restore_type_tag",
        # dill's pure helpers, found in dill-pickled scikit-learn models: _create_array calls its first argument
        # (counted as a call of it, see pickle/calls.py); _load_type looks a type up in dill's fixed table (its
        # result is unresolved if called); _create_dtypemeta is type(np.dtype(x)).
        "dill._dill._create_array",
        "dill._dill._load_type",
        "dill._dill._create_dtypemeta",
    }
)
# TorchScript classes: torch.jit.load compiles them from the archive's code/ folder (reported as MW108);
# they cannot name Python callables.
_TORCHSCRIPT_CLASS_PREFIX = "__torch__."


@lru_cache(maxsize=1)
def default_safe_globals() -> frozenset[str]:
    """The shipped safe list (generated by scripts/gen_safe_globals.py, plus curated entries)."""
    text = (Path(__file__).parent / "safe_globals.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def of_loading_script(dotted: str) -> bool:
    """A name in ``__main__``: whatever the script that loads the file defines (or imported); the file itself
    cannot bring that code."""
    return dotted.startswith("__main__.")


def dangerous_reason(dotted: str) -> str | None:
    """Why a dotted global is known to execute code, or None."""
    if dotted in SAFE_LOADERS or dotted in _SAFE_EXCEPTIONS:
        return None
    parts = dotted.split(".")
    if parts[0] in ("builtins", "__builtin__") and len(parts) >= 2 and parts[1] in DANGEROUS_BUILTINS:
        return f"builtins.{parts[1]} executes code or reaches arbitrary objects"
    for part in parts[1:]:
        if part in DANGEROUS_DUNDERS:
            return f"traverses {part} to reach interpreter internals"
    for i in range(1, len(parts) + 1):
        prefix = ".".join(parts[:i])
        if prefix in DANGEROUS_MODULES:
            return f"{prefix} can run commands, load code or resolve names to callables"
    if dotted.startswith(_DANGEROUS_PREFIXES):
        return f"{dotted} reads files or evaluates text"
    for i in range(1, len(parts) - 1):
        if parts[i] in _TRAVERSAL_ROOTS:
            return f"reaches {'.'.join(parts[i:])} through {'.'.join(parts[:i])}"
    if dotted in LOADERS:
        return "deserialises further data"
    return None


def classify(analysis: Analysis, location: Location, safe: Iterable[str] | frozenset[str]) -> list[Finding]:
    """Findings for one pickle stream."""
    safe_set = safe if isinstance(safe, frozenset) else frozenset(safe)
    findings: list[Finding] = []
    for dotted, usage in sorted(analysis.globals.items()):
        finding = _classify_global(dotted, usage, location, safe_set)
        if finding is not None:
            findings.append(finding)
    for companion in analysis.companions:
        name = companion.filename or "a file it cannot name"
        escapes = companion_escapes(companion.filename)
        where = " outside the pickle's folder" if escapes else ""
        findings.append(
            _finding(
                PICKLE_NESTED_LOADER,
                location,
                f"old joblib array wrapper loads {name}{where} by name with "
                "np.load(allow_pickle=True): scan that file too",
                key=f"companion:{name}",
                evidence=f"offset {companion.offset}",
                severity=Severity.HIGH if escapes else Severity.MEDIUM,
            )
        )
    for problem in analysis.problems:
        rule = {
            "unparsable": PICKLE_UNPARSABLE,
            "unresolved": PICKLE_UNRESOLVED_GLOBAL,
            "budget": SCAN_BUDGET_EXCEEDED,
            "nested-unreadable": PICKLE_NESTED_LOADER,
        }[problem.kind]
        findings.append(
            _finding(
                rule,
                location,
                problem.message,
                key=f"{problem.kind}:{problem.message}",
                evidence=f"offset {problem.offset}",
            )
        )
    return findings


def _classify_global(dotted: str, usage: Usage, location: Location, safe: frozenset[str]) -> Finding | None:
    how = _how(usage)
    reason = dangerous_reason(dotted)
    if dotted in SAFE_LOADERS or dotted in _SAFE_EXCEPTIONS or dotted.startswith(_TORCHSCRIPT_CLASS_PREFIX):
        return None
    if reason is not None and dotted in LOADERS:
        return _finding(
            PICKLE_NESTED_LOADER,
            location,
            f"{how} deserialiser {dotted}: the embedded payload is scanned separately",
            key=dotted,
            evidence=f"offset {usage.offset}",
        )
    if reason is not None:
        return _finding(
            PICKLE_DANGEROUS_CALLABLE,
            location,
            f"{how} {dotted}: {reason}",
            key=dotted,
            evidence=f"offset {usage.offset}",
        )
    if dotted in safe:
        return None
    if usage.called:
        return _finding(
            PICKLE_UNKNOWN_CALLABLE,
            location,
            f"calls {dotted}, which is not on the safe list" + (f" ({usage.via})" if usage.via else ""),
            key=dotted,
            evidence=f"offset {usage.offset}",
        )
    if usage.instantiated and of_loading_script(dotted):
        # A class of the loading script itself (an object saved from a notebook or script). NEWOBJ only
        # instantiates a type and the pickle cannot bring the code: what runs is the loader's own class. Worth
        # a review, not a block; a call (REDUCE) of a __main__ name is still high above.
        return _finding(
            PICKLE_UNKNOWN_CALLABLE,
            location,
            f"instantiates {dotted}, a class the loading script must define (an object saved from a notebook "
            "or script): review the class, or allow it with a [[pickle]] entry",
            key=dotted,
            evidence=f"offset {usage.offset}",
            severity=Severity.MEDIUM,
        )
    if usage.instantiated:
        # NEWOBJ runs the class's __new__, and BUILD its __setstate__: code, unless the class is known.
        return _finding(
            PICKLE_UNKNOWN_CALLABLE,
            location,
            f"instantiates {dotted}, which is not on the safe list (runs its __new__ and __setstate__)",
            key=dotted,
            evidence=f"offset {usage.offset}",
        )
    return _finding(
        PICKLE_UNKNOWN_IMPORT,
        location,
        f"imports {dotted}, which is not on the safe list",
        key=dotted,
        evidence=f"offset {usage.offset}",
    )


def _how(usage: Usage) -> str:
    if usage.called:
        return "calls"
    if usage.instantiated:
        return "instantiates"
    return "imports"


def _finding(
    rule_id: str, location: Location, message: str, *, key: str, evidence: str = "", severity: Severity | None = None
) -> Finding:
    return make_finding(rule_id, location, message, key, severity=severity, evidence=evidence)
