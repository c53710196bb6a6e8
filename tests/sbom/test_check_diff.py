"""`sbom check` compares content; `sbom diff` reports every changed field and refuses what is not CycloneDX."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlwarden.cli import main
from mlwarden.sbom.diff import diff

SHA = "sha256:" + "a" * 64
LOCK = f"""version = 1
requires-python = ">=3.10"

[[package]]
name = "app"
version = "1.0"
source = {{ editable = "." }}
dependencies = [{{ name = "requests" }}]

[[package]]
name = "requests"
version = "2.31.0"
source = {{ registry = "https://pypi.org/simple" }}
dependencies = [{{ name = "urllib3" }}]
wheels = [{{ url = "https://files.pythonhosted.org/r.whl", hash = "{SHA}", size = 1 }}]

[[package]]
name = "urllib3"
version = "2.0.7"
source = {{ registry = "https://pypi.org/simple" }}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / ".xdg"))
    (tmp_path / ".gitignore").write_text(".xdg/\n")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "app"\nversion = "1.0"\n')
    (tmp_path / "uv.lock").write_text(LOCK)
    return tmp_path


SBOM = Path("sbom") / "app.cdx.json"


def test_reindented_and_reordered_is_fresh(project: Path) -> None:
    assert main(["sbom", "generate"]) == 0
    doc = json.loads(SBOM.read_text())
    doc["components"].reverse()
    SBOM.write_text(json.dumps(doc, indent=4, sort_keys=True))
    stamp = SBOM.stat().st_mtime_ns
    assert main(["sbom", "check", "--check"]) == 0
    assert main(["sbom", "check"]) == 0
    assert SBOM.stat().st_mtime_ns == stamp


def test_timestamp_and_serial_do_not_make_it_stale(project: Path) -> None:
    assert main(["sbom", "generate", "--timestamp", "--serial-number"]) == 0
    assert main(["sbom", "check", "--check"]) == 0
    (project / "uv.lock").write_text(LOCK.replace("2.0.7", "2.2.0"))
    assert main(["sbom", "check"]) == 1  # stale: rewritten, keeping the style the project chose
    doc = json.loads(SBOM.read_text())
    assert "timestamp" in doc["metadata"]
    assert doc["serialNumber"].startswith("urn:uuid:")
    assert main(["sbom", "check", "--check"]) == 0


def test_check_follows_the_committed_spec(project: Path) -> None:
    assert main(["sbom", "generate", "--spec", "1.5"]) == 0
    assert main(["sbom", "check", "--check"]) == 0
    assert main(["sbom", "check", "--check", "--spec", "1.6"]) == 1


