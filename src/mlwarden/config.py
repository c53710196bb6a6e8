"""Frozen configuration: [tool.mlwarden] in pyproject.toml or .mlwarden.toml, overridden by CLI options."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlwarden.errors import ConfigError
from mlwarden.findings import Severity
from mlwarden.safeload import validate_budget


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
    sbom: str | None = None
    budgets: Budgets = field(default_factory=Budgets)
    source: str | None = None

    def with_overrides(self, **changes: Any) -> Config:
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


_BUDGET_KEYS = {f.name: f.type for f in dataclasses.fields(Budgets)}
_TOP_KEYS = {"exclude", "fail-on", "policy", "osv-db", "sbom", "budgets"}


def _parse(table: dict[str, Any], source: str) -> Config:
    unknown = sorted(set(table) - _TOP_KEYS)
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) in mlwarden configuration: {', '.join(unknown)}")
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
            raise ConfigError(f"{source}: unknown budget {key!r} (known: {', '.join(sorted(_BUDGET_KEYS))})")
        # NaN, infinity, huge and wrong-typed values are one-line errors (safeload.validate_budget)
        values[name] = validate_budget(key, value, integer=name != "max_seconds_per_file", source=source)
    return Config(exclude=tuple(exclude), fail_on=fail_on, policy=policy, osv_db=osv_db, sbom=sbom,
                  budgets=Budgets(**values), source=source)


def load_config(root: Path) -> Config:
    """Read .mlwarden.toml (whole file) or pyproject.toml's [tool.mlwarden] from ``root``; defaults otherwise."""
    dedicated = root / ".mlwarden.toml"
    pyproject = root / "pyproject.toml"
    for path, nested in ((dedicated, False), (pyproject, True)):
        if not path.is_file():
            continue
        from mlwarden import _toml

        try:
            data = _toml.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, _toml.TOMLDecodeError) as exc:
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
