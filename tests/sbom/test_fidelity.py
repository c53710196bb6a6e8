"""SBOM fidelity on real lock files: the components, every hash and the dependency graph agree with what the
tool that wrote the lock says (uv's own CycloneDX export); licences, model cards, data entries, redaction,
permissions."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from mlwarden.cli import main
from mlwarden.deps.model import Pin
from mlwarden.sbom.licenses import license_entries
from mlwarden.sbom.validate import validate
from tests.conftest import ROOT

DATA = ROOT / "tests" / "data" / "sbom"  # sources in tests/data/sbom/README.md


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / ".xdg"))
    (tmp_path / ".gitignore").write_text(".xdg/\n")
    return tmp_path


def generate(*extra: str) -> dict[str, Any]:
    assert main(["sbom", "generate", "-o", "out.cdx.json", *extra]) == 0
    doc: dict[str, Any] = json.loads(Path("out.cdx.json").read_text())
    assert validate(doc) == []
    return doc


def graph_by_name(doc: dict[str, Any]) -> dict[str, list[str]]:
    names = {c["bom-ref"]: c["name"] for c in doc["components"]}
    names[doc["metadata"]["component"]["bom-ref"]] = doc["metadata"]["component"]["name"]
    return {names[d["ref"]]: sorted(names[r] for r in d.get("dependsOn", [])) for d in doc["dependencies"]}


def test_uv_lock_agrees_with_uv_export(workdir: Path) -> None:
    for name in ("uv.lock", "pyproject.toml"):
        shutil.copy(DATA / "uv-duck-pypi" / name, workdir / name)
    ours = generate()
    theirs = json.loads((DATA / "uv-duck-pypi" / "uv-export.cdx.json").read_text())
    theirs["components"] = [c for c in theirs["components"] if c["name"] != "duck-pypi"]  # uv lists the root
    assert {(c["name"], c["version"]) for c in ours["components"]} == \
           {(c["name"], c["version"]) for c in theirs["components"]}
    assert {c["purl"] for c in ours["components"]} == {c["purl"] for c in theirs["components"]}
    # every hash: uv puts them on the distribution references, we on the component (as cyclonedx-py's
    # environment SBOMs do); 334 of 334, none capped
    their_hashes = {(c["name"], h["content"]) for c in theirs["components"]
                    for ref in c.get("externalReferences", []) for h in ref.get("hashes", [])}
    our_hashes = {(c["name"], h["content"]) for c in ours["components"] for h in c.get("hashes", [])}
    assert len(our_hashes) == 334
    assert our_hashes == their_hashes
    assert max(len(c.get("hashes", [])) for c in ours["components"]) > 8
    assert graph_by_name(ours) == graph_by_name(theirs)
    assert "properties" not in ours["metadata"]  # a real graph: no "flat" note


def test_poetry_lock_graph(workdir: Path) -> None:
    for name in ("poetry.lock", "pyproject.toml"):
        shutil.copy(DATA / "poetry-poc" / name, workdir / name)
    doc = generate()
    graph = graph_by_name(doc)
    assert graph["poc-poetry"] == sorted(["bandit", "black", "flake8", "hypothesis", "isort", "mypy", "pep8-naming",
                                          "pre-commit", "pytest", "pytest-cov", "safety"])
    assert [n.lower() for n in graph["bandit"]] == ["colorama", "gitpython", "pyyaml", "six", "stevedore"]
    assert graph["pytest"] == sorted(["atomicwrites", "attrs", "colorama", "iniconfig", "packaging", "pluggy",
                                      "py", "toml"])
    assert len(doc["components"]) == 52
    assert doc["metadata"]["component"]["licenses"] == [{"license": {"id": "MIT"}}]


def test_pipfile_lock_graph_is_flat_and_says_so(workdir: Path) -> None:
    (workdir / "Pipfile.lock").write_text(json.dumps({
        "_meta": {"sources": [{"name": "pypi", "url": "https://pypi.org/simple", "verify_ssl": True}]},
        "default": {"requests": {"version": "==2.31.0", "hashes": ["sha256:" + "b" * 64]},
                    "urllib3": {"version": "==2.0.7", "hashes": []}},
        "develop": {}}))
    doc = generate()
    assert graph_by_name(doc)[doc["metadata"]["component"]["name"]] == ["requests", "urllib3"]
    assert len(doc["dependencies"]) == 1  # no per-component entries: their dependencies are unknown
    assert doc["metadata"]["properties"] == [
        {"name": "mlwarden:dependency-graph",
         "value": "flat: no dependency edges in Pipfile.lock; every component is listed as direct"}]


def test_two_versions_of_one_package_and_git_sources(workdir: Path) -> None:
    commit = "1234567890abcdef1234567890abcdef12345678"
    (workdir / "uv.lock").write_text(f"""version = 1
