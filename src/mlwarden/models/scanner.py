"""The model-file scanner: routes a file by content to every check that applies, recursing into
containers (zip, torch, npz, tar, 7z, compressed wrappers, nested pickles) within budgets."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import BinaryIO, cast

from mlwarden.config import Budgets
from mlwarden.findings import Finding, Location, ScanError, Severity
from mlwarden.models import formats, zipread
from mlwarden.models.classify import classify, default_safe_globals
from mlwarden.models.pickle_vm import Analysis, analyse
from mlwarden.models.readers import registry
from mlwarden.models.sniff import HEAD_SIZE, sniff
from mlwarden.models.streams import Budget, BudgetExceeded, Decompressor, Readable
from mlwarden.rules import make_finding

_TORCH_STORAGE = re.compile(r"(^|/)data/\d+$")
_SPOOL_IN_MEMORY = 64 * 1024 * 1024
_COMPRESSION_KINDS = ("gzip", "bz2", "xz", "lzma", "zlib")


@dataclass
class FileResult:
    findings: list[Finding] = field(default_factory=list)
    formats: list[str] = field(default_factory=list)
    error: ScanError | None = None


@dataclass
class _Context:
    display: str
    budgets: Budgets
    safe: frozenset[str]
    budget: Budget
    deadline: float
    result: FileResult
    members: int = 0
    pickles: list[tuple[str, bytes]] | None = None  # filled for `explain`

    def add(self, rule_id: str, member: str | None, message: str, key: str, evidence: str = "") -> None:
        self.result.findings.append(make_finding(rule_id, Location(self.display, member=member), message, key,
                                                 evidence=evidence))


class _Stop(Exception):
    """A budget ran out: stop scanning this file (the finding is already recorded)."""


def is_model_candidate(path: Path) -> bool:
    """Whether a file's bytes make it something the model scanner should examine."""
    try:
        with path.open("rb") as f:
            head = f.read(HEAD_SIZE)
            size = path.stat().st_size
            return (sniff(head, size) != "unknown" or _ends_like_zip(f, size)
                    or bool(registry.matching(head, path.name, size)))
    except OSError:
        return False


def scan_model_file(path: Path, display: str | None = None, *, budgets: Budgets | None = None,
                    extra_safe: frozenset[str] = frozenset(),
                    collect_pickles: bool = False) -> tuple[FileResult, list[tuple[str, bytes]]]:
    """Scan one file. Never raises for bad content: problems are findings; unreadable files an error."""
    budgets = budgets or Budgets()
    result = FileResult()
    ctx = _Context(display=display or str(path), budgets=budgets,
                   safe=default_safe_globals() | extra_safe,
                   budget=Budget(budgets.max_decompressed_bytes),
                   deadline=time.monotonic() + budgets.max_seconds_per_file, result=result,
                   pickles=[] if collect_pickles else None)
    try:
        f = path.open("rb")
    except OSError as exc:
        result.error = ScanError(ctx.display, f"cannot read: {exc.strerror or exc}")
        return result, []
    with f:
        try:
            size = path.stat().st_size
            _scan_seekable(f, size, None, 0, ctx)
        except _Stop:
            pass
        except OSError as exc:
            result.error = ScanError(ctx.display, f"cannot read: {exc}")
    return result, ctx.pickles or []


def _label(member: str | None, part: str) -> str:
    return f"{member}/{part}" if member else part


def _scan_seekable(f: BinaryIO, size: int, member: str | None, depth: int, ctx: _Context) -> None:
    f.seek(0)
    head = f.read(HEAD_SIZE)
    kind = sniff(head, size)
    if kind == "unknown" and _ends_like_zip(f, size):
        kind = "zip"  # data prepended to a zip (self-extracting archives): zipfile opens these
    if kind != "unknown":
        ctx.result.formats.append(kind)
    _run_readers(f, size, head, member, depth, ctx)
    if (member or ctx.display).endswith(".distcp"):
        return  # archives back to back: the distcp reader carves each one (a zip reader sees only the last)
    f.seek(0)
    if kind == "zip":
        _scan_zip(f, size, member, depth, ctx)
    elif kind == "7z":
        _scan_7z(f, member, depth, ctx)
    elif kind == "hdf5":
        _scan_hdf5(f, member, ctx)
    elif kind == "safetensors":
        for rule, message, key in formats.check_safetensors(f, size):
            ctx.add(rule, member, message, key)
    elif kind == "gguf":
        _scan_gguf(f, member, ctx)
    elif kind == "pickle" and ctx.pickles is None and hasattr(f, "fileno") and member is None:
        from mlwarden.models import parallel

        budgets = ctx.budgets
        analysis = parallel.analyse_file(f, size, max_memo=budgets.max_memo_entries,
                                         max_stack=budgets.max_stack_entries, deadline=ctx.deadline)
        _report_pickle(analysis, member, depth, ctx)
    else:
        _scan_stream_kind(kind, f, member, depth, ctx)


