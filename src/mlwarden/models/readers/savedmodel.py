"""TF SavedModel (``saved_model.pb``), frozen GraphDef ``.pb`` and Keras SavedModel metadata
(``keras_metadata.pb``), read from the protobuf wire format without importing tensorflow.

TensorFlow runs every op of a loaded graph or function; ops that read, write or list files or call back into
Python are how a SavedModel reaches outside the tensor world. Field numbers are those of tensorflow's
saved_model.proto, meta_graph.proto, graph.proto, node_def.proto, function.proto, attr_value.proto,
tensor.proto, saved_object_graph.proto and keras' saved_metadata.proto."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from mlwarden.findings import Severity
from mlwarden.models.readers import protobuf as pb
from mlwarden.models.readers import sniffs
from mlwarden.models.readers.base import Blob, ReaderFormat, Report, Scan, basename, emit, map_or_read
from mlwarden.rules import TF_DANGEROUS_OP

MAX_PB = 1 << 30  # TF itself refuses protobufs of 2 GiB and more; a metadata graph this large is not read

# Ops that run a Python callable registered in the loading process.
_PYTHON_OPS = {"PyFunc", "PyFuncStateless", "EagerPyFunc"}
_WRITE_OPS = {"WriteFile", "SaveDataset", "SaveDatasetV2", "DatasetToTFRecord", "ExperimentalDatasetToTFRecord",
              "CreateSummaryFileWriter", "CreateSummaryDbWriter", "DebugIdentityV2", "DebugIdentityV3"}
_READ_OPS = {"ReadFile", "MatchingFiles", "ImmutableConst", "LoadDataset", "TFRecordDataset", "TFRecordDatasetV2",
             "FixedLengthRecordDataset", "FixedLengthRecordDatasetV2", "TextLineDataset", "CSVDataset",
             "CSVDatasetV2", "ExperimentalCSVDataset", "SqlDataset", "ExperimentalSqlDataset", "LMDBDataset",
             "ExperimentalLMDBDataset", "SnapshotDataset", "SnapshotDatasetV2", "WholeFileReader",
             "WholeFileReaderV2", "TFRecordReader", "TFRecordReaderV2", "TextLineReader", "TextLineReaderV2",
             "FixedLengthRecordReader", "FixedLengthRecordReaderV2", "LMDBReader"}
# Every SavedModel has a saver built from these; they matter only when their path is a constant that points
# outside the checkpoint (an absolute path or '..').
_CHECKPOINT_OPS = {"Save", "SaveV2", "SaveSlices", "Restore", "RestoreV2", "RestoreSlice", "MergeV2Checkpoints"}


_NAMED = ("saved_model.pb", "keras_metadata.pb", "saved_model.pbtxt")


@dataclass
class _Node:
    name: str
    op: str
    inputs: list[str]
    strings: list[str]  # string constants of a Const node
    output_stream: str  # PrintV2's attr: "file://…" writes a file


def check_pb(data: bytes | memoryview, name: str, *, strict: bool = True) -> Report:
    """Problems of a SavedModel, frozen graph or Keras metadata protobuf given as bytes. ``strict=False`` for
    a ``.pb`` found by extension only: one that is not a protobuf at all is then not a finding."""
    report = Report()
    try:
        if basename(name) == "keras_metadata.pb":
            report.formats.append("keras-savedmodel")
            _check_keras_metadata(pb.messages(data, 1), 5, report)
        else:
            report.formats.append("tf-savedmodel")
            _check_saved_model(memoryview(data), report)
    except pb.ProtoError as exc:
        if not strict:
            return Report()
        report.unverifiable(None, f"protobuf is malformed: {exc}", "tf-protobuf")
    return report


_PBTXT_NODE = re.compile(r'name:\s*"([^"]*)"\s*op:\s*"([A-Za-z0-9_>]+)"')


def check_pbtxt(text: str) -> Report:
    """``saved_model.pbtxt`` (protobuf text format, which the loader reads when there is no .pb): node ops by
    pattern. Text format writes a NodeDef's name before its op, so each (name, op) pair is read in order."""
    report = Report(formats=["tf-savedmodel"])
    nodes = [_Node(name, op, [], [], "") for name, op in _PBTXT_NODE.findall(text)]
    if not nodes and "meta_graphs" not in text and "node" not in text:
        report.unverifiable(None, "saved_model.pbtxt holds no graph", "tf-pbtxt")
    _report_nodes("graph (text format)", nodes, report)
    return report


