"""ONNX models read from the protobuf wire format (onnx.proto field numbers).

Not ``onnx.load``: by default it opens every external-data file the model names, which is exactly the path
this reader has to check first. Reported: external data whose ``location`` leaves the model's folder
(absolute, ``..``, a drive or a URL: the loader reads whatever file it names), nodes from operator domains
that need a custom-op library registered by the runtime, and ops that call back into Python."""

from __future__ import annotations

import os
from collections.abc import Iterator

from mlwarden.findings import Severity
from mlwarden.models.readers import protobuf as pb
from mlwarden.models.readers import sniffs
from mlwarden.models.readers.base import Blob, ReaderFormat, Report, Scan, basename, emit, map_or_read
from mlwarden.rules import ONNX_CUSTOM_OP, ONNX_EXTERNAL_DATA_ESCAPE

MAX_ONNX = 2 << 30  # protobuf's own 2 GiB message limit: larger models keep their weights as external data
MAX_GRAPH_DEPTH = 64
STANDARD_DOMAINS = frozenset({"", "ai.onnx", "ai.onnx.ml", "ai.onnx.training", "ai.onnx.preview",
                              "ai.onnx.preview.training", "com.microsoft", "com.microsoft.nchwc",
                              "com.microsoft.experimental"})
_PYTHON_OPS = frozenset({"PyOp", "PythonOp", "PythonOpGrad"})
# AttributeProto fields holding tensors, graphs and sparse tensors (single and repeated).
_ATTR_TENSORS, _ATTR_GRAPHS, _ATTR_SPARSE = (5, 10), (6, 11), (22, 23)


class _Walk:
    def __init__(self, report: Report, local_functions: set[tuple[str, str]], folder: str | None = None) -> None:
        self.report = report
        self.folder = folder  # the model's folder on disk, when known: locations are resolved there too
        self.local = local_functions
        self.domains: set[str] = set()
        self.seen: set[str] = set()

    def once(self, rule: str, message: str, key: str, severity: Severity | None = None) -> None:
        if key not in self.seen:
            self.seen.add(key)
            self.report.add(rule, None, message, key, severity)

    def tensor(self, tensor: memoryview, where: str) -> None:
        external = pb.string_map(tensor, 13)
        location = external.get("location")
        if location is not None and (escapes(location) or _links_out(self.folder, location)):
            name = pb.text(pb.first(tensor, 8))
            self.once(
                ONNX_EXTERNAL_DATA_ESCAPE,
                f"tensor {name!r} ({where}) reads external data from {location!r}, outside the model's folder",
                f"onnx-external:{location}",
            )

    def sparse(self, sparse: memoryview, where: str) -> None:
        for number in (1, 2):
            for tensor in pb.messages(sparse, number):
                self.tensor(tensor, where)

    def graph(self, graph: memoryview, where: str, depth: int) -> None:
        if depth > MAX_GRAPH_DEPTH:
            raise pb.ProtoError(f"subgraphs nested deeper than {MAX_GRAPH_DEPTH}")
        for number, wire, value in pb.fields(graph):
            if wire != pb.LEN or not isinstance(value, memoryview):
                continue
            if number == 1:
                self.node(value, where, depth)
            elif number == 5:
                self.tensor(value, where)
            elif number == 15:
                self.sparse(value, where)

    def nodes(self, raw_nodes: Iterator[memoryview], where: str, depth: int) -> None:
        for raw in raw_nodes:
            self.node(raw, where, depth)

    def node(self, node: memoryview, where: str, depth: int) -> None:
        op_type, domain = pb.text(pb.first(node, 4)), pb.text(pb.first(node, 7))
        if op_type in _PYTHON_OPS:
            self.once(
                ONNX_CUSTOM_OP,
                f"{op_type} node ({where}) calls a Python function registered by the runtime",
                f"onnx-python-op:{domain}:{op_type}",
                Severity.HIGH,
            )
        elif domain not in STANDARD_DOMAINS and (domain, op_type) not in self.local:
            self.domains.add(domain)
            self.once(
                ONNX_CUSTOM_OP,
                f"node {op_type!r} of custom operator domain {domain!r} ({where}) needs a native custom-op library",
                f"onnx-domain:{domain}",
            )
        for attr in pb.messages(node, 5):
            for number, wire, value in pb.fields(attr):
                if wire != pb.LEN or not isinstance(value, memoryview):
                    continue
                if number in _ATTR_TENSORS:
                    self.tensor(value, where)
                elif number in _ATTR_GRAPHS:
                    self.graph(value, f"{where}, subgraph of {op_type}", depth + 1)
                elif number in _ATTR_SPARSE:
                    self.sparse(value, where)


