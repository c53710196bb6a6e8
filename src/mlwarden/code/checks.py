"""Unsafe model-loading calls in Python source, found on the AST (the code is never imported or run).

Import aliases are followed (``import torch as t``, ``from joblib import load``). Each finding names the
safer call. Bandit covers part of this (B614, B615, B301, B506) but not joblib, numpy allow_pickle, Keras
safe_mode or trust_remote_code, and accepts 7-hex revisions; we require a full commit.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass, field

_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")

_HUB_FUNCTIONS = {
    "huggingface_hub.hf_hub_download": ("repo_id", 0),
    "huggingface_hub.snapshot_download": ("repo_id", 0),
    "huggingface_hub.file_download.hf_hub_download": ("repo_id", 0),
    "datasets.load_dataset": ("path", 0),
    "transformers.pipeline": ("model", None),
    "sentence_transformers.SentenceTransformer": ("model_name_or_path", 0),
}
_PICKLE_LOADERS = {
    "pickle.load", "pickle.loads", "pickle.Unpickler", "_pickle.load", "_pickle.loads", "cPickle.load",
    "cPickle.loads", "dill.load", "dill.loads", "cloudpickle.load", "cloudpickle.loads", "shelve.open",
    "jsonpickle.decode", "joblib.load", "pandas.read_pickle", "sklearn.externals.joblib.load",
    "torch.serialization.load",
}
_KERAS_LOADERS = {
    "keras.models.load_model", "keras.saving.load_model", "tensorflow.keras.models.load_model",
    "tf_keras.models.load_model", "keras.src.saving.saving_api.load_model",
}
_CUSTOM_OPS = {
    "torch.ops.load_library", "tensorflow.load_op_library", "tensorflow.load_library",
    "tensorflow.experimental.register_filesystem_plugin",
}
_SAFE_YAML_LOADERS = {"SafeLoader", "CSafeLoader", "BaseLoader", "CBaseLoader"}


@dataclass(frozen=True)
class CodeIssue:
    rule: str
    line: int
    message: str
    key: str


@dataclass
class HubReference:
    """A literal repository loaded from the Hub (kept for the policy check and the SBOM)."""

    repo_id: str
    revision: str | None
    line: int


@dataclass
class CheckResult:
    issues: list[CodeIssue] = field(default_factory=list)
    hub_refs: list[HubReference] = field(default_factory=list)


class _Visitor(ast.NodeVisitor):
    def __init__(self, aliases: dict[str, str]) -> None:
        self.aliases = aliases
        self.result = CheckResult()
        self.tar_names: set[str] = set()  # variables bound to tarfile.open(...) / TarFile(...)

    # -- names ------------------------------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname:
                self.aliases[alias.asname] = alias.name
            else:
                root = alias.name.split(".")[0]
                self.aliases[root] = root

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module and node.level == 0:
            for alias in node.names:
                self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"

    def _opens_tar(self, value: ast.expr | None) -> bool:
        if not isinstance(value, ast.Call):
            return False
        name = self.resolve(value.func) or ""
        return name.startswith("tarfile.") and name.rsplit(".", 1)[-1] in ("open", "TarFile", "taropen")

    def visit_Assign(self, node: ast.Assign) -> None:
        if self._opens_tar(node.value):
            self.tar_names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        self.generic_visit(node)

    def visit_With(self, node: ast.With) -> None:
        for item in node.items:
            if self._opens_tar(item.context_expr) and isinstance(item.optional_vars, ast.Name):
                self.tar_names.add(item.optional_vars.id)
        self.generic_visit(node)

    def resolve(self, node: ast.expr) -> str | None:
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if isinstance(node, ast.Name):
            base = self.aliases.get(node.id, node.id)
            return ".".join([base, *reversed(parts)])
        if isinstance(node, ast.Call) and parts:  # e.g. yaml.load(...) on a call result: keep the tail
            return ".".join(["<call>", *reversed(parts)])
        return None

    # -- calls --------------------------------------------------------------------------------------------
    def add(self, rule: str, node: ast.AST, message: str, key: str) -> None:
        self.result.issues.append(CodeIssue(rule, getattr(node, "lineno", 1), message, key))

    def visit_Call(self, node: ast.Call) -> None:
        name = self.resolve(node.func) or ""
        last = name.rsplit(".", 1)[-1]
        kwargs = {k.arg: k.value for k in node.keywords if k.arg}
        for check in _CHECKS:
            check(self, node, name, last, kwargs)
        self.generic_visit(node)


def _const(node: ast.expr | None) -> object:
    return node.value if isinstance(node, ast.Constant) else _NOT_CONSTANT


_NOT_CONSTANT = object()


def _arg(node: ast.Call, kwargs: dict[str, ast.expr], keyword: str, position: int | None) -> ast.expr | None:
    if keyword in kwargs:
        return kwargs[keyword]
    if position is not None and len(node.args) > position:
        return node.args[position]
    return None


def _check_hub(v: _Visitor, node: ast.Call, name: str, last: str, kwargs: dict[str, ast.expr]) -> None:
    spec = _HUB_FUNCTIONS.get(name)
    if spec is None and last in ("hf_hub_download", "snapshot_download", "load_dataset"):
        spec = ("repo_id" if last != "load_dataset" else "path", 0)
    if spec is None and last == "from_pretrained":
        spec = ("pretrained_model_name_or_path", 0)
    if spec is None:
        return
    repo_node = _arg(node, kwargs, spec[0], spec[1])
    repo = _const(repo_node)
    if name == "transformers.pipeline" and repo_node is None:
        return  # a task-only pipeline downloads the library's default model: nothing in the code to pin
    if isinstance(repo, str) and not _REPO_ID.match(repo):
        return  # a local path, not a Hub repository
    revision_node = kwargs.get("revision", kwargs.get("commit_id"))
    revision = _const(revision_node)
    what = repr(repo) if isinstance(repo, str) else "a repository named at run time"
    if revision_node is None:
        v.add("MW701", node, f"{last}({what}) without revision=: pin a 40-hex commit", f"{last}:{repo}")
    elif not isinstance(revision, str):
        v.add("MW701", node, f"{last}({what}) with a revision computed at run time: pin a literal 40-hex commit",
              f"{last}:{repo}")
    elif not _COMMIT.match(revision):
        v.add("MW701", node, f"{last}({what}, revision={revision!r}): branches and tags move; pin a 40-hex "
              "commit", f"{last}:{repo}")
    if isinstance(repo, str):
        v.result.hub_refs.append(HubReference(repo, revision if isinstance(revision, str) else None,
                                              node.lineno))


def _check_remote_code(v: _Visitor, node: ast.Call, name: str, last: str, kwargs: dict[str, ast.expr]) -> None:
    if _const(kwargs.get("trust_remote_code")) is True:
        v.add("MW703", node, f"{last or 'call'}(trust_remote_code=True) imports and runs the repository's "
              "Python code", f"trc:{last}")


def _check_torch_load(v: _Visitor, node: ast.Call, name: str, last: str, kwargs: dict[str, ast.expr]) -> None:
    if name != "torch.load":
        return
    weights_only = _const(kwargs.get("weights_only"))
    if weights_only is not True:
        state = "weights_only=False" if weights_only is False else "no weights_only=True"
        v.add("MW704", node, f"torch.load with {state}: use torch.load(..., weights_only=True) or "
              "safetensors", "torch.load")


def _check_pickle(v: _Visitor, node: ast.Call, name: str, last: str, kwargs: dict[str, ast.expr]) -> None:
    if name in _PICKLE_LOADERS:
        v.add("MW705", node, f"{name} runs code embedded in the data: prefer safetensors, skops or a data "
              "format; scan the file with `mlwarden models` first", name)
    elif name in ("numpy.load", "numpy.lib.npyio.load") and _const(kwargs.get("allow_pickle")) is not False \
            and "allow_pickle" in kwargs:
        v.add("MW705", node, "numpy.load(allow_pickle=True) unpickles object arrays: store plain dtypes",
              "numpy.load")


def _check_keras(v: _Visitor, node: ast.Call, name: str, last: str, kwargs: dict[str, ast.expr]) -> None:
    if name not in _KERAS_LOADERS and not (last == "load_model" and "keras" in name):
        return
    if _const(kwargs.get("safe_mode")) is False:
        v.add("MW706", node, f"{name}(safe_mode=False) runs Lambda layers' bytecode: keep safe_mode=True",
              f"{name}:safe_mode")
    target = _const(_arg(node, kwargs, "filepath", 0))
    if isinstance(target, str) and target.lower().endswith((".h5", ".hdf5")):
        v.add("MW706", node, f"{name}({target!r}): safe_mode does not apply to .h5 files (CVE-2025-9905); "
              "use the .keras format", f"{name}:h5")


def _check_yaml(v: _Visitor, node: ast.Call, name: str, last: str, kwargs: dict[str, ast.expr]) -> None:
    if name == "yaml.unsafe_load" or name == "yaml.full_load":
        v.add("MW707", node, f"{name} constructs Python objects: use yaml.safe_load", name)
        return
    if name not in ("yaml.load", "yaml.load_all"):
        return
    loader = _arg(node, kwargs, "Loader", 1)
    loader_name = (v.resolve(loader) or "") if loader is not None else ""
    if loader_name.rsplit(".", 1)[-1] not in _SAFE_YAML_LOADERS:
        v.add("MW707", node, f"{name} without Loader=yaml.SafeLoader: use yaml.safe_load", name)


def _check_tar(v: _Visitor, node: ast.Call, name: str, last: str, kwargs: dict[str, ast.expr]) -> None:
    if last not in ("extractall", "extract") or "filter" in kwargs or not isinstance(node.func, ast.Attribute):
        return
    receiver = node.func.value
    if (isinstance(receiver, ast.Name) and receiver.id in v.tar_names) or v._opens_tar(receiver):
        v.add("MW708", node, "extractall() without filter=: use extractall(path, filter=\"data\")", "extractall")


def _check_custom_ops(v: _Visitor, node: ast.Call, name: str, last: str, kwargs: dict[str, ast.expr]) -> None:
    if name in _CUSTOM_OPS or last == "register_custom_ops_library":
        v.add("MW709", node, f"{name or last} loads native code", name or last)


_CHECKS: list[Callable[[_Visitor, ast.Call, str, str, dict[str, ast.expr]], None]] = [
    _check_hub, _check_remote_code, _check_torch_load, _check_pickle, _check_keras, _check_yaml, _check_tar,
    _check_custom_ops,
]


def check_source(source: str, aliases: dict[str, str] | None = None) -> CheckResult:
    """Check one module (or one notebook cell, sharing ``aliases`` with the cells before it).

    Raises SyntaxError (with its line) when the source does not parse.
    """
    tree = ast.parse(source)
    visitor = _Visitor(aliases if aliases is not None else {})
    visitor.visit(tree)
    return visitor.result
