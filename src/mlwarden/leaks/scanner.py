"""Secrets and personal data in one file: code and text, notebooks cell by cell (sources and outputs), and data
files (CSV/TSV/JSON/JSONL, parquet with pandas) by sampling; plus the size and data-file rules."""

from __future__ import annotations

import csv
import fnmatch
import io
import json
import os
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlwarden.findings import Finding, Location, Severity
from mlwarden.leaks import pii
from mlwarden.leaks.secrets import Detector, candidate_lines
from mlwarden.policy.model import Policy
from mlwarden.rules import make_finding

TEXT_LIMIT = 20 * 1024 * 1024  # larger text files are read in part (head and evenly spaced chunks)
SAMPLE_ROWS = 2000
DATA_EXTENSIONS = (".csv", ".tsv", ".parquet", ".jsonl", ".ndjson", ".feather", ".arrow", ".orc", ".avro", ".xlsx",
                   ".xls", ".sav", ".dta", ".sas7bdat", ".h5", ".hdf5", ".npy", ".npz", ".pkl", ".pickle", ".db",
                   ".sqlite", ".zip", ".gz", ".tar", ".7z")
_BINARY_OUTPUTS = ("image/", "application/vnd", "application/pdf", "audio/", "video/")
_TEXT_OUTPUTS = ("text/plain", "text/html", "text/markdown", "text/latex", "application/json")
_PII_PRAGMA = "pragma: allowlist pii"


@dataclass
class Unit:
    """Lines to scan and where they are: a whole file, a notebook cell or output, or sampled rows."""

    member: str | None
    lines: list[str]
    first_line: int = 1
    columns: list[str] | None = None  # for tabular rows: the header
    personal_data: bool = True  # False for a table's raw lines: its columns are checked instead


@dataclass
class Context:
    root: Path
    policy: Policy
    detector: Detector
    baseline: dict[str, set[str]]
    waived: list[Finding] = field(default_factory=list)
    _lfs: tuple[tuple[int, int] | None, list[str]] = (None, [])

    def lfs_patterns(self) -> list[str]:
        """Git LFS patterns of the root .gitattributes, read again only when that file changes."""
        attributes = self.root / ".gitattributes"
        try:
            stat = attributes.stat()
            stamp: tuple[int, int] | None = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            stamp = None
        if stamp != self._lfs[0]:
            self._lfs = (stamp, _lfs_patterns(attributes) if stamp else [])
        return self._lfs[1]


def _finding(rule_id: str, path: str, message: str, key: str, *, line: int | None = None, member: str | None = None,
             severity: Severity | None = None) -> Finding:
    return make_finding(rule_id, Location(path, line=line, member=member), message, key, severity=severity)


def scan_file(path: Path, display: str, ctx: Context) -> list[Finding]:
    findings = _file_rules(path, display, ctx.policy, ctx.lfs_patterns())
    suffix = path.suffix.lower()
    try:
        if suffix == ".ipynb":
            units, problems = _notebook_units(path, display)
            findings += problems
        elif suffix in (".csv", ".tsv"):
            units = list(_table_units(path, "\t" if suffix == ".tsv" else ","))
        elif suffix == ".parquet":
            units, note = _parquet_units(path)
            if note:
                findings.append(_finding("MW405", display, f"not scanned for personal data: {note}", "parquet"))
        elif suffix in (".zip", ".gz", ".bz2", ".xz", ".7z", ".tar"):
            if suffix in DATA_EXTENSIONS and _looks_like_data(path):
                findings.append(_finding("MW405", display, "compressed data is not opened for personal data; "
                                         "unpack it and scan the files, or keep it out of the repository",
                                         "compressed"))
            return findings
        else:
            units = _text_units(path)
    except OSError as exc:
        return [*findings, _finding("MW405", display, f"cannot be read: {exc.strerror or exc}", "unreadable")]
    for unit in units:
        findings += _secrets(unit, display, ctx)
        if unit.personal_data:
            findings += _personal_data(unit, display)
    return findings


def _looks_like_data(path: Path) -> bool:
    name = path.name.lower()
    return any(ext in name for ext in (".csv", ".tsv", ".json", ".parquet", "data", "dump", "export"))


