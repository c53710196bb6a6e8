"""What the fuzzers run: one target per reader, shared by the property tests (tests/fuzz/test_readers.py), the
corpus replay (tests/fuzz/test_corpus.py) and the long run (scripts/fuzz.py).

A target takes a fresh folder, a file name and the (mutated) bytes of that file, runs the reader, and raises
AssertionError when a property does not hold. Any exception other than an MlwardenError escaping a reader is a
bug; so is a run over its time limit, a changed input file, an exit code outside {0, 1, 2}, an "internal
error" line, or a planted credential in any output.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlwarden.config import Budgets
from mlwarden.errors import MlwardenError
from mlwarden.policy.model import Policy
from tests.conftest import chdir
from tests.fuzz import seeds
from tests.fuzz.mutate import SECRET, time_limit, tree_digest
from tests.payloads import os_system

BUDGETS = Budgets(max_seconds_per_file=5.0, max_decompressed_bytes=16 << 20)
TIME_LIMIT = 20.0  # the "no hang over 20 s"


@dataclass(frozen=True)
class Target:
    name: str
    area: str  # tests/corpus/<area>/ and the owner of the code under test
    seeds: Callable[[], dict[str, bytes]]
    run: Callable[[Path, str, bytes], None]
    structured: dict[str, str] = field(default_factory=dict)  # file name -> json/toml/yaml


def signature(exc: BaseException) -> str:
    """What makes two failures the same bug: the exception type and the innermost mlwarden function (not its
    line, so an unrelated edit to the file keeps the signature), or the broken property."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/mlwarden/" in f.filename]
    where = f"{Path(frames[-1].filename).parent.name}.{Path(frames[-1].filename).stem}.{frames[-1].name}" \
        if frames else "tests"
    if isinstance(exc, AssertionError):  # a broken property: its message says which
        where = "_".join(str(exc).split(":")[0].split()[:10])
    # '-' for everything else: no '_' so that '__' can separate the parts of a corpus file name
    return re.sub(r"[^A-Za-z0-9+.]+", "-", f"{type(exc).__name__}+{where}").strip("-")


def no_secret(*texts: object, where: str = "the output") -> None:
    """``where`` names what leaked (it becomes part of the failure's signature)."""
    for text in texts:
        at = str(text).find(SECRET)
        if at >= 0:
            raise AssertionError(f"a planted credential reached {where}: {str(text)[max(0, at - 150):at + 50]!r}")


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _unchanged(path: Path, data: bytes) -> None:
    if path.read_bytes() != data:
        raise AssertionError(f"{path.name} was changed by a reader")


# --- dependency files --------------------------------------------------------------------------------------------
def _dep_seeds() -> dict[str, bytes]:
    return {name: text.encode() for name, text in seeds.dependency_seeds().items()}


def _deps(folder: Path, name: str, data: bytes, *, secrets: bool) -> None:
    from mlwarden.deps.formats import parse_file
    from mlwarden.deps.run import check_dependencies

    path = _write(folder, name, data)
    (folder / "base.txt").write_text("pandas==2.2.0\n-r requirements.txt\n")  # an include cycle
    with time_limit(TIME_LIMIT):
        try:
            manifests = parse_file(path, folder)
            report = check_dependencies(manifests, Policy())
        except MlwardenError as exc:
            if secrets:
                no_secret(exc)
            return
    _unchanged(path, data)
    if secrets:
        for manifest in manifests:
            no_secret(*(p.message for p in manifest.problems), where="a problem message")
            no_secret(*(repr(pin) for pin in manifest.pins), where="the pins (SBOM purls)")
        no_secret(*(f.message for f in report.findings), *(f.evidence for f in report.findings), where="a finding")


DEPS_STRUCTURED = {"pyproject.toml": "toml", "real/pyproject.toml": "toml", "uv.lock": "toml",
                   "poetry.lock": "toml", "pylock.toml": "toml", "Pipfile.lock": "json", "environment.yml": "yaml",
                   "environment-real.yml": "yaml"}
DEPS = Target("deps", "deps", _dep_seeds, lambda f, n, d: _deps(f, n, d, secrets=False), DEPS_STRUCTURED)
DEPS_REDACTION = Target("deps-redaction", "deps", _dep_seeds, lambda f, n, d: _deps(f, n, d, secrets=True),
                        DEPS_STRUCTURED)


