"""The dependency checks of the pipeline: dependency files against the policy (offline), and their known
vulnerabilities when an OSV database is configured (``scan``) or asked for (``audit``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlwarden.pipeline import Outcome, Run

if TYPE_CHECKING:
    from mlwarden.deps.model import Manifest


@dataclass(frozen=True)
class DepsCheck:
    name: str = "deps"
    policy_checks: bool = True  # pinning, hashes, sources, typosquats
    audit: bool | None = None  # None: audit when the configuration names an OSV database
    database: str | None = None  # --db, else the configuration's osv-db
    online: bool = False
    service: str = "osv"
    osv_url: str | None = None
    allow_unaudited: bool = False
    cache_dir: Path | None = None
    required: bool = False  # `deps` / `audit` asked: finding no dependency file is an error, not a pass
    max_db_age: int | None = None  # days; an older OSV database is an error
    installed: tuple[Path, ...] = ()  # installed environments read too (--installed)
    index_times: bool = False  # `deps --online`: upload times the locks lack come from the index (the cooldown)
    pypi_url: str | None = None  # the index's JSON API base (a mirror); default PyPI

    def wants(self, path: Path) -> bool:
        from mlwarden.deps.formats import kind_of

        return kind_of(path) is not None

    def check(self, files: Sequence[Path], run: Run) -> Outcome:
        from mlwarden.deps.run import (
            check_dependencies,
            coverage_notes,
            manifest_errors,
            no_dependency_files,
            parse_all,
            read_findings,
        )

        outcome = Outcome()
        if not files and not self.installed:
            if self.required:
                outcome.errors.append(no_dependency_files(run.root, self.name))
            else:
                outcome.notes.append("dependencies: no dependency file found")
            return outcome
        manifests = parse_all(files, run.base, installed=self.installed)
        outcome.files = len(manifests)
        if self.policy_checks:
            index = None
            if self.index_times:
                from mlwarden.deps.cooldown import json_api_template
                from mlwarden.deps.osv import default_cache_dir

                index = ((self.cache_dir or default_cache_dir()) / "pypi", json_api_template(self.pypi_url))
            checked = check_dependencies(manifests, run.policy, index=index)
            outcome.findings += checked.findings
            outcome.waived += checked.waived
            outcome.errors += checked.errors
            outcome.notes += [f"dependencies: {note}" for note in checked.inventory["dependencies"]["notes"]]
        else:
            outcome.findings += read_findings(manifests)
            outcome.errors += manifest_errors(manifests)
            outcome.notes += [f"dependencies: {note}" for note in coverage_notes(manifests)]
        database = self.database or run.config.osv_db
        wants_audit = self.audit if self.audit is not None else bool(database)
        if wants_audit:
            self._audit(manifests, database, run, outcome)
        elif self.policy_checks:
            outcome.notes.append("dependencies: known vulnerabilities not checked (no osv-db configured; "
                                 "run `mlwarden audit --db PATH`)")
        return outcome

    def _audit(self, manifests: list[Manifest], database: str | None, run: Run, outcome: Outcome) -> None:
        from mlwarden.deps.audit import (
            audit_offline,
            audit_online,
            auditable_pins,
            load_database,
            unaudited_errors,
        )
        from mlwarden.errors import ConfigError

        pins, unaudited = auditable_pins(manifests)
        if self.online:
            result = audit_online(pins, run.policy, service=self.service, osv_url=self.osv_url)
        else:
            if not database:
                raise ConfigError("no vulnerability database: pass --db PATH (or set osv-db in [tool.mlwarden]), "
                                  "or --online")
            max_age = self.max_db_age if self.max_db_age is not None else run.config.osv_max_age_days
            osv = load_database(database, self.cache_dir, max_age_days=max_age)
            outcome.notes.append(f"vulnerabilities: OSV database {database}, {osv.stats.records} records"
                                 f"{' (index cached)' if osv.stats.cached else ' (index built)'}")
            outcome.notes += [f"vulnerabilities: {w}" for w in osv.stats.warnings]
            result = audit_offline(pins, osv, run.policy)
        findings, errors = unaudited_errors(unaudited + result.unaudited, allow=self.allow_unaudited)
        outcome.findings += result.findings + findings
        outcome.waived += result.waived
        outcome.errors += errors
        outcome.inventory["audit"] = {"audited": result.audited, "unaudited": len(unaudited + result.unaudited)}


CHECK = DepsCheck()