# --- units ------------------------------------------------------------------------------------------------------
def _read_text(path: Path) -> str | None:
    """The file as text, or None when it is binary (a NUL byte in its first 8 KiB)."""
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(8192)
        if b"\0" in head:
            return None
        if size <= TEXT_LIMIT:
            data = head + f.read()
        else:
            parts = [head + f.read(4 * 1024 * 1024)]
            for i in range(1, 9):
                f.seek(size * i // 9)
                parts.append(f.read(512 * 1024).split(b"\n", 1)[-1])
            data = b"\n".join(parts)
    return data.decode("utf-8", errors="replace")


def _text_units(path: Path) -> list[Unit]:
    text = _read_text(path)
    if text is None:
        return []
    return [Unit(None, text.splitlines())]


def _source(value: Any) -> str:
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return str(value) if value is not None else ""


def _notebook_units(path: Path, display: str) -> tuple[list[Unit], list[Finding]]:
    text = _read_text(path) or ""
    try:
        cells = json.loads(text)["cells"]
        if not isinstance(cells, list):
            raise TypeError("cells is not a list")
    except (ValueError, KeyError, TypeError) as exc:
        problem = _finding("MW406", display, f"notebook is not valid JSON ({exc}); scanned as plain text",
                           "notebook-json")
        return [Unit(None, text.splitlines())], [problem]
    units: list[Unit] = []
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict):
            continue
        units.append(Unit(f"cell {index}", _source(cell.get("source")).splitlines()))
        for out_index, output in enumerate(cell.get("outputs") or []):
            if not isinstance(output, dict):
                continue
            chunks = [_source(output.get("text"))]
            data = output.get("data") or {}
            for mime, value in data.items():
                if mime.startswith(_TEXT_OUTPUTS) and not mime.startswith(_BINARY_OUTPUTS):
                    chunks.append(_source(value) if not isinstance(value, dict) else json.dumps(value))
            if output.get("output_type") == "error":
                chunks.append(f"{output.get('ename', '')}: {output.get('evalue', '')}")
                chunks.append("\n".join(str(t) for t in output.get("traceback") or []))
            lines = "\n".join(c for c in chunks if c).splitlines()
            if lines:
                units.append(Unit(f"cell {index} output {out_index}", lines))
    return units, []


