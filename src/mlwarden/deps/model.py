"""One model for every dependency format: a Pin, where it comes from, and the sources a file declares."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from mlwarden.rules import DEP_UNPARSABLE

PYPI_SIMPLE = "https://pypi.org/simple"
# Jinja as cookiecutter, copier and hatch/uv-dynamic-versioning write it: `{{ cookiecutter.x }}`, `{% if %}`.
_TEMPLATE = re.compile(r"\{\{.{0,200}?\}\}|\{%.{0,200}?%\}")


def is_template(text: str) -> bool:
    """Whether a requirement or file is a template (Jinja placeholders): not a requirement until rendered."""
    return _TEMPLATE.search(text) is not None

DEFAULT_CONDA_CHANNELS = ("defaults", "conda-forge")


@dataclass(frozen=True)
class Source:
    """Where a pin comes from: an index, find-links, a direct URL, a VCS, a local path, or a conda channel."""

    kind: str  # "index" | "find-links" | "url" | "vcs" | "path" | "conda-channel"
    url: str
    ref: str | None = None  # VCS ref (branch, tag or commit) as written
    commit: str | None = None  # resolved commit when the file records one


@dataclass(frozen=True)
class Pin:
    name: str
    version: str | None  # the exact version when pinned (== / === / a lock file), else None
    specifier: str  # the requirement's specifier as written ("" when none)
    file: str
    line: int | None
    hashes: tuple[str, ...] = ()
    source: Source | None = None
    markers: str | None = None
    ecosystem: str = "PyPI"  # "PyPI" or "conda"
    locked: bool = False  # from a lock file (pinned by construction)
    uploaded: str | None = None  # newest upload time of the locked files (ISO 8601, UTC) when the lock records it
    groups: tuple[str, ...] = ()  # dependency groups / extras / sections that bring it in


@dataclass(frozen=True)
class Problem:
    """A line or file the parser could not use; becomes a finding naming file and line."""

    rule: str
    file: str
    line: int | None
    message: str
    fatal: bool = False  # the file (or an include) could not be read fully: an error (exit 2), not a finding

    def __post_init__(self) -> None:
        # One line, no credential, whatever value a hostile file put into the message.
        from mlwarden.redact import redact

        object.__setattr__(self, "message", redact(" ".join(self.message.split())))


@dataclass
class Manifest:
    """What one file declares."""

    file: str
    kind: str  # "requirements" | "pyproject" | "uv.lock" | "poetry.lock" | "Pipfile" | "Pipfile.lock" | "pylock"
    #            | "conda" | "conda-lock" | "installed"
    pins: list[Pin] = field(default_factory=list)
    indexes: list[tuple[str, int | None]] = field(default_factory=list)  # (url, line)
    extra_indexes: list[tuple[str, int | None]] = field(default_factory=list)
    find_links: list[tuple[str, int | None]] = field(default_factory=list)
    channels: list[tuple[str, int | None]] = field(default_factory=list)
    index_strategy: tuple[str, int | None] | None = None
    problems: list[Problem] = field(default_factory=list)
    includes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # coverage notes ("no upload times: cooldown not checked")
    extra_findings: list[Any] = field(default_factory=list)  # Findings a reader makes itself (.pth files)

    def fatal(self, message: str, line: int | None = None) -> None:
        self.problems.append(Problem(DEP_UNPARSABLE, self.file, line, message, fatal=True))

    def template(self, line: int | None = None) -> None:
        """A templated requirement: a coverage note, not an alarm (it cannot be checked until it is rendered)."""
        where = f"line {line}" if line else "file"
        self.notes.append(f"not checked: template ({where} has Jinja placeholders; check the rendered project)")

    def problem(self, message: str, line: int | None = None, rule: str = DEP_UNPARSABLE) -> None:
        self.problems.append(Problem(rule, self.file, line, message))