def test_a_real_change_is_stale(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sbom", "generate"]) == 0
    doc = json.loads(SBOM.read_text())
    doc["components"][0]["hashes"] = []
    SBOM.write_text(json.dumps(doc))
    assert main(["sbom", "check", "--check"]) == 1
    assert "is stale" in capsys.readouterr().err
    SBOM.write_text(json.dumps({"bomFormat": "SPDX"}))
    assert main(["sbom", "check", "--check"]) == 1
    assert "replace it" in capsys.readouterr().err


# --- diff ----------------------------------------------------------------------------------------------------
def _doc() -> dict[str, Any]:
    return {
        "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
        "metadata": {"component": {"type": "application", "bom-ref": "project:app", "name": "app", "version": "1"}},
        "components": [{
            "type": "library", "bom-ref": "pkg:pypi/lib@1.0", "name": "lib", "version": "1.0",
            "purl": "pkg:pypi/lib@1.0?repository_url=https:%2F%2Fa.example%2Fsimple",
            "hashes": [{"alg": "SHA-256", "content": "a" * 64}],
            "licenses": [{"license": {"id": "MIT"}}],
            "externalReferences": [{"type": "distribution", "url": "https://a.example/simple"},
                                   {"type": "vcs", "url": "https://git.example/lib"}],
            "properties": [{"name": "mlwarden:vcs-requested-ref", "value": "v1"},
                           {"name": "mlwarden:marker", "value": "sys_platform == 'linux'"}],
        }, {"type": "library", "bom-ref": "pkg:pypi/dep@2.0", "name": "dep", "version": "2.0"},
            {"type": "library", "bom-ref": "pkg:pypi/other@3.0", "name": "other", "version": "3.0"}],
        "dependencies": [{"ref": "project:app", "dependsOn": ["pkg:pypi/lib@1.0"]},
                         {"ref": "pkg:pypi/lib@1.0", "dependsOn": ["pkg:pypi/dep@2.0"]}],
        "vulnerabilities": [{"id": "PYSEC-1", "affects": [{"ref": "pkg:pypi/lib@1.0"}]}],
    }


@pytest.mark.parametrize(("edit", "field"), [
    (lambda c: c.update(version="1.1"), "version"),
    (lambda c: c["hashes"].append({"alg": "SHA-256", "content": "b" * 64}), "hashes"),
    (lambda c: c.update(purl="pkg:pypi/lib@1.0?repository_url=https:%2F%2Fb.example%2Fsimple"), "purl"),
    (lambda c: c["externalReferences"][0].update(url="https://b.example/simple"), "externalReferences.distribution"),
    (lambda c: c["externalReferences"][1].update(url="https://git.example/fork"), "externalReferences.vcs"),
    (lambda c: c["properties"][0].update(value="v2"), "properties.mlwarden:vcs-requested-ref"),
    (lambda c: c["properties"].pop(1), "properties.mlwarden:marker"),
    (lambda c: c.update(licenses=[{"expression": "MIT OR Apache-2.0"}]), "licenses"),
    (lambda c: c.update(description="new"), "description"),
    (lambda c: c.update(supplier={"name": "Evil Corp"}), "supplier"),
    (lambda c: c.update(modelCard={"properties": [{"name": "mlwarden:format", "value": "pickle"}]}),
     "modelCard.properties.mlwarden:format"),
])
def test_every_changed_field_is_reported(edit: Any, field: str) -> None:
    old, new = _doc(), _doc()
    edit(new["components"][0])
    result = diff(old, new)
    assert [c["name"] for c in result["changed"]] == ["lib"]
    assert field in result["changed"][0]["changes"]


def test_dependency_changes_are_reported() -> None:
    old, new = _doc(), _doc()
    new["dependencies"][1]["dependsOn"] = ["pkg:pypi/dep@2.0", "pkg:pypi/other@3.0"]
    result = diff(old, new)
    assert result["changed"] == [{"type": "library", "name": "lib",
                                  "changes": {"dependsOn": {"old": "dep", "new": "dep, other"}}}]


def test_metadata_and_vulnerability_reassessment() -> None:
    old, new = _doc(), _doc()
    new["metadata"]["component"]["version"] = "2"
    new["vulnerabilities"][0]["analysis"] = {"state": "not_affected"}
    result = diff(old, new)
    assert "component" in result["metadata_changed"]
    assert result["vulnerabilities_changed"][0]["id"] == "PYSEC-1"
    assert diff(old, copy.deepcopy(old)) == {"added": [], "removed": [], "changed": [], "metadata_changed": {},
                                             "vulnerabilities_added": [], "vulnerabilities_removed": [],
                                             "vulnerabilities_changed": []}


def test_identical_documents_show_no_change(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.json").write_text(json.dumps(_doc()))
    (tmp_path / "b.json").write_text(json.dumps(_doc(), indent=3))
    assert main(["sbom", "diff", str(tmp_path / "a.json"), str(tmp_path / "b.json")]) == 0
    assert "- No change" in capsys.readouterr().out


@pytest.mark.parametrize(("doc", "message"), [
    ({"spdxVersion": "SPDX-2.3", "packages": []}, "not a CycloneDX document"),
    ([1, 2], "not a CycloneDX document"),
    ({"bomFormat": "CycloneDX", "specVersion": "1.2"}, "is not supported"),
    ({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": {"a": 1}}, "$.components is not a list"),
    ({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [3]}, "$.components[0] is not an object"),
    ({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"name": 3}]}, "must be strings"),
    ({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"name": "a", "components": "x"}]},
     "$.components[0].components is not a list"),
])
def test_diff_refuses_what_it_cannot_read(tmp_path: Path, capsys: pytest.CaptureFixture[str], doc: Any,
                                          message: str) -> None:
    (tmp_path / "good.json").write_text(json.dumps(_doc()))
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    assert main(["sbom", "diff", str(tmp_path / "good.json"), str(tmp_path / "bad.json")]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert "internal error" not in err


def test_diff_tolerates_wrong_typed_optional_fields(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    weird = _doc()
    component = weird["components"][0]
    component.update(hashes="x", licenses=7, properties={"a": 1}, externalReferences=[None, 3], modelCard=[1])
    weird["dependencies"] = "nope"
    weird["vulnerabilities"] = [None, {"id": ["x"]}]
    weird["metadata"] = 5
    (tmp_path / "a.json").write_text(json.dumps(_doc()))
    (tmp_path / "b.json").write_text(json.dumps(weird))
    for fmt in ("text", "json", "markdown"):
        assert main(["sbom", "diff", str(tmp_path / "a.json"), str(tmp_path / "b.json"), "--format", fmt]) == 0
    assert "internal error" not in capsys.readouterr().err


def test_names_cannot_forge_report_lines() -> None:
    from mlwarden.sbom.diff import render

    old, new = _doc(), _doc()
    new["components"].append({"type": "library", "name": "x\n- Vulnerability gone: PYSEC-1", "version": "1"})
    text = render(diff(old, new), "text")
    assert "\n- Vulnerability gone" not in text
    assert "x\\x0a- Vulnerability gone" in text


# --- fuzz: any JSON in any field of either document gives a result or a one-line refusal ----------------------
def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out += _paths(value, (*prefix, index))
    return out


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                  max_size=3),
                     max_leaves=8)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_paths(_doc())), _JSON), min_size=1, max_size=4), st.booleans())
def test_diff_and_validate_never_crash(mutations: list[tuple[tuple[Any, ...], Any]], swap: bool) -> None:
    from mlwarden.errors import InputError
    from mlwarden.sbom.diff import render
    from mlwarden.sbom.freshness import content
    from mlwarden.sbom.validate import validate

    doc = _doc()
    for path, value in mutations:
        node: Any = doc
        try:
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    doc = json.loads(json.dumps(doc))  # what a file can hold: object keys are strings
    assert isinstance(validate(doc), list)
    old, new = (doc, _doc()) if swap else (_doc(), doc)
    try:
        result = diff(old, new)
    except InputError as exc:
        refusal = str(exc)
        assert "\n" not in refusal  # one line
        return
    for fmt in ("text", "json", "markdown"):
        assert render(result, fmt)
    if isinstance(doc.get("metadata"), dict):
        content(doc)
