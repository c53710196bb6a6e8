"""The JSON Schema `format`s the CycloneDX schemas use: date-time (RFC 3339), iri-reference (RFC 3987), uri
(RFC 3986) and idn-email (RFC 6531), checked with the standard library.

Our own because jsonschema checks formats only when optional packages are installed (rfc3339-validator,
rfc3987-syntax, ...), silently passes them otherwise, takes ~0.2 s per URL with the lark grammar, and its
e-mail check is `"@" in value`. These are the RFC grammars written as regular expressions (linear, no
backtracking blow-up: every repetition is over a character class).
"""

from __future__ import annotations

import calendar
import ipaddress
import re
from collections.abc import Callable

# --- RFC 3339 date-time ---------------------------------------------------------------------------------------
_DATE_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|([+-])(\d{2}):(\d{2}))",
                        re.ASCII)


def is_date_time(value: str) -> bool:
    match = _DATE_TIME.fullmatch(value)
    if match is None:
        return False
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(year, month)[1]:
        return False
    if hour > 23 or minute > 59 or second > 60:  # 60: a leap second, which RFC 3339 allows
        return False
    return match.group(7) is None or (int(match.group(8)) <= 23 and int(match.group(9)) <= 59)


# --- RFC 3986 URI / RFC 3987 IRI ------------------------------------------------------------------------------
_UCS = ("\u00a0-\ud7ff\uf900-\ufdcf\ufdf0-\uffef\U00010000-\U0001fffd\U00020000-\U0002fffd\U00030000-\U0003fffd"
        "\U00040000-\U0004fffd\U00050000-\U0005fffd\U00060000-\U0006fffd\U00070000-\U0007fffd\U00080000-\U0008fffd"
        "\U00090000-\U0009fffd\U000a0000-\U000afffd\U000b0000-\U000bfffd\U000c0000-\U000cfffd\U000d0000-\U000dfffd"
        "\U000e1000-\U000efffd")
_PRIVATE = "\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd"
_SUB_DELIMS = "!$&'()*+,;="


def _grammar(iri: bool) -> tuple[re.Pattern[str], re.Pattern[str]]:
    unreserved = "A-Za-z0-9\\-._~" + (_UCS if iri else "")
    pct = "%[0-9A-Fa-f]{2}"
    pchar = f"(?:[{unreserved}{re.escape(_SUB_DELIMS)}:@]|{pct})"
    query = f"(?:[{unreserved}{re.escape(_SUB_DELIMS)}:@/?{_PRIVATE if iri else ''}]|{pct})*"
    fragment = f"(?:{pchar}|[/?])*"
    userinfo = f"(?:[{unreserved}{re.escape(_SUB_DELIMS)}:]|{pct})*"
    reg_name = f"(?:[{unreserved}{re.escape(_SUB_DELIMS)}]|{pct})*"
    host = rf"(?P<literal>\[[^\]/]*\])|{reg_name}"
    authority = f"(?:{userinfo}@)?(?:{host})(?::[0-9]*)?"
    segment = f"{pchar}*"
    segment_nz = f"{pchar}+"
    segment_nz_nc = f"(?:[{unreserved}{re.escape(_SUB_DELIMS)}@]|{pct})+"
    path_abempty = f"(?:/{segment})*"
    path_absolute = f"/(?:{segment_nz}(?:/{segment})*)?"
    path_rootless = f"{segment_nz}(?:/{segment})*"
    path_noscheme = f"{segment_nz_nc}(?:/{segment})*"
    tail = f"(?:\\?{query})?(?:#{fragment})?"
    absolute = re.compile(f"[A-Za-z][A-Za-z0-9+\\-.]*:(?://{authority}{path_abempty}|{path_absolute}|{path_rootless}|)"
                          f"{tail}")
    relative = re.compile(f"(?://{authority}{path_abempty}|{path_absolute}|{path_noscheme}|){tail}")
    return absolute, relative


_IRI, _IRELATIVE = _grammar(iri=True)
_URI, _URELATIVE = _grammar(iri=False)
_IPVFUTURE = re.compile(r"v[0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+")


def _literal_ok(match: re.Match[str]) -> bool:
    literal = match.group("literal")
    if literal is None:
        return True
    inner = literal[1:-1]
    if _IPVFUTURE.fullmatch(inner):
        return True
    try:
        ipaddress.IPv6Address(inner)
    except ValueError:
        return False
    return "%" not in inner  # a zone id is not part of RFC 3986's IPv6address


def _matches(pattern: re.Pattern[str], value: str) -> bool:
    match = pattern.fullmatch(value)
    return match is not None and _literal_ok(match)


def is_iri_reference(value: str) -> bool:
    return _matches(_IRI, value) or _matches(_IRELATIVE, value)


def is_iri(value: str) -> bool:
    return _matches(_IRI, value)


def is_uri(value: str) -> bool:
    return _matches(_URI, value)


def is_uri_reference(value: str) -> bool:
    return _matches(_URI, value) or _matches(_URELATIVE, value)


# --- RFC 5321 / 6531 e-mail -----------------------------------------------------------------------------------
_ATOM = r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\U0010ffff]+"
_LOCAL = re.compile(rf"{_ATOM}(?:\.{_ATOM})*|\"(?:[\x20\x21\x23-\x5b\x5d-\x7e\u0080-\U0010ffff]|\\[\x20-\x7e])*\"")
_LETTER = r"A-Za-z0-9\u0080-\U0010ffff"
_LABEL = re.compile(rf"[{_LETTER}](?:[{_LETTER}\-]{{0,61}}[{_LETTER}])?")


def _domain_ok(domain: str, ascii_only: bool) -> bool:
    if domain.startswith("[") and domain.endswith("]"):
        inner = domain[1:-1]
        try:
            if inner.lower().startswith("ipv6:"):
                ipaddress.IPv6Address(inner[5:])
            else:
                ipaddress.IPv4Address(inner)
        except ValueError:
            return False
        return True
    if not domain or len(domain) > 253 or (ascii_only and not domain.isascii()):
        return False
    return all(_LABEL.fullmatch(label) for label in domain.split("."))


def is_idn_email(value: str, *, ascii_only: bool = False) -> bool:
    local, at, domain = value.rpartition("@")
    if not at or not local or len(local.encode("utf-8")) > 64 or (ascii_only and not local.isascii()):
        return False
    return _LOCAL.fullmatch(local) is not None and _domain_ok(domain, ascii_only)


def is_email(value: str) -> bool:
    return is_idn_email(value, ascii_only=True)


CHECKERS: dict[str, Callable[[str], bool]] = {
    "date-time": is_date_time,
    "iri-reference": is_iri_reference,
    "iri": is_iri,
    "uri": is_uri,
    "uri-reference": is_uri_reference,
    "idn-email": is_idn_email,
    "email": is_email,
}