def _run_readers(f: BinaryIO, size: int, head: bytes, member: str | None, depth: int, ctx: _Context) -> None:
    """The readers of models/readers (SavedModel, ONNX, templates, skops, .mar, TorchScript code, distcp)."""
    from mlwarden.models.readers.base import basename

    name = member or ctx.display  # the whole path: some readers match a folder (MAR-INF/MANIFEST.json)
    for fmt in registry.matching(head, name, size):
        adapter = _ReaderScan(f, member, depth, ctx)
        f.seek(0)
        try:
            fmt.scan(_Blob(f, size, basename(name), member), adapter)
        except _Stop:
            raise
        except Exception as exc:  # noqa: BLE001 - fail closed: a reader's bug is a finding on this file only
            ctx.add("MW112", member, f"could not be verified: {fmt.name} reader failed: {type(exc).__name__}: "
                    f"{exc}", f"reader-error:{fmt.name}")


@dataclass
class _Blob:
    file: BinaryIO
    size: int
    name: str
    member: str | None


class _ReaderScan:
    def __init__(self, f: BinaryIO, member: str | None, depth: int, ctx: _Context) -> None:
        self._f, self._member, self._depth, self._ctx = f, member, depth, ctx

    def add(self, rule_id: str, member: str | None, message: str, key: str, severity: Severity | None = None,
            evidence: str = "") -> None:
        self._ctx.result.findings.append(make_finding(rule_id, Location(self._ctx.display, member=member),
                                                      message, key, severity=severity, evidence=evidence))

    def nested(self, data: bytes | tuple[int, int], member_label: str) -> None:
        if _too_deep(self._depth + 1, member_label, self._ctx):
            return
        if isinstance(data, bytes):
            _scan_stream(io.BytesIO(data), member_label, self._depth + 1, self._ctx)
            return
        start, length = data
        window = cast(BinaryIO, _Window(self._f, start, length))
        _scan_seekable(window, length, member_label, self._depth + 1, self._ctx)


class _Window(io.RawIOBase):
    """A seekable view of ``length`` bytes of a file from ``start`` (an archive carved out of a storage file)."""

    def __init__(self, f: BinaryIO, start: int, length: int) -> None:
        self._f, self._start, self._length, self._pos = f, start, length, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self._length}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def read(self, n: int = -1) -> bytes:
        left = self._length - self._pos
        n = left if n is None or n < 0 or n > left else n
        if n <= 0:
            return b""
        self._f.seek(self._start + self._pos)
        data = self._f.read(n)
        self._pos += len(data)
        return data

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


def _ends_like_zip(f: BinaryIO, size: int) -> bool:
    if size < 22:
        return False
    f.seek(size - 22)
    return f.read(4) == b"PK\x05\x06"


def _too_deep(depth: int, member: str | None, ctx: _Context) -> bool:
    if depth > ctx.budgets.max_depth:
        ctx.add("MW107", member, f"containers nested deeper than {ctx.budgets.max_depth} levels", "budget:depth")
        return True
    return False


def _count_members(count: int, member: str | None, ctx: _Context) -> None:
    """Spend ``count`` of the member budget; stop the file's scan when it runs out."""
    ctx.members += count
    if ctx.members > ctx.budgets.max_members:
        ctx.add("MW107", member, f"more than {ctx.budgets.max_members} archive members", "budget:members")
        raise _Stop


