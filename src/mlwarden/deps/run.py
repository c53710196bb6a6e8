"""What the `deps`, `audit` and `scan` commands share: find dependency files, parse them, check them.

Fail closed: a file (or include) that could not be read fully becomes a ScanError (exit 2) naming the file and
the reason, and asking for dependency checks where there is no dependency file is an error too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

from mlwarden.deps.formats import kind_of, parse_file
from mlwarden.deps.model import Manifest, Pin
from mlwarden.findings import Finding, Location, Report, ScanError
from mlwarden.policy.model import Policy


def dependency_files(files: Iterable[Path]) -> list[Path]:
    return [p for p in files if kind_of(p) is not None]


def parse_all(paths: Iterable[Path], root: Path, *, installed: Iterable[Path] = ()) -> list[Manifest]:
    """Every manifest of ``paths`` (and of the files they include, each once), then of each installed
    environment in ``installed`` (a virtualenv or a site-packages folder)."""
    manifests: list[Manifest] = []
    seen: set[str] = set()
    for path in paths:
        for manifest in parse_file(path, root):
            if manifest.file not in seen:  # an included file is parsed once
                seen.add(manifest.file)
                manifests.append(manifest)
    if installed:
        from mlwarden.deps.installed import parse_installed

        for folder in installed:
            manifests += parse_installed(folder, root)
    return manifests


def manifest_errors(manifests: Iterable[Manifest]) -> list[ScanError]:
    """Files (or includes) that could not be read fully: errors, so the run cannot pass on them."""
    return [ScanError(f"{p.file}:{p.line}" if p.line else p.file, p.message)
            for m in manifests for p in m.problems if p.fatal]


def no_dependency_files(root: Path, command: str = "deps") -> ScanError:
    """`deps`/`audit` asked on a tree with no dependency file: nothing was checked, which is not a pass."""
    return ScanError(str(root), f"no dependency file found (requirements*.txt, requirements/*.txt, *.in, "
                     f"pyproject.toml, uv.lock, poetry.lock, Pipfile(.lock), pylock.toml, environment.yml, "
                     f"conda-lock.yml): {command} checked nothing; name the files or pass --installed PATH")


def read_findings(manifests: Iterable[Manifest]) -> list[Finding]:
    """For commands that do not run the policy checks (audit): every line or part that could not be read
    (unparsable lines, options pip refuses, include cycles, dynamic dependencies) and what readers found
    themselves (.pth files), so nothing unread passes."""
    from mlwarden.deps.audit import superseded_by_lock
    from mlwarden.rules import make_finding

    manifests = list(manifests)
    left_to_lock = superseded_by_lock(manifests)  # the audit reads the lock, not these declarations
    out: list[Finding] = []
    for manifest in manifests:
        if manifest.file not in left_to_lock:
            out += [make_finding(p.rule, Location(p.file, line=p.line), p.message, f"problem:{p.message}")
                    for p in manifest.problems if not p.fatal]
        out += manifest.extra_findings
    return out


def _names(pins: list[Pin]) -> str:
    names = sorted({p.name for p in pins})
    return ", ".join(names[:8]) + (", …" if len(names) > 8 else "")


def manifest_coverage(manifest: Manifest) -> list[str]:
    """What a manifest holds that no check could judge, said once per file: nothing declared at all, local code
    (paths, editables, local wheels: no index to check, no release to audit), conda packages (no advisory
    database or name list covers conda), and the readers' own notes."""
    notes = list(manifest.notes)
    if not manifest.pins and not manifest.problems and not manifest.includes and manifest.kind != "installed" \
            and not manifest.notes:
        notes.append("declares no dependency (an empty or dependency-free file): nothing in it to check")
    local = [p for p in manifest.pins if p.source is not None and p.source.kind == "path"]
    if local:
        notes.append(f"{len(local)} local path, editable or file dependenc{'y' if len(local) == 1 else 'ies'} "
                     f"({_names(local)}): local code, not checked against an index nor audited")
    conda = [p for p in manifest.pins if p.ecosystem == "conda"]
    if conda:
        notes.append(f"{len(conda)} conda package{'' if len(conda) == 1 else 's'}: checked for pinning and "
                     "channels only (no advisory database or typosquat list covers conda)")
    return notes


def coverage_notes(manifests: Iterable[Manifest]) -> list[str]:
    return [f"{m.file}: {note}" for m in manifests for note in manifest_coverage(m)]


def check_dependencies(manifests: list[Manifest], policy: Policy, *, root: Path | None = None,
                       now: dt.datetime | None = None, index: tuple[Path, str] | None = None) -> Report:
    """Policy checks, .pth findings, the cooldown and fatal read problems of ``manifests`` in one Report.
    ``root`` given and no manifest: the "no dependency file" error. ``index`` (cache folder, JSON URL template):
    upload times the lock files do not record are asked of the index (online, cached) for the cooldown."""
    from mlwarden.deps.checks import check_manifest
    from mlwarden.deps.cooldown import check_cooldown, check_cooldown_with_index

    report = Report(files_scanned=len(manifests))
    if not manifests and root is not None:
        report.errors.append(no_dependency_files(root))
    for manifest in manifests:
        report.findings.extend(check_manifest(manifest, policy, fatal_as_findings=False))
        report.findings.extend(manifest.extra_findings)
    report.errors.extend(manifest_errors(manifests))
    days = policy.settings.cooldown_days
    if index is not None:
        cooldown = check_cooldown_with_index(manifests, days, policy, index[0], now=now, url_template=index[1])
    else:
        cooldown = check_cooldown(manifests, days, policy, now=now)
    report.findings.extend(cooldown.findings)
    report.waived.extend(cooldown.waived)
    notes = coverage_notes(manifests) + cooldown.coverage()
    if index is not None and days <= 0:
        notes.append("--online: the cooldown is off (cooldown_days = 0 in the policy), so no upload time was asked")
    report.inventory["dependencies"] = {
        "files": len(manifests), "pins": sum(len(m.pins) for m in manifests),
        "cooldown_checked": cooldown.checked, "notes": notes}
    return report
