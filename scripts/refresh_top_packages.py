"""Refresh src/mlwarden/deps/top_packages.txt, the typosquat reference list (most-downloaded PyPI names).

Usage: python scripts/refresh_top_packages.py RANKED.tsv
RANKED.tsv has lines "rank<TAB>name" (comments start with #), most downloaded first, such as the
top-pypi-packages list the project's research material ships; any export of PyPI download ranks in that
shape works. The output keeps the order (rank = line number) and canonical names (PEP 503). Every name in
the list is exempt from the typosquat check (a popular package is never a squat), and the list is what
squats are compared with, so keep it to the most downloaded ~15,000.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "src" / "mlwarden" / "deps" / "top_packages.txt"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    names: list[str] = []
    seen: set[str] = set()
    for line in Path(argv[0]).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name = re.sub(r"[-_.]+", "-", line.split("\t")[-1].strip()).lower()
        if name and name not in seen:
            seen.add(name)
            names.append(name)
    if len(names) < 1000:  # a truncated export would make every less-known package look like a squat
        print(f"only {len(names)} names in {argv[0]}; refusing to replace {OUT.name}", file=sys.stderr)
        return 2
    text = (f"# {len(names)} most-downloaded PyPI projects, most first (scripts/refresh_top_packages.py)\n"
            + "\n".join(names) + "\n")
    tmp = OUT.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, OUT)  # atomic: the package never ships a half-written list
    print(f"wrote {OUT} ({len(names)} names)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
