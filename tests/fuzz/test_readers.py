"""Every reader on mutated real inputs (byte mutations, and wrong-typed fields for structured formats): no
exception other than an MlwardenError, no hang, no input changed, no planted credential in any output, exit
codes in {0, 1, 2}. Deterministic (mutate.FUZZ); a failure found here or by scripts/fuzz.py becomes a file in
tests/corpus/<area>/, replayed by test_corpus.py. Failures already filed there (targets.KNOWN_BUGS, owned by
other modules) are tolerated here so that this test keeps catching new ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuzz.mutate import FUZZ, HypothesisChooser, dump, mutate_bytes, mutate_value
from tests.fuzz.targets import KNOWN_BUGS, TARGETS, load_structured, signature


def check(target_name: str, folder: Path, name: str, data: bytes) -> None:
    try:
        TARGETS[target_name].run(folder, name, data)
    except Exception as exc:
        if signature(exc) in KNOWN_BUGS.get(target_name, {}):
            return
        raise


def fuzz(target_name: str, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    target = TARGETS[target_name]
    seeds = target.seeds()
    chooser = HypothesisChooser(data)
    name = chooser.choice(sorted(seeds))
    kind = target.structured.get(name)
    if kind is not None and chooser.choice([True, False]):
        payload = dump(mutate_value(load_structured(seeds[name], kind), chooser, toml=kind == "toml"), kind).encode()
    else:
        payload = mutate_bytes(seeds[name], chooser)
    check(target_name, tmp_path_factory.mktemp("fz"), name, payload)


@FUZZ
@given(data=st.data())
def test_dependency_files(tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    fuzz("deps", tmp_path_factory, data)


@FUZZ
@given(data=st.data())
def test_dependency_files_never_show_credentials(tmp_path_factory: pytest.TempPathFactory,
                                                 data: st.DataObject) -> None:
    fuzz("deps-redaction", tmp_path_factory, data)


@FUZZ
@given(data=st.data())
def test_notebooks_code_checks(tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    fuzz("notebook-code", tmp_path_factory, data)


@FUZZ
@given(data=st.data())
def test_notebooks_leak_scan(tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    fuzz("notebook-leaks", tmp_path_factory, data)


@FUZZ
@given(data=st.data())
def test_policy_files(tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    fuzz("policy", tmp_path_factory, data)


@settings(FUZZ, max_examples=min(FUZZ.max_examples, 8))
@given(data=st.data())
def test_policy_commands_never_show_credentials(tmp_path_factory: pytest.TempPathFactory,
                                                data: st.DataObject) -> None:
    fuzz("policy-redaction", tmp_path_factory, data)


@FUZZ
@given(data=st.data())
def test_osv_records(tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    fuzz("osv", tmp_path_factory, data)


@settings(FUZZ, max_examples=min(FUZZ.max_examples, 12))
@given(data=st.data())
def test_sbom_diff_inputs(tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    fuzz("sbom-diff", tmp_path_factory, data)


@FUZZ
@given(data=st.data())
def test_model_files_from_real_libraries(tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    fuzz("models", tmp_path_factory, data)


@settings(FUZZ, max_examples=min(FUZZ.max_examples, 4))
@given(data=st.data())
def test_cli_over_a_tree_with_one_mutated_file(tmp_path_factory: pytest.TempPathFactory,
                                               data: st.DataObject) -> None:
    fuzz("cli", tmp_path_factory, data)


def test_every_target_has_a_test() -> None:
    tested = {"deps", "deps-redaction", "notebook-code", "notebook-leaks", "policy", "policy-redaction", "osv",
              "sbom-diff", "models", "cli"}
    replay_only = {"tree"}  # no seeds: it replays the campaign's tree specs (test_corpus.py)
    assert tested | replay_only == set(TARGETS)
