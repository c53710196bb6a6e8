"""Personal data detectors, each validated (checksums, ranges, context) to keep false positives down."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

_EMAIL = re.compile(r"(?<![\w.+:/-])([A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*"
                    r"\.[A-Za-z]{2,24})\b")
_PHONE_INTL = re.compile(r"(?<![\w+])(\+(?:[1-9]\d{0,2})[ .-]?(?:\(?\d{1,4}\)?[ .-]?){2,5}\d{2,4})(?![\w])")
_PHONE_FR = re.compile(r"(?<![\w+])(0[1-9](?:[ .-]?\d{2}){4})(?!\w)")
_IBAN = re.compile(r"\b([A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?)\b")
_CARD = re.compile(r"(?<![\d-])((?:\d[ -]?){12,18}\d)(?![\d-])")
_NIR = re.compile(r"(?<![\dA-Z])([12][ ]?\d{2}[ ]?(?:0[1-9]|1[0-2]|[2-9]\d)[ ]?(?:\d{2}|2A|2B)[ ]?\d{3}[ ]?"
                  r"\d{3}[ ]?\d{2})(?![\dA-Z])", re.IGNORECASE)
_SIREN = re.compile(r"(?i)\b(siren|siret)\b\D{0,20}?(\d{3}[ ]?\d{3}[ ]?\d{3}(?:[ ]?\d{5})?)\b")
_SSN = re.compile(r"(?<![\d-])(\d{3})-(\d{2})-(\d{4})(?![\d-])")
_IPV4 = re.compile(r"(?<![\d.])((?:\d{1,3}\.){3}\d{1,3})(?![\d.])")
_DOB = re.compile(r"(?i)(?:birth|dob|d\.o\.b|born|né(?:e)? le|date de naissance|naissance)\D{0,25}?"
                  r"(\d{1,2}[/.-]\d{1,2}[/.-](?:19|20)\d{2}|(?:19|20)\d{2}-\d{2}-\d{2})")

_IBAN_LENGTHS = {
    "AD": 24, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "EE": 20, "ES": 24,
    "FI": 18, "FR": 27, "GB": 22, "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IS": 26, "IT": 27, "LI": 21, "LT": 20,
    "LU": 20, "LV": 21, "MC": 27, "MT": 31, "NL": 18, "NO": 15, "PL": 28, "PT": 25, "RO": 24, "SE": 24, "SI": 19,
    "SK": 24, "SM": 27, "TR": 26, "AE": 23, "SA": 24, "BR": 29, "MA": 28, "TN": 24,
}
# Reserved names (RFC 2606/6761) and the usual placeholders are not anybody's address.
_PLACEHOLDER_DOMAINS = ("example.com", "example.org", "example.net", ".example", ".test", ".invalid", ".localhost",
                        ".local", ".internal", ".lan", ".corp", ".home", "test.com", "domain.com", "email.com",
                        "localhost", "users.noreply.github.com")
_TEST_CARDS = {"4111111111111111", "4242424242424242", "5555555555554444", "378282246310005", "4000056655665556",
               "5105105105105100", "6011111111111117", "4012888888881881"}


@dataclass(frozen=True)
class Match:
    kind: str
    value: str


def luhn(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        n = int(char)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def iban_valid(raw: str) -> bool:
    iban = raw.replace(" ", "").upper()
    if _IBAN_LENGTHS.get(iban[:2]) != len(iban):
        return False
    rearranged = iban[4:] + iban[:4]
    number = "".join(str(int(c, 36)) for c in rearranged)
    return int(number) % 97 == 1


def nir_valid(raw: str) -> bool:
    """French social security number: key = 97 - (first 13 digits mod 97); Corsica's 2A/2B count as 19/18."""
    nir = raw.replace(" ", "").upper()
    body, key = nir[:13], nir[13:]
    if body[5:7] == "2A":
        body = body[:5] + "19" + body[7:]
    elif body[5:7] == "2B":
        body = body[:5] + "18" + body[7:]
    if not body.isdigit() or not key.isdigit() or len(body) != 13:
        return False
    return 97 - int(body) % 97 == int(key)


