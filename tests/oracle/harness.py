"""Loader-as-oracle: which samples run their payload in the *real* loader.

``run_loaders(samples)`` writes each sample into its own folder of a temporary directory and loads them
all in ONE throwaway subprocess (``python -I``), each with its loader, with that folder as the working
directory. Payloads are harmless: they create a file named ``PAYLOAD_RAN`` relative to the working
directory (e.g. ``os.system("touch PAYLOAD_RAN")``). The function returns the names of the samples whose
marker appeared. Nothing is ever loaded in the test process itself.

Loaders: "pickle" (``pickle.load``, the C unpickler), "pickle-py" (``pickle._Unpickler``, pure Python),
"pickle-stream" (``pickle.load`` until the stream ends, as torch's legacy format and stream consumers
read), "pandas" (``pandas.read_pickle``), "joblib" (``joblib.load``), "numpy"
(``numpy.load(allow_pickle=True)``), "torch" (``torch.load(weights_only=False)``).

Non-pickle formats (format_samples.py): a sample's data may instead be a callable that writes a folder and
returns the path of the file to load, relative to that folder. "torchscript" (``torch.jit.load``), "distcp"
(``torch.distributed.checkpoint.load`` of the folder into a state dict holding tensors and a non-tensor item),
"onnx" (``onnx.load`` with its external data; its payload is a read, so the marker is made when a tensor holds
the bytes of ``SECRET``, a file the harness puts OUTSIDE every sample's folder), "onnxruntime" (an
``InferenceSession`` run: the marker is made when an output holds those bytes), "skops" (``skops.io.load`` with
``trusted=get_untrusted_types(file=...)``, the pattern skops' own docs show), "skops-default" (no trusted
types), "jinja" (each chat template of the file, as transformers/llama.cpp find them, rendered by an
unsandboxed ``jinja2.Environment``), "jinja-sandbox" (the same with ``ImmutableSandboxedEnvironment``, as
transformers renders), "keras" / "keras-unsafe" (``keras.saving.load_model`` with safe_mode True / False,
torch backend).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

MARKER = "PAYLOAD_RAN"
SECRET = b"MLWARDEN-ORACLE-SECRET-7d1e"  # content of <tmp>/SECRET: an ONNX model that loads it read outside
LOADERS = ("pickle", "pickle-py", "pickle-stream", "pandas", "joblib", "numpy", "torch", "torchscript", "distcp",
           "onnx", "onnxruntime", "skops", "skops-default", "jinja", "jinja-sandbox", "keras", "keras-unsafe")
Writer = Callable[[Path], str]  # writes a sample's files into a folder; returns the file to load (relative)

_DRIVER = r"""
import json, os, signal, sys

def _alarm(signum, frame):
    raise TimeoutError("sample took too long")

signal.signal(signal.SIGALRM, _alarm)
plan = json.loads(sys.stdin.read())

def _templates(path):
    import json
    base = os.path.basename(path)
    if base.endswith(".jinja"):
        return [open(path, encoding="utf-8").read()]
    if base.endswith(".gguf"):
        from gguf import GGUFReader
        reader = GGUFReader(path)
        return [bytes(f.parts[f.data[0]]).decode("utf-8") for k, f in reader.fields.items()
                if k.startswith("tokenizer.chat_template")]
    if base.endswith((".yaml", ".yml")):
        import yaml
        document = yaml.safe_load(open(path, encoding="utf-8"))
    else:
        document = json.load(open(path, encoding="utf-8"))
    value = document.get("chat_template")
    if isinstance(value, list):  # transformers: a list of {name, template}; every named one can be chosen
        return [item["template"] for item in value]
    if isinstance(value, dict):  # kept as a dict of named templates by the tokenizer
        return list(value.values())
    return [value]

def _render(path, sandboxed):
    import jinja2, jinja2.sandbox
    cls = jinja2.sandbox.ImmutableSandboxedEnvironment if sandboxed else jinja2.Environment
    env = cls(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols", "jinja2.ext.do"])
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)
    env.globals["raise_exception"] = raise_exception
    for template in _templates(path):
        try:
            env.from_string(template).render(messages=[{"role": "user", "content": "hi"}], bos_token="<s>",
                                             eos_token="</s>", add_generation_prompt=True)
        except Exception:
            pass

