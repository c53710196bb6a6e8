"""The policy file schema: every table, key and value check, with line numbers for each problem."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from mlwarden import _toml
from mlwarden.policy import values as v
from mlwarden.policy.kinds import KINDS, TABLE, Field
from mlwarden.policy.model import Entry, Origin, Settings

SCHEMA_VERSION = 1

_HEADER = re.compile(r"^\s*\[\[\s*([A-Za-z_][\w-]*)\s*\]\]")
_TABLE = re.compile(r"^\s*\[\s*([A-Za-z_][\w-]*)\s*\]")
_META = {"reason": Field(v.text, True), "owner": Field(v.text, True), "added": Field(lambda _v: None, True),
         "expires": Field(lambda _v: None, True)}
_SETTINGS: dict[str, v.Check] = {
    "grace_days": v.nonneg_int, "warn_days": v.nonneg_int, "require_hashes": v.boolean,
    "allow_extra_index_url": v.boolean, "hf_require_commit_pin": v.boolean, "max_file_mb": v.nonneg_int,
    "cooldown_days": v.nonneg_int,
    "allowed_data_extensions": lambda value: None if isinstance(value, list) and all(isinstance(x, str) for x in value)
    else "expected a list of extensions such as [\"csv\"]",
}


# --- line numbers ------------------------------------------------------------------------------------------
class _Lines:
    """Maps tables and keys to line numbers (tomllib keeps none)."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.headers: dict[str, list[int]] = {}
        self.tables: dict[str, int] = {}
        for number, line in enumerate(self.lines, 1):
            if m := _HEADER.match(line):
                self.headers.setdefault(m.group(1), []).append(number)
            elif m := _TABLE.match(line):
                self.tables[m.group(1)] = number
        self.starts = sorted([n for ns in self.headers.values() for n in ns] + list(self.tables.values()))

    def entry(self, kind: str, index: int) -> int | None:
        numbers = self.headers.get(kind, [])
        return numbers[index] if index < len(numbers) else None

    def key(self, start: int | None, key: str) -> int | None:
        begin = start or 1
        following = [s for s in self.starts if s > begin]
        stop = following[0] if following and start else len(self.lines) + 1
        if not start:
            stop = self.starts[0] if self.starts else len(self.lines) + 1
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
        for number in range(begin, stop):
            if pattern.match(self.lines[number - 1]):
                return number
        return start


# --- parsing -------------------------------------------------------------------------------------------------
def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def parse_policy_text(text: str, source: str) -> tuple[Settings | None, dict[str, Any], list[Entry], list[str]]:
    """Parse one file. Returns (settings or None if absent, raw settings, entries, problems)."""
    problems: list[str] = []
    try:
        data = _toml.loads(text)
    except _toml.TOMLDecodeError as exc:
        return None, {}, [], [f"{source}: not valid TOML: {exc}"]
    lines = _Lines(text)

    def where(line: int | None) -> str:
        return f"{source}:{line}" if line else source

    version = data.get("schema_version")
    if version is None:
        problems.append(f"{where(lines.key(None, 'schema_version'))}: schema_version is missing "
                        f"(expected schema_version = {SCHEMA_VERSION})")
    elif version != SCHEMA_VERSION:
        problems.append(f"{where(lines.key(None, 'schema_version'))}: schema_version {version!r} is not "
                        f"supported (expected {SCHEMA_VERSION})")
    for key in data:
        if key not in ("schema_version", "policy", *KINDS):
            known = ("schema_version", "policy", *KINDS)
            problems.append(f"{where(lines.tables.get(key) or lines.entry(key, 0) or lines.key(None, key))}: "
                            f"unknown table or key {key!r}"
                            f"{v.closest(key, known) or ' (expected one of: policy, ' + ', '.join(KINDS) + ')'}")
    settings: Settings | None = None
    raw_settings = data.get("policy", {})
    if not isinstance(raw_settings, dict):
        problems.append(f"{where(lines.key(None, 'policy'))}: [policy] must be a table")
        raw_settings = {}
    elif "policy" in data:
        start = lines.tables.get("policy")
        values: dict[str, Any] = {}
        for key, value in raw_settings.items():
            check = _SETTINGS.get(key)
            if check is None:
                problems.append(f"{where(lines.key(start, key))}: [policy] unknown key {key!r}"
                                f"{v.closest(key, _SETTINGS) or ' (expected one of: ' + ', '.join(_SETTINGS) + ')'}")
            elif (err := check(value)) is not None:
                problems.append(f"{where(lines.key(start, key))}: [policy] {key}: {err}")
            else:
                values[key] = tuple(value) if isinstance(value, list) else value
        settings = Settings(**values)
        raw_settings = values  # only validated keys are merged into the layered settings
    entries: list[Entry] = []
    seen: dict[tuple[str, str], int | None] = {}
    for kind in KINDS:
        raw_list = data.get(kind, [])
        if not isinstance(raw_list, list):
            problems.append(f"{where(lines.key(None, kind))}: {kind} must be written as [[{kind}]] tables")
            continue
        for index, raw in enumerate(raw_list):
            line = lines.entry(kind, index)
            entry, errs = _parse_entry(kind, raw, line, source, lines)
            problems.extend(errs)
            if entry is None:
                continue
            ident = (kind, TABLE[kind].ident(entry.fields) + "|" + str(entry.get("action", "")))
            if ident in seen:
                problems.append(f"{where(line)}: [[{kind}]] duplicates the entry at line {seen[ident]} "
                                f"({entry.key})")
                continue
            seen[ident] = line
            entries.append(entry)
    return settings, raw_settings, entries, problems


