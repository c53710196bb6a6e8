"""ONNX models built with the real onnx library (skipped without it), read by mlwarden's protobuf reader."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from mlwarden.findings import Severity
from mlwarden.models.readers.onnxmodel import check_onnx, escapes
from tests.conftest import rules, scan_bytes, worst

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper  # noqa: E402


def _model(nodes: list[Any], initializers: Sequence[Any] = (), opsets: tuple[tuple[str, int], ...] = (),
           functions: Sequence[Any] = ()) -> bytes:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])
    graph = helper.make_graph(nodes, "g", [x], [y], initializer=list(initializers))
    imports = [helper.make_opsetid("", 17), *(helper.make_opsetid(d, v) for d, v in opsets)]
    model = helper.make_model(graph, opset_imports=imports, functions=list(functions))
    return bytes(model.SerializeToString())


def _external(location: str) -> Any:
    tensor = helper.make_tensor("w", TensorProto.FLOAT, [2], [1.0, 2.0])
    tensor.ClearField("float_data")
    tensor.data_location = TensorProto.EXTERNAL
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", location
    return tensor


def test_benign_model_is_clean(tmp_path: Path) -> None:
    data = _model([helper.make_node("Relu", ["x"], ["y"])])
    assert scan_bytes(tmp_path, data, "model.onnx") == []


def test_real_external_data_beside_the_model_is_clean(tmp_path: Path) -> None:
    import numpy as np
    from onnx import numpy_helper

    w = numpy_helper.from_array(np.full(1024, 0.5, dtype=np.float32), "w")  # raw_data: what goes external
    graph = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1024])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1024])], initializer=[w])
    path = tmp_path / "model.onnx"
    onnx.save(helper.make_model(graph), path, save_as_external_data=True, location="weights.bin",
              size_threshold=0)
    assert (tmp_path / "weights.bin").exists()
    assert scan_bytes(tmp_path, path.read_bytes(), "model.onnx") == []


@pytest.mark.parametrize("location", ["../../../etc/passwd", "/etc/shadow", "C:\\Windows\\win.ini",
                                      "sub/../../x", "file:///etc/hosts"])
def test_external_data_outside_the_folder_is_high(tmp_path: Path, location: str) -> None:
    data = _model([helper.make_node("Add", ["x", "w"], ["y"])], [_external(location)])
    findings = scan_bytes(tmp_path, data, "model.onnx")
    assert rules(findings) == {"MW131"}
    assert worst(findings) == Severity.HIGH


def test_external_data_inside_a_subgraph_is_found() -> None:
    then = helper.make_graph([helper.make_node("Identity", ["w"], ["y"])], "then", [],
                             [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
                             initializer=[_external("/etc/passwd")])
    node = helper.make_node("If", ["c"], ["y"], then_branch=then, else_branch=then)
    assert [p.rule for p in check_onnx(_model([node])).problems] == ["MW131"]


def test_custom_domain_is_reported_and_local_functions_are_not(tmp_path: Path) -> None:
    custom = helper.make_node("Evil", ["x"], ["y"], domain="com.attacker")
    findings = scan_bytes(tmp_path, _model([custom], opsets=(("com.attacker", 1),)), "model.onnx")
    assert rules(findings) == {"MW132"}
    assert worst(findings) == Severity.MEDIUM
    func = helper.make_function("local.fn", "MyRelu", ["a"], ["b"], [helper.make_node("Relu", ["a"], ["b"])],
                                [helper.make_opsetid("", 17)])
    local = helper.make_node("MyRelu", ["x"], ["y"], domain="local.fn")
    assert scan_bytes(tmp_path, _model([local], opsets=(("local.fn", 1),), functions=[func]), "model.onnx") == []
    ms = helper.make_node("FusedMatMul", ["x", "x"], ["y"], domain="com.microsoft")
    assert scan_bytes(tmp_path, _model([ms], opsets=(("com.microsoft", 1),)), "model.onnx") == []


def test_python_op_is_high(tmp_path: Path) -> None:
    node = helper.make_node("PyOp", ["x"], ["y"], domain="ai.onnx.contrib")
    findings = scan_bytes(tmp_path, _model([node]), "model.onnx")
    assert worst(findings) == Severity.HIGH


def test_truncated_model_fails_closed(tmp_path: Path) -> None:
    data = _model([helper.make_node("Relu", ["x"], ["y"])])
    findings = scan_bytes(tmp_path, data[: len(data) // 2], "model.onnx")
    assert rules(findings) == {"MW112"}
    assert "could not be verified" in findings[0].message


def test_recognised_by_content_under_another_name(tmp_path: Path) -> None:
    data = _model([helper.make_node("Add", ["x", "w"], ["y"])], [_external("/etc/passwd")])
    assert rules(scan_bytes(tmp_path, data, "weights.bin")) == {"MW131"}


def test_escapes() -> None:
    assert not escapes("weights.bin")
    assert not escapes("data/w.bin")
    assert not escapes("sub/../weights.bin")  # stays in the folder once normalised
    assert escapes("..\\x")
    assert escapes("~/.ssh/id_rsa")


def test_escapes_agrees_with_onnx_loader(tmp_path: Path) -> None:
    """Loader as oracle: onnx.load refuses exactly the external-data locations reported as escaping."""
    models = tmp_path / "models"
    (models / "sub").mkdir(parents=True)
    (models / "weights.bin").write_bytes(b"\0" * 16)
    (tmp_path / "secret.bin").write_bytes(b"S" * 16)
    for location in ("weights.bin", "sub/../weights.bin", "../secret.bin", "sub/../../secret.bin",
                     str(tmp_path / "secret.bin")):
        tensor = _external(location)
        entry = tensor.external_data.add()
        entry.key, entry.value = "length", "8"
        path = models / "m.onnx"
        path.write_bytes(_model([helper.make_node("Add", ["x", "w"], ["y"])], [tensor]))
        reason = ""
        try:
            onnx.load(str(path))
        except onnx.checker.ValidationError as exc:
            reason = str(exc)
        refused = "outside" in reason or "absolute" in reason
        assert refused == escapes(location), (location, reason)
