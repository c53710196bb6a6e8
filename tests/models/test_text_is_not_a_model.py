"""Text files are never models (issue 13): prose that reads "cleanly" through binary-length opcodes for a few
kilobytes is not a protocol-0 pickle; a real protocol-0 pickle, however long its data before the payload, is."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from mlwarden.findings import Severity
from mlwarden.models.pickle import looks_like_pickle
from mlwarden.models.scanner import is_model_candidate, scan_model_file

# Openings of the files that were reported as MW105 "pickle is truncated" on public repositories: a Creative
# Commons legal code ("C" is SHORT_BINBYTES, "r" its length), a Markdown page ("T" is BINSTRING) and an
# ML project checklist (handson-ml2). The text after the opening is filler of ordinary prose.
_OPENINGS = [
    "Creative Commons Legal Code\n\nAttribution-NonCommercial-NoDerivs 3.0 Unported\n\n",
    "This camera agent streams microphone audio and one camera frame per second into a\n",
    "This checklist can guide you through your Machine Learning projects. There are eight main steps:\n",
]
_PROSE = "The licensor grants you a worldwide, royalty-free, non-exclusive licence to use the work.\n" * 300


@pytest.mark.parametrize("opening", _OPENINGS)
def test_prose_is_not_a_pickle_nor_a_model_candidate(opening: str, tmp_path: Path) -> None:
    data = (opening + _PROSE).encode()
    assert len(data) > 4096
    assert not looks_like_pickle(data[:4096], len(data))
    path = tmp_path / "LICENSE"
    path.write_bytes(data)
    assert not is_model_candidate(path)


def test_text_that_looks_like_protocol_0_at_first_has_no_finding_and_no_model_format(tmp_path: Path) -> None:
    # Lines that each start with a protocol-0 opcode taking a line ("V", "P", "S"...) pass the probe; the full
    # parse then breaks without reaching a global or a STOP: not a pickle, no MW105, not in the inventory.
    data = ("Version notes for the dataset\n" * 200 + "Sorry, this is prose.\n" + "xyz " * 50).encode()
    path = tmp_path / "NOTES"
    path.write_bytes(data)
    assert is_model_candidate(path)
    result, _ = scan_model_file(path)
    assert result.error is None
    assert result.findings == []
    assert "pickle" not in result.formats


def test_truncated_file_named_as_a_pickle_keeps_its_finding(tmp_path: Path) -> None:
    data = pickle.dumps(list(range(3000)), protocol=0)
    path = tmp_path / "model.pkl"
    path.write_bytes(data[:-200])
    result, _ = scan_model_file(path)
    assert [(f.rule, f.severity >= Severity.HIGH) for f in result.findings] == [("MW105", True)]


def test_protocol_0_pickle_with_kilobytes_of_data_before_its_payload_is_still_found(tmp_path: Path) -> None:
    # CVE-2025-10155's shape: no magic, an innocuous name; the import comes after the first 4 KiB.
    padding = b"(lp0\n" + b"".join(b"I%d\na" % i for i in range(3000)) + b"0"
    data = padding + b"cos\nsystem\n(S'echo marker'\ntR."
    assert looks_like_pickle(data[:4096], len(data))
    path = tmp_path / "weights.data"
    path.write_bytes(data)
    assert is_model_candidate(path)
    result, _ = scan_model_file(path)
    assert any(f.rule == "MW101" and f.severity >= Severity.CRITICAL for f in result.findings), result.findings


def test_real_protocol_0_data_pickle_longer_than_the_head_is_a_pickle() -> None:
    data = pickle.dumps({"rows": [float(i) for i in range(2000)], "name": "x"}, protocol=0)
    assert len(data) > 4096
    assert looks_like_pickle(data[:4096], len(data))


def test_github_workflow_expressions_are_not_a_template(tmp_path: Path) -> None:
    from mlwarden.models.readers.sniffs import template

    workflow = (b"on: push\njobs:\n  t:\n    runs-on: ${{ matrix.os }}\n"
                b"    steps:\n      - run: echo ${{ github.sha }}\n")
    assert not template(workflow, ".github/workflows/ci.yml", len(workflow))
    jinja = b"prompt: 'Hello {{ user }}'\n"
    assert template(jinja, "prompts/hello.yaml", len(jinja))
    assert template(b"x: ${{ a }}\n{% for x in y %}{% endfor %}\n", "t.yml", None)
