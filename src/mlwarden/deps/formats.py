"""pyproject.toml (PEP 621, PEP 735 groups, uv, poetry, pdm, hatch), Pipfile, uv.lock, poetry.lock (1.x and 2.x),
Pipfile.lock, pylock.toml (PEP 751), conda environment files and conda-lock files, each into a Manifest of Pins.

Every field is type-checked before use (a wrong type is one error naming the file and the field), every URL is
redacted where it enters the model, and a file that cannot be read fully (bad TOML, a truncated lock, an unknown
lock version) is a fatal problem: the caller reports it as an error, never as a pass. Line numbers come from
the text (TOML and YAML readers keep none), found in linear time.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit

from packaging.requirements import InvalidRequirement, Requirement

from mlwarden.deps.model import PYPI_SIMPLE, Manifest, Pin, Source, is_template
from mlwarden.deps.reading import (
    MAX_NAME_CHARS,
    ReadFailure,
    load_json,
    load_toml,
    load_yaml,
    read_text,
)
from mlwarden.deps.requirements import (
    _Walk,
    exact_version,
    logical_lines,
    parse_lines,
    parse_requirements,
    source_for_url,
)
from mlwarden.paths import display_path
from mlwarden.redact import redact
from mlwarden.rules import DEP_DYNAMIC, DEP_INCLUDE_CYCLE

LOCK_NAMES = {"uv.lock": "uv.lock", "poetry.lock": "poetry.lock", "Pipfile.lock": "Pipfile.lock",
              "Pipfile": "Pipfile"}
LOCK_KINDS = ("uv.lock", "poetry.lock", "pdm.lock", "Pipfile.lock", "pylock", "conda-lock", "conda-explicit")
# "deps" and "dependencies" folders are left out: they hold code and data (a package named deps) as often as pins.
_REQUIREMENT_FOLDERS = {"requirements", "reqs", "requirements.d", "constraints"}
# pip-tools inputs with conventional names (a bare *.in is too often MANIFEST.in or an autoconf template).
_IN_NAMES = {"base", "dev", "test", "tests", "testing", "docs", "doc", "prod", "production", "lint", "ci",
             "local", "main", "build", "extras", "optional", "all", "runtime", "develop", "development"}
PYLOCK_VERSIONS = ("1.0",)
UV_LOCK_VERSIONS = (1,)
POETRY_LOCK_MAJORS = ("1", "2")
CONDA_LOCK_VERSIONS = (1,)
PIPFILE_SPEC = 6  # the Pipfile.lock format version pipenv has written since 2018


class FieldError(Exception):
    """A field of a structured file has the wrong type; the message names the field."""


def safe_urlsplit(url: str) -> SplitResult:
    """urlsplit that never raises: "Invalid IPv6 URL" (an unbalanced "[") escaped as an internal error; such a
    URL has no host to compare, like any other malformed one."""
    try:
        return urlsplit(url)
    except ValueError:
        return SplitResult("", "", url, "", "")


def kind_of(path: Path) -> str | None:
    """Which parser a file needs, from its name and folder (these formats have fixed names or suffixes)."""
    name = path.name
    if name in LOCK_NAMES:
        return LOCK_NAMES[name]
    if name == "pyproject.toml":
        return "pyproject"
    if name == "setup.cfg":
        return "setup.cfg"
    if re.fullmatch(r"pdm(\.[\w-]+)?\.lock", name):
        return "pdm.lock"
    if name.endswith(".whl"):
        return "wheel"
    if re.fullmatch(r"pylock(\.[^.]+)?\.toml", name):
        return "pylock"
    if re.fullmatch(r"([\w.-]*[.-])?conda-lock\.ya?ml", name):
        return "conda-lock"
    if re.fullmatch(r"(environment|env|conda)[\w.-]*\.ya?ml", name):
        return "conda"
    if re.fullmatch(r"conda-[\w-]+\.lock", name):
        return "conda-explicit"
    lower = name.lower()
    # rye and pip-compile wrappers write requirements.lock / requirements-dev.lock in pip's format.
    if re.fullmatch(r".*requirements.*\.(txt|in|pip)|.*constraints.*\.(txt|in)|requirements[\w.-]*\.lock", lower):
        return "requirements"
    if path.parent.name.lower() in _REQUIREMENT_FOLDERS and lower.endswith((".txt", ".in")) \
            and not lower.startswith(("readme", "license", "licence", "changelog", "notes", "authors")):
        return "requirements"
    if lower.endswith(".in") and lower[:-3] in _IN_NAMES:
        return "requirements"
    return None


def parse_file(path: Path, root: Path, *, explicit: bool = True) -> list[Manifest]:
    kind = kind_of(path) or "requirements"
    if _link_out_of(path, root):
        # A dependency file in the project that links elsewhere (requirements.txt -> ~/.aws/credentials) is not
        # read: nothing outside the project is ever quoted. A file named outside the project is read as asked.
        manifest = Manifest(file=display_path(path, root), kind=kind)
        manifest.fatal("a link to a file outside the project; not read")
        return [manifest]
    if kind == "requirements":
        return parse_requirements(path, root, explicit=explicit)
    if kind == "wheel":
        from mlwarden.deps.installed import wheel_manifest

        return [wheel_manifest(path, root)]
    display = display_path(path, root)
    manifest = Manifest(file=display, kind=kind)
    included: list[Manifest] = []
    text = ""
    try:
        text = read_text(path, utf8_only=kind != "conda")  # conda reads explicit files as UTF-8 text
        included = _PARSERS[kind](text, manifest, path, root) or []
    except ReadFailure as exc:
        if text and is_template(text):
            manifest.template()  # a cookiecutter pyproject with {% if %} blocks is not TOML until rendered
        else:
            manifest.fatal(str(exc), _error_line(str(exc)))
    except FieldError as exc:
        manifest.fatal(f"unexpected structure: {exc}")
    except RecursionError:
        manifest.fatal("nested too deeply")
    return [manifest, *included]


def _link_out_of(path: Path, root: Path) -> bool:
    import os

    from mlwarden.deps.reading import inside

    try:
        Path(os.path.abspath(path)).relative_to(os.path.abspath(root))
    except ValueError:
        return False  # named outside the project: the user asked for it
    return not inside(path, root)


def _error_line(message: str) -> int | None:
    match = re.search(r"line (\d+)", message)
    return int(match.group(1)) if match else None


# --- typed access -----------------------------------------------------------------------------------------------
def _kind(value: object) -> str:
    return {dict: "a table", list: "an array", str: "a string", bool: "a boolean", int: "an integer",
            float: "a number"}.get(type(value), type(value).__name__)


def _table(value: object, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FieldError(f"{where}: expected a table, found {_kind(value)}")
    return value


def _array(value: object, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise FieldError(f"{where}: expected an array, found {_kind(value)}")
    return value


def _text(value: object, where: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise FieldError(f"{where}: expected a string, found {_kind(value)}")
    return str(value)


def _name(value: object, where: str) -> str:
    name = _text(value, where)
    if not name:
        raise FieldError(f"{where}: missing")
    if len(name) > MAX_NAME_CHARS:
        raise FieldError(f"{where}: longer than {MAX_NAME_CHARS} characters")
    return name


def _time(value: object, where: str) -> str | None:
    """An upload time as ISO 8601 UTC (uv.lock writes strings, pylock TOML datetimes)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    elif isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise FieldError(f"{where}: not an ISO 8601 time") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.timezone.utc)
    else:
        raise FieldError(f"{where}: expected a time, found {_kind(value)}")
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _newest(times: list[str | None]) -> str | None:
    known = [t for t in times if t]
    return max(known) if known else None