def _onnx(path):
    import onnx
    from onnx import numpy_helper
    model = onnx.load(path)
    tensors = list(model.graph.initializer)
    for node in model.graph.node:
        tensors += [a.t for a in node.attribute if a.HasField("t")]
    if any(SECRET in t.raw_data for t in tensors):
        open("PAYLOAD_RAN", "w").close()

def _onnxruntime(path):
    import onnxruntime
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    if any(SECRET in bytes(out.tobytes()) for out in session.run(None, {})):
        open("PAYLOAD_RAN", "w").close()

def _distcp(folder):
    import torch
    import torch.distributed.checkpoint as dcp
    state = {"weight": torch.zeros(2), "extra": {"note": "x"}, "step": 0}
    dcp.load(state, checkpoint_id=folder)

def _keras(path, safe_mode):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras
    keras.saving.load_model(path, safe_mode=safe_mode)

SECRET = None
for folder, loader, name in plan:
    os.chdir(folder)
    open("ORACLE_ARMED", "w").close()  # test-built payloads that must not act outside this driver check it
    path = os.path.join(folder, name)
    signal.alarm(10)
    try:
        if loader == "pickle":
            import pickle
            with open(path, "rb") as f:
                pickle.load(f)
        elif loader == "pickle-py":
            import pickle
            with open(path, "rb") as f:
                pickle._Unpickler(f).load()
        elif loader == "pickle-stream":
            import pickle
            with open(path, "rb") as f:
                while f.peek(1) if hasattr(f, "peek") else True:
                    pickle.load(f)
        elif loader == "pandas":
            import pandas
            pandas.read_pickle(path)
        elif loader == "joblib":
            import joblib
            joblib.load(path)
        elif loader == "numpy":
            import numpy
            out = numpy.load(path, allow_pickle=True)
            for key in getattr(out, "files", ()):  # an .npz unpickles a member when it is read
                out[key]
        elif loader == "torch":
            import torch
            torch.load(path, weights_only=False)
        elif loader == "torchscript":
            import torch
            torch.jit.load(path)
        elif loader == "distcp":
            _distcp(folder)
        elif loader == "onnx":
            _onnx(path)
        elif loader == "onnxruntime":
            _onnxruntime(path)
        elif loader in ("skops", "skops-default"):
            import skops.io
            trusted = skops.io.get_untrusted_types(file=path) if loader == "skops" else None
            skops.io.load(path, trusted=trusted)
        elif loader in ("jinja", "jinja-sandbox"):
            _render(path, loader == "jinja-sandbox")
        elif loader in ("keras", "keras-unsafe"):
            _keras(path, loader == "keras")
    except BaseException:
        pass
    finally:
        signal.alarm(0)
"""


def run_loaders(samples: Iterable[tuple[str, bytes | Writer, str]], *, timeout: float = 240) -> set[str]:
    """Names of the samples whose payload ran (created ``PAYLOAD_RAN``) in their real loader."""
    return run_named_loaders(((name, "sample.bin", data, loader) for name, data, loader in samples), timeout=timeout)


def run_named_loaders(samples: Iterable[tuple[str, str, bytes | Writer, str]], *,
                      timeout: float = 240) -> set[str]:
    """Like ``run_loaders`` for (name, file name, bytes, loader): pandas infers compression from the name."""
    items = list(samples)
    with tempfile.TemporaryDirectory(prefix="mlwarden-oracle-") as tmp:
        (Path(tmp) / "SECRET").write_bytes(SECRET)
        plan: list[tuple[str, str, str]] = []
        folders: dict[str, Path] = {}
        for i, (name, filename, data, loader) in enumerate(items):
            if loader not in LOADERS:
                raise ValueError(f"unknown loader {loader!r}")
            folder = Path(tmp) / f"s{i:05d}"
            folder.mkdir()
            if isinstance(data, bytes):
                (folder / filename).write_bytes(data)
                main = filename
            else:
                main = data(folder)
            plan.append((str(folder), loader, main))
            folders[name] = folder
        env = {key: value for key, value in os.environ.items() if not key.startswith("MLWARDEN")}
        env["KERAS_BACKEND"] = "torch"
        driver = _DRIVER.replace("SECRET = None", f"SECRET = {SECRET!r}")
        subprocess.run([sys.executable, "-I", "-c", driver], input=json.dumps(plan).encode(), cwd=tmp, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=timeout, check=False)
        return {name for name, folder in folders.items() if (folder / MARKER).exists()}