def _scan_stream(stream: Readable, member: str | None, depth: int, ctx: _Context) -> None:
    """Route a non-seekable stream; formats that need random access are spooled first."""
    if _too_deep(depth, member, ctx):
        return
    head = _read_full(stream, HEAD_SIZE)
    kind = sniff(head, len(head) if len(head) < HEAD_SIZE else None)
    named = registry.matching(head, member or "", None)  # e.g. saved_model.pb in a tar
    if kind in ("zip", "7z", "hdf5", "safetensors", "gguf") or named:
        with _spooled(head, stream, ctx, member) as (f, size):
            if f is not None:
                _scan_seekable(f, size, member, depth, ctx)
        return
    if kind != "unknown":
        ctx.result.formats.append(kind)
    _scan_stream_kind(kind, _Prefixed(head, stream), member, depth, ctx)


def _scan_stream_kind(kind: str, stream: Readable, member: str | None, depth: int, ctx: _Context) -> None:
    if kind == "pickle":
        _scan_pickle(stream, member, depth, ctx)
    elif kind in _COMPRESSION_KINDS:
        inner = Decompressor(stream, kind, ctx.budget)
        _guard(partial(_scan_stream, inner, _label(member, f"({kind})"), depth + 1, ctx), member, ctx)
    elif kind == "tar":
        _scan_tar(stream, member, depth, ctx)
    elif kind == "npy":
        _scan_npy(stream, member, depth, ctx)


def _guard(action: Callable[[], None], member: str | None, ctx: _Context) -> None:
    """Run a nested scan; corrupt compressed data and budgets become findings."""
    try:
        action()
    except BudgetExceeded as exc:
        ctx.add("MW107", member, str(exc), "budget:decompressed")
        raise _Stop from None
    except OSError as exc:
        ctx.add("MW112", member, f"could not be decompressed: {exc}", "corrupt-compression")


def _read_full(stream: Readable, n: int) -> bytes:
    parts: list[bytes] = []
    have = 0
    while have < n:
        chunk = stream.read(n - have)
        if not chunk:
            break
        parts.append(chunk)
        have += len(chunk)
    return b"".join(parts)


class _Prefixed:
    """A stream whose first bytes were already read for sniffing."""

    def __init__(self, head: bytes, rest: Readable) -> None:
        self._head = head
        self._rest = rest

    def read(self, n: int = -1) -> bytes:
        if self._head:
            if n < 0:
                data, self._head = self._head + self._rest.read(), b""
                return data
            data, self._head = self._head[:n], self._head[n:]
            if len(data) < n:
                data += self._rest.read(n - len(data))
            return data
        return self._rest.read(n)


class _Recorder:
    """Copies what a pickle stream yields, up to a limit, for `explain`."""

    def __init__(self, stream: Readable, limit: int) -> None:
        self._stream = stream
        self._limit = limit
        self.data = bytearray()
        self.truncated = False

    def read(self, n: int = -1) -> bytes:
        chunk = self._stream.read(n)
        if len(self.data) + len(chunk) <= self._limit:
            self.data += chunk
        else:
            self.truncated = True
        return chunk


@contextmanager
def _spooled(head: bytes, stream: Readable, ctx: _Context,
             member: str | None) -> Iterator[tuple[BinaryIO | None, int]]:
    import tempfile

    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY) as tmp:
        tmp.write(head)
        size = len(head)
        try:
            while True:
                chunk = stream.read(1 << 20)
                if not chunk:
                    break
                size += len(chunk)
                tmp.write(chunk)
        except BudgetExceeded as exc:
            ctx.add("MW107", member, str(exc), "budget:decompressed")
            raise _Stop from None
        except OSError as exc:
            ctx.add("MW112", member, f"could not be read: {exc}", "corrupt-member")
            yield None, 0
            return
        tmp.seek(0)
        yield tmp, size  # type: ignore[misc]


# --- pickles --------------------------------------------------------------------------------------------
def _scan_pickle(stream: Readable, member: str | None, depth: int, ctx: _Context) -> None:
    budgets = ctx.budgets
    recorder = _Recorder(stream, 64 << 20) if ctx.pickles is not None else None
    try:
        analysis = analyse(recorder or stream, max_memo=budgets.max_memo_entries,  # type: ignore[arg-type]
                           max_stack=budgets.max_stack_entries, deadline=ctx.deadline)
    except BudgetExceeded as exc:
        ctx.add("MW107", member, str(exc), "budget:decompressed")
        raise _Stop from None
    except OSError as exc:
        ctx.add("MW112", member, f"could not be read: {exc}", "corrupt-member")
        return
    if recorder is not None and ctx.pickles is not None:
        ctx.pickles.append((member or "", bytes(recorder.data)))
    _report_pickle(analysis, member, depth, ctx)


