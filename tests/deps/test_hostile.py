"""Hostile dependency files (issue 15): credentials never printed, budgets that hold, wrong types that become one
error naming the file and field, never a traceback or a hang."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlwarden.cli import main
from mlwarden.deps.formats import parse_file
from mlwarden.deps.model import Manifest
from mlwarden.deps.reading import MAX_INCLUDE_DEPTH
from mlwarden.deps.requirements import parse_requirements
from tests.conftest import ROOT

LOCKS = ROOT / "tests" / "data" / "locks"
SECRET = "s3cr3t" + "Passw0rdXYZ"  # planted, harmless  # pragma: allowlist secret
TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0" + "K1l2M3n4O5p6Q7r8"

PLANTED = {
    "requirements.txt": (f"--index-url https://user:{SECRET}@pypi.example.com/simple\n"
                         f"--extra-index-url https://__token__:{SECRET}@extra.example.com/simple\n"
                         f"-f https://user:{SECRET}@wheels.example.com/\n"
                         f"lib @ git+https://{TOKEN}@github.com/acme/lib@main\n"
                         f"git+https://x-access-token:{SECRET}@github.com/acme/other.git#egg=other\n"
                         f"bad requirement https://user:{SECRET}@host/(oops\n"),
    "pyproject.toml": (f'[project]\nname = "p"\ndependencies = ["lib"]\n'
                       f'[[tool.uv.index]]\nname = "corp"\nurl = "https://user:{SECRET}@corp.example/simple"\n'
                       f'[tool.uv.sources]\nlib = {{ git = "https://{TOKEN}@github.com/acme/lib", rev = "main" }}\n'
                       f'[[tool.poetry.source]]\nname = "p"\nurl = "https://u:{SECRET}@poetry.example/simple"\n'
                       f'[[tool.pdm.source]]\nname = "x"\nurl = "https://u:{SECRET}@pdm.example/simple"\n'),
    "uv.lock": (f'version = 1\n\n[[package]]\nname = "lib"\nversion = "1.0"\n'
                f'source = {{ git = "https://{TOKEN}@github.com/acme/lib?rev=main#{"a" * 40}" }}\n'
                f'\n[[package]]\nname = "corp"\nversion = "2.0"\n'
                f'source = {{ registry = "https://user:{SECRET}@corp.example/simple" }}\n'),
    "Pipfile.lock": json.dumps({"_meta": {"sources": [{"name": "corp", "url": f"https://u:{SECRET}@corp.example/s",
                                                        "verify_ssl": True}]},
                                "default": {"lib": {"git": f"https://{TOKEN}@github.com/acme/lib", "ref": "main"}},
                                "develop": {}}),
    "environment.yml": (f"channels:\n  - https://user:{SECRET}@conda.example/channel\ndependencies:\n  - numpy=1.26.4\n"
                        f"  - pip:\n    - --index-url https://user:{SECRET}@pip.example/simple\n"
                        f"    - -e git+https://{TOKEN}@github.com/acme/lib#egg=lib\n"),
    "pylock.toml": (f'lock-version = "1.0"\ncreated-by = "x"\n[[packages]]\nname = "lib"\nversion = "1"\n'
                    f'vcs = {{ type = "git", url = "https://{TOKEN}@github.com/acme/lib", commit-id = "{"a" * 40}" }}\n'
                    f'[[packages]]\nname = "corp"\nversion = "2"\nindex = "https://u:{SECRET}@corp.example/simple"\n'),
}


@pytest.mark.parametrize("name", sorted(PLANTED))
def test_credentials_never_reach_pins_or_any_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str], name: str) -> None:
    (tmp_path / name).write_text(PLANTED[name])
    manifests = parse_file(tmp_path / name, tmp_path)
    assert SECRET not in repr(manifests)
    assert TOKEN not in repr(manifests)
    assert any(m.pins or m.indexes or m.channels for m in manifests)
    monkeypatch.chdir(tmp_path)
    for fmt in ("text", "json", "sarif"):
        main(["deps", "--format", fmt, name])
        out = capsys.readouterr()
        assert SECRET not in out.out + out.err, fmt
        assert TOKEN not in out.out + out.err, fmt


def test_unparsable_line_is_quoted_redacted(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text(f"pkg @ https://user:{SECRET}@host/x.whl ; (((\n")
    [manifest] = parse_requirements(tmp_path / "requirements.txt", tmp_path)
    [problem] = manifest.problems
    assert "****" in problem.message
    assert SECRET not in problem.message


# --- budgets ----------------------------------------------------------------------------------------------------
def _timed(seconds: float) -> Any:
    class Timer:
        def __enter__(self) -> None:
            self.start = time.perf_counter()

        def __exit__(self, *exc: object) -> None:
            assert time.perf_counter() - self.start < seconds

    return Timer()


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_include_of_dev_zero_is_refused(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("-r /dev/zero\n")
    with _timed(2):
        manifests = parse_requirements(tmp_path / "requirements.txt", tmp_path)
    assert manifests[0].problems[0].fatal
    with _timed(2):  # named explicitly: still not a regular file
        [manifest] = parse_requirements(Path("/dev/zero"), tmp_path)
    assert "not read" in manifest.problems[0].message


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
def test_fifo_is_never_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "requirements-dev.txt")
    (tmp_path / "requirements.txt").write_text("-r requirements-dev.txt\n")
    with _timed(2):
        manifests = parse_requirements(tmp_path / "requirements.txt", tmp_path)
    assert any("FIFO" in p.message for m in manifests for p in m.problems)
    with _timed(2):
        [manifest] = parse_file(tmp_path / "requirements-dev.txt", tmp_path)
    assert manifest.problems[0].fatal


def test_yaml_alias_bomb_is_refused(tmp_path: Path) -> None:
    bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for level in "bcdefghi":
        previous = chr(ord(level) - 1)
        bomb.append(f"{level}: &{level} [" + ",".join([f"*{previous}"] * 9) + "]")
    bomb.append("dependencies: *i")
    (tmp_path / "environment.yml").write_text("\n".join(bomb) + "\n")
    assert len((tmp_path / "environment.yml").read_bytes()) < 600
    with _timed(2):
        [manifest] = parse_file(tmp_path / "environment.yml", tmp_path)
    assert manifest.problems[0].fatal
    assert "alias" in manifest.problems[0].message


def test_include_diamond_is_read_once(tmp_path: Path) -> None:
    levels = 24
    for level in range(levels):
        (tmp_path / f"l{level}a.txt").write_text(f"-r l{level + 1}a.txt\n-r l{level + 1}b.txt\n")
        (tmp_path / f"l{level}b.txt").write_text(f"-r l{level + 1}a.txt\n-r l{level + 1}b.txt\n")
    (tmp_path / f"l{levels}a.txt").write_text("numpy==1.26.4\n")
    (tmp_path / f"l{levels}b.txt").write_text("pandas==2.2.0\n")
    with _timed(5):
        manifests = parse_requirements(tmp_path / "l0a.txt", tmp_path)
    assert len({m.file for m in manifests}) == len(manifests) <= 2 * levels + 2
    # the chain is deeper than the include budget: reported, not followed forever
    assert any(p.fatal and f"deeper than {MAX_INCLUDE_DEPTH}" in p.message for m in manifests for p in m.problems)


def test_long_name_is_refused_cheaply(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("a" * 40_000 + "==1.0\n")
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "p"\ndependencies = ["{"b" * 40_000}==1"]\n')
    with _timed(3):
        [req] = parse_requirements(tmp_path / "requirements.txt", tmp_path)
        [pyproject] = parse_file(tmp_path / "pyproject.toml", tmp_path)
        assert main_quiet(tmp_path, "deps") in (1, 2)
    assert not req.pins
    assert not pyproject.pins
    assert "longer than" in req.problems[0].message


def main_quiet(path: Path, *args: str) -> int:
    old = Path.cwd()
    os.chdir(path)
    try:
        return main(list(args))
    finally:
        os.chdir(old)


def test_fifty_thousand_dependencies_in_linear_time(tmp_path: Path) -> None:
    names = [f"pkg{i}" for i in range(50_000)]
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "p"\ndependencies = [\n' +
                                             "".join(f'  "{n}==1.0",\n' for n in names) + "]\n")
    start = time.perf_counter()
    [manifest] = parse_file(tmp_path / "pyproject.toml", tmp_path)
    elapsed = time.perf_counter() - start
    assert len(manifest.pins) == 50_000
    assert manifest.pins[-1].line == 50_003
    assert elapsed < 20


@pytest.mark.parametrize(("name", "text"), [
    ("pyproject.toml", "a = " + "[" * 5000 + "]" * 5000 + "\n"),
    ("Pipfile.lock", "[" * 100_000 + "]" * 100_000),
    ("environment.yml", "dependencies: " + "[" * 5000 + "]" * 5000 + "\n"),
])
def test_deep_nesting_is_one_error(tmp_path: Path, name: str, text: str) -> None:
    (tmp_path / name).write_text(text)
    [manifest] = parse_file(tmp_path / name, tmp_path)
    assert manifest.problems[0].fatal
    assert "nest" in manifest.problems[0].message


# --- typed validation: every field of real files set to the wrong type ------------------------------------------
WRONG = st.one_of(st.integers(), st.booleans(), st.text(max_size=5), st.lists(st.integers(), max_size=2),
                  st.dictionaries(st.text(max_size=3), st.integers(), max_size=2), st.floats(allow_nan=False))


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in list(value.items())[:40]:
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value[:3]):
            out += _paths(item, (*prefix, index))
    return out


def _set(value: Any, path: tuple[Any, ...], new: Any) -> None:
    for key in path[:-1]:
        value = value[key]
    value[path[-1]] = new


def _mutants(kind: str) -> tuple[Any, list[tuple[Any, ...]]]:
    from mlwarden import _toml

    sources = {"uv.lock": LOCKS / "uv-local-sources" / "uv.lock", "poetry.lock": LOCKS / "poetry-1.x-old-lock" /
               "poetry.lock", "pylock.toml": LOCKS / "pipenv-example" / "pylock.toml",
               "Pipfile.lock": LOCKS / "pipenv-example" / "Pipfile.lock",
               "pyproject.toml": LOCKS / "poetry-sample-project" / "pyproject.toml",
               "conda-lock.yml": LOCKS / "conda-maternal-health" / "environment.yml"}
    text = sources[kind].read_text()
    data = json.loads(text) if kind == "Pipfile.lock" else yaml.safe_load(text) if kind.endswith(".yml") \
        else _toml.loads(text)
    return data, _paths(data)


@pytest.mark.parametrize("kind", ["uv.lock", "poetry.lock", "pylock.toml", "Pipfile.lock", "pyproject.toml",
                                  "conda-lock.yml"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_wrong_types_are_one_error_naming_the_field(tmp_path: Path, kind: str, data: st.DataObject) -> None:
    import copy

    import tomli_w

    document, paths = _mutants(kind)
    document = copy.deepcopy(document)
    path = data.draw(st.sampled_from(paths))
    _set(document, path, data.draw(WRONG))
    name = "conda-lock.yml" if kind == "conda-lock.yml" else kind
    if kind == "Pipfile.lock":
        text = json.dumps(document)
    elif kind.endswith(".yml"):
        text = yaml.safe_dump(document)
        name = "environment.yml"
    else:
        try:
            text = tomli_w.dumps(document)
        except (TypeError, ValueError):
            return  # not representable in TOML
    (tmp_path / name).write_text(text)
    manifests: list[Manifest] = parse_file(tmp_path / name, tmp_path)  # must not raise
    for manifest in manifests:
        for problem in manifest.problems:
            assert "\n" not in problem.message
            assert "Traceback" not in problem.message


@pytest.mark.parametrize(("name", "head", "line"), [
    ("pyproject.toml", "[tool.poetry.dependencies]\n", 'pkg{i} = "==1.0"\n'),
    ("environment.yml", "dependencies:\n", "  - pkg{i}=1.0.0\n"),
    ("requirements.txt", "", "pkg{i}==1.0\n"),
])
def test_fifty_thousand_entries_of_other_formats(tmp_path: Path, name: str, head: str, line: str) -> None:
    (tmp_path / name).write_text(head + "".join(line.format(i=i) for i in range(50_000)))
    with _timed(20):
        manifests = parse_file(tmp_path / name, tmp_path)
    assert len(manifests[0].pins) == 50_000


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.one_of(
    st.text(max_size=60),
    st.sampled_from(["-r", "-c", "-e", "--hash", "-i", "--index-url=", "\\", "#", "${HOME}", "@", ";", "[", "git+",
                     "file:///etc/passwd", "-r ../../../etc/passwd", "--extra-index", "--", "-"]),
), max_size=12))
def test_requirements_reader_never_raises(tmp_path: Path, lines: list[str]) -> None:
    (tmp_path / "requirements.txt").write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
    for manifest in parse_requirements(tmp_path / "requirements.txt", tmp_path):
        for problem in manifest.problems:
            assert "\n" not in problem.message


@pytest.mark.parametrize("field", ["affected", "versions", "ranges", "aliases", "package", "events", "modified"])
@pytest.mark.parametrize("wrong", [5, "text", {"a": 1}, [1, 2], None, True])
def test_osv_record_with_wrong_types_is_one_warning(tmp_path: Path, field: str, wrong: object) -> None:
    from mlwarden.deps.osv import OsvDatabase

    good = json.loads((ROOT / "tests/data/advisories/malicious/pypi/1337test/MAL-2024-4720.json").read_text())
    bad = json.loads(json.dumps(good))
    bad["id"] = "MAL-0000-bad"
    bad["affected"][0]["package"]["name"] = "other"
    bad["affected"][0]["ranges"] = [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]
    target = {"affected": bad, "modified": bad, "aliases": bad, "versions": bad["affected"][0],
              "ranges": bad["affected"][0], "package": bad["affected"][0], "events": bad["affected"][0]["ranges"][0]}
    target[field][field] = wrong
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "good.json").write_text(json.dumps(good))
    (tmp_path / "db" / "bad.json").write_text(json.dumps(bad))
    database = OsvDatabase.load(tmp_path / "db", tmp_path / "cache")  # never raises on a bad record
    assert [a.id for a in database.matches("1337test", "1")] == ["MAL-2024-4720"]
    assert all("\n" not in w for w in database.stats.warnings)


NAMES = ["requirements.txt", "pyproject.toml", "uv.lock", "poetry.lock", "Pipfile", "Pipfile.lock", "pylock.toml",
         "environment.yml", "conda-lock.yml", "conda-linux-64.lock", "dev.in", "x-1.0-py3-none-any.whl"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=st.dictionaries(st.sampled_from(NAMES), st.binary(max_size=300), min_size=1, max_size=4))
def test_deps_cli_on_random_files_ends_in_a_known_exit_code(tmp_path_factory: pytest.TempPathFactory,
                                                             files: dict[str, bytes]) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    for name, data in files.items():
        (folder / name).write_bytes(data)
    assert main_quiet(folder, "deps", "--format", "json") in (0, 1, 2)


def test_a_package_named_like_a_token_prefix_is_still_a_package(tmp_path: Path) -> None:
    from mlwarden.redact import looks_like_credential

    assert not looks_like_credential("hf_transfer")  # a real package (peft's examples pin it)
    assert looks_like_credential("ghp_" + "Zq8s3cr3tPassw0rdXk" + "A" * 17)
