"""The model-file scanner: routes every blob (a file, an archive member, decompressed or nested content) to
EVERY format in the table (models/formats) whose sniff matches, within budgets, and fails closed.

- A blob that parses as several formats is scanned as each (a pickle whose first bytes also look like GGUF, a
  tar header or a safetensors header is still scanned as a pickle). When one interpretation reads cleanly, the
  "cannot be read" findings of interpretations that found nothing else are dropped: their loader fails before
  doing anything. Everything else is kept, so the worst interpretation wins.
- A blob named like a model (Format.names) that no format recognises is reported as not verified.
- A reader's exception is a finding on that blob; it never stops the scan or drops other findings.
- Budgets (depth, members, decompressed bytes, time) reached are MW107 findings.
"""

from __future__ import annotations

import fnmatch
import io
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from mlwarden.config import Budgets
from mlwarden.findings import Finding, Location, ScanError, Severity
from mlwarden.models.classify import default_safe_globals
from mlwarden.models.formats import BY_NAME, FORMATS, SELF_REPORTING, Blob, Format, StopScan, matching, zip_
from mlwarden.models.streams import Budget, BudgetExceeded, Readable, read_exact
from mlwarden.rules import (
    FORMAT_NOT_INSPECTED,
    PICKLE_UNPARSABLE,
    SAFETENSORS_MALFORMED,
    SCAN_BUDGET_EXCEEDED,
    make_finding,
)

HEAD_SIZE = 4096
_SPOOL_IN_MEMORY = 64 * 1024 * 1024
_UNREADABLE = frozenset({PICKLE_UNPARSABLE, SAFETENSORS_MALFORMED, FORMAT_NOT_INSPECTED})
_REPORT_ONLY = frozenset({"executable"})
# Formats recognised by a probe or a loose signature rather than magic bytes (see _drop_harmless_failures).
_WEAK_SNIFFS = frozenset({"pickle", "safetensors"})  # formats that report on content without reading it
_PATH_LINE = re.compile(r"[\w./\\:~ -]+")
_NAME_PATTERNS: tuple[tuple[str, str], ...] = tuple((pattern, fmt.name) for fmt in FORMATS for pattern in fmt.names)


@dataclass
class FileResult:
    findings: list[Finding] = field(default_factory=list)
    formats: list[str] = field(default_factory=list)
    error: ScanError | None = None


@dataclass
class _Context:
    """One top-level file's scan: the ``Scan`` that format readers report to."""

    display: str
    budgets: Budgets
    safe: frozenset[str]
    budget: Budget
    deadline: float
    result: FileResult
    members: int = 0
    depth: int = 0
    pickles: list[tuple[str, bytes]] | None = None  # filled for `explain`
    path: Path | None = None  # the file on disk

    @property
    def formats(self) -> list[str]:
        return self.result.formats

    @property
    def found(self) -> int:
        return len(self.result.findings)

    def add(self, rule_id: str, member: str | None, message: str, key: str, severity: Severity | None = None,
            evidence: str = "") -> None:
        self.result.findings.append(make_finding(rule_id, Location(self.display, member=member), message, key,
                                                 severity=severity, evidence=evidence))

    def add_findings(self, findings: list[Finding]) -> None:
        self.result.findings.extend(findings)

    def unverified(self, member: str | None, why: str, key: str) -> None:
        self.add(FORMAT_NOT_INSPECTED, member, f"could not be verified: {why}", key, severity=Severity.HIGH)

    def count_members(self, count: int, member: str | None) -> None:
        self.members += count
        if self.members > self.budgets.max_members:
            self.add(
                SCAN_BUDGET_EXCEEDED, member, f"more than {self.budgets.max_members} archive members", "budget:members"
            )
            raise StopScan

    def check_time(self, member: str | None) -> None:
        if time.monotonic() > self.deadline:
            self.add(SCAN_BUDGET_EXCEEDED, member, "time budget per file exceeded", "budget:time")
            raise StopScan

    def nested(
        self, data: bytes | Readable, member: str | None, *, name: str = "", as_format: str | None = None
    ) -> None:
        if self.depth + 1 > self.budgets.max_depth:
            self.add(
                SCAN_BUDGET_EXCEEDED,
                member,
                f"containers nested deeper than {self.budgets.max_depth} levels",
                "budget:depth",
            )
            return
        self.depth += 1
        try:
            if isinstance(data, (bytes, bytearray, memoryview)):
                raw = bytes(data)
                _route(io.BytesIO(raw), len(raw), name, member, self, as_format=as_format)
            else:
                _route_stream(data, name, member, self, as_format=as_format)
        finally:
            self.depth -= 1


def _name_says(name: str) -> str | None:
    """The format a file's name promises: patterns match the base name, or the whole path when they hold '/'."""
    path = name.replace("\\", "/").lower()
    base = path.rsplit("/", 1)[-1]
    return next(
        (fmt for pattern, fmt in _NAME_PATTERNS if fnmatch.fnmatchcase(path if "/" in pattern else base, pattern)), None
    )


