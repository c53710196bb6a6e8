"""Inline suppressions, as every linter has them: ``# noqa: MW401``, ``# mlwarden: ignore[MW401,MW402]``,
or a bare ``# mlwarden: ignore`` for every rule on that line. Suppressed findings are not lost: the report
lists them (``--show-suppressed``)."""

from __future__ import annotations

import re
from pathlib import Path

ALL = frozenset({"*"})
_NOQA = re.compile(r"(?:#|//|--|<!--)\s*noqa\s*:\s*(?P<ids>MW\d{3}(?:\s*[,\s]\s*MW\d{3})*)", re.IGNORECASE)
_IGNORE = re.compile(r"(?:#|//|--|<!--)\s*mlwarden\s*:\s*ignore(?:\[(?P<ids>[^\]]*)\])?", re.IGNORECASE)
_MAX_FILE = 32 * 1024 * 1024  # suppressions are looked up in source and text files, not in datasets


def suppressed_rules(line: str) -> frozenset[str]:
    """The rule ids a line suppresses (``ALL`` for a bare ``mlwarden: ignore``)."""
    if "noqa" not in line.lower() and "mlwarden" not in line.lower():
        return frozenset()
    ids: set[str] = set()
    for match in _NOQA.finditer(line):
        ids.update(x.upper() for x in re.findall(r"MW\d{3}", match["ids"], re.IGNORECASE))
    for match in _IGNORE.finditer(line):
        if match["ids"] is None or not match["ids"].strip():
            return ALL
        ids.update(x.strip().upper() for x in match["ids"].split(",") if x.strip())
    return frozenset(ids)


def is_suppressed(rule: str, line: str) -> bool:
    rules = suppressed_rules(line)
    return rules is ALL or rule in rules


def unknown_rules(line: str) -> list[str]:
    """Rule ids named in a suppression that the registry does not know (for a helpful error)."""
    from mlwarden.rules import RULES

    rules = suppressed_rules(line)
    return [] if rules is ALL else sorted(r for r in rules if r not in RULES)


def file_lines(path: Path) -> list[str] | None:
    """The lines of a text file, or None for a file that is missing, binary or too large to hold code."""
    try:
        if path.stat().st_size > _MAX_FILE or not path.is_file():
            return None
        data = path.read_bytes()
    except OSError:
        return None
    if b"\0" in data[:8192]:
        return None
    return data.decode("utf-8", errors="replace").splitlines()
