"""`sbom validate`: the bundled official schemas, the stdlib validator agreeing with jsonschema, formats
enforced, no optional package needed, hostile documents refused in one line."""

from __future__ import annotations

import copy
import functools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlwarden.cli import main
from mlwarden.sbom import formats
from mlwarden.sbom.schema import SCHEMA_DIR, schema_errors
from mlwarden.sbom.validate import MAX_DEPTH, validate
from tests.conftest import ROOT

SHA = "a" * 64


def sample(spec: str = "1.6") -> dict[str, Any]:
    """A document that uses most of what `sbom generate` writes, and a few fields it does not."""
    return {
        "$schema": f"http://cyclonedx.org/schema/bom-{spec}.schema.json",
        "bomFormat": "CycloneDX", "specVersion": spec, "version": 1,
        "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
        "metadata": {"timestamp": "2026-01-02T03:04:05Z",
                     "authors": [{"name": "Ada", "email": "ada@example.org"}],
                     "component": {"type": "application", "bom-ref": "project:x", "name": "x",
                                   "licenses": [{"license": {"id": "MIT"}}]}},
        "components": [
            {"type": "library", "bom-ref": "pkg:pypi/numpy@2.0", "name": "numpy", "version": "2.0",
             "purl": "pkg:pypi/numpy@2.0", "hashes": [{"alg": "SHA-256", "content": SHA}],
             "licenses": [{"expression": "BSD-3-Clause OR MIT"}],
             "externalReferences": [{"type": "vcs", "url": "https://github.com/numpy/numpy"}],
             "properties": [{"name": "mlwarden:declared-in", "value": "uv.lock"}]},
            {"type": "machine-learning-model", "bom-ref": "file:m.pkl", "name": "m.pkl",
             "modelCard": {"properties": [{"name": "mlwarden:format", "value": "pickle"}]}},
            {"type": "data", "bom-ref": "file:d.csv", "name": "d.csv", "data": [{"type": "dataset", "name": "d.csv"}]},
        ],
        "dependencies": [{"ref": "project:x", "dependsOn": ["pkg:pypi/numpy@2.0"]}, {"ref": "pkg:pypi/numpy@2.0"}],
    }


@functools.lru_cache(maxsize=2)
def reference_validator(spec: str) -> Any:
    """jsonschema over the same bundled files, with its format checker (where its optional format packages
    are installed, as in the test environment). idn-email is ours: jsonschema only checks for an '@'."""
    jsonschema = pytest.importorskip("jsonschema")
    from referencing import Registry, Resource

    registry: Any = Registry()
    for path in SCHEMA_DIR.glob("*.schema.json"):
        contents = json.loads(path.read_text(encoding="utf-8"))
        resource = Resource.from_contents(contents)
        registry = registry.with_resources([(contents["$id"], resource), (path.name, resource)])
    checker = jsonschema.FormatChecker(["date-time", "iri-reference", "uri"])
    checker.checks("idn-email")(lambda value: not isinstance(value, str) or formats.is_idn_email(value))
    schema = json.loads((SCHEMA_DIR / f"bom-{spec}.schema.json").read_text(encoding="utf-8"))
    return jsonschema.Draft7Validator(schema, registry=registry, format_checker=checker)


@pytest.mark.parametrize("spec", ["1.5", "1.6"])
def test_sample_is_valid_for_both(spec: str) -> None:
    assert validate(sample(spec)) == []
    assert list(reference_validator(spec).iter_errors(sample(spec))) == []


@pytest.mark.parametrize(("path", "value", "where"), [
    (("metadata", "timestamp"), "2026-13-02T03:04:05Z", "$.metadata.timestamp"),
    (("metadata", "timestamp"), "yesterday", "$.metadata.timestamp"),
    (("metadata", "authors", 0, "email"), "ada at example", "$.metadata.authors[0].email"),
    (("metadata", "authors", 0, "email"), "a b@example.org", "$.metadata.authors[0].email"),
    (("components", 0, "externalReferences", 0, "url"), "https://exa mple.com/", "externalReferences[0].url"),
    (("components", 0, "externalReferences", 0, "url"), "https://x/%zz", "externalReferences[0].url"),
    (("components", 0, "hashes", 0, "content"), "xyz", "$.components[0].hashes[0].content"),
    (("components", 0, "type"), "spaceship", "$.components[0].type"),
    (("serialNumber",), "urn:uuid:nope", "$.serialNumber"),
    (("components", 2, "data", 0, "type"), "table", "$.components[2].data[0].type"),
])
def test_invalid_values_are_rejected(path: tuple[Any, ...], value: Any, where: str) -> None:
    doc = sample()
    node: Any = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    errors = validate(doc)
    assert any(where in e for e in errors), errors
    assert list(reference_validator("1.6").iter_errors(doc))  # jsonschema rejects it too


