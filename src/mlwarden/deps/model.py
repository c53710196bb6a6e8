"""One model for every dependency format: a Pin, where it comes from, and the sources a file declares."""

from __future__ import annotations

from dataclasses import dataclass, field

PYPI_SIMPLE = "https://pypi.org/simple"
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


@dataclass(frozen=True)
class Problem:
    """A line or file the parser could not use; becomes a finding naming file and line."""

    rule: str
    file: str
    line: int | None
    message: str


@dataclass
class Manifest:
    """What one file declares."""

    file: str
    kind: str  # "requirements" | "pyproject" | "uv.lock" | "poetry.lock" | "Pipfile.lock" | "pylock" | "conda"
    pins: list[Pin] = field(default_factory=list)
    indexes: list[tuple[str, int | None]] = field(default_factory=list)  # (url, line)
    extra_indexes: list[tuple[str, int | None]] = field(default_factory=list)
    find_links: list[tuple[str, int | None]] = field(default_factory=list)
    channels: list[tuple[str, int | None]] = field(default_factory=list)
    index_strategy: tuple[str, int | None] | None = None
    problems: list[Problem] = field(default_factory=list)
    includes: list[str] = field(default_factory=list)
