"""Bounded readers for untrusted input: every size, depth and alias count has a limit, special files are never
opened for reading, and every failure is one ``InputError`` line naming the file.

Every reader in mlwarden reads files written by someone else, in CI, with credentials at hand. These helpers
are the one place where "read a file", "parse JSON/TOML/YAML" and "check a budget" are done with limits:

- ``read_text_bounded`` / ``read_bytes_bounded``: regular files only (a FIFO would hang, ``/dev/zero`` never
  ends); the type is checked with ``stat`` before opening and again with ``fstat`` on the opened descriptor
  (opened with ``O_NONBLOCK`` so even a race that swaps in a FIFO cannot block), and at most ``max_bytes`` are read.
- ``load_json_bounded`` / ``load_toml_bounded``: the parsers recurse, so a deep document raises RecursionError;
  it is caught, and the parsed value's depth is measured without recursion.
- ``load_yaml_bounded``: YAML aliases make a 361-byte file expand to gigabytes once walked. The event stream is
  checked first (alias count, nesting depth, recursive aliases, and the size the document has once every alias
  is expanded); only then is it composed with the safe loader.
"""

from __future__ import annotations

import codecs
import errno
import math
import os
import stat
from pathlib import Path
from typing import Any

from mlwarden.errors import InputError
from mlwarden.redact import redact

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_DEPTH = 64
DEFAULT_MAX_ALIASES = 100
DEFAULT_MAX_NODES = 1_000_000


class InputLimitError(InputError):
    """An input exceeds a budget (size, depth, aliases, nodes)."""


class InputFormatError(InputError):
    """An input is not what it claims to be (not text, not JSON/TOML/YAML, a special file)."""


def _one_line(text: str) -> str:
    # Messages become one stderr line or one finding message: no newline, no credential.
    return redact(" ".join(str(text).split()))


def file_kind(mode: int) -> str:
    """What a non-regular file is, for messages (one wording for every reader and writer)."""
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a directory"
    return "not a regular file"


def special_file_reason(path: Path | str) -> str | None:
    """Why ``path`` must not be read (FIFO, device, socket, directory, missing), or None for a regular file.
    Uses ``stat`` only: nothing is opened."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return None if stat.S_ISREG(mode) else file_kind(mode)


def is_regular_file(path: Path | str) -> bool:
    """True when ``path`` (following links) is a regular file. ``stat`` only: a FIFO is never opened."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def _open_regular(path: Path | str, source: str) -> int:
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise InputError(_one_line(f"{source}: no such file")) from None
    except OSError as exc:
        raise InputError(_one_line(f"{source}: cannot read: {exc.strerror or exc}")) from None
    if not stat.S_ISREG(mode):
        raise InputFormatError(_one_line(f"{source}: {file_kind(mode)}, not read")) from None
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a socket swapped in after stat
            raise InputFormatError(_one_line(f"{source}: a socket, not read")) from None
        raise InputError(_one_line(f"{source}: cannot read: {exc.strerror or exc}")) from None
    # The path may have been swapped between stat and open: the descriptor is what counts.
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise InputFormatError(_one_line(f"{source}: {file_kind(mode)}, not read"))
    return fd


