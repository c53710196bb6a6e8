"""What the `deps`, `audit` and `scan` commands share: find dependency files, parse them, check them."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from mlwarden.deps.formats import kind_of, parse_file
from mlwarden.deps.model import Manifest
from mlwarden.findings import Report
from mlwarden.policy.model import Policy


def dependency_files(files: Iterable[Path]) -> list[Path]:
    return [p for p in files if kind_of(p) is not None]


def parse_all(paths: Iterable[Path], root: Path) -> list[Manifest]:
    manifests: list[Manifest] = []
    seen: set[str] = set()
    for path in paths:
        for manifest in parse_file(path, root):
            if manifest.file not in seen:  # an included file is parsed once
                seen.add(manifest.file)
                manifests.append(manifest)
    return manifests


def check_dependencies(manifests: list[Manifest], policy: Policy) -> Report:
    from mlwarden.deps.checks import check_manifest

    report = Report(files_scanned=len(manifests))
    for manifest in manifests:
        report.findings.extend(check_manifest(manifest, policy))
    return report
