"""The plug-in interface of the model scanner: a format is a sniff and a scan over a Blob, reporting to a Scan.

A format module exposes ``FORMAT = Format(...)`` (or ``FORMATS``) and is listed once in
``mlwarden.models.formats.FORMATS``. The router (``models/scanner.py``) tries EVERY format whose sniff answers
yes (a file that parses as two formats is scanned as both), hands it a Blob (spooled to a seekable file first
when ``seekable``), and turns a reader's exceptions into findings on that blob.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO, Protocol

if TYPE_CHECKING:
    from mlwarden.config import Budgets
    from mlwarden.findings import Finding, Severity
    from mlwarden.models.streams import Budget, Readable


class StopScan(Exception):
    """A budget ran out: the rest of the file is not scanned (the MW107 finding is already recorded). Readers that
    catch broad exceptions must re-raise it (and streams.BudgetExceeded)."""


@dataclass
class Blob:
    """One piece of content: the top-level file, an archive member, decompressed data, a nested pickle.

    ``file`` is a BinaryIO positioned at 0 (seekable when the format asked for it, otherwise only ``read`` may
    be used). ``size`` is None when unknown (a stream). ``name`` is the file name or member path (for name-based
    sniffing), ``member`` the label findings carry (None for the top-level file itself). ``head`` holds the
    first HEAD_SIZE bytes (already read; ``file`` still starts at 0)."""

    file: BinaryIO
    size: int | None
    name: str
    member: str | None
    head: bytes = b""
    path: str | None = None  # the file on disk when the blob is a whole file (lets readers look beside it)


class Scan(Protocol):
    """What a format's scan reports to. Implemented by the router's per-file scan context."""

    budget: Budget  # decompressed bytes for the whole top-level file: ``budget.spend(n)`` raises BudgetExceeded
    budgets: Budgets  # the configured limits (depth, members, memo, stack, time)
    deadline: float  # time.monotonic() value after which the file's scan must stop
    safe: frozenset[str]  # the pickle safe list (defaults + policy)

    @property
    def formats(self) -> list[str]:
        """Format names seen, for the report and the SBOM (append to it)."""

    @property
    def found(self) -> int:
        """How many findings the file has so far (a reader compares before and after a nested scan)."""

    def add(self, rule_id: str, member: str | None, message: str, key: str, severity: Severity | None = None,
            evidence: str = "") -> None:
        """Record a finding of ``rule_id`` at ``member`` (None = the file itself)."""

    display: str  # the top-level file as shown in findings
    pickles: list[tuple[str, bytes]] | None  # when not None, pickle readers append (member, bytes) for `explain`

    def nested(self, data: bytes | Readable, member: str | None, *, name: str = "", as_format: str | None = None,
               ) -> None:
        """Route embedded content (bytes or a stream, read from its current position) through every matching
        format, one level deeper. ``name`` is its member path (for name-based sniffs); ``as_format`` forces one
        format (numpy's object arrays ARE pickles, whatever a sniff says)."""

    def add_findings(self, findings: list[Finding]) -> None:
        """Record findings built elsewhere (the pickle classifier)."""

    def unverified(self, member: str | None, why: str, key: str) -> None:
        """Fail closed: content that could not be fully read (MW112 at high, "could not be verified: why")."""

    def count_members(self, count: int, member: str | None) -> None:
        """Spend ``count`` of the archive-member budget; stops the file's scan (MW107) when it runs out."""

    def check_time(self, member: str | None) -> None:
        """Stop the file's scan (MW107) when its time budget is spent."""


@dataclass(frozen=True)
class Format:
    """One format: how to recognise it and how to scan it.

    ``sniff(head, name, size)``: whether the content may be this format (from its first bytes, its file or
    member name, and its size when known). Sniffs must be cheap and must not read beyond ``head``.
    ``scan(blob, scan)``: read the blob and report; raise nothing on bad content (a raised exception becomes a
    fail-closed finding on the blob). ``seekable``: the scan needs ``blob.file.seek``/``size`` (streams are
    spooled). ``names``: file-name patterns (fnmatch, lower case) that mean "this should be this format": such a
    file that no format can read is reported as not verified instead of being skipped."""

    name: str
    sniff: Callable[[bytes, str, int | None], bool]
    scan: Callable[[Blob, Scan], None]
    seekable: bool = False
    names: tuple[str, ...] = field(default=())
