"""Real files made with the real libraries: ordinary ML files stay quiet, hostile ones do not."""

from __future__ import annotations

import collections
import datetime
import decimal
import io
import json
import pickle
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest

from mlwarden.findings import Severity
from mlwarden.models.scanner import scan_model_file
from tests import payloads
from tests.conftest import at_least, rules, scan_bytes, worst

np = pytest.importorskip("numpy")
torch = pytest.importorskip("torch")
joblib = pytest.importorskip("joblib")
pd = pytest.importorskip("pandas")


class Evil:
    """Pickles to os.system(command): used only to *write* hostile samples, never to load them."""

    def __init__(self, marker: Path) -> None:
        self.command = payloads.command(marker)

    def __reduce__(self) -> tuple[Any, ...]:
        import os

        return (os.system, (self.command,))


class TinyNet(torch.nn.Module):  # type: ignore[misc,name-defined]
    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(4, 2)
        self.act = torch.nn.ReLU()

    def forward(self, x: Any) -> Any:
        return self.act(self.fc(x))


def quiet(findings: list[Any]) -> None:
    assert not at_least(findings, Severity.MEDIUM), findings


# --- torch ----------------------------------------------------------------------------------------------------
def test_torch_state_dict_and_optimiser_are_quiet(tmp_path: Path) -> None:
    net = TinyNet()
    optimiser = torch.optim.AdamW(net.parameters())
    net(torch.ones(1, 4)).sum().backward()
    optimiser.step()
    path = tmp_path / "ckpt.pt"
    torch.save({"model": net.state_dict(), "optim": optimiser.state_dict(), "epoch": 3,
                "sched": torch.optim.lr_scheduler.StepLR(optimiser, 2).state_dict()}, path)
    result, _ = scan_model_file(path)
    quiet(result.findings)
    assert "zip" in result.formats


def test_torch_legacy_format_is_quiet(tmp_path: Path) -> None:
    path = tmp_path / "legacy.pt"
    torch.save(TinyNet().state_dict(), path, _use_new_zipfile_serialization=False)
    result, _ = scan_model_file(path)
    quiet(result.findings)


def test_whole_saved_module_names_only_its_own_class(tmp_path: Path) -> None:
    # NEWOBJ of a class outside the safe list runs its __new__/__setstate__: high, until the policy allows it.
    path = tmp_path / "whole.pt"
    torch.save(TinyNet(), path)
    result, _ = scan_model_file(path)
    flagged = at_least(result.findings, Severity.MEDIUM)
    assert flagged
    assert all(f.rule == "MW102" and "TinyNet" in f.message for f in flagged), flagged


def test_whole_module_class_can_be_allowed_by_policy(tmp_path: Path) -> None:
    path = tmp_path / "whole.pt"
    torch.save(TinyNet(), path)
    name = f"{TinyNet.__module__}.TinyNet"
    result, _ = scan_model_file(path, extra_safe=frozenset({name}))
    assert not result.findings


def test_torch_tensor_pickled_directly_scans_nested_payload(tmp_path: Path) -> None:
    data = pickle.dumps({"t": torch.arange(3)}, protocol=2)
    findings = scan_bytes(tmp_path, data, "tensor.pkl")
    quiet(findings)


def test_malicious_torch_checkpoint(tmp_path: Path, marker: Path) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"w": torch.ones(2), "x": Evil(marker)}, path)
    result, _ = scan_model_file(path)
    assert worst(result.findings) == Severity.CRITICAL
    assert any(f.location.member and f.location.member.endswith("data.pkl") for f in result.findings)


def test_malicious_legacy_torch(tmp_path: Path, marker: Path) -> None:
    path = tmp_path / "evil_legacy.pt"
    torch.save({"w": torch.ones(2), "x": Evil(marker)}, path, _use_new_zipfile_serialization=False)
    result, _ = scan_model_file(path)
    assert worst(result.findings) == Severity.CRITICAL


def test_torchscript_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "scripted.pt"
    torch.jit.save(torch.jit.trace(TinyNet(), torch.ones(1, 4)), str(path))
    result, _ = scan_model_file(path)
    assert "MW108" in rules(result.findings)
    assert worst(result.findings) == Severity.MEDIUM


# --- scikit-learn, joblib ------------------------------------------------------------------------------------
def _sklearn_models() -> list[Any]:
    from sklearn.datasets import make_classification
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = make_classification(n_samples=40, n_features=4, random_state=0)
    return [make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y),
            RandomForestClassifier(n_estimators=2, random_state=0).fit(x, y),
            HistGradientBoostingClassifier(max_iter=2).fit(x, y)]


@pytest.mark.parametrize("compress", [0, 3, ("lzma", 3), ("xz", 3), ("gzip", 3), ("bz2", 3)])
def test_sklearn_through_joblib_is_quiet(tmp_path: Path, compress: Any) -> None:
    path = tmp_path / "model.joblib"
    joblib.dump(_sklearn_models(), path, compress=compress)
    result, _ = scan_model_file(path)
    quiet(result.findings)


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_sklearn_through_pickle_is_quiet(tmp_path: Path, protocol: int) -> None:
    findings = scan_bytes(tmp_path, pickle.dumps(_sklearn_models(), protocol=protocol), "model.pkl")
    quiet(findings)


