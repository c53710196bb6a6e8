"""Benchmark: `mlwarden sbom generate` + `mlwarden sbom validate` against `cyclonedx-py requirements` (which
validates by default) on the same 200-pin requirements file.

Usage: .venv/bin/python benchmarks/sbom.py [--db ../shared/advisory-db]

The 200 pins are real package names and versions taken from the advisory snapshot (as in benchmarks/audit.py).
Each command runs as its own process in benchmarks/_work/sbom/; medians of three runs. Results are printed and
appended to benchmarks/results.md.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / "_work" / "sbom"
sys.path.insert(0, str(ROOT / "benchmarks"))


def main() -> int:
    from audit import build_lock  # type: ignore[import-not-found]
    from common import advisory_snapshot, median_of, record, timed  # type: ignore[import-not-found]

    db = advisory_snapshot()
    if db is None:
        return 2
    lock = build_lock(db)
    pins = [line.split('"')[1] for line in lock.read_text().splitlines() if line.startswith(("name", "version"))]
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "pyproject.toml").write_text('[project]\nname = "bench"\nversion = "1.0"\n')
    (WORK / "requirements.txt").write_text("".join(f"{n}=={v}\n" for n, v in zip(pins[::2], pins[1::2], strict=True)))
    bin_dir = Path(sys.executable).parent
    mlwarden = str(bin_dir / "mlwarden")

    def ours() -> tuple[float, int]:
        generate = timed([mlwarden, "sbom", "generate", "-o", "mlwarden.cdx.json"], WORK)
        check = timed([mlwarden, "sbom", "validate", "mlwarden.cdx.json"], WORK)
        return generate[0] + check[0], max(generate[1], check[1])

    runs = [ours() for _ in range(3)]
    mine = statistics.median(run[0] for run in runs)
    lines = ["SBOM of 200 pinned requirements, generated and validated (medians of 3):",
             f"  mlwarden sbom generate + sbom validate:  {mine:.2f} s (exit {runs[-1][1]})"]
    cyclonedx = bin_dir / "cyclonedx-py"
    if cyclonedx.exists():
        seconds, code = median_of([str(cyclonedx), "requirements", "requirements.txt", "--of", "JSON", "--sv", "1.6",
                                   "--output-reproducible", "-o", "cyclonedx.cdx.json"], WORK, 3)
        lines.append(f"  cyclonedx-py requirements (validating):  {seconds:.2f} s (exit {code})")
        lines.append(f"  mlwarden is {seconds / mine:.1f}x faster (target >= 5x)")
    record("sbom (benchmarks/sbom.py)", lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
