"""A hostile Hugging Face cache: FIFOs, devices and sockets are never opened, links are resolved only inside
the named cache, blobs truncated while hashed cannot crash, and every skipped entry is a finding."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mlwarden.config import Budgets
from mlwarden.hub.hashing import CHUNK, HashJob, hash_file, hash_files
from mlwarden.hub.scan import scan_hf
from mlwarden.hub.verify import resolve_targets, verify
from mlwarden.policy import load_policy
from tests.hub.cache_builder import build_local_dir, build_repo, git_sha1, sha256

COMMIT = "0123456789abcdef0123456789abcdef01234567"
FILES = {"config.json": b'{"model_type": "bert"}', "weights.bin": b"\x80\x04K\x01.", "notes.txt": b"hello\n"}
REPO = "models--acme--tiny"
SNAP = f"hub/{REPO}/snapshots/{COMMIT}"
SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    root = tmp_path / "hub"
    build_repo(root, "acme/tiny", FILES, lfs={"weights.bin"})
    return root


def _verify(root: Path, cwd: Path) -> set[tuple[str, str]]:
    targets, unknown = resolve_targets([root])
    assert not unknown
    report, _ = verify(targets, cwd, progress=False)
    return {(f.rule, f.location.path) for f in report.findings}


def _scan(root: Path, cwd: Path) -> set[tuple[str, str]]:
    targets, _ = resolve_targets([root])
    report = scan_hf(targets, cwd, load_policy(cwd), Budgets())
    return {(f.rule, f.location.path) for f in report.findings}


def _blob(cache: Path, rel: str) -> Path:
    data = FILES[rel]
    name = sha256(data) if rel == "weights.bin" else git_sha1(data)
    return cache / REPO / "blobs" / name


def _make_fifo_blob(cache: Path, rel: str) -> Path:
    blob = _blob(cache, rel)
    blob.unlink()
    os.mkfifo(blob)
    return blob


def test_fifo_blob_is_a_finding_and_never_opened(cache: Path, tmp_path: Path) -> None:
    blob = _make_fifo_blob(cache, "weights.bin")
    # A reader that opened the FIFO would block forever: these calls return, so nothing opened it.
    assert ("MW208", f"hub/{REPO}/blobs/{blob.name}") in _verify(cache, tmp_path)
    assert ("MW208", f"{SNAP}/weights.bin") in _scan(cache, tmp_path)


def test_fifo_in_every_other_place(cache: Path, tmp_path: Path) -> None:
    repo = cache / REPO
    os.mkfifo(repo / "refs" / "pipe")
    (repo / "trees" / f"{COMMIT}.json").unlink()
    os.mkfifo(repo / "trees" / f"{COMMIT}.json")
    os.mkfifo(repo / "snapshots" / COMMIT / "copy.bin")  # not a link: a special file in the snapshot
    found = _verify(cache, tmp_path)
    assert ("MW208", f"hub/{REPO}/refs/pipe") in found
    assert ("MW204", f"hub/{REPO}/trees/{COMMIT}.json") in found
    assert ("MW208", f"{SNAP}/copy.bin") in found


def test_device_behind_a_snapshot_link_is_never_read(cache: Path, tmp_path: Path) -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    blob = _blob(cache, "notes.txt")
    blob.unlink()
    # a blob that links (inside the shared store name space) to a device: refused as an escape
    blob.symlink_to("/dev/zero")
    found = _verify(cache, tmp_path)
    assert ("MW202", f"hub/{REPO}/blobs/{blob.name}") in found


def test_socket_blob(cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blob = _blob(cache, "notes.txt")
    blob.unlink()
    server = socket.socket(socket.AF_UNIX)
    try:
        monkeypatch.chdir(blob.parent)  # AF_UNIX paths are limited to 108 bytes: bind a relative name
        server.bind(blob.name)
        monkeypatch.chdir(tmp_path)
        assert ("MW208", f"hub/{REPO}/blobs/{blob.name}") in _verify(cache, tmp_path)
    finally:
        server.close()


def test_blobs_folder_linking_out_of_the_cache(cache: Path, tmp_path: Path) -> None:
    """The snapshot links stay lexically inside blobs/, but blobs/ itself leads elsewhere: nothing behind it is
    read (hf scan would otherwise scan files outside the cache) and both commands say so."""
    outside = tmp_path / "elsewhere"
    blobs = cache / REPO / "blobs"
    blobs.rename(outside)
    blobs.symlink_to(outside)
    found = _verify(cache, tmp_path)
    assert ("MW202", f"hub/{REPO}/blobs") in found
    assert {rule for rule, _ in found} == {"MW202"}
    scanned = _scan(cache, tmp_path)
    assert ("MW202", f"{SNAP}/weights.bin") in scanned


def test_repository_folder_linking_out_of_the_cache(cache: Path, tmp_path: Path) -> None:
    other = tmp_path / "other-cache"
    build_repo(other, "evil/repo", FILES)
    (cache / "models--evil--repo").symlink_to(other / "models--evil--repo")
    found = _verify(cache, tmp_path)
    assert ("MW202", "hub/models--evil--repo") in found
    assert ("MW202", "hub/models--evil--repo") in _scan(cache, tmp_path)


def test_link_loops_are_bounded(cache: Path, tmp_path: Path) -> None:
    snapshot = cache / REPO / "snapshots" / COMMIT
    os.symlink("loop.bin", snapshot / "loop.bin")
    os.symlink("../../blobs/a.bin", snapshot / "a.bin")
    os.symlink("b.bin", cache / REPO / "blobs" / "a.bin")
    os.symlink("a.bin", cache / REPO / "blobs" / "b.bin")
    assert ("MW202", f"{SNAP}/loop.bin") in _verify(cache, tmp_path)
    scanned = {path: rule for rule, path in _scan(cache, tmp_path)}
    assert scanned[f"{SNAP}/loop.bin"] == "MW208"
    assert scanned[f"{SNAP}/a.bin"] == "MW208"


def test_shared_store_loop(cache: Path, tmp_path: Path) -> None:
    shared = cache / "blobs"
    shared.mkdir()
    os.symlink("e" * 64, shared / ("f" * 64))
    os.symlink("f" * 64, shared / ("e" * 64))
    os.symlink("../../blobs/" + "e" * 64, cache / REPO / "blobs" / ("e" * 64))
    found = _verify(cache, tmp_path)
    assert ("MW208", f"hub/{REPO}/blobs/{'e' * 64}") in found


def test_snapshot_entry_that_is_a_link_is_reported(cache: Path, tmp_path: Path) -> None:
    os.symlink("/", cache / REPO / "snapshots" / ("9" * 40))
    assert ("MW208", f"hub/{REPO}/snapshots/{'9' * 40}") in _verify(cache, tmp_path)


def test_local_dir_special_and_escaping_files(tmp_path: Path) -> None:
    folder = build_local_dir(tmp_path / "dl", {"model.bin": b"\x80\x04K\x01.", "config.json": b"{}",
                                               "tok.txt": b"x"})
    (folder / "model.bin").unlink()
    os.mkfifo(folder / "model.bin")
    secret = tmp_path / "secret"
    secret.write_text("token")
    (folder / "tok.txt").unlink()
    (folder / "tok.txt").symlink_to(secret)
    meta = folder / ".cache" / "huggingface" / "download" / "config.json.metadata"
    meta.unlink()
    os.mkfifo(meta)
    found = _verify(folder, tmp_path)
    assert ("MW208", "dl/model.bin") in found
    assert ("MW202", "dl/tok.txt") in found
    assert ("MW208", "dl/.cache/huggingface/download/config.json.metadata") in found
    scanned = _scan(folder, tmp_path)
    assert ("MW208", "dl/model.bin") in scanned
    assert ("MW202", "dl/tok.txt") in scanned


def test_layout_findings_can_be_left_to_verify(cache: Path, tmp_path: Path) -> None:
    _make_fifo_blob(cache, "weights.bin")
    targets, _ = resolve_targets([cache])
    report = scan_hf(targets, tmp_path, load_policy(tmp_path), Budgets(), layout_findings=False)
    assert not [f for f in report.findings if f.rule == "MW208"]


@pytest.fixture
def big_file(tmp_path: Path) -> Path:
    path = tmp_path / "blob"
    path.write_bytes(os.urandom(CHUNK) + b"x" * (CHUNK // 2))
    return path


def test_blob_truncated_while_hashed_is_an_error_not_a_crash(big_file: Path) -> None:
    calls: list[int] = []

    def truncate_after_first_chunk(n: int) -> None:
        calls.append(n)
        if len(calls) == 1:
            os.truncate(big_file, 1000)

    result = hash_file(HashJob(big_file, "sha256"), bytearray(CHUNK), truncate_after_first_chunk)
    assert result.digest is None
    assert result.error is not None
    assert "changed while being hashed" in result.error


def test_blob_grown_while_hashed_is_an_error(big_file: Path) -> None:
    def grow(_n: int) -> None:
        with big_file.open("ab") as f:
            f.write(b"more")

    result = hash_file(HashJob(big_file, "git-sha1"), bytearray(CHUNK), grow)
    assert result.digest is None
    assert result.error is not None


def test_truncation_race_in_a_real_process_never_sigbus(tmp_path: Path) -> None:
    """The issue's reproducer: truncate blobs while another process hashes them. With mmap this killed the
    hashing process with SIGBUS; with read() it must exit normally."""
    blobs = [tmp_path / f"b{i}" for i in range(6)]
    for blob in blobs:
        blob.write_bytes(b"\x01" * (3 * CHUNK))
    script = textwrap.dedent(f"""
        import os, threading, time
        from pathlib import Path
        from mlwarden.hub.hashing import HashJob, hash_files
        paths = [Path(p) for p in {[str(b) for b in blobs]!r}]
        def shrink():
            for p in paths:
                time.sleep(0.005)
                os.truncate(p, 100)
        threading.Thread(target=shrink).start()
        results = hash_files([HashJob(p, "sha256") for p in paths], workers=2, progress=False)
        print(sum(r.error is not None for r in results.values()), len(results))
    """)
    proc = subprocess.run([sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": str(SRC)},
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    _errors, total = map(int, proc.stdout.split())
    assert total == 6


def test_hash_files_refuses_a_fifo_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "p"
    os.mkfifo(fifo)
    result = hash_files([HashJob(fifo, "sha256")], progress=False)[fifo]
    assert result.digest is None
    assert result.error == "a FIFO (named pipe), not opened"


def test_hf_scan_cli_reports_each_hostile_entry_once(cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from mlwarden.cli import main

    outside = tmp_path / "secret.txt"
    outside.write_text("x")
    snapshot = cache / REPO / "snapshots" / COMMIT
    os.symlink(os.path.relpath(outside, snapshot), snapshot / "extra.txt")
    _make_fifo_blob(cache, "weights.bin")
    monkeypatch.chdir(tmp_path)
    for extra in ([], ["--no-verify"]):
        capsys.readouterr()
        main(["hf", "scan", str(cache), "--format", "json", *extra])
        results = json.loads(capsys.readouterr().out)["results"]
        escapes = [r for r in results if r["path"].endswith("extra.txt")]
        assert len(escapes) == 1, (extra, escapes)
        assert escapes[0]["rule_id"] == "MW202"


def test_a_thousand_nested_folders_are_a_finding_not_a_recursion_error(cache: Path, tmp_path: Path) -> None:
    """os.walk and Path.rglob recurse before Python 3.12: 1,200 nested folders raised RecursionError."""
    folder = cache / REPO / "snapshots" / COMMIT
    start = os.getcwd()
    os.chdir(folder)
    try:
        for _ in range(1200):  # relative steps keep every path short
            os.mkdir("d")
            os.chdir("d")
        Path("f.bin").write_bytes(b"x")
    finally:
        os.chdir(start)
    try:
        deep = [path for rule, path in _verify(cache, tmp_path) if rule == "MW208"]
        assert len(deep) == 1
        assert deep[0].count("/d") == 64  # MAX_TREE_DEPTH
        assert ("MW208", deep[0]) in _scan(cache, tmp_path)
    finally:
        _remove_chain(folder / "d")


def _remove_chain(top: Path) -> None:
    """Delete a chain of nested "d" folders without recursion (shutil.rmtree, and so pytest's temporary-folder
    clean-up, recurse before Python 3.12)."""
    start = os.getcwd()
    os.chdir(top)
    levels = 0
    try:
        while os.path.isdir("d"):
            os.chdir("d")
            levels += 1
        for name in os.listdir("."):
            os.unlink(name)
        for _ in range(levels):
            os.chdir("..")
            os.rmdir("d")
    finally:
        os.chdir(start)
    top.rmdir()
