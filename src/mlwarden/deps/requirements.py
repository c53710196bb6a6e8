"""pip requirements files, read as pip reads them (pip._internal.req.req_file): BOM and coding-line decoding,
backslash continuations joined before comments are stripped, ``${VAR}`` expansion, every option pip accepts
(with optparse's unique-prefix abbreviations), per-requirement options, and -r / -c includes followed once each
(a visited set and a depth limit), only inside the project.

pip's parser is internal and needs a pip session, so the small format is read here and each requirement goes
through ``packaging`` (which pip itself uses).
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from mlwarden.deps.model import Manifest, Pin, Problem, Source, is_template
from mlwarden.deps.reading import MAX_INCLUDE_DEPTH, MAX_LINE_CHARS, MAX_NAME_CHARS, ReadFailure, inside, read_text
from mlwarden.paths import display_path
from mlwarden.redact import looks_like_credential, redact
from mlwarden.rules import DEP_INCLUDE_CYCLE, DEP_UNKNOWN_OPTION

_VCS = re.compile(r"^(git|hg|svn|bzr)\+", re.IGNORECASE)
_EGG = re.compile(r"[#&]egg=([A-Za-z0-9][A-Za-z0-9._-]*)")
_WHEEL = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._]*)-([^-]+)-.+\.whl$")
_SDIST = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*?)-(\d[^-]*)\.(?:tar\.gz|zip|tar\.bz2)$")
# pip's SUPPORTED_OPTIONS (req_file.py), long name -> short alias, and which take a value.
_LINE_OPTIONS = {"--index-url": True, "--extra-index-url": True, "--no-index": False, "--constraint": True,
                 "--requirement": True, "--editable": True, "--find-links": True, "--no-binary": True,
                 "--only-binary": True, "--prefer-binary": False, "--require-hashes": False, "--pre": False,
                 "--trusted-host": True, "--use-feature": True}
# SUPPORTED_OPTIONS_REQ: allowed after a requirement on the same line.
_REQ_OPTIONS = {"--hash": True, "--global-option": True, "--config-settings": True}
_SHORT = {"-i": "--index-url", "-c": "--constraint", "-r": "--requirement", "-e": "--editable",
          "-f": "--find-links", "-C": "--config-settings"}
_ALL_LONG = {**_LINE_OPTIONS, **_REQ_OPTIONS}
_COMMENT = re.compile(r"(^|\s+)#.*$")
_ENV_VAR = re.compile(r"(?P<var>\$\{(?P<name>[A-Z0-9_]+)\})")


@dataclass
class _Walk:
    """One walk over a file and its includes: what was read (a diamond is read once), the stack (a cycle
    is reported), and the folder includes must stay inside."""

    root: Path
    base: Path
    seen: set[Path] = field(default_factory=set)
    stack: list[Path] = field(default_factory=list)


def logical_lines(text: str) -> list[tuple[int, str]]:
    """pip's join_lines + ignore_comments: continuations are joined first (a comment line ends one)."""
    joined: list[tuple[int, str]] = []
    buffer: list[str] = []
    first = 0
    for number, line in enumerate(text.splitlines(), 1):
        if not line.endswith("\\") or _COMMENT.match(line):
            if _COMMENT.match(line):
                line = " " + line
            if buffer:
                buffer.append(line)
                joined.append((first, "".join(buffer)))
                buffer = []
            else:
                joined.append((number, line))
        else:
            if not buffer:
                first = number
            buffer.append(line.strip("\\"))
    if buffer:
        joined.append((first, "".join(buffer)))
    out = []
    for number, line in joined:
        line = _COMMENT.sub("", line).strip()
        if line:
            out.append((number, line))
    return out


def expand_env(value: str) -> str:
    """pip expands ${VAR} (upper case, digits, underscore) from the environment; unset ones stay as written."""
    return _ENV_VAR.sub(lambda m: os.environ.get(m["name"], m["var"]), value)


