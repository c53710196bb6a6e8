"""Detection on the peers' labelled test files, and false alarms on real files shipped inside popular wheels.

Nothing is ever loaded: each file goes through mlwarden's scanner (scan_model_file) in this process.

    # the peers' committed samples: clone them side by side (the labels name the commits they were made on)
    git clone https://github.com/mmaitre314/picklescan  CORPUS/picklescan
    git clone https://github.com/promptfoo/modelaudit    CORPUS/modelaudit
    git clone https://github.com/protectai/modelscan     CORPUS/modelscan
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("corpus", help="the peers' labelled samples").add_argument("folder", type=Path)
    sub.add_parser("wheels", help="benign files inside downloaded wheels").add_argument("folder", type=Path)
    args = parser.parse_args()
    if not args.folder.is_dir():
        print(f"no folder {args.folder}", file=sys.stderr)
        return 2
    return corpus(args.folder) if args.command == "corpus" else wheels(args.folder)


if __name__ == "__main__":
    sys.exit(main())
