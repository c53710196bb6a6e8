"""Executables inside archives: a model archive has no reason to carry a native binary or a script."""

from __future__ import annotations

from mlwarden.findings import Severity
from mlwarden.models.formats.archive_names import executable_kind, in_model_archive
from mlwarden.models.formats.base import Blob, Format, Scan
from mlwarden.rules import ARCHIVE_SUSPICIOUS_MEMBER


def sniff(head: bytes, name: str, size: int | None) -> bool:
    return executable_kind(head) is not None


def _scan(blob: Blob, scan: Scan) -> None:
    if blob.member is None or not in_model_archive(scan):
        return  # a program, or a tarball of tools, is not a model: only one hidden in a model archive is reported
    kind = executable_kind(blob.head)
    scan.add(
        ARCHIVE_SUSPICIOUS_MEMBER,
        blob.member,
        f"archive holds a {kind}",
        f"executable:{blob.member}",
        severity=Severity.HIGH,
    )


FORMAT = Format("executable", sniff, _scan)