class _Lines:
    """Line numbers in linear time: quoted strings and table headers are indexed once."""

    _QUOTED = re.compile(r"\"((?:[^\"\\]|\\.)*)\"|'([^']*)'")

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self._quoted: dict[str, int] | None = None
        self.work = 0

    def quoted(self, value: str) -> int | None:
        if self._quoted is None:
            self._quoted = {}
            for number, line in enumerate(self.lines, 1):
                if '"' in line or "'" in line:
                    for match in self._QUOTED.finditer(line):
                        self._quoted.setdefault(match.group(1) if match.group(1) is not None else match.group(2),
                                                number)
        return self._quoted.get(value)

    def headers(self, header: str) -> list[int]:
        """The line of each array-of-tables entry: its name key when within a few lines, else the header."""
        out = []
        for number, line in enumerate(self.lines, 1):
            if line.strip() == header:
                follow = self.lines[number:number + 4]
                offset = next((i for i, text in enumerate(follow, 1) if text.lstrip().startswith("name")), 0)
                out.append(number + offset)
        return out

    def find(self, *patterns: str) -> int | None:
        """The first line holding every pattern: a scan, so callers looking up many values use ``quoted`` or
        call it only for a bounded number of values (``budget``)."""
        self.work += len(self.lines)
        if self.work > 5_000_000:  # past this many lines scanned, a hostile file would make it quadratic: no line
            return None
        for number, line in enumerate(self.lines, 1):
            if all(p in line for p in patterns):
                return number
        return None


def _requirement_pin(text: str, manifest: Manifest, line: int | None, group: str) -> Pin | None:
    head = re.split(r"[\s\[<>=!~;@(]", text, maxsplit=1)[0]
    if len(head) > MAX_NAME_CHARS:
        manifest.problem(f"requirement name longer than {MAX_NAME_CHARS} characters; not read", line)
        return None
    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        if is_template(text):
            manifest.template(line)
            return None
        shown = redact(text)
        manifest.problem(f"not a valid requirement {shown[:120]!r}: {redact(str(exc).splitlines()[0])[:120]}", line)
        return None
    return Pin(req.name, exact_version(str(req.specifier)), str(req.specifier), manifest.file, line,
               source=source_for_url(req.url) if req.url else None, markers=str(req.marker) if req.marker else None,
               groups=(group,))


def _and_markers(first: str | None, second: str | None) -> str | None:
    if first and second:
        return f"({first}) and ({second})"
    return first or second


# --- pyproject.toml ---------------------------------------------------------------------------------------------
def _pyproject(text: str, manifest: Manifest, path: Path, root: Path) -> list[Manifest]:
    data = load_toml(text)
    lines = _Lines(text)
    project = _table(data.get("project"), "project")
    tool = _table(data.get("tool"), "tool")
    uv = _table(tool.get("uv"), "tool.uv")
    uv_indexes = _uv_indexes(uv, manifest, lines)
    requirements: list[tuple[str, str]] = [(r, "main") for r in _strings(project.get("dependencies"),
                                                                         "project.dependencies")]
    for extra, group in _table(project.get("optional-dependencies"), "project.optional-dependencies").items():
        requirements += [(r, f"extra:{extra}") for r in _strings(group, f"project.optional-dependencies.{extra}")]
    requirements += _hatch_hook_requirements(project, tool)
    groups = _table(data.get("dependency-groups"), "dependency-groups")
    for group in groups:
        requirements += [(r, f"group:{group}") for r in _dependency_group(groups, group, manifest, ())]
    for key, label in (("dev-dependencies", "dev"), ("constraint-dependencies", "uv-constraint"),
                       ("override-dependencies", "uv-override")):
        requirements += [(r, label) for r in _strings(uv.get(key), f"tool.uv.{key}")]
    pdm = _table(tool.get("pdm"), "tool.pdm")
    for group, reqs in _table(pdm.get("dev-dependencies"), "tool.pdm.dev-dependencies").items():
        requirements += [(r, f"pdm:{group}") for r in _strings(reqs, f"tool.pdm.dev-dependencies.{group}")]
    hatch_envs = _table(_table(tool.get("hatch"), "tool.hatch").get("envs"), "tool.hatch.envs")
    for env, config in hatch_envs.items():
        config = _table(config, f"tool.hatch.envs.{env}")
        for key in ("dependencies", "extra-dependencies"):
            requirements += [(r, f"hatch:{env}") for r in _strings(config.get(key), f"tool.hatch.envs.{env}.{key}")]
    sources = _table(uv.get("sources"), "tool.uv.sources")
    for req, group in requirements:
        pin = _requirement_pin(req, manifest, lines.quoted(req), group)
        if pin is None:
            continue
        manifest.pins += _with_uv_sources(pin, sources, uv_indexes, manifest)
    _uv_settings(uv, manifest, lines)
    _poetry_project(_table(tool.get("poetry"), "tool.poetry"), manifest, lines)
    _pdm_sources(pdm, manifest, lines)
    return _dynamic_dependencies(project, tool, manifest, path, root, lines)


def _dynamic_dependencies(project: dict[str, Any], tool: dict[str, Any], manifest: Manifest, path: Path,
                          root: Path, text_lines: _Lines) -> list[Manifest]:
    """`dynamic = ["dependencies"]`: the requirements files setuptools or hatch-requirements-txt read are read
    as requirements; dependencies computed some other way (setup.py) are reported as not checked."""
    dynamic = set(_strings(project.get("dynamic"), "project.dynamic")) & {"dependencies", "optional-dependencies"}
    dynamic -= set(_uv_dynamic_versioning(tool))  # read by _hatch_hook_requirements
    if not dynamic:
        return []
    files: list[str] = []
    setuptools = _table(_table(tool.get("setuptools"), "tool.setuptools").get("dynamic"), "tool.setuptools.dynamic")
    for key, value in setuptools.items():
        if key == "dependencies":
            files += _file_list(_table(value, f"tool.setuptools.dynamic.{key}").get("file"), key)
        elif key == "optional-dependencies":
            for extra, spec in _table(value, "tool.setuptools.dynamic.optional-dependencies").items():
                files += _file_list(_table(spec, f"tool.setuptools.dynamic.optional-dependencies.{extra}")
                                    .get("file"), extra)
    hooks = _table(_table(_table(tool.get("hatch"), "tool.hatch").get("metadata"), "tool.hatch.metadata")
                   .get("hooks"), "tool.hatch.metadata.hooks")
    requirements_txt = _table(hooks.get("requirements_txt"), "tool.hatch.metadata.hooks.requirements_txt")
    files += _strings(requirements_txt.get("files"), "tool.hatch.metadata.hooks.requirements_txt.files")
    if not files:
        manifest.problem(f"{' and '.join(sorted(dynamic))} are dynamic (computed by the build backend, e.g. "
                         "setup.py): not checked", rule=DEP_DYNAMIC)
        return []
    base = root if _inside(path, root) else path.parent
    walk = _Walk(root=root, base=base)
    import shlex

    lines = [(text_lines.quoted(name) or 1, f"-r {shlex.quote(name)}") for name in files]
    return parse_lines(lines, manifest, path, walk)


_UDV = "tool.hatch.metadata.hooks.uv-dynamic-versioning"


