"""The one table of policy kinds: for each `[[kind]]`, its fields (validation, the `allowlist add` flag and its
help), what names an entry on the command line, how it reads to a person, and the rules that tie fields
together. The schema, the editor, `allowlist add|remove` and `Entry.key` all read this table: a new kind is one
entry here (plus the code that applies it)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlwarden.policy import values as v
from mlwarden.policy.model import canonicalize_name


@dataclass(frozen=True)
class Field:
    check: v.Check
    required: bool = False
    help: str = ""  # the `allowlist add` flag's help (the kind is prefixed)
    flag: str = ""  # the flag's name when it is not the key's ("--hf-org" for [[hf]] org)
    many: bool = False  # a repeatable flag; a list in the file
    switch: bool = False  # a --key/--no-key flag
    choices: tuple[str, ...] = ()
    from_flags: Callable[[list[str]], Any] | None = None  # the value of repeated flags, when not a plain list

    def option(self, key: str) -> str:
        return self.flag or "--" + key.replace("_", "-")


Fields = Mapping[str, Any]


def _none(_fields: Fields) -> str | None:
    return None


@dataclass(frozen=True)
class Kind:
    name: str
    summary: str  # what an entry of this kind does
    fields: dict[str, Field]
    ident: Callable[[Fields], str]  # what names the entry for `allowlist remove KIND IDENT`
    label: Callable[[Fields], str]  # how the entry reads in messages
    conflict: Callable[[Fields], str | None] = _none  # a rule between fields, broken: what is wrong
    also_named: Callable[[Fields, str], bool] = field(default=lambda _f, _i: False)  # other names `remove` takes
    # fills what `allowlist add` may leave out, from the repository (a model's sha256); raises ValueError
    complete: Callable[[dict[str, Any], Path], None] | None = None


def _exactly_one(kind: str, *keys: str, hint: str = "") -> Callable[[Fields], str | None]:
    def conflict(fields: Fields) -> str | None:
        given = [k for k in keys if k in fields]
        return None if len(given) == 1 else f"[[{kind}]] needs exactly one of {' or '.join(map(repr, keys))}{hint}"
    return conflict


def _exception_conflict(fields: Fields) -> str | None:
    if ("rule" in fields) == ("vulnerability" in fields):
        return "[[exception]] needs exactly one of 'rule' (with 'path') or 'vulnerability'"
    if "path" in fields and "rule" not in fields:
        return "[[exception]] 'path' goes with 'rule'"
    return None


def _package_conflict(fields: Fields) -> str | None:
    if fields.get("action") == "deny" and "index" in fields:
        return "[[package]] 'index' only applies to allow entries"
    return None


def _expected_files(items: list[str]) -> dict[str, str]:
    table: dict[str, str] = {}
    for item in items:
        path, sep, digest = item.partition("=")
        if not sep:
            raise ValueError(f"{item!r}: expected PATH=sha256:HEX")
        table[path] = digest
    return table


def _approved_content(fields: dict[str, Any], root: Path) -> None:
    """A reviewed model file is approved as it is now: its sha256, read from the working tree."""
    if "path" not in fields or "sha256" in fields:
        return
    from mlwarden.hub.hashing import CHUNK, HashJob, hash_file

    path = str(fields["path"])
    if (problem := v.relative_path(path)) is not None:
        raise ValueError(problem)
    hashed = hash_file(HashJob(root / path, "sha256"), bytearray(CHUNK))
    if hashed.digest is None:
        raise ValueError(f"{path}: cannot hash it: {hashed.error}")
    fields["sha256"] = "sha256:" + hashed.digest


def _package_label(f: Fields) -> str:
    return f"{f['name']} ({f.get('action', 'allow')}{' ' + f['versions'] if f.get('versions') else ''})"


TABLE: dict[str, Kind] = {kind.name: kind for kind in (
    Kind("index", "a package index or conda channel packages may come from",
         {"id": Field(v.text, True, "identifier used by [[package]] entries", flag="--id"),
          "kind": Field(v.one_of("pypi-simple", "find-links", "conda-channel"), help="kind of source",
                        choices=("pypi-simple", "find-links", "conda-channel")),
          "url": Field(v.url_or_channel, True, "index URL or conda channel"),
          "scope": Field(v.str_list, help="package-name globs served by this index", many=True),
          "exclusive": Field(v.boolean, help="names in scope may come only from here", switch=True)},
         ident=lambda f: str(f.get("id", "")), label=lambda f: str(f["id"])),
    Kind("vcs", "a git host (and organisations) VCS requirements may come from",
         {"host": Field(v.matching(re.compile(r"^[A-Za-z0-9.-]+(:\d+)?$"), "a host name"), True,
                        "git host, e.g. github.com"),
          "orgs": Field(v.str_list, help="organisation or org/repo glob", flag="--org", many=True),
          "require_commit": Field(v.boolean, help="refs must be 40-hex commits", switch=True)},
         ident=lambda f: str(f.get("host", "")), label=lambda f: str(f["host"])),
    Kind("url", "direct download URLs (wheels, archives) that are allowed",
         {"pattern": Field(v.url_pattern, True, "URL glob, e.g. 'https://download.example/wheels/*'"),
          "require_hash": Field(v.boolean, help="references must carry a hash", switch=True)},
         ident=lambda f: str(f.get("pattern", "")), label=lambda f: str(f["pattern"])),
    Kind("package", "a package allowed (optionally in a version range, from one index) or denied",
         {"name": Field(v.matching(v.PKG_NAME, "a package name"), True, "package name"),
          "action": Field(v.one_of("allow", "deny"), help="allow (default) or deny", choices=("allow", "deny")),
          "versions": Field(v.specifier, help="PEP 440 range, e.g. '>=2.6,<3'"),
          "index": Field(v.text, help="id of the [[index]] the package must come from")},
         ident=lambda f: canonicalize_name(str(f.get("name", ""))), label=_package_label, conflict=_package_conflict),
    Kind("hf", "a Hugging Face repository or organisation: revisions, formats, remote code, expected files",
         {"repo": Field(v.matching(v.HF_REPO, "a Hugging Face repo id such as 'org/name' or 'gpt2'"),
                        help="repo id, e.g. 'org/name'"),
          "org": Field(v.matching(v.HF_ORG, "a Hugging Face organisation name"), help="a whole organisation",
                       flag="--hf-org"),
          "type": Field(v.one_of("model", "dataset", "space"), help="repo type",
                        choices=("model", "dataset", "space")),
          "revisions": Field(v.list_of(v.COMMIT, "40-hex-digit commit ids"), help="allowed 40-hex commit",
                             flag="--revision", many=True),
          "allow_formats": Field(v.str_list, help="allowed file format", flag="--allow-format", many=True),
          "trust_remote_code": Field(v.boolean, help="remote code allowed", switch=True),
          "expected_files": Field(v.expected_files, help="PATH=sha256:HEX expected file hash",
                                  flag="--expected-file", many=True, from_flags=_expected_files)},
         ident=lambda f: str(f.get("repo") or f.get("org") or ""), label=lambda f: str(f.get("repo") or f.get("org")),
         conflict=_exactly_one("hf", "repo", "org")),
    Kind("pickle", "pickle globals that are safe to import and call (your own classes)",
         {"globals": Field(v.list_of(v.DOTTED, "exact dotted names such as 'mypkg.models.Net'"), True,
                           "exact dotted name of a safe global", flag="--global", many=True)},
         ident=lambda f: ",".join(f.get("globals", [])), label=lambda f: ", ".join(f["globals"]),
         also_named=lambda f, ident: ident in f.get("globals", [])),
    Kind("model", "a reviewed model file, approved by its sha256: a changed file is judged again",
         {"path": Field(v.relative_path, True, "the file's path in the repository"),
          "sha256": Field(v.matching(v.SHA256, "sha256:<64 hex digits>"), True,
                          "the approved content as sha256:HEX (default: the file as it is now)")},
         ident=lambda f: str(f.get("path", "")), label=lambda f: f"{f['path']} (sha256 {str(f['sha256'])[:12]}…)",
         complete=_approved_content),
    Kind("exception", "a waiver: a rule on a path glob, or a vulnerability id",
         {"rule": Field(v.rule_id, help="rule id to waive, e.g. MW102"),
          "path": Field(v.glob, help="path glob the waiver applies to"),
          "vulnerability": Field(v.matching(v.VULN, "a vulnerability id such as GHSA-xxxx or CVE-2024-1234"),
                                 help="vulnerability id or alias to waive")},
         ident=lambda f: str(f["vulnerability"]) if f.get("vulnerability") else f"{f.get('rule')}:{f.get('path', '*')}",
         label=lambda f: str(f["vulnerability"]) if f.get("vulnerability") else f"{f['rule']} {f.get('path', '*')}",
         conflict=_exception_conflict,
         also_named=lambda f, ident: not f.get("vulnerability") and ident == f.get("rule")),
)}

KINDS: tuple[str, ...] = tuple(TABLE)