def parse_requirements(path: Path, root: Path, *, explicit: bool = True) -> list[Manifest]:
    """The file and everything it includes (-r, -c), each as its own Manifest. Includes must resolve inside
    ``root`` (or, for a file named outside it, inside that file's folder)."""
    base = root if inside(path, root) else path.parent
    walk = _Walk(root=root, base=base)
    return _parse(path, walk, constraint=False)


def _parse(path: Path, walk: _Walk, *, constraint: bool) -> list[Manifest]:
    display = display_path(path, walk.root)
    manifest = Manifest(file=display, kind="requirements")
    resolved = path.resolve()
    walk.seen.add(resolved)
    walk.stack.append(resolved)
    try:
        try:
            text = read_text(path)
        except ReadFailure as exc:
            manifest.fatal(str(exc))
            return [manifest]
        included = parse_lines(logical_lines(text), manifest, path, walk, constraint=constraint)
        last = text.rstrip("\n").rsplit("\n", 1)[-1]
        if last.endswith("\\") and not _COMMENT.match(last):
            # pip joins the continuation with nothing; no tool writes a file that ends mid-requirement.
            manifest.problem("the file ends in a line continuation ('\\'): cut short?", text.count("\n") or 1)
        return [manifest, *included]
    finally:
        walk.stack.pop()


def parse_lines(lines: list[tuple[int, str]], manifest: Manifest, path: Path, walk: _Walk | None = None, *,
                constraint: bool = False) -> list[Manifest]:
    """Logical lines into ``manifest``; returns the manifests of included files."""
    walk = walk or _Walk(root=path.parent, base=path.parent)
    included: list[Manifest] = []
    for number, line in lines:
        if len(line) > MAX_LINE_CHARS:
            manifest.problem(f"line longer than {MAX_LINE_CHARS} characters; not read", number)
            continue
        if line.startswith("-"):
            included += _options(line, number, manifest, path, walk)
            continue
        _requirement(line, number, manifest, path, constraint)
    return included


def _long(option: str) -> str | None:
    """optparse's matching: a short alias, an exact long name or a unique prefix of one."""
    if option in _SHORT:
        return _SHORT[option]
    if option in _ALL_LONG:
        return option
    if option.startswith("--"):
        matches = [name for name in _ALL_LONG if name.startswith(option)]
        if len(matches) == 1:
            return matches[0]
    return None


def _tokens(text: str, number: int, manifest: Manifest) -> list[str] | None:
    try:
        return shlex.split(text, posix=True)
    except ValueError as exc:
        manifest.problem(f"cannot be split into words ({exc}): {_quote(text)}", number)
        return None


def _option_values(tokens: list[str], number: int, manifest: Manifest,
                   allowed: dict[str, bool]) -> list[tuple[str, str]]:
    """(long option, value) pairs; unknown options are reported."""
    out: list[tuple[str, str]] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        head, eq, inline = token.partition("=")
        if not head.startswith("--") and len(head) > 2 and head[:2] in _SHORT:  # -rfile.txt
            head, inline, eq = head[:2], token[2:], "="
        name = _long(head)
        if name is None or name not in allowed:
            manifest.problem(f"unknown requirements option {redact(head)[:80]!r}", number, rule=DEP_UNKNOWN_OPTION)
            continue
        value = ""
        if allowed[name]:
            if eq:
                value = inline
            elif index < len(tokens):
                value = tokens[index]
                index += 1
            else:
                manifest.problem(f"option {name} needs a value", number)
                continue
        out.append((name, value))
    return out


def _options(line: str, number: int, manifest: Manifest, path: Path, walk: _Walk) -> list[Manifest]:
    tokens = _tokens(line, number, manifest)
    if tokens is None:
        return []
    included: list[Manifest] = []
    for name, value in _option_values(tokens, number, manifest, _LINE_OPTIONS):
        if name in ("--requirement", "--constraint"):
            included += _include(expand_env(value), number, manifest, path, walk, name == "--constraint")
        elif name == "--index-url":
            manifest.indexes.append((redact(value), number))
        elif name == "--extra-index-url":
            manifest.extra_indexes.append((redact(value), number))
        elif name == "--find-links":
            manifest.find_links.append((redact(value), number))
        elif name == "--editable":
            _requirement(value, number, manifest, path, False)
    return included


