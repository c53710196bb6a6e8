"""Hugging Face caches built on the fly, tampered with, and checked: exactly the tampered files are reported."""

from __future__ import annotations

import importlib.util
import json
import os
import pickle
from pathlib import Path

import jsonschema
import pytest

from mlwarden.cli import main
from mlwarden.hub.layout import default_cache_dir
from mlwarden.hub.verify import resolve_targets, verify
from tests import payloads
from tests.hub.cache_builder import build_local_dir, build_repo, sha256

COMMIT = "0123456789abcdef0123456789abcdef01234567"
OTHER_COMMIT = "89abcdef0123456789abcdef0123456789abcdef"
FILES = {
    "config.json": b'{"model_type": "bert"}',
    "model.safetensors": payloads.safetensors({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}},
                                              b"\x00" * 8),
    "tokenizer/vocab.txt": b"[PAD]\n[UNK]\nhello\n",
}


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    root = tmp_path / "hub"
    build_repo(root, "acme/tiny-bert", FILES)
    build_repo(root, "acme/data", {"train.csv": b"a,b\n1,2\n"}, repo_type="datasets")
    return root


def found(root: Path, cwd: Path) -> set[tuple[str, str]]:
    targets, unknown = resolve_targets([root])
    assert not unknown
    report, _ = verify(targets, cwd, progress=False)
    return {(f.rule, f.location.path) for f in report.findings}


def test_clean_cache_verifies(cache: Path, tmp_path: Path) -> None:
    targets, _ = resolve_targets([cache])
    report, stats = verify(targets, tmp_path, progress=False)
    assert report.findings == []
    assert (stats.repos, stats.revisions, stats.files) == (2, 2, 4)
    assert stats.bytes_hashed == sum(len(v) for v in FILES.values()) + len(b"a,b\n1,2\n")


def test_realistic_layout_is_recognised_by_huggingface_hub(cache: Path) -> None:
    hub = pytest.importorskip("huggingface_hub")
    info = hub.scan_cache_dir(cache)
    assert {r.repo_id for r in info.repos} == {"acme/tiny-bert", "acme/data"}
    assert not info.warnings


def test_tampered_blobs_exactly(cache: Path, tmp_path: Path) -> None:
    blobs = cache / "models--acme--tiny-bert" / "blobs"
    lfs_blob = blobs / sha256(FILES["model.safetensors"])
    data = bytearray(lfs_blob.read_bytes())
    data[-1] ^= 1
    lfs_blob.write_bytes(bytes(data))
    git_blob = next(p for p in blobs.iterdir() if len(p.name) == 40 and p.read_bytes() == FILES["config.json"])
    git_blob.write_bytes(FILES["config.json"] + b"\n")
    assert found(cache, tmp_path) == {("MW201", f"hub/models--acme--tiny-bert/blobs/{lfs_blob.name}"),
                                      ("MW201", f"hub/models--acme--tiny-bert/blobs/{git_blob.name}")}


def test_escaping_and_dangling_links(cache: Path, tmp_path: Path) -> None:
    snapshot = cache / "models--acme--tiny-bert" / "snapshots" / COMMIT
    outside = tmp_path / "secret.txt"
    outside.write_text("x")
    os.symlink(os.path.relpath(outside, snapshot), snapshot / "extra.txt")
    os.symlink("../../blobs/" + "f" * 64, snapshot / "gone.bin")
    os.symlink("../../blobs", snapshot / "dirlink")
    result = found(cache, tmp_path)
    base = f"hub/models--acme--tiny-bert/snapshots/{COMMIT}"
    assert ("MW202", f"{base}/extra.txt") in result
    assert ("MW203", f"{base}/gone.bin") in result
    assert ("MW202", f"{base}/dirlink") in result
    assert len(result) == 3


def test_link_swapped_to_another_valid_blob(cache: Path, tmp_path: Path) -> None:
    snapshot = cache / "models--acme--tiny-bert" / "snapshots" / COMMIT
    vocab = snapshot / "tokenizer" / "vocab.txt"
    config_target = os.readlink(snapshot / "config.json")
    vocab.unlink()
    os.symlink("../" + config_target, vocab)
    assert found(cache, tmp_path) == {("MW204", f"hub/models--acme--tiny-bert/snapshots/{COMMIT}/tokenizer/vocab.txt")}


def test_refs_snapshots_incomplete_and_odd_blobs(cache: Path, tmp_path: Path) -> None:
    repo = cache / "models--acme--tiny-bert"
    (repo / "refs" / "v1").write_text(OTHER_COMMIT)
    (repo / "refs" / "broken").write_text("not-a-commit")
    (repo / "blobs" / ("a" * 64 + ".incomplete")).write_bytes(b"partial")
    (repo / "blobs" / "README").write_text("?")
    (repo / "blobs" / ("b" * 40)).mkdir()
    (repo / "trees" / f"{COMMIT}.json").write_text("{not json")
    result = {rule for rule, _ in found(cache, tmp_path)}
    assert result == {"MW205", "MW206", "MW208", "MW204"}