def read_bytes_bounded(path: Path | str, max_bytes: int = DEFAULT_MAX_BYTES, *, source: str | None = None) -> bytes:
    """The bytes of regular file ``path``; InputLimitError when it holds more than ``max_bytes``."""
    name = source if source is not None else str(path)
    fd = _open_regular(path, name)
    try:
        chunks: list[bytes] = []
        remaining = max_bytes + 1  # one byte more tells "exactly max_bytes" from "more"
        while remaining > 0:
            try:
                chunk = os.read(fd, min(remaining, 1024 * 1024))
            except OSError as exc:
                raise InputError(_one_line(f"{name}: cannot read: {exc.strerror or exc}")) from None
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > max_bytes:
        raise InputLimitError(_one_line(f"{name}: larger than the {max_bytes:,}-byte limit for this kind of file"))
    return data


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),  # before UTF-16: FF FE 00 00
    (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def decode_text(data: bytes, source: str, *, errors: str = "strict") -> str:
    """UTF-8 text, or UTF-8/16/32 with a byte-order mark (Windows editors write UTF-16 requirements files),
    as pip's ``auto_decode`` reads them. The BOM is dropped."""
    encoding = "utf-8"
    for bom, name in _BOMS:
        if data.startswith(bom):
            data, encoding = data[len(bom):], name
            break
    try:
        return data.decode(encoding, errors)
    except UnicodeDecodeError as exc:
        raise InputFormatError(_one_line(f"{source}: not {encoding.upper()} text (byte {exc.start})")) from None


def read_text_bounded(path: Path | str, max_bytes: int = DEFAULT_MAX_BYTES, *, source: str | None = None,
                      errors: str = "strict") -> str:
    """The text of regular file ``path`` (see :func:`decode_text`), at most ``max_bytes`` bytes."""
    name = source if source is not None else str(path)
    return decode_text(read_bytes_bounded(path, max_bytes, source=name), name, errors=errors)


def value_depth(value: Any, limit: int) -> int:
    """Nesting depth of lists/tuples/dicts in ``value`` (a scalar is 0), counted without recursion; stops
    counting once ``limit`` is exceeded (returns limit + 1). Every container is visited once, so this is for
    trees (parsed JSON/TOML), not for YAML graphs with shared aliases."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    deepest = 0
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        depth += 1
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                return deepest
        stack.extend((child, depth) for child in children if isinstance(child, (dict, list, tuple)))
    return deepest


def _too_deep(source: str, kind: str, max_depth: int) -> InputLimitError:
    return InputLimitError(_one_line(f"{source}: {kind} nested deeper than {max_depth} levels"))


def load_json_bounded(text: str | bytes, max_depth: int = DEFAULT_MAX_DEPTH, *, source: str = "<input>") -> Any:
    """``json.loads`` that raises InputFormatError for invalid JSON and InputLimitError for nesting deeper than
    ``max_depth`` (never RecursionError)."""
    import json

    try:
        value = json.loads(text)
    except RecursionError:
        raise _too_deep(source, "JSON", max_depth) from None
    except json.JSONDecodeError as exc:
        raise InputFormatError(_one_line(f"{source}: not valid JSON: {exc.msg} at line {exc.lineno} "
                                         f"column {exc.colno}")) from None
    except (ValueError, TypeError) as exc:  # undecodable bytes, integers beyond the digit limit
        raise InputFormatError(_one_line(f"{source}: not valid JSON: {exc}")) from None
    if value_depth(value, max_depth) > max_depth:
        raise _too_deep(source, "JSON", max_depth)
    return value


def load_toml_bounded(text: str, max_depth: int = DEFAULT_MAX_DEPTH, *, source: str = "<input>") -> dict[str, Any]:
    """``tomllib.loads`` with the same guarantees as :func:`load_json_bounded`."""
    from mlwarden import _toml

    try:
        value = _toml.loads(text)
    except (RecursionError, _toml.TOMLTooDeepError):
        raise _too_deep(source, "TOML", max_depth) from None
    except _toml.TOMLDecodeError as exc:
        raise InputFormatError(_one_line(f"{source}: not valid TOML: {exc}")) from None
    except (ValueError, TypeError) as exc:
        raise InputFormatError(_one_line(f"{source}: not valid TOML: {exc}")) from None
    if value_depth(value, max_depth) > max_depth:
        raise _too_deep(source, "TOML", max_depth)
    return value


def _check_yaml_events(text: str, max_aliases: int, max_depth: int, max_nodes: int, source: str) -> None:
    """Walk the event stream (no objects built): count aliases, track depth, and compute how many nodes the
    document has once aliases are expanded, so a billion-laughs file is refused before anything is composed."""
    import yaml

    loader_class = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loader = loader_class(text)
    open_sizes: list[int] = []
    open_anchors: list[str | None] = []
    anchors: dict[str, int | None] = {}  # None while the anchored collection is still open
    aliases = 0
    total = 0

    def add(size: int) -> None:
        nonlocal total
        if open_sizes:
            open_sizes[-1] += size
            current = open_sizes[-1]
        else:
            total += size
            current = total
        if current > max_nodes:
            raise InputLimitError(_one_line(f"{source}: YAML expands to more than {max_nodes:,} nodes "
                                            "(alias bomb?)"))

    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, yaml.ScalarEvent):
                if event.anchor is not None:
                    anchors[event.anchor] = 1
                add(1)
            elif isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                if len(open_sizes) >= max_depth:
                    raise _too_deep(source, "YAML", max_depth)
                if event.anchor is not None:
                    anchors[event.anchor] = None
                open_sizes.append(1)
                open_anchors.append(event.anchor)
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                size = open_sizes.pop()
                anchor = open_anchors.pop()
                if anchor is not None:
                    anchors[anchor] = size
                add(size)
            elif isinstance(event, yaml.AliasEvent):
                aliases += 1
                if aliases > max_aliases:
                    raise InputLimitError(_one_line(f"{source}: more than {max_aliases} YAML aliases"))
                if event.anchor in anchors:
                    target = anchors[event.anchor]
                    if target is None:
                        raise InputFormatError(_one_line(f"{source}: recursive YAML alias *{event.anchor}"))
                    add(target)
                # An undefined alias is reported by the composer below.
    finally:
        dispose = getattr(loader, "dispose", None)
        if dispose is not None:
            dispose()


def _yaml_message(exc: Exception) -> str:
    # str(MarkedYAMLError) quotes the offending line, which may hold a credential: keep problem and position.
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or type(exc).__name__
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
    return f"{problem}{where}"


def load_yaml_bounded(text: str, max_aliases: int = DEFAULT_MAX_ALIASES, max_depth: int = DEFAULT_MAX_DEPTH, *,
                      max_nodes: int = DEFAULT_MAX_NODES, source: str = "<input>") -> Any:
    """One YAML document with the safe loader (no Python objects constructed), refusing alias bombs, recursive
    aliases and deep nesting with InputLimitError/InputFormatError; invalid YAML is InputFormatError."""
    import yaml

    try:
        # Without an anchor there is no alias to expand, and the value is a tree whose depth is cheap to measure
        # afterwards: the event pass (a Python loop) is only paid by files that use anchors.
        has_anchor = "&" in text
        if has_anchor:
            _check_yaml_events(text, max_aliases, max_depth, max_nodes, source)
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        value = yaml.load(text, Loader=loader)  # noqa: S506, MW707 - a safe loader (C or Python), never FullLoader
        if not has_anchor and value_depth(value, max_depth) > max_depth:
            raise _too_deep(source, "YAML", max_depth)
        return value
    except InputError:
        raise
    except RecursionError:
        raise _too_deep(source, "YAML", max_depth) from None
    except yaml.YAMLError as exc:
        raise InputFormatError(_one_line(f"{source}: not valid YAML: {_yaml_message(exc)}")) from None
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. a timestamp out of range
        raise InputFormatError(_one_line(f"{source}: not valid YAML: {exc}")) from None


# Budgets come from configuration files and options, i.e. from the repository being scanned.
_INT_CEILING = 2**53  # larger than any real budget; still safe for C-level sizes and float conversion
_SECONDS_CEILING = 10_000_000.0  # ~115 days; threading/selectors reject timeouts much beyond this


def validate_budget(name: str, value: object, *, integer: bool = True, source: str = "configuration") -> int | float:
    """``value`` as a budget: a finite positive number (an integer unless ``integer`` is False) within a sane
    ceiling. Raises ConfigError with one line naming ``source`` and ``name`` for NaN, infinity, zero, negative,
    huge, booleans and strings."""
    from mlwarden.errors import ConfigError

    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(_one_line(f"{source}: budget {name!r} must be a number, not {type(value).__name__}"))
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(_one_line(f"{source}: budget {name!r} must be a finite number, not {value}"))
    if value <= 0:
        raise ConfigError(_one_line(f"{source}: budget {name!r} must be positive, not {value}"))
    if integer:
        if isinstance(value, float) and not value.is_integer():
            raise ConfigError(_one_line(f"{source}: budget {name!r} must be a whole number, not {value}"))
        if value > _INT_CEILING:
            raise ConfigError(_one_line(f"{source}: budget {name!r} is too large (at most {_INT_CEILING})"))
        return int(value)
    if value > _SECONDS_CEILING:
        raise ConfigError(_one_line(f"{source}: budget {name!r} is too large (at most {_SECONDS_CEILING:g})"))
    return float(value)
