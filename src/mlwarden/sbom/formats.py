"""The JSON Schema `format`s the CycloneDX schemas use: date-time (RFC 3339), iri-reference (RFC 3987), uri
(RFC 3986) and idn-email (RFC 6531), checked with the standard library.

Our own because jsonschema checks formats only when optional packages are installed (rfc3339-validator,
rfc3987-syntax, ...), silently passes them otherwise, takes ~0.2 s per URL with the lark grammar, and its
e-mail check is `"@" in value`. These are the RFC grammars written as regular expressions (linear, no
backtracking blow-up: every repetition is over a character class).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from functools import lru_cache

# --- RFC 3339 date-time ---------------------------------------------------------------------------------------
_DATE_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|([+-])(\d{2}):(\d{2}))",
                        re.ASCII)


def _days_in(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def is_date_time(value: str) -> bool:
    match = _DATE_TIME.fullmatch(value)
    if match is None:
        return False
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    if not 1 <= month <= 12 or not 1 <= day <= _days_in(year, month):
        return False
    if hour > 23 or minute > 59 or second > 60:  # 60: a leap second, which RFC 3339 allows
        return False
    return match.group(7) is None or (int(match.group(8)) <= 23 and int(match.group(9)) <= 59)


# --- RFC 3986 URI / RFC 3987 IRI ------------------------------------------------------------------------------
# RFC 3987 extends RFC 3986's unreserved characters by `ucschar` and allows `iprivate` in the query only.
# Rather than compile those Unicode ranges into every character class (0.2 s of re.compile at first use), an
# IRI is checked as a URI after mapping each allowed non-ASCII character to one ASCII stand-in: `a` for
# ucschar, DEL (never legal itself) for iprivate, which only the query class accepts. The mapping keeps
# positions, so an IP literal is read from the original text.
_UCS_RANGES = ((0xA0, 0xD7FF), (0xF900, 0xFDCF), (0xFDF0, 0xFFEF),
               *((plane << 16, (plane << 16) + 0xFFFD) for plane in range(1, 14)), (0xE1000, 0xEFFFD))
_PRIVATE_RANGES = ((0xE000, 0xF8FF), (0xF0000, 0xFFFFD), (0x100000, 0x10FFFD))
_SUB_DELIMS = re.escape("!$&'()*+,;=")


def _in(ranges: tuple[tuple[int, int], ...], code: int) -> bool:
    return any(low <= code <= high for low, high in ranges)


def _as_ascii(value: str, iri: bool) -> str | None:
    """`value` with allowed non-ASCII characters replaced by stand-ins, or None when one is not allowed."""
    if "\x7f" in value:
        return None
    if value.isascii():
        return value
    if not iri:
        return None
    out = []
    for char in value:
        code = ord(char)
        if code < 0x80:
            out.append(char)
        elif _in(_UCS_RANGES, code):
            out.append("a")
        elif _in(_PRIVATE_RANGES, code):
            out.append("\x7f")
        else:
            return None
    return "".join(out)


@lru_cache(maxsize=1)
def _grammar() -> tuple[re.Pattern[str], re.Pattern[str]]:
    unreserved = "A-Za-z0-9\\-._~"
    pct = "%[0-9A-Fa-f]{2}"
    pchar = f"(?:[{unreserved}{_SUB_DELIMS}:@]|{pct})"
    query = f"(?:[{unreserved}{_SUB_DELIMS}:@/?\x7f]|{pct})*"  # DEL: the stand-in for iprivate
    fragment = f"(?:{pchar}|[/?])*"
    userinfo = f"(?:[{unreserved}{_SUB_DELIMS}:]|{pct})*"
    reg_name = f"(?:[{unreserved}{_SUB_DELIMS}]|{pct})*"
    host = rf"(?P<literal>\[[^\]/]*\])|{reg_name}"
    authority = f"(?:{userinfo}@)?(?:{host})(?::[0-9]*)?"
    segment = f"{pchar}*"
    segment_nz = f"{pchar}+"
    segment_nz_nc = f"(?:[{unreserved}{_SUB_DELIMS}@]|{pct})+"
    path_abempty = f"(?:/{segment})*"
    path_absolute = f"/(?:{segment_nz}(?:/{segment})*)?"
    path_rootless = f"{segment_nz}(?:/{segment})*"
    path_noscheme = f"{segment_nz_nc}(?:/{segment})*"
    tail = f"(?:\\?{query})?(?:#{fragment})?"
    absolute = re.compile(f"[A-Za-z][A-Za-z0-9+\\-.]*:(?://{authority}{path_abempty}|{path_absolute}|{path_rootless}|)"
                          f"{tail}")
    relative = re.compile(f"(?://{authority}{path_abempty}|{path_absolute}|{path_noscheme}|){tail}")
    return absolute, relative


_IPVFUTURE = re.compile(r"v[0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+")


def _literal_ok(match: re.Match[str], original: str) -> bool:
    if match.group("literal") is None:
        return True
    inner = original[match.start("literal") + 1:match.end("literal") - 1]
    if _IPVFUTURE.fullmatch(inner):
        return True
    try:
        ipaddress.IPv6Address(inner)
    except ValueError:
        return False
    return "%" not in inner  # a zone id is not part of RFC 3986's IPv6address


def _check(value: str, iri: bool, relative_ok: bool) -> bool:
    text = _as_ascii(value, iri)
    if text is None:
        return False
    absolute, relative = _grammar()
    for pattern in (absolute, relative) if relative_ok else (absolute,):
        match = pattern.fullmatch(text)
        if match is not None:
            return _literal_ok(match, value)
    return False


def is_iri_reference(value: str) -> bool:
    return _check(value, iri=True, relative_ok=True)


def is_iri(value: str) -> bool:
    return _check(value, iri=True, relative_ok=False)


def is_uri(value: str) -> bool:
    return _check(value, iri=False, relative_ok=False)


def is_uri_reference(value: str) -> bool:
    return _check(value, iri=False, relative_ok=True)


# --- RFC 5321 / 6531 e-mail -----------------------------------------------------------------------------------
_ATOM = r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\U0010ffff]+"
_LETTER = r"A-Za-z0-9\u0080-\U0010ffff"


@lru_cache(maxsize=1)
def _email_grammar() -> tuple[re.Pattern[str], re.Pattern[str]]:  # compiled on first use, not at start-up
    local = re.compile(rf"{_ATOM}(?:\.{_ATOM})*|\"(?:[\x20\x21\x23-\x5b\x5d-\x7e\u0080-\U0010ffff]|\\[\x20-\x7e])*\"")
    label = re.compile(rf"[{_LETTER}](?:[{_LETTER}\-]{{0,61}}[{_LETTER}])?")
    return local, label


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
    return all(_email_grammar()[1].fullmatch(label) for label in domain.split("."))


def is_idn_email(value: str, *, ascii_only: bool = False) -> bool:
    local, at, domain = value.rpartition("@")
    if not at or not local or len(local.encode("utf-8")) > 64 or (ascii_only and not local.isascii()):
        return False
    return _email_grammar()[0].fullmatch(local) is not None and _domain_ok(domain, ascii_only)


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
