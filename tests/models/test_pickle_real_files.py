"""Files made by the real libraries: benign ones stay quiet, joblib layouts are read with the real dtype
sizes, and a payload hidden in a joblib object array is found. Nothing here is ever loaded."""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest
import torch

from mlwarden.findings import Severity
from mlwarden.models.pickle import analyse, looks_like_pickle
from mlwarden.models.scanner import scan_model_file
from tests.conftest import at_least, rules, worst
from tests.models.test_formats import Evil


def _scan(path: Path) -> list[Any]:
    result, _ = scan_model_file(path)
    assert result.error is None
    return result.findings


def _quiet(path: Path) -> None:
    findings = _scan(path)
    assert not at_least(findings, Severity.MEDIUM), findings


def test_legacy_torch_save_of_a_whole_torch_module_is_quiet(tmp_path: Path) -> None:
    net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.BatchNorm1d(3))
    path = tmp_path / "legacy_whole.pt"
    torch.save(net, path, _use_new_zipfile_serialization=False)
    _quiet(path)


def test_dill_pickled_sklearn_pipeline_is_quiet(tmp_path: Path) -> None:
    dill = pytest.importorskip("dill")
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    x = np.random.default_rng(0).random((20, 3))
    y = (x[:, 0] > 0.5).astype(int)
    model = make_pipeline(FunctionTransformer(np.log1p), StandardScaler(), LogisticRegression()).fit(x, y)
    for name, data in (("dill.pkl", dill.dumps(model)), ("plain.pkl", pickle.dumps(model))):
        path = tmp_path / name
        path.write_bytes(data)
        _quiet(path)


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_numpy_matrix_and_object_arrays_in_joblib_and_pickle_are_quiet(tmp_path: Path) -> None:
    objects = {"matrix": np.matrix([[1, 2], [3, 4]]), "objects": np.array([1, "x", None], dtype=object),
               "masked": np.ma.masked_array([1, 2], mask=[False, True])}
    joblib.dump(objects, tmp_path / "objs.joblib")
    _quiet(tmp_path / "objs.joblib")
    for protocol in (0, 2, 5):
        path = tmp_path / f"objs{protocol}.pkl"
        path.write_bytes(pickle.dumps(objects, protocol=protocol))
        _quiet(path)


_DTYPES = ["<U7", "S5", "M8[us]", "m8[D]", "f2", "c16", "?", "u1", ">i8", "V3",
           np.dtype([("a", "f8"), ("b", "i2"), ("c", "U3")]), np.dtype(("f4", (2, 3))), np.longdouble]


@pytest.mark.parametrize("dtype", _DTYPES, ids=str)
def test_joblib_raw_arrays_of_every_dtype_are_skipped_exactly(tmp_path: Path, dtype: Any) -> None:
    array = np.zeros(37, dtype=dtype)
    path = tmp_path / "arr.joblib"
    joblib.dump({"a": array, "b": array[:5], "tail": "end"}, path)
    with path.open("rb") as f:
        analysis = analyse(f)
    assert analysis.problems == []
    assert analysis.pickles == 1
    _quiet(path)


def test_payload_in_a_structured_object_array_is_found(tmp_path: Path, marker: Path) -> None:
    # hasobject comes from a field: the dtype string is "V16", joblib pickles the array inline.
    array = np.zeros(3, dtype=[("a", "f8"), ("b", "O")])
    array["b"][1] = Evil(marker)
    path = tmp_path / "obj.joblib"
    joblib.dump({"x": array, "after": np.arange(4)}, path)
    findings = _scan(path)
    assert worst(findings) == Severity.CRITICAL


def test_payload_after_raw_arrays_is_found(tmp_path: Path, marker: Path) -> None:
    path = tmp_path / "after.joblib"
    joblib.dump([np.zeros(11, dtype="<U5"), np.zeros(3, dtype="M8[ns]"), Evil(marker)], path)
    assert worst(_scan(path)) == Severity.CRITICAL


def test_unknown_dtype_in_a_joblib_header_fails_closed(tmp_path: Path) -> None:
    path = tmp_path / "arr.joblib"
    joblib.dump(np.zeros(4, dtype="f8"), path)
    data = path.read_bytes().replace(b"\x8c\x02f8", b"\x8c\x02q8", 1)
    assert data != path.read_bytes()
    path.write_bytes(data)
    findings = _scan(path)
    assert "MW105" in rules(findings)


def test_old_joblib_companion_files_are_reported(tmp_path: Path) -> None:
    state = b"}(" + b"\x8c\x08filename\x8c\x10model.pkl_01.npy" + b"u"
    data = (b"\x80\x02cjoblib.numpy_pickle_compat\nNDArrayWrapper\n)\x81" + state + b"b.")
    path = tmp_path / "model.pkl"
    path.write_bytes(data)
    findings = _scan(path)
    assert any(f.rule == "MW106" and "model.pkl_01.npy" in f.message for f in findings), findings


