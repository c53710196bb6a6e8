"""`mlwarden rule [ID]`: what a rule means and how to fix it, offline (like `ruff rule`)."""

from __future__ import annotations

import click


@click.command(short_help="Explain a rule (or list them all).")
@click.argument("rule_id", required=False)
def rule(rule_id: str | None) -> int:
    """Print RULE_ID's title, default severity, what it means and how to fix it; without an argument, one
    line per rule."""
    from mlwarden.errors import ConfigError
    from mlwarden.rules import RULES, closest_rule

    if rule_id is None:
        for known in RULES.values():
            click.echo(f"{known.id}  {known.severity.label:<8}  {known.summary}")
        return 0
    found = RULES.get(rule_id.upper())
    if found is None:
        raise ConfigError(f"unknown rule {rule_id!r}{closest_rule(rule_id)}")
    click.echo(f"{found.id} {found.name}: {found.summary}\n"
               f"default severity: {found.severity.label}\n\n{found.help}\n\nfix: {found.remediation}")
    return 0
