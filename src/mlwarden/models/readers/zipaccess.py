"""Reading named members of a zip for the readers whose format is a zip (skops, .mar, TorchScript), through the
scanner's tolerant zip reader so they see what torch and zipfile see."""

from __future__ import annotations

from collections.abc import Callable

from mlwarden.models import zipread
from mlwarden.models.readers.base import MAX_DOCUMENT, Blob, Report
from mlwarden.models.streams import Budget, BudgetExceeded

MAX_MEMBERS = 100_000


def zip_report(blob: Blob, check: Callable[[list[str], Callable[[str], bytes]], Report],
               limit: int = MAX_DOCUMENT, *, fail_closed: bool = True) -> Report:
    """Run ``check(names, read)`` over a zip blob. ``read(name)`` returns at most ``limit`` bytes of the last
    member of that name (as zipfile does) and raises OSError beyond it or on a corrupt member. An unreadable zip
    is a finding unless ``fail_closed`` is off (checks that look at every zip: the zip reader reports it)."""
    try:
        members, _notes = zipread.read_members(blob.file, blob.size, MAX_MEMBERS)
    except (zipread.ZipError, OSError, ValueError) as exc:
        report = Report()
        if fail_closed:
            report.unverifiable(None, f"zip archive cannot be read: {exc}", "zip-unreadable")
        return report
    by_name = {m.name: m for m in members}

    def read(name: str) -> bytes:
        member = by_name[name]
        try:
            data = zipread.open_member(blob.file, member, Budget(limit)).read(limit + 1)
        except (zipread.ZipError, BudgetExceeded) as exc:
            raise OSError(str(exc)) from None
        if len(data) > limit:
            raise OSError(f"{name} is larger than {limit >> 20} MiB")
        return data

    return check([m.name for m in members], read)
