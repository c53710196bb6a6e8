"""The policy file schema: every table, key and value check, with line numbers for each problem."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlwarden import _toml
from mlwarden.policy.model import KINDS, Entry, Origin, Settings, identity
from mlwarden.rules import RULES, closest_rule

if TYPE_CHECKING:
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

SCHEMA_VERSION = 1

_HEADER = re.compile(r"^\s*\[\[\s*([A-Za-z_][\w-]*)\s*\]\]")
_TABLE = re.compile(r"^\s*\[\s*([A-Za-z_][\w-]*)\s*\]")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_SHA256 = re.compile(r"^sha256:[0-9a-f]{64}$")
_HF_REPO = re.compile(r"^(?:[A-Za-z0-9][\w.-]*/)?[A-Za-z0-9][\w.-]*$")  # legacy ids have no namespace: gpt2
_HF_ORG = re.compile(r"^[A-Za-z0-9][\w.-]*$")
_PKG_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
_DOTTED = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_<][\w<>]*)+$")
_RULE = re.compile(r"^MW\d{3}$")
_CHANNEL = re.compile(r"^[A-Za-z0-9][\w.-]*$")
_VULN = re.compile(r"^[A-Za-z][A-Za-z0-9]*-[\w.:-]+$")

Check = Callable[[Any], str | None]  # returns what is wrong, or None


# --- value checks ---------------------------------------------------------------------------------------
def _str(value: Any) -> str | None:
    return None if isinstance(value, str) and value.strip() else "expected a non-empty string"


def _bool(value: Any) -> str | None:
    return None if isinstance(value, bool) else "expected true or false"


def _nonneg_int(value: Any) -> str | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return None if ok else "expected a non-negative integer"


def _str_list(value: Any) -> str | None:
    ok = isinstance(value, list) and value and all(isinstance(v, str) and v.strip() for v in value)
    return None if ok else "expected a non-empty list of strings"


def _url(value: Any) -> str | None:
    if not isinstance(value, str) or not re.match(r"^(https?|file)://[^\s/$.?#][^\s]*$", value):
        return "expected an http(s):// or file:// URL"
    return None


def _url_or_channel(value: Any) -> str | None:
    if isinstance(value, str) and (_url(value) is None or _CHANNEL.match(value)):
        return None
    return "expected a URL or a conda channel name"


def _url_pattern(value: Any) -> str | None:
    if isinstance(value, str) and re.match(r"^(https?|file)://\S+$", value):
        return None
    return "expected a URL pattern such as https://host/path/*"


def _one_of(*choices: str) -> Check:
    def check(value: Any) -> str | None:
        return None if value in choices else f"expected one of: {', '.join(choices)}"
    return check


def _list_of(pattern: re.Pattern[str], what: str) -> Check:
    def check(value: Any) -> str | None:
        if isinstance(value, list) and value and all(isinstance(v, str) and pattern.match(v) for v in value):
            return None
        return f"expected a non-empty list of {what}"
    return check


def _matching(pattern: re.Pattern[str], what: str) -> Check:
    def check(value: Any) -> str | None:
        return None if isinstance(value, str) and pattern.match(value) else f"expected {what}"
    return check


def _rule_id(value: Any) -> str | None:
    if isinstance(value, str) and _RULE.match(value) and value in RULES:
        return None
    return f"unknown rule {value!r}{closest_rule(str(value))} (see `mlwarden rule`)"


def _closest(word: str, choices: Any) -> str:
    from mlwarden.config import closest

    return closest(word, choices)


def _specifier(value: Any) -> str | None:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    if not isinstance(value, str):
        return "expected a PEP 440 version range such as '>=2.6,<3'"
    try:
        spec = SpecifierSet(value)
    except InvalidSpecifier:
        return f"{value!r} is not a PEP 440 version range (e.g. '>=2.6,<3')"
    if _impossible(spec):
        return f"{value!r} can never match a version"
    return None


def _impossible(spec: SpecifierSet) -> bool:
    from packaging.version import InvalidVersion, Version

    lower: tuple[Version, bool] | None = None  # (version, inclusive)
    upper: tuple[Version, bool] | None = None
    for item in spec:
        try:
            version = Version(item.version.replace(".*", ""))
        except InvalidVersion:
            continue
        op = item.operator
        if op in (">=", ">", "==", "~=") and not item.version.endswith(".*"):
            cand = (version, op != ">")
            if lower is None or cand[0] > lower[0] or (cand[0] == lower[0] and not cand[1]):
                lower = cand
        if op in ("<=", "<", "==") and not item.version.endswith(".*"):
            cand = (version, op != "<")
            if upper is None or cand[0] < upper[0] or (cand[0] == upper[0] and not cand[1]):
                upper = cand
    if lower is None or upper is None:
        return False
    return lower[0] > upper[0] or (lower[0] == upper[0] and not (lower[1] and upper[1]))


def _expected_files(value: Any) -> str | None:
    if isinstance(value, dict) and value and all(
            isinstance(k, str) and isinstance(v, str) and _SHA256.match(v) for k, v in value.items()):
        return None
    return "expected a table of file path = \"sha256:<64 hex digits>\""


def _glob(value: Any) -> str | None:
    if isinstance(value, str) and value.strip() and "\n" not in value:
        return None
    return "expected a path glob such as 'models/legacy/*.pkl'"


@dataclass(frozen=True)
class _Field:
    check: Check
    required: bool = False


_META = {"reason": _Field(_str, True), "owner": _Field(_str, True), "added": _Field(lambda v: None, True),
         "expires": _Field(lambda v: None, True)}

SCHEMA: dict[str, dict[str, _Field]] = {
    "index": {"id": _Field(_str, True), "kind": _Field(_one_of("pypi-simple", "find-links", "conda-channel")),
              "url": _Field(_url_or_channel, True), "scope": _Field(_str_list), "exclusive": _Field(_bool)},
    "vcs": {"host": _Field(_matching(re.compile(r"^[A-Za-z0-9.-]+(:\d+)?$"), "a host name"), True),
            "orgs": _Field(_str_list), "require_commit": _Field(_bool)},
    "url": {"pattern": _Field(_url_pattern, True), "require_hash": _Field(_bool)},
    "package": {"name": _Field(_matching(_PKG_NAME, "a package name"), True),
                "action": _Field(_one_of("allow", "deny")), "versions": _Field(_specifier),
                "index": _Field(_str)},
    "hf": {"repo": _Field(_matching(_HF_REPO, "a Hugging Face repo id such as 'org/name' or 'gpt2'")),
           "org": _Field(_matching(_HF_ORG, "a Hugging Face organisation name")),
           "type": _Field(_one_of("model", "dataset", "space")),
           "revisions": _Field(_list_of(_COMMIT, "40-hex-digit commit ids")),
           "allow_formats": _Field(_str_list), "trust_remote_code": _Field(_bool),
           "expected_files": _Field(_expected_files)},
    "pickle": {"globals": _Field(_list_of(_DOTTED, "exact dotted names such as 'mypkg.models.Net'"), True)},
    "exception": {"rule": _Field(_rule_id), "path": _Field(_glob),
                  "vulnerability": _Field(_matching(_VULN, "a vulnerability id such as GHSA-xxxx or "
                                                     "CVE-2024-1234"))},
}
_SETTINGS: dict[str, Check] = {
    "grace_days": _nonneg_int, "warn_days": _nonneg_int, "require_hashes": _bool,
    "allow_extra_index_url": _bool, "hf_require_commit_pin": _bool, "max_file_mb": _nonneg_int,
    "cooldown_days": _nonneg_int,
    "allowed_data_extensions": lambda v: None if isinstance(v, list) and all(isinstance(x, str) for x in v)
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
                            f"{_closest(key, known) or ' (expected one of: policy, ' + ', '.join(KINDS) + ')'}")
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
                                f"{_closest(key, _SETTINGS) or ' (expected one of: ' + ', '.join(_SETTINGS) + ')'}")
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
            ident = (kind, identity(kind, entry.fields) + "|" + str(entry.get("action", "")))
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
    schema = SCHEMA[kind]
    problems: list[str] = []
    for key, value in raw.items():
        spec = schema.get(key) or _META.get(key)
        if spec is None:
            known = ", ".join([*schema, *_META])
            problems.append(f"{where(key)}: [[{kind}]] unknown key {key!r}"
                            f"{_closest(key, [*schema, *_META]) or ' (expected one of: ' + known + ')'}")
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
    problems += _cross_checks(kind, raw, where)
    if problems:
        return None, problems
    assert added is not None
    assert expires is not None
    fields = {k: _redacted(v) for k, v in raw.items() if k not in _META}
    return Entry(kind=kind, fields=fields, reason=_redacted(raw["reason"]), owner=_redacted(raw["owner"]), added=added,
                 expires=expires, origin=Origin(source, line)), []


def _cross_checks(kind: str, raw: dict[str, Any], where: Callable[[str | None], str]) -> list[str]:
    if kind == "hf" and ("repo" in raw) == ("org" in raw):
        return [f"{where(None)}: [[hf]] needs exactly one of 'repo' or 'org'"]
    if kind == "exception":
        if ("rule" in raw) == ("vulnerability" in raw):
            return [f"{where(None)}: [[exception]] needs exactly one of 'rule' (with 'path') or 'vulnerability'"]
        if "path" in raw and "rule" not in raw:
            return [f"{where('path')}: [[exception]] 'path' goes with 'rule'"]
    if kind == "package" and raw.get("action") == "deny" and "index" in raw:
        return [f"{where('index')}: [[package]] 'index' only applies to allow entries"]
    return []


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
