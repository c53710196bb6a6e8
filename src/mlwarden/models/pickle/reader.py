"""The byte buffer under the pickle machine: reads its stream sequentially, in chunks, never seeking."""

from __future__ import annotations

import time

from mlwarden.models.pickle.memo import Budget, Parse
from mlwarden.models.pickle.opcodes import VALID_OPCODES, LiteralError
from mlwarden.models.pickle.values import OTHER
from mlwarden.models.streams import Readable

KEEP_STR = 512  # strings up to this length are kept: they may name a module or attribute
KEEP_BYTES = 4096
KEEP_LARGE_TOTAL = 256 * 1024 * 1024  # larger payloads kept (for nested scanning) per stream, at most
_LINE_LIMIT = 1 << 20  # text arguments longer than this are skipped to their newline, not kept


class LongLine(bytes):
    """A text argument that was too long to keep: only its first bytes, the rest was skipped."""


class Reader:
    def __init__(self, stream: Readable, deadline: float | None) -> None:
        self.stream = stream
        self.deadline = deadline
        self.buf = b""
        self.pos = 0
        self.consumed = 0  # bytes of the stream before buf[0]
        self.eof = False
        self.kept_large = 0

    def offset(self) -> int:
        return self.consumed + self.pos

    def _fill(self, need: int) -> bool:
        """Make ``need`` bytes available at ``pos``; False at end of stream."""
        buf, pos = self.buf, self.pos
        if len(buf) - pos >= need:
            return True
        if self.eof:
            return False
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise Budget("time budget per file exceeded")
        parts = [buf[pos:]]
        have = len(buf) - pos
        while have < need:
            chunk = self.stream.read(max(need - have, 1 << 20))
            if not chunk:
                self.eof = True
                break
            parts.append(chunk)
            have += len(chunk)
        self.consumed += pos
        self.buf = b"".join(parts)
        self.pos = 0
        return len(self.buf) >= need

    def _take(self, n: int) -> bytes:
        if not self._fill(n):
            raise Parse("pickle is truncated")
        data = self.buf[self.pos:self.pos + n]
        self.pos += n
        return data

    def _skip(self, n: int) -> None:
        """Skip n bytes without keeping them (array buffers, large strings)."""
        avail = len(self.buf) - self.pos
        if n <= avail:
            self.pos += n
            return
        n -= avail
        self.consumed += len(self.buf)
        self.buf, self.pos = b"", 0
        while n > 0:
            if self.deadline is not None and time.monotonic() > self.deadline:
                raise Budget("time budget per file exceeded")
            chunk = self.stream.read(min(n, 1 << 22))
            if not chunk:
                self.eof = True
                raise Parse("pickle is truncated")
            n -= len(chunk)
            self.consumed += len(chunk)

    def _line(self) -> bytes:
        """A newline-terminated argument without its newline. The loader has no length limit, so neither
        do we: a line over 1 MiB is skipped to its end and returned as a LongLine of its first bytes."""
        while True:
            end = self.buf.find(b"\n", self.pos)
            if end >= 0:
                line = self.buf[self.pos:end]
                self.pos = end + 1
                return line
            if len(self.buf) - self.pos > _LINE_LIMIT:
                return self._long_line()
            if not self._fill(len(self.buf) - self.pos + 1):
                raise Parse("pickle is truncated inside a text argument")

    def _long_line(self) -> LongLine:
        head = LongLine(self.buf[self.pos:self.pos + KEEP_STR])
        while True:
            end = self.buf.find(b"\n", self.pos)
            if end >= 0:
                self.pos = end + 1
                return head
            self.consumed += len(self.buf)
            self.buf, self.pos = b"", 0
            if not self._fill(1):
                raise Parse("pickle is truncated inside a text argument")

    def _payload(self, n: int, *, text: bool) -> object:
        """A length-prefixed string or bytes argument: kept if small or a possible nested payload."""
        if n < 0:
            raise Parse("negative length")
        if n <= (KEEP_STR if text else KEEP_BYTES):
            return _decoded(self._take(n), text)
        if not self._fill(1):
            raise Parse("pickle is truncated")
        if self.buf[self.pos] in VALID_OPCODES and self.kept_large + n <= KEEP_LARGE_TOTAL:
            self.kept_large += n
            return _decoded(self._take(n), text)
        self._skip(n)
        return OTHER

    def _keep_text(self, size: int) -> bool:
        """Whether a long text argument (STRING, UNICODE) already read is kept as a possible payload."""
        if size <= KEEP_STR:
            return True
        if self.kept_large + size <= KEEP_LARGE_TOTAL:
            self.kept_large += size
            return True
        return False


def _decoded(data: bytes, text: bool) -> object:
    if not text:
        return data
    try:
        return data.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        raise Parse("invalid UTF-8 in a string") from None


__all__ = ["KEEP_STR", "LiteralError", "LongLine", "Reader"]
