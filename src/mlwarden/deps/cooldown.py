"""Cooldown: no dependency version uploaded less than N days ago (policy ``cooldown_days``), as uv's
``exclude-newer`` and pnpm's ``minimumReleaseAge`` do. Hijacked releases are usually found and yanked within
days, so waiting keeps them out.

Offline, upload times come from the lock (uv.lock ``upload-time``, pylock ``upload-time``); online (optional),
from PyPI's JSON API, cached on disk. A pin whose time is unknown is listed in coverage, never passed silently.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from mlwarden.deps.model import Manifest, Pin
from mlwarden.findings import Finding, Location
from mlwarden.policy.model import Policy, canonicalize_name
from mlwarden.rules import DEP_COOLDOWN, make_finding

PYPI_JSON = "https://pypi.org/pypi/{name}/{version}/json"


@dataclass
class CooldownResult:
    findings: list[Finding] = field(default_factory=list)
    waived: list[Finding] = field(default_factory=list)
    unknown: list[Pin] = field(default_factory=list)  # pins whose upload time is not known: coverage
    checked: int = 0

    def coverage(self) -> list[str]:
        if not self.unknown:
            return []
        names = ", ".join(sorted({p.name for p in self.unknown})[:10])
        more = "…" if len({p.name for p in self.unknown}) > 10 else ""
        return [f"cooldown not checked for {len(self.unknown)} pinned dependenc"
                f"{'y' if len(self.unknown) == 1 else 'ies'} without an upload time ({names}{more})"]


def _parse(text: str) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def check_cooldown(manifests: Iterable[Manifest], days: int, policy: Policy, *,
                   now: dt.datetime | None = None, times: dict[tuple[str, str], str] | None = None) -> CooldownResult:
    """MW314 for each pinned PyPI version younger than ``days``. ``times`` adds upload times found elsewhere
    (the online look-up), keyed by (canonical name, version). A [[package]] allow entry naming the version
    (``versions = "==x.y.z"``) waives it: the advisor accepted an urgent security update."""
    result = CooldownResult()
    if days <= 0:
        return result
    current = now or dt.datetime.now(dt.timezone.utc)
    limit = current - dt.timedelta(days=days)
    seen: set[tuple[str, str, str]] = set()
    for manifest in manifests:
        for pin in manifest.pins:
            if pin.ecosystem != "PyPI" or pin.version is None or (pin.source and pin.source.kind != "index"):
                continue
            key = (pin.file, canonicalize_name(pin.name), pin.version)
            if key in seen:
                continue
            seen.add(key)
            uploaded = pin.uploaded or (times or {}).get((key[1], pin.version))
            moment = _parse(uploaded) if uploaded else None
            if moment is None:
                if manifest.kind != "pyproject":  # ranges in pyproject are resolved by the lock, not installed
                    result.unknown.append(pin)
                continue
            result.checked += 1
            if moment <= limit:
                continue
            age = max(0, (current - moment).days)
            finding = make_finding(DEP_COOLDOWN, Location(pin.file, line=pin.line),
                                   f"{pin.name} {pin.version} was uploaded {uploaded} ({age} day"
                                   f"{'' if age == 1 else 's'} ago); the policy's cooldown is {days} days",
                                   f"cooldown:{key[1]}:{pin.version}")
            decision, entry = policy.package_decision(pin.name, pin.version)
            if decision == "allowed" and entry is not None and entry.get("versions"):
                result.waived.append(finding)
            else:
                result.findings.append(finding)
    return result


def upload_times_online(pins: Iterable[Pin], cache_dir: Path, *, timeout: float = 10.0,
                        url_template: str = PYPI_JSON, workers: int = 8) -> dict[tuple[str, str], str]:
    """Newest upload time of each (name, version) from PyPI's JSON API, cached per release (releases are
    immutable except for added files, so a cached time only ever errs towards older). Failures are left out:
    the caller lists them as unknown. Look-ups run in a few threads: a lock names hundreds of releases."""
    from concurrent.futures import ThreadPoolExecutor

    wanted: dict[tuple[str, str], None] = {}
    for pin in pins:
        if pin.version is None:
            continue
        name = canonicalize_name(pin.name)
        if re.fullmatch(r"[a-z0-9][a-z0-9._-]*", name) and re.fullmatch(r"[A-Za-z0-9._+!-]+", pin.version):
            wanted[(name, pin.version)] = None
    cache_dir.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        found = list(pool.map(lambda key: _upload_time(key[0], key[1], cache_dir, timeout, url_template), wanted))
    return {key: time for key, time in zip(wanted, found, strict=True) if time is not None}


def _upload_time(name: str, version: str, cache_dir: Path, timeout: float, url_template: str) -> str | None:
    import urllib.error
    import urllib.request

    cached = cache_dir / f"pypi-upload-{name}-{version}.json"
    try:
        value = json.loads(cached.read_text(encoding="utf-8"))["uploaded"]
        if isinstance(value, str):
            return value
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        with urllib.request.urlopen(url_template.format(name=name, version=version),  # noqa: S310 - https
                                    timeout=timeout) as response:
            data = json.loads(response.read(16 * 1024 * 1024))
        times = [u.get("upload_time_iso_8601") for u in data.get("urls", []) if isinstance(u, dict)]
        newest = max(t for t in times if isinstance(t, str))
    except (urllib.error.URLError, OSError, ValueError, TypeError, AttributeError):
        return None
    tmp = cached.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        tmp.write_text(json.dumps({"uploaded": newest}), encoding="utf-8")
        os.replace(tmp, cached)
    except OSError:
        pass
    return newest


def with_times(pins: Iterable[Pin], times: dict[tuple[str, str], str]) -> list[Pin]:
    return [replace(p, uploaded=p.uploaded or times.get((canonicalize_name(p.name), p.version or "")))
            for p in pins]


def check_cooldown_with_index(manifests: list[Manifest], days: int, policy: Policy, cache_dir: Path, *,
                              now: dt.datetime | None = None, timeout: float = 10.0,
                              url_template: str = PYPI_JSON) -> CooldownResult:
    """The cooldown with the index's upload times for pins whose lock records none (online, cached); what the
    index could not answer stays in the coverage notes."""
    offline = check_cooldown(manifests, days, policy, now=now)
    if not offline.unknown:
        return offline
    times = upload_times_online(offline.unknown, cache_dir, timeout=timeout, url_template=url_template)
    return check_cooldown(manifests, days, policy, now=now, times=times)


def json_api_template(base: str | None) -> str:
    """The per-release JSON URL of an index's JSON API base (a PyPI mirror, or PyPI itself by default)."""
    if not base:
        return PYPI_JSON
    return base.rstrip("/") + "/{name}/{version}/json"
