"""Differential tests: every sample whose payload runs in a real loader is flagged high or above.

The samples come from a seeded generator (mutations.py); the real loaders run them in one throwaway
subprocess per batch (harness.py). A sample that runs and is not flagged is a bypass: it fails the test
with its name, and it belongs in corpus/ once fixed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlwarden.findings import Severity
from mlwarden.models.scanner import scan_model_file
from tests.conftest import worst
from tests.oracle import harness, mutations
from tests.oracle.corpus import CORPUS

SEED = int(os.environ.get("MLWARDEN_ORACLE_SEED", "12"))
COUNT = int(os.environ.get("MLWARDEN_ORACLE_COUNT", "240"))


def _not_flagged(tmp_path: Path, samples: list[tuple[str, bytes, str]], ran: set[str]) -> list[str]:
    missed = []
    for name, data, _loader in samples:
        if name not in ran:
            continue
        path = tmp_path / "sample.bin"
        path.write_bytes(data)
        result, _ = scan_model_file(path, name)
        severity = worst(result.findings)
        if result.error is not None or severity is None or severity < Severity.HIGH:
            missed.append(name)
    return missed


def test_every_payload_form_runs_in_the_real_loader_and_is_flagged(tmp_path: Path) -> None:
    # Each payload with each string form, plain, through pickle.load: the generator's building blocks work.
    samples = [(f"{p}-{s}", mutations.build(p, s, "none", 2, "none", "none"), "pickle")
               for p in mutations.PAYLOADS for s in mutations.STRINGS]
    ran = harness.run_loaders(samples)
    assert ran == {name for name, _, _ in samples}
    assert _not_flagged(tmp_path, samples, ran) == []


def test_seeded_mutations_that_run_are_flagged_high(tmp_path: Path) -> None:
    samples = mutations.samples(SEED, COUNT)
    ran = harness.run_loaders(samples)
    assert len(ran) >= COUNT // 3, "the generator should produce mostly working payloads"
    assert _not_flagged(tmp_path, samples, ran) == []


def test_harness_reports_only_payloads_that_ran() -> None:
    benign = ("benign", b"\x80\x04N.", "pickle")
    broken = ("broken-before-payload", b"I0x\n" + mutations.build("os_system", "short", "none", 0, "none", "none"),
              "pickle")
    ran = harness.run_loaders([benign, broken])
    assert ran == set()


def _corpus_sample(row: tuple[str, str, str, int, str, str, str, bool, str]) -> tuple[str, bytes, str]:
    payload, string, prefix, protocol, framing, suffix, loader, zipped, origin = row
    data = mutations.build(payload, string, prefix, protocol, framing, suffix)
    return f"{origin}-{payload}-{prefix}-{loader}", mutations.torch_zip(data) if zipped else data, loader


@pytest.mark.parametrize("row", CORPUS, ids=lambda row: f"{row[8]}-{row[0]}-{row[2]}")
def test_corpus_bypass_stays_flagged(tmp_path: Path, row: tuple[str, str, str, int, str, str, str, bool, str]) -> None:
    name, data, _ = _corpus_sample(row)
    path = tmp_path / "sample.bin"
    path.write_bytes(data)
    result, _ = scan_model_file(path, name)
    assert result.error is None
    severity = worst(result.findings)
    assert severity is not None
    assert severity >= Severity.HIGH, result.findings


def test_corpus_samples_still_run_in_their_loader() -> None:
    samples = [_corpus_sample(row) for row in CORPUS]
    assert harness.run_loaders(samples) == {name for name, _, _ in samples}
