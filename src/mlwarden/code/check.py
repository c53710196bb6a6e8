"""The code check of the pipeline: unsafe model loading in Python files and notebooks."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mlwarden.findings import Finding
from mlwarden.pipeline import Outcome, Run, each_file


class CodeCheck:
    name = "code"

    def wants(self, path: Path) -> bool:
        from mlwarden.code.scanner import is_code_file

        return is_code_file(path)

    def check(self, files: Sequence[Path], run: Run) -> Outcome:
        from mlwarden.code.scanner import check_code_file

        refs: list[dict[str, Any]] = []

        def examine(path: Path, display: str) -> list[Finding]:
            findings, hub_refs = check_code_file(path, display, run.policy)
            refs.extend({"path": display, "repo_id": r.repo_id, "revision": r.revision, "line": r.line}
                        for r in hub_refs)
            return findings

        outcome = each_file(files, run, examine)
        if refs:
            outcome.inventory["hub_references"] = refs
        return outcome


CHECK = CodeCheck()
