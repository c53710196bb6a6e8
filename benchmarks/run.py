"""Benchmarks: mlwarden against picklescan and modelscan, side by side, on generated files.

Usage (from the repository root, after `bash scripts/test.sh` has built .venv):

    .venv/bin/python benchmarks/run.py            # all three benchmarks
    .venv/bin/python benchmarks/run.py --quick    # skip the anchors' 200 MB runs (minutes each)

It builds benchmarks/_work/ (git-ignored): a 1 GB torch checkpoint, a ~200 MB protocol-4 pickle of
4.2 million small dicts, a small pickle, and a venv with the anchors (picklescan, modelscan where it
installs). Each command runs as its own process; wall time is measured with perf_counter and peak memory
with wait4's ru_maxrss (the largest of the process and its children). Results go to stdout and to
benchmarks/results.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / "_work"
PY = Path(sys.executable)
BIN = PY.parent
ANCHORS = WORK / "anchors"


def run(cmd: list[str], *, timeout: float = 900) -> tuple[float, float, float, int]:
    """(wall seconds, CPU seconds, peak RSS in MiB, exit code) of one process. CPU time (user + system,
    the process and the children it waited for) is the fairer comparison on a shared, loaded machine."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=WORK)
    deadline = start + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            return float("inf"), usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, -9
        time.sleep(0.002)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, proc.returncode


def median_run(cmd: list[str], repeat: int) -> tuple[float, float, float, int]:
    results = [run(cmd) for _ in range(repeat)]
    return (statistics.median(r[0] for r in results), statistics.median(r[1] for r in results),
            max(r[2] for r in results), results[-1][3])


def ensure_anchors() -> dict[str, Path]:
    tools: dict[str, Path] = {}
    if not (ANCHORS / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(ANCHORS)], check=True)
    for package, exe in (("picklescan==1.0.5", "picklescan"), ("modelscan==0.8.8", "modelscan")):
        path = ANCHORS / "bin" / exe
        if not path.exists():
            subprocess.run([str(ANCHORS / "bin" / "python"), "-m", "pip", "install", "-q", package], check=False)
        if path.exists():
            tools[exe] = path
        else:
            print(f"note: {package} did not install; left out", file=sys.stderr)
    return tools


_GENERATE = """
import pickle, random, sys
from pathlib import Path
kind, out = sys.argv[1], Path(sys.argv[2])
if kind == "checkpoint":
    import torch
    torch.save({f"layer{i}.weight": torch.zeros(4096, 4096) for i in range(16)}, out)
elif kind == "plain":
    rng = random.Random(0)
    rows = [{"id": i, "name": f"user{i}", "score": rng.random(), "ok": i % 3 == 0, "group": i % 17}
            for i in range(4_200_000)]
    with out.open("wb") as f:
        pickle.dump(rows, f, protocol=4)
else:
    out.write_bytes(pickle.dumps({"weights": [0.1, 0.2], "epoch": 3}, protocol=4))
"""


def make_files() -> dict[str, Path]:
    """Generated in child processes, so this process stays small: a child's peak RSS as wait4 reports it
    starts from its parent's size at fork time."""
    WORK.mkdir(parents=True, exist_ok=True)
    files = {"checkpoint": WORK / "big_checkpoint.pt", "plain": WORK / "big_plain.pkl",
             "small": WORK / "small.pkl"}
    for kind, path in files.items():
        if not path.exists():
            subprocess.run([sys.executable, "-c", _GENERATE, kind, str(path)], check=True)
    return files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the anchors' runs on the 200 MB pickle")
    args = parser.parse_args()
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "src")], check=True,
                   stdout=subprocess.DEVNULL)  # an installed package has its bytecode; so should the bench
    files = make_files()
    tools = ensure_anchors()
    mlwarden = str(BIN / "mlwarden")
    rows: list[tuple[str, str, float, float, float, int]] = []

    def record(bench: str, tool: str, result: tuple[float, float, float, int]) -> None:
        rows.append((bench, tool, *result))
        print(f"{bench:28} {tool:26} {result[0]:9.3f} s {result[1]:9.3f} cpu-s {result[2]:9.1f} MiB  "
              f"exit {result[3]}", flush=True)

    ckpt = files["checkpoint"]
    size_gb = ckpt.stat().st_size / 1e9
    record(f"checkpoint {size_gb:.2f} GB", "mlwarden models", median_run([mlwarden, "models", str(ckpt)], 5))
    for name, path in tools.items():
        record(f"checkpoint {size_gb:.2f} GB", name, median_run([str(path), "-p", str(ckpt)], 3))

    plain = files["plain"]
    size_mb = plain.stat().st_size / 1e6
    bench = f"plain pickle {size_mb:.0f} MB"
    record(bench, "mlwarden models", median_run([mlwarden, "models", str(plain)], 3))
    record(bench, "mlwarden (one core)", median_run([str(PY), "-c", _ONE_CORE, str(plain)], 1))
    if not args.quick:
        for name, path in tools.items():
            record(bench, name, run([str(path), "-p", str(plain)]))

    small = files["small"]
    record("hook, one small file", "mlwarden models", median_run([mlwarden, "models", str(small)], 21))
    record("hook, one small file", "python -c 'import click'", median_run([str(PY), "-c", "import click"], 21))
    record("hook, one small file", "python -c pass", median_run([str(PY), "-c", "pass"], 21))
    _write_results(rows)
    return 0


_ONE_CORE = ("import sys; from mlwarden.models import parallel; parallel._can_fork = lambda: False; "
             "from mlwarden.cli import main; sys.exit(main(['models', sys.argv[1]]))")


def _write_results(rows: list[tuple[str, str, float, float, float, int]]) -> None:
    lines = ["| benchmark | tool | wall (s) | CPU (s) | peak RSS (MiB) | exit |",
             "| --- | --- | ---: | ---: | ---: | ---: |"]
    for bench, tool, wall, cpu, rss, code in rows:
        lines.append(f"| {bench} | {tool} | {wall:.3f} | {cpu:.3f} | {rss:.0f} | {code} |")
    stamp = time.strftime("%Y-%m-%d")
    text = (f"# Benchmark results ({stamp}, {os.cpu_count()} cores, Python {sys.version.split()[0]})\n\n"
            "Produced by `benchmarks/run.py`.\n\n" + "\n".join(lines) + "\n")
    out = ROOT / "benchmarks" / "results.md"
    # The other benchmark scripts append their own "## ..." sections: keep them, replace only this table.
    old = out.read_text() if out.exists() else ""
    rest = old[old.index("\n## "):] if "\n## " in old else ""
    out.write_text(text + rest)


if __name__ == "__main__":
    raise SystemExit(main())