def test_local_dir(tmp_path: Path) -> None:
    folder = build_local_dir(tmp_path / "dl", {"model.bin": b"\x80\x04K\x01.", "config.json": b"{}"})
    assert found(folder, tmp_path) == set()
    (folder / "model.bin").write_bytes(b"\x80\x04K\x02.")
    (folder / "config.json").unlink()
    assert found(folder, tmp_path) == {("MW207", "dl/model.bin"), ("MW203", "dl/config.json")}


def test_default_cache_location() -> None:
    assert default_cache_dir({"HF_HUB_CACHE": "/x/hub"}) == Path("/x/hub")
    assert default_cache_dir({"HUGGINGFACE_HUB_CACHE": "/legacy"}) == Path("/legacy")
    assert default_cache_dir({"HF_HOME": "/h"}) == Path("/h/hub")
    assert default_cache_dir({"XDG_CACHE_HOME": "/c"}) == Path("/c/huggingface/hub")


# --- CLI: verify and scan ---------------------------------------------------------------------------------
def test_cli_verify_default_cache_and_errors(cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    assert main(["hf", "verify"]) == 0
    assert "verified 2 repositories, 2 revision(s), 4 file(s)" in capsys.readouterr().err
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "nowhere"))
    assert main(["hf", "verify"]) == 2
    assert "no Hugging Face cache or local_dir" in capsys.readouterr().err
    (tmp_path / "plain").mkdir()
    assert main(["hf", "verify", "plain"]) == 2


def _evil_repo(root: Path, marker: Path) -> Path:
    files = dict(FILES)
    files["pytorch_model.bin"] = payloads.torch_like_zip(payloads.os_system(marker))
    files["config.json"] = json.dumps({"auto_map": {"AutoModel": "modeling_evil.EvilModel",
                                                    "AutoConfig": "other/repo--configuration.X"}}).encode()
    files["modeling_evil.py"] = b"import torch\ndef load(p):\n    return torch.load(p)\n"
    return build_repo(root, "acme/evil", files)


def test_hf_scan_catches_payload_remote_code_and_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str], marker: Path) -> None:
    monkeypatch.chdir(tmp_path)
    cache = tmp_path / "hub"
    _evil_repo(cache, marker)
    build_repo(cache, "acme/tiny-bert", FILES)
    build_repo(cache, "stranger/model", FILES)
    (tmp_path / "allowlists").mkdir()
    (tmp_path / "allowlists" / "hf.toml").write_text(
        "schema_version = 1\n"
        f"[[hf]]\nrepo = 'acme/tiny-bert'\nrevisions = ['{OTHER_COMMIT}']\n"
        "allow_formats = ['safetensors', 'json', 'txt']\n"
        f"expected_files = {{ 'model.safetensors' = 'sha256:{'0' * 64}' }}\n"
        "reason = 'r'\nowner = 'o'\nadded = 2026-01-01\nexpires = 2099-01-01\n"
        "[[hf]]\norg = 'acme'\nreason = 'r'\nowner = 'o'\nadded = 2026-01-01\nexpires = 2099-01-01\n")
    assert main(["hf", "scan", "hub", "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    got = {(r["rule_id"], r["path"].split("/snapshots/")[0].removeprefix("hub/")) for r in doc["results"]}
    assert ("MW101", "models--acme--evil") in got  # the pickle .bin with a payload
    assert ("MW209", "models--acme--evil") in got  # auto_map and the .py file
    assert ("MW704", "models--acme--evil") in got  # torch.load in the repository's code
    assert ("MW210", "models--stranger--model") in got  # not allowed
    assert ("MW211", "models--acme--tiny-bert") in got  # revision not approved
    assert ("MW213", "models--acme--tiny-bert") in got  # expected hash differs
    assert not any(r["rule_id"] == "MW212" for r in doc["results"])  # formats all allowed
    verdicts = {(i["repo_id"], i["verdict"]) for i in doc["inventory"]["hf"]}
    assert ("acme/evil", "critical") in verdicts
    assert all(i["commit"] == COMMIT for i in doc["inventory"]["hf"])
    if importlib.util.find_spec("huggingface_hub"):  # sizes come from huggingface_hub's cache scan
        assert all(i["size_on_disk"] > 0 for i in doc["inventory"]["hf"])
    assert any("another repository" in r["message"] for r in doc["results"])


def test_hf_scan_with_a_broken_policy_file_still_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str], marker: Path) -> None:
    monkeypatch.chdir(tmp_path)
    _evil_repo(tmp_path / "hub", marker)
    (tmp_path / "allowlists").mkdir()
    (tmp_path / "allowlists" / "broken.toml").write_text("schema_version = 1\n[[hf]]\nrepo = 'acme/evil'\n")
    assert main(["hf", "scan", "hub", "--format", "json"]) == 1  # the findings block; the broken file is an error
    doc = json.loads(capsys.readouterr().out)
    assert "MW101" in {r["rule_id"] for r in doc["results"]}  # the payload is still reported
    assert any("broken.toml" in e["path"] for e in doc["errors"])


