"""Inline suppressions: the comment forms linters use, notebook cell tags, and typos reported, not obeyed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlwarden import suppress


@pytest.mark.parametrize(("line", "expected"), [
    ('token = "x"  # mlwarden: ignore[MW401]', {"MW401"}),
    ('token = "x"  # mlwarden:ignore[MW401, MW402]', {"MW401", "MW402"}),
    ('token = "x"  # noqa: MW401', {"MW401"}),
    ('token = "x"  # noqa: E501,MW402 S105', {"MW402"}),
    ('token = "x"  # noqa:MW401 because it is a fixture', {"MW401"}),
    ("const t = 'x'; // mlwarden: ignore[MW401]", {"MW401"}),
    ("<!-- mlwarden: ignore[personal-data] --> jane@acme.fr", {"MW402"}),  # a rule name works too
    ("SELECT 1; -- mlwarden: ignore[MW402]", {"MW402"}),
    ('token = "x"  # MLWARDEN: Ignore[mw401]', {"MW401"}),
])
def test_named_rules(line: str, expected: set[str]) -> None:
    assert suppress.suppressed_rules(line) == frozenset(expected)
    for rule in expected:
        assert suppress.is_suppressed(rule, line)
    assert not suppress.is_suppressed("MW703", line)


@pytest.mark.parametrize("line", ['x = 1  # mlwarden: ignore', "/* mlwarden: ignore */", 'x  # mlwarden: ignore[]',
                                  "x  # mlwarden: ignore[*]"])
def test_bare_ignore_is_every_rule(line: str) -> None:
    assert suppress.suppressed_rules(line) == suppress.ALL
    assert suppress.is_suppressed("MW401", line)
    assert suppress.is_suppressed("MW704", line)


@pytest.mark.parametrize("line", [
    'token = "x"  # noqa',  # other linters' blanket noqa does not silence a security rule
    'token = "x"  # noqa: E501',
    'token = "x"  # pragma: no cover',
    'print("mlwarden ignore MW401")',  # not a comment form
    'token = "x"  # mlwarden ignores nothing here',
    "",
])
def test_not_suppressions(line: str) -> None:
    assert suppress.suppressed_rules(line) == suppress.NONE
    assert not suppress.is_suppressed("MW401", line)


def test_unknown_ids_are_reported_with_a_hint() -> None:
    rules = suppress.suppressed_rules("x  # mlwarden: ignore[MW410, MW401, secrte]")
    assert suppress.covers(rules, "MW401")
    assert suppress.unknown_rules(rules) == ["MW410", "secrte"]
    assert suppress.closest_rule("secrte") == "MW401"
    assert suppress.closest_rule("MW4O1") == "MW401"
    assert suppress.closest_rule("completely-different-words") is None


@pytest.mark.parametrize(("metadata", "expected"), [
    ({"tags": ["mlwarden-ignore"]}, suppress.ALL),
    ({"tags": ["parameters", "mlwarden-ignore[MW402]"]}, frozenset({"MW402"})),
    ({"mlwarden": {"ignore": ["MW401"]}}, frozenset({"MW401"})),
    ({"mlwarden": {"ignore": True}}, suppress.ALL),
    ({"mlwarden": {"ignore": "MW401, MW402"}}, frozenset({"MW401", "MW402"})),
    # Wrong types silence nothing.
    ({"tags": "mlwarden-ignore"}, suppress.NONE),
    ({"tags": [1, None, {"a": 1}]}, suppress.NONE),
    ({"mlwarden": ["ignore"]}, suppress.NONE),
    ({"mlwarden": {"ignore": 3}}, suppress.NONE),
])
def test_notebook_cells(metadata: dict[str, object], expected: frozenset[str]) -> None:
    assert suppress.cell_rules({"cell_type": "code", "metadata": metadata}) == expected


@pytest.mark.parametrize("cell", [None, [], "x", {"metadata": None}, {"metadata": []}])
def test_malformed_cells(cell: object) -> None:
    assert suppress.cell_rules(cell) == suppress.NONE


@given(st.text(max_size=300))
def test_any_text_never_crashes(text: str) -> None:
    rules = suppress.suppressed_rules(text)
    assert isinstance(rules, frozenset)
    suppress.unknown_rules(rules)


def test_hostile_line_stays_fast() -> None:
    import time

    line = "# noqa: " + "MW401," * 200_000 + "# mlwarden: ignore[" + "x" * 1_000_000
    start = time.perf_counter()
    suppress.suppressed_rules(line)
    assert time.perf_counter() - start < 1.0
