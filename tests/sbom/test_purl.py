"""Package URLs: the purl specification's own build tests, the pypi name rules, encoding and redaction."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mlwarden.deps.model import Pin, Source
from mlwarden.sbom import purl
from mlwarden.sbom.build import purl_for, ref_for
from tests.conftest import ROOT

# tests/data/purl/*.json: copied unmodified from https://github.com/package-url/purl-spec (tests/types and
# tests/spec), commit 16f3d0e39343d47d1ac3d559b7e110f25eac1513, MIT licence.
DATA = ROOT / "tests" / "data" / "purl"


def _build_cases() -> list[tuple[str, dict[str, Any], str | None, bool]]:
    cases = []
    for path in sorted(DATA.glob("*-test.json")):
        for test in json.loads(path.read_text(encoding="utf-8"))["tests"]:
            if test["test_type"] == "build" and test["input"]["type"] in ("pypi", "huggingface", "conda", "generic"):
                cases.append((path.name, test["input"], test["expected_output"], test["expected_failure"]))
    return cases


@pytest.mark.parametrize(("source", "given", "expected", "failure"), _build_cases())
def test_purl_spec_build_cases(source: str, given: dict[str, Any], expected: str | None, failure: bool) -> None:
    built = purl.build(given["type"], given["name"], given["version"], namespace=given["namespace"],
                       qualifiers=given["qualifiers"], subpath=given["subpath"])
    assert not failure
    assert built == expected


def test_build_cases_are_found() -> None:
    assert len(_build_cases()) >= 10  # the copied suite is really exercised


@pytest.mark.parametrize(("name", "expected"), [
    ("zope.interface", "pkg:pypi/zope.interface@6.0"),  # dots kept: the spec replaces them only in file names
    ("Django_Package", "pkg:pypi/django-package@6.0"),
    ("ruamel.yaml.clib", "pkg:pypi/ruamel.yaml.clib@6.0"),
    ("backports_tarfile", "pkg:pypi/backports-tarfile@6.0"),
])
def test_pypi_name_rules(name: str, expected: str) -> None:
    assert purl_for(Pin(name, "6.0", "==6.0", "uv.lock", 1)) == expected


def test_versions_and_qualifiers_are_percent_encoded() -> None:
    assert purl.build("pypi", "torch", "2.3.0+cpu") == "pkg:pypi/torch@2.3.0%2Bcpu"
    built = purl.build("generic", "x", "1", qualifiers={"download_url": "https://h.example/a b?x=1&y=2", "e": ""})
    assert built == "pkg:generic/x@1?download_url=https:%2F%2Fh.example%2Fa%20b%3Fx%3D1%26y%3D2"


def test_sources_become_the_standard_qualifiers() -> None:
    commit = "0" * 40
    vcs = Pin("mylib", "1.0", "", "uv.lock", 1, source=Source("vcs", "https://github.com/org/mylib", "v1", commit))
    assert purl_for(vcs) == f"pkg:pypi/mylib@1.0?vcs_url=git%2Bhttps:%2F%2Fgithub.com%2Forg%2Fmylib%40{commit}"
    index = Pin("numpy", "2.0", "", "uv.lock", 1, source=Source("index", "https://pypi.corp.example/simple"))
    assert purl_for(index) == "pkg:pypi/numpy@2.0?repository_url=https:%2F%2Fpypi.corp.example%2Fsimple"
    pypi = Pin("numpy", "2.0", "", "uv.lock", 1, source=Source("index", "https://pypi.org/simple"))
    assert purl_for(pypi) == "pkg:pypi/numpy@2.0"
    url = Pin("w", "1", "", "r.txt", 1, source=Source("url", "https://files.example/w-1-py3-none-any.whl"))
    assert purl_for(url) == "pkg:pypi/w@1?download_url=https:%2F%2Ffiles.example%2Fw-1-py3-none-any.whl"
    local = Pin("Local_Pkg", "0.1", "", "uv.lock", 1, source=Source("path", "../wheels/local_pkg-0.1.whl"))
    assert purl_for(local) is None
    assert ref_for(local) == "local:local-pkg@0.1"
    conda = Pin("NumPy", "1.26", "", "environment.yml", 1, ecosystem="conda",
                source=Source("conda-channel", "conda-forge"))
    assert purl_for(conda) == "pkg:conda/numpy@1.26?channel=conda-forge"


@pytest.mark.parametrize("url", [
    "https://deploy:s3cr3tPassw0rd@pypi.corp.example/simple",  # pragma: allowlist secret
    "https://ghp_abcdefghijklmnopqrstuvwxyz0123456789@github.com/org/p",  # pragma: allowlist secret
])
def test_credentials_never_reach_a_purl(url: str) -> None:
    for kind in ("index", "vcs", "url"):
        pin = Pin("p", "1", "", "uv.lock", 1, source=Source(kind, url))
        built = purl_for(pin)
        assert built is not None
        assert "s3cr3tPassw0rd" not in built
        assert "ghp_abcdefghijklmnopqrstuvwxyz0123456789" not in built  # pragma: allowlist secret
        assert "%2A%2A%2A%2A" in built  # the mask, encoded: where the credential was is still visible


def test_empty_name_is_refused() -> None:
    with pytest.raises(ValueError, match="needs a type and a name"):
        purl.build("pypi", "")
