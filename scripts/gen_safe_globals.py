"""Regenerate src/mlwarden/models/safe_globals.txt, the shipped pickle safe list.

Sources, in order:
1. fickling's ML allowlist (fickling.ml.ML_ALLOWLIST), read as data;
2. a curated list of standard-library and container names (below);
3. classes the libraries enumerate themselves: torch.nn modules, optimisers and schedulers, torch dtypes
   and storages, every scikit-learn estimator (sklearn.utils.all_estimators);
4. the globals that real pickles of ordinary ML objects reference: this script pickles numpy, pandas,
   scikit-learn and torch objects with every protocol and reads the names back with mlwarden's own
   pickle machine (nothing is unpickled).

Run it in the test environment (`.venv/bin/python scripts/gen_safe_globals.py`) after upgrading any of
these libraries, review the diff, and commit it.
"""

from __future__ import annotations

import collections
import datetime
import decimal
import fractions
import importlib
import inspect
import io
import pathlib
import pickle
import pkgutil
import sys
import uuid
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from mlwarden.models.classify import dangerous_reason  # noqa: E402
from mlwarden.models.pickle import analyse  # noqa: E402

CURATED = """
torch.distributed.checkpoint.filesystem._StorageInfo torch.distributed.checkpoint.metadata.BytesStorageMetadata
torch.distributed.checkpoint.metadata.ChunkStorageMetadata torch.distributed.checkpoint.metadata.Metadata
torch.distributed.checkpoint.metadata.MetadataIndex torch.distributed.checkpoint.metadata.StorageMeta
torch.distributed.checkpoint.metadata.TensorProperties torch.distributed.checkpoint.metadata.TensorStorageMetadata
torch.distributed.checkpoint.metadata._MEM_FORMAT_ENCODING
builtins.set builtins.frozenset builtins.dict builtins.list builtins.tuple builtins.bytearray builtins.bytes
builtins.complex builtins.slice builtins.range builtins.object builtins.int builtins.float builtins.str
builtins.bool builtins.NoneType builtins.Ellipsis builtins.NotImplemented
_codecs.encode copyreg._reconstructor copyreg.__newobj__ copyreg.__newobj_ex__
collections.OrderedDict collections.defaultdict collections.deque collections.Counter collections.ChainMap
datetime.datetime datetime.date datetime.time datetime.timedelta datetime.timezone
decimal.Decimal fractions.Fraction uuid.UUID pathlib.PosixPath pathlib.WindowsPath pathlib.PurePosixPath
pathlib.PureWindowsPath pathlib._local.PosixPath pathlib._local.WindowsPath
re._compile enum.Enum zoneinfo.ZoneInfo zoneinfo.ZoneInfo._unpickle array.array array._array_reconstructor
torch._utils._rebuild_tensor torch._utils._rebuild_tensor_v2 torch._utils._rebuild_tensor_v3
torch._utils._rebuild_parameter torch._utils._rebuild_parameter_with_state torch._utils._rebuild_qtensor
torch._utils._rebuild_sparse_tensor torch._utils._rebuild_nested_tensor torch._utils._rebuild_device_tensor_from_numpy
torch._utils._rebuild_meta_tensor_no_storage torch._utils._rebuild_wrapper_subclass
torch._utils._rebuild_buffer torch._tensor._rebuild_from_type torch._tensor._rebuild_from_type_v2
torch.storage._load_from_bytes torch.Size torch.device torch.dtype torch.layout torch.memory_format
torch.strided torch.sparse_coo torch.contiguous_format torch.channels_last torch.preserve_format
torch.nn.parameter.Parameter torch.nn.parameter.Buffer torch.Tensor torch.serialization._get_layout
torch.nn.modules.container.Sequential torch.nn.modules.container.ModuleList torch.nn.modules.container.ModuleDict
torch.nn.modules.container.ParameterList torch.nn.modules.container.ParameterDict
torch.storage.UntypedStorage torch.storage.TypedStorage torch.UntypedStorage torch.TypedStorage
numpy.core.multiarray._reconstruct numpy._core.multiarray._reconstruct numpy.core.multiarray.scalar
numpy._core.multiarray.scalar numpy.ndarray numpy.dtype numpy.ma.core._mareconstruct numpy.core.numeric._frombuffer
numpy._core.numeric._frombuffer numpy.random._pickle.__randomstate_ctor numpy.random._pickle.__generator_ctor
numpy.random._pickle.__bit_generator_ctor numpy.random._pickle.__bit_generator_ctor numpy.random.__RandomState_ctor
numpy.random._mt19937.MT19937 numpy.random._pcg64.PCG64 numpy.random._pcg64.PCG64DXSM numpy.random._philox.Philox
numpy.random._sfc64.SFC64 numpy.random.mtrand.RandomState numpy.random._generator.Generator
joblib.numpy_pickle.NumpyArrayWrapper joblib.numpy_pickle_compat.NDArrayWrapper pandas.arrays.StringArray
joblib.numpy_pickle_compat.ZNDArrayWrapper numpy.matrix numpy.matrixlib.defmatrix.matrix
dill._dill._create_array dill._dill._load_type dill._dill._create_dtypemeta
numpy.ma.core.MaskedArray numpy.ma.core.MaskedConstant sklearn.compose._column_transformer.make_column_selector
sklearn.utils._bunch.Bunch numpy.core._internal._reconstruct
joblib.numpy_pickle.NDArrayWrapper joblib.numpy_pickle.ZNDArrayWrapper
sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper sklearn.externals.joblib.numpy_pickle.NDArrayWrapper
"""

