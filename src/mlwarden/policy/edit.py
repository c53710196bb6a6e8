"""Edit a policy file for the advisor: keeps comments and order (tomlkit), validates the result before
writing, and writes atomically. An edit that would make the file invalid leaves it byte-for-byte as it was."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mlwarden.errors import InputError, PolicyError
from mlwarden.fileio import exclusive_lock, write_atomic
from mlwarden.policy.kinds import TABLE
from mlwarden.policy.load import load_policy
from mlwarden.policy.model import canonicalize_name, identity
from mlwarden.policy.schema import SCHEMA_VERSION, parse_policy_text

_ARRAY_HEADER = re.compile(r"^\s*\[\[\s*([A-Za-z_][\w-]*)\s*\]\]")
_ANY_HEADER = re.compile(r"^\s*\[\[?\s*[A-Za-z_]")
NEW_FILE_HEADER = """\
# mlwarden policy: the security advisor's allowlists, deny lists and waivers.
# Edit with `mlwarden allowlist add|remove`, or by hand; `mlwarden allowlist check` validates.
# Every entry needs reason, owner, added and expires. See allowlists/README.md for the review rules.
"""


def _matches(kind: str, fields: dict[str, Any], ident: str) -> bool:
    spec = TABLE[kind]
    wanted = canonicalize_name(ident) if kind == "package" else ident
    return spec.ident(fields) == wanted or spec.also_named(fields, ident)


def _load_document(path: Path) -> tuple[Any, str]:
    import tomlkit

    if path.exists():
        from mlwarden.safeload import read_text_bounded

        try:  # a FIFO or device in place of the policy is refused, not read
            text = read_text_bounded(path, _MAX_POLICY_BYTES, source=str(path))
        except InputError as exc:
            raise PolicyError(str(exc)) from None
        _, _, _, problems = parse_policy_text(text, str(path))
        if problems:
            raise PolicyError(f"{path} is invalid; fix it before editing", problems)
        return tomlkit.parse(text), text
    doc = tomlkit.parse(NEW_FILE_HEADER)
    doc.add("schema_version", SCHEMA_VERSION)
    return doc, ""


_MAX_POLICY_BYTES = 16 * 1024 * 1024


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Read-modify-write under an exclusive lock, so concurrent `allowlist add` runs lose no entry: each
    edit re-reads the file inside the lock."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PolicyError(f"{path}: cannot create its folder: {exc.strerror or exc}") from None
    with exclusive_lock(path):
        yield


def add_entry(path: Path, kind: str, fields: dict[str, Any], root: Path, org_file: str | None = None) -> str:
    """Append a [[kind]] entry; returns the entry's identity. Raises PolicyError and writes nothing on error."""
    with _locked(path):
        return _add_entry(path, kind, fields, root, org_file)


def _add_entry(path: Path, kind: str, fields: dict[str, Any], root: Path, org_file: str | None) -> str:
    import tomlkit

    doc, _ = _load_document(path)
    existing = doc.get(kind)
    if existing is not None:
        for table in existing:
            if _matches(kind, dict(table), identity(kind, fields)) and (
                    kind != "package" or table.get("action", "allow") == fields.get("action", "allow")):
                raise PolicyError(f"{path}: a [[{kind}]] entry for {identity(kind, fields)!r} already exists; "
                                  "remove it first or edit it by hand")
    table = tomlkit.table()
    for key, value in fields.items():
        if value is None:
            continue
        table.add(key, _toml_value(value))
    if existing is None:
        aot = tomlkit.aot()
        aot.append(table)
        doc.add(kind, aot)
    else:
        existing.append(table)
    new_text = tomlkit.dumps(doc)
    _validate_and_write(path, new_text, root, org_file)
    return identity(kind, fields)


def remove_entries(path: Path, kind: str, ident: str, root: Path, org_file: str | None = None) -> int:
    """Remove the [[kind]] entries named ``ident``; returns how many. Nothing is written when none match.

    Works on the text rather than through tomlkit: tomlkit attaches the comments written above a table to
    the table before it, so removing an entry would also delete the next entry's comments.
    """
    if not path.exists():
        raise PolicyError(f"{path}: no such policy file")
    with _locked(path):
        return _remove_entries(path, kind, ident, root, org_file)


def _remove_entries(path: Path, kind: str, ident: str, root: Path, org_file: str | None) -> int:
    from mlwarden import _toml

    if not path.exists():
        raise PolicyError(f"{path}: no such policy file")
    _, text = _load_document(path)
    tables = _toml.loads(text).get(kind, [])
    doomed = [i for i, table in enumerate(tables) if _matches(kind, table, ident)]
    if not doomed:
        return 0
    lines = text.splitlines(keepends=True)
    headers = [n for n, line in enumerate(lines) if _ANY_HEADER.match(line)]
    own = [n for n, line in enumerate(lines) if (m := _ARRAY_HEADER.match(line)) and m.group(1) == kind]
    cut: set[int] = set()
    for i in doomed:
        start = own[i]
        following = [h for h in headers if h > start]
        stop = following[0] if following else len(lines)
        if following:  # comments and blank lines right above the next header belong to it
            while stop - 1 > start and (not lines[stop - 1].strip() or lines[stop - 1].lstrip().startswith("#")):
                stop -= 1
        cut.update(range(start, stop))
    new_text = "".join(line for n, line in enumerate(lines) if n not in cut)
    _validate_and_write(path, new_text, root, org_file)
    return len(doomed)


def _toml_value(value: Any) -> Any:
    import tomlkit

    if isinstance(value, dt.date):
        return tomlkit.date(value.isoformat())
    if isinstance(value, list):
        array = tomlkit.array()
        array.extend(value)
        return array
    if isinstance(value, dict):
        inline = tomlkit.inline_table()
        inline.update(value)
        return inline
    return value


def _validate_and_write(path: Path, text: str, root: Path, org_file: str | None) -> None:
    _, _, _, problems = parse_policy_text(text, str(path))
    if problems:
        raise PolicyError(f"refusing to write {path}: the result would be invalid", problems)
    # The whole layered policy must stay valid too (for example an [[index]] a package refers to).
    others = _siblings(path, root)
    with tempfile.TemporaryDirectory(prefix="mlwarden-check-") as tmp:
        candidate = Path(tmp) / path.name
        candidate.write_text(text, encoding="utf-8")
        load_policy(Path(tmp), org_file, extra_files=[*others, candidate])
    write_atomic(path, text, root)


def _siblings(path: Path, root: Path) -> list[Path]:
    folder = root / "allowlists"
    if not folder.is_dir():
        return []
    resolved = path.resolve()
    return [p for p in sorted(folder.glob("*.toml")) if p.resolve() != resolved]