def test_official_schema_not_the_relaxed_copy() -> None:
    # cyclonedx-python-lib's copy drops the $schema enum of 1.5; the official schema keeps it
    doc = sample("1.5")
    doc["$schema"] = "http://example.com/other.json"
    assert any("$.$schema" in e for e in validate(doc))


# --- agreement with jsonschema on mutated documents ----------------------------------------------------------
def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out += _paths(value, (*prefix, index))
    return out


_TEXT = st.text(alphabet="abcxyz019:/-._@ TZ", max_size=25)
_VALUES = st.recursive(st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=False) | _TEXT,
                       lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
                       max_leaves=6)
_ALL_PATHS = _paths(sample())


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(_ALL_PATHS), _VALUES), min_size=1, max_size=3))
def test_agrees_with_jsonschema_on_mutations(mutations: list[tuple[tuple[Any, ...], Any]]) -> None:
    doc = copy.deepcopy(sample())
    for path, value in mutations:
        node: Any = doc
        try:
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation replaced a parent
    if not isinstance(doc.get("specVersion"), str) or doc.get("specVersion") not in ("1.5", "1.6") \
            or doc.get("bomFormat") != "CycloneDX":
        assert validate(doc)  # not a CycloneDX document this tool reads: refused
        return
    ours = {tuple(e.path) for e in schema_errors(doc, doc["specVersion"])}
    theirs = {tuple(e.absolute_path) for e in reference_validator(doc["specVersion"]).iter_errors(doc)}
    assert bool(ours) == bool(theirs), (ours, theirs)


def test_agrees_with_jsonschema_on_generated_and_cyclonedx_py_documents(tmp_path: Path) -> None:
    import shutil

    cyclonedx = shutil.which("cyclonedx-py") or str(Path(sys.executable).parent / "cyclonedx-py")
    if not Path(cyclonedx).exists():
        pytest.skip("cyclonedx-py is not installed")
    (tmp_path / "requirements.txt").write_text("requests==2.31.0 --hash=sha256:" + SHA + "\nnumpy==1.26.4\n")
    out = tmp_path / "cdx.json"
    subprocess.run([cyclonedx, "requirements", str(tmp_path / "requirements.txt"), "--of", "JSON", "--sv", "1.6",
                    "--no-validate", "-o", str(out)], check=True, capture_output=True, timeout=120)
    doc = json.loads(out.read_text())
    assert validate(doc) == []
    assert list(reference_validator("1.6").iter_errors(doc)) == []


# --- formats ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("value", "ok"), [
    ("2024-02-29T23:59:59Z", True), ("2024-01-01T00:00:00.123+05:30", True), ("2023-02-29T00:00:00Z", False),
    ("2024-01-01T24:00:00Z", False), ("2024-01-01 00:00:00Z", False), ("2024-01-01T00:00:00", False),
    ("2024-01-01T00:00:00+25:00", False), ("２０２４-01-01T00:00:00Z", False),
])
def test_date_time(value: str, ok: bool) -> None:
    assert formats.is_date_time(value) is ok


@pytest.mark.parametrize(("value", "ok"), [
    ("https://user:pw@h.example:8080/p/a?q=1#f", True),  # pragma: allowlist secret
    ("urn:uuid:123", True), ("relative/path", True),
    ("#frag", True), ("http://例え.jp/パス", True), ("http://[::1]:80/", True), ("file:///C:/x", True),
    ("http://exa mple.com", False), ("http://x/%zz", False), ("http://ex<a>.com", False), (":nope", False),
    ("http://x:abc/", False), ("http://[::1:80/", False), ("http://x#a#b", False), ("http://x/\u0001", False),
])
def test_iri_reference(value: str, ok: bool) -> None:
    assert formats.is_iri_reference(value) is ok


