"""Large framed pickles on two cores.

The pickle machine is a pure-Python loop (about 0.25 µs an opcode here), so a 200 MB data pickle with
50 million opcodes takes seconds. Protocol 4+ pickles are cut into FRAMEs whose boundaries are opcode
boundaries. We analyse the first half in full in this process, and meanwhile a forked child checks that
the second half holds only data opcodes (``check_detached_tail``). If it does, nothing in it can import
or call anything, and the first half's analysis is the file's. If it does not, or anything is unclear,
the file is analysed again from the start, sequentially: the shortcut never changes a verdict.
"""

from __future__ import annotations

import os
import struct
import time
from typing import BinaryIO

from mlwarden.models.pickle import Analysis, analyse, check_detached_tail
from mlwarden.models.streams import RangeReader

PARALLEL_MIN_SIZE = 32 * 1024 * 1024


def frame_split(fd: int, size: int) -> int | None:
    """The offset of the FRAME opcode nearest the middle of a framed protocol 4/5 pickle, if any."""
    head = os.pread(fd, 2, 0)
    if len(head) < 2 or head[0] != 0x80 or head[1] < 4:
        return None
    pos, best = 2, None
    middle = size // 2
    while pos + 9 <= size:
        header = os.pread(fd, 9, pos)
        if len(header) < 9 or header[0] != 0x95:
            break
        (length,) = struct.unpack_from("<Q", header, 1)
        if pos > 2 and (best is None or abs(pos - middle) < abs(best - middle)):
            best = pos
        if pos > middle:
            break
        pos += 9 + length
    return best


def analyse_file(f: BinaryIO, size: int, *, max_memo: int, max_stack: int, deadline: float | None) -> Analysis:
    """Analyse a whole seekable pickle file, splitting it across two processes when that is safe."""
    fd = f.fileno()
    split = frame_split(fd, size) if size >= PARALLEL_MIN_SIZE and _can_fork() else None
    if split is None:
        return analyse(RangeReader(fd, 0, size), max_memo=max_memo, max_stack=max_stack,
                       deadline=deadline)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child; its verdict is asserted through the parent
        code = 1
        try:
            os.close(read_end)
            ok = check_detached_tail(RangeReader(fd, split, size - split), deadline=deadline)
            os.write(write_end, b"1" if ok else b"0")
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    try:
        head = analyse(RangeReader(fd, 0, split), max_memo=max_memo, max_stack=max_stack,
                       deadline=deadline)
        verdict = os.read(read_end, 1)
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)
    last = head.problems[-1] if head.problems else None
    cut_at_split = (last is not None and last.kind == "unparsable" and last.offset == split
                    and "without STOP" in last.message)
    if verdict == b"1" and cut_at_split:
        head.problems.pop()
        head.pickles += 1
        return head
    remaining = None if deadline is None else max(deadline - time.monotonic(), 0.0)
    return analyse(RangeReader(fd, 0, size), max_memo=max_memo, max_stack=max_stack,
                   deadline=None if remaining is None else time.monotonic() + remaining)


def _can_fork() -> bool:
    return hasattr(os, "fork") and (os.cpu_count() or 1) > 1