def is_model_candidate(path: Path) -> bool:
    """Whether a file's bytes (or, failing that, its name) make it something the model scanner should examine."""
    if _name_says(str(path)):
        return True
    try:
        with path.open("rb") as f:
            head = f.read(HEAD_SIZE)
            size = path.stat().st_size
            # A program on its own is not a model (the executable format matters only inside a model archive).
            formats = [fmt for fmt in matching(head, str(path), size) if fmt.name != "executable"]
            return bool(formats) or zip_.ends_like_zip(f, size)
    except OSError:
        return False


def scan_model_file(
    path: Path,
    display: str | None = None,
    *,
    budgets: Budgets | None = None,
    extra_safe: frozenset[str] = frozenset(),
    collect_pickles: bool = False,
) -> tuple[FileResult, list[tuple[str, bytes]]]:
    """Scan one file. Never raises for bad content: problems are findings; unreadable files an error."""
    budgets = budgets or Budgets()
    result = FileResult()
    ctx = _Context(
        display=display or str(path),
        budgets=budgets,
        safe=default_safe_globals() | extra_safe,
        budget=Budget(budgets.max_decompressed_bytes),
        deadline=time.monotonic() + budgets.max_seconds_per_file,
        result=result,
        pickles=[] if collect_pickles else None,
        path=path,
    )
    try:
        f = path.open("rb")
    except OSError as exc:
        result.error = ScanError(ctx.display, f"cannot read: {exc.strerror or exc}")
        return result, []
    with f:
        try:
            _route(f, path.stat().st_size, str(path), None, ctx)  # the path: some formats live in fixed folders
        except StopScan:
            pass
        except OSError as exc:
            result.error = ScanError(ctx.display, f"cannot read: {exc}")
        except Exception as exc:  # noqa: BLE001 - never let one file's internal error stop or empty the run
            ctx.unverified(None, f"internal error while scanning: {type(exc).__name__}: {exc}", "internal-error")
    return result, ctx.pickles or []


def _route_stream(
    stream: Readable, name: str, member: str | None, ctx: _Context, *, as_format: str | None = None
) -> None:
    """Route a non-seekable stream: one streaming format reads it as it comes; several interpretations, or a
    format that needs random access, get a spooled copy."""
    head = read_exact(stream, HEAD_SIZE)
    size = len(head) if len(head) < HEAD_SIZE else None
    formats = [BY_NAME[as_format]] if as_format else matching(head, name, size)
    if len(formats) == 1 and not formats[0].seekable:
        _interpret(formats, _Prefixed(head, stream), size, name, member, head, ctx, seekable=False)
        return
    if all(fmt.name in _REPORT_ONLY for fmt in formats):
        _nothing_matched(head, name, member, ctx)
        if not formats:
            return
    with _spooled(head, stream, ctx, member) as (f, total):
        _route(f, total, name, member, ctx, as_format=as_format, head=head)


def _route(
    f: BinaryIO,
    size: int,
    name: str,
    member: str | None,
    ctx: _Context,
    *,
    as_format: str | None = None,
    head: bytes | None = None,
) -> None:
    """Route a seekable blob of known size."""
    if head is None:
        f.seek(0)
        head = f.read(HEAD_SIZE)
    formats = [BY_NAME[as_format]] if as_format else matching(head, name, size)
    weak = _WEAK_SNIFFS
    if not as_format and zip_.FORMAT not in formats and zip_.ends_like_zip(f, size):
        formats.insert(0, zip_.FORMAT)  # data before a zip (self-extracting, a pickle with a zip appended)
        weak = weak | {zip_.FORMAT.name}  # a signature in the tail may be chance in binary data
    if all(fmt.name in _REPORT_ONLY for fmt in formats):
        _nothing_matched(head, name, member, ctx)  # an ELF named pytorch_model.bin is still not a model we read
        if not formats:
            return
    _interpret(formats, f, size, name, member, head, ctx, seekable=True, weak=weak)


def _site_path_file(head: bytes, name: str) -> bool:
    """A Python path configuration file (site's *.pth: folders and `import` lines), not a torch .pth."""
    if not name.lower().endswith(".pth") or b"\x00" in head:
        return False
    try:
        lines = head.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        return False
    return all(
        not line.strip() or line.startswith(("#", "import ", "import\t")) or _PATH_LINE.fullmatch(line)
        for line in lines[:50]
    )


def _nothing_matched(head: bytes, name: str, member: str | None, ctx: _Context) -> None:
    expected = _name_says(name)
    if not expected or not head.strip(b"\x00 \t\r\n") or _site_path_file(head, name):
        return
    from mlwarden.models.formats.archive_names import executable_kind

    if expected == "pickle" and not executable_kind(head) and _rejected_before_anything_runs(head):
        # Read as the loader reads: pickle.load (and torch.load's legacy path; a zip or tar would have matched
        # above) stops at the first byte it cannot use, and nothing before it imported or called anything.
        ctx.add(
            FORMAT_NOT_INSPECTED,
            member,
            "named like a pickle file, but pickle.load and torch.load reject it before "
            "anything runs (no import, no call before the first invalid opcode): not a model",
            "not-a-pickle",
            severity=Severity.LOW,
        )
        return
    ctx.unverified(
        member,
        f"named like a {expected} file but its content is not a format mlwarden reads",
        f"unrecognised:{expected}",
    )


