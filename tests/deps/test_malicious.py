"""Malicious packages (OSV MAL- records), .pth files that run code at start-up, installed environments and the
cooldown."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from mlwarden.cli import main
from mlwarden.deps.audit import audit_offline, auditable_pins
from mlwarden.deps.cooldown import check_cooldown
from mlwarden.deps.formats import parse_file
from mlwarden.deps.installed import parse_installed, pth_findings, scan_wheel
from mlwarden.deps.model import Pin
from mlwarden.deps.osv import OsvDatabase
from mlwarden.findings import Severity
from mlwarden.policy import Policy, load_policy
from mlwarden.policy.model import Settings
from tests.conftest import ROOT

DB = ROOT / "tests" / "data" / "advisories"
MAL = DB / "malicious"
LOCKS = ROOT / "tests" / "data" / "locks"
META = "reason = 'r'\nowner = 'o'\nadded = 2026-01-01\nexpires = 2099-01-01\n"


def test_mal_record_is_critical_with_its_id(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("0x000testqwe==5.20.4\n1337test==1\nrequests==2.32.3\n"
                                               "0x000testqwe-not==5.20.4\n")
    manifests = parse_file(tmp_path / "requirements.txt", tmp_path)
    pins, _ = auditable_pins(manifests)
    database = OsvDatabase.load(MAL, tmp_path / "cache")
    assert database.stats.malicious == 2
    result = audit_offline(pins, database, Policy())
    found = {(f.rule, f.severity, f.key) for f in result.findings}
    assert found == {("MW313", Severity.CRITICAL, "MAL-2025-6428:0x000testqwe"),
                     ("MW313", Severity.CRITICAL, "MAL-2024-4720:1337test")}


def test_mal_record_only_for_listed_versions(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("0x000testqwe==5.20.3\n")
    pins, _ = auditable_pins(parse_file(tmp_path / "requirements.txt", tmp_path))
    assert audit_offline(pins, OsvDatabase.load(MAL, tmp_path / "cache"), Policy()).findings == []


def test_mal_record_from_a_zip_export_and_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    archive = tmp_path / "osv.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for record in MAL.rglob("*.json"):
            out.write(record, record.name)
    project = tmp_path / "p"
    project.mkdir()
    (project / "uv.lock").write_text(
        'version = 1\nrevision = 3\n\n[[package]]\nname = "1337test"\nversion = "1"\n'
        'source = { registry = "https://pypi.org/simple" }\n')
    monkeypatch.chdir(project)
    assert main(["audit", "--db", str(archive), "--cache-dir", str(tmp_path / "c")]) == 1
    assert "MW313" in capsys.readouterr().out


def test_mal_record_is_not_waived_by_a_vulnerability_exception(tmp_path: Path) -> None:
    (tmp_path / "allowlists").mkdir()
    (tmp_path / "allowlists" / "p.toml").write_text(
        f'schema_version = 1\n[[exception]]\nvulnerability = "MAL-2024-4720"\n{META}')
    (tmp_path / "requirements.txt").write_text("1337test==1\n")
    pins, _ = auditable_pins(parse_file(tmp_path / "requirements.txt", tmp_path))
    result = audit_offline(pins, OsvDatabase.load(MAL, tmp_path / "cache"), load_policy(tmp_path))
    assert [f.rule for f in result.findings] == ["MW313"]


# --- .pth files -------------------------------------------------------------------------------------------------
LITELLM_STYLE = "import os, base64; exec(base64.b64decode('cHJpbnQoJ2hhcm1sZXNzIG1hcmtlcicp'))\n"


def _wheel(path: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as out:
        for name, text in members.items():
            out.writestr(name, text)
    return path


def test_pth_in_a_wheel_like_litellm_1_82_8(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path / "litellm-1.82.8-py3-none-any.whl", {
        "litellm/__init__.py": "", "litellm_init.pth": LITELLM_STYLE,
        "litellm-1.82.8.dist-info/METADATA": "Name: litellm\nVersion: 1.82.8\n"})
    [finding] = scan_wheel(wheel, "litellm-1.82.8-py3-none-any.whl")
    assert finding.rule == "MW315"
    assert finding.severity == Severity.CRITICAL
    assert finding.location.member == "litellm_init.pth"


def test_pth_in_wheel_data_purelib_and_plain_paths(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path / "x-1.0-py3-none-any.whl", {
        "x-1.0.data/purelib/x.pth": "import x_hook\n", "paths.pth": "/opt/lib\n# comment\n",
        "x/inner.pth": "import never_installed_here\n"})
    findings = scan_wheel(wheel, "x.whl")
    assert [(f.location.member, f.severity) for f in findings] == [("x-1.0.data/purelib/x.pth", Severity.HIGH)]


def test_known_pth_lines_are_not_reported() -> None:
    site = Path(sysconfig.get_paths()["purelib"])
    for pth in site.glob("*.pth"):  # setuptools' distutils-precedence.pth, editable installs of this project
        assert pth_findings(pth.read_text(encoding="utf-8", errors="replace"), pth.name) == [], pth.name
    assert pth_findings("import _virtualenv\n", "_virtualenv.pth") == []
    assert pth_findings("importlib\nimport\tsys; sys.path.append('/x')\n", "a.pth")[0].location.line == 2


def test_installed_environment_matches_importlib_metadata() -> None:
    site = Path(sysconfig.get_paths()["purelib"])
    [manifest] = parse_installed(site, site)
    ours = {(p.name.lower().replace("_", "-"), p.version) for p in manifest.pins}
    truth = {((d.metadata["Name"] or "").lower().replace("_", "-"), d.version)
             for d in importlib.metadata.distributions(path=[str(site)])}
    assert ours == truth
    assert not [p for p in manifest.problems if p.fatal]


def test_installed_environment_with_a_malicious_pth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    site = tmp_path / "venv" / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    info = site / "litellm-1.82.8.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: litellm\nVersion: 1.82.8\n\n")
    (site / "litellm_init.pth").write_text(LITELLM_STYLE)
    (info / "RECORD").write_text("litellm_init.pth,sha256=x,100\nlitellm/__init__.py,,\n")
    [manifest] = parse_installed(tmp_path / "venv", tmp_path)
    assert [(p.name, p.version) for p in manifest.pins] == [("litellm", "1.82.8")]
    assert [f.rule for f in manifest.extra_findings] == ["MW315"]
    assert "installed by litellm 1.82.8" in manifest.extra_findings[0].message
    monkeypatch.chdir(tmp_path)
    (tmp_path / "requirements.txt").write_text("litellm==1.82.8\n")
    assert main(["deps", "--installed", str(tmp_path / "venv")]) == 1
    assert "litellm_init.pth" in capsys.readouterr().out


def test_not_an_environment_is_an_error(tmp_path: Path) -> None:
    [manifest] = parse_installed(tmp_path, tmp_path)
    assert manifest.problems[0].fatal


# --- cooldown ---------------------------------------------------------------------------------------------------
def test_cooldown_from_uv_lock_upload_times() -> None:
    manifests = parse_file(LOCKS / "uv-spectree" / "uv.lock", LOCKS / "uv-spectree")
    newest = max(p.uploaded or "" for m in manifests for p in m.pins)
    now = dt.datetime.fromisoformat(newest.replace("Z", "+00:00")) + dt.timedelta(days=3)
    policy = Policy(settings=Settings(cooldown_days=7))
    result = check_cooldown(manifests, 7, policy, now=now)
    young = {p.name for m in manifests for p in m.pins
             if p.uploaded and dt.datetime.fromisoformat(p.uploaded.replace("Z", "+00:00")) > now - dt.timedelta(7)}
    assert young
    assert {f.key.split(":")[1] for f in result.findings} == young
    assert all(f.rule == "MW314" for f in result.findings)
    assert result.checked == sum(len(m.pins) for m in manifests)
    assert check_cooldown(manifests, 0, policy, now=now).findings == []


def test_cooldown_waived_for_an_approved_version(tmp_path: Path) -> None:
    (tmp_path / "pylock.toml").write_text(
        'lock-version = "1.0"\ncreated-by = "uv"\n\n[[packages]]\nname = "urllib3"\nversion = "2.5.0"\n'
        'index = "https://pypi.org/simple"\nwheels = [{ url = "https://files.pythonhosted.org/u.whl", '
        'upload-time = 2026-06-18T16:12:49Z, hashes = { sha256 = "' + "a" * 64 + '" } }]\n')
    now = dt.datetime(2026, 6, 20, tzinfo=dt.timezone.utc)
    manifests = parse_file(tmp_path / "pylock.toml", tmp_path)
    assert [f.rule for f in check_cooldown(manifests, 7, Policy(), now=now).findings] == ["MW314"]
    (tmp_path / "allowlists").mkdir()
    (tmp_path / "allowlists" / "p.toml").write_text(
        f'schema_version = 1\n[policy]\ncooldown_days = 7\n[[package]]\nname = "urllib3"\nversions = "==2.5.0"\n'
        f'{META}')
    policy = load_policy(tmp_path)
    assert policy.settings.cooldown_days == 7
    result = check_cooldown(manifests, 7, policy, now=now)
    assert result.findings == []
    assert [f.rule for f in result.waived] == ["MW314"]


def test_cooldown_lists_pins_without_times_in_coverage() -> None:
    manifests = parse_file(LOCKS / "poetry-2.x-self" / "poetry.lock", LOCKS / "poetry-2.x-self")
    result = check_cooldown(manifests, 7, Policy())
    assert result.checked == 0
    assert len(result.unknown) == len([p for p in manifests[0].pins if p.source is None or
                                       p.source.kind == "index"])
    assert "cooldown not checked" in result.coverage()[0]


def test_mal_record_from_the_online_osv_path(tmp_path: Path) -> None:
    pytest.importorskip("pip_audit")
    from mlwarden.deps.audit import audit_online
    from tests.deps.osv_server import serve

    (tmp_path / "requirements.txt").write_text("1337test==1\n")
    pins, _ = auditable_pins(parse_file(tmp_path / "requirements.txt", tmp_path))
    with serve(OsvDatabase.load(MAL, tmp_path / "cache")) as url:
        result = audit_online(pins, Policy(), osv_url=url)
    assert [(f.rule, f.severity) for f in result.findings] == [("MW313", Severity.CRITICAL)]


def test_cooldown_upload_times_from_the_index_cached(tmp_path: Path) -> None:
    from mlwarden.deps.cooldown import upload_times_online, with_times
    from tests.deps.osv_server import serve_json

    asked: list[str] = []

    def answer(path: str) -> tuple[int, object]:
        asked.append(path)
        return 200, {"urls": [{"upload_time_iso_8601": "2026-06-18T16:12:49.000000Z"},
                              {"upload_time_iso_8601": "2026-06-17T10:00:00.000000Z"}]}

    with serve_json(answer) as base:
        template = f"{base}/pypi/{{name}}/{{version}}/json"
        (tmp_path / "requirements.txt").write_text("urllib3==2.5.0\n")
        manifests = parse_file(tmp_path / "requirements.txt", tmp_path)
        pins = manifests[0].pins
        times = upload_times_online(pins, tmp_path / "cache", url_template=template)
        assert times == {("urllib3", "2.5.0"): "2026-06-18T16:12:49.000000Z"}
        assert upload_times_online(pins, tmp_path / "cache", url_template=template) == times  # from the cache
        assert asked == ["/pypi/urllib3/2.5.0/json"]
    now = dt.datetime(2026, 6, 20, tzinfo=dt.timezone.utc)
    assert [f.rule for f in check_cooldown(manifests, 7, Policy(), now=now, times=times).findings] == ["MW314"]
    assert with_times(pins, times)[0].uploaded == "2026-06-18T16:12:49.000000Z"


def test_wheel_in_the_tree_is_read_by_deps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    _wheel(tmp_path / "litellm-1.82.8-py3-none-any.whl", {"litellm_init.pth": LITELLM_STYLE})
    _wheel(tmp_path / "numpy-1.26.4-py3-none-any.whl", {"numpy/__init__.py": "", "numpy.pth": "numpy_libs\n"})
    monkeypatch.chdir(tmp_path)
    assert main(["deps"]) == 1
    out = capsys.readouterr().out
    assert "MW315" in out
    assert "litellm_init.pth" in out
    assert "numpy-1.26.4-py3-none-any.whl" not in out  # a path line is not code
    [manifest] = parse_file(tmp_path / "litellm-1.82.8-py3-none-any.whl", tmp_path)
    assert [(p.name, p.version) for p in manifest.pins] == [("litellm", "1.82.8")]


def test_installed_venv_with_lib64_link_is_read_once(tmp_path: Path) -> None:
    site = tmp_path / "venv" / "lib" / "python3.11" / "site-packages"
    (site / "six-1.16.0.dist-info").mkdir(parents=True)
    (site / "six-1.16.0.dist-info" / "METADATA").write_text("Name: six\nVersion: 1.16.0\n\n")
    (tmp_path / "venv" / "lib64").symlink_to("lib")
    manifests = parse_installed(tmp_path / "venv", tmp_path)
    assert [(p.name, p.version) for m in manifests for p in m.pins] == [("six", "1.16.0")]


def test_cooldown_with_index_asks_only_for_pins_without_times(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import mlwarden.deps.cooldown as cooldown

    asked: list[str] = []

    def fake(pins: list[Pin], cache_dir: Path, *, timeout: float = 10.0,
             url_template: str = "") -> dict[tuple[str, str], str]:
        asked.extend(p.name for p in pins)
        return {("requests", "2.32.3"): "2026-06-19T00:00:00Z"}

    monkeypatch.setattr(cooldown, "upload_times_online", fake)
    (tmp_path / "requirements.txt").write_text("requests==2.32.3\nsix==1.16.0\n")
    manifests = parse_file(tmp_path / "requirements.txt", tmp_path)
    now = dt.datetime(2026, 6, 20, tzinfo=dt.timezone.utc)
    result = cooldown.check_cooldown_with_index(manifests, 7, Policy(), tmp_path / "c", now=now)
    assert asked == ["requests", "six"]
    assert [f.key for f in result.findings] == ["cooldown:requests:2.32.3"]
    assert [p.name for p in result.unknown] == ["six"]  # the index did not answer: still listed, not passed