def _report_pickle(analysis: Analysis, member: str | None, depth: int, ctx: _Context) -> None:
    ctx.result.findings.extend(classify(analysis, Location(ctx.display, member=member), ctx.safe))
    for nested in analysis.nested:
        label = _label(member, f"@{nested.offset}({nested.loader})")
        _scan_stream(io.BytesIO(nested.data), label, depth + 1, ctx)
    if any(p.kind == "budget" and "time" in p.message for p in analysis.problems):
        raise _Stop


# --- zip --------------------------------------------------------------------------------------------------
def _scan_zip(f: BinaryIO, size: int, member: str | None, depth: int, ctx: _Context) -> None:
    if _too_deep(depth, member, ctx):
        return
    try:
        members, notes = zipread.read_members(f, size, ctx.budgets.max_members)
    except zipread.ZipBudgetError as exc:
        ctx.add("MW107", member, str(exc), "budget:members")
        raise _Stop from None
    except (zipread.ZipError, OSError, ValueError) as exc:
        ctx.add("MW112", member, f"zip archive cannot be read: {exc}", "corrupt-zip")
        return
    for note in notes:
        ctx.add("MW114", member, f"zip headers disagree: {note}", f"zip-note:{note}")
    names = [m.name for m in members]
    torch_zip = any(n == "data.pkl" or n.endswith("/data.pkl") for n in names)
    code = [n for n in names if ("/code/" in n and n.endswith(".py")) or n.endswith("/constants.pkl")]
    if code:
        shown = ", ".join(sorted(code)[:5]) + (" …" if len(code) > 5 else "")
        ctx.add("MW108", member, f"TorchScript archive with {len(code)} code file(s) that torch.jit.load "
                f"compiles and runs: {shown}", "torchscript")
    if "config.json" in names and ("metadata.json" in names or "model.weights.h5" in names):
        _scan_keras_zip(f, members, member, ctx)
    for entry in zipread.iter_members(members):
        _count_members(1, member, ctx)
        if time.monotonic() > ctx.deadline:
            ctx.add("MW107", member, "time budget per file exceeded", "budget:time")
            raise _Stop
        label = _label(member, entry.name)
        _check_member_name(entry.name, label, ctx, is_link=entry.is_symlink)
        if torch_zip and _TORCH_STORAGE.search(entry.name):
            continue  # torch reads tensor storages as raw bytes; it never unpickles them
        try:
            stream = zipread.open_member(f, entry, ctx.budget)
        except zipread.ZipError as exc:
            ctx.add("MW112", label, str(exc), "zip-member")
            continue
        _guard(partial(_scan_stream, stream, label, depth + 1, ctx), label, ctx)


def _check_member_name(name: str, label: str, ctx: _Context, *, is_link: bool = False) -> None:
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or ".." in parts or re.match(r"^[A-Za-z]:", name):
        ctx.add("MW114", label, f"member path {name!r} escapes the archive", f"path:{name}")
    if is_link:
        ctx.add("MW114", label, f"member {name!r} is a symbolic link", f"link:{name}")


def _scan_keras_zip(f: BinaryIO, members: list[zipread.ZipMember], member: str | None, ctx: _Context) -> None:
    import json

    entry = next(m for m in members if m.name == "config.json")
    try:
        raw = zipread.open_member(f, entry, ctx.budget).read(64 << 20)
        config = json.loads(raw)
    except (zipread.ZipError, OSError, ValueError, BudgetExceeded) as exc:
        ctx.add("MW112", _label(member, "config.json"), f"Keras config cannot be read: {exc}", "keras-config")
        return
    ctx.result.formats.append("keras")
    for rule, message, key in formats.check_keras_config(config):
        ctx.add(rule, _label(member, "config.json"), message, key)


# --- tar, 7z ----------------------------------------------------------------------------------------------
def _scan_tar(stream: Readable, member: str | None, depth: int, ctx: _Context) -> None:
    import tarfile

    try:
        with tarfile.open(fileobj=stream, mode="r|") as tar:  # type: ignore[call-overload]
            for info in tar:
                _count_members(1, member, ctx)
                label = _label(member, info.name)
                _check_member_name(info.name, label, ctx, is_link=info.issym() or info.islnk())
                if not info.isfile():
                    continue
                extracted = tar.extractfile(info)
                if extracted is not None:
                    _guard(partial(_scan_stream, extracted, label, depth + 1, ctx), label, ctx)
    except tarfile.TarError as exc:
        ctx.add("MW112", member, f"tar archive cannot be read: {exc}", "corrupt-tar")


