"""The secrets and personal-data check of the pipeline (on every core for large trees)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from mlwarden.findings import Finding, ScanError
from mlwarden.pipeline import Outcome, Run

PARALLEL_LEAK_FILES = 64  # from this many files on, the leak scan uses every core


class LeakCheck:
    name = "secrets"

    def wants(self, path: Path) -> bool:
        return True  # any file can hold a secret; the scanner decides how to read it

    def check(self, files: Sequence[Path], run: Run) -> Outcome:
        from mlwarden.leaks import workers
        from mlwarden.leaks.secrets import load_baseline

        baseline = load_baseline(run.root)
        jobs = [(str(path), run.display(path)) for path in files]
        cores = os.cpu_count() or 1
        results: list[tuple[list[Finding], list[Finding], list[Finding]] | ScanError]
        if len(jobs) >= PARALLEL_LEAK_FILES and cores > 1 and hasattr(os, "fork"):
            import multiprocessing

            with multiprocessing.get_context("fork").Pool(
                    min(cores, 8), initializer=workers.start, initargs=(run.root, run.policy, baseline)) as pool:
                results = list(pool.imap(workers.scan_isolated, jobs, chunksize=8))
        else:
            workers.start(run.root, run.policy, baseline)
            try:
                results = [workers.scan_isolated(job) for job in jobs]
            finally:
                workers.stop()
        outcome = Outcome()
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


CHECK = LeakCheck()
