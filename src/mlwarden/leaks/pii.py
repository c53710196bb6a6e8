"""Personal data detectors: each one has token boundaries, a validator (checksum, ranges) and looks for context.

Precision first: a digit run inside a float, a hash, a version, a timestamp or a coordinate is never an
identifier (the boundaries refuse a neighbouring digit, letter, dot, colon, slash or sign); identifiers that a
table of numbers produces by chance (16 digits that pass Luhn, 15 that pass the NIR key) are reported only
with evidence: their written grouping (`4532 0151 1283 0366`) or a personal context (a keyword nearby, or the
column's name). `Match.context` carries that evidence so that severity can rise with it.
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

# Shared boundaries: no word character, dot, comma, slash, sign or digit-and-colon before; after, no word character
# and no digit behind one separator (1234.5678, 12:30, 2024-01-15 continue a number, they do not end it).
_B = r"(?<![\w.,/+-])(?<!\d:)"
_E = r"(?![\w]|[.,:/-]\d)"

_EMAIL = re.compile(r"(?<![\w.+:/-])([A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*"
                    r"\.[A-Za-z]{2,24})\b")
# One character class, bounded: linear on hostile input (nested optional groups backtrack exponentially).
_PHONE_INTL = re.compile(_B + r"(\+[1-9][\d ().-]{6,22}\d)" + _E)
_PHONE_FR = re.compile(_B + r"(0[1-9](?:([ .-])\d{2}(?:\2\d{2}){3}|\d{8}))" + _E)
_PHONE_US = re.compile(_B + r"(\(\d{3}\) ?\d{3}[ .-]\d{4}|\d{3}([ .-])\d{3}\2\d{4})" + _E)
_IBAN = re.compile(r"(?<![\w])([A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?)(?![\w])")
_CARD = re.compile(_B + r"(\d{4}([ -])\d{4}\2\d{4}\2\d{1,7}|\d{4}([ -])\d{6}\3\d{4,5}|\d{13,19})" + _E)
_NIR = re.compile(_B + r"([12] ?\d{2} ?(?:0[1-9]|1[0-2]|[2-9]\d) ?(?:\d{2}|2A|2B) ?\d{3} ?\d{3} ?\d{2})"
                  r"(?![\w]|[.,:/-]\d)", re.IGNORECASE)
_SIREN = re.compile(r"(?i)\b(siren|siret)\b\D{0,20}?(\d{3}[ ]?\d{3}[ ]?\d{3}(?:[ ]?\d{5})?)\b")
_SSN = re.compile(_B + r"(\d{3})-(\d{2})-(\d{4})" + _E)
_IPV4 = re.compile(r"(?<![\w.:/-])((?:\d{1,3}\.){3}\d{1,3})(?![\w.]|:\d+\.)")
_DATE = r"(\d{1,2}[/.-]\d{1,2}[/.-](?:19|20)\d{2}|(?:19|20)\d{2}-\d{2}-\d{2})"
_DOB = re.compile(r"(?i)(?:birth|\bdob\b|d\.o\.b|\bborn\b|\bné(?:e)?\b(?: le)?|date de naissance|naissance)"
                  r"[^\d\n]{0,25}?" + _DATE + r"(?!\d)")
_DATE_ONLY = re.compile(r"^\s*" + _DATE + r"(?:[ T][\d:.]+Z?)?\s*$")

# Personal context, per kind: words near the value, or the column's name.
_CONTEXT = {
    "payment-card": re.compile(r"(?i)card|\bcc\b|\bpan\b|credit|debit|visa|master|amex|payment|carte|\bcb\b"),
    "fr-nir": re.compile(r"(?i)\bnir\b|s[ée]cu|social|insee|num[ée]ro de s|\bssn\b|\bn° ?ss"),
    "us-ssn": re.compile(r"(?i)\bssn\b|social|soc\.? ?sec|\btin\b|tax ?id"),
    "phone": re.compile(r"(?i)phone|\btel\b|t[ée]l[ée]phone|mobile|portable|cell|\bfax\b|contact|call|appel"
                        r"|whatsapp|\bsms\b|\bnum(?:ber|[ée]ro)?\b"),
    "iban": re.compile(r"(?i)iban|\bbank|\brib\b|account|compte|virement|transfer"),
    "date-of-birth": re.compile(r"(?i)birth|\bdob\b|naissance|\bborn\b|\bné"),
    "email": re.compile(r"(?i)e-?mail|courriel|contact|mail"),
    "ipv4-public": re.compile(r"(?i)\bip\b|ip_?addr|client|remote|x-forwarded|user"),
}
_STRONG = {"payment-card", "fr-nir", "us-ssn", "iban", "date-of-birth"}  # validated + context => medium at least
_DOB_COLUMN = re.compile(r"(?i)birth|\bdob\b|naissance|^born")

_IBAN_LENGTHS = {
    "AD": 24, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "EE": 20, "ES": 24,
    "FI": 18, "FR": 27, "GB": 22, "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IS": 26, "IT": 27, "LI": 21, "LT": 20,
    "LU": 20, "LV": 21, "MC": 27, "MT": 31, "NL": 18, "NO": 15, "PL": 28, "PT": 25, "RO": 24, "SE": 24, "SI": 19,
    "SK": 24, "SM": 27, "TR": 26, "AE": 23, "SA": 24, "BR": 29, "MA": 28, "TN": 24,
}
# The IBANs of standards, banks' documentation and Wikipedia, copied into every tutorial.
_EXAMPLE_IBANS = {"DE89370400440532013000", "GB82WEST12345698765432", "GB29NWBK60161331926819",
                  "GB33BUKB20201555555555", "FR1420041010050500013M02606", "FR7630006000011234567890189",
                  "NL91ABNA0417164300", "CH9300762011623852957", "BE68539007547034",  # mlwarden: ignore[MW401]
                  "ES9121000418450200051332"}
# Reserved names (RFC 2606/6761) and the usual placeholders are not anybody's address.
_PLACEHOLDER_DOMAINS = ("example.com", "example.org", "example.net", ".example", ".test", ".invalid", ".localhost",
                        ".local", ".internal", ".lan", ".corp", ".home", "test.com", "domain.com", "email.com",
                        "localhost", "users.noreply.github.com", "noreply.github.com", "sentry.io", "dummy.com",
                        "fake.com", "foo.com", "bar.com", "foobar.com", "yourdomain.com", "mydomain.com",
                        "company.com", "yourcompany.com")
# Mailboxes of a role (RFC 2142 and common practice), not of a person.
_ROLE_MAILBOXES = frozenset({"admin", "administrator", "root", "info", "support", "contact", "hello", "help",
                             "sales", "security", "webmaster", "postmaster", "hostmaster", "abuse", "office", "press",
                             "billing", "privacy", "legal", "jobs", "careers", "marketing", "feedback", "team",
                             "devops", "ops", "notifications", "alerts", "bot", "ci", "mailer-daemon", "user",
                             "username", "test", "demo", "airflow", "mlflow"})
_FILE_TLD = re.compile(r"\.(?:png|jpe?g|gif|svg|webp|txt|json|csv|tsv|py|md|bin|pt|pth|safetensors|ya?ml|toml"
                       r"|parquet|zip|gz|h5|onnx|gguf|pkl|npy|npz|log|cfg|ini|lock|html?|js|ts|whl)$")
_METADATA_LINE = re.compile(r"(?i)author|maintainer|__email__|signed-off-by|co-authored-by|reviewed-by|acked-by"
                            r"|reported-by|copyright|\(c\)|©|contributors?|credits|email\s*=\s*[\"']")
# Files that hold contact addresses by purpose: package metadata, authorship, ownership.
METADATA_FILES = re.compile(r"(?i)^(?:setup\.(?:py|cfg)|pyproject\.toml|pkg-info|metadata|citation\.(?:cff|bib)"
                            r"|authors?(?:\.\w+)?|contributors?(?:\.\w+)?|maintainers?(?:\.\w+)?|codeowners"
                            r"|\.mailmap|licen[cs]e(?:\.\w+)?|notice(?:\.\w+)?|package\.json|cargo\.toml"
                            r"|.*\.gemspec|changelog(?:\.\w+)?|history(?:\.\w+)?|security\.md"
                            r"|code_of_conduct\.md|\.zenodo\.json)$")
_TEST_CARDS = {"4111111111111111", "4242424242424242", "5555555555554444", "378282246310005", "4000056655665556",
               "5105105105105100", "6011111111111117", "4012888888881881", "371449635398431", "6011000990139424",
               "3530111333300000", "5200828282828210", "4000000000000002", "4000000000003220"}
_TEST_SSNS = {"123-45-6789", "078-05-1120", "219-09-9999", "987-65-4320"}  # SSA's advertising numbers
_WELL_KNOWN_IPS = {"8.8.8.8", "8.8.4.4", "1.1.1.1", "1.0.0.1", "9.9.9.9", "149.112.112.112", "208.67.222.222",
                   "208.67.220.220", "4.2.2.2", "4.2.2.1", "64.6.64.6"}


@dataclass(frozen=True)
class Match:
    kind: str
    value: str
    context: bool = False  # a personal keyword near it, or a personal column name


def luhn(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        n = int(char)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def card_issuer(digits: str) -> str | None:
    """The scheme whose number ranges and lengths fit, or None: Luhn alone passes one random number in ten."""
    n = len(digits)
    two, four, six = int(digits[:2]), int(digits[:4]), int(digits[:6])
    if digits[0] == "4" and n in (13, 16, 19):
        return "visa"
    if (51 <= two <= 55 or 2221 <= four <= 2720) and n == 16:
        return "mastercard"
    if two in (34, 37) and n == 15:
        return "amex"
    if (four == 6011 or 644 <= int(digits[:3]) <= 649 or two == 65 or 622126 <= six <= 622925) and 16 <= n <= 19:
        return "discover"
    if 3528 <= four <= 3589 and 16 <= n <= 19:
        return "jcb"
    if (300 <= int(digits[:3]) <= 305 or two in (36, 38, 39)) and 14 <= n <= 19:
        return "diners"
    if two == 62 and 16 <= n <= 19:
        return "unionpay"
    if (two == 50 or 56 <= two <= 69) and 12 <= n <= 19:
        return "maestro"
    return None


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
    """SSA rules: area not 000, 666 or 900-999; group not 00; serial not 0000."""
    a = int(area)
    return 0 < a < 900 and a != 666 and group != "00" and serial != "0000"


def public_ipv4(text: str) -> bool:
    try:
        address = ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return address.is_global and not str(address).endswith(".0") and text not in _WELL_KNOWN_IPS


def plausible_date(text: str) -> bool:
    p0, p1, p2 = (int(p) for p in re.split(r"[/.-]", text))
    if p0 >= 1900:
        year, month, day = p0, p1, p2
    else:
        year, (day, month) = p2, ((p0, p1) if p1 <= 12 else (p1, p0))  # d/m/y, or m/d/y when it cannot be
    return 1 <= month <= 12 and 1 <= day <= 31 and 1900 <= year <= dt.date.today().year


def _near(kind: str, line: str, start: int, end: int, column: str | None) -> bool:
    pattern = _CONTEXT.get(kind)
    if pattern is None:
        return False
    if column is not None and pattern.search(column):
        return True
    window = line if len(line) <= 300 else line[max(0, start - 120):end + 120]
    return bool(pattern.search(window.replace(line[start:end], " ")))


def _numeric(line: str) -> bool:
    """A row of a numeric table: hardly any letters. Digit runs there are measurements, not identifiers."""
    letters = sum(c.isalpha() for c in line[:2000])
    return letters * 10 < min(len(line), 2000)


def _emails(line: str, column: str | None) -> Iterator[Match]:
    if "@" not in line:
        return
    for m in _EMAIL.finditer(line):
        value = m.group(1)
        local, domain = value.rsplit("@", 1)
        domain = domain.lower()
        if not _plausible_tld(domain.rsplit(".", 1)[-1]):
            continue  # t@agent.instructions, x@module.tool: code, not an address
        if re.fullmatch(r"(?:[\w-]+\.)?[a-z]\.[a-z]{2,3}", domain):
            continue  # a@b.com, x@y.org: placeholders
        if domain.endswith(_PLACEHOLDER_DOMAINS) or local.lower().startswith(("noreply", "no-reply", "donotreply")):
            continue
        if local.lower() in _ROLE_MAILBOXES:
            continue  # admin@kestra.io, support@…: a role or a product's default login, not a person
        if _FILE_TLD.search(domain):
            continue  # file names: retina images (icon@2x.png), revisions (file@1.txt)
        if column is None and _METADATA_LINE.search(line):
            continue  # package metadata and authorship: published on purpose
        yield Match("email", value, _near("email", line, *m.span(1), column))


_MAX_PHONE_CHECKS = 16  # libphonenumber costs about a millisecond a call: a hostile line gets this many


# Country codes are two letters; the generic names people's addresses use are few. An unknown long "TLD" is a
# dotted name in code or a template.
_GENERIC_TLDS = {"com", "org", "net", "edu", "gov", "mil", "int", "info", "biz", "name", "pro", "io", "ai", "app",
                 "dev", "co", "me", "tech", "xyz", "online", "site", "cloud", "email", "mail", "eu", "asia", "mobi",
                 "page", "blog", "live", "life", "world", "today", "digital", "studio", "design", "team", "health",
                 "academy", "institute", "science", "systems", "network", "solutions", "company", "agency",
                 "consulting", "services", "group", "global", "social", "news", "media", "art", "fr", "paris"}


def _plausible_tld(tld: str) -> bool:
    return len(tld) == 2 or tld in _GENERIC_TLDS


def _phones(line: str, column: str | None) -> Iterator[Match]:
    numeric = _numeric(line) and column is None
    for count, m in enumerate(_PHONE_INTL.finditer(line)):
        if count >= _MAX_PHONE_CHECKS:
            break
        if 8 <= sum(c.isdigit() for c in m.group(1)) <= 15 and _phone_valid(m.group(1), None):
            yield Match("phone", m.group(1), _near("phone", line, *m.span(1), column))
    for m in _PHONE_FR.finditer(line):
        context = _near("phone", line, *m.span(1), column)
        # Ten digits in a row are anything; written in pairs, or next to "tel", they are a phone number.
        if (m.group(2) or context) and not (numeric and not context) and _phone_valid(m.group(1), "FR"):
            yield Match("phone", m.group(1), context)
    for m in _PHONE_US.finditer(line):
        if _near("phone", line, *m.span(1), column) and _phone_valid(m.group(1), "US"):
            yield Match("phone", m.group(1), True)


def _phone_valid(raw: str, region: str | None) -> bool:
    """libphonenumber's metadata (numbering plans of every country) when installed; digit counts otherwise."""
    try:
        import phonenumbers
    except ImportError:  # pragma: no cover - the pii extra installs it
        digits = re.sub(r"\D", "", raw)
        return 8 <= len(digits) <= 15
    try:
        return bool(phonenumbers.is_valid_number(phonenumbers.parse(raw, region)))
    except phonenumbers.NumberParseException:
        return False


