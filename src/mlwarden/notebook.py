"""One reader for Jupyter notebooks (nbformat 4, and 3's worksheets), shared by the code checks and leak scans.

Every field is validated with its type: a notebook that does not match the format raises NotebookError with
one line naming the field (``cells[3].source``), never another exception. Cells are numbered as Jupyter shows
them (the execution count ``In [7]``, else the 1-based position among code cells), and each cell knows the
JSON line of each of its source lines when the file is laid out as nbformat writes it, so a finding can say
"cell 3, line 2" and a SARIF region can point inside the cell.

``strip_magics`` turns IPython syntax (magics, shell escapes, help) into Python that parses with the same line
numbers, the way IPython's input transformers do before the kernel compiles a cell.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass, field
from typing import Any

MAX_NOTEBOOK_CHARS = 64 * 1024 * 1024
MAX_CELLS = 20_000
MAX_OUTPUTS_PER_CELL = 1_000
KINDS = ("code", "markdown", "raw")


class NotebookError(ValueError):
    """The text is not a notebook this reader understands; the message is one line naming the field (values it
    quotes are redacted: a notebook's wrong field may hold a credential)."""

    def __init__(self, message: str) -> None:
        from mlwarden.redact import redact

        super().__init__(redact(message))


@dataclass(frozen=True)
class Output:
    """One output of a code cell, as text: stream text, an error's name/value/traceback, and text-like data."""

    index: int
    output_type: str
    text: str = ""
    data: dict[str, str] = field(default_factory=dict)  # mime type -> text (JSON mime types re-serialised)


@dataclass(frozen=True)
class Cell:
    kind: str  # "code", "markdown" or "raw"
    index: int  # 0-based position in the file
    number: int  # code: execution count if set, else 1-based among code cells; others: 1-based position
    source: str
    outputs: tuple[Output, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    execution_count: int | None = None
    # JSON line (1-based) of each source line, when determinable; index 0 is the cell's line 1.
    source_lines: tuple[int, ...] | None = None

    @property
    def label(self) -> str:
        """What a finding names: 'cell 3' for code as Jupyter numbers it, 'markdown cell 5' for the others."""
        return f"cell {self.number}" if self.kind == "code" else f"{self.kind} cell {self.number}"

    @property
    def line_offset(self) -> int | None:
        """The JSON line where the cell's source starts, or None when it cannot be determined."""
        return self.source_lines[0] if self.source_lines else None

    def file_line(self, line: int) -> int | None:
        """The JSON line of the cell's 1-based ``line``, or None."""
        if not self.source_lines or line < 1:
            return None
        return self.source_lines[min(line, len(self.source_lines)) - 1]


@dataclass(frozen=True)
class Notebook:
    cells: list[Cell]
    nbformat: int
    metadata: dict[str, Any] = field(default_factory=dict)

    def code_cells(self) -> list[Cell]:
        return [c for c in self.cells if c.kind == "code"]

    def find(self, label: str) -> Cell | None:
        """The cell a finding's member names ("cell 7", "markdown cell 2"); the first one when a re-run
        notebook repeats an execution count."""
        return next((c for c in self.cells if c.label == label), None)


def read_notebook(text: str) -> Notebook:
    """Parse and validate a notebook's JSON text. Raises NotebookError with a one-line message."""
    if len(text) > MAX_NOTEBOOK_CHARS:
        raise NotebookError(f"notebook larger than {MAX_NOTEBOOK_CHARS} characters")
    try:
        doc = json.loads(text)
    except RecursionError:
        raise NotebookError("notebook JSON is nested too deeply") from None
    except ValueError as exc:
        raise NotebookError(f"not valid JSON ({_one_line(exc)})") from None
    if not isinstance(doc, dict):
        raise NotebookError(f"top level is {_type(doc)}, not an object")
    nbformat = doc.get("nbformat", 4)
    if not _is_int(nbformat):
        raise NotebookError(f"nbformat is {_type(nbformat)}, not an integer")
    metadata = _dict(doc.get("metadata", {}), "metadata")
    if "cells" in doc:
        raw_cells = _list(doc["cells"], "cells")
        where = "cells"
    elif "worksheets" in doc:  # nbformat 3: cells live in worksheets; only the first one is ever used
        sheets = _list(doc["worksheets"], "worksheets")
        first = _dict(sheets[0], "worksheets[0]") if sheets else {}
        raw_cells = _list(first.get("cells", []), "worksheets[0].cells")
        where = "worksheets[0].cells"
    else:
        raise NotebookError("no 'cells' list")
    if len(raw_cells) > MAX_CELLS:
        raise NotebookError(f"more than {MAX_CELLS} cells")
    positions = _source_positions(text, raw_cells)
    cells: list[Cell] = []
    code_ordinal = 0
    for index, raw in enumerate(raw_cells):
        name = f"{where}[{index}]"
        cell = _dict(raw, name)
        kind = cell.get("cell_type")
        if not isinstance(kind, str):
            raise NotebookError(f"{name}.cell_type is {_type(kind)}, not a string")
        if kind == "heading":  # nbformat 3
            kind = "markdown"
        if kind not in KINDS:
            raise NotebookError(f"{name}.cell_type {kind[:40]!r} is not one of {', '.join(KINDS)}")
        key = "input" if "source" not in cell and "input" in cell else "source"
        source = _text(cell.get(key, ""), f"{name}.{key}")
        cell_meta = _dict(cell.get("metadata", {}), f"{name}.metadata")
        tags = tuple(_strings(cell_meta.get("tags", []), f"{name}.metadata.tags"))
        count: int | None = None
        outputs: tuple[Output, ...] = ()
        if kind == "code":
            code_ordinal += 1
            count_key = "execution_count" if "execution_count" in cell else "prompt_number"
            raw_count = cell.get(count_key)
            if raw_count is not None and not _is_int(raw_count):
                raise NotebookError(f"{name}.{count_key} is {_type(raw_count)}, not an integer or null")
            count = raw_count if raw_count is not None and raw_count > 0 else None
            outputs = _outputs(cell.get("outputs", []), f"{name}.outputs")
            number = count if count is not None else code_ordinal
        else:
            number = index + 1
        cells.append(Cell(kind, index, number, source, outputs, cell_meta, tags, count, positions.get(index)))
    return Notebook(cells, nbformat, metadata)


def _outputs(value: Any, name: str) -> tuple[Output, ...]:
    items = _list(value, name)
    if len(items) > MAX_OUTPUTS_PER_CELL:
        raise NotebookError(f"{name} has more than {MAX_OUTPUTS_PER_CELL} outputs")
    out: list[Output] = []
    for i, raw in enumerate(items):
        where = f"{name}[{i}]"
        item = _dict(raw, where)
        kind = item.get("output_type", "")
        if not isinstance(kind, str):
            raise NotebookError(f"{where}.output_type is {_type(kind)}, not a string")
        parts: list[str] = []
        if "text" in item:
            parts.append(_text(item["text"], f"{where}.text"))
        if kind in ("error", "pyerr"):
            ename = _text(item.get("ename", ""), f"{where}.ename")
            evalue = _text(item.get("evalue", ""), f"{where}.evalue")
            parts.append(f"{ename}: {evalue}")
            parts.append("\n".join(_strings(item.get("traceback", []), f"{where}.traceback")))
        data: dict[str, str] = {}
        for mime, payload in _dict(item.get("data", {}), f"{where}.data").items():
            if isinstance(payload, (dict, list)) and mime.endswith("json"):
                data[mime] = json.dumps(payload)
            else:
                data[mime] = _text(payload, f"{where}.data[{mime[:40]!r}]")
        out.append(Output(i, kind, "\n".join(p for p in parts if p), data))
    return tuple(out)


# -- where each cell's source sits in the JSON text ----------------------------------------------------------
_SOURCE_KEY = re.compile(r'"(?:source|input)"\s*:\s*')


def _source_positions(text: str, raw_cells: list[Any]) -> dict[int, tuple[int, ...]]:
    """JSON line of each source line, per cell index; {} when the layout cannot be matched with certainty.

    Each candidate ``"source":`` key is decoded in place and must equal the next cell's source, so a key inside
    metadata or outputs cannot shift the mapping (json gives no positions, hence this walk).
    """
    wanted = [(i, c.get("source", c.get("input"))) for i, c in enumerate(raw_cells)
              if isinstance(c, dict) and isinstance(c.get("source", c.get("input")), (str, list))]
    if not wanted:
        return {}
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
    decoder = json.JSONDecoder()
    found: dict[int, tuple[int, ...]] = {}
    k = 0
    for match in _SOURCE_KEY.finditer(text):
        if k == len(wanted):
            break
        index, expected = wanted[k]
        try:
            value, _ = decoder.raw_decode(text, match.end())
        except ValueError:
            continue
        if value != expected:
            continue
        found[index] = _element_lines(text, match.end(), value, line_starts, decoder)
        k += 1
    return found if k == len(wanted) else {}


def _element_lines(text: str, start: int, value: str | list[Any], line_starts: list[int],
                   decoder: json.JSONDecoder) -> tuple[int, ...]:
    def line_of(pos: int) -> int:
        return bisect.bisect_right(line_starts, pos)

    if isinstance(value, str):
        count = value.count("\n") + (0 if value.endswith("\n") else 1)
        return (line_of(start),) * max(count, 1)
    lines: list[int] = []
    pos = start + 1  # after '['
    new_line = True
    for element in value:
        while text[pos] in " \t\r\n,":
            pos += 1
        element_line = line_of(pos)
        _, pos = decoder.raw_decode(text, pos)
        parts = str(element).split("\n")
        for j, piece in enumerate(parts):
            last = j == len(parts) - 1
            if last and not piece:
                break  # the element ended its line; the next element starts a new one
            if new_line:
                lines.append(element_line)
            new_line = not last
    return tuple(lines) or (line_of(start),)


# -- typed field helpers -----------------------------------------------------------------------------------
def _type(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _dict(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise NotebookError(f"{name} is {_type(value)}, not an object")
    return value


def _list(value: Any, name: str) -> list[Any]:
    if not isinstance(value, list):
        raise NotebookError(f"{name} is {_type(value)}, not an array")
    return value


def _strings(value: Any, name: str) -> list[str]:
    items = _list(value, name)
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise NotebookError(f"{name}[{i}] is {_type(item)}, not a string")
    return items


def _text(value: Any, name: str) -> str:
    """nbformat's multiline string: a string or a list of strings joined as they are."""
    if isinstance(value, str):
        return value
    return "".join(_strings(value, name))


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())[:200]


# -- IPython syntax -> Python with the same line numbers -----------------------------------------------------
# Cell magics whose body is Python that the kernel runs (the first line holds the magic and its options).
_PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun", "debug", "memit", "mprun", "python", "python3",
                       "pypy", "ipython"}
# Line magics that run the rest of the line as Python.
_PYTHON_LINE_MAGICS = {"time", "timeit", "prun", "debug", "memit"}
_LINE_MAGIC = re.compile(r"^(?P<indent>[ \t]*)(?P<sigil>%{1,2}|!{1,2}|\?{1,2}|[/;,](?=[A-Za-z_]))")
_ASSIGN_MAGIC = re.compile(r"^(?P<indent>[ \t]*)[A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*\s*=\s*[%!]")
_HELP_SUFFIX = re.compile(r"^(?P<indent>[ \t]*)[A-Za-z_][\w.]*(?:\(\))?\?{1,2}[ \t]*$")
# Automagic: with IPython's default automagic on, a line magic or a shell alias runs without its ``%``.
_AUTOMAGIC = re.compile(
    r"^(?P<indent>[ \t]*)(?:pip|conda|mamba|micromamba|cd|ls|ll|pwd|cat|cp|mkdir|mv|rm|rmdir|env|set_env|load_ext|"
    r"reload_ext|unload_ext|matplotlib|time|timeit|run|who|whos|history|autoreload|pdb|sx|system|bookmark|alias|"
    r"config|store|debug|prun|capture|pinfo|psearch|reset|xmode|writefile|load|save|precision)"
    r"(?:\s+(?![=(\[.,:+*/%<>&|^@])\S|\s*$)")  # ``config = f(`` is an assignment, not a magic
_PROMPT_FIRST = re.compile(r"^>>>( |$)")
_PROMPT = re.compile(r"^[ \t]*(>>>|\.\.\.)( |$)")
_MAGIC_NAME = re.compile(r"%{1,2}(?P<name>\w+)")
_OPTIONS = re.compile(r"^(?:\s*-\w+(?:\s+\d+(?=\s))?)*")


def strip_magics(source: str) -> str:
    """IPython magics, shell escapes and help requests replaced by ``pass`` or blank lines (line numbers kept).

    A magic line becomes ``pass`` at its indentation so an ``if IN_COLAB:`` body that held only magics still
    parses; the Python of ``%time expr`` and of ``%%time`` cells is kept so it is checked too. Lines inside
    strings or brackets are never touched, as IPython tokenizes before transforming.
    """
    lines = _strip_prompts(source.split("\n"))
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is not None and lines[first].lstrip().startswith("%%"):
        match = _MAGIC_NAME.match(lines[first].lstrip())
        name = match.group("name") if match else ""
        if name in _PYTHON_CELL_MAGICS:
            lines[first] = ""
        else:
            return "\n" * (len(lines) - 1)  # the body is not Python (bash, writefile, html, sql …)
    out: list[str] = []
    state = StatementScanner()
    skip_continuation = False
    magic_state: StatementScanner | None = None
    for line in lines:
        if skip_continuation:  # the rest of a magic continued with a backslash
            out.append("")
            skip_continuation = line.rstrip().endswith("\\")
            continue
        if magic_state is not None:  # a %magic whose arguments are still inside open brackets
            out.append("")
            magic_state.feed(line)
            if magic_state.at_statement_start():
                magic_state = None
            continue
        if state.at_statement_start():
            replacement = _magic_replacement(line)
            if replacement is not None:
                out.append(replacement)
                skip_continuation = line.rstrip().endswith("\\")
                if line.lstrip().startswith("%") and not skip_continuation:
                    magic_state = StatementScanner()  # IPython reads a magic to the end of its brackets
                    magic_state.feed(line.lstrip()[1:])
                    if magic_state.at_statement_start():
                        magic_state = None
                continue
        out.append(line)
        state.feed(line)
    return "\n".join(out)


def _strip_prompts(lines: list[str]) -> list[str]:
    """IPython's leading_indent and classic_prompt transforms: a cell pasted from a doctest (``>>> x = 1``,
    ``... y``) or indented as a whole runs as the code without the prompts or the indent."""
    first = next((line for line in lines if line.strip()), "")
    indent = first[: len(first) - len(first.lstrip())]
    if indent:
        lines = [line[len(indent):] if line.startswith(indent) else line for line in lines]
    if _PROMPT_FIRST.match(next((line for line in lines if line.strip()), "")):
        lines = [_PROMPT.sub("", line) for line in lines]
    return lines


def _magic_replacement(line: str) -> str | None:
    match = _LINE_MAGIC.match(line) or _ASSIGN_MAGIC.match(line) or _HELP_SUFFIX.match(line)
    if match is None:
        automagic = _AUTOMAGIC.match(line)
        if automagic is None or _parses(line.strip()):
            return None  # ``cd = 3`` or ``ls(x)`` are Python
        return automagic.group("indent") + "pass"
    indent = match.group("indent")
    stripped = line.lstrip()
    if stripped.startswith("%") and not stripped.startswith("%%"):
        magic = _MAGIC_NAME.match(stripped)
        if magic and magic.group("name") in _PYTHON_LINE_MAGICS:
            rest = stripped[magic.end():]
            rest = rest[len(_OPTIONS.match(rest).group(0)):]  # type: ignore[union-attr]  # always matches
            code = rest.strip()
            if code and _parses(code):
                return indent + code
    return indent + "pass"


def _parses(code: str) -> bool:
    import ast

    try:
        ast.parse(code)
    except (SyntaxError, ValueError, RecursionError):
        return False
    return True


class StatementScanner:
    """Just enough of Python's lexer to know whether a line starts a new statement: open brackets, open
    triple-quoted strings and backslash continuations (magics are only recognised at statement starts)."""

    def __init__(self) -> None:
        self.depth = 0
        self.string: str | None = None  # the open triple quote
        self.backslash = False

    def at_statement_start(self) -> bool:
        return self.depth == 0 and self.string is None and not self.backslash

    def feed(self, line: str) -> None:
        self.backslash = False
        i, n = 0, len(line)
        while i < n:
            if self.string is not None:
                end = line.find(self.string, i)
                while end > 0 and _escaped(line, end):
                    end = line.find(self.string, end + 1)
                if end < 0:
                    return
                i = end + 3
                self.string = None
                continue
            ch = line[i]
            if ch == "#":
                return
            if ch in "([{":
                self.depth += 1
            elif ch in ")]}":
                self.depth = max(0, self.depth - 1)
            elif ch in "'\"":
                triple = line[i:i + 3]
                if triple in ("'''", '"""'):
                    self.string = triple
                    i += 3
                    continue
                end = i + 1
                while end < n and line[end] != ch:
                    end += 2 if line[end] == "\\" else 1
                i = end + 1
                continue
            elif ch == "\\" and i == n - 1:
                self.backslash = True
            i += 1


def _escaped(line: str, pos: int) -> bool:
    backslashes = 0
    while pos - backslashes - 1 >= 0 and line[pos - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 1