def _uv_dynamic_versioning(tool: dict[str, Any]) -> dict[str, Any]:
    """The uv-dynamic-versioning metadata hook's table: it declares `dependencies` and `optional-dependencies`
    itself (only `{{ version }}` placeholders are filled in at build time), so they can be read."""
    hooks = _table(_table(_table(tool.get("hatch"), "tool.hatch").get("metadata"), "tool.hatch.metadata")
                   .get("hooks"), "tool.hatch.metadata.hooks")
    table = _table(hooks.get("uv-dynamic-versioning"), _UDV)
    return {key: table[key] for key in ("dependencies", "optional-dependencies") if key in table}


def _hatch_hook_requirements(project: dict[str, Any], tool: dict[str, Any]) -> list[tuple[str, str]]:
    dynamic = set(_strings(project.get("dynamic"), "project.dynamic"))
    declared = _uv_dynamic_versioning(tool)
    out: list[tuple[str, str]] = []
    if "dependencies" in dynamic and "dependencies" in declared:
        out += [(r, "main") for r in _strings(declared["dependencies"], f"{_UDV}.dependencies")]
    if "optional-dependencies" in dynamic and "optional-dependencies" in declared:
        extras = _table(declared["optional-dependencies"], f"{_UDV}.optional-dependencies")
        for extra, group in extras.items():
            out += [(r, f"extra:{extra}") for r in _strings(group, f"{_UDV}.optional-dependencies.{extra}")]
    return out


def _file_list(value: object, where: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    return _strings(value, f"tool.setuptools.dynamic {where}.file")


def _strings(value: object, where: str) -> list[str]:
    out = []
    for index, item in enumerate(_array(value, where)):
        if not isinstance(item, str):
            raise FieldError(f"{where}[{index}]: expected a requirement string, found {_kind(item)}")
        out.append(item)
    return out


def _dependency_group(groups: dict[str, Any], name: str, manifest: Manifest, stack: tuple[str, ...]) -> list[str]:
    """PEP 735: strings and {include-group = "…"} tables, includes resolved (a cycle is an error)."""
    if name in stack:
        manifest.problem(f"dependency-groups include cycle: {' -> '.join((*stack, name))}", rule=DEP_INCLUDE_CYCLE)
        return []
    if name not in groups:
        manifest.fatal(f"dependency-groups.{stack[-1] if stack else name} includes unknown group {name!r}")
        return []
    out: list[str] = []
    for index, item in enumerate(_array(groups[name], f"dependency-groups.{name}")):
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict) and isinstance(item.get("include-group"), str):
            out += _dependency_group(groups, item["include-group"], manifest, (*stack, name))
        else:
            raise FieldError(f"dependency-groups.{name}[{index}]: expected a requirement or an include-group table")
    return out


def _uv_indexes(uv: dict[str, Any], manifest: Manifest, lines: _Lines) -> dict[str, str]:
    named: dict[str, str] = {}
    for index, entry in enumerate(_array(uv.get("index"), "tool.uv.index")):
        entry = _table(entry, f"tool.uv.index[{index}]")
        raw = _text(entry.get("url"), f"tool.uv.index[{index}].url")
        if not raw:
            continue
        url = redact(raw)
        name = _text(entry.get("name"), f"tool.uv.index[{index}].name")
        if name:
            named[name] = url
        if entry.get("format") == "flat":
            manifest.find_links.append((url, lines.quoted(raw)))
        else:
            manifest.indexes.append((url, lines.quoted(raw)))
    return named


def _uv_settings(uv: dict[str, Any], manifest: Manifest, lines: _Lines) -> None:
    index_url = _text(uv.get("index-url"), "tool.uv.index-url")
    if index_url:
        manifest.indexes.append((redact(index_url), lines.quoted(index_url)))
    for url in _strings(uv.get("extra-index-url"), "tool.uv.extra-index-url"):
        manifest.extra_indexes.append((redact(url), lines.quoted(url)))
    for url in _strings(uv.get("find-links"), "tool.uv.find-links"):
        manifest.find_links.append((redact(url), lines.quoted(url)))
    strategy = _text(uv.get("index-strategy"), "tool.uv.index-strategy")
    if strategy:
        manifest.index_strategy = (strategy, lines.find("index-strategy"))


def _with_uv_sources(pin: Pin, sources: dict[str, Any], indexes: dict[str, str], manifest: Manifest) -> list[Pin]:
    """uv applies a source to every requirement of that name; a list of sources is chosen by marker."""
    spec = sources.get(pin.name)
    if spec is None:
        from mlwarden.policy.model import canonicalize_name

        wanted = canonicalize_name(pin.name)
        spec = next((v for k, v in sources.items() if canonicalize_name(k) == wanted), None)
    if spec is None:
        return [pin]
    where = f"tool.uv.sources.{pin.name}"
    alternatives = _array(spec, where) if isinstance(spec, list) else [spec]
    out = []
    for index, alternative in enumerate(alternatives):
        alternative = _table(alternative, f"{where}[{index}]" if isinstance(spec, list) else where)
        source = _table_source(alternative, where, indexes, manifest)
        marker = _marker(_text(alternative.get("marker"), f"{where}.marker"), f"{where}.marker", manifest)
        out.append(replace(pin, source=source or pin.source, markers=_and_markers(pin.markers, marker)))
    return out


def _marker(text: str | None, where: str, manifest: Manifest) -> str | None:
    """A PEP 508 marker in packaging's normal form (as a requirement's own marker is written)."""
    if not text:
        return None
    from packaging.markers import InvalidMarker, Marker

    try:
        return str(Marker(text))
    except InvalidMarker:
        manifest.problem(f"{where}: not a valid marker {redact(text)[:120]!r}")
        return text


def _table_source(spec: dict[str, Any], where: str, indexes: dict[str, str] | None = None,
                  manifest: Manifest | None = None) -> Source | None:
    """A git, URL, path, index or workspace source written as a TOML table (uv, poetry, Pipfile)."""
    if spec.get("git"):
        ref = spec.get("rev") or spec.get("tag") or spec.get("branch") or spec.get("ref")
        return Source("vcs", redact(str(_text(spec["git"], f"{where}.git"))),
                      ref=_text(ref, f"{where}.rev"))
    if spec.get("url"):
        return Source("url", redact(str(_text(spec["url"], f"{where}.url"))))
    for key in ("path", "file"):
        if spec.get(key):
            value = redact(str(_text(spec[key], f"{where}.{key}")))
            remote = "://" in value and not value.lower().startswith("file:")  # Pipfile: file = "https://…zip"
            return Source("url" if remote else "path", value)
    if spec.get("workspace"):
        return Source("path", "(workspace member)")
    index_name = _text(spec.get("index") or spec.get("source"), f"{where}.index")
    if index_name and indexes is not None:
        if index_name not in indexes:
            if manifest is not None:
                manifest.problem(f"{where} names index {index_name!r}, which is not declared")
            return Source("index", index_name)
        return Source("index", indexes[index_name])
    return None


