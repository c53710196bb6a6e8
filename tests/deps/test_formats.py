"""Every dependency format parsed from realistic files, and every source rule tested both ways."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlwarden.cli import main
from mlwarden.deps.checks import check_manifest
from mlwarden.deps.formats import parse_file
from mlwarden.deps.requirements import parse_requirements
from mlwarden.findings import Finding
from mlwarden.policy import Policy, load_policy

SHA = "sha256:" + "a" * 64
COMMIT = "96e8b76aa8ed13c5952c4750e817de301f27a6a8"
META = "reason = 'r'\nowner = 'o'\nadded = 2026-01-01\nexpires = 2099-01-01\n"


def rules_of(findings: Sequence[Finding]) -> set[str]:
    return {f.rule for f in findings}


def one(tmp_path: Path, name: str, text: str, policy: Policy | None = None) -> list[Finding]:
    path = tmp_path / name
    path.write_text(text)
    manifests = parse_file(path, tmp_path)
    out: list[Finding] = []
    for manifest in manifests:
        out += check_manifest(manifest, policy or Policy())
    return out


def test_requirements_file_features(tmp_path: Path) -> None:
    (tmp_path / "base.txt").write_text("numpy==1.26.4 \\\n    --hash=sha256:" + "b" * 64 + "\n")
    (tmp_path / "requirements.txt").write_text(
        "# comment\n-r base.txt\n-c constraints.txt\n--index-url https://pypi.org/simple\n"
        "pandas==2.2.0 ; python_version >= '3.9'  # trailing comment\n"
        "scikit-learn>=1.4\n"
        "mylib @ git+https://github.com/acme-ml/mylib@" + COMMIT + "\n"
        "git+https://github.com/acme-ml/other@main#egg=other\n"
        "wheel-pkg @ https://download.example/wheels/wheel_pkg-1.0-py3-none-any.whl#sha256=" + "c" * 64 + "\n"
        "-e ./local/pkg\n")
    (tmp_path / "constraints.txt").write_text("urllib3==2.2.0\n")
    manifests = parse_requirements(tmp_path / "requirements.txt", tmp_path)
    assert [m.file for m in manifests] == ["requirements.txt", "base.txt", "constraints.txt"]
    pins = {p.name: p for m in manifests for p in m.pins}
    assert pins["numpy"].version == "1.26.4"
    assert pins["numpy"].hashes == ("sha256:" + "b" * 64,)
    assert pins["numpy"].line == 1
    assert pins["pandas"].markers == 'python_version >= "3.9"'
    assert pins["scikit-learn"].version is None
    assert pins["mylib"].source is not None
    assert pins["mylib"].source.ref == COMMIT
    assert pins["other"].source is not None
    assert pins["other"].source.ref == "main"
    assert pins["wheel-pkg"].source is not None
    assert pins["wheel-pkg"].source.kind == "url"
    assert manifests[0].indexes == [("https://pypi.org/simple", 4)]


def test_requirements_problems(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("-r b.txt\nnumpy==1\n")
    (tmp_path / "b.txt").write_text("-r a.txt\n--frobnicate\nnot a valid requirement!!\n")
    (tmp_path / "c.txt").write_bytes(b"numpy==1\n\xff\xfe\n")
    manifests = parse_requirements(tmp_path / "a.txt", tmp_path)
    problems = {(p.rule, p.file, p.line) for m in manifests for p in m.problems}
    assert ("MW310", "b.txt", 1) in problems
    assert ("MW309", "b.txt", 2) in problems
    assert ("MW308", "b.txt", 3) in problems
    assert rules_of(one(tmp_path, "c.txt", (tmp_path / "c.txt").read_text(errors="replace"))) <= {"MW301", "MW308"}
    (tmp_path / "d.txt").write_bytes(b"numpy==1\n\xff\xfe\n")
    findings = check_manifest(parse_requirements(tmp_path / "d.txt", tmp_path)[0], Policy())
    assert [f.rule for f in findings] == ["MW308"]


def test_pyproject_pep621_uv_and_poetry(tmp_path: Path) -> None:
    text = f"""
