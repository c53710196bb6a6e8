"""Loader-as-oracle for containers: every mutated sample is loaded by the REAL loader in a throwaway subprocess
(temporary folder, harmless `touch` payload); every sample whose marker appeared must be flagged high or above.

The loading is tests/oracle/harness.py's, as for every other oracle: one subprocess, a folder per sample.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlwarden.findings import Severity
from mlwarden.models.scanner import scan_model_file
from tests.oracle import harness
from tests.oracle.container_samples import BUILDERS


@pytest.fixture(scope="module")
def oracle(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, Path, bool]]:
    """(sample id, file, payload ran) for every sample, each loaded once by its real loader through the shared
    harness (one throwaway subprocess, a folder per sample; the payload touches PAYLOAD_RAN in that folder)."""
    root = tmp_path_factory.mktemp("container-oracle")
    samples: list[tuple[str, str, bytes, str]] = []
    files: list[tuple[str, Path]] = []
    for index, build in enumerate(BUILDERS):
        name, data, loader = build(Path(harness.MARKER))  # relative: the harness runs each in its own folder
        sample_id = f"{index:03d}-{build.__name__}"
        path = root / f"{index:03d}" / name
        path.parent.mkdir()
        path.write_bytes(data)  # the copy the scanner reads; the harness loads its own
        samples.append((sample_id, name, data, loader))
        files.append((sample_id, path))
    ran = harness.run_named_loaders(samples)
    return [(sample_id, path, sample_id in ran) for sample_id, path in files]


def test_every_sample_whose_payload_ran_is_flagged_high(oracle: list[tuple[str, Path, bool]]) -> None:
    ran = [row for row in oracle if row[2]]
    assert len(ran) >= len(oracle) // 2, "most samples should be live; the loaders or samples changed"
    missed = []
    for sample_id, path, _ran in ran:
        result, _ = scan_model_file(path, path.name)
        if not any(f.severity >= Severity.HIGH for f in result.findings):
            missed.append(f"{sample_id}: {[(f.rule, f.severity.label, f.message) for f in result.findings]}")
    assert not missed, "\n".join(missed)


def test_samples_that_did_not_run_are_still_scanned_without_error(
        oracle: list[tuple[str, Path, bool]]) -> None:
    for _sample_id, path, _ran in oracle:
        result, _ = scan_model_file(path, path.name)
        assert result.error is None
