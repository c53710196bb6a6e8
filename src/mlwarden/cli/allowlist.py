"""`mlwarden allowlist …`: the advisor's tool to edit, list, show and check the policy files."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import click

from mlwarden.paths import resolved
from mlwarden.policy.model import KINDS

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


@allowlist.command(short_help="Add an entry (validated; comments kept; atomic write).")
@click.argument("kind", type=click.Choice(KINDS))
@click.option("--file", "file_", type=click.Path(dir_okay=False, path_type=Path), default=None,
              show_default=True, help="Policy file to edit (created if missing).")
@click.option("--reason", required=True, help="Why the entry exists (ticket, review).")
@click.option("--owner", required=True, help="Who approved it (e-mail or team).")
@click.option("--expires", required=True, callback=_date, help="Expiry date, YYYY-MM-DD.")
@click.option("--added", callback=_date, help="Date added, YYYY-MM-DD (default: today).")
@click.option("--name", help="[package] package name.")
@click.option("--action", type=click.Choice(["allow", "deny"]), help="[package] allow (default) or deny.")
@click.option("--versions", help="[package] PEP 440 range, e.g. '>=2.6,<3'.")
@click.option("--index", help="[package] id of the [[index]] the package must come from.")
@click.option("--id", "id_", help="[index] identifier used by [[package]] entries.")
@click.option("--kind", "index_kind", type=click.Choice(["pypi-simple", "find-links", "conda-channel"]),
              help="[index] kind of source.")
@click.option("--url", help="[index] index URL or conda channel.")
@click.option("--scope", multiple=True, help="[index] package-name globs served by this index (repeatable).")
@click.option("--exclusive", is_flag=True, default=None, help="[index] names in scope may come only from here.")
@click.option("--host", help="[vcs] git host, e.g. github.com.")
@click.option("--org", "orgs", multiple=True, help="[vcs] organisation or org/repo glob (repeatable); "
              "[hf] with --hf-org instead of --repo.")
@click.option("--require-commit/--no-require-commit", default=None, help="[vcs] refs must be 40-hex commits.")
@click.option("--pattern", help="[url] URL glob, e.g. 'https://download.example/wheels/*'.")
@click.option("--require-hash/--no-require-hash", default=None, help="[url] references must carry a hash.")
@click.option("--repo", help="[hf] repo id, e.g. 'org/name'.")
@click.option("--hf-org", help="[hf] a whole organisation.")
@click.option("--type", "repo_type", type=click.Choice(["model", "dataset", "space"]), help="[hf] repo type.")
@click.option("--revision", "revisions", multiple=True, help="[hf] allowed 40-hex commit (repeatable).")
@click.option("--allow-format", "allow_formats", multiple=True, help="[hf] allowed file format (repeatable).")
@click.option("--trust-remote-code/--no-trust-remote-code", default=None, help="[hf] remote code allowed.")
@click.option("--expected-file", "expected_files", multiple=True,
              help="[hf] PATH=sha256:HEX expected file hash (repeatable).")
@click.option("--global", "globals_", multiple=True, help="[pickle] exact dotted name of a safe global "
              "(repeatable).")
@click.option("--rule", help="[exception] rule id to waive, e.g. MW102.")
@click.option("--path", help="[exception] path glob the waiver applies to.")
@click.option("--vulnerability", help="[exception] vulnerability id or alias to waive.")
@_org_option
def add(kind: str, file_: Path, reason: str, owner: str, expires: dt.date, added: dt.date | None,
        org_policy: Path | None, **options: Any) -> int:
    """Add a [[KIND]] entry to a policy file. The result is validated (and the whole layered policy with
    it) before anything is written; an invalid edit leaves the file untouched."""
    from mlwarden.policy.edit import add_entry

    today = dt.date.today()
    if expires < today:
        raise click.BadParameter(f"{expires} is in the past: an entry must expire in the future",
                                 param_hint="--expires")
    if added and added > today:
        raise click.BadParameter(f"{added} is in the future", param_hint="--added")
    fields = _fields(kind, options)
    fields.update(reason=reason, owner=owner, added=added or today, expires=expires)
    root = _root()
    file_ = _policy_file(file_, root)
    ident = add_entry(file_, kind, fields, root, str(org_policy) if org_policy else None)
    click.echo(f"added [[{kind}]] {ident} to {file_}", err=True)
    return 0


_FIELD_OPTIONS: dict[str, dict[str, str]] = {
    "package": {"name": "name", "action": "action", "versions": "versions", "index": "index"},
    "index": {"id_": "id", "index_kind": "kind", "url": "url", "scope": "scope", "exclusive": "exclusive"},
    "vcs": {"host": "host", "orgs": "orgs", "require_commit": "require_commit"},
    "url": {"pattern": "pattern", "require_hash": "require_hash"},
    "hf": {"repo": "repo", "hf_org": "org", "repo_type": "type", "revisions": "revisions",
           "allow_formats": "allow_formats", "trust_remote_code": "trust_remote_code",
           "expected_files": "expected_files"},
    "pickle": {"globals_": "globals"},
    "exception": {"rule": "rule", "path": "path", "vulnerability": "vulnerability"},
}


def _fields(kind: str, options: dict[str, Any]) -> dict[str, Any]:
    mapping = _FIELD_OPTIONS[kind]
    stray = [name for name, value in options.items()
             if name not in mapping and value not in (None, (), False)]
    if stray:
        names = ", ".join("--" + s.rstrip("_").replace("_", "-") for s in sorted(stray))
        raise click.UsageError(f"option(s) {names} do not apply to [[{kind}]]")
    fields: dict[str, Any] = {}
    for option, key in mapping.items():
        value = options.get(option)
        if value is None or value == ():
            continue
        if key == "expected_files":
            table: dict[str, str] = {}
            for item in value:
                path, sep, digest = item.partition("=")
                if not sep:
                    raise click.BadParameter(f"{item!r}: expected PATH=sha256:HEX", param_hint="--expected-file")
                table[path] = digest
            value = table
        elif isinstance(value, tuple):
            value = list(value)
        fields[key] = value
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
