"""pyproject.toml (PEP 621, PEP 735 groups, uv, poetry), uv.lock, poetry.lock, Pipfile.lock, pylock.toml and
conda environment.yml, each into a Manifest of Pins. Line numbers are found by searching the text for the
package's entry (TOML and YAML readers keep none)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from mlwarden import _toml
from mlwarden.deps.model import PYPI_SIMPLE, Manifest, Pin, Problem, Source
from mlwarden.deps.requirements import exact_version, parse_requirements, source_for_url
from mlwarden.paths import display_path

LOCK_NAMES = {"uv.lock": "uv.lock", "poetry.lock": "poetry.lock", "Pipfile.lock": "Pipfile.lock"}


def kind_of(path: Path) -> str | None:
    """Which parser a file needs, from its name (these formats have fixed names or suffixes)."""
    name = path.name
    if name in LOCK_NAMES:
        return LOCK_NAMES[name]
    if name == "pyproject.toml":
        return "pyproject"
    if re.fullmatch(r"pylock(\.[^.]+)?\.toml", name):
        return "pylock"
    if re.fullmatch(r"(environment|env|conda)[\w.-]*\.ya?ml", name):
        return "conda"
    if re.fullmatch(r"(.*requirements.*|constraints.*)\.(txt|in)", name):
        return "requirements"
    return None


def parse_file(path: Path, root: Path) -> list[Manifest]:
    kind = kind_of(path) or "requirements"
    if kind == "requirements":
        return parse_requirements(path, root)
    display = display_path(path, root)
    manifest = Manifest(file=display, kind=kind)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        manifest.problems.append(Problem("MW308", display, None, f"not UTF-8 ({exc.reason} at byte {exc.start})"))
        return [manifest]
    except OSError as exc:
        manifest.problems.append(Problem("MW308", display, None, f"cannot be read: {exc.strerror or exc}"))
        return [manifest]
    try:
        _PARSERS[kind](text, manifest)
    except (_toml.TOMLDecodeError, ValueError) as exc:
        manifest.problems.append(Problem("MW308", display, _error_line(exc), f"cannot be parsed: {exc}"))
    except (KeyError, TypeError, AttributeError) as exc:
        manifest.problems.append(Problem("MW308", display, None, f"unexpected structure: {exc!r}"))
    return [manifest]


def _error_line(exc: Exception) -> int | None:
    match = re.search(r"line (\d+)", str(exc))
    return int(match.group(1)) if match else None


class _Lines:
    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def find(self, *patterns: str, start: int = 0) -> int | None:
        for number in range(start, len(self.lines)):
            if all(p in self.lines[number] for p in patterns):
                return number + 1
        return None


def _requirement_pin(text: str, manifest: Manifest, line: int | None) -> Pin | None:
    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        manifest.problems.append(Problem("MW308", manifest.file, line, f"not a valid requirement: {exc}"))
        return None
    return Pin(req.name, exact_version(str(req.specifier)), str(req.specifier), manifest.file, line,
               source=source_for_url(req.url) if req.url else None, markers=str(req.marker) if req.marker else None)


# --- pyproject.toml ---------------------------------------------------------------------------------------------
def _pyproject(text: str, manifest: Manifest) -> None:
    data = _toml.loads(text)
    lines = _Lines(text)
    project = data.get("project", {})
    requirements: list[str] = list(project.get("dependencies", []))
    for group in project.get("optional-dependencies", {}).values():
        requirements += list(group)
    for group in data.get("dependency-groups", {}).values():
        requirements += [r for r in group if isinstance(r, str)]
    uv = data.get("tool", {}).get("uv", {})
    uv_sources = uv.get("sources", {})
    for req in requirements:
        pin = _requirement_pin(req, manifest, lines.find(f'"{req}"') or lines.find(f"'{req}'"))
        if pin is None:
            continue
        source = _table_source(uv_sources.get(pin.name))
        if source is not None:
            pin = Pin(pin.name, pin.version, pin.specifier, pin.file, pin.line, source=source)
        manifest.pins.append(pin)
    for index in uv.get("index", []):
        url = index.get("url")
        if url:
            manifest.indexes.append((url, lines.find(url)))
    if uv.get("index-url"):
        manifest.indexes.append((uv["index-url"], lines.find("index-url")))
    for url in uv.get("extra-index-url", []):
        manifest.extra_indexes.append((url, lines.find(url)))
    if uv.get("index-strategy"):
        manifest.index_strategy = (uv["index-strategy"], lines.find("index-strategy"))
    poetry = data.get("tool", {}).get("poetry", {})
    for name, spec in poetry.get("dependencies", {}).items():
        if name.lower() == "python":
            continue
        line = lines.find(name, "=")
        if isinstance(spec, str):
            manifest.pins.append(Pin(name, _poetry_exact(spec), spec, manifest.file, line))
        elif isinstance(spec, dict):
            version = str(spec.get("version", ""))
            manifest.pins.append(Pin(name, _poetry_exact(version), version, manifest.file, line,
                                     source=_table_source(spec)))
    for source in poetry.get("source", []):
        url = source.get("url")
        if url:
            priority = source.get("priority", "primary")
            target = manifest.extra_indexes if priority in ("supplemental", "secondary") else manifest.indexes
            target.append((url, lines.find(url)))


def _table_source(spec: object) -> Source | None:
    """A git or URL source written as a TOML table (uv sources, poetry dependencies)."""
    if not isinstance(spec, dict):
        return None
    if spec.get("git"):
        return Source("vcs", str(spec["git"]), ref=spec.get("rev") or spec.get("tag") or spec.get("branch"))
    if spec.get("url"):
        return Source("url", str(spec["url"]))
    return None


def _poetry_exact(spec: str) -> str | None:
    """Poetry reads a bare version ("2.31.0") or "==2.31.0" as an exact pin; ranges are not."""
    return spec.lstrip("=") if re.fullmatch(r"=?=?\d[\w.+!-]*", spec) else None


# --- lock files -------------------------------------------------------------------------------------------------
def _uv_lock(text: str, manifest: Manifest) -> None:
    data = _toml.loads(text)
    lines = _Lines(text)
    for package in data.get("package", []):
        name, version = package["name"], package.get("version")
        line = lines.find(f'name = "{name}"')
        source = package.get("source", {})
        hashes = [w["hash"] for w in package.get("wheels", []) if "hash" in w]
        if "sdist" in package and "hash" in package["sdist"]:
            hashes.append(package["sdist"]["hash"])
        src: Source | None = None
        if "registry" in source:
            src = Source("index", source["registry"])
        elif "git" in source:
            url, _, commit = source["git"].partition("#")
            ref = re.search(r"[?&](?:rev|tag|branch)=([^&#]+)", url)
            src = Source("vcs", url.split("?")[0], ref=ref.group(1) if ref else None, commit=commit or None)
        elif "url" in source:
            src = Source("url", source["url"])
        elif "editable" in source or "virtual" in source or "directory" in source or "path" in source:
            continue  # the project itself or a local package: not a download
        manifest.pins.append(Pin(name, version, f"=={version}" if version else "", manifest.file, line,
                                 tuple(hashes), src, locked=True))


def _poetry_lock(text: str, manifest: Manifest) -> None:
    data = _toml.loads(text)
    lines = _Lines(text)
    for package in data.get("package", []):
        name, version = package["name"], package.get("version")
        line = lines.find(f'name = "{name}"')
        hashes = [f["hash"] for f in package.get("files", []) if "hash" in f]
        source = package.get("source", {})
        src: Source | None = None
        if source.get("type") == "git":
            src = Source("vcs", source["url"], ref=source.get("reference"), commit=source.get("resolved_reference"))
        elif source.get("type") in ("legacy", "explicit") and source.get("url"):
            src = Source("index", source["url"])
        elif source.get("type") == "url":
            src = Source("url", source["url"])
        elif source.get("type") in ("directory", "file"):
            src = Source("path", source.get("url", ""))
        manifest.pins.append(Pin(name, version, f"=={version}", manifest.file, line, tuple(hashes), src,
                                 locked=True))


def _pipfile_lock(text: str, manifest: Manifest) -> None:
    data = json.loads(text)
    lines = _Lines(text)
    sources = {s.get("name"): s.get("url") for s in data.get("_meta", {}).get("sources", [])}
    for url in sources.values():
        if url:
            manifest.indexes.append((url, lines.find(url)))
    for section in ("default", "develop"):
        for name, spec in data.get(section, {}).items():
            line = lines.find(f'"{name}": {{')
            src: Source | None = None
            if spec.get("git"):
                src = Source("vcs", spec["git"], ref=spec.get("ref"), commit=spec.get("ref"))
            elif spec.get("index") in sources:
                src = Source("index", str(sources[spec["index"]]))
            version = str(spec.get("version", ""))
            manifest.pins.append(Pin(name, exact_version(version), version, manifest.file, line,
                                     tuple(spec.get("hashes", [])), src, markers=spec.get("markers"), locked=True))


def _pylock(text: str, manifest: Manifest) -> None:
    data = _toml.loads(text)
    lines = _Lines(text)
    version = str(data.get("lock-version", ""))
    if not version.startswith("1"):
        manifest.problems.append(Problem("MW308", manifest.file, lines.find("lock-version"),
                                         f"lock-version {version!r} is not supported (expected 1.x)"))
        return
    for package in data.get("packages", []):
        name = package["name"]
        line = lines.find(f'name = "{name}"')
        hashes: list[str] = []
        for artefact in [*package.get("wheels", []), package.get("sdist") or {}, package.get("archive") or {}]:
            for algo, digest in (artefact.get("hashes") or {}).items():
                hashes.append(f"{algo}:{digest}")
        src: Source | None = None
        if package.get("vcs"):
            vcs = package["vcs"]
            src = Source("vcs", vcs.get("url", ""), ref=vcs.get("requested-revision"), commit=vcs.get("commit-id"))
        elif package.get("archive"):
            src = Source("url", package["archive"].get("url", ""))
        elif package.get("index"):
            src = Source("index", package["index"])
        pinned = package.get("version")
        manifest.pins.append(Pin(name, pinned, f"=={pinned}" if pinned else "", manifest.file, line, tuple(hashes),
                                 src, markers=package.get("marker"), locked=True))


# --- conda ------------------------------------------------------------------------------------------------------
def _conda(text: str, manifest: Manifest) -> None:
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ValueError(f"not valid YAML (line {mark.line + 1 if mark else '?'}): "
                         f"{getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise ValueError("not a conda environment (expected a mapping)")
    lines = _Lines(text)
    for channel in data.get("channels") or []:
        manifest.channels.append((str(channel), lines.find(str(channel))))
    for dep in data.get("dependencies") or []:
        if isinstance(dep, dict) and "pip" in dep:
            for req in dep["pip"] or []:
                req = str(req)
                if req.startswith("-"):
                    flag, _, value = req.partition(" ")
                    if flag in ("--index-url", "-i"):
                        manifest.indexes.append((value.strip(), lines.find(req)))
                    elif flag == "--extra-index-url":
                        manifest.extra_indexes.append((value.strip(), lines.find(req)))
                    continue
                pin = _requirement_pin(req, manifest, lines.find(req))
                if pin is not None:
                    manifest.pins.append(pin)
            continue
        spec = str(dep)
        line = lines.find(spec)
        channel, _, rest = spec.rpartition("::")
        match = re.match(r"^\s*([A-Za-z0-9_.-]+)\s*(?:(==?|>=|<=|>|<|!=|~=)?\s*([^\s=]+))?(?:=(\S+))?", rest)
        if not match:
            manifest.problems.append(Problem("MW308", manifest.file, line, f"not a conda spec: {spec!r}"))
            continue
        name, op, version, _build = match.groups()
        exact = version if version and op in (None, "=", "==") and "*" not in version else None
        if op == "=" or (op is None and version):
            exact = None if version and version.endswith("*") else exact
        # "numpy=1.26" is a prefix match in conda ("1.26.*"); only "==" or a full "=x=build" pins exactly.
        pinned = exact if (op == "==" or _build) else None
        manifest.pins.append(Pin(name, pinned, f"{op or ''}{version or ''}", manifest.file, line,
                                 source=Source("conda-channel", channel) if channel else None, ecosystem="conda"))
    if not manifest.channels:
        manifest.channels.append(("defaults", None))


_PARSERS = {"pyproject": _pyproject, "uv.lock": _uv_lock, "poetry.lock": _poetry_lock,
            "Pipfile.lock": _pipfile_lock, "pylock": _pylock, "conda": _conda}

__all__ = ["PYPI_SIMPLE", "kind_of", "parse_file"]
