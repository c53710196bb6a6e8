"""Content hashes of many files, in chunks, on every core.

hashlib releases the GIL while it hashes a buffer, so a thread per core keeps every core busy without the
cost of processes; each thread reads into one reusable buffer (no allocation per chunk).
"""

from __future__ import annotations

import contextlib
import hashlib
import mmap
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHUNK = 16 * 1024 * 1024
MMAP_MIN = 1024 * 1024  # smaller files are simply read
_DONTNEED = getattr(mmap, "MADV_DONTNEED", None)


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
    try:
        with job.path.open("rb", buffering=0) as f:
            size = os.fstat(f.fileno()).st_size
            if job.kind == "git-sha1":
                digest = hashlib.sha1(usedforsecurity=False)
                digest.update(b"blob %d\0" % size)  # git's blob header
            else:
                digest = hashlib.sha256()
            if size >= MMAP_MIN and _hash_mapped(f.fileno(), size, digest, progress):
                return HashResult(job, digest.hexdigest(), size)
            view = memoryview(buffer)
            while True:
                n = f.readinto(view)
                if not n:
                    break
                digest.update(view[:n])
                if progress is not None:
                    progress(n)
    except OSError as exc:
        return HashResult(job, None, 0, exc.strerror or str(exc))
    return HashResult(job, digest.hexdigest(), size)


def _hash_mapped(fd: int, size: int, digest: Any, progress: Callable[[int], None] | None) -> bool:
    """Hash straight from the page cache (no copy into a buffer), dropping each chunk's mapping after use
    so resident memory stays at one chunk. False if the file cannot be mapped (then read() is used)."""
    try:
        mapped = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return False
    with mapped:
        view = memoryview(mapped)
        try:
            for start in range(0, size, CHUNK):
                length = min(CHUNK, size - start)
                digest.update(view[start:start + length])
                if _DONTNEED is not None:
                    mapped.madvise(_DONTNEED, start, length)
                if progress is not None:
                    progress(length)
        finally:
            view.release()
    return True


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