def _ibans(line: str, column: str | None) -> Iterator[Match]:
    for m in _IBAN.finditer(line):
        compact = m.group(1).replace(" ", "").upper()
        if compact not in _EXAMPLE_IBANS and iban_valid(compact):
            yield Match("iban", m.group(1), _near("iban", line, *m.span(1), column))


def _cards(line: str, column: str | None) -> Iterator[Match]:
    for m in _CARD.finditer(line):
        digits = re.sub(r"\D", "", m.group(1))
        if not (13 <= len(digits) <= 19) or digits in _TEST_CARDS or len(set(digits)) <= 3:
            continue
        if not luhn(digits) or card_issuer(digits) is None:
            continue
        context = _near("payment-card", line, *m.span(1), column)
        grouped = not m.group(1).isdigit()
        if grouped or context:  # a bare digit run is a card only where something says so
            yield Match("payment-card", m.group(1), context)


def _nirs(line: str, column: str | None) -> Iterator[Match]:
    numeric = _numeric(line) and column is None
    for m in _NIR.finditer(line):
        if not nir_valid(m.group(1)):
            continue
        context = _near("fr-nir", line, *m.span(1), column)
        if context or not numeric or " " in m.group(1):  # written in its groups (1 85 05 …), or in prose
            yield Match("fr-nir", m.group(1), context)


