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
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

MARKER = "PAYLOAD_RAN"
LOADERS = ("pickle", "pickle-py", "pickle-stream", "pandas", "joblib", "numpy", "torch")

_DRIVER = r"""
import json, os, signal, sys

def _alarm(signum, frame):
    raise TimeoutError("sample took too long")

signal.signal(signal.SIGALRM, _alarm)
plan = json.loads(sys.stdin.read())
for folder, loader, filename in plan:
    os.chdir(folder)
    path = os.path.join(folder, filename)
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
    except BaseException:
        pass
    finally:
        signal.alarm(0)
"""


def run_loaders(samples: Iterable[tuple[str, bytes, str]], *, timeout: float = 240) -> set[str]:
    """Names of the samples whose payload ran (created ``PAYLOAD_RAN``) in their real loader."""
    return run_named_loaders(((name, "sample.bin", data, loader) for name, data, loader in samples), timeout=timeout)


def run_named_loaders(samples: Iterable[tuple[str, str, bytes, str]], *, timeout: float = 240) -> set[str]:
    """Like ``run_loaders`` for (name, file name, bytes, loader): pandas infers compression from the name."""
    items = list(samples)
    with tempfile.TemporaryDirectory(prefix="mlwarden-oracle-") as tmp:
        plan: list[tuple[str, str, str]] = []
        folders: dict[str, Path] = {}
        for i, (name, filename, data, loader) in enumerate(items):
            if loader not in LOADERS:
                raise ValueError(f"unknown loader {loader!r}")
            folder = Path(tmp) / f"s{i:05d}"
            folder.mkdir()
            (folder / filename).write_bytes(data)
            plan.append((str(folder), loader, filename))
            folders[name] = folder
        env = {key: value for key, value in os.environ.items() if not key.startswith("MLWARDEN")}
        subprocess.run([sys.executable, "-I", "-c", _DRIVER], input=json.dumps(plan).encode(), cwd=tmp, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=timeout, check=False)
        return {name for name, folder in folders.items() if (folder / MARKER).exists()}
