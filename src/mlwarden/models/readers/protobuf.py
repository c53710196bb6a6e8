"""A minimal protobuf wire-format reader, so TF SavedModel and ONNX files are read without tensorflow or onnx.

Only the wire format is decoded (varint, 64-bit, length-delimited, 32-bit); callers know which field numbers
they want. Every read is bounds-checked against the buffer, so a hostile length cannot read past it."""

from __future__ import annotations

from collections.abc import Iterator

VARINT, I64, LEN, I32 = 0, 1, 2, 5


class ProtoError(ValueError):
    """The bytes are not a well-formed protobuf message."""


def varint(buf: memoryview, pos: int, end: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if pos >= end:
            raise ProtoError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ProtoError("varint longer than 10 bytes")


def fields(buf: memoryview | bytes) -> Iterator[tuple[int, int, int | memoryview]]:
    """(field number, wire type, value) of each field; LEN values are memoryviews into ``buf``."""
    view = buf if isinstance(buf, memoryview) else memoryview(buf)
    pos, end = 0, len(view)
    while pos < end:
        key, pos = varint(view, pos, end)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ProtoError("field number 0")
        if wire == VARINT:
            value, pos = varint(view, pos, end)
            yield number, wire, value
        elif wire == LEN:
            length, pos = varint(view, pos, end)
            if length > end - pos:
                raise ProtoError(f"field {number}: length {length} runs past the end of the message")
            yield number, wire, view[pos:pos + length]
            pos += length
        elif wire in (I64, I32):
            width = 8 if wire == I64 else 4
            if pos + width > end:
                raise ProtoError("truncated fixed-width field")
            yield number, wire, int.from_bytes(view[pos:pos + width], "little")
            pos += width
        else:  # groups (3, 4) are obsolete and appear in none of the schemas read here
            raise ProtoError(f"field {number}: unsupported wire type {wire}")


def messages(buf: memoryview | bytes, number: int) -> Iterator[memoryview]:
    """Every length-delimited value of field ``number``."""
    for n, wire, value in fields(buf):
        if n == number and wire == LEN and isinstance(value, memoryview):
            yield value


def first(buf: memoryview | bytes, number: int) -> memoryview | None:
    return next(messages(buf, number), None)


def text(value: memoryview | None) -> str:
    return "" if value is None else bytes(value).decode("utf-8", "replace")


def strings(buf: memoryview | bytes, number: int) -> list[str]:
    return [text(v) for v in messages(buf, number)]


def string_map(buf: memoryview | bytes, number: int) -> dict[str, str]:
    """A map<string, string> field (entries with key 1, value 2)."""
    out: dict[str, str] = {}
    for entry in messages(buf, number):
        out[text(first(entry, 1))] = text(first(entry, 2))
    return out


def message_map(buf: memoryview | bytes, number: int) -> Iterator[tuple[str, memoryview]]:
    """A map<string, Message> field: (key, value message) per entry."""
    for entry in messages(buf, number):
        value = first(entry, 2)
        yield text(first(entry, 1)), value if value is not None else memoryview(b"")
