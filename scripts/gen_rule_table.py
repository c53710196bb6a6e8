"""Regenerate the README's rule table from the registry (src/mlwarden/rules.py).

    python scripts/gen_rule_table.py          # rewrite README.md between the rule-table markers
    python scripts/gen_rule_table.py --check  # exit 1 when the README is out of date (the tests do this)
"""

from __future__ import annotations

import sys
from pathlib import Path

from mlwarden.rules import RULES

README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- rule-table -->", "<!-- /rule-table -->"


def table() -> str:
    rows = ["| rule | severity | what | fix |", "| --- | --- | --- | --- |"]
    for rule in RULES.values():
        rows.append(f"| <a id=\"{rule.id.lower()}\"></a>`{rule.id}` | {rule.severity.label} | {_cell(rule.summary)} "
                    f"| {_cell(rule.remediation)} |")
    return "\n".join(rows)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(readme: str) -> str:
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table()}\n{END}{tail}"


def main(argv: list[str]) -> int:
    current = README.read_text(encoding="utf-8")
    wanted = render(current)
    if "--check" in argv:
        return 0 if wanted == current else 1
    README.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