def _include(target_text: str, number: int, manifest: Manifest, path: Path, walk: _Walk,
             constraint: bool) -> list[Manifest]:
    if re.match(r"^(https?|file|ftp)://", target_text, re.IGNORECASE):
        manifest.fatal(f"included file {redact(target_text)} is remote: not fetched (offline), so not checked",
                       number)
        return []
    target = path.parent / target_text
    shown = display_path(target, walk.root)
    if not inside(target, walk.base):
        # Never read (nor quote) a file outside the project: "-r ~/.aws/credentials" is refused unread.
        manifest.fatal(f"included file {redact(target_text)} is outside the project; not read", number)
        return []
    manifest.includes.append(shown)
    resolved = target.resolve()
    if resolved in walk.stack:
        cycle = " -> ".join(display_path(p, walk.root) for p in (*walk.stack, resolved))
        manifest.problem(f"include cycle: {cycle}", number, rule=DEP_INCLUDE_CYCLE)
        return []
    if resolved in walk.seen:
        return []  # a diamond: already read once in this walk
    if len(walk.stack) >= MAX_INCLUDE_DEPTH:
        manifest.fatal(f"includes nested deeper than {MAX_INCLUDE_DEPTH} files; {shown} not read", number)
        return []
    if not target.exists():
        manifest.fatal(f"included file {shown} not found", number)
        return []
    return _parse(target, walk, constraint=constraint)


def break_args_options(line: str) -> tuple[str, str]:
    """pip's split of a requirement line: words up to the first one starting with '-' are the requirement."""
    tokens = line.split(" ")
    args: list[str] = []
    for token in tokens:
        if token.startswith("-"):
            break
        args.append(token)
    return " ".join(args), " ".join(tokens[len(args):])


def _requirement(line: str, number: int, manifest: Manifest, path: Path, constraint: bool) -> None:
    text, options = break_args_options(line)
    hashes: list[str] = []
    if options:
        tokens = _tokens(options, number, manifest)
        if tokens is None:
            return
        for name, value in _option_values(tokens, number, manifest, _REQ_OPTIONS):
            if name == "--hash" and _hash_ok(value, number, manifest):
                hashes.append(value)
    text = text.strip()
    if not text:
        return
    pin = _pin(text, number, manifest, tuple(hashes), path)
    if pin is not None:
        if constraint:
            pin = _with_groups(pin, ("constraints",))
        manifest.pins.append(pin)


# pip's --hash callback accepts only these (pip._internal.utils.hashes.STRONG_HASHES), as "name:hexdigest".
_HASH_HEX_DIGITS = {"sha256": 64, "sha384": 96, "sha512": 128}


def _hash_ok(value: str, number: int, manifest: Manifest) -> bool:
    """pip refuses a --hash without "name:" or with another algorithm; a digest of the wrong length or with
    non-hex characters can never match (a file cut short mid-hash): each is a problem on its line."""
    algorithm, colon, digest = value.partition(":")
    if not colon:
        manifest.problem("--hash needs a hash name followed by a value (--hash=sha256:…); pip refuses this line",
                         number)
        return False
    if algorithm not in _HASH_HEX_DIGITS:
        manifest.problem(f"--hash algorithm {redact(algorithm)[:20]!r} is not one pip allows (sha256, sha384, "
                         "sha512); pip refuses this line", number)
        return False
    wanted = _HASH_HEX_DIGITS[algorithm]
    if len(digest) != wanted or not re.fullmatch(r"[0-9a-fA-F]*", digest):
        manifest.problem(f"--hash {algorithm} digest is {len(digest)} characters, not {wanted} hex digits (cut "
                         "short or mistyped): it can never match, so the install fails", number)
        return False
    return True


