"""Content hashes of many files, in chunks, on every core.

hashlib releases the GIL while it hashes a buffer, so a thread per core keeps every core busy without the
cost of processes; each thread reads into one reusable buffer (no allocation per chunk).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from mlwarden.safeload import file_kind

CHUNK = 16 * 1024 * 1024


@dataclass(frozen=True)
class HashJob:
    path: Path
    kind: str  # "sha256" or "git-sha1"


@dataclass(frozen=True)
class HashResult:
    job: HashJob
    digest: str | None
    size: int
    error: str | None = None


def hash_file(job: HashJob, buffer: bytearray, progress: Callable[[int], None] | None = None) -> HashResult:
    """Hash one file with read() into ``buffer``. Never mmap: a blob truncated while it is hashed would raise
    SIGBUS on the mapped pages and kill the process; read() just returns fewer bytes, which is reported.
    A FIFO, device or socket is refused on its ``fstat`` after a non-blocking open, so it cannot hang."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        mode = os.stat(job.path).st_mode
        if not stat.S_ISREG(mode):
            return HashResult(job, None, 0, f"{file_kind(mode)}, not opened")
        fd = os.open(job.path, flags)
    except OSError as exc:
        return HashResult(job, None, 0, exc.strerror or str(exc))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):  # swapped after the stat above
            return HashResult(job, None, 0, f"{file_kind(info.st_mode)}, not opened")
        size = info.st_size
        if job.kind == "git-sha1":
            digest = hashlib.sha1(usedforsecurity=False)
            digest.update(b"blob %d\0" % size)  # git's blob header
        else:
            digest = hashlib.sha256()
        view = memoryview(buffer)
        done = 0
        while True:
            n = os.readv(fd, [view])
            if not n:
                break
            digest.update(view[:n])
            done += n
            if progress is not None:
                progress(n)
            if done > size:
                break
        if done != size or os.fstat(fd).st_size != size:
            return HashResult(job, None, done, f"changed while being hashed ({size:,} bytes, then {done:,} read)")
    except OSError as exc:
        return HashResult(job, None, 0, exc.strerror or str(exc))
    finally:
        os.close(fd)
    return HashResult(job, digest.hexdigest(), size)


class _Progress:
    """A one-line progress report on stderr, only when stderr is a terminal."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total = total
        self.done = 0
        self.enabled = enabled
        self.lock = threading.Lock()
        self.last = 0.0

    def __call__(self, n: int) -> None:
        if not self.enabled:
            return
        with self.lock:
            self.done += n
            now = time.monotonic()
            if now - self.last > 0.2:
                self.last = now
                pct = 100 * self.done / self.total if self.total else 100
                sys.stderr.write(f"\rhashing {self.done / 1e6:,.0f} / {self.total / 1e6:,.0f} MB ({pct:.0f}%)")
                sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\r" + " " * 60 + "\r")
            sys.stderr.flush()


def hash_files(jobs: Iterable[HashJob], *, workers: int | None = None,
               progress: bool | None = None) -> dict[Path, HashResult]:
    job_list = list(jobs)
    if not job_list:
        return {}
    total = 0
    for job in job_list:
        with contextlib.suppress(OSError):
            total += job.path.stat().st_size
    show = sys.stderr.isatty() if progress is None else progress
    bar = _Progress(total, show)
    workers = workers or max(os.cpu_count() or 1, 1)
    local = threading.local()

    def run(job: HashJob) -> HashResult:
        buffer = getattr(local, "buffer", None)
        if buffer is None:
            buffer = local.buffer = bytearray(CHUNK)
        return hash_file(job, buffer, bar)

    # Largest first, so one big file does not start last and leave a core idle at the end.
    ordered = sorted(job_list, key=_size, reverse=True)
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(run, ordered))
    finally:
        bar.close()
    return {r.job.path: r for r in results}


def _size(job: HashJob) -> int:
    try:
        return job.path.stat().st_size
    except OSError:
        return 0
