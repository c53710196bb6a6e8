"""Output formats, one module each behind one interface (cf. pip-audit's _format package)."""

from __future__ import annotations

from mlwarden.output._interface import Formatter

FORMATS = ("text", "json", "sarif")


def get_formatter(name: str, *, color: bool = False, category: str = "scan", quiet: bool = False,
                  show_suppressed: bool = False) -> Formatter:
    if name == "json":
        from mlwarden.output.json import JsonFormatter

        return JsonFormatter()
    if name == "sarif":
        from mlwarden.output.sarif import SarifFormatter

        return SarifFormatter(category=category)
    if name == "text":
        from mlwarden.output.text import TextFormatter

        return TextFormatter(color=color, quiet=quiet, show_suppressed=show_suppressed)
    raise ValueError(f"unknown format {name!r}")


__all__ = ["FORMATS", "Formatter", "get_formatter"]
