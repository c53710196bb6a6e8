"""One import point for a TOML reader (tomllib on 3.11+, tomli before)."""

from __future__ import annotations

import sys

if sys.version_info >= (3, 11):  # pragma: no cover - version branch
    import tomllib as toml_reader
else:  # pragma: no cover - version branch
    import tomli as toml_reader

TOMLDecodeError = toml_reader.TOMLDecodeError
loads = toml_reader.loads

__all__ = ["TOMLDecodeError", "loads"]
