"""Typosquats: real malicious names are caught with the right target; popular packages never are."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import mlwarden.deps.typosquat as typosquat
from mlwarden.deps.typosquat import Match, is_popular, lookalike, typosquat_target
from mlwarden.findings import Severity

DATA = Path(__file__).resolve().parent.parent / "data" / "typosquats"


def _rows(name: str) -> list[list[str]]:
    text = (DATA / name).read_text(encoding="utf-8")
    return [line.split("\t") for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_real_malicious_names_are_flagged_with_the_right_target() -> None:
    rows = _rows("malicious.tsv")
    assert len(rows) == 33
    missed = []
    for name, target, _source in rows:
        match = typosquat_target(name)
        if match is None or match.target != target:
            missed.append((name, target, match.target if match else None))
    assert len(missed) <= 3, missed
    assert missed == []  # today: 33 of 33


def test_popular_packages_are_never_squats() -> None:
    top = [row[0] for row in _rows("top3000.txt")]
    assert len(top) == 3000
    flagged = [(name, typosquat_target(name)) for name in top]
    high = [(n, m) for n, m in flagged if m is not None and m.severity >= Severity.HIGH]
    assert len(high) <= 1, high
    assert all(m is None for _, m in flagged)  # every one of them is in the reference list
    for name in ("peft", "toml", "dash", "tomli", "ppft", "dask"):  # pairs the old check confused
        assert typosquat_target(name) is None


@pytest.fixture
def head_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Pretend only the 10,000 first names are popular; yield the 10,001st onwards, real but less-known names."""
    names = list(typosquat._ranks())
    head = {name: rank for rank, name in enumerate(names[:10_000], 1)}
    for cached in (typosquat._by_key,):
        cached.cache_clear()
    monkeypatch.setattr(typosquat, "_ranks", lambda: head)
    yield names[10_000:]
    for cached in (typosquat._by_key,):
        cached.cache_clear()


def test_real_but_less_known_packages_are_rarely_high(head_only: list[str]) -> None:
    # A proxy for a project's own unpopular dependencies: genuine projects ranked 10,001+ by downloads.
    matches = [m for m in map(typosquat_target, head_only) if m is not None]
    high = [m for m in matches if m.severity is Severity.HIGH]
    assert len(head_only) > 4000
    assert len(high) / len(head_only) < 0.015, [m.describe() for m in high]  # measured 0.7 % (35 of 4,985)
    assert len(matches) / len(head_only) < 0.06  # measured 4.2 %, mostly medium


@pytest.mark.parametrize(("name", "target", "pattern"), [
    ("setup-tools", "setuptools", "separator"),
    ("scikitlearn", "scikit-learn", "separator"),
    ("python_dateutil", None, None),  # the same name as python-dateutil (PEP 503)
    ("python3-dateutil", "python-dateutil", "affix"),
    ("pythonkafka", "kafka-python", "affix"),
    ("requests-py", "requests", "affix"),
    ("jeIlyfish", "jellyfish", "homoglyph"),
    ("nurnpy", "numpy", "homoglyph"),
    ("pnadas", "pandas", "swap"),
    ("pandaas", "pandas", "double"),
    ("djanga", "django", "substitute"),
    ("urlib3", "urllib3", "delete"),
    ("colourama", "colorama", "insert"),
    ("beautifulsoupp", "beautifulsoup4", "double"),  # the most popular close name, not beautifulsoup
])
def test_patterns(name: str, target: str | None, pattern: str | None) -> None:
    match = typosquat_target(name)
    assert (match.target if match else None) == target
    assert (match.pattern if match else None) == pattern
    assert lookalike(name) == target


def test_length_and_digits_scale_the_threshold() -> None:
    assert typosquat_target("abc") is None  # too short to say anything
    assert typosquat_target("dasg") is None  # four letters: a changed letter is not evidence
    tqdn = typosquat_target("tqmd")  # ... but two swapped letters are (tdqm itself is a real, listed name)
    assert tqdn is not None
    assert tqdn.target == "tqdm"
    assert typosquat_target("cupy-cuda13x") is None  # a changed digit names a variant, not a squat
    assert typosquat_target("flask-cora") is None  # a changed letter inside a short part of a hyphenated name


def test_severity_and_description() -> None:
    strong = typosquat_target("requestss")
    assert isinstance(strong, Match)
    assert strong.severity is Severity.HIGH
    assert strong.target_rank == typosquat._ranks()["requests"]
    assert "'requests'" in strong.describe()
    assert "doubled" in strong.describe()
    far = typosquat_target("pymafka")  # pykafka is in the list but far from the top
    assert far is not None
    assert (far.target, far.severity) == ("pykafka", Severity.MEDIUM)
    dropped = typosquat_target("spark")
    assert dropped is None or dropped.severity is Severity.MEDIUM


def test_is_popular_and_odd_input() -> None:
    assert is_popular("Requests")
    assert not is_popular("reqeusts")
    for odd in ("", "-", "a" * 300, "näive", "req uests"):
        assert typosquat_target(odd) is None or isinstance(typosquat_target(odd), Match)
