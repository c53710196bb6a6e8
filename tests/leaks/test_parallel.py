"""The leak scan on every core must never hang and never lose a file when the pool breaks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlwarden.config import load_config
from mlwarden.leaks import check as leak_check
from mlwarden.leaks import workers
from mlwarden.pipeline import Run
from mlwarden.policy import load_policy

_REAL = workers.scan_isolated
_PARENT = 0


def _dies_in_a_worker(job: tuple[str, str]) -> object:
    if os.getpid() != _PARENT:
        os._exit(9)  # a worker killed mid-file (the OOM killer, a crash in a C extension)
    return _REAL(job)


TOKEN = "hf_" + "QxTmvRkLpWzYbNcJdHsGfAeUoIiKqPlMnBvC"


def _tree(tmp_path: Path, count: int) -> list[Path]:
    files = []
    for i in range(count):
        path = tmp_path / f"f{i:03}.py"
        path.write_text(f'token = "{TOKEN}"\n' if i % 10 == 0 else "x = 1\n")
        files.append(path)
    return files


@pytest.mark.skipif(not hasattr(os, "fork") or (os.cpu_count() or 1) < 2, reason="parallel path needs fork and 2 cores")
def test_a_dead_worker_falls_back_to_one_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = _tree(tmp_path, leak_check.PARALLEL_LEAK_FILES + 6)
    monkeypatch.setattr(workers, "scan_isolated", _dies_in_a_worker)
    monkeypatch.setattr(f"{__name__}._PARENT", os.getpid())
    run = Run(root=tmp_path, config=load_config(tmp_path), policy=load_policy(tmp_path))
    outcome = leak_check.CHECK.check(files, run)
    assert outcome.files == len(files)
    assert sorted(f.location.path for f in outcome.findings if f.rule == "MW401") == [
        f"f{i:03}.py" for i in range(0, len(files), 10)]
