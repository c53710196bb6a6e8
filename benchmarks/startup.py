"""Benchmark: what a pre-commit hook costs on a small commit, side by side with Python's own start-up.

Usage: .venv/bin/python benchmarks/startup.py [--runs 41]

Runs each command --runs times, alternating them so that load on the machine hits all alike, and prints the
medians: `mlwarden models small.pkl` (the mlwarden-models hook on one file), `mlwarden code small.py` (the
mlwarden-code hook), `python -c "import click"` (the issue's yardstick: within 2x) and `python -c pass`.
Bytecode is compiled first, as it is in an installed package. Results are appended to benchmarks/results.md.
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from common import record  # type: ignore[import-not-found]  # noqa: E402

BIN = Path(sys.executable).parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=41)
    runs = parser.parse_args().runs
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "src")], check=True,
                   stdout=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory() as tmp:
        small = Path(tmp) / "small.pkl"
        small.write_bytes(pickle.dumps({"weights": [0.1, 0.2], "epoch": 3}, protocol=4))
        code = Path(tmp) / "train.py"
        code.write_text("import torch\n\nmodel = torch.load('w.pt', weights_only=True)\n")
        commands = {
            "mlwarden models small.pkl (hook)": [str(BIN / "mlwarden"), "models", str(small)],
            "mlwarden code train.py (hook)": [str(BIN / "mlwarden"), "code", str(code)],
            "python -c 'import click'": [sys.executable, "-c", "import click"],
            "python -c pass": [sys.executable, "-c", "pass"],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(runs):
            for name, cmd in commands.items():
                start = time.perf_counter()
                subprocess.run(cmd, capture_output=True, check=False, cwd=tmp)
                times[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(values) for name, values in times.items()}
    click = medians["python -c 'import click'"]
    lines = ["| command | median wall (s) | ratio to import click |", "| --- | ---: | ---: |"]
    lines += [f"| {name} | {value:.3f} | {value / click:.2f}x |" for name, value in medians.items()]
    record(f"hook start-up ({runs} runs each)", lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
