"""Zip archives (PyTorch checkpoints, .npz, .keras, TorchScript, plain zips), every interpretation scanned.

See models/zipread.py for how the loaders' readers differ. Members are routed by content, whatever their name,
except torch tensor storages (`…/data/N` in an archive with data.pkl), which torch reads as raw bytes.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, BinaryIO

from mlwarden.models.formats import keras
from mlwarden.models.formats.archive_names import check_member_name
from mlwarden.models.formats.base import Blob, Format, Scan
from mlwarden.rules import ARCHIVE_SUSPICIOUS_MEMBER, SCAN_BUDGET_EXCEEDED, TORCHSCRIPT_CODE

if TYPE_CHECKING:
    from mlwarden.models import zipread

_TORCH_STORAGE = re.compile(r"(^|/)data/\d+$")
_MAX_CONFIG = 64 << 20


def sniff(head: bytes, name: str, size: int | None) -> bool:
    return head[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")


def ends_like_zip(f: BinaryIO, size: int) -> bool:
    """Whether an end-of-central-directory record sits in the tail: zipfile opens such files whatever precedes
    the archive (self-extracting archives, a pickle with a zip appended)."""
    if size < 22:
        return False
    tail = min(size, 65_557)
    f.seek(size - tail)
    data = f.read(tail)
    idx = data.rfind(b"PK\x05\x06")
    return idx >= 0 and len(data) - idx >= 22


def _label(member: str | None, part: str) -> str:
    return f"{member}/{part}" if member else part


def _scan(blob: Blob, scan: Scan) -> None:
    from mlwarden.models import zipread  # the zip reader: only when a blob is a zip

    assert blob.size is not None
    if blob.name.lower().endswith(".distcp"):
        # A distributed checkpoint's storage file is never opened as one zip: torch.distributed.checkpoint reads
        # each item's byte range, and the distcp reader carves and scans every archive in it the same way.
        return
    f, member = blob.file, blob.member
    try:
        members, notes = zipread.read_members(f, blob.size, scan.budgets.max_members)
    except zipread.ZipBudgetError as exc:
        scan.add(SCAN_BUDGET_EXCEEDED, member, str(exc), "budget:members")
        scan.count_members(scan.budgets.max_members + 1, member)
        return
    except (zipread.ZipError, OSError, ValueError, OverflowError) as exc:
        scan.unverified(member, f"zip archive cannot be read: {exc}", "corrupt-zip")
        return
    for note in notes:
        scan.add(ARCHIVE_SUSPICIOUS_MEMBER, member, f"zip headers disagree: {note}", f"zip-note:{note}")
    start = min((m.header_offset for m in members), default=0)
    if start > 0:
        _scan_prefix(blob, start, scan)
    names = [m.name for m in members]
    torch_zip = any(n == "data.pkl" or n.endswith("/data.pkl") for n in names)
    code = [n for n in names if ("/code/" in n and n.endswith(".py")) or n.endswith("/constants.pkl")]
    if code:
        shown = ", ".join(sorted(code)[:5]) + (" …" if len(code) > 5 else "")
        scan.add(TORCHSCRIPT_CODE, member, f"TorchScript archive with {len(code)} code file(s) that torch.jit.load "
                 f"compiles and runs: {shown}", "torchscript")
    _keras_configs(f, members, member, scan)
    for entry in zipread.iter_members(members):
        scan.count_members(1, member)
        scan.check_time(member)
        label = _label(member, entry.name)
        check_member_name(entry.name, label, scan, is_link=entry.is_symlink)
        if torch_zip and _TORCH_STORAGE.search(entry.name) and not _storage_is_container(f, entry, scan):
            continue  # torch reads tensor storages as raw bytes; it never unpickles them
        if entry.encrypted:
            scan.unverified(label, "member is encrypted; it is read as plain data, as torch's reader does",
                            f"encrypted:{entry.name}")
        try:
            stream = zipread.open_member(f, entry, scan.budget)
        except zipread.ZipError as exc:
            scan.unverified(label, str(exc), f"zip-member:{entry.name}")
            continue
        scan.nested(stream, label, name=entry.name)
        error = getattr(stream, "error", None)  # a Decompressor ends at corrupt data and says why
        if error:
            scan.unverified(label, f"could not be decompressed: {error}", f"corrupt-member:{entry.name}")
        if entry.method == 0 and entry.size > entry.compressed_size:
            # zipfile reads min(sizes); a reader trusting the size reads on: scan that extent too
            longer = zipread.open_member(f, entry, scan.budget, length=entry.size)
            scan.nested(longer, f"{label}(as {entry.size} bytes)", name=entry.name)


def _scan_prefix(blob: Blob, start: int, scan: Scan) -> None:
    """Bytes before the archive: zipfile opens a file whatever precedes the archive, and a torch distributed
    checkpoint's storage file (named by its .metadata, so any name) holds one torch.save archive per item back
    to back, each loaded with torch.load(weights_only=False). Every archive found there, and every gap between
    them, is scanned as a file of its own."""
    from mlwarden.models.readers.distcp import archives
    from mlwarden.models.streams import RangeReader

    covered = 0
    for first, length in sorted(archives(blob)):  # type: ignore[arg-type]
        if first < covered or first + length > start:
            continue  # overlapping records, or the archive read above
        if first > covered:
            scan.nested(RangeReader(blob.file, covered, first - covered), _label(blob.member, f"@{covered}-{first}"))
        scan.nested(RangeReader(blob.file, first, length), _label(blob.member, f"@{first}(zip)"), name="archive.zip")
        covered = first + length
    if covered < start:
        scan.nested(RangeReader(blob.file, covered, start - covered), _label(blob.member, f"@{covered}-{start}"))


def _storage_is_container(f: BinaryIO, entry: zipread.ZipMember, scan: Scan) -> bool:
    """Whether a tensor storage's bytes are a format other than a bare pickle: np.load reads an archive that is
    both a torch checkpoint and an .npz, and unpickles an object array stored under a storage's name."""
    from mlwarden.models import zipread  # the zip reader: only when a blob is a zip
    from mlwarden.models.formats import matching

    try:
        head = zipread.open_member(f, entry, scan.budget).read(4096)
    except (zipread.ZipError, OSError, ValueError):
        return True  # let the normal path report why it cannot be read
    return any(fmt.name not in ("pickle", "executable") for fmt in matching(head, entry.name, None))


