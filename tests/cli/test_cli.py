"""The command line: exit codes, outputs on the right streams, configuration, lazy imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from mlwarden.cli import cli, main
from tests import payloads


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, marker: Path) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "evil.bin").write_bytes(payloads.protocol0(marker))
    (tmp_path / "models" / "ok.pkl").write_bytes(b"\x80\x04K\x01.")
    (tmp_path / "README.md").write_text("hello\n")
    return tmp_path


def run(args: list[str]) -> tuple[int, str, str]:
    runner = CliRunner()
    result = runner.invoke(cli, args, catch_exceptions=False, standalone_mode=False)
    code = result.return_value if isinstance(result.return_value, int) else result.exit_code
    return code, result.stdout, result.stderr


def test_findings_exit_1_and_text_output(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "models"]) == 1
    out, err = capsys.readouterr()
    assert "models/evil.bin: MW101 critical" in out
    assert "2 file(s) scanned" in err
    assert "\x1b[" not in out


def test_clean_exit_0(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "models/ok.pkl"]) == 0
    out, err = capsys.readouterr()
    assert out == "# checked: 1 file(s) (models 1)\n"
    assert "no findings" in err
    assert main(["models", "models/ok.pkl", "--quiet"]) == 0
    assert capsys.readouterr() == ("", "")


def test_fail_on_threshold(repo: Path) -> None:
    (repo / "models" / "evil.bin").unlink()
    (repo / "models" / "odd.pkl").write_bytes(payloads.p4(payloads.glob("mypkg", "Thing")))  # medium
    assert main(["models", "models"]) == 0
    assert main(["models", "models", "--fail-on", "medium"]) == 1


def test_missing_file_is_exit_2(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "nope.pkl"]) == 2
    assert "nope.pkl: error: no such file" in capsys.readouterr().out


def test_usage_error_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["no-such-command"]) == 2
    assert "No such command" in capsys.readouterr().err
    assert main(["models", "--format", "xml"]) == 2


def test_interrupt_is_130(repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import mlwarden.pipeline

    def boom(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(mlwarden.pipeline, "run_checks", boom)
    assert main(["models", "models"]) == 130
    assert "interrupted" in capsys.readouterr().err


def test_internal_error_is_one_line_exit_2(repo: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    import mlwarden.pipeline

    def boom(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("kaput")

    monkeypatch.setattr(mlwarden.pipeline, "run_checks", boom)
    assert main(["models", "models"]) == 2
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: kaput" in err
    assert "Traceback" not in err
    with pytest.raises(RuntimeError):
        main(["--debug", "models", "models"])


def test_json_output_to_file(repo: Path) -> None:
    assert main(["models", "models", "--format", "json", "--output", "out/report.json"]) == 1
    report = json.loads((repo / "out" / "report.json").read_text())
    assert report["schema_version"] == 1
    assert report["results"][0]["rule_id"] == "MW101"
    assert report["results"][0]["path"] == "models/evil.bin"
    assert len(report["results"][0]["fingerprint"]) == 32


def test_format_follows_the_output_files_suffix(repo: Path) -> None:
    assert main(["models", "models", "-o", "out.sarif"]) == 1
    assert json.loads((repo / "out.sarif").read_text())["version"] == "2.1.0"
    assert main(["models", "models", "-o", "out.json"]) == 1
    assert json.loads((repo / "out.json").read_text())["results"][0]["rule_id"] == "MW101"
    assert main(["models", "models", "-o", "out.txt"]) == 1
    assert "MW101" in (repo / "out.txt").read_text()
    assert main(["models", "models", "--format", "json", "-o", "forced.sarif"]) == 1  # an explicit --format wins
    assert "schema_version" in json.loads((repo / "forced.sarif").read_text())


def test_format_from_environment(repo: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MLWARDEN_FORMAT", "json")
    main(["models", "models"])
    assert json.loads(capsys.readouterr().out)["tool"]["name"] == "mlwarden"


def test_color_only_when_asked(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["--color", "models", "models"])
    assert "\x1b[" in capsys.readouterr().out
    main(["models", "models"])  # NO_COLOR is set by the test environment
    assert "\x1b[" not in capsys.readouterr().out


def test_bad_configuration_is_exit_2(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "pyproject.toml").write_text("[tool.mlwarden]\nfail-on = 'severe'\n")
    assert main(["scan"]) == 2
    assert "fail-on" in capsys.readouterr().err
    (repo / "pyproject.toml").write_text("[tool.mlwarden]\nbogus = 1\n")
    assert main(["scan"]) == 2
    (repo / "pyproject.toml").write_text("[tool.mlwarden\n")
    # not TOML: first a broken dependency file, an error naming it, and the other checks still run (issue #15)
    assert main(["scan"]) in (1, 2)
    assert "pyproject.toml" in capsys.readouterr().out


def test_configuration_excludes_and_fail_on(repo: Path) -> None:
    (repo / ".mlwarden.toml").write_text("exclude = ['models/evil.bin']\n")
    assert main(["scan"]) == 0
    (repo / ".mlwarden.toml").write_text("fail-on = 'critical'\n[budgets]\nmax-depth = 3\n")
    assert main(["scan"]) == 1


def test_scan_honours_gitignore(repo: Path) -> None:
    (repo / ".gitignore").write_text("models/evil.*\n")
    assert main(["scan", "."]) == 0
    (repo / "models" / ".gitignore").write_text("!evil.bin\n")
    assert main(["scan"]) == 1


def test_scan_finds_models_by_content_not_name(repo: Path, marker: Path) -> None:
    (repo / "models" / "evil.bin").unlink()
    (repo / "notes.txt").write_bytes(payloads.os_system(marker))
    assert main(["scan"]) == 1


def test_waiver_from_policy(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "allowlists").mkdir()
    (repo / "allowlists" / "policy.toml").write_text(
        "schema_version = 1\n[[exception]]\nrule = 'MW101'\npath = 'models/*.bin'\nreason = 'fixture'\n"
        "owner = 'sec@example.org'\nadded = 2026-01-01\nexpires = 2099-01-01\n")
    assert main(["models", "models", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["results"] == []
    assert report["waived"][0]["rule_id"] == "MW101"


def test_explain(repo: Path, capsys: pytest.CaptureFixture[str], marker: Path) -> None:
    (repo / "m.pt").write_bytes(payloads.torch_like_zip(payloads.os_system(marker)))
    assert main(["explain", "m.pt"]) == 1
    out = capsys.readouterr().out
    assert "# ---- m.pt!archive/data.pkl" in out
    assert "system(" in out
    assert "MW101" in out
    assert main(["explain", "models/ok.pkl"]) == 0
    assert main(["explain", "missing.pkl"]) == 2


def test_help_imports_nothing_heavy() -> None:
    code = ("import sys; from mlwarden.cli import main; "
            "rc = main(['--help']); heavy = {'fickling', 'tomlkit', 'h5py', 'py7zr', 'jinja2', 'pathspec', "
            "'mlwarden.models.scanner'} & set(sys.modules); print(sorted(heavy)); sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0
    assert proc.stdout.strip().endswith("[]"), proc.stdout
    for command in ("allowlist", "explain", "models", "scan"):
        assert command in proc.stdout


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert "mlwarden, version" in capsys.readouterr().out


def test_hook_start_up_stays_light(tmp_path: Path, marker: Path) -> None:
    """A hook run on one file without policy files loads no TOML parser, packaging, pathspec or fickling."""
    sample = tmp_path / "m.bin"
    sample.write_bytes(payloads.protocol0(marker))
    code = ("import sys; from mlwarden.cli import main; assert main(['models', sys.argv[1]]) == 1; "
            "heavy = {'tomllib', 'tomli', 'packaging', 'pathspec', 'fickling', 'tomlkit', 'json', 'tarfile', "
            "'tempfile', 'hashlib', 'lzma', 'bz2'} & set(sys.modules); print(sorted(heavy), file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code, str(sample)], capture_output=True, text=True,
                          cwd=tmp_path, check=False)
    assert proc.returncode == 0, proc.stderr  # main() returned 1; the script itself exits 0
    assert proc.stderr.strip().splitlines()[-1] == "[]"


def test_scan_of_this_repository_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import ROOT

    monkeypatch.chdir(ROOT)
    assert main(["scan", "."]) == 0


def test_pickle_policy_entry_silences_a_class(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "models" / "evil.bin").unlink()
    call = payloads.p4(payloads.glob("acme.nets", "Net") + payloads.EMPTY_TUPLE + b"R")
    (repo / "models" / "net.pkl").write_bytes(call)
    assert main(["models", "models"]) == 1
    assert "MW102" in capsys.readouterr().out
    assert main(["allowlist", "add", "pickle", "--global", "acme.nets.Net", "--reason", "ours", "--owner", "o",
                 "--expires", "2099-01-01"]) == 0
    assert main(["models", "models"]) == 0


def test_scan_skips_virtual_environments_and_caches(repo: Path, marker: Path) -> None:
    (repo / "models" / "evil.bin").unlink()
    venv = repo / "env"
    (venv / "lib").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (venv / "lib" / "evil.bin").write_bytes(payloads.protocol0(marker))
    (repo / "__pycache__").mkdir()
    (repo / "__pycache__" / "evil.bin").write_bytes(payloads.protocol0(marker))
    assert main(["scan"]) == 0
    assert main(["models", "env/lib/evil.bin"]) == 1  # named explicitly, it is scanned
