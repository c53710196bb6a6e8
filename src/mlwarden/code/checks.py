"""Unsafe model-loading calls in Python source, found on the AST (the code is never imported or run).

Import aliases are followed (``import torch as t``, ``from joblib import load``), and so are simple assignments
anywhere in the module (``REVISION = "<40 hex>"`` then ``revision=REVISION`` is pinned; ``path = os.path.join(...)``
then ``from_pretrained(path)`` is a local directory, not a download). Each finding names the safer call.
Bandit covers part of this (B614, B615, B301, B506) but not joblib, numpy allow_pickle, Keras
safe_mode or trust_remote_code, and accepts 7-hex revisions; we require a full commit.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from mlwarden.code.parse import Skipped, parse
from mlwarden.rules import (
    CUSTOM_OP_LIBRARY,
    HUB_LOAD_UNPINNED,
    KERAS_UNSAFE_LOAD,
    PICKLE_LOAD,
    TAR_EXTRACTALL,
    TORCH_LOAD_UNSAFE,
    TRUST_REMOTE_CODE,
    YAML_UNSAFE_LOAD,
)

_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_REPO_ID = re.compile(r"^(?:[A-Za-z0-9][\w.-]*/)?[A-Za-z0-9][\w.-]*$")
# Models that predate namespaces keep their bare ids on the Hub (gpt2, bert-base-uncased, t5-small ...).
_LEGACY_MODEL = re.compile(
    r"^(?:albert|bart|bert|camembert|ctrl|deberta|distilbert|distilgpt2|distilroberta|electra|flaubert|gpt2|"
    r"longformer|mbart|mt5|openai-gpt|roberta|t5|transfo-xl|xlm|xlm-roberta|xlnet)(?:-[\w.-]+)?$",
    re.IGNORECASE,
)
# datasets' packaged builders read local files: load_dataset("csv", data_files=...) downloads nothing.
_PACKAGED_BUILDERS = {
    "csv",
    "json",
    "parquet",
    "text",
    "arrow",
    "pandas",
    "sql",
    "imagefolder",
    "audiofolder",
    "videofolder",
    "webdataset",
    "xml",
    "generator",
    "cache",
    "folder_based_builder",
}
_FILE_SUFFIX = re.compile(
    r"\.(?:bin|pt|pth|ckpt|safetensors|json|jsonl|h5|hdf5|onnx|gguf|pkl|pickle|py|csv|tsv|txt|"
    r"parquet|arrow|zip|tar|gz|msgpack|model|keras|npz|npy)$",
    re.IGNORECASE,
)
_LOCAL_FIRST_PART = {
    "output",
    "outputs",
    "checkpoint",
    "checkpoints",
    "ckpt",
    "models",
    "model",
    "saved_models",
    "save",
    "runs",
    "results",
    "logs",
    "tmp",
    "temp",
    "data",
    "weights",
    "exp",
    "experiments",
}
_PATH_CALLS = {
    "os.path.join",
    "os.path.abspath",
    "os.path.expanduser",
    "os.path.realpath",
    "os.path.dirname",
    "os.path.normpath",
    "os.getcwd",
    "os.fspath",
    "pathlib.Path",
    "pathlib.PurePath",
    "pathlib.PosixPath",
    "pathlib.WindowsPath",
    "tempfile.mkdtemp",
    "tempfile.gettempdir",
    "tempfile.TemporaryDirectory",
    "posixpath.join",
    "ntpath.join",
}
_PATH_METHODS = {"joinpath", "resolve", "absolute", "expanduser", "with_name", "with_suffix", "mkdtemp"}
# Not "checkpoint": in Hugging Face code a checkpoint is as often a Hub id ("distilbert-base-uncased").
_LOCAL_WORDS = ("tmp", "temp", "dir", "folder", "output", "save", "cache")
# Libraries with functions of the same names that do not read the Hugging Face Hub (seaborn.load_dataset
# fetches its sample CSVs from GitHub; modelscope has its own hub).
_NOT_HUB_ROOTS = {
    "seaborn",
    "sns",
    "tensorflow_datasets",
    "tfds",
    "torchvision",
    "sklearn",
    "modelscope",
    "statsmodels",
    "plotly",
    "vega_datasets",
    "pydataset",
    "keras",
    "tensorflow",
}
LOCAL = "<local path>"  # what a name resolves to when it holds a filesystem path

_HUB_FUNCTIONS = {
    "huggingface_hub.hf_hub_download": ("repo_id", 0),
    "huggingface_hub.snapshot_download": ("repo_id", 0),
    "huggingface_hub.file_download.hf_hub_download": ("repo_id", 0),
    "datasets.load_dataset": ("path", 0),
    "transformers.pipeline": ("model", None),
    "sentence_transformers.SentenceTransformer": ("model_name_or_path", 0),
}
_PICKLE_LOADERS = {
    "pickle.load",
    "pickle.loads",
    "pickle.Unpickler",
    "_pickle.load",
    "_pickle.loads",
    "cPickle.load",
    "cPickle.loads",
    "dill.load",
    "dill.loads",
    "cloudpickle.load",
    "cloudpickle.loads",
    "shelve.open",
    "jsonpickle.decode",
    "joblib.load",
    "pandas.read_pickle",
    "sklearn.externals.joblib.load",
    "torch.serialization.load",
}
_KERAS_LOADERS = {
    "keras.models.load_model",
    "keras.saving.load_model",
    "tensorflow.keras.models.load_model",
    "tf_keras.models.load_model",
    "keras.src.saving.saving_api.load_model",
}
_CUSTOM_OPS = {
    "torch.ops.load_library",
    "tensorflow.load_op_library",
    "tensorflow.load_library",
    "tensorflow.experimental.register_filesystem_plugin",
}
# Every check needs one of these words in the text (a module it imports or resolves, or the call's own name):
# a file without any cannot produce a finding, so it is not parsed. Most of a large code base is such files
# (pydantic-ai: 60 of 697 files, 5 of 19.5 MB, have one), and parsing is most of the check's time.
TRIGGERS = re.compile(
    r"pickle|Unpickler|shelve|dill|joblib|torch|numpy|keras|tensorflow|yaml|tarfile|"
    r"from_pretrained|hf_hub_download|snapshot_download|load_dataset|transformers|"
    r"SentenceTransformer|trust_remote_code|load_library|load_op_library|"
    r"register_filesystem_plugin|register_custom_ops_library"
)
_SAFE_YAML_LOADERS = {"SafeLoader", "CSafeLoader", "BaseLoader", "CBaseLoader"}


@dataclass(frozen=True)
class CodeIssue:
    rule: str
    line: int
    message: str
    key: str
    low: bool = False  # below the rule's severity: worth listing, not worth blocking a commit


@dataclass
class HubReference:
    """A repository loaded from the Hub, named by a literal or a constant (for the policy check and the SBOM)."""

    repo_id: str
    revision: str | None
    line: int


@dataclass
class CheckResult:
    issues: list[CodeIssue] = field(default_factory=list)
    hub_refs: list[HubReference] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)  # statements the running Python could not parse


class _Visitor(ast.NodeVisitor):
    def __init__(
        self, aliases: dict[str, str], env: dict[str, str | None], is_local_dir: Callable[[str], bool] | None
    ) -> None:
        self.aliases = aliases
        self.env = env  # name -> its constant string, LOCAL, or None when assigned something else
        self.is_local_dir = is_local_dir or (lambda _: False)
        self.result = CheckResult()
        self.tar_names: set[str] = set()  # variables bound to tarfile.open(...) / TarFile(...)
        self._seen: dict[str, str | None] = {}  # assignments of this module or cell
        self._pending: list[tuple[ast.Call, str, str, dict[str, ast.expr]]] = []  # Hub calls, judged at the end
        self.safe_classes: set[str] = set()  # classes derived from a safe YAML loader
        self.bound: dict[str, list[ast.expr]] = {}  # name -> the names/attributes assigned to it
        # per scope (module or cell, then each function): name -> whether all assigned to it is a pickle dumps()
        self.dumped: list[dict[str, bool]] = [{}]

    # -- what names hold ----------------------------------------------------------------------------------
    # Assignments are learnt during the one walk of the tree and Hub calls judged after it, so a constant
    # defined below the function that uses it still counts. A name assigned different values resolves to None.
    def _learn(self, name: str, value: str | None) -> None:
        self._bind(self._seen, name, value)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if isinstance(node.target, ast.Name) and node.value is not None:
            self._learn(node.target.id, self._value(node.value))
            if isinstance(node.value, (ast.Name, ast.Attribute)):
                self.bound.setdefault(node.target.id, []).append(node.value)
        self.generic_visit(node)

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        self.dumped.append({})
        for arg in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs):
            self.dumped[-1][arg.arg] = False  # a parameter holds the caller's bytes
            if _local_name(arg.arg):
                self._learn(arg.arg, LOCAL)
        self.generic_visit(node)
        self.dumped.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _visit_function

    def finish(self) -> CheckResult:
        self.env.update(self._seen)  # later notebook cells see this cell's names
        for node, name, last, kwargs in self._pending:
            _check_hub(self, node, name, last, kwargs)
        self.result.issues.sort(key=lambda issue: issue.line)
        self.result.hub_refs.sort(key=lambda ref: ref.line)
        return self.result

    @staticmethod
    def _bind(seen: dict[str, str | None], name: str, value: str | None) -> None:
        if name in seen and seen[name] != value:
            seen[name] = None
        else:
            seen[name] = value

    def _value(self, node: ast.expr | None) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name) and (node.id in self._seen or node.id in self.env):
            return self._seen[node.id] if node.id in self._seen else self.env[node.id]
        return LOCAL if node is not None and self._is_path(node) else None

    def _is_path(self, node: ast.expr) -> bool:
        """An expression that builds a filesystem path (os.path.join, Path(...) / "x", tempfile, str(path))."""
        if isinstance(node, ast.Call):
            name = self.resolve(node.func) or ""
            if (
                name in _PATH_CALLS
                or name.startswith(("pathlib.", "os.path.", "tempfile."))
                or name.rsplit(".", 1)[-1] in _PATH_METHODS
            ):
                return True
            if name in ("str", "os.fspath") and node.args:
                return self._is_path(node.args[0])
            return False
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            return self._is_path(node.left)
        if isinstance(node, ast.Name):
            return self._seen.get(node.id, self.env.get(node.id)) == LOCAL or _local_name(node.id)
        if isinstance(node, ast.Attribute):
            temporary = isinstance(node.value, ast.Name) and self._is_path(node.value)
            return (node.attr == "name" and temporary) or _local_name(node.attr)
        if isinstance(node, ast.JoinedStr):  # f"{output_dir}/model" or f"./runs/{name}"
            first = node.values[0] if node.values else None
            if isinstance(first, ast.FormattedValue):
                return self._is_path(first.value)
            return isinstance(first, ast.Constant) and isinstance(first.value, str) and _local_string(first.value)
        return False

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

    # -- YAML loaders: a class derived from SafeLoader, or a name only ever bound to safe loaders, is safe --------
    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        if any(self.safe_loader(base) for base in node.bases):
            self.safe_classes.add(node.name)
        self.generic_visit(node)

    def safe_loader(self, node: ast.expr, depth: int = 0) -> bool:
        name = self.resolve(node) or ""
        if name.rsplit(".", 1)[-1] in _SAFE_YAML_LOADERS or name in self.safe_classes:
            return True
        if isinstance(node, ast.Name) and node.id in self.bound and depth < 5:
            return all(self.safe_loader(value, depth + 1) for value in self.bound[node.id])
        return False

    def visit_Assign(self, node: ast.Assign) -> None:
        if self._opens_tar(node.value):
            self.tar_names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        if isinstance(node.value, (ast.Name, ast.Attribute)):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    self.bound.setdefault(target.id, []).append(node.value)
        value = self._value(node.value)
        dumps = isinstance(node.value, ast.Call) and _dumps_call(self, node.value)
        for target in node.targets:
            if isinstance(target, ast.Name):
                self._learn(target.id, value)
                self.dumped[-1][target.id] = self.dumped[-1].get(target.id, True) and dumps
        self.generic_visit(node)

    def visit_With(self, node: ast.With | ast.AsyncWith) -> None:
        for item in node.items:
            if self._opens_tar(item.context_expr) and isinstance(item.optional_vars, ast.Name):
                self.tar_names.add(item.optional_vars.id)
            if isinstance(item.optional_vars, ast.Name):
                self._learn(item.optional_vars.id, LOCAL if self._is_path(item.context_expr) else None)
        self.generic_visit(node)

    visit_AsyncWith = visit_With

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
    def add(self, rule: str, node: ast.AST, message: str, key: str, *, low: bool = False) -> None:
        self.result.issues.append(CodeIssue(rule, getattr(node, "lineno", 1), message, key, low))

    def visit_Call(self, node: ast.Call) -> None:
        name = self.resolve(node.func) or ""
        last = name.rsplit(".", 1)[-1]
        kwargs = {k.arg: k.value for k in node.keywords if k.arg}
        self._pending.append((node, name, last, kwargs))
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


_PLACEHOLDER_NAMESPACE = re.compile(
    r"<[^>]*>|\{[^}]*\}|your(?:[-_][\w-]*|name|user(?:name)?|org|account)?"
    r"|(?:my[-_]?)?(?:hf[-_]?)?(?:user(?:[-_]?name)?|account(?:[-_]?name)?|name[-_]?space|org(?:anization)?(?:[-_]?name)?)",
    re.IGNORECASE)


def placeholder_repo(repo: str) -> bool:
    """Whether a Hub id's namespace is a placeholder (`username/…`, `YOUR_ACCOUNT/…`, `<your-org>/…`)."""
    namespace, slash, _ = repo.partition("/")
    return bool(slash) and _PLACEHOLDER_NAMESPACE.fullmatch(namespace) is not None