def _keras_configs(f: BinaryIO, members: list[zipread.ZipMember], member: str | None, scan: Scan) -> None:
    """Keras v3 archives: config.json at the root is the model (whatever the weights file: .h5, .npz, none)."""
    from mlwarden.models import zipread  # the zip reader: only when a blob is a zip

    names = {m.name for m in members}
    keras_like = "metadata.json" in names or any(n.startswith("model.weights.") for n in names)
    for entry in members:
        if entry.name != "config.json":
            continue
        label = _label(member, "config.json")
        try:
            raw = zipread.open_member(f, entry, scan.budget).read(_MAX_CONFIG + 1)
        except (zipread.ZipError, OSError, ValueError) as exc:
            if keras_like:
                scan.unverified(label, f"Keras config cannot be read: {exc}", "keras-config")
            continue
        if len(raw) > _MAX_CONFIG:
            scan.unverified(label, f"Keras config larger than {_MAX_CONFIG} bytes", "keras-config")
            continue
        if keras_like and b'"class_name"' not in raw[:4096]:
            # with "class_name" in its first bytes the member's own scan reads it (keras.CONFIG); a Keras
            # archive's config without it is read here so that it is never skipped
            keras.report_config(raw, label, scan)


FORMAT = Format("zip", sniff, _scan, seekable=True, names=("*.zip", "*.npz", "*.keras", "*.pt2", "*.ptl"))
