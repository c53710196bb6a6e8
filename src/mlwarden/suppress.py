"""Inline suppressions, as every linter has them: a comment on the line names the rules it silences.

    token = "hf_…"  # mlwarden: ignore[MW401]        one or more ids (or rule names), comma-separated
    token = "hf_…"  # noqa: MW401                   flake8/ruff style; codes of other tools are left alone
    token = "hf_…"  # mlwarden: ignore              every rule on this line
    <!-- mlwarden: ignore[MW402] -->               also after //, /*, --, ; and % (JS, SQL, ini, LaTeX)

A bare `# noqa` does not silence mlwarden: it is written for other linters, and a security finding should be
silenced on purpose. In notebooks a cell is silenced by the tag `mlwarden-ignore` (every rule) or
`mlwarden-ignore[MW401]`, or by cell metadata `"mlwarden": {"ignore": ["MW401"]}` (or `true` for every rule).

The API is pure (text in, rule ids out) so that the pipeline can apply it to every rule that reports a line.
Ids that name no rule are returned by `unknown_rules` so the caller can say so, with `closest_rule`'s hint.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

ALL: frozenset[str] = frozenset({"*"})  # "every rule": a set, so callers need one type only
NONE: frozenset[str] = frozenset()
CELL_TAG = "mlwarden-ignore"

_COMMENT = r"(?:#|//|/\*|<!--|--|;|%)"
# Bounded repetitions: a hostile line of a million commas stays linear.
_IGNORE = re.compile(_COMMENT + r"[ \t]*mlwarden[ \t]*:[ \t]*ignore(?:\[([^\]\n]{0,400})\])?", re.IGNORECASE)
_CODE = r"[A-Za-z]+[0-9][A-Za-z0-9]*"  # E501, MW401, and a misspelt MW7O4 (reported, never silencing)
_NOQA = re.compile(_COMMENT + r"[ \t]*noqa[ \t]*:[ \t]*(" + _CODE
                   + r"(?:(?:[ \t]*,[ \t]*|[ \t]+)" + _CODE + r"){0,40})", re.IGNORECASE)
_ID = re.compile(r"^MW\d{3}$", re.IGNORECASE)


def _names() -> dict[str, str]:
    """Rule name -> id (`secret` -> MW401), so that either spelling works."""
    from mlwarden.rules import RULES

    return {rule.name.lower(): rule.id for rule in RULES.values()}


def _tokens(raw: str) -> list[str]:
    return [t for t in re.split(r"[\s,]+", raw.strip()) if t]


def _ids(tokens: Iterable[str], *, noqa: bool) -> frozenset[str]:
    """Canonical ids; unknown `MW` ids are kept as written (upper-cased) so `unknown_rules` can name them.
    In a noqa list only MW codes are ours: E501 and friends belong to other linters."""
    names = _names()
    out: set[str] = set()
    for word in tokens:
        if _ID.match(word):
            out.add(word.upper())
        elif noqa:
            if word.upper().startswith("MW"):
                out.add(word.upper())  # ours, misspelt ("MW7O4"): kept so that the caller can name the typo
            continue
        elif word == "*":
            out.add("*")
        else:
            out.add(names.get(word.lower(), word))
    return frozenset(out)


def suppressed_rules(line_text: str) -> frozenset[str]:
    """The rules a line's inline comment silences: `ALL` (contains "*"), some ids, or `NONE`."""
    if "mlwarden" not in line_text.lower() and "noqa" not in line_text.lower():
        return NONE  # the common case, without regular expressions
    found: set[str] = set()
    for match in _IGNORE.finditer(line_text):
        if match.group(1) is None:
            return ALL
        ids = _ids(_tokens(match.group(1)), noqa=False)
        if not ids:
            return ALL  # `ignore[]`: what else could it mean
        found |= ids
    for match in _NOQA.finditer(line_text):
        found |= _ids(_tokens(match.group(1)), noqa=True)
    return ALL if "*" in found else frozenset(found)


def covers(rules: frozenset[str], rule_id: str) -> bool:
    return "*" in rules or rule_id in rules


def is_suppressed(rule_id: str, line_text: str) -> bool:
    return covers(suppressed_rules(line_text), rule_id)


def unknown_rules(rules: Iterable[str]) -> list[str]:
    """Ids in a suppression that name no rule (a typo silences nothing: the caller reports it)."""
    from mlwarden.rules import RULES

    return sorted(r for r in rules if r != "*" and r not in RULES)


def closest_rule(rule_id: str) -> str | None:
    """The registered id nearest to a mistyped id or rule name, for the "did you mean" hint."""
    from mlwarden.rules import nearest_rule

    return nearest_rule(rule_id)


def cell_rules(cell: object) -> frozenset[str]:
    """What a notebook cell's tags or metadata silence for the whole cell (its source and outputs).
    Wrong-typed metadata silences nothing: a malformed notebook must not hide findings."""
    if not isinstance(cell, Mapping):
        return NONE
    metadata = cell.get("metadata")
    if not isinstance(metadata, Mapping):
        return NONE
    found: set[str] = set()
    tags = metadata.get("tags")
    if isinstance(tags, list):
        for tag in tags:
            if not isinstance(tag, str):
                continue
            name, _, rest = tag.strip().partition("[")
            if name.lower() != CELL_TAG:
                continue
            ids = _ids(_tokens(rest.rstrip("]")), noqa=False) if rest else ALL
            found |= ids or ALL
    ours = metadata.get("mlwarden")
    if isinstance(ours, Mapping):
        ignore = ours.get("ignore")
        if ignore is True:
            found |= ALL
        elif isinstance(ignore, str):
            found |= _ids(_tokens(ignore), noqa=False)
        elif isinstance(ignore, list):
            found |= _ids((i for i in ignore if isinstance(i, str)), noqa=False)
    return ALL if "*" in found else frozenset(found)


_MAX_FILE = 32 * 1024 * 1024  # suppressions are looked up in source and text files, not in datasets


def file_lines(path: Path) -> list[str] | None:
    """The lines of a text file, or None for a file that is missing, special, binary or too large to hold
    code (the pipeline reads the line of each finding from here)."""
    try:
        if not path.is_file() or path.stat().st_size > _MAX_FILE:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    if b"\0" in data[:8192]:
        return None
    return data.decode("utf-8", errors="replace").splitlines()
