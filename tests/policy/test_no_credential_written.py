"""`allowlist add` never writes a credential into a policy file (policy files are committed); found by
scripts/hostile_campaign.py, which planted the credential in every URL-bearing option."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fuzz.mutate import SECRET
from tests.fuzz.targets import run_cli

ADD = ["allowlist", "add", "--reason", "r", "--owner", "o", "--expires", "2099-01-01"]


@pytest.mark.parametrize("extra", [
    ["index", "--id", "corp", "--url", f"https://deploy:{SECRET}@pypi.internal.example/simple"],
    ["url", "--pattern", f"https://ghp_{SECRET}AAAAAAAAAAAAAAAAAAAA@github.com/acme/*"],
    ["url", "--pattern", f"https://files.example/x.whl?token={SECRET}"],
])
def test_a_credential_is_refused_and_never_written(tmp_path: Path, extra: list[str]) -> None:
    (tmp_path / "allowlists").mkdir()
    (tmp_path / "allowlists" / "policy.toml").write_text("schema_version = 1\n")
    code, out, err = run_cli(tmp_path, [*ADD[:2], extra[0], *ADD[2:], *extra[1:]])
    assert code == 2
    assert "credential" in err
    assert SECRET not in out + err
    assert SECRET not in (tmp_path / "allowlists" / "policy.toml").read_text()


def test_a_placeholder_is_kept(tmp_path: Path) -> None:
    code, _out, err = run_cli(tmp_path, [*ADD[:2], "index", *ADD[2:], "--id", "corp", "--url",
                                         "https://deploy:${PIP_TOKEN}@pypi.internal.example/simple"])
    assert code == 0, err
    assert "${PIP_TOKEN}" in (tmp_path / "allowlists" / "policy.toml").read_text()
