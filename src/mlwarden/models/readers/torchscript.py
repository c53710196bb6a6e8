"""TorchScript code: the ``code/`` sources of a ``torch.jit.save`` archive, compiled and run by
``torch.jit.load``. Any TorchScript archive is reported as code (MW108, by the zip reader); this reader
reports the calls that reach outside the tensor world: files (``torch.from_file``, ``open``), native
libraries, imports, processes. Inside ``__setstate__`` they run while the model loads, before any call."""

from __future__ import annotations

import re
from collections.abc import Callable

from mlwarden.findings import Severity
from mlwarden.models.readers import sniffs
from mlwarden.models.readers.base import Blob, ReaderFormat, Report, Scan, emit
from mlwarden.rules import TORCHSCRIPT_DANGEROUS_CALL

# TorchScript's builtins that touch the file system or load code; Python escapes that no TorchScript compiler
# emits (their presence means hand-edited code).
_DANGEROUS = re.compile(
    r"\b(?:torch\.|ops\.aten\.)?from_file\b|\bload_library\b|\b__import__\b|\bexec\s*\(|\beval\s*\("
    r"|\bopen\s*\(|\bos\.[a-z_]+|\bsubprocess\b|\bsys\.[a-z_]+|\bbuiltins\b|\bimportlib\b"
    r"|\btorch\.(?:save|load)\s*\(|\bops\.aten\.(?:save|load)\b|\bsocket\b|\bctypes\b")
_CUSTOM_OP = re.compile(r"\bops\.(?!aten\.|prim\.|quantized\.|_caffe2\.|profiler\.|_quantized\.)([A-Za-z_]\w*)\.")
_DEF = re.compile(r"^\s*def\s+(\w+)", re.MULTILINE)
MAX_CODE = 16 << 20


def check_code(name: str, source: str) -> Report:
    report = Report()
    defs = [(m.start(), m.group(1)) for m in _DEF.finditer(source)]

    def function_at(pos: int) -> str:
        current = ""
        for start, fname in defs:
            if start > pos:
                break
            current = fname
        return current

    seen: set[str] = set()
    for match in _DANGEROUS.finditer(source):
        call = match.group(0).rstrip("( ").strip()
        fname = function_at(match.start())
        key = f"torchscript-call:{name}:{fname}:{call}"
        if key in seen:
            continue
        seen.add(key)
        at_load = fname == "__setstate__"
        when = "while the model loads (__setstate__)" if at_load else f"in {fname or 'module code'}"
        report.add(
            TORCHSCRIPT_DANGEROUS_CALL,
            name,
            f"TorchScript code calls {call} {when}: it touches files, native code or imports",
            key,
            Severity.CRITICAL if at_load else None,
        )
    for match in _CUSTOM_OP.finditer(source):
        key = f"torchscript-op:{match.group(1)}"
        if key not in seen:
            seen.add(key)
            report.add(
                TORCHSCRIPT_DANGEROUS_CALL,
                name,
                f"TorchScript code calls custom operators torch.ops.{match.group(1)} "
                "(native code registered by a library)",
                key,
                Severity.MEDIUM,
            )
    return report


def check_torchscript(names: list[str], read: Callable[[str], bytes]) -> Report:
    report = Report()
    sources = [n for n in names if "code/" in n and n.endswith(".py")]
    if sources:
        report.formats.append("torchscript")
    for name in sources:
        try:
            text = read(name).decode("utf-8", "replace")
        except OSError as exc:
            report.unverifiable(name, f"TorchScript source cannot be read: {exc}", "torchscript-code")
            continue
        sub = check_code(name, text)
        report.problems += sub.problems
    return report


sniff = sniffs.torchscript


def scan(blob: Blob, scan: Scan) -> None:
    from mlwarden.models.readers.zipaccess import zip_report

    emit(zip_report(blob, check_torchscript, MAX_CODE, fail_closed=False), scan, blob.member)


FORMAT = ReaderFormat("torchscript-code", sniff, scan, seekable=True)