# The safe list holds pure data constructors only. Names that peers' allowlists (fickling) or the pickled
# corpus bring in but that load other files, run initialisation with side effects or name the loading
# script's own classes are removed here, with the reason.
NOT_PURE = {
    "torch.storage._load_from_bytes": "a loader (torch.load of its bytes); the payload is scanned instead",
    "accelerate.state.PartialState": "initialises distributed state",
    "accelerate.utils.dataclasses.DeepSpeedPlugin": "reads a DeepSpeed config file",
    "accelerate.utils.deepspeed.HfDeepSpeedConfig": "reads a DeepSpeed config file",
    "transformers.deepspeed.HfDeepSpeedConfig": "reads a DeepSpeed config file",
    "transformers.deepspeed.HfTrainerDeepSpeedConfig": "reads a DeepSpeed config file",
    "transformers.integrations.deepspeed.HfDeepSpeedConfig": "reads a DeepSpeed config file",
    "transformers.integrations.deepspeed.HfTrainerDeepSpeedConfig": "reads a DeepSpeed config file",
}
# __main__ is whatever script loads the pickle: a name there identifies nothing.
NOT_PURE_PREFIXES = ("__main__.",)



def _fickling() -> set[str]:
    from fickling.ml import ML_ALLOWLIST

    names: set[str] = set()
    for module, entries in ML_ALLOWLIST.items():
        for name in entries:
            names.add(f"{module}.{name}")
    return names


def _qualified(cls: Any) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _torch_classes() -> set[str]:
    import torch

    names: set[str] = set()
    for module_info in pkgutil.walk_packages(torch.nn.modules.__path__, "torch.nn.modules."):
        module = importlib.import_module(module_info.name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, torch.nn.Module) and obj.__module__.startswith("torch."):
                names.add(_qualified(obj))
    for space in (torch.optim, torch.optim.lr_scheduler):
        for _, obj in inspect.getmembers(space, inspect.isclass):
            if obj.__module__.startswith("torch.optim"):
                names.add(_qualified(obj))
    for attr in dir(torch):
        value = getattr(torch, attr)
        if isinstance(value, torch.dtype):
            names.add(f"torch.{attr}")
        if inspect.isclass(value) and attr.endswith("Storage"):
            names.add(f"torch.{attr}")
    return names


def _numpy_ufuncs() -> set[str]:
    """numpy's ufuncs (np.log1p in a FunctionTransformer): pure arithmetic, pickled by name."""
    import numpy as np

    return {f"numpy.{name}" for name in dir(np) if isinstance(getattr(np, name, None), np.ufunc)}