def test_iri_reference_agrees_with_rfc3987_syntax() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    pytest.importorskip("rfc3987_syntax")
    checker = jsonschema.FormatChecker(["iri-reference"])
    corpus = ["http://example.com", "//host/path", "../x", "?q", "", "mailto:a@b.c", "a:b:c", "1http://x",
              "git+https://github.com/a/b.git@v1", "pkg:pypi/foo@1.0", 'http://x/"', "http://x/{a}", "http://x/|",
              "http://x/^", "http://x/`", "http://[v1.fe]/", "http://x/\\", "http://x?\ue000", "http://x/\ue000",
              "http://x/%", "a/b:c", "./a:b", "http://x/\u00a0", "https://pypi.org/simple/", "http://x/%41"]
    for value in corpus:
        assert formats.is_iri_reference(value) is checker.conforms(value, "iri-reference"), value


@pytest.mark.parametrize(("value", "ok"), [
    ("a@b.c", True), ('"a b"@c.d', True), ("用户@例子.广告", True), ("a@[127.0.0.1]", True),
    ("not an email", False), ("a b@c.d", False), ("@x", False), ("x@", False), ("a@@b", False), ("a@b..c", False),
    ("a@-b.c", False), ("a.@b.c", False),
])
def test_idn_email(value: str, ok: bool) -> None:
    assert formats.is_idn_email(value) is ok


# --- the command -------------------------------------------------------------------------------------------------
def test_validate_needs_no_optional_package(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(sample()))
    broken = sample()
    broken["metadata"]["timestamp"] = "2026-02-30T00:00:00Z"
    bad.write_text(json.dumps(broken))
    code = ("import sys\n"
            "for name in ('jsonschema', 'referencing', 'cyclonedx', 'rfc3987_syntax', 'rfc3339_validator'):\n"
            "    sys.modules[name] = None\n"
            "from mlwarden.cli import main\n"
            "print(main(['sbom', 'validate', sys.argv[1]]), main(['sbom', 'validate', sys.argv[2]]))\n"
            "assert 'jsonschema' not in [m for m in sys.modules if sys.modules[m] is not None]\n")
    result = subprocess.run([sys.executable, "-c", code, str(good), str(bad)], capture_output=True, text=True,
                            timeout=60, cwd=tmp_path, env={"PYTHONPATH": str(ROOT / "src") + ":" + str(ROOT),
                                                           "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "0 1"
    assert "$.metadata.timestamp" in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("text", "code", "message"), [
    ("[" * 100_000 + "]" * 100_000, 2, "nested"),
    ('{"a":' * (MAX_DEPTH + 5) + "1" + "}" * (MAX_DEPTH + 5), 2, "nested"),
    ("\xff\xfe garbage", 1, "not UTF-8 JSON"),
    ('{"bomFormat": "CycloneDX", "specVersion": 1.6}', 1, "specVersion"),
    ('{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": "many"}', 1, "$.components"),
    ('{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"type": 5, "name": []}]}', 1,
     "$.components[0]"),
    ('{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": NaN}', 1, "not valid JSON"),
    ("[]", 1, "not a CycloneDX document"),
])
def test_hostile_documents(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, code: int,
                           message: str) -> None:
    path = tmp_path / "doc.json"
    path.write_bytes(text.encode("latin-1") if text.startswith("\xff") else text.encode())
    assert main(["sbom", "validate", str(path)]) == code
    captured = capsys.readouterr()
    assert message in captured.out + captured.err
    assert "Traceback" not in captured.err
    assert "internal error" not in captured.err


def test_too_big_is_refused_without_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    import mlwarden.sbom.validate as module

    monkeypatch.setattr(module, "MAX_BYTES", 1000)
    path = tmp_path / "big.json"
    path.write_text(json.dumps(sample()))
    assert main(["sbom", "validate", str(path)]) == 2
    assert "MiB an SBOM may have" in capsys.readouterr().err


def test_unreadable_and_special_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import os

    assert main(["sbom", "validate", str(tmp_path / "missing.json")]) == 2
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    assert main(["sbom", "validate", str(fifo)]) == 2  # never opened: a FIFO would block the read
    assert "not a regular file" in capsys.readouterr().err
