"""Property-based tests: the leak readers and validators take any input without an exception or a slow path."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlwarden.findings import Severity
from mlwarden.leaks import pii, triage
from mlwarden.leaks.scanner import Context, scan_file_result
from mlwarden.leaks.secrets import Detector
from mlwarden.policy import Policy

# Text made of what the validators look at: digits, separators, signs, letters of IBANs and keywords.
DIGITISH = st.text(alphabet="0123456789 +-./:()@ABFRabcdeghinorstx\t", max_size=400)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.sampled_from(
        ["cells", "source", "outputs", "metadata", "tags", "data", "text", "text/plain", "output_type", "traceback",
         "ename", "evalue", "cell_type", "mlwarden", "ignore", "execution_count", "nbformat"]), children, max_size=6),
    max_leaves=30)


@pytest.fixture(scope="module")
def ctx() -> Iterator[Context]:
    with tempfile.TemporaryDirectory() as tmp, Detector() as detector:
        yield Context(root=Path(tmp), policy=Policy(), detector=detector, baseline={})


@settings(deadline=None)
@given(st.text(max_size=400) | DIGITISH, st.none() | st.sampled_from(["email", "dob", "card_number", "x"]))
def test_personal_data_validators_take_any_text(text: str, column: str | None) -> None:
    for match in pii.find(text, column=column):
        assert match.value
        assert pii.mask(match.value) != match.value or len(match.value) <= 4


@settings(deadline=None)  # the first call imports detect-secrets' heuristics
@given(st.sampled_from(["Base64 High Entropy String", "Hex High Entropy String", "Secret Keyword", "GitHub Token",
                        "AWS Access Key", "Basic Auth Credentials", "Hugging Face Token"]),
       st.text(max_size=120), st.text(max_size=200), st.booleans(), st.booleans())
def test_triage_takes_any_value(kind: str, value: str, line: str, fixture: bool, cassette: bool) -> None:
    triage.is_noise(kind, value, line)
    severity = triage.severity(kind, value, triage.Place(fixture=fixture, cassette=cassette))
    assert severity is None or isinstance(severity, Severity)
    triage.verify(kind, value)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(JSON)
def test_any_json_as_a_notebook(ctx: Context, doc: object) -> None:
    path = ctx.root / "nb.ipynb"
    path.write_text(json.dumps(doc))
    result = scan_file_result(path, "nb.ipynb", ctx)
    assert all(f.rule.startswith("MW40") for f in result.findings)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=3000), st.sampled_from(["x.csv", "x.tsv", "x.py", "x.json", "x.ipynb", "x.parquet"]))
def test_any_bytes_in_any_file(ctx: Context, data: bytes, name: str) -> None:
    path = ctx.root / name
    path.write_bytes(data)
    scan_file_result(path, name, ctx)


@pytest.mark.parametrize("line", [
    ("+1" + "2" * 30 + " ") * 130, "+1 2 3 4 5 6 7 8 9 " * 300, "1 2 " * 1000, "1.2.3.4." * 500, "+33 (0)6 " * 450,
    "a@" * 2000, "born 12/12/" * 400, "FR76 " * 800, "123-45-" * 600, "4532 " * 800,
])
def test_hostile_lines_stay_fast(line: str) -> None:
    pii.find("+33 6 12 34 56 78")  # libphonenumber's metadata loads once, outside the timing
    start = time.perf_counter()
    pii.find(line[:4096])
    assert time.perf_counter() - start < 0.2
