from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlwarden.findings import Finding, Severity
from mlwarden.models.scanner import scan_model_file


@pytest.fixture
def marker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Where a payload would leave its mark if it ever ran. Tests assert it never appears."""
    path = tmp_path_factory.mktemp("marker") / "PAYLOAD_RAN"
    yield path
    assert not path.exists(), "a scanned payload was executed"


@pytest.fixture(autouse=True)
def _quiet_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLWARDEN_POLICY", raising=False)
    monkeypatch.delenv("MLWARDEN_FORMAT", raising=False)
    monkeypatch.delenv("MLWARDEN_DEBUG", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    for key, value in (("GIT_AUTHOR_NAME", "t"), ("GIT_AUTHOR_EMAIL", "t@example.invalid"),
                       ("GIT_COMMITTER_NAME", "t"), ("GIT_COMMITTER_EMAIL", "t@example.invalid")):
        monkeypatch.setenv(key, value)


def scan_bytes(tmp_path: Path, data: bytes, name: str = "sample.bin") -> list[Finding]:
    path = tmp_path / name
    path.write_bytes(data)
    result, _ = scan_model_file(path, name)
    assert result.error is None, result.error
    return result.findings


def worst(findings: list[Finding]) -> Severity | None:
    return max((f.severity for f in findings), default=None)


def rules(findings: list[Finding]) -> set[str]:
    return {f.rule for f in findings}


def at_least(findings: list[Finding], severity: Severity) -> list[Finding]:
    return [f for f in findings if f.severity >= severity]


ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("PYTHONHASHSEED", "0")


@contextlib.contextmanager
def chdir(folder: str | os.PathLike[str]) -> Iterator[None]:
    """contextlib.chdir, which Python 3.10 lacks."""
    before = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)