# --- notebooks ---------------------------------------------------------------------------------------------------
def _notebook_seeds() -> dict[str, bytes]:
    return {"train.ipynb": json.dumps(seeds.NOTEBOOK, indent=1).encode()}


def _code_notebook(folder: Path, name: str, data: bytes) -> None:
    from mlwarden.code.scanner import check_code_file

    path = _write(folder, name, data)
    with time_limit(TIME_LIMIT):
        findings, _ = check_code_file(path, name, Policy())
    _unchanged(path, data)
    no_secret(*(f.message for f in findings), *(f.evidence for f in findings))


def _leaks_notebook(folder: Path, name: str, data: bytes) -> None:
    from mlwarden.leaks import workers

    path = _write(folder, name, data)
    with time_limit(TIME_LIMIT):
        workers.start(folder, Policy(), {})
        try:
            findings, _, _ = workers.scan_one((str(path), name))
        finally:
            workers.stop()
    _unchanged(path, data)
    no_secret(*(f.message for f in findings), *(f.evidence for f in findings))


NOTEBOOK_CODE = Target("notebook-code", "code", _notebook_seeds, _code_notebook, {"train.ipynb": "json"})
NOTEBOOK_LEAKS = Target("notebook-leaks", "leaks", _notebook_seeds, _leaks_notebook, {"train.ipynb": "json"})


# --- policy files --------------------------------------------------------------------------------------------------
def _policy(folder: Path, name: str, data: bytes) -> None:
    from mlwarden.policy import load_policy

    path = _write(folder, f"allowlists/{name}", data)
    with time_limit(TIME_LIMIT):
        try:
            policy = load_policy(folder)
        except MlwardenError:
            return
        policy.waiver_for("MW102", "models/a.pkl")
        policy.extra_safe_globals()
        for entry in policy.entries:
            policy.status(entry)
    _unchanged(path, data)


def _policy_shown(folder: Path, name: str, data: bytes) -> None:
    """`allowlist show` and `allowlist check` never print the index password the policy holds."""
    _write(folder, f"allowlists/{name}", data)
    for args in (["allowlist", "show"], ["allowlist", "check"], ["allowlist", "list"]):
        _code, out, err = run_cli(folder, args)
        no_secret(out, err)


POLICY = Target("policy", "policy", lambda: {"policy.toml": seeds.POLICY.encode()}, _policy,
                {"policy.toml": "toml"})
POLICY_REDACTION = Target("policy-redaction", "policy", lambda: {"policy.toml": seeds.POLICY.encode()},
                          _policy_shown, {"policy.toml": "toml"})


# --- OSV records ---------------------------------------------------------------------------------------------------
def _osv(folder: Path, name: str, data: bytes) -> None:
    from mlwarden.deps.osv import OsvDatabase

    db = folder / "db"
    db.mkdir(exist_ok=True)
    for other, raw in seeds.osv_seeds().items():
        (db / other).write_bytes(raw)
    path = _write(db, "mutated-" + name, data)
    with time_limit(TIME_LIMIT):
        try:
            database = OsvDatabase.load(db, cache_dir=folder / "cache")
        except MlwardenError:
            return
        for package in list(database.packages):
            for version in ("0", "1.0", "2.31.0", "not a version"):
                database.matches(package, version)
    _unchanged(path, data)
    if database.stats.records < 1:
        raise AssertionError("one bad OSV record hid every other record")


OSV = Target("osv", "deps", seeds.osv_seeds, _osv,
             {name: ("json" if name.endswith(".json") else "yaml") for name in seeds.osv_seeds()})


# --- CycloneDX input of `sbom diff` --------------------------------------------------------------------------------
def _sbom_diff(folder: Path, name: str, data: bytes) -> None:
    old = _write(folder, "old.cdx.json", json.dumps(seeds.CYCLONEDX).encode())
    new = _write(folder, name, data)
    for fmt in ("text", "json", "markdown"):
        for pair in ((old, new), (new, old)):
            run_cli(folder, ["sbom", "diff", str(pair[0]), str(pair[1]), "--format", fmt])
    _unchanged(new, data)