def ssn_valid(area: str, group: str, serial: str) -> bool:
    a = int(area)
    return 0 < a < 900 and a != 666 and group != "00" and serial != "0000"


def public_ipv4(text: str) -> bool:
    try:
        address = ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return address.is_global and not str(address).endswith(".0")


def _emails(line: str) -> Iterator[Match]:
    for m in _EMAIL.finditer(line):
        value = m.group(1)
        domain = value.rsplit("@", 1)[1].lower()
        if domain.endswith(_PLACEHOLDER_DOMAINS) or value.lower().startswith(("noreply", "no-reply")):
            continue
        if re.search(r"\.(png|jpg|jpeg|gif|svg|webp)$", domain):
            continue  # retina image names such as icon@2x.png
        yield Match("email", value)


def _phones(line: str) -> Iterator[Match]:
    for m in _PHONE_INTL.finditer(line):
        digits = re.sub(r"\D", "", m.group(1))
        if 8 <= len(digits) <= 15:
            yield Match("phone", m.group(1))
    for m in _PHONE_FR.finditer(line):
        yield Match("phone", m.group(1))


def _ibans(line: str) -> Iterator[Match]:
    for m in _IBAN.finditer(line):
        if iban_valid(m.group(1)):
            yield Match("iban", m.group(1))


def _cards(line: str) -> Iterator[Match]:
    for m in _CARD.finditer(line):
        digits = re.sub(r"\D", "", m.group(1))
        if 13 <= len(digits) <= 19 and digits[0] in "3456" and luhn(digits) and digits not in _TEST_CARDS \
                and len(set(digits)) > 3:
            yield Match("payment-card", m.group(1))


def _nirs(line: str) -> Iterator[Match]:
    for m in _NIR.finditer(line):
        if nir_valid(m.group(1)):
            yield Match("fr-nir", m.group(1))


def _sirens(line: str) -> Iterator[Match]:
    for m in _SIREN.finditer(line):
        digits = re.sub(r"\D", "", m.group(2))
        if luhn(digits) and len(set(digits)) > 2:
            yield Match("fr-siret" if len(digits) == 14 else "fr-siren", m.group(2))


def _ssns(line: str) -> Iterator[Match]:
    for m in _SSN.finditer(line):
        if ssn_valid(*m.groups()):
            yield Match("us-ssn", m.group(0))


def _ips(line: str) -> Iterator[Match]:
    for m in _IPV4.finditer(line):
        if public_ipv4(m.group(1)):
            yield Match("ipv4-public", m.group(1))


def _dobs(line: str) -> Iterator[Match]:
    for m in _DOB.finditer(line):
        yield Match("date-of-birth", m.group(1))


DETECTORS: tuple[Callable[[str], Iterator[Match]], ...] = (
    _emails, _phones, _ibans, _cards, _nirs, _sirens, _ssns, _ips, _dobs)
# Cheap first pass: only lines with one of these go through the validators.
# Every detector needs an @, a +, nine digits in a row (single separators allowed), a dotted quad, an IBAN
# country prefix or a birth keyword.
PREFILTER = re.compile(r"@|\+\d|\d(?:[ .-]?\d){8}|\d\.\d{1,3}\.\d{1,3}\.\d|[A-Z]{2}\d{2}"
                       r"|(?i:birth|dob|born|naissance|né)")


def find(line: str, *, prefiltered: bool = False) -> list[Match]:
    if not prefiltered and not PREFILTER.search(line):
        return []
    out: list[Match] = []
    for detector in DETECTORS:
        out.extend(detector(line))
    return _dedupe(out)


def _dedupe(matches: list[Match]) -> list[Match]:
    """A phone-shaped run of digits inside a card, IBAN or national number is not also a phone number."""
    strong = [re.sub(r"\D", "", m.value) for m in matches if m.kind != "phone" and m.kind != "email"]
    return [m for m in matches
            if m.kind != "phone" or not any(re.sub(r"\D", "", m.value) in digits for digits in strong)]


def mask(value: str) -> str:
    """Enough to find it again, not enough to use it."""
    if "@" in value:
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    digits = re.sub(r"\s", "", value)
    if len(digits) <= 4:
        return "*" * len(digits)
    return digits[:2] + "*" * (len(digits) - 4) + digits[-2:]
