"""One redaction function for every credential-bearing value that enters mlwarden's model.

Applied where values are read (dependency sources, indexes, policy entries, error messages), so no output,
SBOM, log or exception text can carry a credential. pip redacts the same way (``redact_auth_from_url``):
the user name stays when there is no password (it is usually not secret, ``git@github.com``), a password or
a lone token is replaced by ``****``. Query parameters that look like credentials are masked too.
"""

from __future__ import annotations

import re

MASK = "****"

# scheme://userinfo@host — userinfo is everything up to the last '@' before the first '/', '?' or '#'.
_URL_USERINFO = re.compile(r"(?P<scheme>(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/?#\s@'\"]*(?:@[^/?#\s@'\"]*)*)@")
_SECRET_QUERY = re.compile(
    r"(?P<key>[?&;](?:access_token|token|api[_-]?key|apikey|key|password|passwd|pwd|secret|sig|signature|"
    r"x-amz-signature|x-amz-credential|x-amz-security-token|auth|private_token|client_secret)=)"
    r"(?P<value>[^&#\s'\"]+)", re.IGNORECASE)
# Environment-style placeholders are not secrets and help the reader: keep ${PIP_TOKEN} and $TOKEN.
_PLACEHOLDER = re.compile(r"^\$\{?[A-Za-z_][A-Za-z0-9_]*\}?$")


def _userinfo(userinfo: str) -> str:
    user, sep, password = userinfo.partition(":")
    if sep:
        if _PLACEHOLDER.match(password):
            return userinfo
        return f"{user}:{MASK}"
    if _PLACEHOLDER.match(user):
        return user
    # A lone userinfo is a token when it does not look like an ordinary account name (git@, hg@).
    if re.fullmatch(r"[a-z][a-z0-9_.-]{0,31}", user) and len(user) < 16:
        return user
    return MASK


# Mangled URLs still carry credentials ('git+https//user:pass@host', 'https:{//user:pass@host', '://TOKEN@host'):
# a "user:password@host" anywhere, and a long token right after "//", are masked too.
_BARE_USERINFO = re.compile(r"(?<![\w.%+-])(?P<user>[\w.%+-]+):(?P<password>[^\s@/:'\"{}]+)@(?=[\w\[])")
_BARE_TOKEN = re.compile(r"(?P<lead>//)(?P<token>[^\s/@:'\"{}]{8,})@(?=[\w\[])")
# After a single slash or a colon only tokens with a known credential shape: "repo@v1.2" stays readable.
_SHAPED_TOKEN = re.compile(r"(?P<lead>[:/])(?P<token>(?:ghp_|gho_|ghs_|ghu_|ghr_|github_pat_|glpat-|hf_|sk-|xox[abp]-)"
                           r"[\w-]{8,})@")


# What is left of a login when a line lost its scheme ("-ghp_Zq8…@github.com", "hp_Zq8…@host"): a long word
# mixing upper case, lower case and digits right before "@host." — the shape of a token, not of an e-mail.
_ENTROPIC_LOGIN = re.compile(r"(?P<lead>^|[^\w.~%+-])(?P<token>[\w.~%+-]{16,})@(?=[\w-]+\.)")


def _entropic(token: str) -> bool:
    return any(c.isupper() for c in token) and any(c.islower() for c in token) and any(c.isdigit() for c in token)


# A known token anywhere, not only before an "@": a line cut or spliced inside a URL still quotes it whole
# (found by the hostile campaign: "git+https://ghp_<token>&a AAAA@github.com" in a parse error). Long bodies
# that mix cases and digits only: "hf_transfer" and other package names stay readable.
_LOOSE_TOKEN = re.compile(r"(?<![A-Za-z0-9])(?:(?:ghp_|gho_|ghs_|ghu_|ghr_|glpat-|hf_)(?P<body>[A-Za-z0-9]{20,})"
                          r"|github_pat_(?P<pat>[A-Za-z0-9_]{20,}))")


def redact(text: str) -> str:
    """``text`` with the credentials of every URL inside it masked; other text unchanged. Linear in the length
    of the text: every pattern that starts with a run of characters is anchored at the start of that run (a
    lookbehind), else one 5 MB line was scanned once per start position (minutes, issue #15)."""
    if "_" in text or "-" in text:
        text = _redact_loose_tokens(text)
    if "@" not in text and "=" not in text:
        return text
    text = _redact_at_signs(text)
    return _SECRET_QUERY.sub(lambda m: f"{m['key']}{MASK}", text)


def _redact_loose_tokens(text: str) -> str:
    return _LOOSE_TOKEN.sub(lambda m: MASK if _entropic(m["body"] or m["pat"]) else m.group(0), text)


def _redact_at_signs(text: str) -> str:
    text = _URL_USERINFO.sub(lambda m: f"{m['scheme']}{_userinfo(m['userinfo'])}@", text)
    text = _BARE_USERINFO.sub(lambda m: m.group(0) if m["password"] == MASK or _PLACEHOLDER.match(m["password"])
                              else f"{m['user']}:{MASK}@", text)
    text = _BARE_TOKEN.sub(lambda m: m.group(0) if m["token"] == MASK or _PLACEHOLDER.match(m["token"])
                           else f"{m['lead']}{_userinfo(m['token'])}@", text)
    text = _SHAPED_TOKEN.sub(lambda m: f"{m['lead']}{MASK}@", text)
    return _ENTROPIC_LOGIN.sub(lambda m: f"{m['lead']}{MASK}@" if _entropic(m["token"]) else m.group(0), text)


def redact_url(url: str) -> str:
    """Alias of :func:`redact` for call sites that hold one URL."""
    return redact(url)


_CREDENTIAL_SHAPE = re.compile(r"^(?:ghp_|gho_|ghs_|ghu_|ghr_|github_pat_|glpat-|hf_|sk-|xox[abp]-)[\w-]{20,}$")


def looks_like_credential(text: str) -> bool:
    """Whether a bare word has the shape of a known token (what is left of a URL a line cut before its scheme,
    read as a package name): such a word is never shown."""
    return bool(_CREDENTIAL_SHAPE.match(text))