# --- content sniffing with evidence ----------------------------------------------------------------------------
@pytest.mark.parametrize("start", ["(", "c", "S", "I", "l", "d", "p", "N", "0"])
def test_text_starting_with_opcode_like_bytes_is_not_a_pickle(start: str) -> None:
    text = (start + "lass Net(Module): the quick brown fox jumps over the lazy dog\n" * 100).encode()
    assert len(text) > 4096
    assert not looks_like_pickle(text[:4096], len(text))


@pytest.mark.parametrize("protocol", [0, 1])
@pytest.mark.parametrize("prefix", [b"", b"I0x1f\n0", b"(" * 5000, b"N0" * 3000, b"L1_0L\n0"])
def test_protocol_0_and_1_pickles_with_any_legal_prefix_are_pickles(protocol: int, prefix: bytes) -> None:
    data = prefix + pickle.dumps({"rows": list(range(2000)), "name": "x"}, protocol=protocol)
    assert looks_like_pickle(data[:4096], len(data))
    assert looks_like_pickle(data[:4096], None)


def test_probe_and_real_loader_agree_on_a_small_data_pickle() -> None:
    data = pickle.dumps([1, 2.5, "x"], protocol=0)
    assert looks_like_pickle(data, len(data))
    assert pickle.loads(data) == [1, 2.5, "x"]  # noqa: MW705 - generated here, plain data
    assert not looks_like_pickle(b"N.B. this is a readme", 21)
    assert not looks_like_pickle(io.BytesIO(b"").read(), 0)


def test_companion_outside_the_folder_is_high_and_not_followed(tmp_path: Path) -> None:
    from mlwarden.models.pickle.joblib import companion_paths

    name = b"../../etc/x.npy"
    state = b"}(" + b"\x8c\x08filename\x8c" + bytes([len(name)]) + name + b"u"
    path = tmp_path / "model.pkl"
    path.write_bytes(b"\x80\x02cjoblib.numpy_pickle_compat\nNDArrayWrapper\n)\x81" + state + b"b.")
    findings = [f for f in _scan(path) if f.rule == "MW106"]
    assert [f.severity for f in findings] == [Severity.HIGH]
    (tmp_path / "model.pkl_01.npy").write_bytes(b"\x93NUMPY")
    assert companion_paths(path, ["model.pkl_01.npy", "../../etc/x.npy", "missing.npy"]) == [
        tmp_path / "model.pkl_01.npy"]


def test_search_results_and_dill_preprocessors_as_found_in_real_repositories_are_quiet(tmp_path: Path) -> None:
    # Shapes seen in committed Kaggle-style models: a RandomizedSearchCV (scipy distributions, a scorer,
    # masked arrays in cv_results_, a column selector) and a dill-pickled ColumnTransformer with a slice.
    dill = pytest.importorskip("dill")
    from scipy import stats  # type: ignore[import-untyped]
    from sklearn.compose import ColumnTransformer, make_column_selector
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import RandomizedSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    x = rng.random((40, 3))
    y = (x[:, 0] > 0.5).astype(int)
    selector = ColumnTransformer([("num", StandardScaler(), make_column_selector(dtype_include="number"))])
    import pandas as pd

    frame = pd.DataFrame(x, columns=["a", "b", "c"])
    search = RandomizedSearchCV(make_pipeline(selector, LogisticRegression()),
                                {"logisticregression__C": stats.reciprocal(0.1, 10)}, n_iter=2, cv=2,
                                scoring="recall", random_state=0).fit(frame, y)
    sliced = ColumnTransformer([("num", StandardScaler(), slice(0, 2))]).fit(x)
    for name, data in (("search.pkl", pickle.dumps(search)), ("sliced.pkl", dill.dumps(sliced))):
        path = tmp_path / name
        path.write_bytes(data)
        _quiet(path)


def test_dill_type_lookup_resolves_like_a_global(tmp_path: Path) -> None:
    code = b"\x80\x04\x8c\ndill._dill\x8c\n_load_type\x93\x8c\x08CodeType\x85R)R."
    path = tmp_path / "code.pkl"
    path.write_bytes(code)
    assert worst(_scan(path)) == Severity.CRITICAL  # types.CodeType builds code objects


def test_old_joblib_and_vendored_wrapper_paths_are_read_alike(tmp_path: Path) -> None:
    # scikit-learn once vendored joblib: its NumpyArrayWrapper is skipped by the same layout rules.
    path = tmp_path / "new.joblib"
    joblib.dump([np.zeros(5, dtype="<U3"), "after"], path)
    data = path.read_bytes()
    module = b"sklearn.externals.joblib.numpy_pickle"
    vendored = data.replace(b"\x8c\x13joblib.numpy_pickle", b"\x8c" + bytes([len(module)]) + module, 1)
    assert vendored != data
    (tmp_path / "old.pkl").write_bytes(vendored)
    with (tmp_path / "old.pkl").open("rb") as f:
        analysis = analyse(f)
    assert analysis.problems == []
    assert "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper" in analysis.globals