def _scan_7z(f: BinaryIO, member: str | None, depth: int, ctx: _Context) -> None:
    import tempfile

    try:
        import py7zr
    except ImportError:
        ctx.add("MW112", member, "7z archive not inspected: install py7zr (pip install 'mlwarden[7z]')",
                "7z-missing")
        return
    try:
        with py7zr.SevenZipFile(f, mode="r") as archive:
            infos = archive.list()
            total = sum(info.uncompressed or 0 for info in infos)
            _count_members(len(infos), member, ctx)
            if ctx.budget.used + total > ctx.budget.limit:
                ctx.add("MW107", member, f"7z archive would decompress to {total} bytes", "budget:decompressed")
                raise _Stop
            ctx.budget.spend(total)
            with tempfile.TemporaryDirectory(prefix="mlwarden-7z-") as tmp:
                # Into our own temporary folder; every path read back is checked to stay inside it.
                archive.extractall(path=tmp)  # noqa: S202
                root = Path(tmp).resolve()
                for info in infos:
                    label = _label(member, info.filename)
                    _check_member_name(info.filename, label, ctx)
                    if info.is_directory:
                        continue
                    target = (root / info.filename).resolve()
                    if not target.is_relative_to(root) or not target.is_file() or target.is_symlink():
                        continue
                    with target.open("rb") as inner:
                        _scan_seekable(inner, target.stat().st_size, label, depth + 1, ctx)
    except _Stop:
        raise
    except Exception as exc:  # noqa: BLE001 - py7zr raises many unrelated types on hostile input
        ctx.add("MW112", member, f"7z archive cannot be read: {type(exc).__name__}: {exc}", "corrupt-7z")


# --- numpy, hdf5, gguf ----------------------------------------------------------------------------------------
def _scan_npy(stream: Readable, member: str | None, depth: int, ctx: _Context) -> None:
    buffered = io.BufferedReader(_RawAdapter(stream), buffer_size=1 << 16)
    try:
        descr, _offset = formats.npy_header(buffered)
    except (ValueError, OSError) as exc:
        ctx.add("MW112", member, f"NumPy header cannot be read: {exc}", "npy-header")
        return
    if formats.descr_has_object(descr):
        ctx.add("MW113", member, f"object array (dtype {descr}) stored as a pickle", "npy-object")
        _scan_pickle(buffered, _label(member, "(pickle)"), depth + 1, ctx)


class _RawAdapter(io.RawIOBase):
    def __init__(self, stream: Readable) -> None:
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._stream.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


def _scan_hdf5(f: BinaryIO, member: str | None, ctx: _Context) -> None:
    try:
        import h5py
    except ImportError:
        ctx.add("MW112", member, "HDF5/Keras file not inspected: install h5py (pip install 'mlwarden[h5]')",
                "h5-missing")
        return
    try:
        with h5py.File(f, "r") as h5:
            raw = h5.attrs.get("model_config")
    except Exception as exc:  # noqa: BLE001 - h5py raises OSError, KeyError, ValueError … on bad files
        ctx.add("MW112", member, f"HDF5 file cannot be read: {exc}", "corrupt-h5")
        return
    if raw is None:
        return
    ctx.result.formats.append("keras")
    import json

    try:
        config = json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else str(raw))
    except ValueError as exc:
        ctx.add("MW112", member, f"Keras model_config is not JSON: {exc}", "keras-config")
        return
    for rule, message, key in formats.check_keras_config(config):
        ctx.add(rule, member, message, key)


def _scan_gguf(f: BinaryIO, member: str | None, ctx: _Context) -> None:
    try:
        templates = formats.gguf_templates(f)
    except (formats.GGUFError, OSError, ValueError) as exc:
        ctx.add("MW112", member, f"GGUF metadata cannot be read: {exc}", "corrupt-gguf")
        return
    for key, template in templates.items():
        for rule, message, fkey in formats.check_template(key, template):
            ctx.add(rule, member, message, fkey)