def _check_saved_model(view: memoryview, report: Report) -> None:
    top = list(pb.fields(view))
    metas = [v for n, w, v in top if n == 2 and w == pb.LEN and isinstance(v, memoryview)]
    if metas and all(n in (1, 2) for n, _, _ in top):
        graphs = []
        for meta in metas:
            graph = pb.first(meta, 2)
            if graph is not None:
                graphs.append(graph)
            objects = pb.first(meta, 7)
            if objects is not None:  # Keras 2 stored its layer configs in the object graph's user objects
                users = (pb.first(obj, 4) for obj in pb.messages(objects, 1))
                _check_keras_metadata((u for u in users if u is not None), 3, report)
    else:  # a frozen GraphDef written with tf.io.write_graph
        graphs = [view]
    for graph in graphs:
        _check_scope("graph", pb.messages(graph, 1), report)
        library = pb.first(graph, 2)
        if library is None:
            continue
        for function in pb.messages(library, 1):
            signature = pb.first(function, 1)
            fname = pb.text(pb.first(signature, 1)) if signature is not None else "?"
            _check_scope(f"function {fname}", pb.messages(function, 3), report)


def _nodes(raw_nodes: Iterator[memoryview]) -> Iterator[_Node]:
    for raw in raw_nodes:
        name, op, inputs, strings, stream = "", "", [], [], ""
        for number, wire, value in pb.fields(raw):
            if wire != pb.LEN or not isinstance(value, memoryview):
                continue
            if number == 1:
                name = pb.text(value)
            elif number == 2:
                op = pb.text(value)
            elif number == 3:
                inputs.append(pb.text(value))
        if op in ("Const", "PrintV2"):
            for key, attr in pb.message_map(raw, 5):
                if key == "value":
                    tensor = pb.first(attr, 8)
                    if tensor is not None:
                        strings = pb.strings(tensor, 8)
                elif key == "output_stream":
                    stream = pb.text(pb.first(attr, 2))
        yield _Node(name, op, inputs, strings, stream)


def _check_scope(scope: str, raw_nodes: Iterator[memoryview], report: Report) -> None:
    _report_nodes(scope, list(_nodes(raw_nodes)), report)


def _report_nodes(scope: str, nodes: list[_Node], report: Report) -> None:
    consts = {n.name: n.strings for n in nodes if n.op == "Const"}

    def paths(node: _Node) -> list[str]:
        found: list[str] = []
        for ref in node.inputs[:2]:
            base = ref.lstrip("^").split(":", 1)[0]
            found += consts.get(base, [])
        return found

    for node in nodes:
        where = f"{scope}, node {node.name!r}"
        if node.op in _PYTHON_OPS:
            report.add(TF_DANGEROUS_OP, None, f"{node.op} op ({where}) calls a Python function when the graph runs",
                       f"tf-op:{node.op}", Severity.CRITICAL)
        elif node.op in _WRITE_OPS or node.op in _READ_OPS:
            shown = ", ".join(repr(p) for p in paths(node)[:3])
            verb = "writes" if node.op in _WRITE_OPS else "reads"
            report.add(TF_DANGEROUS_OP, None, f"{node.op} op ({where}) {verb} files when the graph runs"
                       + (f": {shown}" if shown else ""), f"tf-op:{node.op}",
                       Severity.CRITICAL if node.op == "WriteFile" else None)
        elif node.op in _CHECKPOINT_OPS:
            odd = [p for p in paths(node) if _escapes(p)]
            if odd:
                report.add(TF_DANGEROUS_OP, None, f"{node.op} op ({where}) uses a path outside the model: {odd[0]!r}",
                           f"tf-op:{node.op}:{odd[0]}")
        elif node.op == "PrintV2" and node.output_stream.startswith("file://"):
            report.add(TF_DANGEROUS_OP, None, f"PrintV2 op ({where}) writes to {node.output_stream!r}", "tf-op:PrintV2")


def _escapes(path: str) -> bool:
    parts = path.replace("\\", "/").split("/")
    return path.startswith(("/", "\\", "~")) or ".." in parts or (len(path) > 1 and path[1] == ":")


def _check_keras_metadata(objects: Iterator[memoryview], field: int, report: Report) -> None:
    import json  # lazily: the hook's start-up stays light

    from mlwarden.models.formats import check_keras_config

    seen: set[str] = set()
    for obj in objects:
        raw = pb.text(pb.first(obj, field))
        if not raw.lstrip().startswith("{"):
            continue
        try:
            config = json.loads(raw)
        except ValueError as exc:
            report.unverifiable(None, f"Keras layer metadata is not JSON: {exc}", "keras-metadata")
            continue
        for rule, message, key in check_keras_config(config):
            if key not in seen:
                seen.add(key)
                report.add(rule, None, message, key)


sniff = sniffs.savedmodel

def scan(blob: Blob, scan: Scan) -> None:
    try:
        data = map_or_read(blob.file, MAX_PB)
    except ValueError as exc:
        report = Report()
        report.unverifiable(None, f"protobuf {exc}", "tf-size")
    else:
        if basename(blob.name) == "saved_model.pbtxt":
            report = check_pbtxt(bytes(data).decode("utf-8", "replace"))
        else:
            report = check_pb(data, blob.name, strict=basename(blob.name) in _NAMED)
    emit(report, scan, blob.member)


FORMAT = ReaderFormat("tf-savedmodel", sniff, scan, seekable=True)