def _parse_entry(kind: str, raw: Any, line: int | None, source: str,
                 lines: _Lines) -> tuple[Entry | None, list[str]]:
    def where(key: str | None = None) -> str:
        number = lines.key(line, key) if key else line
        return f"{source}:{number}" if number else source

    if not isinstance(raw, dict):
        return None, [f"{where()}: [[{kind}]] must be a table"]
    schema = TABLE[kind].fields
    problems: list[str] = []
    for key, value in raw.items():
        spec = schema.get(key) or _META.get(key)
        if spec is None:
            known = ", ".join([*schema, *_META])
            problems.append(f"{where(key)}: [[{kind}]] unknown key {key!r}"
                            f"{v.closest(key, [*schema, *_META]) or ' (expected one of: ' + known + ')'}")
        elif (err := spec.check(value)) is not None:
            problems.append(f"{where(key)}: [[{kind}]] {key}: {err}")
    for key, spec in {**schema, **_META}.items():
        if spec.required and key not in raw:
            problems.append(f"{where()}: [[{kind}]] is missing {key!r}"
                            + (" (every entry needs reason, owner, added and expires)" if key in _META else ""))
    added, expires = _date(raw.get("added")), _date(raw.get("expires"))
    for key, value in (("added", added), ("expires", expires)):
        if key in raw and value is None:
            problems.append(f"{where(key)}: [[{kind}]] {key}: expected a date such as 2026-12-31")
    if added and expires and expires < added:
        problems.append(f"{where('expires')}: [[{kind}]] expires ({expires}) is before added ({added})")
    if conflict := TABLE[kind].conflict(raw):
        problems.append(f"{where()}: {conflict}")
    if problems:
        return None, problems
    assert added is not None
    assert expires is not None
    fields = {k: _redacted(v) for k, v in raw.items() if k not in _META}
    return Entry(kind=kind, fields=fields, reason=_redacted(raw["reason"]), owner=_redacted(raw["owner"]), added=added,
                 expires=expires, origin=Origin(source, line)), []


# --- layering -------------------------------------------------------------------------------------------------


def _redacted(value: Any) -> Any:
    """Credentials in any policy value (an [[index]] url, a pattern, even an owner) never enter the model, nor
    `allowlist show`: a policy names where packages may come from, never how to log in there."""
    from mlwarden.redact import redact

    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [redact(v) if isinstance(v, str) else v for v in value]
    return value