def _check_hub(v: _Visitor, node: ast.Call, name: str, last: str, kwargs: dict[str, ast.expr]) -> None:
    spec = _HUB_FUNCTIONS.get(name)
    root = name.split(".", 1)[0]
    if spec is None and last in ("hf_hub_download", "snapshot_download", "load_dataset") and root not in _NOT_HUB_ROOTS:
        spec = ("repo_id" if last != "load_dataset" else "path", 0)
    if spec is None and last == "from_pretrained":
        # PeftModel.from_pretrained(base_model, model_id): the adapter's repository is the second argument.
        peft = re.search(r"(?:^|\.)Peft(?:Mixed)?Model\w*\.from_pretrained$", name)
        spec = ("model_id", 1) if peft else ("pretrained_model_name_or_path", 0)
    if spec is None:
        return
    repo_node = _arg(node, kwargs, spec[0], spec[1])
    if name == "transformers.pipeline" and repo_node is None:
        return  # a task-only pipeline downloads the library's default model: nothing in the code to pin
    repo = _hub_repo(v, repo_node, last)
    if repo == LOCAL or _const(kwargs.get("local_files_only")) is True:
        return  # a local directory or file, or the local cache only (local_files_only=True): no download
    revision_node = kwargs.get("revision", kwargs.get("commit_id"))
    revision = _resolved(v, revision_node)
    what = repr(repo) if repo is not None else "a repository named at run time"
    spread = any(k.arg is None for k in node.keywords)  # **kwargs may carry the revision
    if revision_node is None and not (spread and repo is None):
        # A repository named at run time (a parameter, a CLI argument, a test's parametrisation) is the caller's
        # choice, and may as well be a local folder: listed at low; a literal Hub id is the code's own choice.
        # (On huggingface/peft, 724 of 1,163 high MW701 were run-time names, mostly tests' model_id loops.)
        # A placeholder for the reader's own repository (`username/my_awesome_model`, `your-namespace/x`) in a
        # tutorial names nothing that exists: nothing to pin until the reader fills it in (low, listed).
        placeholder = repo is not None and placeholder_repo(repo)
        v.add(
            HUB_LOAD_UNPINNED,
            node,
            f"{last}({what}) without revision=: pin a 40-hex commit"
            + (" (a placeholder for your own repository)" if placeholder else ""),
            f"{last}:{repo}",
            low=repo is None or placeholder,
        )
    elif revision_node is not None and revision is None:
        if repo is not None:  # a run-time repository with a run-time revision is plumbing, not a choice
            v.add(
                HUB_LOAD_UNPINNED,
                node,
                f"{last}({what}) with a revision computed at run time: pin a literal 40-hex commit",
                f"{last}:{repo}",
            )
    elif revision is not None and not _COMMIT.match(revision):
        v.add(
            HUB_LOAD_UNPINNED,
            node,
            f"{last}({what}, revision={revision!r}): branches and tags move; pin a 40-hex commit",
            f"{last}:{repo}",
        )
    if repo is not None:
        v.result.hub_refs.append(HubReference(repo, revision, node.lineno))