def _sklearn_classes() -> set[str]:
    """Every estimator, and the plain helper classes estimators hold (cv splitters, scorers, losses)."""
    from sklearn.utils import all_estimators

    names = {_qualified(cls) for _, cls in all_estimators()}
    for module_name in ("sklearn.model_selection._split", "sklearn.metrics._scorer", "sklearn._loss.loss",
                        "sklearn._loss.link"):
        module = importlib.import_module(module_name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if obj.__module__ == module_name:
                names.add(_qualified(obj))
    import sklearn.metrics

    for name in sklearn.metrics.__all__:  # metric functions that scorers reference: pure computations
        obj = getattr(sklearn.metrics, name)
        if inspect.isfunction(obj) and obj.__module__.startswith("sklearn.metrics"):
            names.add(_qualified(obj))
    return names


def _scipy_distributions() -> set[str]:
    """scipy.stats distribution objects and their frozen forms (RandomizedSearchCV keeps them): data."""
    from scipy import stats  # type: ignore[import-untyped]
    from scipy.stats import _distn_infrastructure as infra  # type: ignore[import-untyped]

    names = {_qualified(type(dist)) for dist in (getattr(stats, n) for n in dir(stats))
             if isinstance(dist, (infra.rv_continuous, infra.rv_discrete))}
    for cls in (infra.rv_continuous_frozen, infra.rv_discrete_frozen, infra.rv_frozen):
        names.add(_qualified(cls))
    return names


def _scipy_sparse() -> set[str]:
    """scipy.sparse matrices and arrays (data containers), under today's and older module paths."""
    import scipy.sparse  # type: ignore[import-untyped]

    names = {_qualified(getattr(scipy.sparse, n)) for n in dir(scipy.sparse)
             if inspect.isclass(getattr(scipy.sparse, n)) and issubclass(getattr(scipy.sparse, n),
                                                                         scipy.sparse.sparray | scipy.sparse.spmatrix)}
    for fmt in ("coo", "csr", "csc", "bsr", "dia", "dok", "lil"):
        names |= {f"scipy.sparse.{fmt}.{fmt}_matrix", f"scipy.sparse._{fmt}.{fmt}_matrix",
                  f"scipy.sparse._{fmt}.{fmt}_array"}
    return names


def _corpus() -> list[Any]:
    import numpy as np
    import pandas as pd
    import torch
    from sklearn.compose import ColumnTransformer
    from sklearn.datasets import make_classification
    from sklearn.decomposition import PCA
    from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    from sklearn.svm import SVC
    from sklearn.tree import DecisionTreeClassifier

    x, y = make_classification(n_samples=60, n_features=5, random_state=0)
    frame = pd.DataFrame({
        "num": np.arange(6, dtype="float64"), "cat": pd.Categorical(list("abcabc")),
        "when": pd.date_range("2024-01-01", periods=6, tz="UTC"), "text": list("uvwxyz"),
        "flag": [True, False] * 3, "nullable": pd.array([1, None, 3, 4, 5, 6], dtype="Int64"),
    })
    column = ColumnTransformer([("num", StandardScaler(), ["num"]), ("cat", OneHotEncoder(), ["cat"])])
    models: list[Any] = [
        make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y),
        RandomForestClassifier(n_estimators=3, random_state=0).fit(x, y),
        GradientBoostingClassifier(n_estimators=3).fit(x, y),
        HistGradientBoostingClassifier(max_iter=3).fit(x, y),
        DecisionTreeClassifier().fit(x, y), SVC().fit(x, y), PCA(2).fit(x),
        TfidfVectorizer().fit(["alpha beta gamma", "beta gamma delta"]), column.fit(frame[["num", "cat"]]),
    ]
    net = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU(), torch.nn.BatchNorm1d(2))
    optimiser = torch.optim.Adam(net.parameters())
    return [
        *models, frame, frame["num"], frame.index, pd.Series(["a", "b"], dtype="string"),
        pd.MultiIndex.from_tuples([(1, "a"), (2, "b")]), pd.period_range("2024-01", periods=3, freq="M"),
        pd.Timestamp("2024-01-01"), pd.Timedelta("1D"), pd.Interval(0, 1),
        np.arange(5), np.zeros((2, 2), dtype="complex64"), np.array(["a", "b"]), np.float32(1.5),
        np.array([1, "x"], dtype=object), np.random.RandomState(0), np.random.default_rng(0),
        np.datetime64("2024-01-01"), np.ma.masked_array([1, 2], mask=[False, True]),
        net.state_dict(), optimiser.state_dict(), torch.arange(4), torch.nn.Parameter(torch.ones(2)),
        torch.float16, torch.Size([2, 3]), torch.device("cpu"),
        collections.OrderedDict(a=1), collections.Counter("ab"), collections.deque([1]),
        collections.defaultdict(list), datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc),
        datetime.date(2024, 1, 1), datetime.timedelta(1), decimal.Decimal("1.5"), fractions.Fraction(1, 3),
        uuid.UUID(int=1), pathlib.PurePosixPath("/a"), {1, 2}, frozenset({1}), b"\x00bytes", bytearray(b"x"),
        complex(1, 2), slice(1, 2), range(3), *_arrow_objects(pd),
    ]


def _arrow_objects(pd: Any) -> list[Any]:
    """pandas stores strings in pyarrow arrays when pyarrow is installed; pickles then name pyarrow."""
    try:
        import pyarrow as pa
    except ImportError:
        return []
    table = pa.table({"a": [1, 2], "s": ["x", "y"]})
    return [table, table.schema, pa.array([1.5, None]), pd.Series(["a", "b"], dtype="string[pyarrow]"),
            pd.Series([1, 2], dtype="int64[pyarrow]"), pd.DataFrame({"s": ["u", "v"]}).convert_dtypes()]


def _pickled_globals() -> set[str]:
    names: set[str] = set()
    for obj in _corpus():
        for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
            analysis = analyse(io.BytesIO(pickle.dumps(obj, protocol=protocol)))
            names.update(analysis.globals)
            for nested in analysis.nested:
                names.update(analyse(io.BytesIO(nested.data)).globals)
    return names


def main() -> int:
    names = (set(CURATED.split()) | _fickling() | _torch_classes() | _sklearn_classes() | _numpy_ufuncs()
             | _scipy_distributions() | _scipy_sparse() | _pickled_globals())
    rejected = sorted(name for name in names if dangerous_reason(name) is not None or name in NOT_PURE
                      or name.startswith(NOT_PURE_PREFIXES))
    names -= set(rejected)
    header = [
        "# Pickle safe list shipped with mlwarden: exact dotted names, one per line.",
        "# Generated by scripts/gen_safe_globals.py; do not edit by hand (add to CURATED there).",
        f"# {len(names)} names. Dropped as dangerous: {', '.join(rejected) or 'none'}",
    ]
    out = ROOT / "src" / "mlwarden" / "models" / "safe_globals.txt"
    out.write_text("\n".join(header + sorted(names)) + "\n", encoding="utf-8")
    print(f"wrote {out} ({len(names)} names)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
