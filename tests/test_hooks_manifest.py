"""The hook manifest is valid, every entry is an mlwarden subcommand, every hook has a page."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mlwarden.policy import parse_policy_text
from tests.conftest import ROOT

yaml = pytest.importorskip("yaml")


def test_manifest_validates_with_pre_commit() -> None:
    proc = subprocess.run([sys.executable, "-m", "pre_commit", "validate-manifest",
                           str(ROOT / ".pre-commit-hooks.yaml")], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_entries_are_mlwarden_commands_with_pages() -> None:
    from mlwarden.cli import _COMMANDS

    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    catalogue = (ROOT / "hooks" / "README.md").read_text()
    for hook in hooks:
        program, command = hook["entry"].split()[:2]
        assert program == "mlwarden"
        assert command in _COMMANDS
        assert f"`{hook['id']}`" in catalogue
        assert hook["language"] == "python"


def test_example_team_policy_is_valid() -> None:
    text = (ROOT / "hooks" / "examples" / "team-policy.toml").read_text()
    assert parse_policy_text(text, "team-policy.toml")[3] == []
