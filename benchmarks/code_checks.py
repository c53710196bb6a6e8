"""Benchmark: code checks (`mlwarden code`) over real repositories: findings per rule and severity, and speed.

Usage: .venv/bin/python benchmarks/code_checks.py FOLDER [FOLDER ...]

Each FOLDER is a checkout (or an export of its .py and .ipynb files) of a public repository. The README's
table was made from huggingface/notebooks @5068b11, huggingface/peft @5d602fd and
jakevdp/PythonDataScienceHandbook @d662314. Nothing is imported or run: the files are only parsed.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from mlwarden.code.scanner import check_code_file  # noqa: E402
from mlwarden.policy import Policy  # noqa: E402


def main(folders: list[str]) -> int:
    if not folders:
        print(__doc__, file=sys.stderr)
        return 2
    for folder in folders:
        root = Path(folder)
        files = sorted(p for p in root.rglob("*") if p.suffix in (".py", ".ipynb") and p.is_file())
        counts: Counter[tuple[str, str]] = Counter()
        size = sum(p.stat().st_size for p in files)
        start = time.perf_counter()
        for path in files:
            findings, _ = check_code_file(path, str(path.relative_to(root)), Policy())
            counts.update((f.rule, f.severity.label) for f in findings)
        elapsed = time.perf_counter() - start
        print(f"{root.name}: {len(files)} files, {size / 1e6:.1f} MB in {elapsed:.1f} s "
              f"({size / 1e6 / max(elapsed, 1e-9):.1f} MB/s)")
        for (rule, severity), n in sorted(counts.items()):
            print(f"  {rule} {severity}: {n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
