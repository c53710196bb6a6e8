"""Random and mutated bytes never crash, hang or escape as exceptions from any parser."""

from __future__ import annotations

import contextlib
import io
import pickle
import zipfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlwarden.config import Budgets
from mlwarden.models import formats
from mlwarden.models.pickle import analyse
from mlwarden.models.scanner import scan_model_file
from tests import payloads

_SEEDS = [
    pickle.dumps({"a": [1, 2.5, "x", b"y", None, True], "b": (1, 2)}, protocol=p) for p in range(6)
] + [
    payloads.os_system(Path("/nonexistent/marker")),
    payloads.stack_global_memo(Path("/nonexistent/marker")),
    payloads.torch_like_zip(pickle.dumps({"w": 1}, protocol=2)),
    payloads.gguf({"tokenizer.chat_template": "{{ x }}", "n": 3}),
    payloads.safetensors({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\x00" * 4),
    b"\x93NUMPY\x01\x00v\x00{'descr': '|O', 'fortran_order': False, 'shape': (1,), }" + b" " * 50 + b"\n"
    + pickle.dumps([1], protocol=2),
]
_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
_BUDGETS = Budgets(max_seconds_per_file=5.0, max_decompressed_bytes=8 << 20)


def _mutate(seed: bytes, data: st.DataObject) -> bytes:
    raw = bytearray(seed)
    for _ in range(data.draw(st.integers(1, 6))):
        action = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if not raw:
            break
        pos = data.draw(st.integers(0, len(raw) - 1))
        if action == "flip":
            raw[pos] = data.draw(st.integers(0, 255))
        elif action == "cut":
            del raw[pos:]
        else:
            raw[pos:pos] = data.draw(st.binary(max_size=16))
    return bytes(raw)


@_SETTINGS
@given(st.binary(max_size=2048))
def test_random_bytes_through_the_pickle_machine(data: bytes) -> None:
    result = analyse(io.BytesIO(data), deadline=None)
    assert result.pickles >= 0


@_SETTINGS
@given(st.data())
def test_mutated_samples_through_the_scanner(tmp_path_factory: object, data: st.DataObject) -> None:
    seed = data.draw(st.sampled_from(_SEEDS))
    blob = _mutate(seed, data)
    path = Path(str(tmp_path_factory.mktemp("fuzz"))) / "sample.bin"  # type: ignore[attr-defined]
    path.write_bytes(blob)
    result, _ = scan_model_file(path, budgets=_BUDGETS)
    assert result.error is None


@_SETTINGS
@given(st.binary(max_size=512))
def test_random_bytes_through_format_parsers(data: bytes) -> None:
    formats.check_safetensors(io.BytesIO(data), len(data))
    with contextlib.suppress(formats.GGUFError):
        formats.gguf_templates(io.BytesIO(b"GGUF" + data))
    with contextlib.suppress(ValueError):
        formats.npy_header(io.BytesIO(b"\x93NUMPY" + data))


@_SETTINGS
@given(st.data())
def test_mutated_zip_directory(data: st.DataObject) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a/data.pkl", pickle.dumps([1, 2]))
        zf.writestr("b.txt", "hello")
    blob = _mutate(buf.getvalue(), data)
    from mlwarden.models import zipread

    with contextlib.suppress(zipread.ZipError, ValueError, OSError):
        zipread.read_members(io.BytesIO(blob), len(blob), 100)