SBOM_DIFF = Target("sbom-diff", "sbom", lambda: {"new.cdx.json": json.dumps(seeds.CYCLONEDX).encode()}, _sbom_diff,
                   {"new.cdx.json": "json"})


# --- model files ---------------------------------------------------------------------------------------------------
def _model(folder: Path, name: str, data: bytes) -> None:
    from mlwarden.models.scanner import scan_model_file

    path = _write(folder, name, data)
    with time_limit(TIME_LIMIT):
        scan_model_file(path, name, budgets=BUDGETS)
    _unchanged(path, data)


MODELS = Target("models", "models", seeds.model_seeds, _model)


# --- the CLI over a whole tree ---------------------------------------------------------------------------------
def run_cli(folder: Path, args: list[str]) -> tuple[int, str, str]:
    """``mlwarden ARGS`` in-process in ``folder``; checks the exit code, the absence of internal errors and of
    the planted credential; returns (code, stdout, stderr)."""
    from mlwarden.cli import main

    out, err = io.StringIO(), io.StringIO()
    # --debug: an internal error propagates with its traceback (it would be "internal error", exit 2, otherwise)
    with chdir(folder), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), time_limit(TIME_LIMIT):
        code = main(["--debug", *args])
    if code not in (0, 1, 2):
        raise AssertionError(f"exit code {code} from mlwarden {args[0]}")
    if "internal error" in err.getvalue():
        raise AssertionError(f"internal error from mlwarden {args[0]}: {err.getvalue().strip()[-300:]}")
    return code, out.getvalue(), err.getvalue()


def _tree_seeds() -> dict[str, bytes]:
    out = {name: text.encode() for name, text in seeds.dependency_seeds().items() if "/" not in name}
    out["train.ipynb"] = json.dumps(seeds.NOTEBOOK, indent=1).encode()
    out["allowlists/policy.toml"] = seeds.POLICY.encode()
    out["models/p.pkl"] = seeds.model_seeds()["p.pkl"]
    out["models/w.safetensors"] = seeds.model_seeds()["w.safetensors"]
    out["src/app.py"] = b"import torch\nmodel = torch.load('m.pt')\nURL = 'https://x.example/?token=abc'\n"
    out["models/evil.pkl"] = EVIL_PICKLE
    return out


# A pickle that would run a command: whatever else is malformed in the tree, scan must still report it.
EVIL_PICKLE = os_system(Path("/nonexistent/mlwarden-fuzz-marker"))


def _cli(folder: Path, name: str, data: bytes) -> None:
    """The whole tree with one mutated file through every command and every output format."""
    tree = folder / "repo"
    for rel, raw in _tree_seeds().items():
        _write(tree, rel, raw)
    _write(tree, name, data)
    (tree / ".gitignore").write_text("out/\n")
    before = tree_digest(tree)
    outputs: list[str] = []
    for fmt in ("json", "sarif", "text"):
        _code, out, err = run_cli(tree, ["scan", ".", "--format", fmt, "-o", f"out/scan.{fmt}"])
        outputs += [out, err, (tree / "out" / f"scan.{fmt}").read_text(encoding="utf-8", errors="replace")
                    if (tree / "out" / f"scan.{fmt}").exists() else ""]
    for args in (["deps", "--format", "json"], ["code", "--format", "sarif"], ["sbom", "generate", "-o", "out/b.json"]):
        _code, out, err = run_cli(tree, args)
        outputs += [out, err]
    if (tree / "out" / "b.json").exists():
        outputs.append((tree / "out" / "b.json").read_text(encoding="utf-8", errors="replace"))
    after = tree_digest(tree)
    changed = sorted(k for k in before if before[k] != after.get(k))
    if changed:
        raise AssertionError(f"input files changed: {changed}")
    if name != "models/evil.pkl":
        if not outputs[2]:
            raise AssertionError("scan wrote no report: one bad file hid every other finding")
        report = json.loads(outputs[2])
        if not any(r.get("path") == "models/evil.pkl" for r in report.get("results", [])):
            raise AssertionError("one bad file hid another file's finding (models/evil.pkl)")
    no_secret(*outputs)


