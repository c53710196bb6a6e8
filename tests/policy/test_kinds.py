"""The kinds table drives the schema, `allowlist add|remove` and messages; [[model]] approves a reviewed model
file by its content."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from mlwarden.cli import main
from mlwarden.policy import parse_policy_text
from mlwarden.policy.kinds import TABLE

META = "reason = 'r'\nowner = 'sec@example.org'\nadded = 2026-01-01\nexpires = 2099-01-01\n"
CUSTOM_CLASS = b"\x80\x02cacme.models\nNet\n)R."  # a whole-model save of the team's own class: MW102


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, timeout=60)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    _git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "net.pkl").write_bytes(CUSTOM_CLASS)
    (tmp_path / "models" / "other.pkl").write_bytes(CUSTOM_CLASS)
    _git(tmp_path, "add", ".")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _model_findings(capsys: pytest.CaptureFixture[str]) -> tuple[set[str], set[str]]:
    doc = json.loads(capsys.readouterr().out)
    return {r["path"] for r in doc["results"]}, {w["path"] for w in doc["waived"]}


def test_an_approved_model_file_is_waived_until_its_content_changes(
        repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["allowlist", "add", "model", "--path", "models/net.pkl", "--reason", "reviewed: our Net class",
                 "--owner", "sec@example.org", "--expires", "2099-01-01"]) == 0
    assert "sha256 = \"sha256:" in (repo / "allowlists" / "policy.toml").read_text()
    capsys.readouterr()
    assert main(["models", ".", "--format", "json"]) == 1
    found, waived = _model_findings(capsys)
    assert found == {"models/other.pkl"}  # the approval names one file, not every copy of the content
    assert waived == {"models/net.pkl"}
    (repo / "models" / "net.pkl").write_bytes(CUSTOM_CLASS.replace(b"Net", b"Gan"))
    assert main(["models", ".", "--format", "json"]) == 1
    found, waived = _model_findings(capsys)
    assert "models/net.pkl" in found  # changed after review: judged again
    assert not waived


def test_model_approval_does_not_waive_other_checks(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    token = "hf_" + "QxTmvRkLpWzYbNcJdHsGfAeUoIiKqPlMnBvC"
    (repo / "models" / "net.pkl").write_bytes(CUSTOM_CLASS + token.encode())  # trailing bytes hold a token
    assert main(["allowlist", "add", "model", "--path", "models/net.pkl", "--reason", "r", "--owner", "o",
                 "--expires", "2099-01-01"]) == 0
    capsys.readouterr()
    main(["scan", "models/net.pkl", "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    assert "MW401" in {r["rule_id"] for r in doc["results"]}
    assert all(w["rule_id"].startswith("MW1") for w in doc["waived"])


@pytest.mark.parametrize(("entry", "problem"), [
    ("path = 'models/*.pkl'\nsha256 = 'sha256:" + "0" * 64 + "'", "no glob"),
    ("path = '../x.pkl'\nsha256 = 'sha256:" + "0" * 64 + "'", "no '..'"),
    ("path = 'm.pkl'\nsha256 = '" + "0" * 64 + "'", "sha256:<64 hex digits>"),
    ("path = 'm.pkl'", "is missing 'sha256'"),
])
def test_model_entries_are_validated(entry: str, problem: str) -> None:
    problems = parse_policy_text(f"schema_version = 1\n[[model]]\n{entry}\n{META}", "p.toml")[3]
    assert any(problem in p for p in problems), problems


def test_add_refuses_a_missing_model_file(repo: Path) -> None:
    assert main(["allowlist", "add", "model", "--path", "models/gone.pkl", "--reason", "r", "--owner", "o",
                 "--expires", "2099-01-01"]) == 2
    assert not (repo / "allowlists").exists()


def test_every_field_of_every_kind_has_a_flag_and_foreign_flags_are_refused(
        repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["allowlist", "add", "--help"]) == 0
    text = capsys.readouterr().out
    for kind in TABLE.values():
        assert kind.summary.split()[0] in text
        for key, field in kind.fields.items():
            assert field.option(key) in text, (kind.name, key)
    assert main(["allowlist", "add", "model", "--path", "models/net.pkl", "--rule", "MW102", "--reason", "r",
                 "--owner", "o", "--expires", "2099-01-01"]) == 2
    assert "--rule do not apply to [[model]]" in capsys.readouterr().err


def test_remove_names_entries_as_the_table_says(repo: Path) -> None:
    policy = repo / "allowlists" / "policy.toml"
    policy.parent.mkdir()
    policy.write_text(f"schema_version = 1\n[[pickle]]\nglobals = ['a.B', 'c.D']\n{META}"
                      f"[[exception]]\nrule = 'MW102'\npath = 'models/*'\n{META}"
                      f"[[package]]\nname = 'Torch_Vision'\n{META}")
    assert main(["allowlist", "remove", "pickle", "c.D"]) == 0  # one of its globals names it
    assert main(["allowlist", "remove", "exception", "MW102"]) == 0  # the rule alone names it
    assert main(["allowlist", "remove", "package", "torch.vision"]) == 0  # PEP 503 names
    assert "[[" not in policy.read_text()
