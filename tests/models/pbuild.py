"""A protobuf wire-format writer for tests: builds TF SavedModel / GraphDef / Keras metadata messages by field
number (tensorflow is not installed here; the field numbers are those of tensorflow's .proto files)."""

from __future__ import annotations


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def vfield(number: int, value: int) -> bytes:
    return varint(number << 3) + varint(value)


def lfield(number: int, value: bytes | str) -> bytes:
    data = value.encode() if isinstance(value, str) else value
    return varint((number << 3) | 2) + varint(len(data)) + data


def node(name: str, op: str, inputs: tuple[str, ...] = (), string_const: str | None = None) -> bytes:
    """A NodeDef (name 1, op 2, input 3, attr 5); a Const carries its string in value.tensor.string_val."""
    body = lfield(1, name) + lfield(2, op) + b"".join(lfield(3, i) for i in inputs)
    if string_const is not None:
        tensor = vfield(1, 7) + lfield(8, string_const)  # dtype DT_STRING, string_val
        body += lfield(5, lfield(1, "value") + lfield(2, lfield(8, tensor)))
    return body


def graph(nodes: list[bytes], functions: list[tuple[str, list[bytes]]] = ()) -> bytes:  # type: ignore[assignment]
    body = b"".join(lfield(1, n) for n in nodes)
    if functions:
        library = b"".join(lfield(1, lfield(1, lfield(1, fname)) + b"".join(lfield(3, n) for n in fnodes))
                           for fname, fnodes in functions)
        body += lfield(2, library)
    return body


def saved_model(graph_def: bytes, object_graph: bytes = b"") -> bytes:
    meta = lfield(2, graph_def) + (lfield(7, object_graph) if object_graph else b"")
    return vfield(1, 1) + lfield(2, meta)


def keras_metadata(configs: list[str]) -> bytes:
    """SavedMetadata: repeated SavedObject nodes = 1 {node_id 2, node_path 3, identifier 4, metadata 5}."""
    return b"".join(lfield(1, vfield(2, i) + lfield(3, f"root.layer-{i}") + lfield(4, "_tf_keras_layer")
                          + lfield(5, c)) for i, c in enumerate(configs))
