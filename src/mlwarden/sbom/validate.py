"""Read a CycloneDX JSON document within bounds, and validate it against the official schema, formats included.

The schemas (CycloneDX 1.5 and 1.6 with the SPDX and JSF schemas they reference) are bundled in
sbom/schemas/ and checked by sbom/schema.py, so validation needs no optional package and is as strict in a bare
install as with every extra. It takes well under a second where jsonschema with its format checkers takes
13-30 s for an ordinary SBOM (research note deps-and-sbom.md §4).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mlwarden.errors import InputError
from mlwarden.redact import redact
from mlwarden.sbom.schema import SPECS, schema_errors

MAX_BYTES = 256 * 1024 * 1024  # a CycloneDX document of a large monorepo is tens of MB
MAX_DEPTH = 100  # CycloneDX nests components in components; real documents stay far below this
MAX_REPORTED = 1000


class NotJson(InputError):
    """The bytes are not (UTF-8) JSON: for `sbom validate` an invalid document rather than an unreadable file."""


def load_document(path: Path) -> Any:
    """The parsed JSON of `path`, or InputError with a one-line reason (unreadable, too big, not JSON, too deep)."""
    try:
        if not path.is_file():
            raise InputError(f"{path}: not a regular file" if path.exists() else f"{path}: no such file")
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise InputError(f"{path}: {size} bytes, more than the {MAX_BYTES // 2**20} MiB an SBOM may have")
        raw = path.read_bytes()[:MAX_BYTES + 1]
    except OSError as exc:
        raise InputError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    return parse_document(raw, str(path))


def parse_document(raw: bytes, label: str) -> Any:
    if len(raw) > MAX_BYTES:
        raise InputError(f"{label}: more than the {MAX_BYTES // 2**20} MiB an SBOM may have")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotJson(f"{label}: not UTF-8 JSON ({exc.reason} at byte {exc.start})") from None
    try:
        doc = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise InputError(f"{label}: JSON nested too deeply to read") from None
    except ValueError as exc:
        raise NotJson(f"{label}: not valid JSON: {str(exc).splitlines()[0][:200]}") from None
    depth = _depth(doc)
    if depth > MAX_DEPTH:
        raise InputError(f"{label}: JSON nested {depth} levels deep, more than the {MAX_DEPTH} an SBOM may have")
    return doc


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _depth(doc: Any) -> int:
    """Nesting depth, iteratively (the document may be deeper than the interpreter's recursion limit)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, (dict, list)):
            deepest = max(deepest, level)
            if level > MAX_DEPTH:
                return level
            stack.extend((child, level + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def cyclonedx_problem(doc: Any) -> str | None:
    """Why `doc` is not a CycloneDX JSON document this tool reads, or None."""
    if not isinstance(doc, dict):
        return f"not a CycloneDX document (a JSON {type(doc).__name__}, not an object)"
    if doc.get("bomFormat") != "CycloneDX":
        return "not a CycloneDX document (bomFormat is not 'CycloneDX')"
    spec = doc.get("specVersion")
    if not isinstance(spec, str) or spec not in SPECS:
        return f"CycloneDX specVersion {str(spec)[:20]!r} is not supported (expected one of {', '.join(SPECS)})"
    return None


def validate(doc: Any) -> list[str]:
    """Every problem, as "path: message"; empty when the document is valid CycloneDX 1.5/1.6 JSON."""
    problem = cyclonedx_problem(doc)
    if problem is not None:
        where = "$.specVersion" if "specVersion" in problem else "$"
        return [f"{where}: {problem}"]
    try:
        errors = schema_errors(doc, doc["specVersion"])
    except RecursionError:
        return ["$: nested too deeply to validate"]
    # A schema message quotes the offending value, which may be a URL with a credential.
    lines = [redact(f"{error.where()}: {error.message[:300]}") for error in errors[:MAX_REPORTED]]
    if len(errors) > MAX_REPORTED:
        lines.append(f"$: ... and {len(errors) - MAX_REPORTED} more problems")
    return lines
