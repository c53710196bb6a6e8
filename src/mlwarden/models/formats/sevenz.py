"""7z archives (nullifAI hid a torch file in one), extracted by py7zr into a private temporary folder."""

from __future__ import annotations

from pathlib import Path

from mlwarden.models.formats.archive_names import check_member_name
from mlwarden.models.formats.base import Blob, Format, Scan, StopScan
from mlwarden.models.streams import BudgetExceeded


def sniff(head: bytes, name: str, size: int | None) -> bool:
    return head[:6] == b"7z\xbc\xaf\x27\x1c"


def _label(member: str | None, part: str) -> str:
    return f"{member}/{part}" if member else part


def _scan(blob: Blob, scan: Scan) -> None:
    import tempfile

    member = blob.member
    try:
        import py7zr
    except ImportError:
        scan.unverified(member, "7z archive not inspected: install py7zr (pip install 'mlwarden[7z]')",
                        "7z-missing")
        return
    try:
        with py7zr.SevenZipFile(blob.file, mode="r") as archive:
            infos = archive.list()
            total = sum(info.uncompressed or 0 for info in infos)
            scan.count_members(len(infos), member)
            scan.budget.spend(total)  # raises BudgetExceeded (MW107) before anything is extracted
            with tempfile.TemporaryDirectory(prefix="mlwarden-7z-") as tmp:
                # Into our own temporary folder; every path read back is checked to stay inside it.
                archive.extractall(path=tmp)
                root = Path(tmp).resolve()
                for info in infos:
                    label = _label(member, info.filename)
                    check_member_name(info.filename, label, scan)
                    if info.is_directory:
                        continue
                    target = (root / info.filename).resolve()
                    if not target.is_relative_to(root) or not target.is_file() or target.is_symlink():
                        continue
                    with target.open("rb") as inner:
                        scan.nested(inner, label, name=info.filename)
    except (StopScan, BudgetExceeded):
        raise
    except Exception as exc:  # noqa: BLE001 - py7zr raises many unrelated types on hostile input
        scan.unverified(member, f"7z archive cannot be read: {type(exc).__name__}: {exc}", "corrupt-7z")


FORMAT = Format("7z", sniff, _scan, seekable=True, names=("*.7z",))