def _resolved(v: _Visitor, node: ast.expr | None) -> str | None:
    """A string literal, or a name assigned one string (REVISION = "..."); None otherwise."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        value = v.env.get(node.id)
        return value if value != LOCAL else None
    return None


def _hub_repo(v: _Visitor, node: ast.expr | None, function: str) -> str | None:
    """The Hub repository id an argument names, LOCAL for a local path, or None when only known at run time."""
    if node is None:
        return None
    value = _resolved(v, node)
    if value is None:
        return LOCAL if v._is_path(node) else None
    if function in ("hf_hub_download", "snapshot_download") and _REPO_ID.match(value):
        return value  # these take Hub ids only, whatever folders exist
    if _local_string(value) or v.is_local_dir(value) or not _REPO_ID.match(value) or _FILE_SUFFIX.search(value):
        return LOCAL
    if "/" in value:
        first = value.split("/", 1)[0].lower()
        return LOCAL if first in _LOCAL_FIRST_PART or value.split("/", 1)[1].startswith("checkpoint-") else value
    # A bare name: hf_hub_download and snapshot_download only take Hub ids; SentenceTransformer prefixes
    # "sentence-transformers/"; load_dataset has canonical datasets (imdb, squad) besides its local builders;
    # for the rest only the legacy model ids are on the Hub, any other bare name is a folder.
    if function == "SentenceTransformer":
        return value
    if function == "load_dataset":
        return LOCAL if value.lower() in _PACKAGED_BUILDERS else value
    return value if _LEGACY_MODEL.match(value) else LOCAL


def _local_string(value: str) -> bool:
    return (
        value.startswith(("./", "../", "/", "~", ".\\", "..\\"))
        or "\\" in value
        or value in (".", "..")
        or value.count("/") > 1
        or bool(re.match(r"^[A-Za-z]:[\\/]", value))
    )


def _local_name(name: str) -> bool:
    """Names that hold folders by convention (tmpdirname, output_dir, save_path, cache_dir); not
    model_name_or_path or model_id, which may be Hub ids."""
    lowered = name.lower()
    if any(word in lowered for word in ("name_or_path", "model_name", "repo", "model_id", "hub")):
        return False
    return any(word in lowered for word in _LOCAL_WORDS) or lowered.endswith(("path", "_file"))


def _check_remote_code(v: _Visitor, node: ast.Call, name: str, last: str, kwargs: dict[str, ast.expr]) -> None:
    if _const(kwargs.get("trust_remote_code")) is True:
        v.add(
            TRUST_REMOTE_CODE,
            node,
            f"{last or 'call'}(trust_remote_code=True) imports and runs the repository's Python code",
            f"trc:{last}",
        )


def _check_torch_load(v: _Visitor, node: ast.Call, name: str, last: str, kwargs: dict[str, ast.expr]) -> None:
    if name != "torch.load":
        return
    weights_only = _const(kwargs.get("weights_only"))
    if "weights_only" in kwargs and weights_only is _NOT_CONSTANT:
        # weights_only=weights_only: a wrapper passing its caller's choice on (peft's torch_load defaults it to
        # True); the choice is made, and checked, where the wrapper is called
        v.add(
            TORCH_LOAD_UNSAFE,
            node,
            "torch.load with weights_only= computed at run time: make sure it is True",
            "torch.load",
            low=True,
        )
        return
    if weights_only is not True:
        state = "weights_only=False" if weights_only is False else "no weights_only=True"
        v.add(
            TORCH_LOAD_UNSAFE,
            node,
            f"torch.load with {state}: use torch.load(..., weights_only=True) or safetensors",
            "torch.load",
        )


def _check_pickle(v: _Visitor, node: ast.Call, name: str, last: str, kwargs: dict[str, ast.expr]) -> None:
    if name in _PICKLE_LOADERS and _round_trip(v, node):
        return  # pickle.loads(pickle.dumps(obj)): the bytes were made on the line itself (a copy or a test)
    if name in _PICKLE_LOADERS:
        v.add(
            PICKLE_LOAD,
            node,
            f"{name} runs code embedded in the data: prefer safetensors, skops or a data "
            "format; scan the file with `mlwarden models` first",
            name,
        )
    elif (
        name in ("numpy.load", "numpy.lib.npyio.load")
        and _const(kwargs.get("allow_pickle")) is not False
        and "allow_pickle" in kwargs
    ):
        v.add(
            PICKLE_LOAD, node, "numpy.load(allow_pickle=True) unpickles object arrays: store plain dtypes", "numpy.load"
        )


def _round_trip(v: _Visitor, node: ast.Call) -> bool:
    """loads() of the dumps() of the same call, or of a name only ever assigned a dumps() (`data =
    cloudpickle.dumps(obj)` then `pickle.loads(data)`): no outside data reaches the unpickler."""
    if not node.args:
        return False
    arg = node.args[0]
    if isinstance(arg, ast.Name):
        return v.dumped[-1].get(arg.id, False)
    return isinstance(arg, ast.Call) and _dumps_call(v, arg)


def _dumps_call(v: _Visitor, call: ast.Call) -> bool:
    inner = v.resolve(call.func) or ""
    return inner.rsplit(".", 1)[-1] in ("dumps", "_dumps", "encode") and inner.split(".", 1)[0] in (
        "pickle",
        "_pickle",
        "cPickle",
        "dill",
        "cloudpickle",
        "jsonpickle",
    )


def _check_keras(v: _Visitor, node: ast.Call, name: str, last: str, kwargs: dict[str, ast.expr]) -> None:
    if name not in _KERAS_LOADERS and not (last == "load_model" and "keras" in name):
        return
    if _const(kwargs.get("safe_mode")) is False:
        v.add(
            KERAS_UNSAFE_LOAD,
            node,
            f"{name}(safe_mode=False) runs Lambda layers' bytecode: keep safe_mode=True",
            f"{name}:safe_mode",
        )
    target = _const(_arg(node, kwargs, "filepath", 0))
    if isinstance(target, str) and target.lower().endswith((".h5", ".hdf5")):
        v.add(
            KERAS_UNSAFE_LOAD,
            node,
            f"{name}({target!r}): safe_mode does not apply to .h5 files (CVE-2025-9905); use the .keras format",
            f"{name}:h5",
        )


def _check_yaml(v: _Visitor, node: ast.Call, name: str, last: str, kwargs: dict[str, ast.expr]) -> None:
    if name == "yaml.unsafe_load" or name == "yaml.full_load":
        v.add(YAML_UNSAFE_LOAD, node, f"{name} constructs Python objects: use yaml.safe_load", name)
        return
    if name not in ("yaml.load", "yaml.load_all"):
        return
    loader = _arg(node, kwargs, "Loader", 1)
    if loader is None or not v.safe_loader(loader):
        v.add(YAML_UNSAFE_LOAD, node, f"{name} without Loader=yaml.SafeLoader: use yaml.safe_load", name)


def _check_tar(v: _Visitor, node: ast.Call, name: str, last: str, kwargs: dict[str, ast.expr]) -> None:
    if last not in ("extractall", "extract") or "filter" in kwargs or not isinstance(node.func, ast.Attribute):
        return
    receiver = node.func.value
    if (isinstance(receiver, ast.Name) and receiver.id in v.tar_names) or v._opens_tar(receiver):
        v.add(TAR_EXTRACTALL, node, 'extractall() without filter=: use extractall(path, filter="data")', "extractall")


def _check_custom_ops(v: _Visitor, node: ast.Call, name: str, last: str, kwargs: dict[str, ast.expr]) -> None:
    if name in _CUSTOM_OPS or last == "register_custom_ops_library":
        v.add(CUSTOM_OP_LIBRARY, node, f"{name or last} loads native code", name or last)


_CHECKS: list[Callable[[_Visitor, ast.Call, str, str, dict[str, ast.expr]], None]] = [
    _check_remote_code,
    _check_torch_load,
    _check_pickle,
    _check_keras,
    _check_yaml,
    _check_tar,
    _check_custom_ops,
]


def check_source(
    source: str,
    aliases: dict[str, str] | None = None,
    *,
    env: dict[str, str | None] | None = None,
    is_local_dir: Callable[[str], bool] | None = None,
) -> CheckResult:
    """Check one module (or one notebook cell, sharing ``aliases`` and ``env`` with the cells before it).

    Statements the running Python cannot parse are skipped and listed in ``skipped``; raises SyntaxError (with
    its line) only when nothing parses. ``is_local_dir`` says whether a bare name is an existing folder.
    """
    parsed = parse(source)
    visitor = _Visitor(aliases if aliases is not None else {}, env if env is not None else {}, is_local_dir)
    visitor.visit(parsed.tree)
    result = visitor.finish()
    result.skipped = parsed.skipped
    return result
