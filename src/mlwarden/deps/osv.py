"""An offline OSV database: a folder of OSV JSON/YAML records, or OSV's zip export, indexed once per database
version and cached as JSON (never pickle), then matched against pins with PEP 440 ordering."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.version import Version

from mlwarden.deps.reading import ReadFailure, read_bytes
from mlwarden.errors import InputError
from mlwarden.paths import resolved
from mlwarden.policy.model import canonicalize_name

INDEX_FORMAT = 3
MAX_RECORD_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Advisory:
    id: str
    aliases: tuple[str, ...]
    summary: str
    fixed: tuple[str, ...]
    score: float | None
    malicious: bool = False  # an OSV MAL- record (ossf/malicious-packages): the release itself is an attack


@dataclass
class LoadStats:
    records: int = 0
    skipped: int = 0
    cached: bool = False
    warnings: tuple[str, ...] = ()
    newest: str = ""  # the newest "modified" time of any record: how fresh the database is
    malicious: int = 0  # MAL- records among them


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mlwarden"


class OsvDatabase:
    """name -> records; each record keeps its ranges and explicit versions for matching."""

    def __init__(self, packages: dict[str, list[dict[str, Any]]], stats: LoadStats) -> None:
        self.packages = packages
        self.stats = stats

    @classmethod
    def load(cls, path: Path, cache_dir: Path | None = None, *, max_age_days: int | None = None,
             now: dt.datetime | None = None) -> OsvDatabase:
        """The database at ``path``; an InputError (exit 2) when it is missing, empty, not OSV, or older than
        ``max_age_days`` (judged by its newest record's "modified" time)."""
        if not path.exists():
            raise InputError(f"OSV database {path} does not exist")
        database = cls._load(path, cache_dir)
        database.check(path, max_age_days, now)
        return database

    def check(self, path: Path, max_age_days: int | None, now: dt.datetime | None = None) -> None:
        stats = self.stats
        if stats.records == 0:
            if stats.skipped:
                raise InputError(f"OSV database {path}: none of its {stats.skipped} files is an OSV record "
                                 f"({stats.warnings[0] if stats.warnings else 'not OSV'})")
            raise InputError(f"OSV database {path} holds no records: nothing could be checked")
        if max_age_days is None:
            return
        if not stats.newest:
            raise InputError(f"OSV database {path}: no record has a 'modified' time, so its age is unknown "
                             f"(osv-max-age-days = {max_age_days})")
        newest = _parse_time(stats.newest)
        current = now or dt.datetime.now(dt.timezone.utc)
        age = (current - newest).days if newest else None
        if age is None or age > max_age_days:
            raise InputError(f"OSV database {path} is {age if age is not None else '?'} days old (newest record "
                             f"modified {stats.newest}); osv-max-age-days is {max_age_days}: update it")

    @classmethod
    def _load(cls, path: Path, cache_dir: Path | None = None) -> OsvDatabase:
        fingerprint = _fingerprint(path)
        cache = (cache_dir or default_cache_dir()) / f"osv-index-{fingerprint}.json"
        try:
            data = json.loads(cache.read_text(encoding="utf-8"))
            if data.get("format") == INDEX_FORMAT:
                stats = LoadStats(records=data["records"], skipped=data["skipped"], cached=True,
                                  warnings=tuple(data.get("warnings", [])), newest=data.get("newest", ""),
                                  malicious=data.get("malicious", 0))
                return cls(data["packages"], stats)
        except (OSError, ValueError, KeyError, TypeError):
            pass
        packages, stats = _build(path)
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"format": INDEX_FORMAT, "records": stats.records, "skipped": stats.skipped,
                                       "warnings": list(stats.warnings), "newest": stats.newest,
                                       "malicious": stats.malicious, "packages": packages}), encoding="utf-8")
            os.replace(tmp, cache)
        except OSError:
            pass  # a read-only home still audits; it just rebuilds next time
        return cls(packages, stats)

    def malicious_names(self) -> set[str]:
        """Canonical names with at least one MAL- record: evidence the typosquat check can share."""
        return {name for name, records in self.packages.items() if any(r.get("malicious") for r in records)}

    def matches(self, name: str, version: str) -> list[Advisory]:
        try:
            parsed = Version(version)
        except ValueError:  # InvalidVersion, or more digits than int() converts (a hostile lock file)
            parsed = None
        out = []
        for record in self.packages.get(canonicalize_name(name), []):
            if _affects(record, version, parsed):
                out.append(Advisory(record["id"], tuple(record["aliases"]), record["summary"],
                                    tuple(record["fixed"]), record["score"], bool(record.get("malicious"))))
        return out


