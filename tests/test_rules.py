"""The rule registry is the one source: the README's table is generated from it, every rule is emitted
somewhere, and `mlwarden rule` explains each one."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from mlwarden.cli import main
from mlwarden.rules import RULES
from tests.conftest import ROOT


def test_readme_rule_table_is_generated_from_the_registry() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_rule_table.py"), "--check"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, "README rule table is stale: run python scripts/gen_rule_table.py"


def test_every_rule_is_emitted_somewhere() -> None:
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "src" / "mlwarden").rglob("*.py")
                       if p.name != "rules.py")
    used = set(re.findall(r"MW\d{3}", source))
    unused = sorted(set(RULES) - used)
    assert not unused, f"rules nothing emits: {unused}"


def test_rule_command_explains_and_suggests(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rule", "MW101"]) == 0
    out = capsys.readouterr().out
    assert "default severity: critical" in out
    assert "fix:" in out
    assert main(["rule", "MW1O1"]) == 2
    assert "did you mean 'MW101'" in capsys.readouterr().err
    assert main(["rule"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == len(RULES)
