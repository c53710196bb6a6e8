"""pip requirements files: options, includes (with cycle detection), hashes, markers, direct and VCS references.

pip's own parser (pip._internal.req.req_file) is internal and needs a pip session; pip-requirements-parser
is a vendored copy of it. The format is small, so we read it here and use packaging for each requirement.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from mlwarden.deps.model import Manifest, Pin, Problem, Source
from mlwarden.paths import display_path

_VCS = re.compile(r"^(git|hg|svn|bzr)\+", re.IGNORECASE)
_EGG = re.compile(r"[#&]egg=([A-Za-z0-9][A-Za-z0-9._-]*)")
_OPTIONS_WITH_VALUE = {"-r", "--requirement", "-c", "--constraint", "-i", "--index-url", "--extra-index-url",
                       "-f", "--find-links", "--trusted-host", "--only-binary", "--no-binary", "--use-feature",
                       "-e", "--editable", "--progress-bar", "--platform", "--implementation"}
_FLAGS = {"--no-index", "--pre", "--prefer-binary", "--require-hashes", "--no-deps"}
_PER_REQUIREMENT = {"--hash", "--config-settings", "--global-option", "--install-option"}


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Joins continuation lines; strips comments (a '#' at the start or after whitespace)."""
    out: list[tuple[int, str]] = []
    buffer, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = re.sub(r"(^|\s)#.*$", "", raw)
        if not buffer:
            start = number
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        buffer += line
        if buffer.strip():
            out.append((start, buffer.strip()))
        buffer = ""
    if buffer.strip():
        out.append((start, buffer.strip()))
    return out


def parse_requirements(path: Path, root: Path, *, _seen: tuple[Path, ...] = ()) -> list[Manifest]:
    """The file and everything it includes (-r, -c), each as its own Manifest."""
    display = display_path(path, root)
    manifest = Manifest(file=display, kind="requirements")
    manifests = [manifest]
    resolved = path.resolve()
    if resolved in _seen:
        manifest.problems.append(Problem("MW310", display, None, "include cycle: " + " -> ".join(
            display_path(p, root) for p in (*_seen, resolved))))
        return manifests
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        manifest.problems.append(Problem("MW308", display, None, f"not UTF-8 ({exc.reason} at byte {exc.start})"))
        return manifests
    except OSError as exc:
        manifest.problems.append(Problem("MW308", display, None, f"cannot be read: {exc.strerror or exc}"))
        return manifests
    for number, line in _logical_lines(text):
        if line.startswith("-"):
            try:
                tokens = shlex.split(line, posix=True)
            except ValueError as exc:
                manifest.problems.append(Problem("MW308", display, number, f"cannot be split into words: {exc}"))
                continue
            for target in _option(tokens, number, manifest, path):
                if not target.exists():
                    manifest.problems.append(Problem("MW308", display, number, f"included file {target} not found"))
                    continue
                manifest.includes.append(display_path(target, root))
                manifests += parse_requirements(target, root, _seen=(*_seen, resolved))
            continue
        _requirement(line, number, manifest, path)
    return manifests


def _option(tokens: list[str], number: int, manifest: Manifest, path: Path) -> list[Path]:
    opt, _, inline = tokens[0].partition("=")
    value = inline or (tokens[1] if len(tokens) > 1 else "")
    if opt in ("-r", "--requirement", "-c", "--constraint"):
        return [path.parent / value]
    if opt in ("-i", "--index-url"):
        manifest.indexes.append((value, number))
    elif opt == "--extra-index-url":
        manifest.extra_indexes.append((value, number))
    elif opt in ("-f", "--find-links"):
        manifest.find_links.append((value, number))
    elif opt in ("-e", "--editable"):
        _requirement(value, number, manifest, path)
    elif opt not in _OPTIONS_WITH_VALUE and opt not in _FLAGS:
        manifest.problems.append(Problem("MW309", manifest.file, number, f"unknown requirements option {opt!r}"))
    return []


_OPTION_IN_LINE = re.compile(r"(?:^|\s)(--[a-z-]+)(?:[= ]\s*(\S+))?")


def _requirement(line: str, number: int, manifest: Manifest, path: Path) -> None:
    """A requirement followed by per-requirement options (--hash=…); markers keep their quotes."""
    hashes: list[str] = []
    first = _OPTION_IN_LINE.search(line)
    text = line[: first.start()].strip() if first else line.strip()
    if first:
        for match in _OPTION_IN_LINE.finditer(line[first.start():]):
            opt, value = match.group(1), match.group(2) or ""
            if opt == "--hash":
                hashes.append(value)
            elif opt not in _PER_REQUIREMENT:
                manifest.problems.append(Problem("MW309", manifest.file, number, f"unknown requirement option {opt!r}"))
    if not text:
        return
    pin = _pin(text, number, manifest, tuple(hashes), path)
    if pin is not None:
        manifest.pins.append(pin)


def _pin(text: str, number: int, manifest: Manifest, hashes: tuple[str, ...], path: Path) -> Pin | None:
    # A bare URL or path (pip accepts "git+https://…#egg=name", "./pkg", "https://…/x.whl").
    if _VCS.match(text) or re.match(r"^(https?|file)://", text) or text.startswith((".", "/")):
        egg = _EGG.search(text)
        name = egg.group(1) if egg else Path(text.split("#")[0].rstrip("/")).name.split("-")[0] or text
        return Pin(name=name, version=None, specifier="", file=manifest.file, line=number, hashes=hashes,
                   source=source_for_url(text))
    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        manifest.problems.append(Problem("MW308", manifest.file, number, f"not a valid requirement: {exc}"))
        return None
    version = exact_version(str(req.specifier))
    return Pin(name=req.name, version=version, specifier=str(req.specifier), file=manifest.file, line=number,
               hashes=hashes, source=source_for_url(req.url) if req.url else None,
               markers=str(req.marker) if req.marker else None)


def exact_version(specifier: str) -> str | None:
    match = re.fullmatch(r"\s*===?\s*([^\s,*]+)\s*", specifier)
    return match.group(1) if match else None


def source_for_url(url: str) -> Source:
    """A Source for a direct reference: VCS (with its @ref) or an archive URL or a local path."""
    if _VCS.match(url):
        base = url.split("#", 1)[0]
        scheme_less = base.split("+", 1)[1]
        ref = None
        head, at, tail = scheme_less.rpartition("@")
        if at and "/" not in tail and head.count("/") >= 3:
            scheme_less, ref = head, tail
        return Source("vcs", scheme_less, ref=ref)
    if url.startswith(("file:", ".", "/")):
        return Source("path", url)
    return Source("url", url)