def _rejected_before_anything_runs(head: bytes) -> bool:
    """Whether the opcode stream breaks, within the bytes seen, before any import, call or completed pickle
    (what the loader does before raising is then nothing)."""
    from mlwarden.models.pickle import analyse

    analysis = analyse(io.BytesIO(head), max_pickles=1)
    return (
        not analysis.globals
        and not analysis.pickles
        and not analysis.nested
        and any(problem.kind == "unparsable" for problem in analysis.problems)
    )


def _interpret(
    formats: list[Format],
    f: Readable,
    size: int | None,
    name: str,
    member: str | None,
    head: bytes,
    ctx: _Context,
    *,
    seekable: bool,
    weak: frozenset[str] = frozenset(),
) -> None:
    """Scan the blob as each format in turn; the worst wins (see the module docstring)."""
    slices: list[tuple[Format, int, int]] = []
    for fmt in formats:
        if seekable:
            f.seek(0)  # type: ignore[attr-defined]
        if fmt.name not in SELF_REPORTING:
            ctx.result.formats.append(fmt.name)
        start = len(ctx.result.findings)
        on_disk = str(ctx.path) if member is None and ctx.depth == 0 and ctx.path is not None else None
        blob = Blob(file=f, size=size, name=name, member=member, head=head, path=on_disk)  # type: ignore[arg-type]
        _guarded(fmt, blob, ctx)
        slices.append((fmt, start, len(ctx.result.findings)))
    if len(slices) > 1:
        _drop_harmless_failures(slices, ctx, weak or _WEAK_SNIFFS)


def _guarded(fmt: Format, blob: Blob, ctx: _Context) -> None:
    try:
        fmt.scan(blob, ctx)
    except StopScan:
        raise
    except BudgetExceeded as exc:
        ctx.add(SCAN_BUDGET_EXCEEDED, blob.member, str(exc), "budget:decompressed")
        raise StopScan from None
    except RecursionError:
        ctx.unverified(blob.member, f"{fmt.name} structure nested too deeply to read", f"recursion:{fmt.name}")
    except Exception as exc:  # noqa: BLE001 - a reader's failure is a finding on this blob, never a crash
        ctx.unverified(
            blob.member, f"{fmt.name} reader failed: {type(exc).__name__}: {exc}", f"reader-error:{fmt.name}"
        )


def _drop_harmless_failures(slices: list[tuple[Format, int, int]], ctx: _Context, weak: frozenset[str]) -> None:
    """Drop the "cannot be read" findings of a weakly sniffed interpretation (a probe or a chance signature)
    that found nothing else, when another interpretation read the blob cleanly: benign files whose bytes
    happen to look like a pickle or a safetensors header stay quiet. Strong magic always keeps its failures."""
    findings = ctx.result.findings

    def unreadable(finding: Finding) -> bool:
        # a reader's own crash is our bug, not the loader failing: it is never dropped
        return (
            finding.rule in _UNREADABLE
            and finding.severity >= Severity.HIGH
            and not finding.key.startswith(("reader-error:", "recursion:"))
        )

    clean = any(fmt.name not in _REPORT_ONLY and not any(unreadable(x) for x in findings[a:b]) for fmt, a, b in slices)
    if not clean:
        return
    drop: set[int] = set()
    for fmt, a, b in slices:
        if fmt.name in weak and a < b and all(unreadable(x) for x in findings[a:b]):
            drop.update(range(a, b))
    if drop:
        ctx.result.findings[:] = [x for i, x in enumerate(findings) if i not in drop]


class _Prefixed:
    """A stream whose first bytes were already read for sniffing."""

    def __init__(self, head: bytes, rest: Readable) -> None:
        self._head = head
        self._rest = rest

    def read(self, n: int = -1) -> bytes:
        if self._head:
            if n < 0:
                data, self._head = self._head + self._rest.read(), b""
                return data
            data, self._head = self._head[:n], self._head[n:]
            if len(data) < n:
                data += self._rest.read(n - len(data))
            return data
        return self._rest.read(n)


@contextmanager
def _spooled(head: bytes, stream: Readable, ctx: _Context, member: str | None) -> Iterator[tuple[BinaryIO, int]]:
    """A seekable copy of a stream (in memory up to 64 MiB, then on disk); the decompression budget bounds it."""
    import tempfile  # imports shutil, bz2, lzma: only when a stream needs spooling (hooks start light)

    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY) as tmp:
        tmp.write(head)
        size = len(head)
        while True:
            chunk = stream.read(1 << 20)
            if not chunk:
                break
            size += len(chunk)
            tmp.write(chunk)
            ctx.check_time(member)
        tmp.seek(0)
        yield tmp, size  # type: ignore[misc]
