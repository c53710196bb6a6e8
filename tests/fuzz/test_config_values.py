"""Hostile budget values in the configuration: one line on stderr, exit 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mlwarden.cli import main
from mlwarden.config import load_config
from mlwarden.errors import ConfigError

SRC = Path(__file__).resolve().parents[2] / "src"

HOSTILE = ["nan", "inf", "-inf", "-1", "0", "9223372036854775807", '"8"', "true", "[1]", "{a = 1}", "1.5",
           "1979-05-27"]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_budget_is_a_config_error(tmp_path: Path, value: str) -> None:
    (tmp_path / ".mlwarden.toml").write_text(f"[budgets]\nmax-depth = {value}\n")
    with pytest.raises(ConfigError, match=r"\.mlwarden\.toml: budget 'max-depth' ") as info:
        load_config(tmp_path)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("value", ["nan", "inf", "-0.5", "1e300"])
def test_hostile_seconds_budget(tmp_path: Path, value: str) -> None:
    (tmp_path / "pyproject.toml").write_text(f"[tool.mlwarden.budgets]\nmax-seconds-per-file = {value}\n")
    with pytest.raises(ConfigError, match="max-seconds-per-file"):
        load_config(tmp_path)


def test_valid_budgets_still_load(tmp_path: Path) -> None:
    (tmp_path / ".mlwarden.toml").write_text("[budgets]\nmax-depth = 4\nmax-seconds-per-file = 2.5\n"
                                             "max-members = 1e3\n")
    budgets = load_config(tmp_path).budgets
    assert (budgets.max_depth, budgets.max_seconds_per_file, budgets.max_members) == (4, 2.5, 1000)


def test_nan_budget_through_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".mlwarden.toml").write_text("[budgets]\nmax-decompressed-bytes = nan\n")
    (tmp_path / "model.pkl").write_bytes(b"\x80\x04K\x01.")
    monkeypatch.chdir(tmp_path)
    assert main(["scan", "."]) == 2
    assert "internal error" not in capsys.readouterr().err
    proc = subprocess.run([sys.executable, "-m", "mlwarden", "scan", "."], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
                          check=False)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "max-decompressed-bytes" in proc.stderr