CLI = Target("cli", "cli", _tree_seeds, _cli, {"pyproject.toml": "toml", "uv.lock": "toml", "Pipfile.lock": "json",
                                              "environment.yml": "yaml", "train.ipynb": "json",
                                              "allowlists/policy.toml": "toml"})

# --- a whole hostile tree (scripts/hostile_campaign.py) -------------------------------------------------------
def build_tree(root: Path, spec: dict[str, Any]) -> None:
    """A tree from a spec: "files" (path -> text), "binary" (path -> base64), "links" (path -> link target, may
    loop or leave the tree), "outside" (path beside the tree -> text), "fifos" (paths), "dirs" (paths). What a
    campaign failure needs; a FIFO or a link loop can be committed this way (as a spec, not as the file)."""
    import base64

    for rel in spec.get("dirs", []):
        (root / rel).mkdir(parents=True, exist_ok=True)
    for rel, text in spec.get("outside", {}).items():  # beside the tree, for links that lead out of it
        _write(root.parent, rel, text.encode())
    for rel, text in spec.get("files", {}).items():
        _write(root, rel, text.encode("utf-8", "surrogateescape"))
    for rel, raw in spec.get("binary", {}).items():
        _write(root, rel, base64.b64decode(raw))
    for rel, target in spec.get("links", {}).items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).symlink_to(target)
    for rel in spec.get("fifos", []):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(root / rel)


def _tree(folder: Path, name: str, data: bytes) -> None:
    """``data`` is a tree spec (build_tree) with "run": the argument lists to run in it. Every run keeps the
    properties of run_cli; no input (outside out/ and the "edits" files) changes; no planted credential reaches
    stdout, stderr or a file written under out/; no raw escape, carriage return or RTL override is printed;
    stdout names "must_report" (when given)."""
    spec = json.loads(data)
    root = folder / "repo"
    (root / "out").mkdir(parents=True)
    build_tree(root, spec)
    skip = {"out", *spec.get("edits", [])}
    before = {k: v for k, v in tree_digest(root).items() if not any(k == s or k.startswith(s + "/") for s in skip)}
    for args in spec["run"]:
        start = time.monotonic()
        _code, out, err = run_cli(root, args)
        if time.monotonic() - start > TIME_LIMIT - 1:  # the alarm fired inside code that swallowed it
            raise AssertionError(f"a hang: mlwarden {args[0]} ran {TIME_LIMIT} s")
        written = [p.read_text(encoding="utf-8", errors="replace") for p in sorted((root / "out").rglob("*"))
                   if p.is_file() and not p.is_symlink()]
        no_secret(out, err, *written, where=f"the output of {args[0]}")
        if any(c in out + err for c in ("\x1b", "\u202e", "\r")):  # escaped, never obeyed by a terminal
            raise AssertionError(f"a raw control character in the output of {args[0]}")
        if spec.get("must_report", "") not in out:  # the finding one bad file must not hide
            raise AssertionError(f"one bad file hid another file's finding ({spec['must_report']}) in {args[0]}")
    after = tree_digest(root)
    changed = sorted(k for k in before if before[k] != after.get(k))
    if changed:
        raise AssertionError(f"input files changed: {changed}")


TREE = Target("tree", "cli", lambda: {}, _tree)

TARGETS = {t.name: t for t in (DEPS, DEPS_REDACTION, NOTEBOOK_CODE, NOTEBOOK_LEAKS, POLICY, POLICY_REDACTION, OSV,
                               SBOM_DIFF, MODELS, CLI, TREE)}


def load_structured(text: bytes, kind: str) -> Any:
    from mlwarden import _toml

    if kind == "json":
        return json.loads(text)
    if kind == "toml":
        return _toml.loads(text.decode())
    import yaml

    return yaml.safe_load(text)


# Failures found by the fuzzers in modules this suite does not own, each with a reproducer in tests/corpus/ that
# test_corpus.py expects to fail (strict xfail). target -> signature -> owner and what is wrong. Remove an entry
# when its reproducer starts passing.
KNOWN_BUGS: dict[str, dict[str, str]] = {
    # Fixed on main since they were filed (reproducers kept as regression tests): every deps, osv, sbom-diff,
    # cli and earlier notebook-code entry, the first deps credential leaks, and the leak scan's notebook
    # cells and outputs of the wrong type.
}
