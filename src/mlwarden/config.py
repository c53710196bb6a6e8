"""Frozen configuration: [tool.mlwarden] in pyproject.toml or .mlwarden.toml, overridden by CLI options."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlwarden.errors import ConfigError, MlwardenError
from mlwarden.findings import Severity


@dataclass(frozen=True)
class Budgets:
    """Limits that keep hostile files from hanging the scan or exhausting memory."""

    max_decompressed_bytes: int = 4 * 1024**3
    max_depth: int = 8
    max_members: int = 10_000
    max_memo_entries: int = 1_000_000
    max_stack_entries: int = 10_000_000
    max_seconds_per_file: float = 300.0


@dataclass(frozen=True)
class Config:
    exclude: tuple[str, ...] = ()
    fail_on: Severity = Severity.HIGH
    policy: str | None = None
    osv_db: str | None = None
    osv_max_age_days: int | None = None  # an older offline database is an error (exit 2)
    sbom: str | None = None
    budgets: Budgets = field(default_factory=Budgets)
    source: str | None = None
    select: tuple[str, ...] = ()  # rule ids or prefixes ("MW1") to report; empty: all
    ignore: tuple[str, ...] = ()  # rule ids or prefixes never reported
    severity: dict[str, Severity] = field(default_factory=dict)  # rule id -> severity override
    per_path_ignores: dict[str, tuple[str, ...]] = field(default_factory=dict)  # path glob -> rule ids

    def with_overrides(self, **changes: Any) -> Config:
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


_BUDGET_KEYS = {f.name: f.type for f in dataclasses.fields(Budgets)}
_TOP_KEYS = ("exclude", "fail-on", "policy", "osv-db", "osv-max-age-days", "sbom", "budgets", "select", "ignore",
             "severity", "per-path-ignores")


def closest(word: str, choices: Any) -> str:
    """" (did you mean 'x'?)" for the nearest known spelling, or ""."""
    import difflib

    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


def rule_ids(value: Any, source: str, key: str, *, prefixes: bool = True) -> tuple[str, ...]:
    """A list of rule ids (or, with ``prefixes``, id prefixes such as "MW1"), each checked against the
    registry: an unknown id is an error naming the closest one."""
    from mlwarden.rules import RULES, closest_rule

    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise ConfigError(f"{source}: {key!r} must be a list of rule ids (e.g. [\"MW401\"])")
    for rule in value:
        known = rule in RULES or (prefixes and len(rule) < 5 and any(r.startswith(rule) for r in RULES))
        if not known or not rule.startswith("MW"):
            raise ConfigError(f"{source}: {key}: unknown rule {rule!r}{closest_rule(rule)}")
    return tuple(value)


def _parse(table: dict[str, Any], source: str) -> Config:
    unknown = sorted(set(table) - set(_TOP_KEYS))
    if unknown:
        raise ConfigError(f"{source}: unknown key {unknown[0]!r} in mlwarden configuration"
                          f"{closest(unknown[0], _TOP_KEYS)}")
    exclude = table.get("exclude", [])
    if not isinstance(exclude, list) or not all(isinstance(x, str) for x in exclude):
        raise ConfigError(f"{source}: 'exclude' must be a list of glob strings")
    fail_on = Severity.HIGH
    if "fail-on" in table:
        try:
            fail_on = Severity.parse(str(table["fail-on"]))
        except ValueError as exc:
            raise ConfigError(f"{source}: fail-on: {exc}") from None
    policy = table.get("policy")
    if policy is not None and not isinstance(policy, str):
        raise ConfigError(f"{source}: 'policy' must be a path string")
    osv_db = table.get("osv-db")
    if osv_db is not None and not isinstance(osv_db, str):
        raise ConfigError(f"{source}: 'osv-db' must be a path string")
    sbom = table.get("sbom")
    if sbom is not None and not isinstance(sbom, str):
        raise ConfigError(f"{source}: 'sbom' must be a path string")
    raw_budgets = table.get("budgets", {})
    if not isinstance(raw_budgets, dict):
        raise ConfigError(f"{source}: 'budgets' must be a table")
    values: dict[str, Any] = {}
    for key, value in raw_budgets.items():
        name = key.replace("-", "_")
        if name not in _BUDGET_KEYS:
            known = [k.replace("_", "-") for k in _BUDGET_KEYS]
            raise ConfigError(f"{source}: unknown budget {key!r}{closest(key, known)}")
        # NaN, infinity, huge and wrong-typed values are one-line errors (safeload.validate_budget)
        from mlwarden.safeload import validate_budget

        values[name] = validate_budget(key, value, integer=name != "max_seconds_per_file", source=source)
    severity: dict[str, Severity] = {}
    raw_severity = table.get("severity", {})
    if not isinstance(raw_severity, dict):
        raise ConfigError(f"{source}: 'severity' must be a table of rule id = severity")
    for rule, level in raw_severity.items():
        rule_ids([rule], source, "severity", prefixes=False)
        try:
            severity[rule] = Severity.parse(str(level))
        except ValueError as exc:
            raise ConfigError(f"{source}: severity.{rule}: {exc}") from None
    per_path: dict[str, tuple[str, ...]] = {}
    raw_per_path = table.get("per-path-ignores", {})
    if not isinstance(raw_per_path, dict):
        raise ConfigError(f"{source}: 'per-path-ignores' must be a table of path glob = [rule ids]")
    for glob, rules in raw_per_path.items():
        per_path[glob] = rule_ids(rules, source, f"per-path-ignores.{glob}")
    max_age = table.get("osv-max-age-days")
    if max_age is not None and (isinstance(max_age, bool) or not isinstance(max_age, int) or max_age < 0):
        raise ConfigError(f"{source}: 'osv-max-age-days' must be a non-negative whole number of days")
    return Config(exclude=tuple(exclude), fail_on=fail_on, policy=policy, osv_db=osv_db, sbom=sbom,
                  osv_max_age_days=max_age,
                  budgets=Budgets(**values), source=source,
                  select=rule_ids(table.get("select", []), source, "select"),
                  ignore=rule_ids(table.get("ignore", []), source, "ignore"),
                  severity=severity, per_path_ignores=per_path)


def load_config(root: Path) -> Config:
    """Read .mlwarden.toml (whole file) or pyproject.toml's [tool.mlwarden] from ``root``; defaults otherwise."""
    dedicated = root / ".mlwarden.toml"
    pyproject = root / "pyproject.toml"
    for path, nested in ((dedicated, False), (pyproject, True)):
        try:
            if not path.is_file():
                continue
        except OSError as exc:  # a folder it may not enter (Python 3.11 raises)
            raise ConfigError(f"{path}: cannot read configuration: {exc.strerror or exc}") from None
        from mlwarden import _toml

        try:
            from mlwarden.safeload import read_text_bounded

            data = _toml.loads(read_text_bounded(path, 16 * 1024 * 1024, source=str(path)))
        except (MlwardenError, _toml.TOMLDecodeError, RecursionError) as exc:
            if nested:
                # pyproject.toml is first a dependency file, and the deps check reports it as one (an error
                # naming it): a broken one must not stop every other check (issue #15). Only a [tool.mlwarden]
                # table could have loosened anything; the defaults are the strictest settings.
                return Config()
            raise ConfigError(f"{path}: cannot read configuration: {exc}") from None
        if nested:
            tool = data.get("tool", {})
            if not isinstance(tool, dict) or "mlwarden" not in tool:
                continue
            table = tool["mlwarden"]
        else:
            table = data
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: mlwarden configuration must be a table")
        return _parse(table, str(path))
    return Config()