def _poetry_project(poetry: dict[str, Any], manifest: Manifest, lines: _Lines) -> None:
    named: dict[str, str] = {}
    for index, source in enumerate(_array(poetry.get("source"), "tool.poetry.source")):
        source = _table(source, f"tool.poetry.source[{index}]")
        raw = _text(source.get("url"), f"tool.poetry.source[{index}].url")
        name = _text(source.get("name"), f"tool.poetry.source[{index}].name")
        if not raw:
            continue
        url = redact(raw)
        if name:
            named[name] = url
        priority = source.get("priority") or ("secondary" if source.get("secondary") else
                                              "default" if source.get("default") else "primary")
        # supplemental/secondary sources are searched for every name (dependency confusion); explicit ones only
        # for the packages that name them.
        target = manifest.extra_indexes if priority in ("supplemental", "secondary") else manifest.indexes
        target.append((url, lines.quoted(raw)))
    tables = [("tool.poetry.dependencies", "main", poetry.get("dependencies")),
              ("tool.poetry.dev-dependencies", "dev", poetry.get("dev-dependencies"))]
    for group, config in _table(poetry.get("group"), "tool.poetry.group").items():
        config = _table(config, f"tool.poetry.group.{group}")
        tables.append((f"tool.poetry.group.{group}.dependencies", f"group:{group}", config.get("dependencies")))
    for where, group, table in tables:
        for name, spec in _table(table, where).items():
            if name.lower() == "python":
                continue
            if len(name) > MAX_NAME_CHARS:
                manifest.problem(f"{where}: a name longer than {MAX_NAME_CHARS} characters; not read")
                continue
            line = lines.find(name, "=")
            specs = spec if isinstance(spec, list) else [spec]  # multiple-constraints dependencies
            for item in specs:
                manifest.pins.append(_poetry_pin(name, item, f"{where}.{name}", group, manifest, named, line))


def _poetry_pin(name: str, spec: object, where: str, group: str, manifest: Manifest, named: dict[str, str],
                line: int | None) -> Pin:
    if isinstance(spec, str):
        return Pin(name, _poetry_exact(spec), spec, manifest.file, line, groups=(group,))
    table = _table(spec, where)
    version = _text(table.get("version"), f"{where}.version") or ""
    markers = _text(table.get("markers"), f"{where}.markers")
    python = _text(table.get("python"), f"{where}.python")
    if python and not markers:
        markers = f"python {python}"
    return Pin(name, _poetry_exact(version), version, manifest.file, line,
               source=_table_source(table, where, named, manifest), markers=markers, groups=(group,))


def _poetry_exact(spec: str) -> str | None:
    """Poetry reads a bare version ("2.31.0") or "==2.31.0" as an exact pin; ranges are not."""
    return spec.lstrip("=") if re.fullmatch(r"=?=?\d[\w.+!-]*", spec) else None


def _pdm_sources(pdm: dict[str, Any], manifest: Manifest, lines: _Lines) -> None:
    sources = _array(pdm.get("source"), "tool.pdm.source")
    ordered = bool(_table(pdm.get("resolution"), "tool.pdm.resolution").get("respect-source-order"))
    for index, source in enumerate(sources):
        source = _table(source, f"tool.pdm.source[{index}]")
        raw = _text(source.get("url"), f"tool.pdm.source[{index}].url")
        if not raw:
            continue
        url = redact(raw)
        if source.get("type") == "find_links":
            manifest.find_links.append((url, lines.quoted(raw)))
        elif index == 0 or ordered or source.get("name") == "pypi":
            manifest.indexes.append((url, lines.quoted(raw)))
        else:  # pdm merges every source unless respect-source-order: any name can come from any of them
            manifest.extra_indexes.append((url, lines.quoted(raw)))


# --- setup.cfg --------------------------------------------------------------------------------------------------
def _setup_cfg(text: str, manifest: Manifest, path: Path, root: Path) -> list[Manifest]:
    """setuptools' declarative configuration: [options] install_requires and [options.extras_require], each a
    list of requirements or a `file:` directive naming requirements files."""
    import configparser

    parser = configparser.RawConfigParser(strict=False, delimiters=("=",))
    try:
        parser.read_string(text, source="setup.cfg")
    except configparser.Error as exc:
        raise ReadFailure(f"not a valid setup.cfg: {redact(str(exc).splitlines()[0])[:160]}") from None
    lines = _Lines(text)
    values: list[tuple[str, str]] = []
    if parser.has_option("options", "install_requires"):
        values.append(("main", parser.get("options", "install_requires")))
    if parser.has_section("options.extras_require"):
        values += [(f"extra:{k}", v) for k, v in parser.items("options.extras_require")]
    included: list[Manifest] = []
    base = root if _inside(path, root) else path.parent
    for group, value in values:
        value = value.strip()
        if value.startswith("file:"):
            import shlex

            names = [n.strip() for n in value[len("file:"):].split(",") if n.strip()]
            included += parse_lines([(lines.find(n) or 1, f"-r {shlex.quote(n)}") for n in names], manifest, path,
                                    _Walk(root=root, base=base))
            continue
        for item in value.splitlines():
            requirement = item.strip()  # configparser keeps no inline comments: only whole-line ones
            if requirement and not requirement.startswith(("#", ";")):
                pin = _requirement_pin(requirement, manifest, lines.find(requirement), group)
                if pin is not None:
                    manifest.pins.append(pin)
    return included


# --- Pipfile ----------------------------------------------------------------------------------------------------
def _pipfile(text: str, manifest: Manifest, path: Path, root: Path) -> None:
    data = load_toml(text)
    lines = _Lines(text)
    named = _pipenv_sources(_array(data.get("source"), "source"), "source", manifest, lines)
    for section, value in data.items():
        if section in ("source", "requires", "scripts", "pipenv"):
            continue
        for name, spec in _table(value, section).items():
            where = f"{section}.{name}"
            if len(name) > MAX_NAME_CHARS:
                raise FieldError(f"{section}: a name longer than {MAX_NAME_CHARS} characters")
            line = lines.find(name, "=")
            if isinstance(spec, str):
                version = "" if spec == "*" else spec
                manifest.pins.append(Pin(name, exact_version(version), version, manifest.file, line,
                                         groups=(section,)))
                continue
            table = _table(spec, where)
            version = _text(table.get("version"), f"{where}.version") or ""
            version = "" if version == "*" else version
            manifest.pins.append(Pin(name, exact_version(version), version, manifest.file, line,
                                     source=_table_source(table, where, named, manifest),
                                     markers=_text(table.get("markers"), f"{where}.markers"), groups=(section,)))


def _pipenv_sources(sources: list[Any], where: str, manifest: Manifest, lines: _Lines) -> dict[str, str]:
    named: dict[str, str] = {}
    for index, source in enumerate(sources):
        source = _table(source, f"{where}[{index}]")
        raw = _text(source.get("url"), f"{where}[{index}].url")
        if not raw:
            continue
        url = redact(raw)
        name = _text(source.get("name"), f"{where}[{index}].name")
        if name:
            named[name] = url
        # pipenv passes the first source as --index-url and the others as --extra-index-url.
        target = manifest.indexes if index == 0 else manifest.extra_indexes
        target.append((url, lines.quoted(raw)))
    return named


