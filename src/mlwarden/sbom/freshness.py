"""Is the committed SBOM up to date? Compared by content, not bytes: indentation, key order and the order of
set-like arrays do not matter, and neither do the timestamp and serial number (`--timestamp` and
`--serial-number` output changes every run by design)."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from mlwarden.errors import MlwardenError
from mlwarden.sbom.validate import cyclonedx_problem, load_document

_VOLATILE = ("serialNumber",)
_VOLATILE_METADATA = ("timestamp",)


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        # CycloneDX arrays are sets (components, hashes, properties, dependsOn): order is not content
        return sorted((_canonical(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    return value


def content(doc: dict[str, Any]) -> Any:
    """The document without what changes on every run."""
    body = {k: v for k, v in doc.items() if k not in _VOLATILE}
    if isinstance(body.get("metadata"), dict):
        body["metadata"] = {k: v for k, v in body["metadata"].items() if k not in _VOLATILE_METADATA}
    return _canonical(body)


def committed(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """The committed document and, when it cannot be used, why ("does not exist", "is not valid JSON", ...)."""
    try:
        if not path.exists() and not path.is_symlink():
            return None, "does not exist"
    except OSError as exc:  # inside a folder it may not enter (Python 3.11 raises)
        return None, f"cannot be read ({exc.strerror or exc}); replace it"
    try:
        doc = load_document(path)
    except MlwardenError as exc:
        return None, f"is unusable ({str(exc).removeprefix(f'{path}: ')}); replace it"
    problem = cyclonedx_problem(doc)
    if problem is not None:
        return None, f"is {problem.replace('not a CycloneDX', 'not a supported CycloneDX')}; replace it"
    return doc, None


def stale_reason(path: Path, fresh: dict[str, Any]) -> str | None:
    """None when `path` holds the same content as `fresh`, else why it must be rewritten."""
    doc, problem = committed(path)
    if doc is None:
        return problem
    return None if content(doc) == content(fresh) else "is stale"


def write_sbom(path: Path, text: str) -> None:
    """Atomic write (mlwarden.fileio via the CLI helper); a new file gets the usual 0666 minus umask, not the
    temporary file's 0600, since an SBOM is meant to be shared. An existing file keeps its mode."""
    from mlwarden.cli._common import write_atomic

    existed = path.exists()
    write_atomic(path, text)
    if not existed:
        umask = os.umask(0)
        os.umask(umask)
        with contextlib.suppress(OSError):  # written correctly; only the mode could not be relaxed
            os.chmod(path, 0o666 & ~umask)
