"""Policy rules on files as files: over the size limit (MW404) and datasets committed (MW403).

A table of metrics, results or a few hundred numbers is what experiments produce and what people commit on
purpose; a dataset is large, or holds people. So MW403 is medium only for a data file with personal-looking
columns or content, or over LARGE_DATA_BYTES; a small table without either is low (still listed, never
blocking), and nothing at all once its extension is allowed by the policy.
"""

from __future__ import annotations

import fnmatch
import os
import re
from pathlib import Path

from mlwarden.findings import Finding, Location, Severity
from mlwarden.policy.model import Policy
from mlwarden.rules import DATA_FILE, FILE_TOO_LARGE, make_finding

DATA_EXTENSIONS = (".csv", ".tsv", ".parquet", ".jsonl", ".ndjson", ".feather", ".arrow", ".orc", ".avro", ".xlsx",
                   ".xls", ".sav", ".dta", ".sas7bdat", ".h5", ".hdf5", ".npy", ".npz", ".pkl", ".pickle", ".db",
                   ".sqlite", ".zip", ".gz", ".tar", ".7z")
# Models and archives have their own rules (model scanning, MW405); these are datasets as such.
_NOT_DATASETS = (".zip", ".gz", ".tar", ".7z", ".pkl", ".pickle", ".npy", ".npz", ".h5", ".hdf5")
# Text tables whose content the leak scan reads, so their columns can say whether they hold people.
INSPECTED_TABLES = (".csv", ".tsv", ".parquet", ".jsonl", ".ndjson")
LARGE_DATA_BYTES = 5 * 1024 * 1024
# Columns that identify people on their own, and columns that do so only together (a name and an age).
_STRONG_COLUMN = re.compile(
    r"(?i)(?:^|[\W_])(?:e-?mail|mail|phone|tel|mobile|first_?name|last_?name|full_?name|surname|prenom|prénom"
    r"|address|adresse|street|birth|dob|naissance|ssn|nir|passport|iban|card_?number|credit_?card|salary"
    r"|income|patient|diagnos\w*|ip_?addr(?:ess)?|user_?id|customer(?:_?id)?|client_?id|username|login"
    r"|national_?id|social_?security)(?:$|[\W_])")
_WEAK_COLUMN = re.compile(r"(?i)(?:^|[\W_])(?:name|nom|age|gender|sex|city|zip|postcode|postal_?code|religion"
                          r"|ethnicity|weight|height)(?:$|[\W_])")


def lfs_patterns(attributes: Path) -> list[str]:
    from mlwarden.errors import InputError
    from mlwarden.safeload import read_text_bounded

    try:  # bounded and regular files only: a FIFO .gitattributes hung the leak scan
        text = read_text_bounded(attributes, 4 << 20, errors="replace")
    except InputError:
        return []
    patterns = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) > 1 and "filter=lfs" in parts[1:]:
            patterns.append(parts[0])
    return patterns


def personal_header(header: str) -> bool:
    """Whether a table's first line names people's data: one identifying column (email, birth date, IBAN …)
    or two that identify together (a name and an age). `name` alone is a city's or a station's."""
    names = [name.strip().strip("\"'") for name in re.split(r"[,\t;|]", header[:4096])]
    return any(_STRONG_COLUMN.search(n) for n in names) or sum(bool(_WEAK_COLUMN.search(n)) for n in names) >= 2


def file_rules(path: Path, display: str, policy: Policy, lfs: list[str], *, personal: bool | None) -> list[Finding]:
    """MW404 and MW403 for one file. ``personal``: whether its content looked personal (None: not inspected)."""
    out: list[Finding] = []
    try:
        size = os.stat(path).st_size
    except OSError:
        return out
    tracked = any(fnmatch.fnmatch(display, p) or fnmatch.fnmatch(path.name, p) for p in lfs)
    limit = policy.settings.max_file_mb * 1024 * 1024
    if size > limit and not tracked:
        out.append(make_finding(FILE_TOO_LARGE, Location(display), f"{size / 1e6:,.1f} MB is over the "
                                f"{policy.settings.max_file_mb} MB limit: it belongs in Git LFS or a data store "
                                "(DVC, object storage)", "size"))
    suffix = path.suffix.lower()
    allowed = {e.lower().lstrip(".") for e in policy.settings.allowed_data_extensions}
    if suffix not in DATA_EXTENSIONS or suffix.lstrip(".") in allowed or tracked or suffix in _NOT_DATASETS:
        return out
    if suffix in INSPECTED_TABLES and not personal and size < LARGE_DATA_BYTES:
        severity, why = Severity.LOW, "a small table without personal columns (metrics, results?)"
    elif not personal and size < LARGE_DATA_BYTES:
        severity, why = Severity.LOW, f"{size / 1e6:,.1f} MB; its content is not inspected"
    else:
        severity = Severity.MEDIUM
        why = "it holds personal-looking data" if personal else f"{size / 1e6:,.1f} MB of data"
    out.append(make_finding(DATA_FILE, Location(display), f"{suffix} data file committed ({why}): datasets belong in "
                            "a data store (DVC, object storage) or Git LFS; allow the extension in [policy] "
                            "allowed_data_extensions if it is reviewed sample data", "data-file", severity=severity))
    return out
