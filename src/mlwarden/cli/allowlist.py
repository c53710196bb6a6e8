"""`mlwarden allowlist …`: the advisor's tool to edit, list, show and check the policy files."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import click

from mlwarden.paths import resolved
from mlwarden.policy.kinds import KINDS, TABLE, Field

_DEFAULT_FILE = Path("allowlists") / "policy.toml"


def _date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (expected YYYY-MM-DD)") from None


def _root() -> Path:
    """The repository root, found from any subfolder: the policy lives there, not in the current folder."""
    from mlwarden.discover import repo_root

    return repo_root()


def _policy_file(given: Path | None, root: Path) -> Path:
    return given if given is not None else root / _DEFAULT_FILE


def _org_option(func: Any) -> Any:
    return click.option("--policy", "org_policy", type=click.Path(dir_okay=False, path_type=Path),
                        envvar="MLWARDEN_POLICY",
                        help="Organisation policy file, layered under allowlists/.")(func)


@click.group(short_help="Edit and check the advisor's policy files.")
def allowlist() -> None:
    """Edit, list and check the policy files: the shipped default, an organisation file (--policy or
    MLWARDEN_POLICY) and this repository's allowlists/*.toml."""


def _kind_options(func: Any) -> Any:
    """One flag per field of the kinds table (policy/kinds.py): a new kind or field needs no edit here. Kinds
    that share a flag (--path) share its shape; the help says which kinds take it."""
    flags: dict[str, tuple[Field, list[str]]] = {}
    for kind in TABLE.values():
        for key, spec in kind.fields.items():
            flag = spec.option(key)
            flags.setdefault(flag, (spec, []))[1].append(f"[{kind.name}] {spec.help}")
    for flag, (spec, helps) in sorted(flags.items(), reverse=True):
        name = _param(flag)
        help_text = "; ".join(helps) + (" (repeatable)" if spec.many else "")
        if spec.switch:
            option = click.option(f"{flag}/--no-{flag[2:]}", name, default=None, help=help_text)
        elif spec.choices:
            option = click.option(flag, name, type=click.Choice(spec.choices), help=help_text)
        else:
            option = click.option(flag, name, multiple=spec.many, help=help_text)
        func = option(func)
    return func


def _param(flag: str) -> str:
    return "opt_" + flag[2:].replace("-", "_")


@allowlist.command(short_help="Add an entry (validated; comments kept; atomic write).")
@click.argument("kind", type=click.Choice(KINDS))
@click.option("--file", "file_", type=click.Path(dir_okay=False, path_type=Path), default=None,
              show_default=True, help="Policy file to edit (created if missing).")
@click.option("--reason", required=True, help="Why the entry exists (ticket, review).")
@click.option("--owner", required=True, help="Who approved it (e-mail or team).")
@click.option("--expires", required=True, callback=_date, help="Expiry date, YYYY-MM-DD.")
@click.option("--added", callback=_date, help="Date added, YYYY-MM-DD (default: today).")
@_kind_options
@_org_option
def add(kind: str, file_: Path, reason: str, owner: str, expires: dt.date, added: dt.date | None,
        org_policy: Path | None, **options: Any) -> int:
    from mlwarden.policy.edit import add_entry

    today = dt.date.today()
    if expires < today:
        raise click.BadParameter(f"{expires} is in the past: an entry must expire in the future",
                                 param_hint="--expires")
    if added and added > today:
        raise click.BadParameter(f"{added} is in the future", param_hint="--added")
    root = _root()
    fields = _fields(kind, options, root)
    fields.update(reason=reason, owner=owner, added=added or today, expires=expires)
    file_ = _policy_file(file_, root)
    ident = add_entry(file_, kind, fields, root, str(org_policy) if org_policy else None)
    click.echo(f"added [[{kind}]] {ident} to {file_}", err=True)
    return 0


add.help = ("Add a [[KIND]] entry to a policy file. The result is validated (and the whole layered policy with it) "
            "before anything is written; an invalid edit leaves the file untouched.\n\nKIND is one of:\n\n\b\n"
            + "\n".join(f"{kind.name:10} {kind.summary}" for kind in TABLE.values()))


def _fields(kind: str, options: dict[str, Any], root: Path) -> dict[str, Any]:
    spec = TABLE[kind]
    mine = {_param(field.option(key)): key for key, field in spec.fields.items()}
    stray = [name for name, value in options.items() if name not in mine and value not in (None, (), False)]
    if stray:
        names = ", ".join("--" + s.removeprefix("opt_").replace("_", "-") for s in sorted(stray))
        raise click.UsageError(f"option(s) {names} do not apply to [[{kind}]]")
    fields: dict[str, Any] = {}
    for param, key in mine.items():
        value = options.get(param)
        if value is None or value == ():
            continue
        field = spec.fields[key]
        if isinstance(value, tuple):
            try:
                value = field.from_flags(list(value)) if field.from_flags else list(value)
            except ValueError as exc:
                raise click.BadParameter(str(exc), param_hint=field.option(key)) from None
        fields[key] = value
    if spec.complete is not None:
        try:
            spec.complete(fields, root)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint=f"[[{kind}]]") from None
    return fields


@allowlist.command(short_help="Remove entries by kind and name.")
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("ident")
@click.option("--file", "file_", type=click.Path(dir_okay=False, path_type=Path), default=None,
              show_default=True, help="Policy file to edit.")
