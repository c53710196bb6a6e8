"""Detection on the peers' labelled test files, and false alarms on real files shipped inside popular wheels.

Nothing is ever loaded: each file goes through mlwarden's scanner (scan_model_file) in this process.

    # the peers' committed samples: clone them side by side (the labels name the commits they were made on)
    git clone https://github.com/mmaitre314/picklescan  CORPUS/picklescan
    git clone https://github.com/promptfoo/modelaudit    CORPUS/modelaudit
    git clone https://github.com/protectai/modelscan     CORPUS/modelscan
    python benchmarks/model_corpus.py generate CORPUS   # what the peers' tests build in code (see generate())
    python benchmarks/model_corpus.py corpus CORPUS

    # benign model-like files inside wheels (downloaded, never installed)
    pip download --no-deps --only-binary=:all: -d WHEELS joblib numpy scipy scikit-learn onnx h5py
    python benchmarks/model_corpus.py wheels WHEELS

The peers' malicious samples are not part of this repository: they may hold working payloads.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
import tempfile
import time
import zipfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from mlwarden.findings import Finding, Severity  # noqa: E402
from mlwarden.models.scanner import is_model_candidate, scan_model_file  # noqa: E402

LABELS = ROOT / "benchmarks" / "model_corpus_labels.json"
_FORMATS = {".pkl": "pickle", ".pickle": "pickle", ".joblib": "joblib", ".pt": "torch", ".pth": "torch",
            ".bin": "torch", ".zip": "zip", ".7z": "7z", ".npy": "numpy", ".npz": "numpy", ".h5": "keras-h5",
            ".hdf5": "keras-h5", ".keras": "keras", ".safetensors": "safetensors", ".pb": "tf-savedmodel",
            ".onnx": "onnx", ".skops": "skops", ".gguf": "gguf", ".mar": "torchserve", ".distcp": "torch-distcp",
            ".json": "chat-template", ".yaml": "chat-template", ".yml": "chat-template",
            ".jinja": "chat-template", ".j2": "chat-template", ".template": "chat-template",
            ".gz": "compressed", ".gzip": "compressed", ".bz2": "compressed", ".xz": "compressed",
            ".lzma": "compressed", ".z": "compressed"}
# What a wheel ships that a loader could read as a model (test data of joblib, numpy, scipy, sklearn, onnx, h5py).
_WHEEL_SUFFIXES = {".pkl", ".pickle", ".joblib", ".npy", ".npz", ".pt", ".pth", ".onnx", ".h5", ".hdf5",
                   ".keras", ".pb", ".safetensors", ".skops", ".gguf", ".gz", ".gzip", ".bz2", ".xz", ".lzma",
                   ".z", ".zip", ".7z", ".bin", ".mar", ".distcp"}


def format_of(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    for suffix in reversed(suffixes):
        if suffix in _FORMATS and _FORMATS[suffix] != "compressed":
            return _FORMATS[suffix]
    return _FORMATS.get(suffixes[-1], "other") if suffixes else "other"


def worst(findings: list[Finding]) -> Severity | None:
    return max((f.severity for f in findings), default=None)


def scan(path: Path, display: str) -> tuple[Severity | None, list[Finding], str | None]:
    result, _ = scan_model_file(path, display)
    error = result.error.message if result.error else None
    return worst(result.findings), result.findings, error


def label_of(rel: str, rules: list[dict[str, str]]) -> dict[str, str] | None:
    for rule in rules:
        if fnmatch.fnmatchcase(rel, rule["glob"]) and rel.count("/") == rule["glob"].count("/"):
            return rule
    return None


def corpus(folder: Path) -> int:
    spec = json.loads(LABELS.read_text())
    rules: list[dict[str, str]] = spec["rules"]
    per_format: dict[str, Counter[str]] = defaultdict(Counter)
    misses: list[str] = []
    benign_high: list[str] = []
    unlabelled: list[str] = []
    inert: list[str] = []
    started = time.perf_counter()
    files = [p for p in sorted(folder.rglob("*")) if p.is_file() and ".git" not in p.parts]
    for path in files:
        rel = path.relative_to(folder).as_posix()
        rule = label_of(rel, rules)
        if rule is None:
            if any(rel.startswith(f"{name}/{sub}/") for name, src in spec["sources"].items()
                   for sub in src["folders"]) and path.suffix not in (".py", ".md", ".txt", ".csv"):
                unlabelled.append(rel)
            continue
        label, fmt = rule["label"], format_of(path)
        if label == "skip":
            continue
        sev, findings, error = scan(path, rel)
        high = sev is not None and sev >= Severity.HIGH
        counts = per_format[fmt]
        counts[label] += 1
        counts[f"{label}-high"] += int(high or error is not None)
        shown = "; ".join(f"{f.rule} {f.severity.label}: {f.message[:90]}" for f in findings[:2]) or "no finding"
        if label == "malicious" and not high and error is None:
            misses.append(f"{rel} [{fmt}] -> {shown}")
        elif label == "benign" and (high or error is not None):
            benign_high.append(f"{rel} [{fmt}] -> {error or shown}")
        elif label == "inert":
            inert.append(f"{rel} [{fmt}] -> {sev.label if sev else 'clean'}")
    elapsed = time.perf_counter() - started
    lines = ["| format | malicious flagged high+ | benign with high+ | unverifiable flagged | inert flagged |",
             "| --- | ---: | ---: | ---: | ---: |"]
    total: Counter[str] = Counter()
    for fmt in sorted(per_format):
        c = per_format[fmt]
        total.update(c)
        lines.append(_row(fmt, c))
    lines.append(_row("**all**", total))
    print("\n".join(lines))
    print(f"\n{sum(total[k] for k in ('malicious', 'benign', 'unverifiable', 'inert'))} labelled files "
          f"in {elapsed:.1f} s")
    for title, items in (("Malicious files missed (nothing at high or above)", misses),
                         ("Benign files flagged high or above", benign_high),
                         ("Inert payloads (stored as data; loading runs nothing)", inert),
                         ("Unlabelled files (not counted)", unlabelled)):
        if items:
            print(f"\n{title}: {len(items)}")
            print("\n".join(f"  {item}" for item in items))
    return 0


def _row(fmt: str, c: Counter[str]) -> str:
    def ratio(kind: str) -> str:
        n = c[kind]
        return f"{c[kind + '-high']}/{n} ({100 * c[kind + '-high'] / n:.0f}%)" if n else "-"

    return f"| {fmt} | {ratio('malicious')} | {ratio('benign')} | {ratio('unverifiable')} | {ratio('inert')} |"


def wheels(folder: Path) -> int:
    """Every model-like file inside the wheels of ``folder``: how many get any finding, and which."""
    started = time.perf_counter()
    by_wheel: dict[str, Counter[str]] = defaultdict(Counter)
    flagged: list[str] = []
    with tempfile.TemporaryDirectory(prefix="mlwarden-wheels-") as tmp:
        for wheel in sorted(folder.glob("*.whl")):
            name = wheel.name.split("-")[0]
            target = Path(tmp) / wheel.stem
            with zipfile.ZipFile(wheel) as z:
                members = [m for m in z.namelist() if Path(m).suffix.lower() in _WHEEL_SUFFIXES]
                for member in members:
                    z.extract(member, target)  # zipfile strips '..' and absolute parts from member names
            for path in sorted(p for p in target.rglob("*") if p.is_file()):
                if not is_model_candidate(path):
                    by_wheel[name]["not a model"] += 1
                    continue
                rel = path.relative_to(target).as_posix()
                sev, findings, error = scan(path, rel)
                by_wheel[name]["files"] += 1
                if findings or error:
                    by_wheel[name]["any"] += 1
                    by_wheel[name]["high"] += int((sev is not None and sev >= Severity.HIGH) or error is not None)
                    shown = error or "; ".join(f"{f.rule} {f.severity.label}: {f.message[:100]}"
                                               for f in findings[:2])
                    flagged.append(f"{name}: {rel} -> {shown}")
    lines = ["| wheel | model-like files scanned | with any finding | with high+ |", "| --- | ---: | ---: | ---: |"]
    total: Counter[str] = Counter()
    for name in sorted(by_wheel):
        c = by_wheel[name]
        total.update(c)
        lines.append(f"| {name} | {c['files']} | {c['any']} | {c['high']} |")
    pct = 100 * total["any"] / total["files"] if total["files"] else 0.0
    lines.append(f"| **all** | {total['files']} | {total['any']} ({pct:.1f}%) | {total['high']} |")
    print("\n".join(lines))
    print(f"\n{total['not a model']} files with a model-like extension were not recognised as models; "
          f"{time.perf_counter() - started:.1f} s")
    if flagged:
        print(f"\nFiles with findings: {len(flagged)}")
        print("\n".join(f"  {item}" for item in flagged))
    return 0


def generate(folder: Path) -> int:
    """Write, under CORPUS/generated/{malicious,benign}/, the samples the peers' tests build in code for the
    formats read by models/readers (ModelAudit's test_onnx_scanner, test_tf_savedmodel_scanner,
    test_torchserve_mar_scanner, test_jinja2_template_scanner; picklescan/modelscan build pickles that their
    committed data already holds). Payloads are inert: a pickle that would run ``echo``, never unpickled here."""
    import io
    import struct

    out = folder / "generated"
    mal, ben = out / "malicious", out / "benign"
    for d in (mal, ben):
        d.mkdir(parents=True, exist_ok=True)
    echo = b"\x80\x02cposix\nsystem\nX\x14\x00\x00\x00echo mlwarden-corpus\x85R."

    def zip_bytes(members: dict[str, bytes]) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            for name, data in members.items():
                z.writestr(name, data)
        return buf.getvalue()

    # TorchServe .mar (torch-model-archiver layout)
    def mar(model: dict[str, str], files: dict[str, bytes]) -> bytes:
        manifest = {"runtime": "python", "model": model, "archiverVersion": "0.12.0"}
        return zip_bytes({"MAR-INF/MANIFEST.json": json.dumps(manifest).encode(), **files})

    safe_pickle = b"\x80\x04}\x94\x8c\x01w\x94K\x01s."
    (ben / "builtin_handler.mar").write_bytes(mar({"modelName": "m", "serializedFile": "model.pt",
                                                   "handler": "image_classifier"}, {"model.pt": safe_pickle}))
    (mal / "pickle_payload.mar").write_bytes(mar({"modelName": "m", "serializedFile": "model.pt",
                                                  "handler": "image_classifier"}, {"model.pt": echo}))
    (mal / "traversal.mar").write_bytes(mar({"modelName": "m", "handler": "image_classifier"},
                                            {"../../evil.py": b"x = 1\n"}))
    (mal / "nested_zip.mar").write_bytes(mar({"modelName": "m", "handler": "image_classifier"},
                                             {"extra.zip": zip_bytes({"inner.pkl": echo})}))
    (mal / "handler_code.mar").write_bytes(mar({"modelName": "m", "handler": "handler.py"},
                                               {"handler.py": b"import os\nos.system('echo x')\n"}))

    # TF SavedModel: ReadFile / WriteFile / PyFunc nodes and a plain graph (GraphDef inside MetaGraphDef)
    def pb_field(number: int, data: bytes) -> bytes:
        return _varint((number << 3) | 2) + _varint(len(data)) + data

    def saved_model(ops: list[str]) -> bytes:
        nodes = b"".join(pb_field(1, pb_field(1, f"n{i}".encode()) + pb_field(2, op.encode()))
                         for i, op in enumerate(ops))
        return _varint(8) + _varint(1) + pb_field(2, pb_field(2, nodes))

    for op in ("ReadFile", "WriteFile", "PyFunc", "EagerPyFunc", "MatchingFiles"):
        (mal / f"tf_{op}").mkdir(exist_ok=True)
        (mal / f"tf_{op}" / "saved_model.pb").write_bytes(saved_model(["Placeholder", op]))
    (ben / "tf_plain").mkdir(exist_ok=True)
    (ben / "tf_plain" / "saved_model.pb").write_bytes(saved_model(["Placeholder", "MatMul", "Relu", "SaveV2"]))

    # ONNX, with the onnx package when installed
    try:
        import onnx
        from onnx import TensorProto, helper
    except ImportError:
        print("onnx not installed: ONNX samples skipped", file=sys.stderr)
    else:
        def onnx_model(node: Any, location: str | None = None) -> bytes:
            x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1])
            y = helper.make_tensor_value_info("output", TensorProto.FLOAT, [1])
            tensor = helper.make_tensor("W", TensorProto.FLOAT, [1], vals=[1.0])
            if location is not None:
                tensor.ClearField("float_data")
                tensor.data_location = TensorProto.EXTERNAL
                entry = tensor.external_data.add()
                entry.key, entry.value = "location", location
            graph = helper.make_graph([node], "graph", [x], [y], initializer=[tensor])
            return bytes(helper.make_model(graph).SerializeToString())

        relu = helper.make_node("Relu", ["input"], ["output"])
        (ben / "relu.onnx").write_bytes(onnx_model(relu))
        (ben / "external_ok.onnx").write_bytes(onnx_model(relu, "weights.bin"))
        (ben / "weights.bin").write_bytes(struct.pack("f", 1.0))
        (ben / "external_normalised.onnx").write_bytes(onnx_model(relu, "subdir/../weights.bin"))
        (mal / "custom_op.onnx").write_bytes(onnx_model(helper.make_node("CustomOp", ["input"], ["output"],
                                                                         domain="com.test")))
        (mal / "python_op.onnx").write_bytes(onnx_model(helper.make_node("PythonOp", ["input"], ["output"])))
        for i, location in enumerate(("../../../tmp/overwrite_target", "subdir/../../overwrite_target",
                                      "/etc/passwd")):
            (mal / f"external_traversal_{i}.onnx").write_bytes(onnx_model(relu, location))
        del onnx

    # Chat templates the peers' Jinja tests build inline
    templates = {
        "ssti_globals": "{{ self.__init__.__globals__.__builtins__.__import__('os').popen('id').read() }}",
        "ssti_subclasses": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "ssti_attr": "{{ ()|attr('__class__')|attr('__base__') }}",
        "ssti_cycler": "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    }
    for name, template in templates.items():
        (mal / f"{name}_tokenizer_config.json").write_text(json.dumps({"chat_template": template}))
    (ben / "chatml_tokenizer_config.json").write_text(json.dumps({"chat_template": (
        "{% for m in messages %}{{'<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n'}}"
        "{% endfor %}")}))
    _fickling_bypasses(folder, out)
    count = sum(1 for p in out.rglob("*") if p.is_file())
    print(f"{count} files written under {out}")
    return 0


def _fickling_bypasses(folder: Path, out: Path) -> None:
    """fickling's test/test_bypasses.py builds each bypass as ``Pickled([op.X(...), ...])``. Its syntax tree is
    read (never run): calls of fickling opcode classes with literal arguments are rebuilt with fickling and
    written out; a test asserting a severity above LIKELY_SAFE labels its pickles malicious."""
    import ast

    source = folder / "fickling" / "test" / "test_bypasses.py"
    if not source.is_file():
        print(f"no {source}: fickling's bypass pickles skipped", file=sys.stderr)
        return
    import fickling.fickle as op

    tree = ast.parse(source.read_text())
    written = skipped = 0
    for func in ast.walk(tree):
        if not isinstance(func, ast.FunctionDef) or not func.name.startswith("test_"):
            continue
        text = ast.unparse(func)
        if "assertGreater" not in text:
            continue  # only the tests that assert an alarm label a pickle malicious
        for n, call in enumerate(c for c in ast.walk(func) if isinstance(c, ast.Call)
                                 and isinstance(c.func, ast.Name) and c.func.id == "Pickled"):
            ops = _literal_ops(call, op)
            if ops is None:
                continue
            try:
                data = op.Pickled(ops).dumps()
            except (NotImplementedError, ValueError, TypeError, AttributeError):
                skipped += 1  # an opcode the installed fickling cannot encode
                continue
            (out / "malicious" / f"fickling_{func.name}_{n}.pkl").write_bytes(data)
            written += 1
    print(f"{written} pickles rebuilt from fickling's bypass tests ({skipped} not encodable)", file=sys.stderr)


def _literal_ops(call: Any, op: Any) -> list[Any] | None:
    """``[op.Name(literal, ...), op.Name.create(literal)]`` as fickling opcodes; None if anything else."""
    import ast

    if len(call.args) != 1 or not isinstance(call.args[0], ast.List):
        return None
    built: list[Any] = []
    for item in call.args[0].elts:
        if not isinstance(item, ast.Call):
            return None
        target, method = item.func, None
        if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Attribute):
            target, method = target.value, target.attr  # op.Proto.create(4)
        if not (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "op"):
            return None
        cls: Any = getattr(op, target.attr, None)
        if not isinstance(cls, type) or method not in (None, "create"):
            return None
        try:
            args = [ast.literal_eval(a) for a in item.args]
        except ValueError:
            return None  # built from code (marshal.dumps(...), a loop variable): not rebuilt
        factory: Any = getattr(cls, "create") if method else cls  # noqa: B009 - Any-typed on purpose
        built.append(factory(*args))
    return built


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("corpus", help="the peers' labelled samples").add_argument("folder", type=Path)
    sub.add_parser("wheels", help="benign files inside downloaded wheels").add_argument("folder", type=Path)
    sub.add_parser("generate", help="write the samples the peers' tests build in code").add_argument(
        "folder", type=Path)
    args = parser.parse_args()
    if not args.folder.is_dir():
        print(f"no folder {args.folder}", file=sys.stderr)
        return 2
    command = {"corpus": corpus, "wheels": wheels, "generate": generate}[args.command]
    return command(args.folder)


if __name__ == "__main__":
    sys.exit(main())
