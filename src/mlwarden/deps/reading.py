"""Reading dependency files safely: regular files only, inside the project unless named, within a size budget,
decoded the way pip decodes requirements files, and parsed with depth and alias limits.

Every failure is a ``ReadFailure`` whose message names the reason and never quotes the file's content, so a
file outside the project (``-r ~/.aws/credentials``) is refused without leaking a byte of it.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlwarden.paths import resolved

MAX_FILE_BYTES = 32 * 1024 * 1024  # the largest real lock files we met are ~3 MB
MAX_LINE_CHARS = 65_536
MAX_NAME_CHARS = 200  # PyPI names are far shorter; longer ones only exhaust later checks
MAX_INCLUDE_DEPTH = 16
MAX_YAML_ALIASES = 32
MAX_NESTING = 64


class ReadFailure(Exception):
    """The file cannot be read fully; the message is safe to print (no content)."""


def inside(path: Path, root: Path) -> bool:
    """Whether ``path`` (links resolved) is ``root`` or below it."""
    try:
        resolved(path).relative_to(resolved(root))
        return True
    except (ValueError, OSError, RuntimeError):
        return False


_SOURCE = "file"  # safeload prefixes messages with the source; problems already name their file


def _safely(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Runs a shared bounded reader (mlwarden.safeload), turning its InputError into a ReadFailure."""
    from mlwarden.errors import InputError

    try:
        return call(*args, source=_SOURCE, **kwargs)
    except InputError as exc:
        raise ReadFailure(str(exc).removeprefix(f"{_SOURCE}: ")) from None


def read_bytes(path: Path, *, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes. FIFOs, devices and sockets are refused before
    any read, so ``/dev/zero`` or a FIFO never hangs (mlwarden.safeload.read_bytes_bounded)."""
    from mlwarden.safeload import read_bytes_bounded

    data: bytes = _safely(read_bytes_bounded, path, limit)
    return data


_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF32_LE, "utf-32"),
         (codecs.BOM_UTF16_BE, "utf-16"), (codecs.BOM_UTF16_LE, "utf-16"))
_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")


def decode_like_pip(data: bytes) -> str:
    """pip's ``auto_decode``: a BOM first, then a PEP 263 coding line in the first two lines, then UTF-8
    (pip falls back to the locale; CI locales are UTF-8, and guessing would make results machine-dependent)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _decode(data, encoding)
    for line in data.split(b"\n")[:2]:
        match = _CODING.match(line)
        if match:
            encoding = match.group(1).decode("ascii", "replace")
            try:
                codecs.lookup(encoding)
            except LookupError:
                raise ReadFailure(f"declares an unknown encoding {encoding[:40]!r}") from None
            return _decode(data, encoding)
    return _decode(data, "utf-8")


def _decode(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ReadFailure(f"not valid {encoding} ({exc.reason} at byte {exc.start})") from None


def read_text(path: Path, *, utf8_only: bool = False) -> str:
    data = read_bytes(path)
    if utf8_only:  # TOML and JSON lock files are UTF-8 by specification; a BOM is tolerated as tools do
        return _decode(data, "utf-8-sig")
    return decode_like_pip(data)


_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def nesting_ok(text: str, limit: int = MAX_NESTING) -> bool:
    """A cheap upper bound on bracket nesting, checked before a recursive parser (tomllib, json, yaml) can
    exhaust the stack. Brackets inside strings count too, so the bound is conservative."""
    depth = 0
    for char in _NOT_BRACKET.sub("", text):  # C-speed filter first: lock files are megabytes of text
        if char in "[{":
            depth += 1
            if depth > limit:
                return False
        else:
            depth = max(0, depth - 1)
    return True


def load_yaml(text: str) -> Any:
    """YAML with the safe loader, refusing alias bombs (a 361-byte file expands to gigabytes once walked),
    more than a few aliases and deep nesting (mlwarden.safeload.load_yaml_bounded)."""
    from mlwarden.safeload import load_yaml_bounded

    return _safely(load_yaml_bounded, text, MAX_YAML_ALIASES, MAX_NESTING)


def load_toml(text: str) -> dict[str, Any]:
    from mlwarden.safeload import load_toml_bounded

    if not nesting_ok(text):  # cheap refusal before a recursive parser runs
        raise ReadFailure(f"nested deeper than {MAX_NESTING} levels")
    data: dict[str, Any] = _safely(load_toml_bounded, text, MAX_NESTING)
    return data


def load_json(text: str) -> Any:
    from mlwarden.safeload import load_json_bounded

    if not nesting_ok(text):
        raise ReadFailure(f"nested deeper than {MAX_NESTING} levels")
    return _safely(load_json_bounded, text, MAX_NESTING)
