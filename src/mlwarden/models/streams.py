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


# gzip members are parsed as gzip.GzipFile parses them (its own header reader, then raw deflate): zlib's own gzip
# mode refuses reserved header flags that Python accepts, and Python checks the CRC only after handing out the data.
_ZLIB_WBITS = {"deflate-raw": -15, "zlib": 15, "gzip": -15}
# Formats whose readers go on to a next member/stream after the end of one (gzip.GzipFile, bz2.BZ2File,
# lzma.LZMAFile through _compression.DecompressReader; lz4.frame.LZ4FrameFile the same way; zstandard.open, which
# pandas and joblib use, reads across frames too). A zip member (raw deflate) and joblib's zlib are one stream.
_MULTI = frozenset({"gzip", "bz2", "xz", "lzma", "lz4", "zstd"})
# Readers that end quietly (or after handing out every byte before) at data that does not start a next stream.
_TRAILING_ENDS = frozenset({"bz2", "xz", "lzma", "lz4", "zstd"})
_CHUNK = 1 << 16
_OUT = 1 << 20


class Decompressor:
    """Streams decompressed bytes of ``raw`` (deflate, zlib, gzip, bz2, xz, lzma, lz4, zstd) in bounded pieces,
    reading several members/streams the way Python's readers do.

    Corrupt or truncated data does not raise: the stream ends there (what came before was decompressed, as the
    real loader would have consumed it) and ``error`` says why, so a reader keeps the findings it already has
    and the caller reports the error. Data after the last member that is not a member is ``trailing``:
    ``GzipFile`` raises on it if the consumer reads that far, ``DecompressReader`` ignores it.
    """

    def __init__(self, raw: Readable, kind: str, budget: Budget) -> None:
        self._raw = raw
        self._kind = kind
        self._budget = budget
        self._pending = bytearray()
        self._input = b""
        self._done = False
        self._obj: Any = None
        self._zlib = kind in _ZLIB_WBITS
        self.members = 0
        self.error: str | None = None
        self.trailing: str | None = None
        self._first_of_member = False  # True while a follow-on member has produced nothing yet
        self._at_member_end = False
        self._gzip_header = False  # a gzip member's header is still to be read
        self._new_member()

    def _new_member(self) -> None:
        kind = self._kind
        if kind in _ZLIB_WBITS:
            self._obj = zlib.decompressobj(_ZLIB_WBITS[kind])
            self._gzip_header = kind == "gzip"
        elif kind == "bz2":
            import bz2

            self._obj = bz2.BZ2Decompressor()
        elif kind in ("xz", "lzma"):
            import lzma

            self._obj = lzma.LZMADecompressor(lzma.FORMAT_AUTO)
        elif kind == "lzma-zip":
            self._obj = None  # made from the member's own header on first read (see _take_zip_lzma_header)
        elif kind == "lz4":
            import lz4.frame  # type: ignore[import-untyped,import-not-found,unused-ignore]

            self._obj = lz4.frame.LZ4FrameDecompressor()
        elif kind == "zstd":
            import zstandard  # type: ignore[import-not-found,unused-ignore]

            self._obj = zstandard.ZstdDecompressor().decompressobj()
        else:
            raise ValueError(f"unknown compression {kind}")
        self.members += 1

    def _fill(self, n: int) -> bool:
        """Make at least ``n`` bytes of input available; False at the end of the raw data."""
        while len(self._input) < n:
            chunk = self._raw.read(_CHUNK)
            if not chunk:
                return False
            self._input += chunk
        return True

    def _take_zip_lzma_header(self) -> None:
        """zipfile.LZMADecompressor: 2 version bytes, a 2-byte properties size, the LZMA1 properties, raw data."""
        import lzma

        if not self._fill(4):
            raise EOFError("zip LZMA header is truncated")
        psize = int.from_bytes(self._input[2:4], "little")
        if not self._fill(4 + psize):
            raise EOFError("zip LZMA header is truncated")
        props = self._input[4:4 + psize]
        self._input = self._input[4 + psize:]
        decode: Any = lzma._decode_filter_properties  # type: ignore[attr-defined]  # what zipfile itself calls
        self._obj = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[decode(lzma.FILTER_LZMA1, props)])

    def _take_gzip_header(self) -> None:
        """gzip._read_gzip_header: magic, method 8, flags (reserved bits ignored), optional fields."""
        if not self._fill(10):
            raise EOFError("gzip header is truncated")
        data = self._input
        if data[:2] != b"\x1f\x8b":
            raise OSError(f"not a gzip member ({data[:2]!r})")
        if data[2] != 8:
            raise OSError(f"unknown gzip compression method {data[2]}")
        flags = data[3]
        pos = 10
        if flags & 0x04:  # FEXTRA
            if not self._fill(pos + 2):
                raise EOFError("gzip header is truncated")
            pos += 2 + int.from_bytes(self._input[pos:pos + 2], "little")
        for bit in (0x08, 0x10):  # FNAME, FCOMMENT: zero-terminated
            if flags & bit:
                while True:
                    end = self._input.find(b"\x00", pos)
                    if end >= 0:
                        pos = end + 1
                        break
                    if not self._fill(len(self._input) + 1) or len(self._input) > (64 << 20):
                        raise EOFError("gzip header is truncated")
        if flags & 0x02:  # FHCRC
            pos += 2
        if not self._fill(pos):
            raise EOFError("gzip header is truncated")
        self._input = self._input[pos:]
        self._gzip_header = False

    def _next_member(self) -> None:
        """After the end of one member: start the next one as the real reader would, or finish."""
        if self._kind not in _MULTI:
            if self._input or self._fill(1):
                self.trailing = f"{len(self._input)}+ bytes after the end of the {self._kind} stream"
            self._done = True
            return
        if self._kind == "gzip":
            # gzip._GzipReader skips zero padding between members, then needs the magic or the end of the file
            while True:
                self._input = self._input.lstrip(b"\x00")
                if self._input or not self._fill(1):
                    break
            if not self._input:
                self._done = True
                return
            self._fill(2)
            if self._input[:2] != b"\x1f\x8b":
                self.trailing = "data after the last gzip member is not a gzip member"
                self._done = True
                return
        else:
            if not self._input and not self._fill(1):
                self._done = True
                return
            if self._kind in ("xz", "lzma"):
                # Stream padding (zero bytes) before another xz stream: the xz tool reads on; Python stops. Worst
                # wins: the next stream is read too.
                padded = self._input.lstrip(b"\x00")
                if not padded and not self._fill(len(self._input) + 1):
                    self._done = True
                    return
                self._fill(len(self._input) - len(padded) + 6)
                padded = self._input.lstrip(b"\x00")
                if padded[:6] == b"\xfd7zXZ\x00":
                    self._input = padded
        self._new_member()

    def _step(self) -> None:
        if not self._input and not self._fill(1):
            if self.members and not self._at_member_end:
                self.error = f"{self._kind} data is truncated (no end-of-stream marker)"
            self._done = True
            return
        first = self._first_of_member
        try:
            if self._kind == "lzma-zip" and self._obj is None:
                self._take_zip_lzma_header()
            obj = self._obj
            if self._gzip_header:
                self._take_gzip_header()
                if not self._input and not self._fill(1):
                    self.error = "gzip data is truncated (no end-of-stream marker)"
                    self._done = True
                    return
            if self._zlib:
                out: bytes = obj.decompress(self._input, _OUT)
                self._input = obj.unconsumed_tail
                eof = obj.eof
                unused = obj.unused_data if eof else b""
            elif self._kind in ("lz4", "zstd"):
                out = obj.decompress(self._input)
                self._input = b""
                eof = bool(getattr(obj, "eof", False))
                unused = (getattr(obj, "unused_data", b"") or b"") if eof else b""
            else:
                data, self._input = (self._input, b"") if obj.needs_input else (b"", self._input)
                out = obj.decompress(data, _OUT)
                eof = obj.eof
                unused = obj.unused_data if eof else b""
        except (zlib.error, OSError, EOFError, ValueError, RuntimeError, MemoryError) as exc:
            if first and self._kind in _TRAILING_ENDS:
                self.trailing = f"data after the last {self._kind} stream is not a stream (ignored, as Python does)"
            else:
                self.error = f"{self._kind} data is corrupt: {exc}"
            self._done = True
            return
        except Exception as exc:  # noqa: BLE001 - lzma.LZMAError and third-party decompressor errors
            if first and self._kind in _TRAILING_ENDS:
                self.trailing = f"data after the last {self._kind} stream is not a stream (ignored, as Python does)"
            else:
                self.error = f"{self._kind} data is corrupt: {type(exc).__name__}: {exc}"
            self._done = True
            return
        if out:
            self._first_of_member = False
        self._at_member_end = False
        self._budget.spend(len(out))
        self._pending += out
        if eof:
            self._input = unused + self._input
            if self._kind == "gzip":  # the CRC and size trailer (checked by Python only after the data is out)
                self._fill(8)
                self._input = self._input[8:]
            self._at_member_end = True
            self._first_of_member = False
            self._next_member()
            if not self._done:
                self._at_member_end = False
                self._first_of_member = True

    def read(self, n: int = -1) -> bytes:
        want = (1 << 62) if n < 0 else n
        while len(self._pending) < want and not self._done:
            self._step()
        data = bytes(self._pending[:want])
        del self._pending[:want]
        return data


def read_exact(stream: Readable, n: int) -> bytes:
    """Up to ``n`` bytes: a decompressor or pipe may return fewer per read, so read until ``n`` or the end."""
    parts: list[bytes] = []
    have = 0
    while have < n:
        chunk = stream.read(n - have)
        if not chunk:
            break
        parts.append(chunk)
        have += len(chunk)
    return b"".join(parts)
