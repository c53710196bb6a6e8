"""skops files written by the real skops library (skipped without it): the same untrusted types as
skops.io.get_untrusted_types, without importing skops or the types."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import pytest

from mlwarden.findings import Severity
from mlwarden.models.readers.skopsfile import untrusted_types
from tests.conftest import rules, scan_bytes, worst

sio = pytest.importorskip("skops.io")


def _models() -> dict[str, object]:
    import numpy as np
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, MinMaxScaler

    x = np.random.RandomState(0).rand(30, 3)
    y = (x[:, 0] > 0.5).astype(int)
    return {
        "pipeline": make_pipeline(MinMaxScaler(), FunctionTransformer(np.log1p), LogisticRegression()).fit(x, y),
        "forest": RandomForestClassifier(n_estimators=2).fit(x, y),
        "hgb": HistGradientBoostingClassifier(max_iter=2).fit(x, y),
        "os-system": FunctionTransformer(os.system),
        "partial": {"f": __import__("functools").partial(print, 1)},
    }


def _schema(data: bytes) -> object:
    return json.loads(zipfile.ZipFile(io.BytesIO(data)).read("schema.json"))


@pytest.mark.parametrize("name", ["pipeline", "forest", "hgb", "os-system", "partial"])
def test_same_untrusted_types_as_skops(name: str) -> None:
    data = sio.dumps(_models()[name])
    assert sorted(p for p, _ in untrusted_types(_schema(data))) == sorted(sio.get_untrusted_types(data=data))


def test_benign_pipeline_is_clean_and_os_system_is_critical(tmp_path: Path, marker: Path) -> None:
    models = _models()
    assert scan_bytes(tmp_path, sio.dumps(models["pipeline"]), "model.skops") == []
    findings = scan_bytes(tmp_path, sio.dumps(models["os-system"]), "model.skops")
    assert rules(findings) == {"MW134"}
    assert worst(findings) == Severity.CRITICAL


def test_library_data_types_are_low_and_custom_classes_high(tmp_path: Path) -> None:
    findings = scan_bytes(tmp_path, sio.dumps(_models()["forest"]), "forest.skops")
    assert worst(findings) == Severity.LOW  # sklearn's Tree: skops asks for trust, it is data
    schema = {"__class__": "Evil", "__module__": "attacker.mod", "__loader__": "ObjectNode",
              "content": {"__class__": "dict", "__module__": "builtins", "__loader__": "DictNode", "content": {},
                          "key_types": {"__class__": "list", "__module__": "builtins", "__loader__": "ListNode",
                                        "content": []}}, "protocol": 2, "_skops_version": "0.16"}
    assert untrusted_types(schema) == [("attacker.mod.Evil", "ObjectNode")]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("schema.json", json.dumps(schema))
    assert worst(scan_bytes(tmp_path, buf.getvalue(), "evil.skops")) == Severity.HIGH
    # the loading script's own class (a pipeline step defined in a notebook): a review, as in a pickle
    schema["__module__"] = "__main__"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("schema.json", json.dumps(schema))
    assert worst(scan_bytes(tmp_path, buf.getvalue(), "notebook.skops")) == Severity.MEDIUM


def test_unknown_node_kind_and_missing_schema(tmp_path: Path) -> None:
    assert untrusted_types({"__class__": "x", "__module__": "m", "__loader__": "NewNode"})[0][1].startswith(
        "unknown")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("other.json", "{}")
    findings = scan_bytes(tmp_path, buf.getvalue(), "model.skops")
    assert rules(findings) == {"MW112"}
    assert "could not be verified" in findings[0].message