def _sampled_lines(path: Path) -> Iterator[tuple[int, str]]:
    """The first rows, then rows from evenly spaced places: memory stays bounded on a 2 GB file."""
    size = path.stat().st_size
    with path.open("r", encoding="utf-8", errors="replace", newline="") as f:
        for number, line in enumerate(f, 1):
            yield number, line
            if number >= SAMPLE_ROWS:
                break
        if size <= TEXT_LIMIT:
            for number, line in enumerate(f, SAMPLE_ROWS + 1):
                yield number, line
            return
    with path.open("rb") as raw:
        for i in range(1, 21):
            raw.seek(size * i // 21)
            chunk = raw.read(256 * 1024).decode("utf-8", errors="replace").split("\n")[1:-1]
            for line in chunk[:100]:
                yield -1, line + "\n"  # line numbers are unknown this far into the file


def _table_units(path: Path, delimiter: str) -> Iterator[Unit]:
    numbered = list(_sampled_lines(path))
    if not numbered:
        return
    reader = csv.reader(io.StringIO("".join(line for _, line in numbered)), delimiter=delimiter, strict=False)
    try:
        header = next(reader)
    except (csv.Error, StopIteration):
        header = []
    yield Unit(None, [line.rstrip("\n") for _, line in numbered[:SAMPLE_ROWS]], personal_data=False)
    rows: list[str] = []
    columns: list[str] = []
    try:
        for row in reader:
            for col, value in enumerate(row):
                rows.append(value)
                columns.append(header[col] if col < len(header) else f"column {col + 1}")
    except csv.Error:
        pass  # broken quoting: the rows read so far still count
    if rows:
        yield Unit("columns", rows, columns=columns)


def _parquet_units(path: Path) -> tuple[list[Unit], str | None]:
    try:
        import pandas as pd
    except ImportError:
        return [], "install pandas and pyarrow to sample parquet files"
    try:
        frame = pd.read_parquet(path).head(SAMPLE_ROWS)
    except Exception as exc:  # noqa: BLE001 - pandas/pyarrow raise many types on bad files
        return [], f"cannot be read ({type(exc).__name__}: {exc})"
    values: list[str] = []
    columns: list[str] = []
    for column in frame.columns:
        for value in frame[column].astype(str).tolist():
            values.append(value)
            columns.append(str(column))
    return [Unit("columns", values, columns=columns)], None


# --- detectors --------------------------------------------------------------------------------------------------
def _secrets(unit: Unit, display: str, ctx: Context) -> list[Finding]:
    if unit.columns is not None:
        return []  # the rows were already scanned as lines
    out: list[Finding] = []
    known = ctx.baseline.get(display, set())
    for secret in ctx.detector.scan(unit.lines, display, unit.first_line):
        finding = _finding("MW401", display, f"{secret.type}: {secret.masked}", f"{secret.type}:{secret.hashed}",
                           line=secret.line if secret.line > 0 else None, member=unit.member)
        (ctx.waived if secret.hashed in known else out).append(finding)
    return out


def _severity(count: int, column_share: float | None = None) -> Severity:
    if column_share is not None and column_share >= 0.5 and count >= 5:
        return Severity.HIGH
    if count >= 20:
        return Severity.HIGH
    if count >= 3:
        return Severity.MEDIUM
    return Severity.LOW


def _personal_data(unit: Unit, display: str) -> list[Finding]:
    counts: Counter[tuple[str, str | None]] = Counter()
    examples: dict[tuple[str, str | None], list[str]] = defaultdict(list)
    first: dict[tuple[str, str | None], int] = {}
    per_column: Counter[str] = Counter()
    if unit.columns is not None:
        for value, name in zip(unit.lines, unit.columns, strict=True):
            per_column[name] += 1 if value.strip() else 0
    for i in candidate_lines(unit.lines, pii.PREFILTER):
        line = unit.lines[i]
        column = unit.columns[i] if unit.columns is not None else None
        if _PII_PRAGMA in line:
            continue
        for match in pii.find(line, prefiltered=True):
            key = (match.kind, column)
            counts[key] += 1
            first.setdefault(key, unit.first_line + i)
            if len(examples[key]) < 2:
                examples[key].append(pii.mask(match.value))
    out = []
    for (kind, column), count in sorted(counts.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        share = count / per_column[column] if column is not None and per_column[column] else None
        where = f" in column {column!r} ({count} of {per_column[column]} sampled values)" if column else \
            f" ({count} occurrence{'s' if count > 1 else ''})"
        message = f"personal data: {kind}{where}, e.g. {', '.join(examples[(kind, column)])}"
        out.append(_finding("MW402", display, message, f"pii:{kind}:{column or unit.member or ''}",
                            line=None if column else first[(kind, column)], member=unit.member if not column else
                            f"column {column}", severity=_severity(count, share)))
    return out


# --- data files and sizes --------------------------------------------------------------------------------------
def _lfs_patterns(attributes: Path) -> list[str]:
    patterns = []
    for line in attributes.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split()
        if len(parts) > 1 and "filter=lfs" in parts[1:]:
            patterns.append(parts[0])
    return patterns


def _file_rules(path: Path, display: str, policy: Policy, lfs_patterns: list[str]) -> list[Finding]:
    out: list[Finding] = []
    try:
        size = os.stat(path).st_size
    except OSError:
        return out
    lfs = any(fnmatch.fnmatch(display, p) or fnmatch.fnmatch(path.name, p) for p in lfs_patterns)
    limit = policy.settings.max_file_mb * 1024 * 1024
    if size > limit and not lfs:
        out.append(_finding("MW404", display, f"{size / 1e6:,.1f} MB is over the {policy.settings.max_file_mb} MB "
                            "limit: it belongs in Git LFS or a data store (DVC, object storage)", "size"))
    suffix = path.suffix.lower()
    allowed = {e.lower().lstrip(".") for e in policy.settings.allowed_data_extensions}
    if suffix in DATA_EXTENSIONS and suffix.lstrip(".") not in allowed and not lfs and \
            suffix not in (".zip", ".gz", ".tar", ".7z", ".pkl", ".pickle", ".npy", ".npz", ".h5", ".hdf5"):
        out.append(_finding("MW403", display, f"{suffix} data file committed: datasets belong in a data store "
                            "(DVC, object storage) or Git LFS; allow the extension in [policy] "
                            "allowed_data_extensions if it is reviewed sample data", "data-file"))
    return out