def test_joblib_payload_after_numpy_buffer(tmp_path: Path, marker: Path) -> None:
    path = tmp_path / "evil.joblib"
    joblib.dump({"big": np.arange(50_000, dtype="float64"), "after": Evil(marker)}, path)
    result, _ = scan_model_file(path)
    assert worst(result.findings) == Severity.CRITICAL


@pytest.mark.parametrize("compress", [3, ("lzma", 3)])
def test_compressed_joblib_payload(tmp_path: Path, marker: Path, compress: Any) -> None:
    path = tmp_path / "evil.joblib"
    joblib.dump([np.ones((30, 3)), Evil(marker)], path, compress=compress)
    result, _ = scan_model_file(path)
    assert worst(result.findings) == Severity.CRITICAL


def test_joblib_object_array_payload(tmp_path: Path, marker: Path) -> None:
    path = tmp_path / "obj.joblib"
    joblib.dump({"a": np.array([1, Evil(marker)], dtype=object), "b": np.arange(3)}, path)
    result, _ = scan_model_file(path)
    assert worst(result.findings) == Severity.CRITICAL


def test_joblib_mixed_dtypes_are_quiet(tmp_path: Path) -> None:
    path = tmp_path / "mixed.joblib"
    joblib.dump({"u": np.array(["ab", "c"]), "f": np.ones((2, 3), order="F"), "b": np.zeros(3, dtype=bool),
                 "c": np.ones(2, dtype="complex64"), "s": np.array([b"x"]), "o": np.array(["x", 1], dtype=object),
                 "rec": np.zeros(2, dtype=[("a", "i4"), ("b", "f8")])}, path)
    result, _ = scan_model_file(path)
    quiet(result.findings)


# --- numpy, pandas, safetensors, stdlib -----------------------------------------------------------------------
def test_numpy_files(tmp_path: Path, marker: Path) -> None:
    np.save(tmp_path / "plain.npy", np.arange(10))
    np.savez_compressed(tmp_path / "plain.npz", a=np.arange(3), b=np.ones((2, 2)))
    for name in ("plain.npy", "plain.npz"):
        result, _ = scan_model_file(tmp_path / name)
        assert not result.findings
    np.save(tmp_path / "obj.npy", np.array([Evil(marker)], dtype=object), allow_pickle=True)
    np.savez(tmp_path / "obj.npz", x=np.array([Evil(marker)], dtype=object))
    for name in ("obj.npy", "obj.npz"):
        result, _ = scan_model_file(tmp_path / name)
        assert {"MW113", "MW101"} <= rules(result.findings)


def test_benign_object_array_is_quiet(tmp_path: Path, marker: Path) -> None:
    np.save(tmp_path / "strings.npy", np.array(["a", None, 3], dtype=object), allow_pickle=True)
    result, _ = scan_model_file(tmp_path / "strings.npy")
    assert result.findings == []  # its pickle holds only safe values: ordinary data
    # An object array whose pickle has findings is flagged, with the note that np.load unpickles it.
    np.save(tmp_path / "odd.npy", np.array([ObjectArrayProbe()], dtype=object), allow_pickle=True)
    result, _ = scan_model_file(tmp_path / "odd.npy")
    assert {"MW113", "MW102"} <= rules(result.findings)


class ObjectArrayProbe:
    """A class outside the safe list, pickled into an object array by reference (never loaded)."""


def test_pandas_frames_are_quiet(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1, 2], "b": pd.Categorical(["x", "y"]), "t": pd.date_range("2024", periods=2),
                          "s": ["u", "v"]})
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        quiet(scan_bytes(tmp_path, pickle.dumps(frame, protocol=protocol), f"frame{protocol}.pkl"))
    frame.to_pickle(tmp_path / "frame.pkl.gz")
    result, _ = scan_model_file(tmp_path / "frame.pkl.gz")
    quiet(result.findings)


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_standard_library_values_are_quiet(tmp_path: Path, protocol: int) -> None:
    value = {"od": collections.OrderedDict(a=1), "dd": collections.defaultdict(list), "s": {1, 2},
             "fs": frozenset({3}), "dt": datetime.datetime(2024, 1, 2, tzinfo=datetime.timezone.utc),
             "d": decimal.Decimal("1.5"), "u": uuid.UUID(int=7), "b": b"\x00\x01", "ba": bytearray(b"x"),
             "c": complex(1, 2), "r": range(3), "sl": slice(1, 2), "t": (1, "x", None, True, 1.5),
             "big": 2**100, "neg": -5, "counter": collections.Counter("aab"), "dq": collections.deque([1])}
    assert not scan_bytes(tmp_path, pickle.dumps(value, protocol=protocol), "values.pkl")


