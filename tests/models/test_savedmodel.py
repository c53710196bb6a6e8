"""TF SavedModel, frozen graphs and Keras SavedModel metadata, read without tensorflow."""

from __future__ import annotations

import json
from pathlib import Path

from mlwarden.findings import Severity
from mlwarden.models.readers.savedmodel import check_pb
from tests.conftest import at_least, rules, scan_bytes, worst
from tests.models import pbuild as pb

_SAVER = [pb.node("saver_filename", "Placeholder"), pb.node("StringJoin", "StringJoin", ("saver_filename",)),
          pb.node("SaveV2", "SaveV2", ("StringJoin", "tensor_names")),
          pb.node("RestoreV2", "RestoreV2", ("saver_filename", "tensor_names"))]
_BENIGN = [pb.node("x", "Placeholder"), pb.node("w", "VarHandleOp"), pb.node("mm", "MatMul", ("x", "w")),
           pb.node("relu", "Relu", ("mm",)), *_SAVER]


def test_benign_saved_model_with_its_saver_is_clean(tmp_path: Path) -> None:
    data = pb.saved_model(pb.graph(_BENIGN, [("__inference_call_1", _BENIGN)]))
    assert scan_bytes(tmp_path, data, "saved_model.pb") == []


def test_read_file_with_its_constant_path_is_high(tmp_path: Path) -> None:
    nodes = [pb.node("path", "Const", string_const="/etc/passwd"), pb.node("rf", "ReadFile", ("path",))]
    findings = scan_bytes(tmp_path, pb.saved_model(pb.graph(nodes)), "saved_model.pb")
    assert rules(findings) == {"MW130"}
    assert worst(findings) == Severity.HIGH
    assert "/etc/passwd" in findings[0].message


def test_python_and_write_ops_in_a_function_library_are_critical(tmp_path: Path) -> None:
    fn = [pb.node("cb", "EagerPyFunc", ("x",)), pb.node("wf", "WriteFile", ("p", "c"))]
    findings = scan_bytes(tmp_path, pb.saved_model(pb.graph(_BENIGN, [("__inference_f", fn)])), "saved_model.pb")
    assert {f.message.split()[0] for f in at_least(findings, Severity.CRITICAL)} == {"EagerPyFunc", "WriteFile"}
    assert all("function __inference_f" in f.message for f in findings)


def test_checkpoint_op_with_an_absolute_constant_path_is_reported() -> None:
    nodes = [pb.node("p", "Const", string_const="/home/victim/.ssh/ckpt"), pb.node("s", "SaveV2", ("p", "n"))]
    report = check_pb(pb.saved_model(pb.graph(nodes)), "saved_model.pb")
    assert [p.rule for p in report.problems] == ["MW130"]
    assert ".ssh" in report.problems[0].message


def test_frozen_graph_def_pb_is_read(tmp_path: Path) -> None:
    nodes = [pb.node("pattern", "Const", string_const="/tmp/*"), pb.node("mf", "MatchingFiles", ("pattern",))]
    findings = scan_bytes(tmp_path, pb.graph(nodes), "frozen_graph.pb")
    assert rules(findings) == {"MW130"}


def test_keras_metadata_lambda_is_reported(tmp_path: Path) -> None:
    dense = json.dumps({"class_name": "Dense", "config": {"name": "d", "units": 2}})
    lam = json.dumps({"class_name": "Lambda", "config": {"name": "evil", "function": {"code": "4wEAAAAA"}}})
    findings = scan_bytes(tmp_path, pb.keras_metadata([dense, lam]), "keras_metadata.pb")
    assert rules(findings) == {"MW109"}
    assert "evil" in findings[0].message
    assert scan_bytes(tmp_path, pb.keras_metadata([dense]), "keras_metadata.pb") == []


def test_keras2_user_object_metadata_in_saved_model_is_read() -> None:
    lam = json.dumps({"class_name": "Lambda", "config": {"name": "l1", "function": "f"}})
    user = pb.lfield(1, pb.lfield(4, pb.lfield(1, "_tf_keras_layer") + pb.lfield(3, lam)))
    report = check_pb(pb.saved_model(pb.graph(_BENIGN), object_graph=user), "saved_model.pb")
    assert [p.rule for p in report.problems] == ["MW109"]


def test_malformed_saved_model_fails_closed(tmp_path: Path) -> None:
    data = pb.saved_model(pb.graph(_BENIGN))[:-7] + b"\xff\xff"
    findings = scan_bytes(tmp_path, data, "saved_model.pb")
    assert rules(findings) == {"MW112"}
    assert worst(findings) == Severity.HIGH
    assert "could not be verified" in findings[0].message


def test_other_pb_files_that_are_not_protobuf_are_not_findings(tmp_path: Path) -> None:
    assert scan_bytes(tmp_path, b"\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", "data.pb") == []


def test_saved_model_inside_a_tar_gz_is_read(tmp_path: Path) -> None:
    """SavedModels travel as folders in tarballs: the reader runs on members too."""
    import io
    import tarfile

    nodes = [pb.node("cb", "PyFunc", ("x",))]
    data = pb.saved_model(pb.graph(nodes))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("export/1/saved_model.pb")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    findings = scan_bytes(tmp_path, buf.getvalue(), "model.tar.gz")
    assert rules(findings) == {"MW130"}
    assert findings[0].location.member is not None
    assert findings[0].location.member.endswith("saved_model.pb")


def test_text_format_saved_model(tmp_path: Path) -> None:
    text = ('saved_model_schema_version: 1\nmeta_graphs {\n  graph_def {\n    node {\n      name: "x"\n'
            '      op: "Placeholder"\n    }\n    node {\n      name: "rf"\n      op: "ReadFile"\n      input: "x"\n'
            '    }\n  }\n}\n')
    findings = scan_bytes(tmp_path, text.encode(), "saved_model.pbtxt")
    assert rules(findings) == {"MW130"}
    assert "'rf'" in findings[0].message
    assert scan_bytes(tmp_path, text.replace("ReadFile", "Relu").encode(), "saved_model.pbtxt") == []
