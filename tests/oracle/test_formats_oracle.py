"""Loader-as-oracle for the non-pickle formats (issue #12): Jinja chat templates, TorchScript, distributed
checkpoints, ONNX external data, skops and Keras. Every sample whose payload ran in the REAL loader (harness.py,
throwaway subprocess, temp folder) must be flagged high or above; files the real libraries write must not be.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
from pathlib import Path

import pytest

from mlwarden.findings import Finding, Severity
from mlwarden.models.readers.templates import check_template
from mlwarden.models.scanner import is_model_candidate, scan_model_file
from tests.oracle import format_samples as fs
from tests.oracle import harness

os.environ.setdefault("KERAS_BACKEND", "torch")  # keras 3 with torch (no TensorFlow in the test environment)
SEED = int(os.environ.get("MLWARDEN_ORACLE_SEED", "12"))
JINJA_COUNT = int(os.environ.get("MLWARDEN_ORACLE_JINJA", "120"))


def scan_folder(folder: Path) -> list[Finding]:
    """Findings of every file of a sample's folder that the models check wants (what a folder scan reports),
    links not followed."""
    findings: list[Finding] = []
    for path in sorted(folder.rglob("*")):
        if path.is_symlink() or not path.is_file() or not is_model_candidate(path):
            continue
        result, _ = scan_model_file(path, path.relative_to(folder).as_posix())
        assert result.error is None, (path, result.error)
        findings += result.findings
    return findings


def flagged_high(findings: list[Finding]) -> bool:
    return any(f.severity >= Severity.HIGH for f in findings)


def missed(samples: list[fs.Sample], ran: set[str]) -> list[str]:
    """Names of the samples that ran in their loader and were not flagged high (after building them again in a
    fresh folder: the generators are deterministic)."""
    out = []
    for name, write, _loader in samples:
        if name not in ran:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "sample"
            folder.mkdir()
            write(folder)
            findings = scan_folder(folder)
        if not flagged_high(findings):
            out.append(f"{name}: {[(f.rule, f.severity.label) for f in findings]}")
    return out


@pytest.fixture(scope="module")
def ts_base(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    pytest.importorskip("torch")
    return fs.scripted_archive(tmp_path_factory.mktemp("ts"))


def test_jinja_escapes_that_render_are_flagged() -> None:
    pytest.importorskip("gguf")
    samples = fs.jinja_samples(SEED, JINJA_COUNT)
    ran = harness.run_loaders(samples)
    assert len(ran) >= len(samples) * 3 // 4, "the generator should make mostly working payloads"
    assert missed(samples, ran) == []


def test_every_spelling_of_a_dunder_name_renders_and_is_flagged() -> None:
    """The walk from a literal names no global: only the spelling of '__class__', '__globals__'... can give it
    away (text, keywords, set blocks, macros, characters cut from an object's text, %c formats...)."""
    pytest.importorskip("gguf")
    samples = fs.jinja_spelling_samples()
    ran = harness.run_loaders(samples)
    assert ran == {name for name, _, _ in samples}
    assert missed(samples, ran) == []


def test_no_jinja_escape_gets_through_transformers_sandbox() -> None:
    """The sandbox transformers renders with stops them all: the danger is the unsandboxed renderers."""
    samples = [(name, write, "jinja-sandbox") for name, write, _ in fs.jinja_samples(SEED, 24)]
    assert harness.run_loaders(samples) == set()


def test_torchscript_calls_that_run_at_load_are_flagged(ts_base: bytes) -> None:
    samples = fs.torchscript_samples(ts_base)
    ran = harness.run_loaders(samples)
    # code edits run (torch.ops.aten.* is not TorchScript syntax); pickled payloads in constants.pkl/data.pkl
    # do not (torch's own unpickler resolves no such globals) but are flagged all the same
    assert {name for name in ran if "pkl" in name} == set()
    assert len(ran) >= 6
    assert missed(samples, {name for name, _, _ in samples}) == []


def test_distcp_items_and_metadata_that_run_are_flagged() -> None:
    pytest.importorskip("torch")
    samples = fs.distcp_samples()
    ran = harness.run_loaders(samples)
    assert len(ran) == len(samples)
    assert missed(samples, ran) == []


def test_onnx_external_data_read_outside_the_folder_is_flagged() -> None:
    """onnx >= 1.16 and onnxruntime 1.32 refuse every one of these (the oracle proves it: nothing is read, while
    the same model reading a file inside its folder is); older onnx and runtimes do not all check, so each is
    still reported high."""
    pytest.importorskip("onnx")
    loaders = ["onnx"] + (["onnxruntime"] if importlib.util.find_spec("onnxruntime") else [])
    samples = [sample for sample in fs.onnx_samples() if sample[2] in loaders]
    controls = [(f"inside-{loader}", fs.onnx_inside_writer, loader) for loader in loaders]
    assert harness.run_loaders([*samples, *controls]) == {name for name, _, _ in controls}
    assert missed(samples, {name for name, _, _ in samples}) == []


def test_skops_callables_that_run_are_flagged() -> None:
    pytest.importorskip("skops")
    samples = fs.skops_samples()
    ran = harness.run_loaders(samples)
    assert ran, "at least the trusted=get_untrusted_types pattern should run a payload"
    assert missed(samples, ran) == []


def test_keras_configs_that_run_are_flagged() -> None:
    pytest.importorskip("keras")
    samples = fs.keras_samples()
    ran = harness.run_loaders(samples)
    assert ran, "safe_mode=False Lambda layers should run"
    assert missed(samples, ran) == []


# --- precision: what the real libraries write is not flagged high -----------------------------------------------
@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path


@pytest.mark.parametrize("name", [name for name, _ in fs.benign_templates()])
def test_real_chat_templates_are_clean_in_every_place(folder: Path, name: str) -> None:
    pytest.importorskip("gguf")
    template = dict(fs.benign_templates())[name]
    assert check_template(name, template) == []
    for place in fs.PLACES:
        sub = folder / place
        sub.mkdir()
        fs.place_template(template, place)(sub)
        assert not flagged_high(scan_folder(sub)), place


def test_real_torchscript_distcp_onnx_skops_keras_are_not_high(folder: Path, ts_base: bytes) -> None:
    (folder / "ts").mkdir()
    (folder / "ts" / "net.pt").write_bytes(ts_base)
    for name, make in (("dcp", fs.benign_distcp), ("onnx", fs.benign_onnx), ("skops", fs.benign_skops),
                       ("keras", fs.benign_keras)):
        (folder / name).mkdir()
        make(folder / name)
    for sub in sorted(folder.iterdir()):
        findings = scan_folder(sub)
        assert not flagged_high(findings), (sub.name, [(f.rule, f.severity.label, f.message) for f in findings])
