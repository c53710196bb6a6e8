"""Secrets and personal data in one file: code and text, notebooks cell by cell (sources and outputs), and data
files (CSV/TSV, parquet) by sampling; plus the size and data-file rules (`datafiles`).

Every finding with a line honours the line's inline suppression (`mlwarden.suppress`) and a notebook cell's
tag; suppressed findings are not dropped but returned apart (`FileResult.suppressed`), as are findings that an
existing detect-secrets baseline lists (`FileResult.waived`).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

from mlwarden import suppress
from mlwarden.findings import Finding, Location, Severity
from mlwarden.leaks import datafiles, pii, reading, triage
from mlwarden.leaks.reading import Reading, Unit
from mlwarden.leaks.secrets import Detector, candidate_lines
from mlwarden.policy.model import Policy
from mlwarden.rules import LEAK_NOT_SCANNED, NOTEBOOK_INVALID, PERSONAL_DATA, SECRET, make_finding

_PII_PRAGMA = "pragma: allowlist pii"
# a URL with credentials: user:password@ (or a token as user), or a query parameter (?access_token=...)
_URL_CREDENTIALS = re.compile(r"[A-Za-z][\w+.-]*://(?:[^/\s\"'@]+@|[^\s\"']*\?[^\s\"']*=)")
_ARCHIVES = (".zip", ".gz", ".bz2", ".xz", ".7z", ".tar")


@dataclass
class FileResult:
    findings: list[Finding] = field(default_factory=list)
    waived: list[Finding] = field(default_factory=list)  # listed in .secrets.baseline
    suppressed: list[Finding] = field(default_factory=list)  # silenced by an inline comment or a cell tag


@dataclass
class Context:
    root: Path
    policy: Policy
    detector: Detector
    baseline: dict[str, set[str]]
    waived: list[Finding] = field(default_factory=list)
    suppressed: list[Finding] = field(default_factory=list)
    _lfs: tuple[tuple[int, int] | None, list[str]] = (None, [])

    def lfs_patterns(self) -> list[str]:
        """Git LFS patterns of the root .gitattributes, read again only when that file changes."""
        attributes = self.root / ".gitattributes"
        try:
            stat = attributes.stat()
            stamp: tuple[int, int] | None = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            stamp = None
        if stamp != self._lfs[0]:
            self._lfs = (stamp, datafiles.lfs_patterns(attributes) if stamp else [])
        return self._lfs[1]


def _finding(rule_id: str, path: str, message: str, key: str, *, line: int | None = None, member: str | None = None,
             severity: Severity | None = None, file_line: int | None = None) -> Finding:
    return make_finding(rule_id, Location(path, line=line, member=member, file_line=file_line), message, key,
                        severity=severity)


def scan_file(path: Path, display: str, ctx: Context) -> list[Finding]:
    """The findings of one file; baseline-waived and suppressed ones go to ``ctx.waived`` / ``ctx.suppressed``."""
    result = scan_file_result(path, display, ctx)
    ctx.waived += result.waived
    ctx.suppressed += result.suppressed
    return result.findings


def scan_file_result(path: Path, display: str, ctx: Context) -> FileResult:
    result = FileResult()
    suffix = path.suffix.lower()
    personal: bool | None = None
    try:
        if suffix in _ARCHIVES:
            if suffix in datafiles.DATA_EXTENSIONS and _looks_like_data(path):
                result.findings.append(_finding(LEAK_NOT_SCANNED, display, "compressed data is not opened for personal "
                                                "data; unpack it and scan the files, or keep it out of the "
                                                "repository", "compressed"))
            read = Reading()
        else:
            read = _read(path, suffix, display, result)
        if read.units or suffix in datafiles.INSPECTED_TABLES:
            personal = _scan_units(read, path, display, ctx, result)
    except (OSError, MemoryError, RecursionError, UnicodeError, ValueError) as exc:
        # One bad file never hides another's findings: this one says why it was not scanned.
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        result.findings.append(_finding(LEAK_NOT_SCANNED, display, f"cannot be read: {reason}", "unreadable"))
    result.findings[:0] = datafiles.file_rules(path, display, ctx.policy, ctx.lfs_patterns(), personal=personal)
    return result


def _read(path: Path, suffix: str, display: str, result: FileResult) -> Reading:
    if suffix == ".ipynb":
        read = reading.notebook_units(path)
        if read.invalid_notebook:
            result.findings.append(_finding(NOTEBOOK_INVALID, display, f"notebook is not valid JSON "
                                            f"({read.invalid_notebook}); scanned as plain text", "notebook-json"))
    elif suffix in (".csv", ".tsv"):
        read = reading.table_units(path, "\t" if suffix == ".tsv" else ",")
    elif suffix == ".parquet":
        read, problem = reading.parquet_units(path)
        if problem:
            result.findings.append(_finding(LEAK_NOT_SCANNED, display, f"not scanned for personal data: {problem}",
                                            "parquet"))
    else:
        read = reading.text_units(path)
    for note in read.notes:
        result.findings.append(_finding(LEAK_NOT_SCANNED, display, f"scanned in part: {note}", "limit"))
    return read


def _scan_units(read: Reading, path: Path, display: str, ctx: Context, result: FileResult) -> bool:
    """Secrets and personal data of every unit; whether anything personal was seen (for MW403)."""
    skip_secrets = triage.skip_file(display, read.head)
    place = triage.place_of(display, read.head)
    metadata_file = bool(pii.METADATA_FILES.match(path.name))
    personal = datafiles.personal_header(read.head.split("\n", 1)[0]) if path.suffix.lower() in \
        datafiles.INSPECTED_TABLES else False
    if place.lock:
        # detect-secrets skips lock files (hashes and URLs only; a 1.5 MB uv.lock cost seconds): only lines
        # with credentials in a URL (a private index's user:password@, ?token=) are scanned, for secrets alone.
        read.units = [_url_lines(unit) for unit in read.units]
    for unit in read.units:
        if not skip_secrets:
            _secrets(unit, display, ctx, place, result)
        if unit.personal_data and not skip_secrets:
            found = _personal_data(unit, display, metadata_file, result, fixture=place.fixture)
            personal = personal or found
    return personal


def _url_lines(unit: Unit) -> Unit:
    keep = [i for i, line in enumerate(unit.lines) if "://" in line and _URL_CREDENTIALS.search(line)]
    return replace(unit, lines=[unit.lines[i] for i in keep], numbers=[unit.number(i) for i in keep],
                   first_line=1, personal_data=False)


def _looks_like_data(path: Path) -> bool:
    name = path.name.lower()
    return any(ext in name for ext in (".csv", ".tsv", ".json", ".parquet", "data", "dump", "export"))


def _silenced(unit: Unit, index: int, rule: str) -> bool:
    if suppress.covers(unit.suppressed, rule):
        return True
    return 0 <= index < len(unit.lines) and suppress.is_suppressed(rule, unit.lines[index])


# --- secrets -------------------------------------------------------------------------------------------------------
def _secrets(unit: Unit, display: str, ctx: Context, place: triage.Place, result: FileResult) -> None:
    if unit.columns is not None:
        return  # the rows were already scanned as lines
    known = ctx.baseline.get(display, set())
    output = unit.member is not None and " output " in unit.member
    for secret in ctx.detector.scan(unit.lines, display, unit.first_line, place=place, numbers=unit.numbers):
        if output and secret.type == "Hex High Entropy String" and secret.severity == Severity.MEDIUM:
            # Hex with no keyword in a notebook's printed output: run, trial and node ids of training logs (Ray's
            # 56-hex NodeIDs: 40 medium alarms in one notebook of Made-With-ML). Listed at low.
            secret = replace(secret, severity=Severity.LOW)
        note = "" if secret.severity >= Severity.HIGH else " (test fixture or recording: low unless its format " \
            "verifies)" if place.fixture else ""
        finding = _finding(SECRET, display, f"{secret.type}: {secret.masked}{note}", f"{secret.type}:{secret.hashed}",
                           line=secret.line if secret.line > 0 else None, member=unit.member,
                           severity=secret.severity, file_line=(unit.file_lines or {}).get(secret.line))
        if secret.hashed in known:  # per value, as detect-secrets' baseline stores it: one entry, one secret
            result.waived.append(finding)
        elif _silenced(unit, secret.index, SECRET):
            result.suppressed.append(finding)
        else:
            result.findings.append(finding)


# --- personal data -------------------------------------------------------------------------------------------------
def _severity(kind: str, count: int, context: bool, column_share: float | None, fixture: bool) -> Severity:
    if column_share is not None and column_share >= 0.5 and count >= 5:
        return Severity.HIGH
    if kind == "ipv4-public" and column_share is None:
        return Severity.LOW  # addresses in code and logs are servers far more often than people
    if count >= 20:
        return Severity.HIGH
    if count >= 3 or (context and pii.strong(kind) and not fixture):
        # A validated identifier with personal context is worth a look on its own, except in test data,
        # where one made-up person (a name and a birth date in a fixture) is the norm.
        return Severity.MEDIUM
    return Severity.LOW


@dataclass
class _Group:
    count: int = 0
    context: bool = False
    first: int | None = None
    examples: list[str] = field(default_factory=list)


def _personal_data(unit: Unit, display: str, metadata_file: bool, result: FileResult, *, fixture: bool) -> bool:
    """MW402 per kind (and column) in a unit; whether any was found (suppressed or not)."""
    groups: dict[tuple[str, str | None, bool], _Group] = defaultdict(_Group)
    per_column: Counter[str] = Counter()
    indexes = set(candidate_lines(unit.lines, pii.PREFILTER))
    if unit.columns is not None:
        birth_columns = {name for name in set(unit.columns) if pii.is_dob_column(name)}
        for i, (value, name) in enumerate(zip(unit.lines, unit.columns, strict=True)):
            if value.strip():
                per_column[name] += 1
            if name in birth_columns:
                indexes.add(i)  # plain dates there are birth dates: the prefilter does not look for them
    for i in sorted(indexes):
        line = unit.lines[i]
        column = unit.columns[i] if unit.columns is not None else None
        if _PII_PRAGMA in line:
            continue
        silenced = _silenced(unit, i, PERSONAL_DATA)
        for match in pii.find(line, prefiltered=True, column=column):
            if metadata_file and match.kind == "email":
                continue  # authors and maintainers: published on purpose
            group = groups[(match.kind, column, silenced)]
            group.count += 1
            group.context = group.context or match.context
            if group.first is None:
                group.first = unit.number(i)
            if len(group.examples) < 2:
                group.examples.append(pii.mask(match.value))
    for (kind, column, silenced), group in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        total = per_column[column] if column is not None else 0
        share = group.count / total if column is not None and total else None
        where = f" in column {column!r} ({group.count} of {total} sampled values)" if column is not None else \
            f" ({group.count} occurrence{'s' if group.count > 1 else ''})"
        evidence = ", with personal context" if group.context and column is None else ""
        message = f"personal data: {kind}{where}{evidence}, e.g. {', '.join(group.examples)}"
        number = None if column is not None or group.first is None or group.first < 0 else group.first
        finding = _finding(PERSONAL_DATA, display, message, f"pii:{kind}:{column or unit.member or ''}", line=number,
                           member=f"column {column}" if column is not None else unit.member,
                           severity=_severity(kind, group.count, group.context, share, fixture),
                           file_line=(unit.file_lines or {}).get(number or 0))
        (result.suppressed if silenced else result.findings).append(finding)
    return bool(groups)