def test_hf_scan_format_and_trusted_remote_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str], marker: Path) -> None:
    monkeypatch.chdir(tmp_path)
    files = dict(FILES)
    files["pytorch_model.bin"] = payloads.torch_like_zip(pickle.dumps({"w": [1.0]}, protocol=2))
    files["modeling_x.py"] = b"X = 1\n"
    build_repo(tmp_path / "hub", "acme/m", files)
    (tmp_path / "allowlists").mkdir()
    (tmp_path / "allowlists" / "hf.toml").write_text(
        f"schema_version = 1\n[[hf]]\nrepo = 'acme/m'\nrevisions = ['{COMMIT}']\ntrust_remote_code = true\n"
        "allow_formats = ['safetensors', 'json', 'txt', 'py']\n"
        "reason = 'r'\nowner = 'o'\nadded = 2026-01-01\nexpires = 2099-01-01\n")
    assert main(["hf", "scan", "hub", "--format", "sarif"]) == 1
    doc = json.loads(capsys.readouterr().out)
    schema = json.loads((Path(__file__).parent.parent / "data" / "sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(doc)
    rules = {r["ruleId"] for r in doc["runs"][0]["results"]}
    assert rules == {"MW212"}  # the .bin is not an allowed format; remote code is approved


def test_hf_scan_local_dir_and_waiver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, marker: Path) -> None:
    monkeypatch.chdir(tmp_path)
    build_local_dir(tmp_path / "dl", {"weights.bin": payloads.protocol0(marker), "config.json": b"{}"})
    assert main(["hf", "scan", "dl"]) == 1
    (tmp_path / "allowlists").mkdir()
    (tmp_path / "allowlists" / "p.toml").write_text(
        "schema_version = 1\n[[exception]]\nrule = 'MW101'\npath = 'dl/*.bin'\nreason = 'r'\nowner = 'o'\n"
        "added = 2026-01-01\nexpires = 2099-01-01\n")
    assert main(["hf", "scan", "dl"]) == 0


@pytest.mark.parametrize("size", [0, 10, (1 << 20) + 5, (17 << 20) + 3])
def test_hashing_matches_hashlib_and_git(tmp_path: Path, size: int) -> None:
    import hashlib

    from mlwarden.hub.hashing import HashJob, hash_files
    from tests.hub.cache_builder import git_sha1

    data = (b"0123456789abcdef" * ((size // 16) + 1))[:size]
    path = tmp_path / "blob"
    path.write_bytes(data)
    results = hash_files([HashJob(path, "sha256")], progress=False)
    assert results[path].digest == hashlib.sha256(data).hexdigest()
    results = hash_files([HashJob(path, "git-sha1")], workers=2, progress=True)
    assert results[path].digest == git_sha1(data)
    assert results[path].size == size


def test_everything_at_once_in_sarif(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str], marker: Path) -> None:
    """Tampered blob, escaping link, pickle payload, unpinned/unapproved repository, remote code: one run."""
    monkeypatch.chdir(tmp_path)
    cache = tmp_path / "hub"
    snapshot = _evil_repo(cache, marker)
    blob = cache / "models--acme--evil" / "blobs" / sha256(FILES["model.safetensors"])
    blob.write_bytes(blob.read_bytes() + b"!")
    os.symlink("/etc/hostname", snapshot / "notes.txt")
    (tmp_path / "allowlists").mkdir()
    (tmp_path / "allowlists" / "hf.toml").write_text(
        "schema_version = 1\n[[hf]]\nrepo = 'someone/else'\nreason = 'r'\nowner = 'o'\n"
        "added = 2026-01-01\nexpires = 2099-01-01\n")
    assert main(["hf", "scan", "hub", "--format", "sarif", "--output", "hf.sarif"]) == 1
    doc = json.loads((tmp_path / "hf.sarif").read_text())
    schema = json.loads((Path(__file__).parent.parent / "data" / "sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(doc)
    rules = {r["ruleId"] for r in doc["runs"][0]["results"]}
    assert {"MW201", "MW202", "MW101", "MW209", "MW210"} <= rules
    assert not marker.exists()


def test_cli_verify_workers_option(cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["hf", "verify", str(cache), "--workers", "1"]) == 0
    blob = cache / "models--acme--tiny-bert" / "blobs" / sha256(FILES["model.safetensors"])
    blob.write_bytes(b"changed")
    assert main(["hf", "verify", str(cache), "--workers", "3", "--format", "json", "-o", "v.json"]) == 1
    assert json.loads((tmp_path / "v.json").read_text())["inventory"]["hf_verify"]["repositories"] == 2
