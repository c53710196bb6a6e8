"""Package URLs built as the purl specification (ECMA-427) says, for the types an SBOM of ours holds.

Written here rather than with packageurl-python (an optional dependency of cyclonedx-python-lib) because the
rules are a page long and the builder runs once per component. tests/sbom/test_purl.py runs the purl-spec's
own build tests (tests/data/purl/).

- pypi: name lower-cased and `_` replaced by `-`; dots are KEPT (the spec replaces dots only in distribution
  file names), so `zope.interface` stays `pkg:pypi/zope.interface`.
- huggingface: namespace and name case-sensitive, version (the commit) lower-cased.
- conda: name lower-cased.
- Percent-encoding: everything but ASCII letters, digits, `.-_~` and `:`; qualifiers sorted by key, empty
  values dropped. Every URL in a qualifier is redacted first: a credential never reaches a purl or bom-ref.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

from mlwarden.redact import redact

_SAFE = ":"  # quote() never encodes ASCII letters, digits and "_.-~"; the spec adds the colon
_URL_QUALIFIERS = frozenset({"repository_url", "download_url", "vcs_url"})


def _encode(text: str) -> str:
    return quote(text, safe=_SAFE)


def normalize_name(kind: str, name: str) -> str:
    if kind == "pypi":
        return name.lower().replace("_", "-")
    if kind == "conda":
        return name.lower()
    return name


def build(kind: str, name: str, version: str | None = None, *, namespace: str | None = None,
          qualifiers: Mapping[str, str | None] | None = None, subpath: str | None = None) -> str:
    if not kind or not name:
        raise ValueError("a purl needs a type and a name")
    kind = kind.lower()
    purl = f"pkg:{kind}/"
    if namespace:
        segments = [s for s in namespace.strip("/").split("/") if s]
        purl += "/".join(_encode(normalize_name(kind, s) if kind != "huggingface" else s) for s in segments) + "/"
    purl += _encode(normalize_name(kind, name.strip("/")))
    if version:
        purl += "@" + _encode(version.lower() if kind == "huggingface" else version)
    pairs = []
    for key, value in sorted((qualifiers or {}).items()):
        if value:
            if key.lower() in _URL_QUALIFIERS:
                value = redact(value)
            pairs.append(f"{key.lower()}={_encode(value)}")
    if pairs:
        purl += "?" + "&".join(pairs)
    if subpath:
        segments = [s for s in subpath.split("/") if s not in ("", ".", "..")]
        if segments:
            purl += "#" + "/".join(_encode(s) for s in segments)
    return purl
