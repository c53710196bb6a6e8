"""Secrets and personal data: planted ones are found (and masked), look-alikes are not."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlwarden.cli import main
from mlwarden.findings import Finding
from mlwarden.leaks import pii
from mlwarden.leaks.scanner import Context, scan_file
from mlwarden.leaks.secrets import Detector
from mlwarden.policy import Policy

# Realistic shapes, all fake (random characters, no real account).
SECRETS = {
    "aws": "AKIAZ7QXM3K9L2P4R8TW",
    "github": "ghp_" + "x7Kq2mP9vR4tL8sW3nB6yH1cF5jD0gA2eZ4u",
    "hf": "hf_" + "QxTmvRkLpWzYbNcJdHsGfAeUoIiKqPlMnBvC",
    "wandb": "3f9c2a7b1e8d4c6a0b5f2e9d7c3a1b8e4f6d2c0a",
    "openai": "sk-proj-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7cDe0fGh3iJk6lMn",
    "anthropic": "sk-ant-api03-" + "Zq8Xw7Vu6Ts5Rq4Po3Nm2Lk1Ji0Hg9Fe8Dc7Ba6Zy5Xw4Vu3Ts2Rq1Po0Nm9Lk8Ji7Hg6Fe5Dc4Ba3"
                 + "Zy2Xw1Vu0Ts9Rq8P",
    "google": "AIza" + "SyD3fG7hJ2kL9mN4pQ8rS1tU6vW0xY5zA3b",
}
CODE = f'''import os
AWS_ACCESS_KEY_ID = "{SECRETS["aws"]}"
token = "{SECRETS["github"]}"
login(token="{SECRETS["hf"]}")
os.environ["WANDB_API_KEY"] = "{SECRETS["wandb"]}"
client = OpenAI(api_key="{SECRETS["openai"]}")
anthropic = Anthropic(api_key="{SECRETS["anthropic"]}")
maps = "{SECRETS["google"]}"
db = "postgresql://admin:Pr0dPassw0rd9@db.internal:5432/sales"
password = "hunter2-but-longer"
'''
BENIGN = '''import os
token = os.environ["HF_TOKEN"]
password = "${DB_PASSWORD}"
api_key = "<your-api-key>"
REVISION = "96e8b76aa8ed13c5952c4750e817de301f27a6a8"
DIGEST = "sha256:d7d4fb7a1db0d872aaedcf82a3512cbca897950e896cacf1f13cc3ff512018d7"
allowed = "hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"  # pragma: allowlist secret
'''


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[Context]:
    with Detector() as detector:
        yield Context(root=tmp_path, policy=Policy(), detector=detector, baseline={})


def scan(ctx: Context, path: Path) -> list[Finding]:
    return scan_file(path, path.relative_to(ctx.root).as_posix(), ctx)


def test_planted_secrets_are_found_and_masked(tmp_path: Path, ctx: Context) -> None:
    (tmp_path / "train.py").write_text(CODE)
    findings = scan(ctx, tmp_path / "train.py")
    lines = {f.location.line for f in findings if f.rule == "MW401"}
    assert lines == set(range(2, 11))
    text = json.dumps([f.message for f in findings])
    for secret in SECRETS.values():
        assert secret not in text
    types = " ".join(f.message for f in findings)
    for label in ("AWS Access Key", "Hugging Face Token", "Weights & Biases", "OpenAI", "Anthropic",
                  "Cloud ML Platform Token", "Basic Auth", "Secret Keyword"):
        assert label in types


def test_look_alikes_and_pragmas_are_quiet(tmp_path: Path, ctx: Context) -> None:
    (tmp_path / "ok.py").write_text(BENIGN)
    assert scan(ctx, tmp_path / "ok.py") == []


def test_outputs_never_contain_the_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "train.py").write_text(CODE)
    for fmt in ("text", "json", "sarif"):
        assert main(["secrets", "train.py", "--format", fmt]) == 1
        out = capsys.readouterr().out
        assert all(secret not in out for secret in SECRETS.values())


def test_detect_secrets_baseline_is_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.py").write_text(f'password = "hunter2-but-longer"\naws = "{SECRETS["aws"]}"\n')
    baseline = subprocess.run([sys.executable, "-m", "detect_secrets", "scan", "--all-files", "config.py"],
                              capture_output=True, text=True, check=True).stdout
    (tmp_path / ".secrets.baseline").write_text(baseline)
    assert main(["secrets", "config.py"]) == 0
    # Moved lines keep their baseline entry; a new secret fails.
    (tmp_path / "config.py").write_text("\n\n# moved\n" + (tmp_path / "config.py").read_text())
    assert main(["secrets", "config.py"]) == 0
    with (tmp_path / "config.py").open("a") as f:
        f.write(f'hf = "{SECRETS["hf"]}"\n')
    assert main(["secrets", "config.py"]) == 1


def _notebook(cells: list[dict[str, object]]) -> str:
    return json.dumps({"cells": cells, "metadata": {"kernelspec": {"name": "python3"}}, "nbformat": 4,
                       "nbformat_minor": 5})


def test_notebooks_cell_by_cell(tmp_path: Path, ctx: Context) -> None:
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==" * 20
    cells: list[dict[str, object]] = [
        {"cell_type": "markdown", "source": ["# Setup\n", "The password is `Winter2024!Winter`\n", "\n",
                                             f"token: {SECRETS['hf']}\n"]},
        {"cell_type": "code", "source": ["import pandas as pd\n", "df = pd.read_csv('customers.csv')\n", "df.head()"],
         "outputs": [{"output_type": "execute_result", "execution_count": 1, "metadata": {},
                      "data": {"text/plain": ["   name  email\n"] + [f"{i}  user{i}@acme-corp.fr\n" for i in range(25)],
                               "image/png": png}}]},
        {"cell_type": "code", "source": ["print(key)\n"],
         "outputs": [{"output_type": "stream", "name": "stdout", "text": [f"{SECRETS['github']}\n"]}]},
    ]
    (tmp_path / "nb.ipynb").write_text(_notebook(cells))
    findings = scan(ctx, tmp_path / "nb.ipynb")
    where = {(f.rule, f.location.member, f.location.line) for f in findings}
    assert ("MW401", "markdown cell 1", 4) in where  # a token in a markdown cell (labels as Jupyter shows them)
    assert ("MW401", "cell 2 output 0", 1) in where  # a token printed in an output
    pii_findings = [f for f in findings if f.rule == "MW402"]
    assert [(f.location.member, f.severity.label) for f in pii_findings] == [("cell 1 output 0", "high")]
    assert not any("iVBOR" in f.message for f in findings)


def test_invalid_notebook_is_still_scanned(tmp_path: Path, ctx: Context) -> None:
    (tmp_path / "broken.ipynb").write_text('{"cells": [ {"source": "token = \'' + SECRETS["github"] + "'\"")
    rules = {f.rule for f in scan(ctx, tmp_path / "broken.ipynb")}
    assert rules == {"MW406", "MW401"}


# --- personal data -----------------------------------------------------------------------------------------------
VALID = {
    "email": "marie.curie@institut-radium.fr",
    "phone": "+33 6 12 34 56 78",
    "iban": "FR76 3000 4000 0312 3456 7890 143",
    "payment-card": "4532 0151 1283 0366",
    "fr-nir": "1 85 05 78 006 084 91",
    "fr-siret": "SIRET 732 829 320 00074",
    "us-ssn": "536-22-8714",
    "ipv4-public": "81.2.69.160",
    "date-of-birth": "date of birth: 14/07/1989",
}
INVALID = {
    "email": ["admin@example.com", "jane@corp.example", "icon@2x.png"],
    "iban": ["FR76 3000 4000 0312 3456 7890 142", "FR76 3000 6000 0112 3456 7890 189"],  # checksum; an example
    "payment-card": ["4532 0151 1283 0367", "4111 1111 1111 1111"],  # Luhn fails; a test card
    "fr-nir": ["1 85 05 78 006 084 92"],
    "us-ssn": ["666-12-3456", "000-12-3456"],
    "ipv4-public": ["10.1.2.3", "192.168.0.10", "127.0.0.1"],
    "phone": ["0123456789abcdef"],
}


@pytest.mark.parametrize("kind", sorted(VALID))
def test_valid_personal_data_is_found(kind: str) -> None:
    assert kind in {m.kind for m in pii.find(f"value: {VALID[kind]} end")}


@pytest.mark.parametrize("kind", sorted(INVALID))
def test_invalid_look_alikes_are_not(kind: str) -> None:
    for text in INVALID[kind]:
        assert kind not in {m.kind for m in pii.find(f"value: {text} end")}, text


def test_corsican_nir() -> None:
    body = "2841220012345"[:5] + "2A" + "012345"  # sex, year, month, Corsica, commune, order
    numeric = int(body[:5] + "19" + body[7:])
    key = 97 - numeric % 97
    assert pii.nir_valid(f"{body}{key:02d}")
    assert not pii.nir_valid(f"{body}{(key + 1) % 97:02d}")


def test_thresholds_and_columns(tmp_path: Path, ctx: Context) -> None:
    (tmp_path / "README.md").write_text("Questions: marie.curie@institut-radium.fr\n")
    readme = scan(ctx, tmp_path / "README.md")
    assert [(f.rule, f.severity.label) for f in readme] == [("MW402", "low")]
    rows = "\n".join(f"{i},Client {i},client{i}@acme-corp.fr,FR" for i in range(40))
    (tmp_path / "customers.csv").write_text("id,name,email,country\n" + rows + '\n7,"broken "quote,x\n')
    findings = scan(ctx, tmp_path / "customers.csv")
    column = [f for f in findings if f.rule == "MW402" and f.location.member == "column email"]
    assert column
    assert column[0].severity.label == "high"
    assert "MW403" in {f.rule for f in findings}


def test_data_file_rules(tmp_path: Path) -> None:
    (tmp_path / "big.bin").write_bytes(b"\0" * (2 * 1024 * 1024))
    (tmp_path / "sample.csv").write_text("a,b\n1,2\n")
    (tmp_path / "dump.csv.gz").write_bytes(b"\x1f\x8b" + b"\0" * 20)
    (tmp_path / "allowlists").mkdir()
    (tmp_path / "allowlists" / "p.toml").write_text("schema_version = 1\n[policy]\nmax_file_mb = 1\n")
    from mlwarden.policy import load_policy

    policy = load_policy(tmp_path)
    with Detector() as detector:
        context = Context(root=tmp_path, policy=policy, detector=detector, baseline={})
        assert {f.rule for f in scan(context, tmp_path / "big.bin")} == {"MW404"}
        assert {f.rule for f in scan(context, tmp_path / "sample.csv")} == {"MW403"}
        assert {f.rule for f in scan(context, tmp_path / "dump.csv.gz")} == {"MW405"}
        (tmp_path / ".gitattributes").write_text("*.bin filter=lfs diff=lfs merge=lfs -text\n")
        assert scan(context, tmp_path / "big.bin") == []
    (tmp_path / "allowlists" / "p.toml").write_text(
        "schema_version = 1\n[policy]\nallowed_data_extensions = ['csv']\n")
    with Detector() as detector:
        context = Context(root=tmp_path, policy=load_policy(tmp_path), detector=detector, baseline={})
        assert scan(context, tmp_path / "sample.csv") == []


def test_bad_inputs_never_crash(tmp_path: Path, ctx: Context) -> None:
    (tmp_path / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10)
    (tmp_path / "latin1.txt").write_bytes("café password = 'Sécurité2024!'".encode("latin-1"))
    (tmp_path / "one-line.json").write_text('{"data": "' + "x" * 5_000_000 + '"}')
    for name in ("image.png", "latin1.txt", "one-line.json"):
        scan(ctx, tmp_path / name)


def test_large_csv_is_sampled(tmp_path: Path, ctx: Context) -> None:
    path = tmp_path / "export.csv"
    with path.open("w") as f:
        f.write("id,email,amount\n")
        for i in range(700_000):
            f.write(f"{i},customer{i}@acme-corp.fr,{i * 3.5}\n")
    assert path.stat().st_size > 20 * 1024 * 1024
    findings = scan(ctx, path)
    assert any(f.rule == "MW402" and f.location.member == "column email" for f in findings)


def test_waivers_and_scan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "team.md").write_text("".join(f"- dev{i}@acme-corp.fr\n" for i in range(30)))
    assert main(["scan"]) == 1
    (tmp_path / "allowlists").mkdir()
    (tmp_path / "allowlists" / "p.toml").write_text(
        "schema_version = 1\n[[exception]]\nrule = 'MW402'\npath = 'docs/*'\nreason = 'team page'\nowner = 'o'\n"
        "added = 2026-01-01\nexpires = 2099-01-01\n")
    assert main(["scan"]) == 0
    assert main(["secrets", "missing.txt"]) == 2


@pytest.mark.parametrize("kind", sorted(VALID))
def test_every_kind_in_code_notebook_output_and_data_file(tmp_path: Path, ctx: Context, kind: str) -> None:
    value = VALID[kind]
    (tmp_path / "code.py").write_text(f'CONTACT = "{value}"\n')
    cell: dict[str, object] = {
        "cell_type": "code", "source": ["df.head()\n"],
        "outputs": [{"output_type": "execute_result", "data": {"text/plain": [f"0  {value}\n"]}}]}
    (tmp_path / "nb.ipynb").write_text(_notebook([cell]))
    (tmp_path / "rows.csv").write_text("id,value\n" + "".join(f"{i},{value}\n" for i in range(6)))
    for name, member in (("code.py", None), ("nb.ipynb", "cell 1 output 0"), ("rows.csv", "column value")):
        hits = [f for f in scan(ctx, tmp_path / name) if f.rule == "MW402" and f"personal data: {kind}" in f.message]
        assert hits, (name, kind)
        assert hits[0].location.member == member
        digits = "".join(ch for ch in value if ch.isalnum())
        assert digits not in hits[0].message.replace(" ", "")  # masked


def test_parquet_is_sampled(tmp_path: Path, ctx: Context) -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    pd.DataFrame({"email": [f"client{i}@acme-corp.fr" for i in range(30)], "x": range(30)}).to_parquet(
        tmp_path / "clients.parquet")
    findings = scan(ctx, tmp_path / "clients.parquet")
    assert any(f.rule == "MW402" and f.location.member == "column email" and f.severity.label == "high"
               for f in findings)
