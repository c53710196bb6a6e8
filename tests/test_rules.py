"""The rule registry is the one source: the README's table is generated from it, every rule is emitted
somewhere, and `mlwarden rule` explains each one."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import tokenize

import pytest

from mlwarden.cli import main
from mlwarden.rules import RULES
from tests.conftest import ROOT


def test_readme_rule_table_is_generated_from_the_registry() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_rule_table.py"), "--check"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, "README rule table is stale: run python scripts/gen_rule_table.py"


def test_every_rule_is_emitted_somewhere_by_its_name() -> None:
    from mlwarden import rules

    names = {value.id: name for name, value in vars(rules).items() if isinstance(value, rules.Rule)}
    assert set(names) == set(RULES), "every registered rule has a named constant"
    sources = {p: p.read_text(encoding="utf-8") for p in (ROOT / "src" / "mlwarden").rglob("*.py")
               if p.name != "rules.py"}
    source = "\n".join(sources.values())
    unused = sorted(rule_id for rule_id, name in names.items() if not re.search(rf"\b{name}\b", source))
    assert not unused, f"rules nothing emits: {unused}"
    # code names the rule it emits: an id typed as a string literal is a typo nobody would catch
    literals = {str(p.relative_to(ROOT)) for p, text in sources.items()
                if any(tok.type == tokenize.STRING and re.fullmatch(r"""(["'])MW\d{3}\1""", tok.string)
                       for tok in tokenize.generate_tokens(io.StringIO(text).readline))}
    assert not literals, f"rule ids written as strings instead of names: {sorted(literals)}"


def test_rule_command_explains_and_suggests(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rule", "MW101"]) == 0
    out = capsys.readouterr().out
    assert "default severity: critical" in out
    assert "fix:" in out
    assert main(["rule", "MW1O1"]) == 2
    assert "did you mean 'MW101'" in capsys.readouterr().err
    assert main(["rule"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == len(RULES)


def test_a_rule_survives_a_process_boundary() -> None:
    # the parallel leak scan returns findings through pickle; a rule that did not come back hung the pool
    import pickle

    from mlwarden.rules import PICKLE_DANGEROUS_CALLABLE

    again = pickle.loads(pickle.dumps(PICKLE_DANGEROUS_CALLABLE))
    assert again is PICKLE_DANGEROUS_CALLABLE
    assert again == "MW101"
    assert again.summary.startswith("Pickle references")
