"""Offline and online audits against real advisory records: no advisory missed, none invented."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.version import InvalidVersion, Version

from mlwarden.cli import main
from mlwarden.deps.audit import audit_offline, auditable_pins
from mlwarden.deps.formats import parse_file
from mlwarden.deps.osv import OsvDatabase, cvss3_score
from mlwarden.policy import Policy
from tests.conftest import ROOT

DB = ROOT / "tests" / "data" / "advisories"

STACKS = {
    "ds2021": {"numpy": "1.19.5", "pandas": "1.2.0", "scikit-learn": "0.24.0", "pillow": "8.0.1",
               "jinja2": "2.11.2", "pyyaml": "5.3.1", "urllib3": "1.26.3", "requests": "2.25.1",
               "notebook": "6.1.5", "lxml": "4.6.2", "tqdm": "4.55.0"},
    "ds2023": {"numpy": "1.24.2", "pandas": "1.5.3", "torch": "1.13.1", "pillow": "9.3.0", "aiohttp": "3.8.3",
               "cryptography": "39.0.0", "mlflow": "2.1.1", "setuptools": "65.5.0", "certifi": "2022.12.7",
               "werkzeug": "2.2.2", "requests": "2.28.2"},
    "ds2024": {"numpy": "1.26.4", "pandas": "2.2.0", "torch": "2.2.0", "scikit-learn": "1.4.0", "jinja2": "3.1.3",
               "gradio": "4.19.0", "idna": "3.6", "tqdm": "4.66.1", "urllib3": "2.2.0", "requests": "2.31.0",
               "mlflow": "2.10.0"},
}


def expected(stack: dict[str, str]) -> set[tuple[str, str]]:
    """What the records imply, computed independently: each ECOSYSTEM range as a PEP 440 interval, plus the
    explicit version lists."""
    out = set()
    for path in sorted(DB.rglob("*.yaml")):
        record = yaml.safe_load(path.read_text())
        if record.get("withdrawn"):
            continue
        for affected in record["affected"]:
            name = affected["package"]["name"].lower().replace("_", "-")
            if name not in stack:
                continue
            version = Version(stack[name])
            hit = stack[name] in [str(v) for v in affected.get("versions", [])]
            for rng in affected.get("ranges", []):
                if rng["type"] != "ECOSYSTEM":
                    continue
                low: Version | None = None
                intervals: list[tuple[Version, Version | None]] = []
                for event in rng["events"]:
                    if "introduced" in event:
                        low = Version("0") if str(event["introduced"]) == "0" else Version(str(event["introduced"]))
                    elif "fixed" in event and low is not None:
                        with contextlib.suppress(InvalidVersion):
                            intervals.append((low, Version(str(event["fixed"]))))
                        low = None
                if low is not None:
                    intervals.append((low, None))
                hit = hit or any(a <= version and (b is None or version < b) for a, b in intervals)
            if hit:
                out.add((name, record["id"]))
    return out


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> OsvDatabase:
    return OsvDatabase.load(DB, tmp_path_factory.mktemp("cache"))


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_stacks_match_the_records(tmp_path: Path, database: OsvDatabase, stack: str) -> None:
    pins = STACKS[stack]
    (tmp_path / "requirements.txt").write_text("".join(f"{n}=={v}\n" for n, v in pins.items()))
    manifest = parse_file(tmp_path / "requirements.txt", tmp_path)[0]
    audit_pins, unaudited = auditable_pins([manifest])
    assert not unaudited
    result = audit_offline(audit_pins, database, Policy())
    got = {(f.message.split()[0], f.key.split(":")[0]) for f in result.findings}
    want = expected(pins)
    assert got == want
    assert want, "each stack has known advisories"


def test_index_is_cached_and_rebuilt_when_the_database_changes(tmp_path: Path) -> None:
    db = tmp_path / "db"
    db.mkdir()
    (db / "a.yaml").write_text(yaml.safe_dump(_record("PYSEC-1", "demo", "1.0", "1.5")))
    cache = tmp_path / "cache"
    first = OsvDatabase.load(db, cache)
    assert not first.stats.cached
    assert [a.id for a in first.matches("demo", "1.2")] == ["PYSEC-1"]
    second = OsvDatabase.load(db, cache)
    assert second.stats.cached
    assert list(cache.glob("*.json"))
    assert not list(cache.glob("*.pickle"))
    (db / "b.json").write_text(json.dumps(_record("PYSEC-2", "demo", "0", "2.0")))
    third = OsvDatabase.load(db, cache)
    assert not third.stats.cached
    assert {a.id for a in third.matches("Demo", "1.2")} == {"PYSEC-1", "PYSEC-2"}


def test_unparsable_version_never_hides_the_others(tmp_path: Path) -> None:
    db = tmp_path / "db"
    db.mkdir()
    bad = _record("PYSEC-BAD", "demo", "0", "2019-09-12-not-pep440")
    bad["affected"][0]["ranges"][0]["events"].insert(1, {"fixed": "3.0"})
    (db / "bad.yaml").write_text(yaml.safe_dump(bad))
    (db / "good.yaml").write_text(yaml.safe_dump(_record("PYSEC-GOOD", "demo", "1.0", "4.0")))
    (db / "broken.yaml").write_text("id: [unclosed\n")
    loaded = OsvDatabase.load(db, tmp_path / "cache")
    assert {a.id for a in loaded.matches("demo", "2.0")} == {"PYSEC-BAD", "PYSEC-GOOD"}
    assert {a.id for a in loaded.matches("demo", "3.5")} == {"PYSEC-GOOD"}
    assert any("not PEP 440" in w for w in loaded.stats.warnings)
    assert any("broken.yaml" in w for w in loaded.stats.warnings)


def test_osv_zip_export(tmp_path: Path) -> None:
    import zipfile

    with zipfile.ZipFile(tmp_path / "all.zip", "w") as archive:
        archive.writestr("PYSEC-9.json", json.dumps(_record("PYSEC-9", "demo", "0", "1.1")))
    assert [a.id for a in OsvDatabase.load(tmp_path / "all.zip", tmp_path / "c").matches("demo", "1.0")] == ["PYSEC-9"]


def test_cvss_scores() -> None:
    assert cvss3_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H") == 9.8
    assert cvss3_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N") == 5.4
    assert cvss3_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N") == 6.1
    assert cvss3_score("garbage") is None


def _record(vid: str, name: str, introduced: str, fixed: str) -> dict[str, Any]:
    return {"id": vid, "modified": "2024-01-01T00:00:00Z", "aliases": [f"CVE-{vid}"], "summary": f"{vid} summary",
            "affected": [{"package": {"name": name, "ecosystem": "PyPI"},
                          "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": introduced}, {"fixed": fixed}]}]}],
            "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}


# --- CLI ------------------------------------------------------------------------------------------------------------
@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    (tmp_path / "requirements.txt").write_text("jinja2==2.11.2\nnumpy==1.26.4\n")
    return tmp_path


def test_cli_audit_offline(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--db", str(DB), "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    ids = {r["message"].split(":")[1].strip().split()[0] for r in doc["results"]}
    assert "PYSEC-2021-66" in ids or any(r["rule_id"] == "MW311" for r in doc["results"])
    assert all(r["path"] == "requirements.txt" and r["line"] == 1 for r in doc["results"])
    assert doc["inventory"]["audit"] == {"audited": 2, "unaudited": 0}


def test_cli_audit_waivers_and_fail_closed(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ids = sorted({a.id for a in OsvDatabase.load(DB, project / "c").matches("jinja2", "2.11.2")})
    aliases = {a.id: a.aliases for a in OsvDatabase.load(DB, project / "c").matches("jinja2", "2.11.2")}
    (project / "allowlists").mkdir()
    entries = "".join(f"[[exception]]\nvulnerability = '{aliases[i][0] if aliases[i] else i}'\nreason = 'r'\n"
                      "owner = 'o'\nadded = 2026-01-01\nexpires = 2099-01-01\n" for i in ids)
    (project / "allowlists" / "p.toml").write_text("schema_version = 1\n" + entries)
    assert main(["audit", "--db", str(DB)]) == 0
    (project / "requirements.txt").write_text("jinja2>=2\n")
    assert main(["audit", "--db", str(DB)]) == 2
    assert "could not be audited: not pinned" in capsys.readouterr().out
    assert main(["audit", "--db", str(DB), "--allow-unaudited"]) == 0
    assert main(["audit"]) == 2  # no database and not --online


def test_cli_audit_online_fails_closed(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("pip_audit")
    assert main(["audit", "--online", "--osv-url", "http://127.0.0.1:9/v1/query"]) == 2
    assert "could not be audited" in capsys.readouterr().out


@pytest.fixture
def osv_server() -> Iterator[str]:
    from tests.deps.osv_server import serve

    with serve(OsvDatabase.load(DB, None)) as url:
        yield url


def test_cli_audit_online_through_pip_audit(project: Path, osv_server: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("pip_audit")
    assert main(["audit", "--online", "--osv-url", osv_server, "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert {r["rule_id"] for r in doc["results"]} == {"MW311"}
    assert all("jinja2 2.11.2" in r["message"] for r in doc["results"])
