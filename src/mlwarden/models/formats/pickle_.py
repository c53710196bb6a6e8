"""Raw pickles (protocols 0-5, several stacked): the pickle machine (models/pickle/), then the classifier.

Protocol 0/1 pickles have no magic (CVE-2025-10155), so recognition is the machine's evidence-based probe
(`looks_like_pickle`: an import, a call, or every byte of the head read cleanly). Payloads the pickle hands to a
deserialiser are routed again as content of their own.
"""

from __future__ import annotations

from mlwarden.findings import Location
from mlwarden.models.classify import classify
from mlwarden.models.formats.base import Blob, Format, Scan, StopScan
from mlwarden.models.pickle import Analysis, analyse, looks_like_pickle
from mlwarden.models.streams import Readable

HEAD_SIZE = 4096
_EXPLAIN_LIMIT = 64 << 20


def sniff(head: bytes, name: str, size: int | None) -> bool:
    if head[:4] == b"PK\x03\x04":
        # A zip's first byte is PERSID: pickle.load and joblib's unpickler (no persistent_load) raise on it, and
        # torch.load reads the file as a zip. Read as the loaders read, it is never a pickle.
        return False
    return looks_like_pickle(head, size)


class _Recorder:
    """Copies what a pickle stream yields, up to a limit, for `explain`."""

    def __init__(self, stream: Readable, limit: int) -> None:
        self._stream = stream
        self._limit = limit
        self.data = bytearray()

    def read(self, n: int = -1) -> bytes:
        chunk = self._stream.read(n)
        if len(self.data) + len(chunk) <= self._limit:
            self.data += chunk
        return chunk


def _scan(blob: Blob, scan: Scan) -> None:
    budgets = scan.budgets
    if scan.pickles is None and blob.member is None and blob.size is not None and hasattr(blob.file, "fileno"):
        from mlwarden.models import parallel

        analysis = parallel.analyse_file(blob.file, blob.size, max_memo=budgets.max_memo_entries,
                                         max_stack=budgets.max_stack_entries, deadline=scan.deadline)
    else:
        recorder = _Recorder(blob.file, _EXPLAIN_LIMIT) if scan.pickles is not None else None
        analysis = analyse(recorder or blob.file, max_memo=budgets.max_memo_entries,
                           max_stack=budgets.max_stack_entries, deadline=scan.deadline)
        if recorder is not None and scan.pickles is not None:
            scan.pickles.append((blob.member or "", bytes(recorder.data)))
    if _no_evidence(analysis, blob):
        # Sniffed by a lucky prefix, and the whole parse reached no global, call or STOP: the loader would
        # only raise on it, so it is not a pickle (a text file is never a model) and has no finding.
        formats = scan.formats
        if "pickle" in formats:
            del formats[len(formats) - 1 - formats[::-1].index("pickle")]
        return
    report(analysis, blob.member, scan)
    if blob.path is not None:
        _companions(analysis, blob.path, scan)


def _no_evidence(analysis: Analysis, blob: Blob) -> bool:
    if blob.head[:1] == b"\x80" or analysis.globals or analysis.pickles or analysis.nested:
        return False
    if not analysis.problems or any(p.kind != "unparsable" for p in analysis.problems):
        return False
    from fnmatch import fnmatch

    # a file named as a pickle that cannot be parsed keeps its finding: a loader would be pointed at it
    base = blob.name.replace("\\", "/").rsplit("/", 1)[-1].lower()
    return not any(fnmatch(base, pattern) for pattern in FORMAT.names)


def _companions(analysis: Analysis, path: str, scan: Scan) -> None:
    """Old joblib pickles (NDArrayWrapper) make joblib open files next to them by name (np.load with
    allow_pickle): those files are part of what loading this one runs, so they are scanned with it.
    The pickle machine lists them (``Analysis.companions``) where it knows how."""
    from pathlib import Path

    names = [c.filename for c in getattr(analysis, "companions", [])]
    if not names:
        return
    try:
        from mlwarden.models.pickle.joblib import companion_paths  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return
    for companion in companion_paths(Path(path), names):
        scan.count_members(1, None)
        with companion.open("rb") as f:
            scan.nested(f, f"(companion){companion.name}", name=companion.name)


def report(analysis: Analysis, member: str | None, scan: Scan) -> None:
    """Findings of one analysed pickle stream, and its nested payloads routed as content."""
    scan.add_findings(classify(analysis, Location(scan.display, member=member), scan.safe))
    for nested in analysis.nested:
        label = f"{member}/@{nested.offset}({nested.loader})" if member else f"@{nested.offset}({nested.loader})"
        scan.nested(nested.data, label)
    if any(p.kind == "budget" and "time" in p.message for p in analysis.problems):
        raise StopScan


FORMAT = Format("pickle", sniff, _scan,
                # not every *.bin (OpenVINO, ONNX external data, fastText are raw): torch's own names only
                names=("*.pkl", "*.pickle", "*.pt", "*.pth", "*.ckpt", "*.joblib", "*.jbl", "*.dill", "*.sav",
                       "*.cloudpickle", "*.pck", "*.pcl", "pytorch_model*.bin", "training_args.bin",
                       "optimizer.bin", "scheduler.bin", "rng_state*.pth"))