[project]
name = "demo"
dependencies = ["numpy>=1.26", "torch==2.6.0"]
[project.optional-dependencies]
viz = ["matplotlib==3.9.0"]
[dependency-groups]
dev = ["pytest>=8"]
[tool.uv]
index-strategy = "unsafe-best-match"
[[tool.uv.index]]
name = "corp"
url = "https://pypi.corp.example/simple"
[tool.uv.sources]
torch = {{ git = "https://github.com/pytorch/pytorch", rev = "{COMMIT}" }}
[tool.poetry.dependencies]
python = "^3.10"
requests = "2.31.0"
[[tool.poetry.source]]
name = "extra"
url = "https://extra.example/simple"
priority = "supplemental"
"""
    (tmp_path / "pyproject.toml").write_text(text)
    manifest = parse_file(tmp_path / "pyproject.toml", tmp_path)[0]
    names = {p.name: p for p in manifest.pins}
    assert set(names) == {"numpy", "torch", "matplotlib", "pytest", "requests"}
    assert names["torch"].source is not None
    assert names["torch"].source.ref == COMMIT
    assert names["requests"].version == "2.31.0"
    assert manifest.indexes == [("https://pypi.corp.example/simple", 13)]
    assert manifest.extra_indexes[0][0] == "https://extra.example/simple"
    got = rules_of(check_manifest(manifest, Policy()))
    assert {"MW303", "MW305"} <= got  # corp index not allowed; unsafe strategy / supplemental source
    assert "MW301" not in got  # ranges are expected in pyproject.toml


UV_LOCK = f"""version = 1
requires-python = ">=3.10"

[[package]]
name = "numpy"
version = "1.26.4"
source = {{ registry = "https://pypi.org/simple" }}
sdist = {{ url = "https://files.pythonhosted.org/numpy-1.26.4.tar.gz", hash = "{SHA}", size = 1 }}
wheels = [{{ url = "https://files.pythonhosted.org/numpy-1.26.4-cp311.whl", hash = "{SHA}", size = 1 }}]

[[package]]
name = "acme-core"
version = "0.3.0"
source = {{ registry = "https://pypi.org/simple" }}

[[package]]
name = "tool"
version = "0.1.0"
source = {{ git = "https://github.com/acme-ml/tool?branch=main#{COMMIT}" }}

