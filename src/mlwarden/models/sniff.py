"""Recognise formats by their bytes (and, for formats that live under fixed names, by name).

Every format whose sniff matches is a candidate: the router scans them all (models/formats, models/scanner).
"""

from __future__ import annotations

from mlwarden.models.formats import matching

HEAD_SIZE = 4096


def sniff_all(head: bytes, size: int | None, name: str = "") -> list[str]:
    """The names of every format the blob may be, in table order."""
    return [fmt.name for fmt in matching(head, name, size)]


def sniff(head: bytes, total_size: int | None, name: str = "") -> str:
    """The first matching format's name, or "unknown" (kept for callers that want one answer)."""
    found = sniff_all(head, total_size, name)
    return found[0] if found else "unknown"
