"""What the benchmark scripts share: timing a process and recording results."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results.md"


def timed(cmd: list[str], cwd: Path) -> tuple[float, int, str]:
    """(wall seconds, exit code, stdout) of one process."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=cwd)
    return time.perf_counter() - start, proc.returncode, proc.stdout


def advisory_snapshot() -> Path | None:
    """The --db argument (default: the shared PyPA advisory snapshot), or None with a message when absent."""
    import argparse
    import sys

    parser = argparse.ArgumentParser()
    parser.add_argument("--db", type=Path, default=ROOT.parent / "shared" / "advisory-db")
    db: Path = parser.parse_args().db
    if not (db / "vulns").is_dir():
        print(f"no advisory snapshot at {db}; pass --db", file=sys.stderr)
        return None
    return db


def median_of(cmd: list[str], cwd: Path, runs: int) -> tuple[float, int]:
    """(median wall seconds, last exit code) over several runs of one command."""
    import statistics

    results = [timed(cmd, cwd) for _ in range(runs)]
    return statistics.median(r[0] for r in results), results[-1][1]


def record(title: str, lines: list[str]) -> None:
    """Print the lines and append them to benchmarks/results.md under a heading."""
    print("\n".join(lines))
    with RESULTS.open("a") as out:
        out.write(f"\n## {title}\n\n```\n" + "\n".join(lines) + "\n```\n")
