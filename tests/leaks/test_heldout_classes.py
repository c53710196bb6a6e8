"""False-alarm classes of the leak checks found on held-out public repositories (issue 13), each next to the real
leak of the same shape that must still be found. Shapes from DataTalksClub/data-engineering-zoomcamp (a Kestra
README's admin login, a dbt guide's service-account JSON with "..." for the key, a dlt script's comment).
Keys and tokens are generated here: none is a real credential."""

from __future__ import annotations

import base64
import json
import random

from mlwarden.findings import Severity
from mlwarden.leaks.scanner import Context
from tests.leaks.test_precision import HF_OK, ctx, loud, scan

__all__ = ["ctx"]  # the fixture, used by name


def _fake_key_body() -> str:
    rng = random.Random(7)  # noqa: S311 - reproducible test bytes, not a key
    return base64.b64encode(bytes(rng.randrange(256) for _ in range(600))).decode()


def test_private_key_header_around_dots_is_not_a_key(ctx: Context) -> None:
    doc = json.dumps({"type": "service_account", "private_key_id": "...",
                      "private_key": "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----\n"}, indent=2)
    assert loud(scan(ctx, "setup/cloud_setup.md", "```json\n" + doc + "\n```\n").findings, "MW401") == []
    pem = "-----BEGIN RSA PRIVATE KEY-----\n<your key here>\n-----END RSA PRIVATE KEY-----\n"
    assert loud(scan(ctx, "docs/keys.md", pem).findings, "MW401") == []


def test_a_real_private_key_is_still_found_in_a_pem_file_and_in_a_json_string(ctx: Context) -> None:
    body = _fake_key_body()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    pem = "-----BEGIN PRIVATE KEY-----\n" + "\n".join(lines) + "\n-----END PRIVATE KEY-----\n"
    found = loud(scan(ctx, "deploy/key.pem", pem).findings, "MW401")
    assert [f.message.split(":")[0] for f in found] == ["Private Key"]
    assert found[0].severity >= Severity.HIGH
    encrypted = ("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0A1B2C3D4E5F\n\n"
                 + "\n".join(lines) + "\n-----END RSA PRIVATE KEY-----\n")
    assert loud(scan(ctx, "deploy/enc.pem", encrypted).findings, "MW401")
    account = json.dumps({"type": "service_account", "private_key": pem})
    assert loud(scan(ctx, "sa.json", account).findings, "MW401")


def test_keyword_value_addressed_to_the_reader_is_a_placeholder(ctx: Context) -> None:
    text = ('#[credentials]\n#project_id = "your project id"\n#private_key = "your sevice account key"\n'
            'password = "enter your password"\n')
    assert loud(scan(ctx, "workshops/dynamic_load_dlt.py", text).findings, "MW401") == []
    real = 'private_key = "Zq8xK2vLp9Wm4Rt7"\n'  # generated
    assert loud(scan(ctx, "workshops/load.py", real).findings, "MW401")


def test_role_mailbox_is_not_personal_data_and_a_person_still_is(ctx: Context) -> None:
    readme = "".join(f"curl -X POST -u 'admin@kestra.io:pw' http://localhost:8080/api/v1/flows/{i}\n"
                     for i in range(12))
    assert loud(scan(ctx, "README.md", readme).findings, "MW402") == []
    people = "".join(f"Contact jane.doe{i}@gmail.com for the data\n" for i in range(3))
    assert loud(scan(ctx, "notes.md", people).findings, "MW402")


def test_date_of_birth_in_prose_and_a_nir_stay_at_least_medium(ctx: Context) -> None:
    text = ("She was born on 14/07/1989 in Lyon and moved to Paris.\n"  # mlwarden: ignore[MW402]
            "NIR du salarié : 185057800608491\n")  # mlwarden: ignore[MW402]
    kinds = {f.message.split(" (")[0].split(",")[0] for f in loud(scan(ctx, "notes/people.md", text).findings,
                                                                   "MW402")}
    assert any("date-of-birth" in k for k in kinds), kinds
    assert any("fr-nir" in k for k in kinds), kinds


def _notebook(outputs: list[str], source: str = "results = trainer.fit()") -> str:
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "execution_count": 1, "metadata": {}, "source": [source],
         "outputs": [{"output_type": "stream", "name": "stderr", "text": [text]} for text in outputs]}]})


def test_hex_ids_in_notebook_output_are_low_and_tokens_there_stay_found(ctx: Context) -> None:
    # Made-With-ML's Ray logs: ExecutionOptions(... locality_with_output=['<56-hex NodeID>'] ...)
    node = "c268d87a05f14889a7bdc3c259e78ced37c574c65ab440657e85be5a"
    log = f"Executing DAG ... ExecutionOptions(locality_with_output=['{node}'], preserve_order=True)\n"
    found = [f for f in scan(ctx, "notebooks/train.ipynb", _notebook([log])).findings if f.rule == "MW401"]
    assert found
    assert all(f.severity == Severity.LOW for f in found)
    printed = f"login ok, token {HF_OK}\n"
    assert loud(scan(ctx, "notebooks/login.ipynb", _notebook([printed])).findings, "MW401")
    in_code = f"node = '{node}'"
    assert loud(scan(ctx, "notebooks/code.ipynb", _notebook([], in_code)).findings, "MW401")
