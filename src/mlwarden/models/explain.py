"""Readable pseudo-Python for the pickles in a file (fickling's decompiler; nothing is executed)."""

from __future__ import annotations

import ast
from pathlib import Path

from mlwarden.config import Budgets
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


def explain_file(path: Path, *, max_lines: int = 200, display: str | None = None, budgets: Budgets | None = None,
                 extra_safe: frozenset[str] = frozenset(), fail_on: Severity = Severity.HIGH) -> tuple[str, bool]:
    """The explanation text, and whether any finding is at or above ``fail_on``. The policy's extra safe
    globals and the configured budgets apply, as in `mlwarden models`."""
    from mlwarden.output.text import printable

    shown = printable(display or str(path))
    result, pickles = scan_model_file(path, display or str(path), budgets=budgets, extra_safe=extra_safe,
                                      collect_pickles=True)
    out: list[str] = []
    if result.error:
        return f"{shown}: error: {printable(result.error.message)}\n", True
    if not pickles:
        out.append(f"# {shown}: no pickle found (formats: {', '.join(result.formats) or 'unknown'})")
    for member, data in pickles:
        out.append(f"# ---- {shown}{'!' + printable(member) if member else ''} ({len(data)} bytes of pickle) ----")
        lines = decompile(data).splitlines()
        out.extend(lines[:max_lines])
        if len(lines) > max_lines:
            out.append(f"# … {len(lines) - max_lines} more lines")
    out.append("# ---- findings ----")
    for finding in sorted(result.findings, key=lambda f: f.sort_key()):
        out.append(f"# {printable(str(finding.location))}: {finding.rule} {finding.severity.label}: "
                   f"{printable(finding.message)}")
    if not result.findings:
        out.append("# none")
    failing = any(f.severity >= fail_on for f in result.findings)
    return "\n".join(out) + "\n", failing
