"""Load and layer policy files: the shipped default, an organisation file, then the repository's
allowlists/*.toml. Every problem is reported with file and line; nothing is partially accepted."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from mlwarden.errors import PolicyError
from mlwarden.paths import resolved
from mlwarden.policy.model import Entry, Policy, Settings

DEFAULT_DIR = "allowlists"
_MAX_POLICY_BYTES = 8 * 1024 * 1024


def default_policy_text() -> str:
    return (Path(__file__).parent / "default.toml").read_text(encoding="utf-8")


def policy_files(root: Path) -> list[Path]:
    folder = root / DEFAULT_DIR
    try:
        if not folder.is_dir():
            return []
        os.listdir(folder)  # glob() answers [] for a folder it cannot list: that would drop every entry silently
    except OSError as exc:
        raise PolicyError(f"{DEFAULT_DIR}/: cannot read the policy folder: {exc.strerror or exc}") from None
    return sorted(folder.glob("*.toml"))


def load_policy(root: Path, org_file: str | os.PathLike[str] | None = None,
                extra_files: Iterable[Path] = (), *, skip: frozenset[str] = frozenset()) -> Policy:
    """The merged policy: shipped default, then the organisation file, then allowlists/*.toml (less the files
    whose display names are in ``skip``)."""
    problems: list[str] = []
    paths: list[Path] = []
    if org_file:
        paths.append(Path(org_file))
    paths += policy_files(root)
    known = {resolved(p) for p in paths}
    paths += [p for p in extra_files if resolved(p) not in known]
    paths = [p for p in paths if _display(p, root) not in skip]
    if not paths:
        # Only the shipped default: its settings are Settings()'s defaults (a test keeps the two equal),
        # so a hook in a repository without allowlists does not pay for a TOML parser.
        return Policy(files=("<default>",))
    from mlwarden.policy.schema import parse_policy_text

    layers: list[tuple[str, str]] = [("<default>", default_policy_text())]
    from mlwarden.errors import InputError
    from mlwarden.safeload import read_text_bounded

    for path in paths:
        # Bounded, regular files only: a FIFO or /dev/zero named as a policy is a problem, never a hang.
        try:
            shown = _display(path, root)
            layers.append((shown, read_text_bounded(path, _MAX_POLICY_BYTES, source=shown)))
        except InputError as exc:
            problems.append(f"{_display(path, root)}: cannot read: {exc}")
    settings = Settings()
    entries: list[Entry] = []
    for source, text in layers:
        layer_settings, raw, layer_entries, errs = parse_policy_text(text, source)
        problems += errs
        if layer_settings is not None:
            settings = _merge_settings(settings, raw)
        entries += layer_entries
    index_ids = {e.fields["id"] for e in entries if e.kind == "index"}
    for entry in entries:
        if entry.kind == "package" and entry.get("index") and entry.get("index") not in index_ids:
            problems.append(f"{entry.origin}: [[package]] index {entry.get('index')!r} is not declared by any "
                            f"[[index]] entry (declared: {', '.join(sorted(index_ids)) or 'none'})")
    if problems:
        raise PolicyError(f"invalid policy ({len(problems)} problem{'s' if len(problems) > 1 else ''})", problems)
    return Policy(settings=settings, entries=tuple(entries), files=tuple(source for source, _ in layers))


def load_policy_for_checks(root: Path, org_file: str | os.PathLike[str] | None = None
                           ) -> tuple[Policy, list[tuple[str, str]], list[str]]:
    """(policy, [(file, why it was not applied)], every problem) for the checking commands. An invalid policy
    file becomes an error on that file (exit 2 unless findings already fail the run) and the checks run with
    the other layers, so one broken file hides no finding (issue #15). `allowlist` commands still refuse it."""
    try:
        return load_policy(root, org_file), [], []
    except PolicyError as exc:
        problems = list(exc.problems) or [str(exc)]
    try:
        shown = [_display(p, root) for p in ([Path(org_file)] if org_file else []) + policy_files(root)]
    except PolicyError as exc:  # the folder itself cannot be listed: only the organisation file can apply
        shown = [_display(Path(org_file), root)] if org_file else []
        problems.append(str(exc))
    broken = {name for name in shown if any(p.startswith(f"{name}:") for p in problems)}
    policy = None
    if broken:
        try:
            policy = load_policy(root, org_file, skip=frozenset(broken))
        except PolicyError:
            policy = None
    if policy is None:  # a problem across files (an [[index]] one file names and another lacks): none applies
        broken = set(shown) or {DEFAULT_DIR + "/"}
        policy = Policy(files=("<default>",))
    errors = []
    for name in sorted(broken):
        own = [p.removeprefix(f"{name}:").lstrip(" 0123456789:") for p in problems if p.startswith(f"{name}:")]
        first = own[0] if own else problems[0]
        more = f" (and {len(own) - 1} more problem{'s' if len(own) > 2 else ''})" if len(own) > 1 else ""
        errors.append((name, f"invalid policy file, not applied: {first}{more}"))
    return policy, errors, problems


def _merge_settings(current: Settings, raw: dict[str, Any]) -> Settings:
    """Later layers may tighten the organisation's settings but never loosen them."""
    values: dict[str, Any] = {}
    for key, value in raw.items():
        old = getattr(current, key)
        if key in ("require_hashes", "hf_require_commit_pin"):
            values[key] = old or value
        elif key == "grace_days":
            values[key] = min(old, value)
        elif key == "cooldown_days":  # a longer cooldown is stricter
            values[key] = max(old, value)
        elif isinstance(value, list):
            values[key] = tuple(value)
        else:
            values[key] = value
    return replace(current, **values)


def _display(path: Path, root: Path) -> str:
    """How a policy file is named in every origin and message: control and format characters of its name are
    shown escaped, never obeyed (a file named with an RTL override or an escape sequence forged `allowlist
    list` lines)."""
    try:
        shown = resolved(path).relative_to(resolved(root)).as_posix()
    except ValueError:
        shown = str(path)
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" if ord(c) < 256 else f"\\u{ord(c):04x}"
                   for c in shown)
