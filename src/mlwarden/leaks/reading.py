"""What the leak scan reads from a file, in bounded memory and linear time: `Unit`s of lines (a whole text
file, a notebook cell or output, a table's cells by column) and `notes` saying where a limit cut the reading.

Limits: text files up to TEXT_LIMIT are read whole, larger ones by samples; no line is kept longer than
MAX_LINE_BYTES (the rest of it is skipped, not loaded); long lines are cut into SEGMENT-character pieces that
keep their line number, so a secret in the middle of minified JSON is still seen by detectors that only look
at the first few thousand characters of a line. Tables keep their first SAMPLE_ROWS rows and samples from
evenly spaced places.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from mlwarden import suppress

TEXT_LIMIT = 20 * 1024 * 1024  # larger text files are read in part (head and evenly spaced chunks)
HEAD_BYTES = 4 * 1024 * 1024
SAMPLE_ROWS = 2000
MAX_TABLE_ROWS = 20_000  # cells checked for personal data per table (every line is still read for secrets)
MAX_LINE_BYTES = 1024 * 1024  # a longer line is cut there: a 1.5 GB one-line CSV costs one MiB
SEGMENT = 4096  # long lines are scanned in pieces of this many characters (with a small overlap)
_OVERLAP = 200
_BINARY_OUTPUTS = ("image/", "application/vnd", "application/pdf", "audio/", "video/")
_TEXT_OUTPUTS = ("text/plain", "text/html", "text/markdown", "text/latex", "application/json")


@dataclass
class Unit:
    """Lines to scan and where they are: a whole file, a notebook cell or output, or sampled table cells."""

    member: str | None
    lines: list[str]
    first_line: int = 1
    columns: list[str] | None = None  # for table cells: each cell's column name
    personal_data: bool = True  # False for a table's raw lines: its cells are checked instead
    numbers: list[int] | None = None  # each line's number when not consecutive (pieces of long lines, samples)
    suppressed: frozenset[str] = suppress.NONE  # what a notebook cell's tag or metadata silences
    file_lines: dict[int, int] | None = None  # a notebook cell's line -> the line in the JSON file (SARIF)

    def number(self, index: int) -> int:
        return self.numbers[index] if self.numbers is not None else self.first_line + index


@dataclass
class Reading:
    units: list[Unit] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # limits reached: each becomes a finding on the file
    invalid_notebook: str | None = None
    head: str = ""  # the start of the text, for content sniffing (cassettes, our own reports)


def segmented(lines: list[str], first_line: int = 1, known: list[int] | None = None) -> Unit:
    """A unit whose long lines are cut in overlapping pieces; each piece keeps its line's number."""
    if all(len(line) <= SEGMENT for line in lines):
        return Unit(None, lines, first_line, numbers=known)
    out: list[str] = []
    numbers: list[int] = []
    for index, line in enumerate(lines):
        number = known[index] if known is not None else first_line + index
        if len(line) <= SEGMENT:
            out.append(line)
            numbers.append(number)
            continue
        for start in range(0, len(line), SEGMENT - _OVERLAP):
            out.append(line[start:start + SEGMENT])
            numbers.append(number)
    return Unit(None, out, first_line, numbers=numbers)


def _head_lines(f: BinaryIO, size: int, notes: list[str]) -> list[str]:
    """The whole lines of the first HEAD_BYTES (a line that does not end there is cut at MAX_LINE_BYTES): one
    read and one split in C, and a 1.5 GB single-line file costs 4 MiB."""
    data = f.read(HEAD_BYTES)
    lines = _decode(data).splitlines()
    if len(data) < size and lines and not data.endswith(b"\n"):
        last = lines.pop()
        if not lines:  # one line longer than the whole head
            lines = [last]
    return _capped(lines, notes)


def _capped(lines: list[str], notes: list[str]) -> list[str]:
    if any(len(line) > MAX_LINE_BYTES for line in lines):
        notes.append(f"a line is longer than {MAX_LINE_BYTES // 1024} KiB: only its first "
                     f"{MAX_LINE_BYTES // 1024} KiB were scanned")
        lines = [line[:MAX_LINE_BYTES] for line in lines]
    return lines


