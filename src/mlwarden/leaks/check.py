"""The secrets and personal-data check of the pipeline (on every core for large trees)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from mlwarden.findings import Finding, ScanError
from mlwarden.pipeline import Outcome, Run

_Result = tuple[list[Finding], list[Finding], list[Finding]] | ScanError
PARALLEL_LEAK_FILES = 64  # from this many files on, the leak scan uses every core


class LeakCheck:
    name = "secrets"

    def wants(self, path: Path) -> bool:
        return True  # any file can hold a secret; the scanner decides how to read it

    def check(self, files: Sequence[Path], run: Run) -> Outcome:
        from mlwarden.leaks import workers
        from mlwarden.leaks.secrets import read_baseline

        baseline, baseline_note = read_baseline(run.root)
        jobs = [(str(path), run.display(path)) for path in files]
        cores = os.cpu_count() or 1
        results = None
        if len(jobs) >= PARALLEL_LEAK_FILES and cores > 1 and hasattr(os, "fork"):
            results = _in_parallel(jobs, run, baseline, min(cores, 8))
        if results is None:
            workers.start(run.root, run.policy, baseline)
            try:
                results = [workers.scan_isolated(job) for job in jobs]
            finally:
                workers.stop()
        outcome = Outcome()
        if baseline_note:
            outcome.notes.append(f"secrets: {baseline_note}")
        for result in results:
            if isinstance(result, ScanError):
                outcome.errors.append(result)
                continue
            findings, waived, suppressed = result
            outcome.findings.extend(findings)
            outcome.waived.extend(waived)
            outcome.suppressed.extend(suppressed)
            outcome.files += 1
        return outcome


def _in_parallel(jobs: list[tuple[str, str]], run: Run, baseline: dict[str, set[str]],
                 cores: int) -> list[_Result] | None:
    """The scan on every core, or None when the pool broke (a worker killed, a result that would not come
    back): the caller then scans in this process, so nothing is lost. A concurrent.futures pool, not a
    multiprocessing.Pool: the latter waits forever when a worker dies or a result cannot be unpickled."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    from mlwarden.leaks import workers

    try:
        with ProcessPoolExecutor(cores, mp_context=multiprocessing.get_context("fork"), initializer=workers.start,
                                 initargs=(run.root, run.policy, baseline)) as pool:
            return list(pool.map(workers.scan_isolated, jobs, chunksize=8))
    except BrokenProcessPool:
        return None


CHECK = LeakCheck()