# --- uv.lock ----------------------------------------------------------------------------------------------------
def _uv_lock(text: str, manifest: Manifest, path: Path, root: Path) -> None:
    data = load_toml(text)
    version = data.get("version")
    if version not in UV_LOCK_VERSIONS:
        manifest.fatal(f"uv.lock version {redact(str(version))[:20]!r} is not supported (expected "
                       f"{', '.join(map(str, UV_LOCK_VERSIONS))}); nothing in it was checked")
        return
    lines = _Lines(text)
    headers = lines.headers("[[package]]")
    packages = _array(data.get("package"), "package")
    names = set()
    for index, package in enumerate(packages):
        names.add(_name(_table(package, f"package[{index}]").get("name"), f"package[{index}].name"))
    timed = registry = 0
    local: list[str] = []
    for index, package in enumerate(packages):
        where = f"package[{index}]"
        name = _name(package.get("name"), f"{where}.name")
        _uv_dependencies_present(package, where, name, names, manifest)
        version = _text(package.get("version"), f"{where}.version")
        line = headers[index] if index < len(headers) else None
        source = _table(package.get("source"), f"{where}.source")
        sdist = _table(package.get("sdist"), f"{where}.sdist")
        wheels = [_table(w, f"{where}.wheels[{i}]") for i, w in enumerate(_array(package.get("wheels"),
                                                                                  f"{where}.wheels"))]
        hashes = [str(_text(f.get("hash"), f"{where}.hash")) for f in [*wheels, sdist] if f.get("hash")]
        uploaded = _newest([_time(f.get("upload-time"), f"{where}.upload-time") for f in [*wheels, sdist]])
        src: Source | None = None
        if "registry" in source:
            src = Source("index", redact(str(_text(source["registry"], f"{where}.source.registry"))))
            registry += 1
            timed += uploaded is not None
        elif "git" in source:
            url, _, commit = redact(str(_text(source["git"], f"{where}.source.git"))).partition("#")
            ref = re.search(r"[?&](?:rev|tag|branch)=([^&#]+)", url)
            src = Source("vcs", url.split("?")[0], ref=ref.group(1) if ref else None, commit=commit or None)
        elif "url" in source:
            src = Source("url", redact(str(_text(source["url"], f"{where}.source.url"))))
        elif "path" in source:  # a local wheel or sdist: installed from a file nobody audited
            src = Source("path", redact(str(_text(source["path"], f"{where}.source.path"))))
        elif "directory" in source:
            src = Source("path", redact(str(_text(source["directory"], f"{where}.source.directory"))))
        elif "editable" in source or "virtual" in source:
            if str(source.get("editable", source.get("virtual"))) not in (".", ""):
                local.append(name)  # a workspace member: local code, not a download (the project is not a dep)
            continue
        else:
            raise FieldError(f"{where}.source: no registry, git, url, path, directory, editable or virtual key")
        manifest.pins.append(Pin(name, version, f"=={version}" if version else "", manifest.file, line,
                                 tuple(hashes), src, locked=True, uploaded=uploaded))
    _local_note(manifest, local, "editable or virtual")
    installed_under = _uv_markers(packages)  # every pin of the manifest is this file's
    manifest.pins[:] = [replace(pin, markers=installed_under.get((_canonical(pin.name), pin.version), pin.markers))
                        for pin in manifest.pins]
    if registry and timed < registry:
        manifest.notes.append(f"{registry - timed} of {registry} registry packages have no upload-time "
                              "(uv before 0.7 wrote none): the cooldown is not checked for them")


def _uv_markers(packages: list[Any]) -> dict[tuple[str, str | None], str | None]:
    """The marker `uv export` writes for each package: the graph walked from the project (its extras and
    groups all selected, as `--all-extras --all-groups`), ANDing edge markers along each path (deps/markers.py)."""
    from mlwarden.deps.markers import as_marker, propagate

    def mapping(value: object) -> dict[str, Any]:  # a wrong-typed field adds no edge (the reader reports it)
        return value if isinstance(value, dict) else {}

    def items(value: object) -> list[Any]:
        return value if isinstance(value, list) else []

    versions: dict[str, list[str | None]] = {}
    for package in packages:
        if isinstance(package, dict) and isinstance(package.get("name"), str):
            version = package.get("version")
            versions.setdefault(_canonical(package["name"]), []).append(version if isinstance(version, str) else None)

    def targets(dep: Any) -> list[tuple[Any, str | None]]:
        if not isinstance(dep, dict) or not isinstance(dep.get("name"), str):
            return []
        name = _canonical(dep["name"])
        version = dep.get("version") if isinstance(dep.get("version"), str) else \
            (versions.get(name) or [None])[0]
        marker = dep.get("marker") if isinstance(dep.get("marker"), str) else None
        base = (name, version)
        extras = items(dep.get("extra"))
        return [(base, marker), *(((base, str(e)), marker) for e in extras)]

    edges: dict[Any, list[tuple[Any, str | None]]] = {}
    roots: list[tuple[Any, str | None]] = []
    members: list[Any] = []
    for package in packages:
        if not isinstance(package, dict) or not isinstance(package.get("name"), str):
            continue
        version = package.get("version") if isinstance(package.get("version"), str) else None
        key = (_canonical(package["name"]), version)
        base = edges.setdefault(key, [])
        for dep in items(package.get("dependencies")):
            base += targets(dep)
        optional = mapping(package.get("optional-dependencies"))
        groups = mapping(package.get("dev-dependencies"))
        for extra, deps in optional.items():
            edges[(key, extra)] = [(key, None), *(t for dep in items(deps) for t in targets(dep))]
        source = mapping(package.get("source"))
        if source.keys() & {"editable", "virtual"}:
            members.append(key)
            if str(source.get("editable", source.get("virtual"))) == ".":
                roots.append((key, None))
            # the project's own extras and groups are all selected
            edges[key] = base + [((key, extra), None) for extra in optional] + \
                [t for deps in groups.values() for dep in items(deps) for t in targets(dep)]
    conditions = propagate(roots or [(m, None) for m in members], edges)
    return {key: as_marker(condition) for key, condition in conditions.items()
            if isinstance(key, tuple) and len(key) == 2 and isinstance(key[1], (str, type(None)))
            and not isinstance(key[0], tuple)}


def _uv_dependencies_present(package: dict[str, Any], where: str, name: str, names: set[str],
                             manifest: Manifest) -> None:
    """A lock whose packages name dependencies it does not contain was cut short or edited: fail closed."""
    groups: list[tuple[str, Any]] = [("dependencies", package.get("dependencies"))]
    for key in ("optional-dependencies", "dev-dependencies"):
        groups += [(f"{key}.{k}", v) for k, v in _table(package.get(key), f"{where}.{key}").items()]
    for key, deps in groups:
        for index, dep in enumerate(_array(deps, f"{where}.{key}")):
            wanted = _name(_table(dep, f"{where}.{key}[{index}]").get("name"), f"{where}.{key}[{index}].name")
            if wanted not in names:
                raise ReadFailure(f"{name} depends on {wanted}, which the lock does not contain "
                                  "(a truncated or edited uv.lock)")


def _local_note(manifest: Manifest, names: list[str], what: str) -> None:
    """Local packages a lock records but that are no download (the project, workspace members, path
    dependencies): said in coverage, never dropped silently."""
    if names:
        shown = ", ".join(sorted(names)[:8]) + (", …" if len(names) > 8 else "")
        manifest.notes.append(f"{len(names)} local {what} package{'' if len(names) == 1 else 's'} ({shown}): "
                              "local code, not audited")


