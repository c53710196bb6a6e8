"""Safe writes: only regular files, atomically, never through a link out of the project; policy edits locked."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from mlwarden import _toml
from mlwarden.errors import MlwardenError
from mlwarden.fileio import OutputError, exclusive_lock, safe_destination, write_atomic

SRC = Path(__file__).resolve().parent.parent / "src"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    monkeypatch.chdir(root)
    return root


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_new_file_gets_umask_permissions(project: Path) -> None:
    old = os.umask(0o022)
    try:
        write_atomic(project / "out.json", "{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE((project / "out.json").stat().st_mode) == 0o644
    assert (project / "out.json").read_text() == "{}"
    assert not _leftovers(project)


def test_existing_file_keeps_its_mode(project: Path) -> None:
    path = project / "report.sarif"
    path.write_text("old")
    path.chmod(0o640)
    write_atomic(path, "new")
    assert path.read_text() == "new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_link_out_of_the_project_is_refused(project: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (project / "report.json").symlink_to(victim)
    with pytest.raises(OutputError, match="link that leads outside the project"):
        write_atomic(Path("report.json"), "pwned")
    assert victim.read_text() == "precious"
    assert (project / "report.json").is_symlink()


def test_folder_link_out_of_the_project_is_refused(project: Path, tmp_path: Path) -> None:
    outside = tmp_path / "home-ssh"
    outside.mkdir()
    (project / "sbom").symlink_to(outside)
    with pytest.raises(OutputError, match="outside the project"):
        write_atomic(Path("sbom/authorized_keys"), "ssh-rsa attacker")
    assert list(outside.iterdir()) == []


def test_link_inside_the_project_is_followed(project: Path) -> None:
    (project / "real.json").write_text("old")
    (project / "alias.json").symlink_to("real.json")
    write_atomic(Path("alias.json"), "new")
    assert (project / "alias.json").is_symlink()
    assert (project / "real.json").read_text() == "new"


def test_explicit_path_outside_the_project_is_allowed_but_not_a_link(project: Path, tmp_path: Path) -> None:
    write_atomic(tmp_path / "report.txt", "ok")
    assert (tmp_path / "report.txt").read_text() == "ok"
    (tmp_path / "link.txt").symlink_to(tmp_path / "report.txt")
    with pytest.raises(OutputError, match="link outside the project"):
        write_atomic(tmp_path / "link.txt", "x")


def test_special_files_are_never_clobbered(project: Path) -> None:
    fifo = project / "out.sarif"
    os.mkfifo(fifo)
    with pytest.raises(OutputError, match="FIFO"):
        write_atomic(fifo, "x")
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    (project / "dir").mkdir()
    with pytest.raises(OutputError, match="directory"):
        write_atomic(project / "dir", "x")
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(project / "s"))
        with pytest.raises(OutputError, match="socket"):
            write_atomic(project / "s", "x")
    finally:
        sock.close()
    if Path("/dev/null").exists():
        with pytest.raises(OutputError, match="device"):
            write_atomic(Path("/dev/null"), "x")
    assert not _leftovers(project)


def test_failed_write_leaves_nothing(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = project / "out.json"
    path.write_text("old")

    def broken(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(OutputError, match=r"^cannot write .*out.json: No space left on device$"):
        write_atomic(path, "new")
    assert path.read_text() == "old"
    assert not _leftovers(project)


def test_safe_destination_is_an_mlwarden_error(project: Path) -> None:
    assert safe_destination(Path("new/file.txt")) == (project / "new" / "file.txt").resolve()
    assert issubclass(OutputError, MlwardenError)


def test_lock_times_out_with_a_clear_error(project: Path) -> None:
    policy = project / "policy.toml"
    with exclusive_lock(policy):
        assert (project / ".policy.toml.lock").exists()
        start = time.monotonic()
        with pytest.raises(OutputError, match="another mlwarden process"), exclusive_lock(policy, timeout=0.2):
            pass
        assert time.monotonic() - start < 2
    assert not (project / ".policy.toml.lock").exists()  # no litter


def test_lock_excludes_threads(project: Path) -> None:
    counter = project / "n"
    counter.write_text("0")

    def bump() -> None:
        for _ in range(20):
            with exclusive_lock(counter):
                value = int(counter.read_text())
                counter.write_text(str(value + 1))

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counter.read_text() == "80"


def test_lock_file_that_is_a_link_is_refused(project: Path, tmp_path: Path) -> None:
    (project / ".policy.toml.lock").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(OutputError, match="cannot lock"), exclusive_lock(project / "policy.toml"):
        pass
    assert not (tmp_path / "elsewhere").exists()


def test_twenty_concurrent_allowlist_adds_lose_nothing(project: Path) -> None:
    """The issue's reproducer: 20 real `mlwarden allowlist add` processes at once all exit 0 and all 20
    entries are in the file afterwards."""
    env = {**os.environ, "PYTHONPATH": str(SRC), "NO_COLOR": "1"}
    env.pop("MLWARDEN_POLICY", None)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "mlwarden", "allowlist", "add", "pickle", "--global", f"pkg.mod{i}.Cls",
             "--reason", "r", "--owner", "o", "--expires", "2099-01-01"],
            cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for i in range(20)
    ]
    outcomes = [(proc.wait(timeout=120), proc.stderr.read().decode() if proc.stderr else "") for proc in procs]
    for proc in procs:
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    assert [code for code, _ in outcomes] == [0] * 20, outcomes
    data = _toml.loads((project / "allowlists" / "policy.toml").read_text())
    names = sorted(g for entry in data["pickle"] for g in entry["globals"])
    assert names == sorted(f"pkg.mod{i}.Cls" for i in range(20))
    assert sorted(p.name for p in (project / "allowlists").iterdir()) == ["policy.toml"]


def test_cli_output_to_a_fifo_or_an_escaping_link_exits_2(project: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """The issue's reproducers: `-o` onto a FIFO and `sbom generate` through a link out of the project."""
    from mlwarden.cli import main

    (project / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "1"\ndependencies = []\n')
    os.mkfifo(project / "report.sarif")
    assert main(["scan", ".", "--format", "sarif", "-o", "report.sarif"]) == 2
    assert stat.S_ISFIFO((project / "report.sarif").lstat().st_mode)
    assert "refusing to write report.sarif" in capsys.readouterr().err
    outside = tmp_path / "outside"
    outside.mkdir()
    (project / "sbom").symlink_to(outside)
    assert main(["sbom", "generate"]) == 2
    assert list(outside.iterdir()) == []
    err = capsys.readouterr().err
    assert "outside the project" in err
    assert "internal error" not in err
