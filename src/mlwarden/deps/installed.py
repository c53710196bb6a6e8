"""An installed environment (a virtualenv, a site-packages folder) read from its ``*.dist-info`` metadata, and
``.pth`` files that run code at every interpreter start-up, in the environment or inside a wheel.

site.py executes a ``.pth`` line when it starts with ``import`` followed by a space or a tab
(``Lib/site.py: addpackage``); every other line is a path. That is how the litellm 1.82.8 wheel ran its payload
at each Python start. Nothing here imports or executes anything: files are read as text.
"""

from __future__ import annotations

import json
import re
import zipfile
from email.parser import HeaderParser
from pathlib import Path

from mlwarden.deps.model import Manifest, Pin, Problem, Source
from mlwarden.deps.reading import MAX_NAME_CHARS, ReadFailure, read_bytes
from mlwarden.findings import Finding, Location, Severity
from mlwarden.paths import display_path, resolved
from mlwarden.redact import redact
from mlwarden.rules import DEP_PTH_EXEC, DEP_UNPARSABLE, make_finding

MAX_METADATA_BYTES = 4 * 1024 * 1024
MAX_PTH_BYTES = 1024 * 1024
MAX_WHEEL_MEMBERS = 100_000
# Signs that an executable .pth line does more than set up a path hook.
_OBFUSCATION = re.compile(
    r"\b(exec|eval|compile|__import__\s*\(\s*['\"](?:os|subprocess|base64|zlib|marshal|codecs|socket|urllib)|"
    r"b64decode|base64|zlib|marshal|codecs\.decode|subprocess|os\.system|os\.popen|popen|socket|urllib|"
    r"requests|http\.client|getattr\s*\(\s*__builtins__|bytes\.fromhex|\\x[0-9a-f]{2})", re.IGNORECASE)
# Executable lines that well-known tools install; exact shapes only, so a payload cannot hide behind a name.
_KNOWN = (
    re.compile(r"^import _virtualenv\s*$"),
    re.compile(r"^import __editable___[\w.-]+_finder; __editable___[\w.-]+_finder\.install\([^()]*\)\s*$"),
    re.compile(r"^import _[\w]+_editable_finder; _[\w]+_editable_finder\.install\([^()]*\)\s*$"),
    re.compile(r"^import os; var = 'SETUPTOOLS_USE_DISTUTILS'; enabled = os\.environ\.get\(var, 'local'\) == "
               r"'local'; enabled and __import__\('_distutils_hack'\)\.add_shim\(\); \s*$"),
)


def site_packages_of(path: Path) -> list[Path]:
    """The site-packages folders of a virtualenv (or the folder itself when it already is one)."""
    if any(path.glob("*.dist-info")) or any(path.glob("*.pth")):
        return [path]
    found: dict[Path, Path] = {}
    for candidate in sorted([*path.glob("lib/python*/site-packages"), *path.glob("lib64/python*/site-packages"),
                             *path.glob("Lib/site-packages")]):
        found.setdefault(resolved(candidate), candidate)  # lib64 is usually a link to lib: read it once
    return list(found.values())


def parse_installed(path: Path, root: Path) -> list[Manifest]:
    """One Manifest per site-packages folder: a locked pin per distribution, plus .pth findings."""
    folders = site_packages_of(path)
    if not folders:
        manifest = Manifest(file=display_path(path, root), kind="installed")
        manifest.fatal("no site-packages folder and no *.dist-info here: not an installed environment")
        return [manifest]
    return [_site_packages(folder, root) for folder in folders]


def _site_packages(folder: Path, root: Path) -> Manifest:
    manifest = Manifest(file=display_path(folder, root), kind="installed")
    owners: dict[str, str] = {}  # top-level file -> "name version" of the distribution whose RECORD lists it
    for info in sorted(folder.glob("*.dist-info")):
        shown = display_path(info, root)
        try:
            headers = HeaderParser().parsestr(read_bytes(info / "METADATA", limit=MAX_METADATA_BYTES)
                                              .decode("utf-8", "replace"), headersonly=True)
        except ReadFailure as exc:
            manifest.problems.append(_problem(manifest, f"{shown}/METADATA {exc}"))
            continue
        name, version = headers.get("Name"), headers.get("Version")
        if not name or not version or len(name) > MAX_NAME_CHARS:
            manifest.problems.append(_problem(manifest, f"{shown}/METADATA has no usable Name and Version"))
            continue
        manifest.pins.append(Pin(str(name), str(version), f"=={version}", shown, None,
                                 source=_direct_url(info / "direct_url.json"), locked=True))
        for listed in _record_top_files(info / "RECORD"):
            owners.setdefault(listed, f"{name} {version}")
    for pth in sorted(folder.glob("*.pth")):
        shown = display_path(pth, root)
        try:
            text = read_bytes(pth, limit=MAX_PTH_BYTES).decode("utf-8", "replace")
        except ReadFailure as exc:
            manifest.problems.append(_problem(manifest, f"{shown} {exc}"))
            continue
        manifest.extra_findings += pth_findings(text, shown, owner=owners.get(pth.name))
    return manifest


