"""Random and mutated inputs never escape as exceptions from the readers of models/readers: a malformed
protobuf, schema, manifest or template is a finding on that file, never a crash."""

from __future__ import annotations

import contextlib
import io
import json
import zipfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlwarden.config import Budgets
from mlwarden.models.readers import protobuf
from mlwarden.models.readers.onnxmodel import check_onnx
from mlwarden.models.readers.savedmodel import check_pb
from mlwarden.models.readers.skopsfile import untrusted_types
from mlwarden.models.readers.templates import check_document, check_template
from mlwarden.models.readers.torchscript import check_code
from mlwarden.models.scanner import scan_model_file
from tests.models import pbuild as pb

_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
_GRAPH = pb.saved_model(pb.graph([pb.node("p", "Const", string_const="/x"), pb.node("r", "ReadFile", ("p",))],
                                 [("f", [pb.node("e", "EagerPyFunc")])]))
_ONNX = (pb.vfield(1, 8) + pb.lfield(2, "p") + pb.lfield(7, pb.lfield(1, pb.lfield(4, "Relu") + pb.lfield(7, "x.y")))
         + pb.lfield(8, pb.lfield(1, "") + pb.vfield(2, 17)))


def _mutate(seed: bytes, data: st.DataObject) -> bytes:
    raw = bytearray(seed)
    for _ in range(data.draw(st.integers(1, 5))):
        if not raw:
            break
        i = data.draw(st.integers(0, len(raw) - 1))
        action = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if action == "flip":
            raw[i] = data.draw(st.integers(0, 255))
        elif action == "cut":
            del raw[i:]
        else:
            raw[i:i] = data.draw(st.binary(max_size=12))
    return bytes(raw)


@_SETTINGS
@given(st.data())
def test_protobuf_readers_never_raise(data: st.DataObject) -> None:
    seed = data.draw(st.sampled_from([_GRAPH, _ONNX, pb.keras_metadata(['{"class_name": "Lambda"}'])]))
    blob = _mutate(seed, data)
    for name in ("saved_model.pb", "keras_metadata.pb"):
        check_pb(blob, name)
    check_onnx(blob)
    check_onnx(blob, strict=False)
    with contextlib.suppress(protobuf.ProtoError):
        list(protobuf.fields(blob))


@_SETTINGS
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
                        st.sampled_from(["__class__", "__module__", "__loader__", "content", "chat_template",
                                         "template", "x"]), inner, max_size=5), max_leaves=30))
def test_json_shaped_readers_never_raise(document: object) -> None:
    untrusted_types(document)
    check_document(json.dumps(document).encode(), "tokenizer_config.json")
    check_document(json.dumps(document).encode(), "config.yaml")


@_SETTINGS
@given(st.text(max_size=300))
def test_text_readers_never_raise(text: str) -> None:
    check_template("t", text)
    check_template("t", "{{ " + text + " }}")
    check_code("code/x.py", text)


@_SETTINGS
@given(st.data())
def test_mutated_reader_containers_scan_without_error(data: st.DataObject) -> None:
    import tempfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("MAR-INF/MANIFEST.json", json.dumps({"model": {"handler": "h.py"}}))
        z.writestr("schema.json", json.dumps({"__class__": "X", "__module__": "m", "__loader__": "ObjectNode"}))
        z.writestr("m/code/__torch__.py", "def forward(self):\n  return torch.from_file('x')\n")
    blob = _mutate(buf.getvalue(), data)
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("m.mar", "m.skops", "m.pt", "__0_0.distcp", "m.onnx", "saved_model.pb", "tokenizer_config.json"):
            path = Path(tmp) / name
            path.write_bytes(blob)
            result, _ = scan_model_file(path, name, budgets=Budgets(max_seconds_per_file=5.0))
            assert result.error is None
            assert not any("reader failed" in f.message for f in result.findings), result.findings