# --- poetry.lock ------------------------------------------------------------------------------------------------
def _poetry_lock(text: str, manifest: Manifest, path: Path, root: Path) -> None:
    data = load_toml(text)
    metadata = _table(data.get("metadata"), "metadata")
    if not metadata:
        manifest.fatal("no [metadata] table: a truncated poetry.lock (poetry writes it last); nothing was checked")
        return
    version = _text(metadata.get("lock-version"), "metadata.lock-version") or ""
    if version.split(".")[0] not in POETRY_LOCK_MAJORS:
        manifest.fatal(f"lock-version {version[:20]!r} is not supported (expected 1.x or 2.x); nothing was checked")
        return
    # poetry.lock 1.x keeps hashes in [metadata.files] (or [metadata.hashes] before poetry 1.0)
    old_files = _canonical_keys(_table(metadata.get("files"), "metadata.files"))
    old_hashes = _canonical_keys(_table(metadata.get("hashes"), "metadata.hashes"))
    lines = _Lines(text)
    headers = lines.headers("[[package]]")
    local: list[str] = []
    for index, package in enumerate(_array(data.get("package"), "package")):
        where = f"package[{index}]"
        package = _table(package, where)
        name = _name(package.get("name"), f"{where}.name")
        pinned = _text(package.get("version"), f"{where}.version")
        files = package.get("files")
        if files is None:
            files = old_files.get(_canonical(name), [])
        hashes = [str(_text(_table(f, f"{where}.files[{i}]").get("hash"), f"{where}.files[{i}].hash"))
                  for i, f in enumerate(_array(files, f"{where}.files")) if isinstance(f, dict) and f.get("hash")]
        hashes += _strings(old_hashes.get(_canonical(name)), f"metadata.hashes.{name}")
        source = _table(package.get("source"), f"{where}.source")
        kind = source.get("type")
        url = redact(_text(source.get("url"), f"{where}.source.url") or "")
        src: Source | None = None
        if kind == "git":
            src = Source("vcs", url, ref=_text(source.get("reference"), f"{where}.source.reference"),
                         commit=_text(source.get("resolved_reference"), f"{where}.source.resolved_reference"))
        elif kind in ("legacy", "explicit", "supplemental", "primary") and url:
            src = Source("index", url)
        elif kind == "url":
            src = Source("url", url)
        elif kind == "file":
            src = Source("path", url)
        elif kind == "directory":
            local.append(name)  # local project code (a path dependency), not a download
            continue
        markers = package.get("markers", package.get("marker"))
        groups = package.get("groups") or ([package["category"]] if isinstance(package.get("category"), str) else [])
        if isinstance(markers, dict):  # 2.1: one marker per group; a group without one installs it everywhere
            unconditional = any(isinstance(g, str) and g not in markers for g in _array(groups, f"{where}.groups"))
            markers = None if unconditional else \
                " or ".join(f"({m})" for m in markers.values() if isinstance(m, str)) or None
        manifest.pins.append(Pin(name, pinned, f"=={pinned}" if pinned else "", manifest.file,
                                 headers[index] if index < len(headers) else None, tuple(hashes), src,
                                 markers=_text(markers, f"{where}.markers"), locked=True,
                                 groups=tuple(_strings(groups, f"{where}.groups"))))
    _local_note(manifest, local, "directory")
    if tuple(int(n) for n in re.findall(r"\d+", version)[:2]) < (2, 1):
        # before 2.1 poetry installs by the graph from pyproject.toml, not by the package's own marker
        from mlwarden.deps.poetry_markers import poetry_markers, read_pyproject

        walked = poetry_markers(_array(data.get("package"), "package"), read_pyproject(path))
        if walked is not None:
            manifest.pins[:] = [replace(p, markers=walked.get(_canonical(p.name), p.markers)) for p in manifest.pins]


def _canonical(name: str) -> str:
    from mlwarden.policy.model import canonicalize_name

    return canonicalize_name(name)


def _canonical_keys(table: dict[str, Any]) -> dict[str, Any]:
    return {_canonical(key): value for key, value in table.items()}


# --- pdm.lock ---------------------------------------------------------------------------------------------------
PDM_LOCK_MAJORS = ("3", "4")


def _pdm_lock(text: str, manifest: Manifest, path: Path, root: Path) -> None:
    data = load_toml(text)
    metadata = _table(data.get("metadata"), "metadata")
    version = _text(metadata.get("lock_version"), "metadata.lock_version") or ""
    if version.split(".")[0] not in PDM_LOCK_MAJORS:
        manifest.fatal(f"lock_version {version[:20]!r} is not supported (expected 3.x or 4.x); nothing was checked")
        return
    lines = _Lines(text)
    headers = lines.headers("[[package]]")
    packages = [_table(p, f"package[{i}]") for i, p in enumerate(_array(data.get("package"), "package"))]
    names = {_canonical(_name(p.get("name"), f"package[{i}].name")) for i, p in enumerate(packages)}
    local: list[str] = []
    for index, package in enumerate(packages):
        where = f"package[{index}]"
        name = _name(package.get("name"), f"{where}.name")
        for dep in _strings(package.get("dependencies"), f"{where}.dependencies"):
            if ";" in dep:
                continue  # conditional: pdm leaves out what no lock target can install
            wanted = _canonical(re.split(r"[\s\[<>=!~;@(]", dep, maxsplit=1)[0])
            if wanted and wanted not in names:
                raise ReadFailure(f"{name} depends on {wanted}, which the lock does not contain "
                                  "(a truncated or edited pdm.lock)")
        pinned = _text(package.get("version"), f"{where}.version")
        files = [_table(f, f"{where}.files[{i}]") for i, f in enumerate(_array(package.get("files"),
                                                                                 f"{where}.files"))]
        hashes = [str(_text(f.get("hash"), f"{where}.files.hash")) for f in files if f.get("hash")]
        src: Source | None = None
        if package.get("git"):
            src = Source("vcs", redact(str(_text(package["git"], f"{where}.git"))),
                         ref=_text(package.get("ref"), f"{where}.ref"),
                         commit=_text(package.get("revision"), f"{where}.revision"))
        elif package.get("url"):
            src = Source("url", redact(str(_text(package["url"], f"{where}.url"))))
        elif package.get("path"):
            if package.get("editable"):
                local.append(name)  # the project itself or a local editable package: local code
                continue
            src = Source("path", redact(str(_text(package["path"], f"{where}.path"))))
        manifest.pins.append(Pin(name, pinned, f"=={pinned}" if pinned else "", manifest.file,
                                 headers[index] if index < len(headers) else None, tuple(hashes), src,
                                 markers=_text(package.get("marker"), f"{where}.marker"), locked=True,
                                 groups=tuple(_strings(package.get("groups"), f"{where}.groups"))))
    _local_note(manifest, local, "editable")


