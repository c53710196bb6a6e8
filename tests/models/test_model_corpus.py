"""The generated part of the peers' corpus (benchmarks/model_corpus.py generate) runs in CI: every sample the
peers' tests build in code for the formats of models/readers is flagged, and none of the benign ones."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def corpus_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("model_corpus", ROOT / "benchmarks" / "model_corpus.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # this project's own benchmark script
    return module


def test_labels_cover_every_generated_sample(corpus_module: ModuleType, tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    assert corpus_module.generate(tmp_path) == 0
    rules = json.loads(corpus_module.LABELS.read_text())["rules"]
    for path in (tmp_path / "generated").rglob("*"):
        if path.is_file():
            assert corpus_module.label_of(path.relative_to(tmp_path).as_posix(), rules) is not None, path


def test_generated_samples_are_judged_as_labelled(corpus_module: ModuleType, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("onnx")
    corpus_module.generate(tmp_path)
    capsys.readouterr()
    assert corpus_module.corpus(tmp_path) == 0
    out = capsys.readouterr().out
    assert "Malicious files missed" not in out, out
    assert "Benign files flagged" not in out, out
    assert "| **all** |" in out