[[package]]
name = "demo"
version = "0.1.0"
source = {{ editable = "." }}
"""


def test_uv_lock(tmp_path: Path) -> None:
    (tmp_path / "uv.lock").write_text(UV_LOCK)
    manifest = parse_file(tmp_path / "uv.lock", tmp_path)[0]
    pins = {p.name: p for p in manifest.pins}
    assert set(pins) == {"numpy", "acme-core", "tool"}
    assert pins["numpy"].hashes == (SHA, SHA)
    assert pins["tool"].source is not None
    assert pins["tool"].source.commit == COMMIT
    assert pins["acme-core"].line == 12


def test_poetry_pipfile_pylock(tmp_path: Path) -> None:
    (tmp_path / "poetry.lock").write_text(
        '[[package]]\nname = "pandas"\nversion = "2.2.0"\n'
        'files = [\n  {file = "pandas.whl", hash = "' + SHA + '"},\n]\n'
        '[[package]]\nname = "lib"\nversion = "1.0"\n[package.source]\ntype = "git"\n'
        'url = "https://github.com/acme-ml/lib.git"\nreference = "v1.0"\nresolved_reference = "' + COMMIT + '"\n'
        '[metadata]\nlock-version = "2.0"\n')
    poetry = parse_file(tmp_path / "poetry.lock", tmp_path)[0]
    assert {(p.name, p.version, bool(p.hashes)) for p in poetry.pins} == {("pandas", "2.2.0", True),
                                                                           ("lib", "1.0", False)}
    (tmp_path / "Pipfile.lock").write_text(json.dumps({
        "_meta": {"sources": [{"name": "pypi", "url": "https://pypi.org/simple", "verify_ssl": True}]},
        "default": {"requests": {"hashes": [SHA], "index": "pypi", "version": "==2.31.0"}},
        "develop": {"pytest": {"hashes": [], "version": "==8.0.0"}}}, indent=4))
    pipfile = parse_file(tmp_path / "Pipfile.lock", tmp_path)[0]
    assert {(p.name, p.version) for p in pipfile.pins} == {("requests", "2.31.0"), ("pytest", "8.0.0")}
    (tmp_path / "pylock.toml").write_text(
        'lock-version = "1.0"\ncreated-by = "pip"\n[[packages]]\nname = "torch"\nversion = "2.6.0"\n'
        'index = "https://pypi.org/simple"\n[[packages.wheels]]\nurl = "https://files.example/torch.whl"\n'
        '[packages.wheels.hashes]\nsha256 = "' + "d" * 64 + '"\n')
    pylock = parse_file(tmp_path / "pylock.toml", tmp_path)[0]
    assert pylock.pins[0].hashes == ("sha256:" + "d" * 64,)
    (tmp_path / "pylock.bad.toml").write_text('lock-version = "2.0"\n')
    assert rules_of(check_manifest(parse_file(tmp_path / "pylock.bad.toml", tmp_path)[0], Policy())) == {"MW308"}


def test_conda_environment(tmp_path: Path) -> None:
    (tmp_path / "environment.yml").write_text(
        "name: ds\nchannels:\n  - conda-forge\n  - shady-channel\ndependencies:\n  - python=3.11\n"
        "  - numpy==1.26.4\n  - pandas\n  - conda-forge::scipy=1.12.0=py311h\n  - pip\n  - pip:\n"
        "    - torch==2.6.0\n    - --extra-index-url https://download.pytorch.org/whl/cpu\n")
    manifest = parse_file(tmp_path / "environment.yml", tmp_path)[0]
    pins = {p.name: p for p in manifest.pins}
    assert pins["numpy"].version == "1.26.4"
    assert pins["pandas"].version is None
    assert pins["scipy"].version == "1.12.0"
    assert pins["torch"].ecosystem == "PyPI"
    got = {(f.rule, f.location.line) for f in check_manifest(manifest, Policy())}
    assert ("MW303", 4) in got  # the channel nobody approved
    assert ("MW301", 8) in got  # pandas unpinned
    (tmp_path / "environment-bad.yml").write_text("name: [unclosed\n")
    assert rules_of(check_manifest(parse_file(tmp_path / "environment-bad.yml", tmp_path)[0], Policy())) == {"MW308"}


# --- source rules, both ways -------------------------------------------------------------------------------------
POLICY = f"""schema_version = 1
[policy]
require_hashes = true
[[index]]
id = "corp"
url = "https://pypi.corp.example/simple"
{META}
[[index]]
id = "internal"
url = "https://pypi.corp.example/internal/simple"
scope = ["acme-*"]
exclusive = true
{META}
[[index]]
id = "wheels"
kind = "find-links"
url = "https://wheels.corp.example/"
{META}
[[index]]
id = "forge"
kind = "conda-channel"
url = "conda-forge"
{META}
[[vcs]]
host = "github.com"
orgs = ["acme-ml"]
{META}
[[url]]
pattern = "https://download.example/wheels/*"
{META}
[[package]]
name = "pillow"
action = "deny"
versions = "<10.3"
{META}
"""


@pytest.fixture
def policy(tmp_path: Path) -> Policy:
    (tmp_path / "allowlists").mkdir()
    (tmp_path / "allowlists" / "p.toml").write_text(POLICY)
    return load_policy(tmp_path)


H = f" --hash={SHA}"


@pytest.mark.parametrize(("allowed", "denied", "rule"), [
    (f"--index-url https://pypi.corp.example/simple\nnumpy==1.0{H}\n",
     f"--index-url https://evil.example/simple\nnumpy==1.0{H}\n", "MW303"),
    (f"--index-url https://pypi.corp.example/simple\n--find-links https://wheels.corp.example\nnumpy==1.0{H}\n",
     f"--index-url https://pypi.corp.example/simple\n--find-links https://other.example/\nnumpy==1.0{H}\n", "MW303"),
    (f"--index-url https://pypi.corp.example/simple\nx @ git+https://github.com/acme-ml/x@{COMMIT}\n",
     f"--index-url https://pypi.corp.example/simple\nx @ git+https://gitlab.com/acme-ml/x@{COMMIT}\n", "MW303"),
    (f"--index-url https://pypi.corp.example/simple\nx @ git+https://github.com/acme-ml/x@{COMMIT}\n",
     "--index-url https://pypi.corp.example/simple\nx @ git+https://github.com/acme-ml/x@main\n", "MW304"),
    (f"--index-url https://pypi.corp.example/simple\nw @ https://download.example/wheels/w-1.0-py3-none-any.whl{H}\n",
     f"--index-url https://pypi.corp.example/simple\nw @ https://elsewhere.example/w-1.0-py3-none-any.whl{H}\n",
     "MW303"),
    (f"--index-url https://pypi.corp.example/simple\nnumpy==1.0{H}\n",
     "--index-url https://pypi.corp.example/simple\nnumpy==1.0\n", "MW302"),
    (f"--index-url https://pypi.corp.example/simple\npillow==10.3.0{H}\n",
     f"--index-url https://pypi.corp.example/simple\npillow==9.5.0{H}\n", "MW306"),
    (f"--index-url https://pypi.corp.example/internal/simple\nacme-core==1.0{H}\n",
     f"--index-url https://pypi.corp.example/simple\nacme-core==1.0{H}\n", "MW305"),
    (f"--index-url https://pypi.corp.example/simple\nnumpy==1.0{H}\n",
     f"--index-url https://pypi.corp.example/simple\n--extra-index-url https://pypi.corp.example/simple\nnumpy==1.0{H}\n",
     "MW305"),
    (f"--index-url https://pypi.corp.example/simple\nrequests==2.31.0{H}\n",
     f"--index-url https://pypi.corp.example/simple\nreqeusts==2.31.0{H}\n", "MW307"),
])
def test_source_rules_both_ways(tmp_path: Path, policy: Policy, allowed: str, denied: str, rule: str) -> None:
    assert rule not in rules_of(one(tmp_path, "requirements.txt", allowed, policy))
    assert rule in rules_of(one(tmp_path, "requirements-bad.txt", denied, policy))


def test_conda_channel_and_lock_index_both_ways(tmp_path: Path, policy: Policy) -> None:
    env = "channels:\n  - {}\ndependencies:\n  - numpy==1.26.4\n"
    assert "MW303" not in rules_of(one(tmp_path, "environment.yml", env.format("conda-forge"), policy))
    assert "MW303" in rules_of(one(tmp_path, "environment-2.yml", env.format("defaults"), policy))
    lock = UV_LOCK.replace("https://pypi.org/simple", "https://pypi.corp.example/simple", 1)
    got = one(tmp_path, "uv.lock", lock, policy)
    confusion = [f for f in got if f.rule == "MW305"]
    assert confusion
    assert confusion[0].severity.label == "critical"


def test_default_policy_allows_pypi_only(tmp_path: Path) -> None:
    assert "MW303" not in rules_of(one(tmp_path, "requirements.txt", "-i https://pypi.org/simple\nnumpy==1\n"))
    assert "MW303" in rules_of(one(tmp_path, "requirements-2.txt", "-i https://mirror.example/simple\nnumpy==1\n"))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=200))
def test_random_requirement_lines_never_crash(tmp_path_factory: pytest.TempPathFactory, line: str) -> None:
    folder = tmp_path_factory.mktemp("req")
    (folder / "requirements.txt").write_text(line, encoding="utf-8")
    for manifest in parse_requirements(folder / "requirements.txt", folder):
        check_manifest(manifest, Policy(), typosquats=False)


def test_cli_deps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "requirements.txt").write_text("numpy==1.26.4\nreqeusts==2.31.0\n")
    assert main(["deps"]) == 1
    assert "requirements.txt:2: MW307 high" in capsys.readouterr().out
    (tmp_path / "requirements.txt").write_text("numpy==1.26.4\n")
    assert main(["deps", "requirements.txt"]) == 0
    assert main(["deps", "missing.txt"]) == 2
    assert main(["scan"]) == 0


def test_uv_index_strategy_both_ways(tmp_path: Path) -> None:
    base = '[project]\nname = "d"\ndependencies = []\n[tool.uv]\nindex-strategy = "{}"\n'
    assert "MW305" not in rules_of(one(tmp_path, "pyproject.toml", base.format("first-index")))
    (tmp_path / "sub").mkdir()
    assert "MW305" in rules_of(one(tmp_path / "sub", "pyproject.toml", base.format("unsafe-best-match")))


def test_malformed_lock_files_name_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "uv.lock").write_text('version = 1\n[[package]]\nname = "x"\nversion = \n')
    findings = check_manifest(parse_file(tmp_path / "uv.lock", tmp_path)[0], Policy())
    assert [(f.rule, f.location.path, f.location.line) for f in findings] == [("MW308", "uv.lock", 4)]
    (tmp_path / "Pipfile.lock").write_text("{ not json")
    findings = check_manifest(parse_file(tmp_path / "Pipfile.lock", tmp_path)[0], Policy())
    assert [f.rule for f in findings] == ["MW308"]
    (tmp_path / "poetry.lock").write_text('[[package]]\nversion = "1"\n')  # no name
    findings = check_manifest(parse_file(tmp_path / "poetry.lock", tmp_path)[0], Policy())
    assert [f.rule for f in findings] == ["MW308"]


def test_scan_runs_the_audit_when_configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import ROOT

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    (tmp_path / "requirements.txt").write_text("jinja2==2.11.2\n")
    assert main(["scan"]) == 0
    (tmp_path / ".mlwarden.toml").write_text(f"osv-db = '{ROOT / 'tests' / 'data' / 'advisories'}'\n")
    assert main(["scan"]) == 1
