"""Loader-as-oracle for containers: every mutated sample is loaded by the REAL loader in a throwaway subprocess
(temporary folder, harmless `touch` payload); every sample whose marker appeared must be flagged high or above.

This module carries a minimal local runner; the lead should unify it with tests/oracle/harness.py (the pickle
engineer's) when both are on main. Runtime: one subprocess per loader (torch is imported once), a few seconds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlwarden.findings import Severity
from mlwarden.models.scanner import scan_model_file
from tests.oracle.container_samples import BUILDERS

_RUNNER = r"""
import json, sys, warnings
warnings.simplefilter("ignore")
jobs = json.load(open(sys.argv[1]))
def load(loader, path):
    if loader == "pickle":
        import pickle
        with open(path, "rb") as f:
            return pickle.load(f)
    if loader == "pandas":
        import pandas
        return pandas.read_pickle(path)
    if loader == "numpy":
        import numpy
        out = numpy.load(path, allow_pickle=True)
        if hasattr(out, "files"):
            for key in out.files:
                out[key]
        return out
    if loader == "joblib":
        import joblib
        return joblib.load(path)
    if loader == "torch":
        import torch
        return torch.load(path, weights_only=False)
    raise ValueError(loader)
import signal
def _timeout(signum, frame):
    raise TimeoutError("loader took too long")
signal.signal(signal.SIGALRM, _timeout)
for loader, path in jobs:
    signal.alarm(5)  # some mutations make a loader spin (joblib's zlib reader on trailing data)
    try:
        load(loader, path)
    except BaseException:
        pass
    finally:
        signal.alarm(0)
"""


def _available(loader: str) -> bool:
    module = {"pickle": "pickle", "pandas": "pandas", "numpy": "numpy", "joblib": "joblib", "torch": "torch"}[loader]
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def run_loaders(jobs: list[tuple[str, Path]], workdir: Path, timeout: float = 120.0) -> None:
    """Load every (loader, path) in a fresh interpreter per loader, in ``workdir``; errors are ignored."""
    script = workdir / "runner.py"
    script.write_text(_RUNNER)
    by_loader: dict[str, list[tuple[str, str]]] = {}
    for loader, path in jobs:
        by_loader.setdefault(loader, []).append((loader, str(path)))
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir), "PYTHONHASHSEED": "0"}
    for loader, items in by_loader.items():
        listing = workdir / f"jobs-{loader}.json"
        listing.write_text(json.dumps(items))
        subprocess.run([sys.executable, "-I", str(script), str(listing)], cwd=workdir, env=env,
                       timeout=timeout, check=False, capture_output=True)


@pytest.fixture(scope="module")
def oracle(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, Path, Path, bool]]:
    """(sample id, file, marker, payload ran) for every sample, loaded once by its real loader."""
    root = tmp_path_factory.mktemp("container-oracle")
    rows: list[tuple[str, Path, Path, str]] = []
    for index, build in enumerate(BUILDERS):
        folder = root / f"{index:03d}"
        folder.mkdir()
        marker = folder / "PAYLOAD_RAN"
        name, data, loader = build(marker)
        path = folder / name
        path.write_bytes(data)
        rows.append((build.__name__, path, marker, loader))
    run_loaders([(loader, path) for _id, path, _m, loader in rows if _available(loader)], root)
    return [(sample_id, path, marker, marker.exists()) for sample_id, path, marker, _loader in rows]


def test_every_sample_whose_payload_ran_is_flagged_high(oracle: list[tuple[str, Path, Path, bool]]) -> None:
    ran = [row for row in oracle if row[3]]
    assert len(ran) >= len(oracle) // 2, "most samples should be live; the loaders or samples changed"
    missed = []
    for sample_id, path, _marker, _ran in ran:
        result, _ = scan_model_file(path, path.name)
        if not any(f.severity >= Severity.HIGH for f in result.findings):
            missed.append(f"{sample_id}: {[(f.rule, f.severity.label, f.message) for f in result.findings]}")
    assert not missed, "\n".join(missed)


def test_samples_that_did_not_run_are_still_scanned_without_error(
        oracle: list[tuple[str, Path, Path, bool]]) -> None:
    for _sample_id, path, _marker, _ran in oracle:
        result, _ = scan_model_file(path, path.name)
        assert result.error is None
