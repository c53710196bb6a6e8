"""CycloneDX `licenses` entries from what a lock or package metadata says: an SPDX id, an SPDX expression, or a
name. The SPDX licence list is the one bundled with the CycloneDX schema (schemas/spdx.schema.json), so an id
we emit is one the schema accepts.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from mlwarden.sbom.schema import SCHEMA_DIR

_TOKEN = re.compile(r"\s*(\(|\)|[A-Za-z0-9.+:-]+)")
_OPERATORS = {"AND", "OR", "WITH"}


@lru_cache(maxsize=1)
def _spdx_ids() -> dict[str, str]:
    ids = json.loads((SCHEMA_DIR / "spdx.schema.json").read_text(encoding="utf-8"))["enum"]
    return {str(i).lower(): str(i) for i in ids}


def _expression(text: str) -> str | None:
    """`text` as a canonical SPDX expression when every token is an operator, a parenthesis, a known licence id
    (with an optional trailing +) or a LicenseRef-/DocumentRef- reference; else None."""
    known = _spdx_ids()
    out: list[str] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            return None if text[position:].strip() else " ".join(out)
        token, position = match.group(1), match.end()
        if token.upper() in _OPERATORS:
            out.append(token.upper())
        elif token in ("(", ")") or token.startswith(("LicenseRef-", "DocumentRef-")):
            out.append(token)
        elif token.rstrip("+").lower() in known:
            out.append(known[token.rstrip("+").lower()] + ("+" if token.endswith("+") else ""))
        else:
            return None
    return " ".join(out).replace("( ", "(").replace(" )", ")") or None


def license_entries(text: str | None) -> list[dict[str, Any]]:
    """[] when unknown; one SPDX id as {"license": {"id"}}, an expression as {"expression"}, else a name."""
    if not text or not isinstance(text, str) or not text.strip():
        return []
    text = " ".join(text.split())[:500]
    known = _spdx_ids()
    for candidate in (text, re.sub(r"(?i)\s+licen[cs]e$", "", text)):  # "MIT License" is MIT
        if candidate.lower() in known:
            return [{"license": {"id": known[candidate.lower()]}}]
    expression = _expression(text)
    if expression and any(op in expression.split() for op in _OPERATORS):
        return [{"expression": expression}]
    return [{"license": {"name": text}}]


def project_license(project: dict[str, Any]) -> list[dict[str, Any]]:
    """The licence of a PEP 621 [project] table: `license = "MIT"` (PEP 639) or `license = {text = ...}`."""
    value = project.get("license")
    if isinstance(value, str):
        return license_entries(value)
    if isinstance(value, dict) and isinstance(value.get("text"), str):
        return license_entries(value["text"])
    return []