# --- Pipfile.lock -----------------------------------------------------------------------------------------------
def _pipfile_lock(text: str, manifest: Manifest, path: Path, root: Path) -> None:
    data = _table(load_json(text), "(document)")
    lines = _Lines(text)
    meta = _table(data.get("_meta"), "_meta")
    if not meta:
        manifest.fatal("no _meta table: not a Pipfile.lock, or a truncated one; nothing was checked")
        return
    spec = meta.get("pipfile-spec")
    # Absent in hand-written and very old locks (read as before); present, it must be a version pipenv wrote.
    if spec is not None and (isinstance(spec, bool) or not isinstance(spec, int) or not 1 <= spec <= PIPFILE_SPEC):
        manifest.fatal(f"pipfile-spec {redact(str(spec))[:20]!r} is not supported (pipenv writes "
                       f"{PIPFILE_SPEC}); nothing was checked", lines.find("pipfile-spec"))
        return
    named = _pipenv_sources(_array(meta.get("sources"), "_meta.sources"), "_meta.sources", manifest, lines)
    merged: dict[tuple[str, str | None, Source | None], Pin] = {}
    for section, packages in data.items():
        if section == "_meta":
            continue
        for name, spec in _table(packages, section).items():
            where = f"{section}.{name}"
            if len(name) > MAX_NAME_CHARS:
                raise FieldError(f"{section}: a name longer than {MAX_NAME_CHARS} characters")
            spec = _table(spec, where)
            src: Source | None = _table_source(spec, where, named, manifest)
            if src is None and named:  # pipenv installs an entry without "index" from the first source
                src = Source("index", next(iter(named.values())))
            if src is not None and src.kind == "vcs" and src.ref and re.fullmatch(r"[0-9a-f]{40}", src.ref):
                src = replace(src, commit=src.ref)  # pipenv records the resolved commit as the ref
            version = _text(spec.get("version"), f"{where}.version") or ""
            pin = Pin(name, exact_version(version), version, manifest.file, lines.quoted(name),
                      tuple(_strings(spec.get("hashes"), f"{where}.hashes")), src,
                      markers=_text(spec.get("markers"), f"{where}.markers"), locked=True, groups=(section,))
            key = (name.lower(), pin.version, src)
            if key in merged:  # the same package in "default" and "develop" is one install
                old = merged[key]
                merged[key] = replace(old, groups=(*old.groups, section),
                                      hashes=tuple(dict.fromkeys((*old.hashes, *pin.hashes))))
            else:
                merged[key] = pin
    manifest.pins.extend(merged.values())


# --- pylock.toml (PEP 751) --------------------------------------------------------------------------------------
def _pylock(text: str, manifest: Manifest, path: Path, root: Path) -> None:
    data = load_toml(text)
    lines = _Lines(text)
    version = data.get("lock-version")
    if not isinstance(version, str) or version not in PYLOCK_VERSIONS:
        # PEP 751: an unsupported major version is an error; a newer minor one may add what we would miss.
        manifest.fatal(f"lock-version {redact(str(version))[:20]!r} is not supported (known: "
                       f"{', '.join(PYLOCK_VERSIONS)}); nothing in it was checked", lines.find("lock-version"))
        return
    headers = lines.headers("[[packages]]")
    local = 0
    for index, package in enumerate(_array(data.get("packages"), "packages")):
        where = f"packages[{index}]"
        package = _table(package, where)
        name = _name(package.get("name"), f"{where}.name")
        line = headers[index] if index < len(headers) else lines.quoted(name)
        wheels = [_table(w, f"{where}.wheels[{i}]") for i, w in enumerate(_array(package.get("wheels"),
                                                                                  f"{where}.wheels"))]
        sdist = _table(package.get("sdist"), f"{where}.sdist")
        archive = _table(package.get("archive"), f"{where}.archive")
        hashes: list[str] = []
        for artefact in [*wheels, sdist, archive]:
            for algo, digest in _table(artefact.get("hashes"), f"{where}.hashes").items():
                hashes.append(f"{algo}:{_text(digest, f'{where}.hashes.{algo}')}")
        uploaded = _newest([_time(a.get("upload-time"), f"{where}.upload-time") for a in [*wheels, sdist, archive]])
        src: Source | None = None
        vcs = _table(package.get("vcs"), f"{where}.vcs")
        directory = _table(package.get("directory"), f"{where}.directory")
        if vcs:
            src = Source("vcs", redact(_text(vcs.get("url") or vcs.get("path"), f"{where}.vcs.url") or ""),
                         ref=_text(vcs.get("requested-revision"), f"{where}.vcs.requested-revision"),
                         commit=_text(vcs.get("commit-id"), f"{where}.vcs.commit-id"))
        elif directory:
            local += 1
            continue  # a local source tree (the project itself when path = "."): local code, not a PyPI pin
        elif archive:
            url = _text(archive.get("url"), f"{where}.archive.url")
            src = Source("url", redact(url)) if url else Source(
                "path", redact(_text(archive.get("path"), f"{where}.archive.path") or ""))
        elif package.get("index"):
            src = Source("index", redact(str(_text(package.get("index"), f"{where}.index"))))
        elif any(a.get("path") and not a.get("url") for a in [*wheels, sdist]):
            first = next(a for a in [*wheels, sdist] if a.get("path"))
            src = Source("path", redact(str(_text(first.get("path"), f"{where}.path"))))
        pinned = _text(package.get("version"), f"{where}.version")
        manifest.pins.append(Pin(name, pinned, f"=={pinned}" if pinned else "", manifest.file, line, tuple(hashes),
                                 src, markers=_text(package.get("marker"), f"{where}.marker"), locked=True,
                                 uploaded=uploaded))
    from_index = [p for p in manifest.pins if p.source is None or p.source.kind == "index"]
    if from_index and not any(p.uploaded for p in from_index):
        manifest.notes.append("no upload-time in this lock: the cooldown is not checked for it")
    if local:
        manifest.notes.append(f"{local} local director{'y' if local == 1 else 'ies'} (the project or path "
                              "dependencies): local code, not audited")


# --- conda ------------------------------------------------------------------------------------------------------
_CONDA_SPEC = re.compile(r"^\s*([A-Za-z0-9_.-]+)\s*(?:(==|=|>=|<=|>|<|!=|~=)?\s*([^\s=,|]+))?(?:[=\s]+(\S+))?\s*$")


def _conda(text: str, manifest: Manifest, path: Path, root: Path) -> list[Manifest]:
    data = load_yaml(text)
    if not isinstance(data, dict):
        raise ReadFailure("not a conda environment (expected a mapping)")
    lines = _Lines(text)
    included: list[Manifest] = []
    for index, channel in enumerate(_array(data.get("channels"), "channels")):
        raw = _text(channel, f"channels[{index}]") or ""
        manifest.channels.append((redact(raw), lines.find(raw)))
    for index, dep in enumerate(_array(data.get("dependencies"), "dependencies")):
        if isinstance(dep, dict):
            if "pip" not in dep:
                raise FieldError(f"dependencies[{index}]: a table other than pip")
            # conda writes this list to a requirements file next to the environment file and runs pip on it.
            pip_lines = [(lines.find(str(r)) or 0, str(r)) for r in _array(dep["pip"], f"dependencies[{index}].pip")
                         if isinstance(r, (str, int, float))]
            base = root if _inside(path, root) else path.parent
            before = _sizes(manifest)
            included += parse_lines(logical_lines("\n".join(r for _, r in pip_lines)), manifest, path,
                                    _Walk(root=root, base=base))
            _renumber(manifest, before, [n for n, _ in pip_lines])
            continue
        spec = _text(dep, f"dependencies[{index}]") or ""
        line = lines.find(spec)
        channel, _, rest = spec.rpartition("::")
        match = _CONDA_SPEC.match(rest)
        if "://" in rest or "@" in rest or not match or len(match.group(1)) > MAX_NAME_CHARS:
            # A URL here is not a conda spec ("https" is no package); what it names is not checked, and said so.
            manifest.problem(f"not a conda spec: {redact(spec)[:120]!r}", line)
            continue
        name, op, version, build = match.groups()
        # "numpy=1.26.4" matches 1.26.4 (and its builds); "numpy=1.26" is a prefix (1.26.*); ranges are not pins.
        pinned = version if version and op in (None, "=", "==") and "*" not in version and (
            op == "==" or build or version.count(".") >= 2) else None
        manifest.pins.append(Pin(name, pinned, f"{op or ''}{version or ''}", manifest.file, line,
                                 source=Source("conda-channel", redact(channel)) if channel else None,
                                 ecosystem="conda"))
    if not manifest.channels:
        manifest.channels.append(("defaults", None))
    return included


