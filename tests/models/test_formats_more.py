"""Format readers against layouts their loaders accept that the first readers missed (issue #12): TorchServe
compiled handlers, unzipped Keras folders, Keras TorchModuleWrapper, GGUF repeated keys, zips with archives
before them (a distributed checkpoint's storage file under another name)."""

from __future__ import annotations

import base64
import json
import pickle
import struct
from pathlib import Path

import pytest

from mlwarden.findings import Severity
from tests import payloads
from tests.conftest import rules, scan_bytes, worst
from tests.payloads import zip_bytes


@pytest.mark.parametrize("member", ["handler.pyc", "handler.cpython-311-x86_64-linux-gnu.so"])
def test_mar_compiled_and_extension_modules_count_as_shipped_code(tmp_path: Path, member: str) -> None:
    """TorchServe imports the handler from the model folder: handler.pyc without its source, or an extension
    module, runs as surely as handler.py."""
    manifest = json.dumps({"model": {"handler": "handler", "modelName": "m"}}).encode()
    findings = scan_bytes(tmp_path, zip_bytes({"MAR-INF/MANIFEST.json": manifest, member: b"\x00" * 16}), "m.mar")
    assert "MW135" in rules(findings)


_LAMBDA_CONFIG = {"module": "keras", "class_name": "Functional", "config": {"layers": [
    {"module": "keras.layers", "class_name": "Lambda", "config": {"name": "l", "function": {
        "class_name": "__lambda__", "config": {"value": ["4wEAAAA=", None, None]}}}}]}}


def test_unzipped_keras_folder_config_is_read(tmp_path: Path) -> None:
    findings = scan_bytes(tmp_path, json.dumps(_LAMBDA_CONFIG).encode(), "config.json")
    assert rules(findings) == {"MW109"}
    assert len(findings) == 1  # the Lambda layer, not its function a second time


def test_other_config_json_files_are_not_keras(tmp_path: Path) -> None:
    hf = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 8}
    assert scan_bytes(tmp_path, json.dumps(hf).encode(), "config.json") == []


def test_keras_zip_config_is_reported_once(tmp_path: Path) -> None:
    data = zip_bytes({"config.json": json.dumps(_LAMBDA_CONFIG).encode(), "metadata.json": b"{}"})
    assert len(scan_bytes(tmp_path, data, "m.keras")) == 1


def test_torch_module_wrapper_module_is_scanned_as_the_torch_file_it_is(tmp_path: Path, marker: Path) -> None:
    torch_file = zip_bytes({"archive/data.pkl": payloads.os_system(marker), "archive/version": b"3\n"})
    config = {"module": "keras", "class_name": "Sequential", "config": {"layers": [
        {"module": "keras.layers", "class_name": "TorchModuleWrapper",
         "config": {"name": "w", "module": base64.b64encode(torch_file).decode()}}]}}
    findings = scan_bytes(tmp_path, zip_bytes({"config.json": json.dumps(config).encode(), "metadata.json": b"{}"}),
                          "m.keras")
    assert {"MW109", "MW101"} <= rules(findings)
    assert worst(findings) == Severity.CRITICAL
    assert not any("outside Keras" in f.message for f in findings), [f.message for f in findings]


def _gguf(pairs: list[tuple[str, str]]) -> bytes:
    out = b"GGUF" + struct.pack("<IQQ", 3, 0, len(pairs))
    for key, value in pairs:
        k, v = key.encode(), value.encode()
        out += struct.pack("<Q", len(k)) + k + struct.pack("<IQ", 8, len(v)) + v
    return out


def test_gguf_repeated_template_key_keeps_every_value(tmp_path: Path) -> None:
    benign = "{{ messages[0]['content'] }}"
    for pairs in ([("tokenizer.chat_template", "{{ lipsum }}"), ("tokenizer.chat_template", benign)],
                  [("tokenizer.chat_template", benign), ("tokenizer.chat_template", "{{ lipsum }}")]):
        assert "MW110" in rules(scan_bytes(tmp_path, _gguf(pairs), "m.gguf"))


def test_archives_before_a_zip_are_carved_and_scanned(tmp_path: Path, marker: Path) -> None:
    """Several torch.save archives back to back (a dcp storage file renamed by its .metadata): the payload in
    the first archive is found though the file's end record belongs to the last."""
    evil = zip_bytes({"archive/data.pkl": payloads.os_system(marker), "archive/version": b"3\n"})
    benign = zip_bytes({"archive/data.pkl": pickle.dumps({"a": 1}, protocol=2), "archive/version": b"3\n"})
    findings = scan_bytes(tmp_path, evil + benign, "weights.bin")
    assert "MW101" in rules(findings)
