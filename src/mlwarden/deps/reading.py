"""Reading dependency files safely: regular files only, inside the project unless named, within a size budget,
decoded the way pip decodes requirements files, and parsed with depth and alias limits.

Every failure is a ``ReadFailure`` whose message names the reason and never quotes the file's content, so a
file outside the project (``-r ~/.aws/credentials``) is refused without leaking a byte of it.
"""

from __future__ import annotations

import codecs
import os
import re
import stat
from pathlib import Path
from typing import Any

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
        path.resolve().relative_to(root.resolve())
        return True
    except (ValueError, OSError, RuntimeError):
        return False


def read_bytes(path: Path, *, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes. FIFOs, devices and sockets are refused
    before any read (opened non-blocking, checked with fstat), so ``/dev/zero`` or a FIFO never hangs."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise ReadFailure(f"cannot be read: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ReadFailure("not a regular file (a FIFO, device, socket or folder is never read)")
        if info.st_size > limit:
            raise ReadFailure(f"larger than the {limit // (1024 * 1024)} MiB budget for dependency files")
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            total += len(chunk)
            if total > limit:  # the file grew while read
                raise ReadFailure(f"larger than the {limit // (1024 * 1024)} MiB budget for dependency files")
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise ReadFailure(f"cannot be read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


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


_ANCHOR = re.compile(r"(?:^|[\s\[{,:-])&[^\s,\[\]{}]")


def load_yaml(text: str) -> Any:
    """YAML with the safe constructors, at most a few aliases (a 361-byte alias bomb expands to gigabytes
    once anything walks it) and bounded nesting."""
    import yaml

    class _Bounded(yaml.SafeLoader):
        aliases = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                self.aliases += 1
                if self.aliases > MAX_YAML_ALIASES:
                    raise ReadFailure(f"more than {MAX_YAML_ALIASES} YAML aliases (an alias bomb is refused)")
            return super().compose_node(parent, index)

    if not nesting_ok(text):
        raise ReadFailure(f"nested deeper than {MAX_NESTING} levels")
    # Without an anchor there can be no alias: libyaml's safe loader is then safe and ~10x faster (a 600 KB
    # conda-lock file); with anchors, the pure-Python loader counts aliases as it composes.
    loader: Any = _Bounded
    if not _ANCHOR.search(text) and hasattr(yaml, "CSafeLoader"):
        loader = yaml.CSafeLoader
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - safe loaders only
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ReadFailure(f"not valid YAML{where}: {getattr(exc, 'problem', None) or 'syntax error'}") from None
    except RecursionError:
        raise ReadFailure(f"nested deeper than {MAX_NESTING} levels") from None


def load_toml(text: str) -> dict[str, Any]:
    from mlwarden import _toml

    if not nesting_ok(text):
        raise ReadFailure(f"nested deeper than {MAX_NESTING} levels")
    try:
        return _toml.loads(text)
    except _toml.TOMLDecodeError as exc:
        raise ReadFailure(f"not valid TOML: {str(exc)[:200]}") from None
    except RecursionError:
        raise ReadFailure(f"nested deeper than {MAX_NESTING} levels") from None


def load_json(text: str) -> Any:
    import json

    if not nesting_ok(text):
        raise ReadFailure(f"nested deeper than {MAX_NESTING} levels")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ReadFailure(f"not valid JSON: {str(exc)[:200]}") from None
    except RecursionError:
        raise ReadFailure(f"nested deeper than {MAX_NESTING} levels") from None
