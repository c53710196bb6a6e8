"""`mlwarden deps --online`: the cooldown with upload times from the index's JSON API (a loopback server standing
in for PyPI or a mirror), cached, offline by default, waivable by an allowlist entry naming the version."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlwarden.cli import main
from tests.deps.osv_server import serve_json

META = "reason = 'urgent fix'\nowner = 'o'\nadded = 2026-01-01\nexpires = 2099-01-01\n"
NOW = dt.datetime.now(dt.timezone.utc)
# urllib3 2.5.0 uploaded yesterday (younger than a 7-day cooldown), numpy 1.26.4 long ago
UPLOADS = {("urllib3", "2.5.0"): NOW - dt.timedelta(days=1), ("numpy", "1.26.4"): NOW - dt.timedelta(days=400)}


class Index:
    def __init__(self) -> None:
        self.asked: list[str] = []
        self.base = ""


@pytest.fixture
def index() -> Iterator[Index]:
    state = Index()

    def answer(path: str) -> tuple[int, object]:
        state.asked.append(path)
        parts = path.strip("/").split("/")  # pypi/<name>/<version>/json
        uploaded = UPLOADS.get((parts[1], parts[2])) if len(parts) == 4 else None
        if uploaded is None:
            return 404, None
        return 200, {"urls": [{"upload_time_iso_8601": uploaded.strftime("%Y-%m-%dT%H:%M:%S.000000Z")}]}

    with serve_json(answer) as base:
        state.base = f"{base}/pypi"
        yield state


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    (root / "allowlists").mkdir(parents=True)
    (root / "allowlists" / "policy.toml").write_text("schema_version = 1\n[policy]\ncooldown_days = 7\n")
    (root / "requirements.txt").write_text("urllib3==2.5.0\nnumpy==1.26.4\n")
    monkeypatch.chdir(root)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return root


def deps(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, object]]:
    capsys.readouterr()
    code = main(["deps", "--format", "json", *args])
    document = json.loads(capsys.readouterr().out)
    assert isinstance(document, dict)
    return code, document


def cooldown_findings(document: dict[str, object]) -> list[str]:
    items = document["results"]
    assert isinstance(items, list)
    return [str(f["message"]).split(" was uploaded")[0] for f in items if f["rule_id"] == "MW314"]


def notes(document: dict[str, object]) -> str:
    coverage = document["coverage"]
    assert isinstance(coverage, dict)
    return "\n".join(coverage["notes"])


def test_offline_by_default_and_says_what_it_did_not_check(project: Path, index: Index,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, document = deps(capsys)
    assert code == 0
    assert cooldown_findings(document) == []
    assert "cooldown not checked for 2 pinned dependencies without an upload time" in notes(document)
    assert index.asked == []  # no network unless asked


def test_online_finds_the_young_version_and_caches(project: Path, index: Index, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    cache = tmp_path / "cache"
    code, document = deps(capsys, "--online", "--pypi-url", index.base, "--cache-dir", str(cache))
    assert code == 1  # MW314 is high
    assert cooldown_findings(document) == ["urllib3 2.5.0"]
    assert sorted(index.asked) == ["/pypi/numpy/1.26.4/json", "/pypi/urllib3/2.5.0/json"]
    assert "cooldown not checked" not in notes(document)
    code, document = deps(capsys, "--online", "--pypi-url", index.base, "--cache-dir", str(cache))
    assert cooldown_findings(document) == ["urllib3 2.5.0"]
    assert len(index.asked) == 2  # the second run asked nothing: the times are cached per release


def test_an_allowlist_entry_naming_the_version_waives_the_urgent_update(project: Path, index: Index,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    (project / "allowlists" / "urgent.toml").write_text(
        f'schema_version = 1\n[[package]]\nname = "urllib3"\nversions = "==2.5.0"\n{META}')
    code, document = deps(capsys, "--online", "--pypi-url", index.base)
    assert code == 0
    assert cooldown_findings(document) == []
    waived = document["waived"]
    assert isinstance(waived, list)
    assert [(w["rule_id"], w["path"]) for w in waived] == [("MW314", "requirements.txt")]


def test_what_the_index_cannot_answer_is_listed_not_passed(project: Path, index: Index,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    (project / "requirements.txt").write_text("urllib3==2.5.0\nunknown-to-the-index==1.0\n")
    code, document = deps(capsys, "--online", "--pypi-url", index.base)
    assert code == 1
    assert cooldown_findings(document) == ["urllib3 2.5.0"]
    assert "cooldown not checked for 1 pinned dependency without an upload time (unknown-to-the-index)" in \
        notes(document)


def test_an_unreachable_index_leaves_every_pin_in_coverage(project: Path, index: Index,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    closed = index.base.replace("/pypi", "/nowhere").rsplit(":", 1)[0] + ":9/pypi"  # port 9: discard, closed
    code, document = deps(capsys, "--online", "--pypi-url", closed)
    assert code == 0
    assert cooldown_findings(document) == []
    assert "cooldown not checked for 2 pinned dependencies" in notes(document)


def test_online_with_the_cooldown_off_says_so(project: Path, index: Index, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "allowlists" / "policy.toml").write_text("schema_version = 1\n[policy]\ncooldown_days = 0\n")
    code, document = deps(capsys, "--online", "--pypi-url", index.base)
    assert code == 0
    assert "the cooldown is off" in notes(document)
    assert index.asked == []