def _decode(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def read_text(path: Path, notes: list[str]) -> tuple[list[str], list[int] | None] | None:
    """The file's lines (None when binary: a NUL byte in its first 8 KiB), and their numbers when sampled."""
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(8192)
        if b"\0" in head:
            return None
        if size <= TEXT_LIMIT:
            return _decode(head + f.read(TEXT_LIMIT)).splitlines(), None  # bounded, in case it grew
        f.seek(0)
        lines = _head_lines(f, size, notes)
        numbers = list(range(1, len(lines) + 1))
        for i in range(1, 9):
            f.seek(size * i // 9)
            for raw in f.read(512 * 1024).split(b"\n")[1:-1]:  # whole lines only
                lines.append(_decode(raw[:MAX_LINE_BYTES]).rstrip("\r"))
                numbers.append(-1)  # line numbers are unknown this far into the file
    notes.append(f"{size / 1e6:,.0f} MB is over the {TEXT_LIMIT // (1024 * 1024)} MiB text limit: the first "
                 f"{HEAD_BYTES // (1024 * 1024)} MiB and eight samples were scanned")
    return lines, numbers


def text_units(path: Path) -> Reading:
    reading = Reading()
    text = read_text(path, reading.notes)
    if text is None:
        return reading
    lines, numbers = text
    reading.head = "\n".join(lines[:200])[:1 << 16]
    reading.units.append(segmented(lines, 1, numbers))
    return reading


# --- notebooks ----------------------------------------------------------------------------------------------------
def _source(value: Any) -> str:
    """nbformat stores text as a string or a list of strings; anything else is a malformed notebook's field."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(v for v in value if isinstance(v, str))
    return ""


def notebook_units(path: Path) -> Reading:
    """Cells and text outputs through the shared notebook reader (labels and file lines as the code checks
    give them). A notebook it rejects is still read cell by cell, tolerating wrong-typed fields (positions
    then name the cells), and a file that is not JSON at all as plain text."""
    from mlwarden.notebook import NotebookError, read_notebook

    reading = Reading()
    size = path.stat().st_size
    text = read_text(path, reading.notes)
    if text is None:
        reading.invalid_notebook = "binary content"
        return reading
    lines, numbers = text
    if size > TEXT_LIMIT or numbers is not None:
        reading.units.append(segmented(lines, 1, numbers))  # too large to parse as JSON in bounded memory
        return reading
    joined = "\n".join(lines)
    try:
        notebook = read_notebook(joined)
    except NotebookError as exc:
        reading.invalid_notebook = str(exc)[:300]
        _tolerant_cells(joined, lines, reading)
        return reading
    for cell in notebook.cells:
        silenced = suppress.cell_rules({"metadata": {**cell.metadata, "tags": list(cell.tags)}})
        source = segmented(cell.source.splitlines())
        source.member, source.suppressed = cell.label, silenced
        source.file_lines = {n: line for n in range(1, len(source.lines) + 2)
                             if (line := cell.file_line(n)) is not None} if cell.source_lines else None
        reading.units.append(source)
        for output in cell.outputs:
            chunks = [output.text, *(value for mime, value in output.data.items()
                                     if mime.startswith(_TEXT_OUTPUTS) and not mime.startswith(_BINARY_OUTPUTS))]
            out_lines = "\n".join(c for c in chunks if c).splitlines()
            if out_lines:
                unit = segmented(out_lines)
                unit.member, unit.suppressed = f"{cell.label} output {output.index}", silenced
                reading.units.append(unit)
    return reading


def _tolerant_cells(joined: str, lines: list[str], reading: Reading) -> None:
    """Every readable cell of a notebook with wrong-typed fields; plain text when it is not JSON at all."""
    try:
        doc = json.loads(joined)
        cells = doc.get("cells") if isinstance(doc, dict) else None
        if not isinstance(cells, list):
            raise TypeError("no cells list")
    except (ValueError, TypeError, RecursionError):
        reading.units.append(segmented(lines))
        return
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict):
            continue
        label = f"cell #{index + 1}"  # its position: the reader could not number it as Jupyter does
        silenced = suppress.cell_rules(cell)
        source = segmented(_source(cell.get("source")).splitlines())
        source.member, source.suppressed = label, silenced
        reading.units.append(source)
        outputs = cell.get("outputs")
        for out_index, output in enumerate(outputs if isinstance(outputs, list) else []):
            if not isinstance(output, dict):
                continue
            out_lines = _output_text(output).splitlines()
            if out_lines:
                unit = segmented(out_lines)
                unit.member, unit.suppressed = f"{label} output {out_index}", silenced
                reading.units.append(unit)


def _output_text(output: dict[str, Any]) -> str:
    chunks = [_source(output.get("text"))]
    data = output.get("data")
    for mime, value in (data.items() if isinstance(data, dict) else ()):
        if isinstance(mime, str) and mime.startswith(_TEXT_OUTPUTS) and not mime.startswith(_BINARY_OUTPUTS):
            chunks.append(_source(value) if not isinstance(value, dict) else json.dumps(value)[:TEXT_LIMIT])
    if output.get("output_type") == "error":
        chunks.append(f"{_source(output.get('ename'))}: {_source(output.get('evalue'))}")
        traceback = output.get("traceback")
        chunks.append("\n".join(t for t in (traceback if isinstance(traceback, list) else []) if isinstance(t, str)))
    return "\n".join(c for c in chunks if c)


# --- tables -------------------------------------------------------------------------------------------------------
def sampled_lines(path: Path, notes: list[str]) -> list[tuple[int, str]]:
    """The rows of a table up to TEXT_LIMIT; beyond, the first SAMPLE_ROWS and rows from 20 evenly spaced
    places: memory stays bounded on a 2 GB file, and on a 1.5 GB file of one line."""
    size = path.stat().st_size
    with path.open("rb") as f:
        if size <= TEXT_LIMIT:
            return list(enumerate(_decode(f.read(TEXT_LIMIT)).splitlines(keepends=True), 1))
        rows = [(n, line + "\n") for n, line in enumerate(_head_lines(f, size, notes)[:SAMPLE_ROWS], 1)]
        for i in range(1, 21):
            f.seek(size * i // 21)
            for raw in f.read(256 * 1024).split(b"\n")[1:-1][:100]:
                rows.append((-1, _decode(raw) + "\n"))  # line numbers are unknown this far into the file
    notes.append(f"{size / 1e6:,.0f} MB is over the {TEXT_LIMIT // (1024 * 1024)} MiB limit: the first rows "
                 "and rows from 20 evenly spaced places were sampled")
    return rows


def table_units(path: Path, delimiter: str) -> Reading:
    reading = Reading()
    numbered = sampled_lines(path, reading.notes)
    if not numbered:
        return reading
    reading.head = "".join(line for _, line in numbered[:50])[:1 << 16]
    raw_lines = [line.rstrip("\r\n") for _, line in numbered]
    lines_unit = segmented(raw_lines, known=[n for n, _ in numbered])
    lines_unit.personal_data = False
    reading.units.append(lines_unit)
    reader = csv.reader(io.StringIO("".join(line for _, line in numbered)), delimiter=delimiter, strict=False)
    header: list[str] = []
    values: list[str] = []
    columns: list[str] = []
    try:
        header = next(reader)
        for row in itertools.islice(reader, MAX_TABLE_ROWS):  # personal data is judged on a sample
            for col, value in enumerate(row):
                values.append(value)
                columns.append(header[col] if col < len(header) else f"column {col + 1}")
    except (csv.Error, StopIteration):
        pass  # broken quoting or a giant field: the rows read so far still count
    reading.units.append(Unit("columns", values, columns=columns))
    reading.head = ",".join(header)[:4096] + "\n" + reading.head
    return reading


def parquet_units(path: Path) -> tuple[Reading, str | None]:
    """The first SAMPLE_ROWS rows, read batch by batch (never the whole file), as cells by column."""
    reading = Reading()
    try:
        import pyarrow.parquet as pq
    except ImportError:
        return reading, "install pyarrow (or pandas with pyarrow) to sample parquet files"
    try:
        batches = pq.ParquetFile(path).iter_batches(batch_size=SAMPLE_ROWS)
        batch = next(batches, None)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many types on bad files
        return reading, f"cannot be read ({type(exc).__name__}: {str(exc)[:200]})"
    values: list[str] = []
    columns: list[str] = []
    if batch is not None:
        for name, column in zip(batch.schema.names, batch.columns, strict=True):
            for value in column.to_pylist():
                values.append(str(value)[:MAX_LINE_BYTES])
                columns.append(str(name))
        reading.head = ",".join(str(n) for n in batch.schema.names)
    reading.units.append(Unit("columns", values, columns=columns))
    return reading, None