requires-python = ">=3.10"

[[package]]
name = "app"
version = "0.1.0"
source = {{ editable = "." }}
dependencies = [
    {{ name = "numpy", version = "1.26.4", marker = "python_version < '3.12'" }},
    {{ name = "numpy", version = "2.1.0", marker = "python_version >= '3.12'" }},
    {{ name = "zope-interface" }},
    {{ name = "mylib" }},
]

[[package]]
name = "numpy"
version = "1.26.4"
source = {{ registry = "https://pypi.org/simple" }}

[[package]]
name = "numpy"
version = "2.1.0"
source = {{ registry = "https://pypi.org/simple" }}

[[package]]
name = "zope-interface"
version = "7.0"
source = {{ registry = "https://pypi.org/simple" }}

[[package]]
name = "mylib"
version = "0.3.0"
source = {{ git = "https://d:hunter2secret@git.example/org/mylib?rev=v0.3#{commit}" }}  # pragma: allowlist secret
dependencies = [{{ name = "numpy", version = "2.1.0", source = {{ registry = "https://pypi.org/simple" }} }}]
""")
    doc = generate()
    text = Path("out.cdx.json").read_text()
    assert "hunter2secret" not in text
    refs = {(c["name"], c.get("version")): c for c in doc["components"]}
    mylib = refs[("mylib", "0.3.0")]
    assert mylib["purl"].startswith("pkg:pypi/mylib@0.3.0?vcs_url=git%2Bhttps:%2F%2Fd:%2A%2A%2A%2A%40git.example")
    assert mylib["purl"].endswith(f"%40{commit}")
    assert mylib["externalReferences"] == [{"type": "vcs", "url": "https://d:****@git.example/org/mylib"}]
    assert {"name": "mlwarden:vcs-requested-ref", "value": "v0.3"} in mylib["properties"]
    deps = {d["ref"]: d.get("dependsOn", []) for d in doc["dependencies"]}
    assert deps[mylib["bom-ref"]] == ["pkg:pypi/numpy@2.1.0"]
    assert sorted(deps["project:" + doc["metadata"]["component"]["name"]]) == sorted(
        ["pkg:pypi/numpy@1.26.4", "pkg:pypi/numpy@2.1.0", "pkg:pypi/zope-interface@7.0", mylib["bom-ref"]])


def test_license_entries() -> None:
    assert license_entries("MIT") == [{"license": {"id": "MIT"}}]
    assert license_entries("apache-2.0") == [{"license": {"id": "Apache-2.0"}}]
    assert license_entries("Apache-2.0 OR mit") == [{"expression": "Apache-2.0 OR MIT"}]
    assert license_entries("(MIT AND BSD-3-Clause) WITH Classpath-exception-2.0") == \
        [{"expression": "(MIT AND BSD-3-Clause) WITH Classpath-exception-2.0"}]
    assert license_entries("BSD License") == [{"license": {"name": "BSD License"}}]
    assert license_entries("") == []
    assert license_entries(None) == []


def test_pin_licence_is_used_when_the_model_carries_one(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The dependency model may grow `Pin.license` (from lock or installed metadata); it is read defensively."""
    import dataclasses

    import mlwarden.deps.formats as formats

    @dataclasses.dataclass(frozen=True)
    class LicensedPin(Pin):
        license: str | None = None

    real = formats._uv_lock

    def with_licence(text: str, manifest: Any, *rest: Any) -> None:
        real(text, manifest, *rest)
        manifest.pins[:] = [LicensedPin(**{f.name: getattr(p, f.name) for f in dataclasses.fields(p)},
                                        license="BSD-3-Clause") for p in manifest.pins]

    monkeypatch.setitem(formats._PARSERS, "uv.lock", with_licence)
    shutil.copy(DATA / "uv-duck-pypi" / "uv.lock", workdir / "uv.lock")
    doc = generate()
    assert all(c["licenses"] == [{"license": {"id": "BSD-3-Clause"}}] for c in doc["components"])


