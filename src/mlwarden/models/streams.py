"""Byte streams for the scanner: views into a file, and decompressors with a size budget."""

from __future__ import annotations

import os
import zlib
from typing import Any, BinaryIO, Protocol


class BudgetExceeded(Exception):
    """A decompression produced more bytes than the scan allows."""


class Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


class RangeReader:
    """Reads ``length`` bytes of a file from ``start``. Each read says where it starts (seek then read, or
    pread on a descriptor), so several views, or several processes, can share one file."""

    def __init__(self, f: BinaryIO | int, start: int, length: int) -> None:
        self._f = f
        self._pos = start
        self._end = start + max(length, 0)

    def _read_at(self, pos: int, n: int) -> bytes:
        if isinstance(self._f, int):
            return os.pread(self._f, n, pos)
        self._f.seek(pos)
        return self._f.read(n)

    def read(self, n: int = -1) -> bytes:
        left = self._end - self._pos
        if n < 0 or n > left:
            n = left
        if n <= 0:
            return b""
        data = self._read_at(self._pos, n)
        self._pos += len(data)
        if not data:
            self._end = self._pos
        return data


class Budget:
    """A shared count of decompressed bytes for one top-level file."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def spend(self, n: int) -> None:
        self.used += n
        if self.used > self.limit:
            raise BudgetExceeded(f"decompressed more than {self.limit} bytes")


_ZLIB_WBITS = {"deflate-raw": -15, "zlib": 15, "gzip": 31}


class Decompressor:
    """Streams decompressed bytes of ``raw`` (deflate, zlib, gzip, bz2, xz, lzma) in bounded pieces."""

    def __init__(self, raw: Readable, kind: str, budget: Budget) -> None:
        self._raw = raw
        self._kind = kind
        self._budget = budget
        self._pending = bytearray()
        self._input = b""
        self._done = False
        self._zlib: Any = None
        self._other: Any = None  # bz2.BZ2Decompressor or lzma.LZMADecompressor, imported on use
        self._errors: tuple[type[Exception], ...] = (zlib.error, OSError, EOFError, ValueError)
        self._restart()

    def _restart(self) -> None:
        if self._kind in _ZLIB_WBITS:
            self._zlib = zlib.decompressobj(_ZLIB_WBITS[self._kind])
        elif self._kind == "bz2":
            import bz2

            self._other = bz2.BZ2Decompressor()
        elif self._kind in ("xz", "lzma"):
            import lzma

            self._other = lzma.LZMADecompressor(lzma.FORMAT_AUTO)
            self._errors = (*self._errors, lzma.LZMAError)
        else:
            raise ValueError(f"unknown compression {self._kind}")

    def _step(self) -> None:
        if not self._input:
            self._input = self._raw.read(1 << 16)
            if not self._input:
                self._done = True
                return
        if self._zlib is not None:
            obj = self._zlib
            out: bytes = obj.decompress(self._input, 1 << 20)
            self._input = obj.unconsumed_tail
            if obj.eof:
                rest = obj.unused_data + self._input
                self._input = rest
                if self._kind == "gzip" and rest[:2] == b"\x1f\x8b":
                    self._restart()  # a multi-member gzip file continues
                else:
                    self._done = True
        else:
            other = self._other
            assert other is not None
            out = other.decompress(self._input, 1 << 20)
            self._input = b""
            if other.eof:
                rest = other.unused_data
                if self._kind == "bz2" and rest[:3] == b"BZh":
                    self._restart()
                    self._input = rest
                else:
                    self._done = True
            elif not other.needs_input:
                out += other.decompress(b"", 1 << 20)  # more output is pending inside the decompressor
        self._budget.spend(len(out))
        self._pending += out

    def read(self, n: int = -1) -> bytes:
        want = (1 << 62) if n < 0 else n
        try:
            while len(self._pending) < want and not self._done:
                self._step()
        except self._errors as exc:
            raise OSError(f"{self._kind} data is corrupt: {exc}") from None
        data = bytes(self._pending[:want])
        del self._pending[:want]
        return data