def _inside(path: Path, root: Path) -> bool:
    from mlwarden.deps.reading import inside

    return inside(path, root)


_LISTS = ("pins", "indexes", "extra_indexes", "find_links", "problems")


def _sizes(manifest: Manifest) -> dict[str, int]:
    return {name: len(getattr(manifest, name)) for name in _LISTS}


def _renumber(manifest: Manifest, before: dict[str, int], numbers: list[int]) -> None:
    """What the pip section added carries its line in the environment file, not in the joined list."""
    def moved(line: int | None) -> int | None:
        return (numbers[line - 1] or None) if line and line <= len(numbers) else line

    manifest.pins[before["pins"]:] = [replace(p, line=moved(p.line)) for p in manifest.pins[before["pins"]:]]
    manifest.problems[before["problems"]:] = [replace(p, line=moved(p.line))
                                              for p in manifest.problems[before["problems"]:]]
    for name in ("indexes", "extra_indexes", "find_links"):
        entries: list[tuple[str, int | None]] = getattr(manifest, name)
        entries[before[name]:] = [(url, moved(line)) for url, line in entries[before[name]:]]


def _conda_lock(text: str, manifest: Manifest, path: Path, root: Path) -> None:
    data = load_yaml(text)
    if not isinstance(data, dict):
        raise ReadFailure("not a conda-lock file (expected a mapping)")
    version = data.get("version")
    if version not in CONDA_LOCK_VERSIONS:
        manifest.fatal(f"conda-lock version {redact(str(version))[:20]!r} is not supported (expected 1); "
                       "nothing in it was checked")
        return
    metadata = _table(data.get("metadata"), "metadata")
    for index, channel in enumerate(_array(metadata.get("channels"), "metadata.channels")):
        url = _text(_table(channel, f"metadata.channels[{index}]").get("url"), f"metadata.channels[{index}].url")
        if url:
            manifest.channels.append((redact(url), None))
    lines = _Lines(text)
    merged: dict[tuple[str, str, str | None], Pin] = {}
    packages = _array(data.get("package"), "package")
    _conda_lock_complete(packages)
    for index, package in enumerate(packages):
        where = f"package[{index}]"
        package = _table(package, where)
        name = _name(package.get("name"), f"{where}.name")
        pinned = _text(package.get("version"), f"{where}.version")
        manager = _text(package.get("manager"), f"{where}.manager") or "conda"
        url = redact(_text(package.get("url"), f"{where}.url") or "")
        hashes = [f"{algo}:{_text(v, f'{where}.hash.{algo}')}"
                  for algo, v in _table(package.get("hash"), f"{where}.hash").items()]
        if manager == "pip":
            host = (safe_urlsplit(url).hostname or "").lower()
            src = None if host in ("files.pythonhosted.org", "pypi.org") else Source("url", url) if url else None
            ecosystem = "PyPI"
        else:
            src = Source("conda-channel", _conda_channel(url)) if url else None
            ecosystem = "conda"
        pin = Pin(name, pinned, f"=={pinned}" if pinned else "", manifest.file, lines.quoted(name), tuple(hashes),
                  src, ecosystem=ecosystem, locked=True,
                  groups=(str(package.get("category") or "main"),))
        key = (ecosystem, name.lower(), pinned)
        if key in merged:  # one entry per platform: one pin with every platform's hashes
            old = merged[key]
            merged[key] = replace(old, hashes=tuple(dict.fromkeys((*old.hashes, *pin.hashes))))
        else:
            merged[key] = pin
    manifest.pins.extend(merged.values())


def _conda_lock_complete(packages: list[Any]) -> None:
    """Every conda dependency of a platform is locked for that platform; otherwise the file was cut short."""
    present: set[tuple[str, str]] = set()
    for index, package in enumerate(packages):
        package = _table(package, f"package[{index}]")
        if package.get("manager", "conda") == "conda":
            present.add((str(package.get("platform")), str(package.get("name"))))
    for index, package in enumerate(packages):
        if package.get("manager", "conda") != "conda":
            continue
        platform = str(package.get("platform"))
        for dependency in _table(package.get("dependencies"), f"package[{index}].dependencies"):
            if not dependency.startswith("__") and (platform, dependency) not in present:
                raise ReadFailure(f"{package.get('name')} ({platform}) depends on {dependency}, which the lock does "
                                  "not contain (a truncated or edited conda-lock file)")


def _conda_explicit(text: str, manifest: Manifest, path: Path, root: Path) -> None:
    """conda's explicit format (`conda list --explicit --md5`, `conda-lock render --kind explicit`): after
    @EXPLICIT, one package URL per line with its md5 after '#'. conda installs exactly these files."""
    if "@EXPLICIT" not in text:
        raise ReadFailure("no @EXPLICIT line: not a conda explicit lock file")
    seen_explicit = False
    # `--md5` files carry a checksum on every package line
    hashed = any("#" in line and not line.lstrip().startswith("#") for line in text.split("@EXPLICIT", 1)[1]
                 .splitlines())
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line == "@EXPLICIT":
            seen_explicit = True
            continue
        if not seen_explicit or not line or line.startswith("#"):
            continue
        url, _, digest = line.partition("#")
        filename = url.rsplit("/", 1)[-1]
        stem = re.sub(r"\.(conda|tar\.bz2)$", "", filename)
        parts = stem.rsplit("-", 2)
        if len(parts) != 3 or stem == filename or len(parts[0]) > MAX_NAME_CHARS:
            manifest.problem(f"not a conda package URL: {redact(line)[:120]!r}", number)
            continue
        name, version, _build = parts
        hashes = (f"md5:{digest}",) if re.fullmatch(r"[0-9a-f]{32}", digest) else \
            (f"sha256:{digest}",) if re.fullmatch(r"[0-9a-f]{64}", digest) else ()
        if digest and not hashes:
            manifest.problem(f"{name}: the checksum after '#' is neither an md5 nor a sha256 digest (cut short?): "
                             "it can never match, so conda's install fails", number)
        elif not digest and hashed:
            manifest.problem(f"{name}: no checksum while the other packages have one (a line cut short?)", number)
        manifest.pins.append(Pin(name, version, f"=={version}", manifest.file, number, hashes,
                                 Source("conda-channel", _conda_channel(redact(url))), ecosystem="conda",
                                 locked=True))


def _conda_channel(url: str) -> str:
    """https://conda.anaconda.org/conda-forge/linux-64/x.conda -> conda-forge (other hosts: the URL's folder)."""
    parts = safe_urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    if (parts.hostname or "") in ("conda.anaconda.org", "repo.anaconda.com") and segments:
        return "defaults" if parts.hostname == "repo.anaconda.com" else segments[0]
    return url.rsplit("/", 2)[0] if segments else url


_PARSERS: dict[str, Callable[[str, Manifest, Path, Path], list[Manifest] | None]] = {
    "pyproject": _pyproject, "setup.cfg": _setup_cfg, "Pipfile": _pipfile, "uv.lock": _uv_lock,
    "poetry.lock": _poetry_lock, "Pipfile.lock": _pipfile_lock, "pylock": _pylock, "conda": _conda,
    "conda-lock": _conda_lock, "conda-explicit": _conda_explicit, "pdm.lock": _pdm_lock}

__all__ = ["LOCK_KINDS", "PYPI_SIMPLE", "FieldError", "kind_of", "parse_file"]
