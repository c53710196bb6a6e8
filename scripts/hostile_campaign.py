"""A held-out hostile-input campaign over every command (issue #15): the CLI as a user runs it, in a subprocess,
under a 2 GiB address-space limit and a 20 s timeout, on trees built from the fuzz seeds (real files from
tests/fuzz/seeds and tests/data) with one or more hostile changes each.

    PYTHONPATH=src python scripts/hostile_campaign.py --minutes 20 --jobs 2 --out /tmp/campaign

Hostile changes: byte flips, truncations, splices; every JSON/TOML/YAML field set to a wrong type; huge numbers,
NaN/Infinity, deep nesting, long lines, NUL bytes, invalid UTF-8, UTF-16, BOMs, CRLF; symlink loops, links out of
the tree, FIFOs, unreadable files and folders, names with newlines/ANSI escapes/RTL overrides; credentials
planted in URL-bearing fields (the seeds carry them everywhere a format can).

Properties checked on every run: exit code in {0, 1, 2, 130}; no "Traceback" / "internal error"; no run over
20 s; address space capped at 2 GiB (a MemoryError is a traceback) and peak RSS recorded (/usr/bin/time -v);
no input file, link or special file changed (an edit command may change only its policy file, and only when
it succeeds); no planted credential in stdout, stderr or any file written (-o outputs, SBOMs) while the input
still holds it as a URL credential. The child runs as root without CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH so
that unreadable files really are unreadable.

One reproducer per failure class is saved under --out/<class>/ (the tree as a tar, the command, the output).
Not a unit test: tests/fuzz/ and tests/corpus/ hold the committed reproducers.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import signal
import stat
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from tests.fuzz import seeds  # noqa: E402
from tests.fuzz.mutate import CREDENTIAL_URL, SECRET, RandomChooser, dump, mutate_bytes, mutate_value  # noqa: E402
from tests.fuzz.targets import EVIL_PICKLE, load_structured  # noqa: E402
from tests.hub.cache_builder import build_repo  # noqa: E402

TIMEOUT = 20.0
ADDRESS_SPACE = 2 << 30
OK_CODES = {0, 1, 2, 130}
# A credential still shaped as one (scheme://user:SECRET@ or scheme://SECRET@): an output must never repeat it.
# Matched only around each occurrence of the secret: a pattern run over a whole file backtracks quadratically
# on the campaign's own 5 MB lines.
CREDENTIAL_SHAPE = re.compile(rb"[A-Za-z][A-Za-z0-9+.-]*://[^\s/@\"'<>]{0,80}" + re.escape(SECRET.encode())
                              + rb"[^\s/@\"'<>]{0,80}@")


def holds_credential(data: bytes) -> bool:
    start = data.find(SECRET.encode())
    while start >= 0:
        if CREDENTIAL_SHAPE.search(data[max(0, start - 120):start + len(SECRET) + 120]):
            return True
        start = data.find(SECRET.encode(), start + 1)
    return False
DROP_CAPS = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search",
             "--inh-caps", "-dac_override,-dac_read_search"]
HF_COMMIT = "0123456789abcdef0123456789abcdef01234567"
STRUCTURED = {".json": "json", ".ipynb": "json", ".lock": "toml", ".toml": "toml", ".yml": "yaml",
              ".yaml": "yaml"}


# --- the base project ----------------------------------------------------------------------------------------------
def base_files() -> dict[str, bytes]:
    """Every kind of file mlwarden reads, with credentials planted where a format can carry one."""
    out = {name: text.encode() for name, text in seeds.dependency_seeds().items()}
    out["base.txt"] = b"pandas==2.2.0\n-r requirements.txt\n"  # an include cycle
    out["train.ipynb"] = json.dumps(seeds.NOTEBOOK, indent=1).encode()
    out["allowlists/policy.toml"] = seeds.POLICY.encode()
    for name, data in seeds.model_seeds().items():
        out[f"models/{name}"] = data
    out["models/evil.pkl"] = EVIL_PICKLE
    out["src/app.py"] = b"import torch\nmodel = torch.load('m.pt')\nURL = 'https://x.example/?token=abc'\n"
    out["data/people.csv"] = b"name,email\nalice,alice@example.com\n"
    for name, data in seeds.osv_seeds().items():
        out[f"osv-db/{name}"] = data
    bom = json.dumps(seeds.CYCLONEDX, indent=1).encode()
    out["old.cdx.json"] = bom
    out["new.cdx.json"] = bom
    out["sbom/committed.cdx.json"] = bom
    out[".secrets.baseline"] = json.dumps({"version": "1.5.0", "plugins_used": [], "filters_used": [],
                                           "results": {"src/app.py": [{"type": "Secret Keyword",
                                                                       "filename": "src/app.py",
                                                                       "hashed_secret": "ab" * 20,
                                                                       "is_verified": False,
                                                                       "line_number": 3}]},
                                           "generated_at": "2026-01-01T00:00:00Z"}).encode()
    out[".gitignore"] = b"out/\n"
    return out


def build_hf_cache(root: Path) -> None:
    model = seeds.model_seeds()
    files = {"config.json": json.dumps({"model_type": "bert", "auto_map": {"AutoModel": "x.y"},
                                        "url": CREDENTIAL_URL}
                                       ).encode(),
             "model.safetensors": model["w.safetensors"], "pytorch_model.bin": model["m.pt"],
             "README.md": b"---\nlicense: mit\n---\n# tiny\n"}
    build_repo(root / "hf-cache", "acme/tiny", files, commit=HF_COMMIT)


# --- commands ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Command:
    name: str
    args: Callable[[random.Random], list[str]]
    inputs: list[str]  # the files this command reads, the ones mutated
    edits: str | None = None  # the one file an edit command may change
    hf: bool = False


def _fmt(rng: random.Random, *choices: str) -> str:
    return rng.choice(choices or ("text", "json", "sarif"))


DEPS_FILES = ["requirements.txt", "base.txt", "pyproject.toml", "uv.lock", "poetry.lock", "Pipfile.lock",
              "pylock.toml", "environment.yml", "environment-real.yml", "real/pyproject.toml"]
MODEL_FILES = [f"models/{n}" for n in ("m.pt", "legacy.pt", "clf.joblib", "a.npy", "o.npy", "z.npz",
                                       "w.safetensors", "p.pkl")]
OSV_FILES = [f"osv-db/{n}" for n in sorted(seeds.osv_seeds())]
POLICY = "allowlists/policy.toml"
HF_FILES = ["hf-cache/models--acme--tiny/refs/main",
            "hf-cache/models--acme--tiny/trees/" + HF_COMMIT + ".json",
            "hf-cache/models--acme--tiny/snapshots/" + HF_COMMIT + "/config.json",
            "hf-cache/models--acme--tiny/snapshots/" + HF_COMMIT + "/model.safetensors",
            "hf-cache/models--acme--tiny/snapshots/" + HF_COMMIT + "/pytorch_model.bin"]
HOSTILE_VALUES = ["x" * 5000, "\x1b[31mred\x1b[0m", "a\nMW101 critical models/fake.pkl", "\u202eevil",
                  CREDENTIAL_URL, "../../etc/passwd", "",
                  "9" * 400, "NaN", "-1", "2026-13-45", "*", "numpy", "pkg.mod.Cls"]


def _add_args(rng: random.Random) -> list[str]:
    value = rng.choice(HOSTILE_VALUES)
    kind = rng.choice(["pickle", "package", "index", "exception", "hf", "url", "vcs"])
    base = ["allowlist", "add", kind, "--reason", rng.choice(["r", value]), "--owner", "o",
            "--expires", rng.choice(["2099-01-01", value])]
    extra = {"pickle": ["--global", value], "package": ["--name", value, "--versions", rng.choice([">=1", value])],
             "index": ["--id", "corp2", "--url", rng.choice([value, "https://deploy:" + SECRET + "@x.example/s"])],
             "exception": ["--rule", rng.choice(["MW102", value]), "--path", value],
             "hf": ["--repo", value, "--revision", rng.choice(["0" * 40, value])],
             "url": ["--pattern", value], "vcs": ["--host", value]}[kind]
    return [*base, *[a for a in extra if "\x00" not in a]]


COMMANDS = [
    Command("scan", lambda r: ["scan", ".", "--format", _fmt(r), "-o", "out/report"],
            DEPS_FILES + MODEL_FILES + ["train.ipynb", "src/app.py", "data/people.csv", POLICY, ".secrets.baseline"]),
    Command("models", lambda r: ["models", r.choice([".", "models"]), "--format", _fmt(r)], MODEL_FILES),
    Command("code", lambda r: ["code", ".", "--format", _fmt(r)], ["train.ipynb", "src/app.py"]),
    Command("deps", lambda r: ["deps", ".", "--format", _fmt(r)], [*DEPS_FILES, POLICY]),
    Command("audit", lambda r: ["audit", ".", "--db", "osv-db", "--cache-dir", "out/cache", "--format", _fmt(r)],
            DEPS_FILES + OSV_FILES),
    Command("secrets", lambda r: ["secrets", ".", "--format", _fmt(r)],
            ["train.ipynb", "src/app.py", "data/people.csv", ".secrets.baseline", "requirements.txt"]),
    Command("sbom-generate", lambda r: ["sbom", "generate", "-o", "out/bom.json", "--format", _fmt(r, "json", "xml"),
                                        *(["--db", "osv-db"] if r.random() < 0.5 else [])],
            DEPS_FILES + MODEL_FILES + OSV_FILES),
    Command("sbom-validate", lambda r: ["sbom", "validate", "new.cdx.json"], ["new.cdx.json"]),
    Command("sbom-check", lambda r: ["sbom", "check", "--file", "sbom/committed.cdx.json", "--check"],
            ["sbom/committed.cdx.json", *DEPS_FILES[:4]]),
    Command("sbom-diff", lambda r: ["sbom", "diff", *r.sample(["old.cdx.json", "new.cdx.json"], 2), "--format",
                                    _fmt(r, "text", "json", "markdown")], ["old.cdx.json", "new.cdx.json"]),
    Command("hf-verify", lambda r: ["hf", "verify", "hf-cache", "--format", _fmt(r)], HF_FILES, hf=True),
    Command("hf-scan", lambda r: ["hf", "scan", "hf-cache", "--format", _fmt(r)], HF_FILES, hf=True),
    Command("allowlist-add", _add_args, [POLICY], edits=POLICY),
    Command("allowlist-remove", lambda r: ["allowlist", "remove", r.choice(["pickle", "index", "package", "hf"]),
                                           r.choice(["corp", "numpy", "acme.nets.Net", "acme/tiny",
                                                     *HOSTILE_VALUES])], [POLICY], edits=POLICY),
    Command("allowlist-show", lambda r: ["allowlist", "show", "--format", _fmt(r, "text", "json")], [POLICY]),
    Command("allowlist-check", lambda r: ["allowlist", r.choice(["check", "list", "expired"])], [POLICY]),
    Command("rule", lambda r: ["rule", r.choice(["MW101", "mw999", "", *HOSTILE_VALUES])], []),
    Command("explain", lambda r: ["explain", r.choice([*MODEL_FILES, "models/evil.pkl"])], MODEL_FILES),
]


# --- hostile changes -----------------------------------------------------------------------------------------------
def _structured_kind(rel: str) -> str | None:
    name = rel.rsplit("/", 1)[-1]
    if name in ("refs", "main") or "." not in name:
        return None
    return STRUCTURED.get("." + name.rsplit(".", 1)[-1])


def mutate_content(rel: str, data: bytes, rng: random.Random) -> tuple[bytes, str]:
    chooser = RandomChooser(rng)
    kind = _structured_kind(rel)
    op = rng.choice(["bytes", "bytes", "struct", "struct", "special"])
    if op == "struct" and kind:
        try:
            return dump(mutate_value(load_structured(data, kind), chooser, toml=kind == "toml"), kind).encode(), \
                "wrong-type"
        except Exception:  # noqa: BLE001,S110 - a document the dumper cannot write: fall back to bytes
            pass
    if op == "special":
        return special(data, kind, rng)
    return mutate_bytes(data, chooser), "bytes"


def special(data: bytes, kind: str | None, rng: random.Random) -> tuple[bytes, str]:
    which = rng.choice(["deep", "huge-number", "nan", "long-line", "nul", "bad-utf8", "utf16", "bom", "crlf",
                        "truncate", "splice", "empty", "dup-keys", "yaml-bomb"])
    if which == "deep":
        depth = rng.choice([200, 1000, 100_000])
        if kind == "toml":
            return data + b"\nx = " + b"[" * depth + b"]" * depth + b"\n", which
        if kind == "yaml":
            return b"a: " + b"[" * depth + b"]" * depth + b"\n", which
        return b"[" * depth + b"]" * depth if rng.random() < 0.5 else b'{"a":' * depth + b"1" + b"}" * depth, which
    if which == "huge-number":
        return re.sub(rb"\b\d+\b", lambda _m: b"9" * rng.choice([30, 5000]), data, count=rng.randint(1, 50)), which
    if which == "nan":
        return re.sub(rb"\b\d+(\.\d+)?\b", lambda _m: rng.choice([b"NaN", b"Infinity", b"-Infinity", b"1e999",
                                                                 b"nan", b"inf"]), data, count=20), which
    if which == "long-line":
        pos = rng.randint(0, len(data))
        return data[:pos] + b"a" * rng.choice([100_000, 5_000_000]) + data[pos:], which
    if which == "nul":
        return bytes(b if rng.random() > 0.02 else 0 for b in data), which
    if which == "bad-utf8":
        pos = rng.randint(0, len(data))
        return data[:pos] + rng.choice([b"\xff\xfe\xfd", b"\xc3", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80"]) \
            + data[pos:], which
    if which == "utf16":
        return data.decode("utf-8", "replace").encode(rng.choice(["utf-16", "utf-16-le", "utf-32"])), which
    if which == "bom":
        return b"\xef\xbb\xbf" + data, which
    if which == "crlf":
        return data.replace(b"\n", rng.choice([b"\r\n", b"\r"])), which
    if which == "truncate":
        return data[: rng.randint(0, len(data))], which
    if which == "splice":
        pos = rng.randint(0, len(data))
        return data[:pos] + data[rng.randint(0, len(data)):], which
    if which == "empty":
        return b"", which
    if which == "dup-keys":
        return data + b"\n" + data, which
    # a YAML alias bomb (harmless to safe parsers with alias limits)
    lines = [b"a0: &a0 [x, x, x, x, x, x, x, x, x]"] + [
        b"a%d: &a%d [" % (i, i) + b", ".join([b"*a%d" % (i - 1)] * 9) + b"]" for i in range(1, 10)]
    return b"\n".join(lines) + b"\n", which


TREE_OPS = ["symlink-loop", "dir-link-loop", "link-out", "file-link-out", "fifo", "fifo-input", "unreadable-file",
            "unreadable-dir", "weird-name", "dangling-link", "socket", "replace-with-dir", "many-files",
            "hardlink-out"]


def tree_change(root: Path, outside: Path, cmd: Command, rng: random.Random) -> str:
    op = rng.choice(TREE_OPS)
    inputs = [i for i in cmd.inputs if (root / i).exists() or (root / i).is_symlink()] or ["requirements.txt"]
    target = rng.choice(inputs)
    path = root / target
    folder = path.parent
    if op == "symlink-loop":
        (folder / "loop-a.txt").symlink_to("loop-b.txt")
        (folder / "loop-b.txt").symlink_to("loop-a.txt")
        _replace_with_link(path, "loop-a.txt")
    elif op == "dir-link-loop":
        (folder / "loopdir").symlink_to(".")
        (root / "up").symlink_to("..")
    elif op == "link-out":
        (folder / "outside-dir").symlink_to(outside)
    elif op == "file-link-out":
        _replace_with_link(path, str(outside / "stolen.txt"))
    elif op == "fifo":
        os.mkfifo(folder / rng.choice(["requirements-dev.txt", "x.pkl", "notes.ipynb", "y.safetensors", "blob"]))
    elif op == "fifo-input":
        path.unlink()
        os.mkfifo(path)
    elif op == "unreadable-file":
        path.chmod(0)
    elif op == "unreadable-dir":
        if folder != root:
            folder.chmod(0)
        else:
            (root / "secret-dir").mkdir()
            (root / "secret-dir" / "a.pkl").write_bytes(EVIL_PICKLE)
            (root / "secret-dir").chmod(0)
    elif op == "weird-name":
        name = rng.choice(["a\nMW101 critical fake.pkl", "\x1b[2J\x1b[31mx.pkl", "\u202egpj.pkl", "a\rb.txt",
                           "requirements\n.txt", "-o.pkl", "--help.ipynb", "\x7f\x01.py"])
        suffix = Path(target).suffix if rng.random() < 0.5 else ""
        shutil.copyfile(path, folder / (name + suffix), follow_symlinks=True) if path.is_file() else None
    elif op == "dangling-link":
        (folder / rng.choice(["gone.pkl", "requirements-x.txt", "c.ipynb"])).symlink_to("does/not/exist")
    elif op == "socket":
        import socket

        sock = socket.socket(socket.AF_UNIX)
        try:
            sock.bind(str(folder / "s.pkl"))
        except OSError:
            pass
        finally:
            sock.close()
    elif op == "replace-with-dir":
        path.unlink()
        path.mkdir()
        (path / "inner.txt").write_text("x")
    elif op == "many-files":
        (root / "many").mkdir(exist_ok=True)
        for i in range(3000):
            (root / "many" / f"f{i}.py").write_text("import pickle\n")
    elif op == "hardlink-out":
        path.unlink()
        os.link(outside / "stolen.txt", path)
    return op


def _replace_with_link(path: Path, to: str) -> None:
    if path.exists() or path.is_symlink():
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    path.symlink_to(to)


# --- one run -------------------------------------------------------------------------------------------------------
def snapshot(root: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """What every entry under root is (type, content hash, link target, mode), links and specials not followed."""
    out: dict[str, str] = {}
    for dirpath, dirs, files in os.walk(root, followlinks=False):
        for name in dirs + files:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            if rel.startswith(skip):
                continue
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                out[rel] = "link:" + os.readlink(path)
            elif stat.S_ISREG(st.st_mode):
                try:
                    out[rel] = f"file:{st.st_mode:o}:" + hashlib.sha256(path.read_bytes()).hexdigest()
                except OSError:
                    out[rel] = f"file:{st.st_mode:o}:unreadable:{st.st_size}:{st.st_mtime_ns}"
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = "dir"  # its mode is the campaign's own doing (unreadable-dir), restored after the run
            else:
                out[rel] = f"type:{stat.S_IFMT(st.st_mode):o}:{st.st_mode:o}"
    return out


@dataclass
class Result:
    command: str
    ops: list[str]
    args: list[str]
    code: int | None
    seconds: float
    rss_kb: int
    failures: list[str] = field(default_factory=list)
    stdout: str = ""
    stderr: str = ""


def _traceback_class(text: str) -> str:
    frames = re.findall(r'File "([^"]*mlwarden/[^"]*)", line \d+, in (\S+)', text)
    last = text.strip().splitlines()[-1] if text.strip() else ""
    exc = re.match(r"([A-Za-z_.]+(?:Error|Exception|Exit|Interrupt|Warning)?)\b", last)
    where = f"{Path(frames[-1][0]).parent.name}.{Path(frames[-1][0]).stem}.{frames[-1][1]}" if frames else "?"
    return f"{exc.group(1) if exc else 'Traceback'}@{where}"


def run_one(cmd: Command, index: int, rng: random.Random, base: Path, python: str) -> tuple[Result, Path]:
    work = Path(tempfile.mkdtemp(prefix=f"mlw-camp-{cmd.name}-"))
    root, outside = work / "repo", work / "outside"
    shutil.copytree(base, root, symlinks=True)
    outside.mkdir()
    (outside / "stolen.txt").write_text(f"--index-url https://deploy:{SECRET}@outside.example/simple\nleak==1\n")
    (root / "out").mkdir()
    ops: list[str] = []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        if cmd.inputs and rng.random() < 0.7:
            rel = rng.choice(cmd.inputs)
            path = root / rel
            if path.is_file() and not path.is_symlink():
                data, op = mutate_content(rel, path.read_bytes(), rng)
                if cmd.hf and "/snapshots/" in rel:  # a snapshot file is a link to a blob: mutate the blob
                    path = path.resolve()
                path.write_bytes(data)
                ops.append(f"{op}:{rel}")
                continue
        try:
            ops.append(tree_change(root, outside, cmd, rng))
        except OSError as exc:  # an earlier change took the path (a folder now, a FIFO): that tree is hostile too
            ops.append(f"tree-change-skipped:{type(exc).__name__}")
    args = cmd.args(rng)
    skip = ("out",) + ((cmd.edits,) if cmd.edits else ())
    before, before_out = snapshot(root, skip), snapshot(outside)
    edited_before = snapshot(root / Path(cmd.edits).parent) if cmd.edits else {}
    timing = work / "time.txt"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT / "src"), "HOME": str(work),
           "NO_COLOR": "1", "LANG": "C.UTF-8", "MLWARDEN_CACHE_DIR": str(root / "out" / "cache")}
    argv = ["prlimit", f"--as={ADDRESS_SPACE}", "/usr/bin/time", "-v", "-o", str(timing), *DROP_CAPS,
            python, "-m", "mlwarden", "--debug", *args]
    start = time.monotonic()
    failures: list[str] = []
    # Its own session: on a timeout the whole group goes (prlimit -> time -> setpriv -> python); killing only
    # the first would leave python blocked on a FIFO, holding the pipes open (and this thread waiting forever).
    proc = subprocess.Popen(argv, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    code: int | None
    try:
        raw_out, raw_err = proc.communicate(timeout=TIMEOUT)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raw_out, raw_err = proc.communicate()
        code = None
        failures.append("hang:over-20s")
    out, err = raw_out.decode("utf-8", "replace"), raw_err.decode("utf-8", "replace")
    seconds = time.monotonic() - start
    rss = 0
    if timing.exists():
        found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", timing.read_text())
        rss = int(found.group(1)) if found else 0
    if code is not None and code not in OK_CODES:
        failures.append(f"exit-code:{code}")
    for text in (out, err):
        if "Traceback (most recent call last)" in text:
            failures.append("traceback:" + _traceback_class(text))
        elif "internal error" in text:
            failures.append("internal-error:" + text.strip().splitlines()[-1][:80])
    for where, text in (("stdout", out), ("stderr", err)):
        if "\x1b" in text or "\u202e" in text:
            failures.append(f"raw-control-character-in-{where}")
        if any(line.startswith("MW101 critical models/fake.pkl") for line in text.splitlines()):
            failures.append(f"forged-finding-line-in-{where}")
    if cmd.name == "scan" and code is not None:
        report = root / "out" / "report"
        text = report.read_text(encoding="utf-8", errors="replace") if report.is_file() else ""
        if not text:
            failures.append("no-report")
        elif "evil.pkl" not in text and not any(op.startswith(("unreadable-dir", "replace-with-dir"))
                                                for op in ops):
            failures.append("critical-finding-lost")
    _restore_permissions(root)
    after = snapshot(root, skip)
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    if changed:
        failures.append("input-changed:" + ",".join(sorted({_kind_of(k) for k in changed})))
    if snapshot(outside) != before_out:
        failures.append("outside-changed")
    if cmd.edits and code == 2 and snapshot(root / Path(cmd.edits).parent) != edited_before:
        failures.append("failed-edit-wrote")
    planted = any(holds_credential(p.read_bytes()) for p in _regular_files(root))
    planted = planted or any(SECRET in a for a in args) or "link-out" in ops or "hardlink-out" in ops
    if planted:
        # out/cache holds mlwarden's own index of the OSV records (their data, not a report): not an output
        written = [out, err, *(p.read_bytes().decode("utf-8", "replace") for p in _regular_files(root / "out")
                               if "cache" not in p.relative_to(root / "out").parts)]
        for where, text in zip(["stdout", "stderr"] + ["file"] * (len(written) - 2), written, strict=True):
            if SECRET in text:
                failures.append(f"credential-in-{where}")
                break
    return Result(cmd.name, ops, args, code, seconds, rss, failures, out[-3000:], err[-3000:]), work


def _kind_of(rel: str) -> str:
    name = rel.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[-1] if "." in name else name


def _regular_files(folder: Path) -> list[Path]:
    out = []
    for dirpath, _dirs, files in os.walk(folder, followlinks=False):
        for name in files:
            path = Path(dirpath) / name
            try:
                st = path.lstat()
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode) and st.st_size < 50 << 20:
                try:
                    path.read_bytes()
                except OSError:
                    continue
                out.append(path)
    return out


def _restore_permissions(root: Path) -> None:
    for dirpath, dirs, _files in os.walk(root, followlinks=False):
        for name in dirs:
            path = Path(dirpath) / name
            if not path.is_symlink() and stat.S_IMODE(path.lstat().st_mode) == 0:
                path.chmod(0o755)


def save(out: Path, klass: str, result: Result, work: Path) -> None:
    folder = out / re.sub(r"[^A-Za-z0-9+.@=-]+", "_", klass)[:120]
    if folder.exists():
        return
    folder.mkdir(parents=True)
    with tarfile.open(folder / "tree.tar", "w") as tar:
        tar.add(work, arcname="work")
    (folder / "run.json").write_text(json.dumps(dict(result.__dict__), indent=1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "mlwarden-campaign")
    parser.add_argument("--command", action="append", help="only these commands (repeatable)")
    parser.add_argument("--python", default=sys.executable)
    opts = parser.parse_args()
    commands = [c for c in COMMANDS if not opts.command or c.name in opts.command]
    opts.out.mkdir(parents=True, exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="mlw-camp-base-")) / "repo"
    for rel, data in base_files().items():
        (base / rel).parent.mkdir(parents=True, exist_ok=True)
        (base / rel).write_bytes(data)
    build_hf_cache(base)
    subprocess.run(["git", "init", "-q", str(base)], check=True)
    deadline = time.monotonic() + opts.minutes * 60
    lock = threading.Lock()
    runs: Counter[str] = Counter()
    classes: dict[str, Counter[str]] = defaultdict(Counter)
    worst: dict[str, tuple[float, int]] = {}
    counter = iter(range(10**9))

    def worker(wid: int) -> None:
        rng = random.Random(opts.seed * 1000 + wid)  # noqa: S311 - reproducible, not secret
        while time.monotonic() < deadline:
            with lock:
                index = next(counter)
            cmd = commands[index % len(commands)]
            try:
                result, work = run_one(cmd, index, rng, base, opts.python)
            except Exception as exc:  # noqa: BLE001 - the campaign's own trouble must not stop a worker
                print(f"campaign error on {cmd.name}: {type(exc).__name__}: {exc}", flush=True)
                continue
            with lock:
                runs[cmd.name] += 1
                secs, rss = worst.get(cmd.name, (0.0, 0))
                worst[cmd.name] = (max(secs, result.seconds), max(rss, result.rss_kb))
                for failure in result.failures:
                    klass = f"{cmd.name}:{failure}"
                    if not classes[klass]:
                        print(f"NEW {klass}  ops={result.ops} args={result.args!r}", flush=True)
                        save(opts.out, klass, result, work)
                    classes[klass][",".join(result.ops)] += 1
            _restore_permissions(work)
            shutil.rmtree(work, ignore_errors=True)
            with lock:
                write_summary()

    def write_summary() -> dict[str, Any]:
        summary: dict[str, Any] = {"runs": dict(runs), "total": sum(runs.values()),
                                   "failures": {k: sum(v.values()) for k, v in sorted(classes.items())},
                                   "worst": {k: {"seconds": round(s, 2), "peak_rss_mb": round(r / 1024, 1)}
                                             for k, (s, r) in sorted(worst.items())}}
        (opts.out / "summary.json").write_text(json.dumps(summary, indent=1))
        return summary

    with ThreadPoolExecutor(opts.jobs) as pool:
        list(pool.map(worker, range(opts.jobs)))
    print(json.dumps(write_summary(), indent=1))
    shutil.rmtree(base.parent, ignore_errors=True)
    return 1 if classes else 0


if __name__ == "__main__":
    raise SystemExit(main())
