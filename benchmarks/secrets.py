"""Benchmark: `mlwarden secrets` against `detect-secrets scan` on the same generated 50 MB tree.

Usage: .venv/bin/python benchmarks/secrets.py

Builds benchmarks/_work/secrets-tree (git-ignored): Python modules, notebooks with outputs and CSV files,
about 50 MB, with planted secrets at known places (kinds both tools know, and ML-platform tokens only
mlwarden knows). Runs each tool once as its own process over the whole tree, then reports throughput (MB/s)
and recall on the planted secrets: a planted secret counts as found when the tool reports its file and line.
Results are printed and appended to benchmarks/results.md.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TREE = ROOT / "benchmarks" / "_work" / "secrets-tree"
sys.path.insert(0, str(ROOT / "benchmarks"))
from common import record, timed  # type: ignore[import-not-found]  # noqa: E402

RNG = random.Random(7)  # noqa: S311 - reproducible test data, not keys
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def token(n: int, alphabet: str = ALNUM) -> str:
    return "".join(RNG.choice(alphabet) for _ in range(n))


def planted_secret(kind: str) -> str:
    if kind == "aws":
        return f'AWS_ACCESS_KEY_ID = "AKIA{token(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")}"'
    if kind == "github":
        return f'GITHUB_TOKEN = "ghp_{token(36)}"'
    if kind == "slack":
        return f'SLACK = "xoxb-{token(11, "0123456789")}-{token(12, "0123456789")}-{token(24)}"'
    if kind == "stripe":
        return f'stripe.api_key = "sk_live_{token(24)}"'
    if kind == "password":
        return f'db_password = "{token(14)}!"'
    if kind == "basic-auth":
        return f'URL = "https://svc:{token(12)}@internal.corp.example/api"'
    if kind == "hf":
        return f'HF_TOKEN = "hf_{token(34)}"'
    if kind == "wandb":
        return f'os.environ["WANDB_API_KEY"] = "{token(40, "0123456789abcdef")}"'
    return f'ANTHROPIC_API_KEY = "sk-ant-api03-{token(93)}"'


KINDS_BOTH = ["aws", "github", "slack", "stripe", "password", "basic-auth"]
KINDS_ML = ["hf", "wandb", "anthropic"]


def code_lines(n: int) -> list[str]:
    lines = ["import numpy as np", "import pandas as pd", "", ""]
    for i in range(n):
        lines += [f"def transform_{i}(frame: pd.DataFrame, factor: float = {RNG.random():.3f}) -> pd.DataFrame:",
                  f'    """Scale column c{i % 7} and clip it; see ticket ML-{RNG.randint(100, 999)}."""',
                  f"    frame['c{i % 7}'] = np.clip(frame['c{i % 7}'] * factor, 0, {RNG.randint(1, 99)})",
                  "    return frame", ""]
    return lines


def build() -> list[tuple[str, int]]:
    planted: list[tuple[str, int]] = []
    if (TREE / "planted.json").exists():
        return [tuple(p) for p in json.loads((TREE / "planted.json").read_text())]  # type: ignore[misc]
    (TREE / "src").mkdir(parents=True)
    (TREE / "notebooks").mkdir()
    (TREE / "data").mkdir()
    kinds = KINDS_BOTH * 6 + KINDS_ML * 4
    RNG.shuffle(kinds)
    for i in range(1400):
        lines = code_lines(120)
        if i % 30 == 0 and kinds:
            at = RNG.randint(5, len(lines) - 1)
            lines.insert(at, planted_secret(kinds.pop()))
            planted.append((f"src/module_{i}.py", at + 1))
        (TREE / "src" / f"module_{i}.py").write_text("\n".join(lines) + "\n")
    for i in range(160):
        cells = []
        for j in range(20):
            source = code_lines(3)
            table = "\n".join(f"{k}  {RNG.random():.6f}  {RNG.randint(0, 10**6)}" for k in range(60))
            cells.append({"cell_type": "code", "execution_count": j, "metadata": {},
                          "source": [s + "\n" for s in source],
                          "outputs": [{"output_type": "execute_result", "execution_count": j, "metadata": {},
                                       "data": {"text/plain": table}}]})
        (TREE / "notebooks" / f"analysis_{i}.ipynb").write_text(json.dumps({"cells": cells, "metadata": {},
                                                                          "nbformat": 4, "nbformat_minor": 5}))
    for i in range(8):
        with (TREE / "data" / f"features_{i}.csv").open("w") as f:
            f.write("id,f1,f2,f3,label\n")
            for k in range(30000):
                f.write(f"{k},{RNG.random():.6f},{RNG.random():.6f},{RNG.randint(0, 999)},{RNG.randint(0, 1)}\n")
    (TREE / "planted.json").write_text(json.dumps(planted))
    return planted


def size_of(tree: Path) -> int:
    return sum(p.stat().st_size for p in tree.rglob("*") if p.is_file() and p.name != "planted.json")


def main() -> int:
    planted = build()
    if not (TREE / ".git").exists():
        # The tree lies in a git-ignored folder; as a repository of its own, mlwarden's git-aware discovery
        # walks every file of it (detect-secrets --all-files does anyway).
        import subprocess

        subprocess.run(["git", "init", "-q", str(TREE)], check=True)
    megabytes = size_of(TREE) / 1e6
    bin_dir = Path(sys.executable).parent
    ours_time, _, ours_out = timed([str(bin_dir / "mlwarden"), "secrets", ".", "--format", "json"], TREE)
    ours = {(r["path"], r["line"]) for r in json.loads(ours_out)["results"] if r["rule_id"] == "MW401"}
    theirs_time, _, theirs_out = timed([str(bin_dir / "detect-secrets"), "scan", "--all-files", "."], TREE)
    theirs = {(path, item["line_number"]) for path, items in json.loads(theirs_out)["results"].items()
              for item in items}
    found_ours = sum(1 for p in planted if p in ours)
    found_theirs = sum(1 for p in planted if p in theirs)
    lines = [f"secrets, generated tree of {megabytes:.1f} MB ({len(planted)} planted secrets):",
             f"  mlwarden secrets:          {ours_time:6.1f} s, {megabytes / ours_time:5.2f} MB/s, "
             f"recall {found_ours}/{len(planted)}",
             f"  detect-secrets scan:       {theirs_time:6.1f} s, {megabytes / theirs_time:5.2f} MB/s, "
             f"recall {found_theirs}/{len(planted)}",
             f"  throughput ratio: {theirs_time / ours_time:.1f}x (target >= 3x)"]
    record("secrets (benchmarks/secrets.py)", lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
