"""Keras: the model config of `.keras` zips (config.json) and `.h5` files (model_config attribute): Lambda
layers and references to modules outside Keras (MW109; MW101 for known-dangerous ones)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mlwarden.models.classify import dangerous_reason
from mlwarden.models.formats.base import Blob, Format, Scan
from mlwarden.rules import KERAS_LAMBDA, PICKLE_DANGEROUS_CALLABLE

Problem = tuple[str, str, str]  # rule id, message, stable key
_KERAS_MODULES = ("keras", "tf_keras", "tensorflow.keras", "tensorflow.python.keras", "keras_nlp",
                  "keras_hub", "keras_cv")


def check_keras_config(config: Any) -> list[Problem]:
    import json

    problems: list[Problem] = []
    for node in _walk(config):
        if node.get("class_name") == "__lambda__" and not _in_lambda_layer(node, config):
            # any argument may be a lambda (an activation, a loss...): serialization_lib func_load()s its
            # marshalled bytecode when safe_mode is off, outside any Lambda layer
            problems.append((KERAS_LAMBDA, "config holds a Python lambda as marshalled bytecode (__lambda__); it "
                             "runs when the model is loaded with safe_mode=False", f"lambda-value:{_where(node)}"))
        if node.get("class_name") == "TorchModuleWrapper":
            inner = node.get("config")
            if isinstance(inner, dict) and isinstance(inner.get("module"), str):
                problems.append((KERAS_LAMBDA, "TorchModuleWrapper layer holds a whole torch.nn.Module that "
                                 "load_model unpickles with torch.load(weights_only=False) when safe_mode is off",
                                 "torch-module-wrapper"))
        if node.get("class_name") == "Lambda":
            inner = node.get("config", {})
            name = inner.get("name", "?") if isinstance(inner, dict) else "?"
            has_code = "code" in json.dumps(inner)[:1_000_000] if isinstance(inner, dict) else False
            what = "with marshalled Python bytecode" if has_code else "calling a Python function"
            problems.append((KERAS_LAMBDA, f"Lambda layer {name!r} {what}; it runs when the model is loaded",
                             f"lambda:{name}"))
        module = node.get("module")  # a serialized object names its class: module + class_name
        if "class_name" in node and _is_module_path(module) and not str(module).startswith(_KERAS_MODULES) and not (
                module == "builtins" and node.get("class_name") == "function"):  # keras' own functions by name
            reason = dangerous_reason(f"{module}.{node.get('class_name', '')}")
            rule = PICKLE_DANGEROUS_CALLABLE if reason else KERAS_LAMBDA
            problems.append((rule, f"config references {module}.{node.get('class_name', '?')} outside Keras"
                             + (f": {reason}" if reason else ""), f"module:{module}"))
    return problems


def _in_lambda_layer(node: dict[str, Any], config: Any) -> bool:
    """Whether a __lambda__ value is the function of a Lambda layer (that layer is reported already)."""
    return any(layer.get("class_name") == "Lambda" and isinstance(layer.get("config"), dict)
               and layer["config"].get("function") is node for layer in _walk(config))


def _is_module_path(value: object) -> bool:
    """A dotted Python module name: other strings under a "module" key are data (TorchModuleWrapper's base64)."""
    import re

    return isinstance(value, str) and re.fullmatch(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*", value) is not None


def _where(node: dict[str, Any]) -> str:
    inner = node.get("config")
    return str(inner.get("name", "?")) if isinstance(inner, dict) else "?"


def embedded_modules(config: Any) -> list[tuple[str, bytes]]:
    """(layer name, bytes) of every TorchModuleWrapper's pickled module (base64 in its config): the torch.save
    archive that load_model hands to torch.load(weights_only=False)."""
    import base64
    import binascii

    found = []
    for node in _walk(config):
        inner = node.get("config")
        if node.get("class_name") != "TorchModuleWrapper" or not isinstance(inner, dict):
            continue
        blob = inner.get("module")
        if isinstance(blob, str):
            try:
                found.append((str(inner.get("name", "torch_module_wrapper")), base64.b64decode(blob)))
            except (binascii.Error, ValueError):
                found.append((str(inner.get("name", "torch_module_wrapper")), b""))
    return found


def _walk(value: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    if depth > 200:
        return
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _walk(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item, depth + 1)



def report_config(raw: bytes | str, member: str | None, scan: Scan) -> None:
    """Parse a Keras config (JSON) and report its problems; an unreadable config fails closed."""
    import json

    try:
        config = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        scan.unverified(member, f"Keras config is not JSON: {exc}", "keras-config")
        return
    scan.formats.append("keras")
    for rule, message, key in check_keras_config(config):
        scan.add(rule, member, message, key)
    for name, data in embedded_modules(config):
        label = f"{member or 'config'}:{name}.module"
        if not data:
            scan.unverified(member, f"TorchModuleWrapper {name!r} holds a module that is not base64", "keras-torch")
        else:
            scan.nested(data, label, name=f"{name}.pt")  # what torch.load reads: a torch.save archive or a pickle


# --- config.json of an unzipped Keras model (saving_lib.load_model of a folder; keras_hub presets) ---------
_MAX_CONFIG = 64 << 20


def _sniff_config(head: bytes, name: str, size: int | None) -> bool:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return base == "config.json" and b'"class_name"' in head and (size is None or size <= _MAX_CONFIG)


def _scan_config(blob: Blob, scan: Scan) -> None:
    raw = blob.file.read(_MAX_CONFIG + 1)
    if len(raw) > _MAX_CONFIG:
        scan.unverified(blob.member, f"Keras config larger than {_MAX_CONFIG} bytes", "keras-config")
        return
    report_config(raw, blob.member, scan)


CONFIG = Format("keras-config", _sniff_config, _scan_config, seekable=False)


# --- HDF5 (.h5 Keras files) --------------------------------------------------------------------------------
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def _sniff_hdf5(head: bytes, name: str, size: int | None) -> bool:
    # the HDF5 library looks for the superblock at 0, 512, 1024, 2048 …: a user block (any bytes, a pickle say)
    # may come first, and h5py / Keras still open the file
    return any(head[offset:offset + 8] == _HDF5_MAGIC for offset in (0, 512, 1024, 2048))


def _scan_hdf5(blob: Blob, scan: Scan) -> None:
    try:
        import h5py
    except ImportError:
        scan.unverified(blob.member, "HDF5/Keras file not inspected: install h5py (pip install 'mlwarden[h5]')",
                        "h5-missing")
        return
    try:
        with h5py.File(blob.file, "r") as h5:
            raw = h5.attrs.get("model_config")
    except Exception as exc:  # noqa: BLE001 - h5py raises OSError, KeyError, ValueError … on bad files
        scan.unverified(blob.member, f"HDF5 file cannot be read: {exc}", "corrupt-h5")
        return
    if raw is None:
        return
    report_config(raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw), blob.member, scan)


HDF5 = Format("hdf5", _sniff_hdf5, _scan_hdf5, seekable=True, names=("*.h5", "*.hdf5"))
