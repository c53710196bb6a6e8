"""FIFOs where a project file is expected: every command refuses them (a finding or one error line) instead of
blocking forever on open(). Reproducers that cannot live in tests/corpus (a FIFO is not a committable file)."""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import pytest

from mlwarden.cli import main
from tests.fuzz.mutate import time_limit


def _run(folder: Path, args: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    before = os.getcwd()
    os.chdir(folder)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), time_limit(3):
            code = main(args)
    finally:
        os.chdir(before)
    return code, err.getvalue()


@pytest.mark.parametrize("name", ["requirements.txt", "pyproject.toml", "uv.lock", "model.pkl", "train.ipynb",
                                  "app.py", "data.csv"])
def test_fifo_in_the_tree_is_never_opened(tmp_path: Path, name: str) -> None:
    os.mkfifo(tmp_path / name)
    (tmp_path / "ok.py").write_text("import torch\ntorch.load('m.pt')\n")
    code, err = _run(tmp_path, ["scan", "."])
    assert code in (0, 1, 2)
    assert "internal error" not in err


def test_fifo_policy_file(tmp_path: Path) -> None:
    (tmp_path / "allowlists").mkdir()
    os.mkfifo(tmp_path / "allowlists" / "x.toml")
    code, err = _run(tmp_path, ["allowlist", "check"])
    assert code == 2
    assert "FIFO" in err


def test_fifo_secrets_baseline(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / ".secrets.baseline")
    (tmp_path / "app.py").write_text("x = 1\n")
    code, err = _run(tmp_path, ["secrets", "."])
    assert code in (0, 1, 2)
    assert "internal error" not in err