def _fingerprint(path: Path) -> str:
    """Changes whenever the database does: names, sizes and modification times of every record."""
    digest = hashlib.sha256(str(resolved(path)).encode())
    if path.is_file():
        stat = path.stat()
        digest.update(f"{stat.st_size}:{stat.st_mtime_ns}".encode())
    else:
        for dirpath, dirnames, filenames in os.walk(path):
            dirnames.sort()
            for name in sorted(filenames):
                try:
                    stat = os.stat(os.path.join(dirpath, name))
                except OSError:  # a dangling or looping link: the loader reports it, the fingerprint notes it
                    digest.update(f"{dirpath}/{name}:unreadable\n".encode())
                    continue
                digest.update(f"{dirpath}/{name}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    digest.update(str(INDEX_FORMAT).encode())
    return digest.hexdigest()[:24]


def _records(path: Path) -> tuple[list[tuple[str, bytes]], list[str]]:
    out: list[tuple[str, bytes]] = []
    warnings: list[str] = []
    if path.is_file():
        try:
            with zipfile.ZipFile(path) as archive:
                for info in archive.infolist():
                    if not info.filename.endswith((".json", ".yaml", ".yml")):
                        continue
                    if info.file_size > MAX_RECORD_BYTES:
                        warnings.append(f"{info.filename}: larger than {MAX_RECORD_BYTES} bytes; skipped")
                        continue
                    out.append((info.filename, archive.read(info)))
        except (zipfile.BadZipFile, OSError) as exc:
            raise InputError(f"OSV database {path}: not a folder of records or an OSV zip export ({exc})") from None
        return out, warnings
    unreadable: list[str] = []
    # os.walk skips a folder it cannot list unless told: that would silently drop its records.
    for dirpath, _dirnames, filenames in os.walk(path, onerror=lambda exc: unreadable.append(str(exc.filename))):
        for name in sorted(filenames):
            if name.endswith((".json", ".yaml", ".yml")):
                full = os.path.join(dirpath, name)
                try:  # regular files only, within a budget: a FIFO in the database never hangs the audit
                    out.append((full, read_bytes(Path(full), limit=MAX_RECORD_BYTES)))
                except ReadFailure as exc:
                    if str(exc).startswith("cannot read"):
                        unreadable.append(full)
                    else:
                        warnings.append(f"{full}: {exc}")
    if unreadable:
        raise InputError(f"OSV database {path}: {len(unreadable)} file(s) or folder(s) cannot be read (first: "
                         f"{unreadable[0]}); their advisories would be missed")
    return out, warnings


def _build(path: Path) -> tuple[dict[str, list[dict[str, Any]]], LoadStats]:
    import yaml

    records, warnings = _records(path)
    packages: dict[str, list[dict[str, Any]]] = {}
    stats = LoadStats()
    for name, raw in records:
        try:
            doc = json.loads(raw) if name.endswith(".json") else _safe_yaml(raw)
        except (ValueError, yaml.YAMLError) as exc:
            stats.skipped += 1
            warnings.append(f"{name}: not valid JSON/YAML ({(str(exc).splitlines() or [''])[0]})")
            continue
        except RecursionError:  # the recursive parsers give up on deep nesting: one bad record, not a crash
            stats.skipped += 1
            warnings.append(f"{name}: nested too deeply to read")
            continue
        if not isinstance(doc, dict) or "id" not in doc:
            stats.skipped += 1
            warnings.append(f"{name}: not an OSV record")
            continue
        if doc.get("withdrawn"):
            continue
        try:  # typed use of every field: one malformed record is a warning, never a crash nor a lost database
            entries = _entries(doc, name, warnings)
        except (TypeError, AttributeError, ValueError, KeyError, RecursionError) as exc:
            stats.skipped += 1
            warnings.append(f"{name}: unexpected field types ({type(exc).__name__}: {str(exc)[:100]})")
            continue
        stats.records += 1
        modified = doc.get("modified")
        if isinstance(modified, str) and modified > stats.newest and _parse_time(modified):
            stats.newest = modified
        if _is_malicious(doc):
            stats.malicious += 1
        for package_name, entry in entries:
            packages.setdefault(package_name, []).append(entry)
    stats.warnings = tuple(warnings)
    return packages, stats


def _safe_yaml(raw: bytes) -> Any:
    import yaml

    if hasattr(yaml, "CSafeLoader"):  # libyaml: about ten times faster on a 2,600-record database
        return yaml.load(raw, Loader=yaml.CSafeLoader)
    return yaml.safe_load(raw)


def _parse_time(text: str) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _is_malicious(doc: dict[str, Any]) -> bool:
    """ossf/malicious-packages records: MAL- ids, with their origins under database_specific."""
    specific = doc.get("database_specific")
    return str(doc["id"]).startswith("MAL-") or (
        isinstance(specific, dict) and "malicious-packages-origins" in specific)


def _entries(doc: dict[str, Any], source: str, warnings: list[str]) -> list[tuple[str, dict[str, Any]]]:
    if not isinstance(doc.get("affected") or [], list):
        raise TypeError("affected is not a list")
    out = []
    for affected in doc.get("affected") or []:
        if not isinstance(affected, dict):
            raise TypeError("affected[] is not an object")
        package = affected.get("package") or {}
        if not isinstance(package, dict):
            raise TypeError("affected[].package is not an object")
        if package.get("ecosystem") != "PyPI" or not isinstance(package.get("name"), str) or not package["name"]:
            continue
        out.append((canonicalize_name(package["name"]), _entry(doc, affected, source, warnings)))
    return out


def _entry(doc: dict[str, Any], affected: dict[str, Any], source: str, warnings: list[str]) -> dict[str, Any]:
    for key, holder in (("ranges", affected), ("versions", affected), ("aliases", doc)):
        if not isinstance(holder.get(key) or [], list):
            raise TypeError(f"{key} is not a list")
    ranges = []
    fixed: list[str] = []
    for rng in affected.get("ranges") or []:
        if rng.get("type") != "ECOSYSTEM":
            continue  # GIT ranges name commits, not releases
        events = []
        for event in rng.get("events") or []:
            for kind in ("introduced", "fixed", "last_affected", "limit"):
                if kind in event:
                    value = str(event[kind])
                    if value != "0":
                        try:
                            Version(value)
                        except ValueError:  # InvalidVersion, or more digits than int() converts
                            # One bad version must not hide the rest of the record, nor other records.
                            warnings.append(f"{source}: {kind} version {value!r} is not PEP 440; event ignored")
                            continue
                    events.append([kind, value])
                    if kind == "fixed":
                        fixed.append(value)
        ranges.append(events)
    return {
        "id": str(doc["id"]),
        "aliases": [str(a) for a in doc.get("aliases") or []],
        "summary": str(doc.get("summary") or doc.get("details") or "").strip().split("\n")[0][:200],
        "ranges": ranges,
        "versions": [str(v) for v in affected.get("versions") or []],
        "fixed": fixed,
        "score": _score(doc.get("severity") or affected.get("severity") or []),
        "malicious": _is_malicious(doc),
    }


def _affects(record: dict[str, Any], version: str, parsed: Version | None) -> bool:
    if version in record["versions"]:
        return True
    if parsed is None:
        return False
    for events in record["ranges"]:
        affected = False
        # OSV does not promise sorted events; evaluate them in version order ("0" first).
        ordered = sorted(events, key=lambda e: (Version("0") if e[1] == "0" else Version(e[1]), e[0] != "introduced"))
        for kind, value in ordered:
            point = Version("0") if value == "0" else Version(value)
            if kind == "introduced":
                affected = affected or parsed >= point
            elif kind == "last_affected":
                affected = affected and parsed <= point
            else:  # fixed, limit
                affected = affected and parsed < point
        if affected:
            return True
    return False


# --- CVSS v3 base score (the records carry vectors, not numbers) -------------------------------------------------
_W = {"AV": {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2}, "AC": {"L": 0.77, "H": 0.44},
      "UI": {"N": 0.85, "R": 0.62}, "C": {"H": 0.56, "L": 0.22, "N": 0.0}}


def _roundup(value: float) -> float:
    scaled = round(value * 100000)
    return scaled / 100000.0 if scaled % 10000 == 0 else (math.floor(scaled / 10000) + 1) / 10.0


def cvss3_score(vector: str) -> float | None:
    try:
        parts = dict(item.split(":", 1) for item in vector.split("/")[1:])
        scope_changed = parts["S"] == "C"
        pr = {"N": 0.85, "L": 0.68 if scope_changed else 0.62, "H": 0.5 if scope_changed else 0.27}[parts["PR"]]
        iss = 1 - (1 - _W["C"][parts["C"]]) * (1 - _W["C"][parts["I"]]) * (1 - _W["C"][parts["A"]])
        impact = 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15 if scope_changed else 6.42 * iss
        exploitability = 8.22 * _W["AV"][parts["AV"]] * _W["AC"][parts["AC"]] * pr * _W["UI"][parts["UI"]]
    except (KeyError, ValueError):
        return None
    if impact <= 0:
        return 0.0
    total = 1.08 * (impact + exploitability) if scope_changed else impact + exploitability
    return _roundup(min(total, 10.0))


def _score(severities: list[Any]) -> float | None:
    for item in severities:
        if isinstance(item, dict) and str(item.get("type", "")).startswith("CVSS_V3"):
            score = cvss3_score(str(item.get("score", "")))
            if score is not None:
                return score
    return None
