"""Expected failures. Each becomes one line on stderr and exit code 2 in the CLI."""

from __future__ import annotations


class MlwardenError(Exception):
    """Base class of every error that mlwarden reports as a one-line message."""


class ConfigError(MlwardenError):
    """The configuration (pyproject.toml / .mlwarden.toml / options) is invalid."""


class PolicyError(MlwardenError):
    """A policy file is invalid; ``problems`` lists every problem found, with file and line."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class InputError(MlwardenError):
    """An input file cannot be read at all (missing, a directory, permission denied)."""
