"""Benchmark: `mlwarden hf verify` on a 2 GB cache against the hashing limit (hashlib.sha256, per core).

Usage: .venv/bin/python benchmarks/hf_verify.py

Builds benchmarks/_work/hf-cache (git-ignored): one model repository with eight 256 MB LFS blobs, named by
their sha256, linked from a snapshot, as huggingface_hub lays them out. The files are read once so that
every measurement reads from the page cache. Then, in one run:
- the limit: hashlib.sha256 over the same bytes in one thread (one core), in GB/s;
- mlwarden hf verify as its own process: wall time, GB/s, and CPU time / wall time (cores used).
The ratio reported is mlwarden's rate / (cores x the one-core limit); the target is at least 0.8.
Results are appended to benchmarks/results.md.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "benchmarks" / "_work" / "hf-cache"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
FILES, SIZE = 8, 256 * 1024 * 1024
CHUNK = 4 * 1024 * 1024


def build() -> list[Path]:
    repo = CACHE / "models--bench--big"
    blobs = repo / "blobs"
    snapshot = repo / "snapshots" / COMMIT
    if snapshot.is_dir() and len(list(blobs.iterdir())) == FILES:
        return sorted(blobs.iterdir())
    blobs.mkdir(parents=True, exist_ok=True)
    snapshot.mkdir(parents=True, exist_ok=True)
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(COMMIT)
    for i in range(FILES):
        tmp = blobs / f"tmp{i}"
        digest = hashlib.sha256()
        with tmp.open("wb") as f:
            for _ in range(SIZE // CHUNK):
                chunk = os.urandom(CHUNK)
                digest.update(chunk)
                f.write(chunk)
        name = digest.hexdigest()
        tmp.rename(blobs / name)
        os.symlink(f"../../blobs/{name}", snapshot / f"model-{i:05d}-of-{FILES:05d}.safetensors")
    return sorted(blobs.iterdir())


def warm(paths: list[Path]) -> None:
    buffer = bytearray(CHUNK)
    for path in paths:
        with path.open("rb", buffering=0) as f:
            while f.readinto(buffer):
                pass


def limit(paths: list[Path]) -> float:
    """Bytes per second of hashlib.sha256 in one thread over the same files."""
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    total = 0
    start = time.perf_counter()
    for path in paths:
        digest = hashlib.sha256()
        with path.open("rb", buffering=0) as f:
            while n := f.readinto(view):
                digest.update(view[:n])
                total += n
    return total / (time.perf_counter() - start)


def mlwarden(total: int) -> tuple[float, float, int]:
    """(bytes per second, CPU seconds / wall seconds, exit code) of `mlwarden hf verify`."""
    exe = Path(sys.executable).parent / "mlwarden"
    start = time.perf_counter()
    proc = subprocess.Popen([str(exe), "hf", "verify", str(CACHE), "--format", "json", "-o", os.devnull],
                            stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    return total / wall, (usage.ru_utime + usage.ru_stime) / wall, os.waitstatus_to_exitcode(status)


def main() -> int:
    paths = build()
    total = sum(p.stat().st_size for p in paths)
    warm(paths)
    cores = os.cpu_count() or 1
    one_core = max(limit(paths), limit(paths))
    runs = [mlwarden(total) for _ in range(3)]
    rate, used, code = max(runs)
    ratio = rate / (cores * one_core)
    lines = [
        f"hf verify, {total / 1e9:.2f} GB in {FILES} files, {cores} cores:",
        f"  hashlib.sha256, one core:      {one_core / 1e9:.2f} GB/s",
        f"  mlwarden hf verify:            {rate / 1e9:.2f} GB/s (exit {code}), {used:.2f} cores busy",
        f"  ratio to {cores} x one-core limit:  {ratio:.2f} (target >= 0.80)",
    ]
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from common import record  # type: ignore[import-not-found]

    record("hf verify (benchmarks/hf_verify.py)", lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