@_org_option
def remove(kind: str, ident: str, file_: Path, org_policy: Path | None) -> int:
    """Remove the [[KIND]] entries named IDENT (package name, index id, vcs host, url pattern, hf repo or
    org, a pickle global, an exception's RULE or RULE:PATH or vulnerability id)."""
    from mlwarden.errors import PolicyError
    from mlwarden.policy.edit import remove_entries

    root = _root()
    file_ = _policy_file(file_, root)
    count = remove_entries(file_, kind, ident, root, str(org_policy) if org_policy else None)
    if not count:
        raise PolicyError(f"{file_}: no [[{kind}]] entry named {ident!r}")
    click.echo(f"removed {count} [[{kind}]] entr{'y' if count == 1 else 'ies'} named {ident!r} from {file_}",
               err=True)
    return 0


@allowlist.command("list", short_help="One line per entry, with status and origin.")
@click.argument("kind", type=click.Choice(KINDS), required=False)
@_org_option
def list_(kind: str | None, org_policy: Path | None) -> int:
    """List the entries of the merged policy: kind, name, owner, expiry, status and file:line."""
    from mlwarden.policy import load_policy

    policy = load_policy(_root(), org_policy)
    for entry in policy.entries:
        if kind and entry.kind != kind:
            continue
        click.echo(f"{entry.kind:9} {entry.key:40} owner={entry.owner} expires={entry.expires} "
                   f"status={policy.status(entry)} from={entry.origin}")
    return 0


@allowlist.command(short_help="Print the merged policy and where each entry came from.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@_org_option
def show(fmt: str, org_policy: Path | None) -> int:
    """Print the merged policy (settings and every entry) and, for each entry, the file it came from."""
    from dataclasses import asdict

    from mlwarden.policy import load_policy

    policy = load_policy(_root(), org_policy)
    if fmt == "json":
        doc = {
            "layers": list(policy.files),
            "settings": asdict(policy.settings),
            "entries": [{"kind": e.kind, **e.fields, "reason": e.reason, "owner": e.owner,
                         "added": e.added.isoformat(), "expires": e.expires.isoformat(),
                         "status": policy.status(e), "source": str(e.origin)} for e in policy.entries],
        }
        click.echo(json.dumps(doc, indent=2, default=str))
        return 0
    click.echo("# layers: " + " -> ".join(policy.files))
    click.echo("[policy]")
    for key, value in asdict(policy.settings).items():
        click.echo(f"{key} = {json.dumps(value)}")
    for entry in policy.entries:
        click.echo(f"\n[[{entry.kind}]]  # from {entry.origin} ({policy.status(entry)})")
        for key, value in entry.fields.items():
            click.echo(f"{key} = {json.dumps(value, default=str)}")
        click.echo(f"reason = {json.dumps(entry.reason)}\nowner = {json.dumps(entry.owner)}")
        click.echo(f"added = {entry.added}\nexpires = {entry.expires}")
    return 0


@allowlist.command(short_help="Validate policy files (the mlwarden-allowlist hook).")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@_org_option
def check(files: tuple[Path, ...], org_policy: Path | None) -> int:
    """Validate FILES (default: every layer) and the merged policy. Every problem is listed with file and
    line (exit 2). Entries already past their expiry date fail the check (exit 1)."""
    from mlwarden.errors import PolicyError
    from mlwarden.policy import load_policy

    root = _root()
    missing = [f for f in files if not f.is_file()]
    if missing:
        raise PolicyError("cannot check missing file(s)", [f"{f}: no such file" for f in missing])
    policy = load_policy(root, org_policy, extra_files=files)
    today = dt.date.today()
    chosen = {str(f) for f in files} | {f.as_posix() for f in files}
    from mlwarden.policy.model import Status

    mine = [(e, status) for e, status in policy.expiry(today)
            if not files or e.origin.file in chosen or _same(e.origin.file, files, root)]
    # The same rule as `scan` (MW601/MW602): past the grace period fails; in grace or expiring warns.
    expired = [e for e, status in mine if status is Status.EXPIRED]
    for entry, status in mine:
        if status is Status.EXPIRED:
            click.echo(f"{entry.origin}: [[{entry.kind}]] {entry.key} expired on {entry.expires}, grace period "
                       f"over (owner {entry.owner}): it no longer applies")
        elif status is Status.GRACE:
            click.echo(f"{entry.origin}: [[{entry.kind}]] {entry.key} expired on {entry.expires}; in its grace "
                       f"period until {policy.grace_end(entry)} (owner {entry.owner})")
    checked = len(files) or len(policy.files) - 1
    click.echo(f"mlwarden: {checked} policy file(s) valid, {len(policy.entries)} entries, "
               f"{len(expired)} expired", err=True)
    return 1 if expired else 0


def _same(origin: str, files: tuple[Path, ...], root: Path) -> bool:
    target = resolved(root / origin)
    return any(resolved(f) == target for f in files)


@allowlist.command(short_help="List expired entries and those expiring soon.")
@click.option("--days", type=click.IntRange(min=0), default=30, show_default=True,
              help="Also list entries expiring within this many days.")
@_org_option
def expired(days: int, org_policy: Path | None) -> int:
    """List entries past their expiry (with the grace period they are in, if any) and entries expiring
    within --days. Exit 1 when any entry has expired."""
    from mlwarden.policy import load_policy

    policy = load_policy(_root(), org_policy)
    today = dt.date.today()
    soon = today + dt.timedelta(days=days)
    any_expired = False
    for entry in sorted(policy.entries, key=lambda e: e.expires):
        if entry.expires > soon:
            continue
        status = policy.status(entry, today)
        if entry.expires < today:
            any_expired = True
            label = "in grace period" if status == "grace" else "EXPIRED"
        else:
            label = f"expires in {(entry.expires - today).days} day(s)"
        click.echo(f"{entry.origin}: [[{entry.kind}]] {entry.key}: {label} ({entry.expires}, owner {entry.owner})")
    return 1 if any_expired else 0