def test_models_and_data_carry_model_card_and_data(workdir: Path) -> None:
    import pickle

    (workdir / "m.pkl").write_bytes(pickle.dumps({"w": [1.0]}, protocol=4))
    (workdir / "train.parquet").write_bytes(b"PAR1" + b"\x00" * 8 + b"PAR1")
    for spec in ("1.6", "1.5"):
        doc = generate("--spec", spec)
        by_name = {c["name"]: c for c in doc["components"]}
        card = {p["name"]: p["value"] for p in by_name["m.pkl"]["modelCard"]["properties"]}
        assert card["mlwarden:format"] == "pickle"
        assert by_name["m.pkl"]["hashes"][0]["alg"] == "SHA-256"
        assert by_name["train.parquet"]["data"] == [{"type": "dataset", "name": "train.parquet"}]
        deps = {d["ref"]: d.get("dependsOn", []) for d in doc["dependencies"]}
        assert {"file:m.pkl", "file:train.parquet"} <= set(deps[doc["metadata"]["component"]["bom-ref"]])


def test_written_with_ordinary_permissions(workdir: Path) -> None:
    old = os.umask(0o022)
    try:
        generate()
        assert Path("out.cdx.json").stat().st_mode & 0o777 == 0o644
        os.chmod("out.cdx.json", 0o600)
        generate()
        assert Path("out.cdx.json").stat().st_mode & 0o777 == 0o600  # an existing file keeps its mode
    finally:
        os.umask(old)


def test_wrong_typed_project_and_lock_fields_never_crash(workdir: Path) -> None:
    (workdir / "pyproject.toml").write_text('[project]\nname = 5\nversion = ["x"]\nlicense = 3\n')
    (workdir / "requirements.txt").write_text("a==1\n")
    doc = generate()
    assert doc["metadata"]["component"]["name"] == workdir.name
    assert [c["name"] for c in doc["components"]] == ["a"]
    (workdir / "uv.lock").write_text('version = 1\n[[package]]\nname = "a"\nversion = "1"\n'
                                     'source = { registry = "https://pypi.org/simple" }\n'
                                     'dependencies = "b"\n[package.optional-dependencies]\nx = 3\n')
    assert main(["sbom", "generate", "-o", "out.cdx.json"]) == 2  # refused, naming the field: never a crash


SECRETS = ("Idx5ecretPw", "ExtraSecret123456789", "UrlSecretPw",
           "GitTokenSecret0123456789abcdef",  # pragma: allowlist secret
           "PipfileSecretPw",
           "PipGitSecret", "UvRegistrySecret", "PoetrySourceSecret")


@pytest.mark.parametrize("layout", ["requirements", "locks"])
def test_no_credential_anywhere_in_the_sbom(workdir: Path, layout: str) -> None:
    if layout == "requirements":
        (workdir / "requirements.txt").write_text(
            "--index-url https://deploy:Idx5ecretPw@pypi.corp.example/simple\n"  # pragma: allowlist secret
            "--extra-index-url https://tok_ExtraSecret123456789@extra.example/simple\n"
            "mypkg @ https://user:UrlSecretPw@files.example/mypkg-1.0-py3-none-any.whl\n"  # pragma: allowlist secret
            "gitpkg @ git+https://ghp_GitTokenSecret0123456789abcdef@github.com/org/gitpkg.git@v1.0\n"
            "plain==1.0\n")
    else:
        (workdir / "Pipfile.lock").write_text(json.dumps({
            "_meta": {"sources": [{"name": "corp",
                                   "url": "https://u:PipfileSecretPw@corp.example/s"}]},  # pragma: allowlist secret
            "default": {"a": {"version": "==1.0", "index": "corp", "hashes": []},
                        "b": {"git": "https://x-token:PipGitSecret@git.example/b.git",  # pragma: allowlist secret
                              "ref": "abc"}},
            "develop": {}}))
        (workdir / "uv.lock").write_text(
            'version = 1\n[[package]]\nname = "c"\nversion = "1"\n'
            'source = { registry = "https://me:UvRegistrySecret@pypi.corp.example/s" }\n'  # pragma: allowlist secret
        )
        (workdir / "poetry.lock").write_text(
            '[metadata]\nlock-version = "2.0"\ncontent-hash = "x"\npython-versions = "*"\n'
            '[[package]]\nname = "d"\nversion = "1"\nfiles = []\n[package.source]\ntype = "legacy"\n'
            'url = "https://me:PoetrySourceSecret@pypi.corp.example/simple"\n'  # pragma: allowlist secret
            'reference = "corp"\n')
    generate("--format", "json")
    text = Path("out.cdx.json").read_text()
    assert not [s for s in SECRETS if s in text]
    assert "****" in text or "%2A%2A%2A%2A" in text


