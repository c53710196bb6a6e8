"""One import point for a TOML reader (tomllib on 3.11+, tomli before)."""

from __future__ import annotations

import sys

if sys.version_info >= (3, 11):  # pragma: no cover - version branch
    import tomllib as toml_reader
else:  # pragma: no cover - version branch
    import tomli as toml_reader

from typing import Any

TOMLDecodeError = toml_reader.TOMLDecodeError


class TOMLTooDeepError(TOMLDecodeError):
    """Nesting deeper than the recursive parser can follow (a decode error, so no caller misses it)."""


def loads(text: str) -> dict[str, Any]:
    """tomllib.loads, with nesting too deep for its recursive parser reported as a decode error (a file of
    `x = [[[[...` otherwise escapes every reader as a RecursionError: issue #15)."""
    try:
        return toml_reader.loads(text)
    except RecursionError:
        raise TOMLTooDeepError("nested too deeply") from None
    except TOMLDecodeError:
        raise
    except ValueError as exc:  # an integer beyond Python's digit limit (sys.get_int_max_str_digits)
        raise TOMLDecodeError(str(exc)) from None

__all__ = ["TOMLDecodeError", "TOMLTooDeepError", "loads"]
