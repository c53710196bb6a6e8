"""The model-file check of the pipeline: every file whose bytes look like a model format (a pickle named
``notes.txt`` too), through the model scanner."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mlwarden.findings import Finding
from mlwarden.pipeline import Outcome, Run, each_file


@dataclass(frozen=True)
class ModelCheck:
    name: str = "models"
    sniff: bool = True  # False: every file given is scanned (`models --all-files`)

    def wants(self, path: Path) -> bool:
        if not self.sniff:
            return True
        import os

        from mlwarden.models.scanner import is_model_candidate

        if not os.access(path, os.R_OK) or not path.exists():
            return True  # cannot tell what it is: the scanner reports that it cannot be read (fail closed)
        return is_model_candidate(path)

    def check(self, files: Sequence[Path], run: Run) -> Outcome:
        from mlwarden.models.scanner import scan_model_file

        extra = run.policy.extra_safe_globals(run.today)
        formats: dict[str, list[str]] = {}

        def examine(path: Path, display: str) -> list[Finding]:
            result, _ = scan_model_file(path, display, budgets=run.config.budgets, extra_safe=extra)
            if result.error:
                from mlwarden.errors import InputError

                raise InputError(result.error.message)
            formats[display] = list(result.formats)
            return result.findings

        outcome = each_file(files, run, examine)
        outcome.inventory["model_formats"] = formats
        return outcome


CHECK = ModelCheck()