def _record_top_files(record: Path) -> list[str]:
    """Top-level files a distribution installed (its RECORD), to name who shipped a .pth file."""
    import csv

    try:
        text = read_bytes(record, limit=MAX_METADATA_BYTES).decode("utf-8", "replace")
    except ReadFailure:
        return []
    try:
        return [row[0] for row in csv.reader(text.splitlines()) if row and "/" not in row[0]]
    except csv.Error:
        return []


def _problem(manifest: Manifest, message: str) -> Problem:
    return Problem(DEP_UNPARSABLE, manifest.file, None, message, fatal=True)


def _direct_url(path: Path) -> Source | None:
    """PEP 610: how a distribution was installed when not from an index (VCS, URL, local folder)."""
    try:
        data = json.loads(read_bytes(path, limit=MAX_METADATA_BYTES))
    except (ReadFailure, ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("url"), str):
        return None
    url = redact(data["url"])
    vcs = data.get("vcs_info")
    if isinstance(vcs, dict):
        commit = vcs.get("commit_id") if isinstance(vcs.get("commit_id"), str) else None
        return Source("vcs", url, ref=commit, commit=commit)
    if isinstance(data.get("dir_info"), dict) or url.startswith("file:"):
        return Source("path", url)
    return Source("url", url)


def _known(line: str) -> bool:
    return any(pattern.match(line) for pattern in _KNOWN)


def pth_findings(text: str, shown: str, member: str | None = None, owner: str | None = None) -> list[Finding]:
    """MW315 for each executable line of a .pth file (high; critical when it hides or fetches code); ``owner``
    names the distribution that installed it when its RECORD says so."""
    out: list[Finding] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.startswith(("import ", "import\t")) or _known(line):
            continue
        severe = _OBFUSCATION.search(line)
        severity = Severity.CRITICAL if severe else Severity.HIGH
        why = f" and uses {severe.group(1)!r}" if severe else ""
        excerpt = redact(line if len(line) <= 100 else line[:97] + "...")
        out.append(make_finding(DEP_PTH_EXEC, Location(shown, line=number, member=member),
                                f"{member or shown}{f' (installed by {owner})' if owner else ''} runs code at "
                                f"every Python start-up{why}: {excerpt!r}",
                                f"pth:{member or Path(shown).name}:{number}", severity=severity))
    return out


def scan_wheel(path: Path, shown: str) -> list[Finding]:
    """.pth files a wheel would install into site-packages (at its root or under *.data/purelib|platlib)."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if len(members) > MAX_WHEEL_MEMBERS:
                return [
                    make_finding(
                        DEP_UNPARSABLE,
                        Location(shown),
                        f"more than {MAX_WHEEL_MEMBERS} members; not read",
                        "wheel-members",
                    )
                ]
            out: list[Finding] = []
            for info in members:
                name = info.filename
                top = name.count("/") == 0 or re.fullmatch(r"[^/]+\.data/(purelib|platlib)/[^/]+", name)
                if not name.endswith(".pth") or not top:
                    continue
                if info.file_size > MAX_PTH_BYTES:
                    out.append(
                        make_finding(
                            DEP_PTH_EXEC,
                            Location(shown, member=name),
                            f"{name}: a .pth file over {MAX_PTH_BYTES} bytes; not read",
                            f"pth-size:{name}",
                        )
                    )
                    continue
                text = archive.read(info).decode("utf-8", "replace")
                out += pth_findings(text, shown, member=name)
            return out
    except (zipfile.BadZipFile, OSError, RuntimeError, ValueError) as exc:
        return [
            make_finding(
                DEP_UNPARSABLE, Location(shown), f"not a readable wheel ({str(exc)[:100]})", "wheel-unreadable"
            )
        ]


_WHEEL_NAME = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._]*)-(?P<version>[^-]+)-[^-]+(-[^-]+)?-[^-]+-[^-]+\.whl$")


def wheel_manifest(path: Path, root: Path) -> Manifest:
    """A wheel in the tree: the release its file name claims (audited like a pin) and the .pth files it would
    install (MW315)."""
    shown = display_path(path, root)
    manifest = Manifest(file=shown, kind="wheel")
    match = _WHEEL_NAME.match(path.name)
    if match is None or len(match["name"]) > MAX_NAME_CHARS:
        manifest.problem("not a wheel file name (name-version-tags.whl): its release is unknown")
    else:
        version = match["version"]
        manifest.pins.append(Pin(match["name"], version, f"=={version}", shown, None, locked=True))
    manifest.extra_findings += scan_wheel(path, shown)
    return manifest