def _sirens(line: str, column: str | None) -> Iterator[Match]:
    for m in _SIREN.finditer(line):
        digits = re.sub(r"\D", "", m.group(2))
        if luhn(digits) and len(set(digits)) > 2:
            yield Match("fr-siret" if len(digits) == 14 else "fr-siren", m.group(2), True)


def _ssns(line: str, column: str | None) -> Iterator[Match]:
    for m in _SSN.finditer(line):
        if ssn_valid(*m.groups()) and m.group(0) not in _TEST_SSNS:
            yield Match("us-ssn", m.group(0), _near("us-ssn", line, *m.span(0), column))


def _ips(line: str, column: str | None) -> Iterator[Match]:
    for m in _IPV4.finditer(line):
        before = line[max(0, m.start() - 12):m.start()].lower()
        if "version" in before or before.rstrip().endswith(("v", "==", ">=", "<=", "~=")):
            continue  # 1.2.3.4 as a version
        if public_ipv4(m.group(1)):
            yield Match("ipv4-public", m.group(1), _near("ipv4-public", line, *m.span(1), column))


def _dobs(line: str, column: str | None) -> Iterator[Match]:
    for m in _DOB.finditer(line):
        if plausible_date(m.group(1)):
            yield Match("date-of-birth", m.group(1), True)
    if column is not None and _DOB_COLUMN.search(column):
        m2 = _DATE_ONLY.match(line)
        if m2 and plausible_date(m2.group(1)):
            yield Match("date-of-birth", m2.group(1), True)


