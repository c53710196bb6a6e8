"""Readable pseudo-Python for the pickles in a file (fickling's decompiler; nothing is executed)."""

from __future__ import annotations

import ast
from pathlib import Path

from mlwarden.findings import Severity
from mlwarden.models.scanner import scan_model_file


def decompile(data: bytes) -> str:
    """fickling's decompilation of one (or several stacked) pickles; our own summary if it fails."""
    import io

    from fickling.fickle import StackedPickle

    try:
        stacked = StackedPickle.load(io.BytesIO(data), fail_on_decode_error=False)
        parts = [ast.unparse(pickled.ast) for pickled in stacked]
    except Exception as exc:  # noqa: BLE001 - fickling raises many types on unusual streams
        return f"# fickling could not decompile this stream ({type(exc).__name__}: {exc})\n"
    return "\n".join(parts) + "\n"


def explain_file(path: Path, *, max_lines: int = 200) -> tuple[str, bool]:
    """The explanation text, and whether any finding is high or worse."""
    result, pickles = scan_model_file(path, str(path), collect_pickles=True)
    out: list[str] = []
    if result.error:
        return f"{path}: error: {result.error.message}\n", True
    if not pickles:
        out.append(f"# {path}: no pickle found (formats: {', '.join(result.formats) or 'unknown'})")
    for member, data in pickles:
        out.append(f"# ---- {path}{'!' + member if member else ''} ({len(data)} bytes of pickle) ----")
        lines = decompile(data).splitlines()
        out.extend(lines[:max_lines])
        if len(lines) > max_lines:
            out.append(f"# … {len(lines) - max_lines} more lines")
    out.append("# ---- findings ----")
    for finding in sorted(result.findings, key=lambda f: f.sort_key()):
        out.append(f"# {finding.location}: {finding.rule} {finding.severity.label}: {finding.message}")
    if not result.findings:
        out.append("# none")
    failing = any(f.severity >= Severity.HIGH for f in result.findings)
    return "\n".join(out) + "\n", failing
