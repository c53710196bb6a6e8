"""Value checks of the policy schema: each returns what is wrong with a value, or None."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mlwarden.rules import RULES, closest_rule

if TYPE_CHECKING:
    from packaging.specifiers import SpecifierSet

COMMIT = re.compile(r"^[0-9a-f]{40}$")
SHA256 = re.compile(r"^sha256:[0-9a-f]{64}$")
HF_REPO = re.compile(r"^(?:[A-Za-z0-9][\w.-]*/)?[A-Za-z0-9][\w.-]*$")  # legacy ids have no namespace: gpt2
HF_ORG = re.compile(r"^[A-Za-z0-9][\w.-]*$")
PKG_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
DOTTED = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_<][\w<>]*)+$")
RULE = re.compile(r"^MW\d{3}$")
CHANNEL = re.compile(r"^[A-Za-z0-9][\w.-]*$")
VULN = re.compile(r"^[A-Za-z][A-Za-z0-9]*-[\w.:-]+$")

Check = Callable[[Any], str | None]  # returns what is wrong, or None


# --- value checks ---------------------------------------------------------------------------------------
def text(value: Any) -> str | None:
    return None if isinstance(value, str) and value.strip() else "expected a non-empty string"


def boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "expected true or false"


def nonneg_int(value: Any) -> str | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return None if ok else "expected a non-negative integer"


def str_list(value: Any) -> str | None:
    ok = isinstance(value, list) and value and all(isinstance(v, str) and v.strip() for v in value)
    return None if ok else "expected a non-empty list of strings"


def url(value: Any) -> str | None:
    if not isinstance(value, str) or not re.match(r"^(https?|file)://[^\s/$.?#][^\s]*$", value):
        return "expected an http(s):// or file:// URL"
    return None


def url_or_channel(value: Any) -> str | None:
    if isinstance(value, str) and (url(value) is None or CHANNEL.match(value)):
        return None
    return "expected a URL or a conda channel name"


def url_pattern(value: Any) -> str | None:
    if isinstance(value, str) and re.match(r"^(https?|file)://\S+$", value):
        return None
    return "expected a URL pattern such as https://host/path/*"


def one_of(*choices: str) -> Check:
    def check(value: Any) -> str | None:
        return None if value in choices else f"expected one of: {', '.join(choices)}"
    return check


def list_of(pattern: re.Pattern[str], what: str) -> Check:
    def check(value: Any) -> str | None:
        if isinstance(value, list) and value and all(isinstance(v, str) and pattern.match(v) for v in value):
            return None
        return f"expected a non-empty list of {what}"
    return check


def matching(pattern: re.Pattern[str], what: str) -> Check:
    def check(value: Any) -> str | None:
        return None if isinstance(value, str) and pattern.match(value) else f"expected {what}"
    return check


def rule_id(value: Any) -> str | None:
    if isinstance(value, str) and RULE.match(value) and value in RULES:
        return None
    return f"unknown rule {value!r}{closest_rule(str(value))} (see `mlwarden rule`)"


def closest(word: str, choices: Any) -> str:
    from mlwarden.config import closest

    return closest(word, choices)


def specifier(value: Any) -> str | None:
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


def expected_files(value: Any) -> str | None:
    if isinstance(value, dict) and value and all(
            isinstance(k, str) and isinstance(v, str) and SHA256.match(v) for k, v in value.items()):
        return None
    return "expected a table of file path = \"sha256:<64 hex digits>\""


def glob(value: Any) -> str | None:
    if isinstance(value, str) and value.strip() and "\n" not in value:
        return None
    return "expected a path glob such as 'models/legacy/*.pkl'"


def relative_path(value: Any) -> str | None:
    """A file's path inside the repository, as findings name it: POSIX, relative, no glob, never leaving it."""
    if not isinstance(value, str) or not value.strip() or "\n" in value:
        return "expected a file's path in the repository, such as 'models/legacy.pkl'"
    parts = value.split("/")
    if value.startswith("/") or "\\" in value or ".." in parts or any(c in value for c in "*?["):
        return f"{value!r}: expected a plain relative path (no glob, no '..', '/' as separator)"
    return None
