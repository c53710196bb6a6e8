"""Bounded readers: special files are refused without blocking, every limit is one InputError line."""

from __future__ import annotations

import math
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from mlwarden.errors import ConfigError, InputError
from mlwarden.safeload import (
    InputFormatError,
    InputLimitError,
    is_regular_file,
    load_json_bounded,
    load_toml_bounded,
    load_yaml_bounded,
    read_bytes_bounded,
    read_text_bounded,
    special_file_reason,
    validate_budget,
)

BILLION_LAUGHS = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(f"{n}: &{n} [{','.join([f'*{p}'] * 9)}]" for p, n in zip("abcdefgh", "bcdefghi", strict=True)),
    ]
)


def _no_block(fn: object, *args: object) -> BaseException | None:
    """Run fn in a thread; fail the test if it blocks (a FIFO opened for read would)."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            fn(*args)  # type: ignore[operator]
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(5)
    assert outcome, "reader blocked on a special file"
    return outcome[0]


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "requirements.txt"
    os.mkfifo(fifo)
    assert not is_regular_file(fifo)
    assert special_file_reason(fifo) == "a FIFO (named pipe)"
    exc = _no_block(read_text_bounded, fifo)
    assert isinstance(exc, InputFormatError)
    assert str(exc) == f"{fifo}: a FIFO (named pipe), not read"


def test_link_to_fifo_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = tmp_path / "config.json"
    link.symlink_to(fifo)
    exc = _no_block(read_bytes_bounded, link)
    assert isinstance(exc, InputFormatError)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_device_is_refused_quickly() -> None:
    start = time.monotonic()
    with pytest.raises(InputFormatError, match="character device"):
        read_bytes_bounded("/dev/zero", 10)
    assert time.monotonic() - start < 1


def test_socket_and_directory_are_refused(tmp_path: Path) -> None:
    sock_path = tmp_path / "s"
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(sock_path))
        with pytest.raises(InputFormatError, match="socket"):
            read_text_bounded(sock_path)
    finally:
        server.close()
    with pytest.raises(InputFormatError, match="directory"):
        read_text_bounded(tmp_path)
    with pytest.raises(InputError, match="no such file"):
        read_text_bounded(tmp_path / "missing", source="missing")


def test_size_limit_is_exact(tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    path.write_bytes(b"x" * 100)
    assert read_bytes_bounded(path, 100) == b"x" * 100
    with pytest.raises(InputLimitError, match=r"f\.txt: larger than the 99-byte limit"):
        read_bytes_bounded(path, 99, source="f.txt")


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-be", "utf-32"])
def test_byte_order_marks(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "requirements.txt"
    data = "numpy==1.26\n".encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    path.write_bytes(data)
    assert read_text_bounded(path) == "numpy==1.26\n"


def test_not_text_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "x"
    path.write_bytes(b"ok\xff\xfe\xfd")
    with pytest.raises(InputFormatError, match=r"not UTF-8 text \(byte 2\)"):
        read_text_bounded(path)
    assert read_text_bounded(path, errors="replace").startswith("ok")


def test_json_depth_and_errors() -> None:
    assert load_json_bounded('{"a": [1, {"b": 2}]}', 3) == {"a": [1, {"b": 2}]}
    with pytest.raises(InputLimitError, match="nested deeper than 2"):
        load_json_bounded('{"a": [1, {"b": 2}]}', 2)
    deep = "[" * 200_000 + "]" * 200_000
    with pytest.raises(InputLimitError, match=r"^x.json: JSON nested deeper than 64 levels$"):
        load_json_bounded(deep, source="x.json")
    with pytest.raises(InputFormatError, match="line 1 column 2"):
        load_json_bounded("{", source="x.json")
    with pytest.raises(InputFormatError):
        load_json_bounded("9" * 5000)


def test_toml_depth_and_errors() -> None:
    assert load_toml_bounded("a = [[1]]", 3) == {"a": [[1]]}
    with pytest.raises(InputLimitError):
        load_toml_bounded("a = " + "[" * 100_000 + "]" * 100_000)
    with pytest.raises(InputLimitError):  # deep by table headers: no recursion in the parser, still limited
        load_toml_bounded("[" + ".".join(["t"] * 100) + "]\n")
    with pytest.raises(InputFormatError, match="not valid TOML"):
        load_toml_bounded("a = ")


def test_yaml_alias_bomb_is_refused_fast() -> None:
    assert len(BILLION_LAUGHS) < 400
    start = time.monotonic()
    with pytest.raises(InputLimitError, match="alias bomb"):
        load_yaml_bounded(BILLION_LAUGHS, max_aliases=1000)
    with pytest.raises(InputLimitError, match="more than 10 YAML aliases"):
        load_yaml_bounded(BILLION_LAUGHS, max_aliases=10)
    assert time.monotonic() - start < 2


def test_yaml_ordinary_aliases_and_merge_keys_work() -> None:
    text = "base: &b {x: 1}\nchild:\n  <<: *b\n  y: 2\nlist: [*b, *b]\n"
    assert load_yaml_bounded(text) == {"base": {"x": 1}, "child": {"x": 1, "y": 2}, "list": [{"x": 1}, {"x": 1}]}


def test_yaml_recursive_alias_and_depth() -> None:
    with pytest.raises(InputFormatError, match="recursive YAML alias"):
        load_yaml_bounded("a: &a [1, *a]")
    with pytest.raises(InputLimitError, match="nested deeper than 64"):
        load_yaml_bounded("- " * 500 + "x")
    with pytest.raises(InputLimitError, match="nested deeper than 64"):
        load_yaml_bounded("x: &x 1\ny: " + "[" * 300 + "]" * 300)
    with pytest.raises(InputError):
        load_yaml_bounded("[" * 50_000 + "]" * 50_000)


def test_yaml_errors_never_quote_the_line() -> None:
    text = "url: https://user:hunter2secret@example.com/simple\n  - : ["  # noqa: MW401 (planted)
    with pytest.raises(InputFormatError) as info:
        load_yaml_bounded(text, source="env.yml")
    assert "hunter2secret" not in str(info.value)
    assert "\n" not in str(info.value)
    with pytest.raises(InputFormatError, match="undefined alias"):
        load_yaml_bounded("a: *nothing")
    with pytest.raises(InputFormatError):  # no Python object construction
        load_yaml_bounded("!!python/object/apply:os.system ['true']")


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, -1, 0, 10**30, "5", True, None, [1], 2.5])
def test_validate_budget_rejects(value: object) -> None:
    with pytest.raises(ConfigError, match="budget 'max_depth'") as info:
        validate_budget("max_depth", value, source="pyproject.toml")
    assert str(info.value).startswith("pyproject.toml: ")


def test_validate_budget_accepts() -> None:
    assert validate_budget("max_depth", 8) == 8
    assert validate_budget("max_members", 1e4) == 10_000
    assert validate_budget("max_seconds_per_file", 2.5, integer=False) == 2.5
    with pytest.raises(ConfigError, match="too large"):
        validate_budget("max_seconds_per_file", 1e300, integer=False)
