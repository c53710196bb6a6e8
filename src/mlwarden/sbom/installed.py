"""Licences and the dependency graph of an installed environment, from each distribution's METADATA.

The dependency reader (deps/installed.py) gives one Pin per `*.dist-info` (its `file` is that folder); the
Pin model carries no licence or requirements, so the SBOM reads them here from the same METADATA, bounded and
as text, never importing anything. Licence precedence follows the core metadata spec: `License-Expression`
(PEP 639), else `License` when it is a short value, else the `License ::` classifiers. Edges come from
`Requires-Dist`, with markers evaluated for this interpreter and no extra (what pip would have installed).
"""

from __future__ import annotations

from email.message import Message
from email.parser import HeaderParser
from pathlib import Path
from typing import Any

from mlwarden.deps.model import Manifest, Pin
from mlwarden.policy.model import canonicalize_name
from mlwarden.sbom.graph import LockGraph
from mlwarden.sbom.licenses import license_entries

MAX_METADATA_BYTES = 4 * 1024 * 1024
# Trove classifiers to SPDX ids, for the licences whose classifier names exactly one licence.
_CLASSIFIERS = {
    "MIT License": "MIT", "Apache Software License": "Apache-2.0", "BSD License": None,
    "ISC License (ISCL)": "ISC", "Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
    "Python Software Foundation License": "PSF-2.0", "The Unlicense (Unlicense)": "Unlicense",
    "GNU General Public License v2 (GPLv2)": "GPL-2.0-only", "GNU General Public License v3 (GPLv3)": "GPL-3.0-only",
    "GNU Lesser General Public License v3 (LGPLv3)": "LGPL-3.0-only",
    "GNU Lesser General Public License v2 (LGPLv2)": "LGPL-2.0-only", "Zope Public License": "ZPL-2.1",
    "Eclipse Public License 2.0 (EPL-2.0)": "EPL-2.0", "Boost Software License 1.0 (BSL-1.0)": "BSL-1.0",
}


def metadata(pin: Pin, root: Path) -> Message | None:
    from mlwarden.deps.reading import ReadFailure, read_bytes

    folder = Path(pin.file)
    folder = folder if folder.is_absolute() else root / folder
    try:
        raw = read_bytes(folder / "METADATA", limit=MAX_METADATA_BYTES)
    except (ReadFailure, OSError):
        return None
    return HeaderParser().parsestr(raw.decode("utf-8", "replace"), headersonly=True)


def licenses_of(headers: Message) -> list[dict[str, Any]]:
    expression = headers.get("License-Expression")
    if isinstance(expression, str) and expression.strip():
        return license_entries(expression.strip())
    text = headers.get("License")
    if isinstance(text, str) and text.strip().upper() not in ("", "UNKNOWN", "NONE") \
            and "\n" not in text.strip() and len(text.strip()) <= 100:
        return license_entries(text.strip())
    out: list[dict[str, Any]] = []
    for classifier in headers.get_all("Classifier") or []:
        parts = [p.strip() for p in str(classifier).split("::")]
        if len(parts) >= 2 and parts[0] == "License" and parts[-1] != "OSI Approved":
            spdx = _CLASSIFIERS.get(parts[-1])
            entry = {"license": {"id": spdx}} if spdx else {"license": {"name": parts[-1]}}
            if entry not in out:
                out.append(entry)
    return out


def requirements_of(headers: Message) -> set[str]:
    from packaging.requirements import InvalidRequirement, Requirement

    names: set[str] = set()
    for line in headers.get_all("Requires-Dist") or []:
        try:
            requirement = Requirement(str(line))
        except InvalidRequirement:
            continue
        try:
            if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
                continue
        except Exception:  # noqa: BLE001, S110 - an unusual marker: keep the edge rather than lose it
            pass
        names.add(canonicalize_name(requirement.name))
    return names


def installed_facts(manifest: Manifest, root: Path) -> tuple[dict[str, list[dict[str, Any]]], LockGraph | None]:
    """Per pin file (dist-info): its licences; and the environment's graph (None for other manifests)."""
    if manifest.kind != "installed":
        return {}, None
    licences: dict[str, list[dict[str, Any]]] = {}
    graph = LockGraph()
    present = {canonicalize_name(pin.name) for pin in manifest.pins}
    for pin in manifest.pins:
        headers = metadata(pin, root)
        me = (canonicalize_name(pin.name), pin.version)
        graph.edges[me] = set()
        if headers is None:
            continue
        licences[pin.file] = licenses_of(headers)
        graph.edges[me] = {(name, None) for name in requirements_of(headers) & present}
    return licences, graph