DETECTORS: tuple[Callable[[str, str | None], Iterator[Match]], ...] = (
    _emails, _phones, _ibans, _cards, _nirs, _sirens, _ssns, _ips, _dobs)
# Cheap first pass: only lines with one of these go through the validators.
# Every detector needs an @, a +, nine digits in a row (single separators allowed), a dotted quad, an IBAN
# country prefix, a birth keyword, or a US area code in brackets.
# The keywords are spelt in their usual cases: a case-insensitive group makes the whole pattern 1.6x slower.
PREFILTER = re.compile(r"@|\+\d|\d(?:[ .-]?\d){8}|\d\.\d{1,3}\.\d{1,3}\.\d|[A-Z]{2}\d{2}|\(\d{3}\)"
                       r"|[Bb](?:irth|IRTH|orn|ORN)|[Dd](?:OB|ob)|d\.o\.b|D\.O\.B|[Nn](?:aissance|AISSANCE|é|É)")


@functools.lru_cache(maxsize=1024)
def is_dob_column(name: str | None) -> bool:
    return bool(name and _DOB_COLUMN.search(name))


def find(line: str, *, prefiltered: bool = False, column: str | None = None) -> list[Match]:
    """Validated personal data in one line (or one table cell, with its column's name as context)."""
    if not prefiltered and not PREFILTER.search(line) and not is_dob_column(column):
        return []
    out: list[Match] = []
    for detector in DETECTORS:
        out.extend(detector(line, column))
    return _dedupe(out)


def _dedupe(matches: list[Match]) -> list[Match]:
    """A phone-shaped run of digits inside a card, IBAN or national number is not also a phone number."""
    strong = [re.sub(r"\D", "", m.value) for m in matches if m.kind != "phone" and m.kind != "email"]
    return [m for m in matches
            if m.kind != "phone" or not any(re.sub(r"\D", "", m.value) in digits for digits in strong)]


def strong(kind: str) -> bool:
    """Kinds where one validated value with context is enough for medium."""
    return kind in _STRONG


def mask(value: str) -> str:
    """Enough to find it again, not enough to use it."""
    if "@" in value:
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    digits = re.sub(r"\s", "", value)
    if len(digits) <= 4:
        return "*" * len(digits)
    return digits[:2] + "*" * (len(digits) - 4) + digits[-2:]