def test_a_sole_private_index_is_the_repository_url(workdir: Path) -> None:
    (workdir / "requirements.txt").write_text("--index-url https://pypi.corp.example/simple\nplain==1.0\n")
    doc = generate()
    assert doc["components"][0]["purl"] == "pkg:pypi/plain@1.0?repository_url=https:%2F%2Fpypi.corp.example%2Fsimple"


def _dist(site: Path, name: str, version: str, *headers: str) -> None:
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("\n".join(["Metadata-Version: 2.4", f"Name: {name}", f"Version: {version}",
                                              *headers]) + "\n\nlong description\n")


def test_installed_environment_licences_and_graph(workdir: Path) -> None:
    site = workdir / "venv" / "lib" / "python3.11" / "site-packages"
    _dist(site, "app-lib", "1.0", "License-Expression: Apache-2.0 OR MIT", "Requires-Dist: requests>=2",
          "Requires-Dist: pytest; extra == 'test'", "Requires-Dist: tomli; python_version < '3.0'")
    _dist(site, "requests", "2.31.0", "License: Apache 2.0", "Classifier: License :: OSI Approved :: Apache Software "
          "License", "Requires-Dist: urllib3<3,>=1.21.1", "Requires-Dist: PySocks!=1.5.7; extra == 'socks'")
    _dist(site, "urllib3", "2.0.7", "License: UNKNOWN", "Classifier: License :: OSI Approved :: MIT License")
    _dist(site, "pytest", "8.0.0", "License: MIT license")
    _dist(site, "tomli", "2.0.1", "Classifier: License :: OSI Approved :: BSD License")
    doc = generate("--installed", str(workdir / "venv"))
    by_name = {c["name"]: c for c in doc["components"]}
    assert set(by_name) == {"app-lib", "requests", "urllib3", "pytest", "tomli"}
    assert by_name["app-lib"]["licenses"] == [{"expression": "Apache-2.0 OR MIT"}]
    assert by_name["requests"]["licenses"] == [{"license": {"name": "Apache 2.0"}}]  # License field first
    assert by_name["urllib3"]["licenses"] == [{"license": {"id": "MIT"}}]  # UNKNOWN: the classifier
    assert by_name["pytest"]["licenses"] == [{"license": {"id": "MIT"}}]
    assert by_name["tomli"]["licenses"] == [{"license": {"name": "BSD License"}}]  # ambiguous: no id guessed
    graph = graph_by_name(doc)
    assert graph["app-lib"] == ["requests"]  # not pytest (an extra), not tomli (a marker false here)
    assert graph["requests"] == ["urllib3"]
    root = doc["metadata"]["component"]["name"]
    assert graph[root] == ["app-lib", "pytest", "tomli"]  # what nothing else requires


def test_installed_needs_an_environment(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "empty").mkdir()
    assert main(["sbom", "generate", "--installed", str(workdir / "empty"), "-o", "x.json"]) == 2
    captured = capsys.readouterr()
    assert "not an installed environment" in captured.err
    assert "SBOM would be incomplete" in captured.err
    assert not (workdir / "x.json").exists()


def test_a_truncated_lock_is_an_error_and_an_odd_line_a_note(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "uv.lock").write_text('version = 1\n[[package]]\nname = "a"\nversion = ')
    assert main(["sbom", "generate", "-o", "x.json"]) == 2
    assert "uv.lock" in capsys.readouterr().err
    (workdir / "uv.lock").unlink()
    (workdir / "requirements.txt").write_text("good==1.0\nthis is not a requirement ???\n")
    doc = generate()
    assert [c["name"] for c in doc["components"]] == ["good"]
    unread = [p["value"] for p in doc["metadata"]["properties"] if p["name"] == "mlwarden:unread"]
    assert unread
    assert unread[0].startswith("requirements.txt:2")