def _with_groups(pin: Pin, groups: tuple[str, ...]) -> Pin:
    from dataclasses import replace

    return replace(pin, groups=groups)


def _quote(text: str) -> str:
    """A line as a message may show it: credentials masked, length bounded."""
    shown = redact(text)
    return repr(shown if len(shown) <= 120 else shown[:117] + "...")


def _pin(text: str, number: int, manifest: Manifest, hashes: tuple[str, ...], path: Path) -> Pin | None:
    # A bare URL or path (pip accepts "git+https://…#egg=name", "./pkg", "https://…/x.whl").
    if _VCS.match(text) or re.match(r"^(https?|file)://", text) or text.startswith((".", "/", "~")) \
            or ("/" in text.split(";")[0] and "@" not in text):
        location = text.split(";")[0].strip()
        egg = _EGG.search(location)
        filename = location.split("#")[0].split("?")[0].rstrip("/").rsplit("/", 1)[-1]
        artefact = _WHEEL.match(filename) or _SDIST.match(filename)
        name = egg.group(1) if egg else artefact.group(1) if artefact else filename.removesuffix(".git")
        version = artefact.group(2) if artefact and not egg else None
        if not egg and not artefact and name:
            manifest.notes.append(f"line {number}: {name!r} is a guess from the URL (no #egg= name): pip learns the "
                                  "real name only by building the source")
        if len(name) > MAX_NAME_CHARS:
            manifest.problem(f"requirement name longer than {MAX_NAME_CHARS} characters; not read", number)
            return None
        return Pin(name=name, version=version, specifier=f"=={version}" if version else "", file=manifest.file,
                   line=number, hashes=hashes, source=source_for_url(location))
    head = re.split(r"[\s\[<>=!~;@(]", text, maxsplit=1)[0]
    if looks_like_credential(head):
        manifest.problem("a requirement whose name has the shape of a token (a URL cut before its scheme?); "
                         "not read", number)
        return None
    if len(head) > MAX_NAME_CHARS:
        manifest.problem(f"requirement name longer than {MAX_NAME_CHARS} characters; not read", number)
        return None
    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        if is_template(text):
            manifest.template(number)
            return None
        reason = str(exc).splitlines()[0][:120]
        manifest.problem(f"not a valid requirement {_quote(text)}: {redact(reason)}", number)
        return None
    if req.url and not re.match(r"^[A-Za-z][\w+.-]*:", req.url):
        # pip refuses a direct reference without a scheme; what precedes the "@" is then often the login part of
        # a URL whose scheme was lost, so neither it nor the line is quoted.
        manifest.problem("a direct reference without a URL scheme (pip refuses it); not read", number)
        return None
    version = exact_version(str(req.specifier))
    return Pin(name=req.name, version=version, specifier=str(req.specifier), file=manifest.file, line=number,
               hashes=hashes, source=source_for_url(req.url) if req.url else None,
               markers=str(req.marker) if req.marker else None)


def exact_version(specifier: str) -> str | None:
    match = re.fullmatch(r"\s*===?\s*([^\s,*]+)\s*", specifier)
    return match.group(1) if match else None


def source_for_url(url: str) -> Source:
    """A Source for a direct reference: VCS (with its @ref) or an archive URL or a local path. Credentials
    are masked here, where the value enters the model."""
    url = redact(url)
    if _VCS.match(url):
        base = url.split("#", 1)[0]
        scheme_less = base.split("+", 1)[1]
        ref = None
        head, at, tail = scheme_less.rpartition("@")
        if at and "/" not in tail and head.count("/") >= 3:
            scheme_less, ref = head, tail
        return Source("vcs", scheme_less, ref=ref)
    if url.startswith(("file:", ".", "/", "~")) or "://" not in url:
        return Source("path", url)
    return Source("url", url)


__all__ = ["Problem", "exact_version", "logical_lines", "parse_lines", "parse_requirements", "source_for_url"]