def escapes(location: str) -> bool:
    """Whether an external-data location leaves the model's folder (onnx joins it to the model's folder):
    absolute, a drive, a URL, a home path, or '..' that still climbs out once the path is normalised."""
    import posixpath

    path = location.replace("\\", "/")
    if path.startswith(("/", "~")) or "://" in path or (len(path) > 1 and path[1] == ":") or "\x00" in path:
        return True
    normal = posixpath.normpath(path)
    return normal == ".." or normal.startswith("../")


def _links_out(folder: str | None, location: str) -> bool:
    """Whether a location that reads as inside the folder leaves it through a symbolic link on disk (a link
    committed beside the model: onnx >= 1.16 refuses it, onnxruntime and older onnx follow it)."""
    if folder is None:
        return False
    root = os.path.realpath(folder)
    target = os.path.realpath(os.path.join(folder, location.replace("\\", "/")))
    return os.path.commonpath([root, target]) != root


def check_onnx(data: bytes | memoryview, *, strict: bool = True, folder: str | None = None) -> Report:
    """Problems of an ONNX ModelProto. ``strict=False`` when the file was recognised by content only: bytes
    that turn out not to be a protobuf are then not a finding. ``folder``: the model's folder on disk, where
    external-data locations are also resolved (links)."""
    report = Report(formats=["onnx"])
    view = memoryview(data)
    try:
        graphs, functions, training = [], [], []
        for number, wire, value in pb.fields(view):
            if wire != pb.LEN or not isinstance(value, memoryview):
                continue
            if number == 7:
                graphs.append(value)
            elif number == 25:
                functions.append(value)
            elif number == 20:
                training.append(value)
        if strict and not graphs:
            report.unverifiable(None, "ONNX model has no graph", "onnx-no-graph")
        local = {(pb.text(pb.first(f, 10)), pb.text(pb.first(f, 1))) for f in functions}
        walk = _Walk(report, local, folder)
        for graph in graphs:
            walk.graph(graph, "main graph", 0)
        for info in training:
            for number in (1, 2):
                for graph in pb.messages(info, number):
                    walk.graph(graph, "training graph", 0)
        for function in functions:
            walk.nodes(pb.messages(function, 7), f"function {pb.text(pb.first(function, 1))!r}", 0)
    except pb.ProtoError as exc:
        if not strict:
            return Report()
        report.unverifiable(None, f"ONNX protobuf is malformed: {exc}", "onnx-protobuf")
    return report


sniff = sniffs.onnx


def scan(blob: Blob, scan: Scan) -> None:
    strict = basename(blob.name).lower().endswith(".onnx")
    try:
        data = map_or_read(blob.file, MAX_ONNX)
    except ValueError as exc:
        report = Report()
        report.unverifiable(None, f"ONNX file {exc}", "onnx-size")
    else:
        path = getattr(blob, "path", None)
        report = check_onnx(data, strict=strict, folder=os.path.dirname(path) if isinstance(path, str) else None)
    emit(report, scan, blob.member)


FORMAT = ReaderFormat("onnx", sniff, scan, seekable=True)