def test_safetensors_real_file_is_quiet(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    save_file({"a": torch.ones(3, 2), "b": torch.zeros(4, dtype=torch.int64)}, str(tmp_path / "m.safetensors"))
    result, _ = scan_model_file(tmp_path / "m.safetensors")
    assert result.formats == ["safetensors"]
    assert not result.findings


@pytest.mark.parametrize(("header", "data", "fragment"), [
    ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\x00" * 4, "fall outside"),
    ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
      "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, b"\x00" * 12, "overlap"),
    ({"a": {"dtype": "Q9", "shape": [1], "data_offsets": [0, 1]}}, b"\x00", "unknown dtype"),
    ({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\x00" * 8, "expected 12"),
    ({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, b"\x00" * 4, "shape"),
    ({"__metadata__": {"k": 1}}, b"", "__metadata__"),
    (b'{"a": ', b"", "not valid JSON"),
])
def test_malformed_safetensors(tmp_path: Path, header: Any, data: bytes, fragment: str) -> None:
    findings = scan_bytes(tmp_path, payloads.safetensors(header, data), "bad.safetensors")
    assert rules(findings) == {"MW111"}
    assert any(fragment in f.message for f in findings), findings


def test_safetensors_header_length_past_end(tmp_path: Path) -> None:
    raw = b"\xff\xff\x00\x00\x00\x00\x00\x00{}"
    from mlwarden.models import formats

    assert formats.check_safetensors(io.BytesIO(raw), len(raw))[0][0] == "MW111"


# --- Keras ---------------------------------------------------------------------------------------------------------
def _keras_config(layers: list[dict[str, Any]]) -> dict[str, Any]:
    return {"module": "keras", "class_name": "Sequential", "config": {"name": "seq", "layers": layers}}


LAMBDA = {"module": "keras.layers", "class_name": "Lambda",
          "config": {"name": "evil", "function": {"class_name": "__lambda__",
                                                  "config": {"code": "4wEAAAAAAAAA", "defaults": None}}}}
DENSE = {"module": "keras.layers", "class_name": "Dense", "config": {"name": "d", "units": 2}}


def test_keras_zip_lambda(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("config.json", json.dumps(_keras_config([DENSE, LAMBDA])))
        zf.writestr("metadata.json", json.dumps({"keras_version": "3.5.0"}))
        zf.writestr("model.weights.h5", b"")
    findings = scan_bytes(tmp_path, buf.getvalue(), "model.keras")
    assert any(f.rule == "MW109" and "bytecode" in f.message for f in findings)
    assert worst(findings) == Severity.HIGH


def test_keras_zip_foreign_module(tmp_path: Path) -> None:
    layer = {"module": "os", "class_name": "system", "config": {}}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("config.json", json.dumps(_keras_config([layer])))
        zf.writestr("metadata.json", "{}")
    findings = scan_bytes(tmp_path, buf.getvalue(), "model.keras")
    assert worst(findings) == Severity.CRITICAL


def test_keras_h5_lambda_and_clean(tmp_path: Path) -> None:
    h5py = pytest.importorskip("h5py")
    for name, layers in (("evil.h5", [DENSE, LAMBDA]), ("clean.h5", [DENSE])):
        with h5py.File(tmp_path / name, "w") as h5:
            h5.attrs["model_config"] = json.dumps(_keras_config(layers))
            h5.create_dataset("w", data=np.ones(3))
    evil, _ = scan_model_file(tmp_path / "evil.h5")
    clean, _ = scan_model_file(tmp_path / "clean.h5")
    assert "MW109" in rules(evil.findings)
    assert not clean.findings


# --- GGUF -------------------------------------------------------------------------------------------------------------
SSTI = ("{% for c in [].__class__.__base__.__subclasses__() %}{% if c.__name__ == 'catch_warnings' %}"
        "{{ c()._module.__builtins__['__import__']('os').popen('id').read() }}{% endif %}{% endfor %}")
BENIGN_TEMPLATE = ("{% for message in messages %}<|{{ message['role'] }}|>{{ message['content'] }}"
                   "{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}")


def test_gguf_templates(tmp_path: Path) -> None:
    evil = scan_bytes(tmp_path, payloads.gguf({"general.name": "x", "tokenizer.chat_template": SSTI}), "e.gguf")
    assert rules(evil) == {"MW110"}
    assert worst(evil) == Severity.CRITICAL
    attr = scan_bytes(tmp_path, payloads.gguf({"tokenizer.chat_template.tool": "{{ x|attr('_x') }}"}), "a.gguf")
    assert rules(attr) == {"MW110"}
    clean = scan_bytes(tmp_path, payloads.gguf({"general.architecture": "llama", "general.alignment": 32,
                                                "tokenizer.chat_template": BENIGN_TEMPLATE}), "c.gguf")
    assert not clean


def test_truncated_gguf(tmp_path: Path) -> None:
    data = payloads.gguf({"tokenizer.chat_template": BENIGN_TEMPLATE})[:-10]
    assert rules(scan_bytes(tmp_path, data, "t.gguf")) == {"MW112"}
