"""Parse Python source with the running interpreter's grammar, tolerating what it does not know.

``ast`` only knows the running Python's grammar (3.11 here): valid 3.12+ code such as PEP 695 ``type X = ...``,
``def f[T](x: T)`` or PEP 701 f-strings (``f"{x["key"]}"``) does not parse. Rather than lose the whole file:

1. PEP 695 forms are rewritten to what 3.11 parses, column for column (the type parameters blanked, a ``type``
   alias statement blanked), so the code around them is still checked;
2. a statement that still fails is skipped: the top-level statement (a whole ``def``/``class`` with its
   decorators, or a whole ``if``/``try`` with its branches) is replaced by blank lines and parsing starts over.

Line numbers never move. What was skipped is returned, so the caller can say so (fail closed); a source in
which nothing parses is a SyntaxError, as before.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

MAX_SKIPS = 200  # a file with more failing statements than this is not Python we can check
PARSE_BUDGET = 40_000_000  # characters parsed in all retries: a 20 MB file gets two, a 100 KB one 200
_CONTINUATION = re.compile(r"(?:else|elif|except|finally)\b")
_TYPE_ALIAS = re.compile(r"^(\s*)type\s+[A-Za-z_]\w*\s*(?:\[[^\]]*\])?\s*=")
_TYPE_PARAMS = re.compile(r"\b(?:def|class)\s+[A-Za-z_]\w*\s*(\[)")


@dataclass(frozen=True)
class Skipped:
    first: int  # 1-based, inclusive
    last: int
    message: str


@dataclass
class Parsed:
    tree: ast.Module
    skipped: list[Skipped] = field(default_factory=list)
    rewritten: bool = False  # newer syntax was rewritten (PEP 695)


def parse(source: str, filename: str = "<source>") -> Parsed:
    """The module's AST, skipping what cannot be parsed. Raises SyntaxError when no statement parses."""
    try:
        return Parsed(ast.parse(source, filename))
    except (SyntaxError, ValueError):
        pass
    lines = source.split("\n")
    rewritten = _rewrite_pep695(lines)
    if rewritten:
        try:
            return Parsed(ast.parse("\n".join(lines), filename), rewritten=True)
        except (SyntaxError, ValueError):
            pass
    starts = _statement_starts(lines)
    skipped: list[Skipped] = []
    first_error: SyntaxError | ValueError | None = None
    for _ in range(max(2, min(MAX_SKIPS, PARSE_BUDGET // max(len(source), 1)))):
        try:
            tree = ast.parse("\n".join(lines), filename)
        except SyntaxError as exc:
            first_error = first_error or exc
            line = min(max(exc.lineno or 1, 1), len(lines))
            message = exc.msg
        except ValueError as exc:  # null bytes
            first_error = first_error or exc
            line = next((i for i, text in enumerate(lines, 1) if "\0" in text), 1)
            message = str(exc)
        else:
            if not any(isinstance(node, ast.stmt) for node in tree.body) and skipped:
                break  # everything that held code was skipped: nothing was checked
            return Parsed(tree, skipped, rewritten)
        begin = max((s for s in starts if s <= line), default=1)
        end = min((s for s in starts if s > line), default=len(lines) + 1)
        if all(not lines[i - 1].strip() for i in range(begin, end)):
            break  # the failing statement is already blank: the error lies elsewhere
        for i in range(begin, end):
            lines[i - 1] = ""
        skipped.append(Skipped(begin, end - 1, message))
    error = first_error if isinstance(first_error, SyntaxError) else SyntaxError(str(first_error or "invalid"))
    raise error


def _rewrite_pep695(lines: list[str]) -> bool:
    """Blank PEP 695 type parameter lists and ``type`` alias statements in place; True when any was found."""
    changed = False
    for i, line in enumerate(lines):
        alias = _TYPE_ALIAS.match(line)
        if alias:  # nothing in a type alias loads a model; ``pass`` keeps an indented block valid
            lines[i] = alias.group(1) + "pass" if alias.group(1) else ""
            changed = True
            continue
        match = _TYPE_PARAMS.search(line)
        if match is None:
            continue
        start = match.start(1)
        depth, end = 0, -1
        for j in range(start, len(line)):
            depth += {"[": 1, "]": -1}.get(line[j], 0)
            if depth == 0:
                end = j
                break
        if end > start and line[end + 1:end + 2] in ("(", ":"):
            lines[i] = line[:start] + " " * (end - start + 1) + line[end + 1:]
            changed = True
    return changed


def _statement_starts(lines: list[str]) -> list[int]:
    """1-based lines where a top-level statement starts (decorators and else/except branches attached)."""
    from mlwarden.notebook import StatementScanner  # the lexer that finds magics at statement starts

    state = StatementScanner()
    starts: list[int] = []
    previous = ""
    for number, line in enumerate(lines, 1):
        stripped = line.lstrip()
        at_start = state.at_statement_start()
        state.feed(line)
        if not at_start or not stripped or stripped.startswith("#") or line[:1] in (" ", "\t"):
            continue
        if _CONTINUATION.match(stripped) or stripped[:1] in ")]}" or previous.startswith("@"):
            previous = stripped
            continue
        starts.append(number)
        previous = stripped
    return starts or [1]
