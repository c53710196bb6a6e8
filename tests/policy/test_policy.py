"""The advisor's policy: validation with file and line, layering, decisions, expiry, editing."""

from __future__ import annotations

import contextlib
import datetime as dt
import multiprocessing
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlwarden.cli import main
from mlwarden.errors import PolicyError
from mlwarden.pipeline import policy_expiry_findings
from mlwarden.policy import load_policy, parse_policy_text
from mlwarden.policy.edit import add_entry, remove_entries

META = "reason = 'r'\nowner = 'sec@example.org'\nadded = 2026-01-01\nexpires = 2099-01-01\n"
TODAY = dt.date(2026, 11, 24)


def write(root: Path, name: str, text: str) -> Path:
    path = root / "allowlists" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def problems_of(text: str) -> list[str]:
    return parse_policy_text(text, "p.toml")[3]


# --- validation -------------------------------------------------------------------------------------------
def test_every_problem_has_file_line_and_expectation() -> None:
    text = ("schema_version = 1\n"
            "[[package]]\n"  # line 2
            "name = 'torch'\n"
            "versions = '>=3,<2'\n"  # line 4: impossible
            "colour = 'red'\n"  # line 5: unknown key
            "reason = 'r'\nowner = 'o'\nadded = 2026-01-01\nexpires = 'soon'\n"  # line 9: bad date
            "[[hf]]\n"  # line 10: no owner, no repo/org
            "repo = 'not a repo'\n"
            "reason = 'r'\nadded = 2026-01-01\nexpires = 2027-01-01\n"
            "[[widget]]\nx = 1\n")
    problems = problems_of(text)
    joined = "\n".join(problems)
    assert "p.toml:4: [[package]] versions: '>=3,<2' can never match a version" in joined
    assert "p.toml:5: [[package]] unknown key 'colour'" in joined
    assert "p.toml:9: [[package]] expires: expected a date" in joined
    assert "p.toml:11: [[hf]] repo: expected a Hugging Face repo id" in joined
    assert "p.toml:10: [[hf]] is missing 'owner'" in joined
    assert "unknown table or key 'widget'" in joined


@pytest.mark.parametrize(("text", "fragment"), [
    ("schema_version = 2\n", "schema_version 2 is not supported"),
    ("[policy]\ngrace_days = 3\n", "schema_version is missing"),
    ("schema_version = 1\n[policy]\ngrace_days = -1\n", "grace_days: expected a non-negative integer"),
    ("schema_version = 1\n[policy]\nstrict = true\n", "unknown key 'strict'"),
    ("schema_version = 1\n[[package]]\nname = 'x'\nversions = 'banana'\n" + META, "not a PEP 440"),
    ("schema_version = 1\n[[package]]\nname = 'x'\nreason = 'r'\nowner = 'o'\nadded = 2026-02-01\n"
     "expires = 2026-01-01\n", "is before added"),
    ("schema_version = 1\n[[index]]\nid = 'corp'\nurl = 'not a url'\n" + META, "expected a URL"),
    ("schema_version = 1\n[[hf]]\nrepo = 'a/b'\nrevisions = ['main']\n" + META, "40-hex-digit"),
    ("schema_version = 1\n[[pickle]]\nglobals = ['mypkg.*']\n" + META, "exact dotted names"),
    ("schema_version = 1\n[[exception]]\nrule = 'MW999'\n" + META, "unknown rule 'MW999'"),
    ("schema_version = 1\n[[exception]]\npath = '*.pkl'\n" + META, "exactly one of 'rule'"),
    ("schema_version = 1\n[[package]]\nname = 'x'\nreason = 3\nowner = 'o'\nadded = 2026-01-01\n"
     "expires = 2027-01-01\n", "reason: expected a non-empty string"),
    ("schema_version = 1\n[[package]]\nname = 'x'\n" + META + "[[package]]\nname = 'X'\n" + META,
     "duplicates the entry at line 2"),
    ("schema_version = 1\n[package\n", "not valid TOML"),
])
def test_invalid_policies(text: str, fragment: str) -> None:
    assert any(fragment in p for p in problems_of(text)), problems_of(text)


def test_invalid_file_makes_commands_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "bad.toml", "schema_version = 1\n[[package]]\nname = 'x'\n")
    assert main(["scan"]) == 2
    assert main(["allowlist", "check"]) == 2
    err = capsys.readouterr().err
    assert "allowlists/bad.toml:2: [[package]] is missing 'reason'" in err
    assert "Traceback" not in err


# --- layering and decisions -----------------------------------------------------------------------------
def test_layers_and_decisions(tmp_path: Path) -> None:
    org = tmp_path / "org.toml"
    org.write_text("schema_version = 1\n[policy]\nrequire_hashes = true\ngrace_days = 30\n"
                   "[[package]]\nname = 'Torch'\nversions = '>=2.6'\n" + META)
    write(tmp_path, "a.toml", "schema_version = 1\n[policy]\nrequire_hashes = false\ngrace_days = 7\n"
          "[[package]]\nname = 'torch'\naction = 'deny'\nversions = '==2.7.0'\n" + META
          + "[[package]]\nname = 'pyyaml'\n" + META)
    policy = load_policy(tmp_path, org)
    assert policy.settings.require_hashes is True  # a repository cannot loosen the organisation
    assert policy.settings.grace_days == 7
    assert policy.package_decision("torch", "2.6.1")[0] == "allowed"
    assert policy.package_decision("TORCH", "2.7.0")[0] == "denied"  # deny beats allow
    assert policy.package_decision("torch", "2.5.0")[0] == "not-allowed"
    assert policy.package_decision("PyYAML", "6.0")[0] == "allowed"  # names compared canonicalised
    assert policy.package_decision("numpy", "2.0")[0] == "unlisted"
    assert policy.files == ("<default>", "org.toml", "allowlists/a.toml")  # relative to the repository


def test_show_names_the_source_of_each_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "p.toml", "schema_version = 1\n# comment\n[[pickle]]\nglobals = ['mypkg.Net']\n" + META)
    assert main(["allowlist", "show"]) == 0
    assert "[[pickle]]  # from allowlists/p.toml:3 (active)" in capsys.readouterr().out
    assert main(["allowlist", "show", "--format", "json"]) == 0
    assert '"source": "allowlists/p.toml:3"' in capsys.readouterr().out


def test_package_index_must_be_declared(tmp_path: Path) -> None:
    write(tmp_path, "p.toml", "schema_version = 1\n[[package]]\nname = 'acme-core'\nindex = 'internal'\n" + META)
    with pytest.raises(PolicyError) as info:
        load_policy(tmp_path)
    assert "index 'internal' is not declared" in "\n".join(info.value.problems)


# --- expiry and waivers ----------------------------------------------------------------------------------------
def test_expiry_with_grace_period(tmp_path: Path) -> None:
    entry = "[[exception]]\nrule = 'MW102'\npath = 'models/*'\nreason = 'r'\nowner = 'o'\nadded = 2026-01-01\n"
    write(tmp_path, "p.toml", f"schema_version = 1\n[policy]\ngrace_days = 10\n{entry}expires = 2026-11-20\n")
    policy = load_policy(tmp_path)
    (only,) = policy.entries
    assert policy.status(only, TODAY) == "grace"
    assert policy.waiver_for("MW102", "models/a.pkl", today=TODAY) is only
    later = TODAY + dt.timedelta(days=10)
    assert policy.status(only, later) == "expired"
    assert policy.waiver_for("MW102", "models/a.pkl", today=later) is None
    findings = policy_expiry_findings(policy, later)
    assert [(f.rule, f.location.line) for f in findings] == [("MW601", 4)]
    assert policy_expiry_findings(policy, TODAY)[0].rule == "MW602"


def test_waiver_matching(tmp_path: Path) -> None:
    write(tmp_path, "p.toml", "schema_version = 1\n[[exception]]\nrule = 'MW103'\npath = 'models/**'\n" + META
          + "[[exception]]\nvulnerability = 'GHSA-aaaa-bbbb-cccc'\n" + META)
    policy = load_policy(tmp_path)
    assert policy.waiver_for("MW103", "models/x/y.pkl")
    assert policy.waiver_for("MW103", "models/y.pkl")
    assert not policy.waiver_for("MW103", "other/y.pkl")
    assert not policy.waiver_for("MW101", "models/y.pkl")
    assert policy.vulnerability_waiver({"CVE-1", "ghsa-aaaa-bbbb-cccc"})


def test_expired_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    soon = (dt.date.today() + dt.timedelta(days=5)).isoformat()
    write(tmp_path, "p.toml", f"schema_version = 1\n[[pickle]]\nglobals = ['a.B']\nreason = 'r'\nowner = 'o'\n"
          f"added = 2026-01-01\nexpires = {soon}\n")
    assert main(["allowlist", "expired"]) == 0
    assert "expires in 5 day(s)" in capsys.readouterr().out
    assert main(["allowlist", "expired", "--days", "1"]) == 0
    assert capsys.readouterr().out == ""
    write(tmp_path, "old.toml", "schema_version = 1\n[[pickle]]\nglobals = ['c.D']\nreason = 'r'\nowner = 'o'\n"
          "added = 2020-01-01\nexpires = 2020-02-01\n")
    assert main(["allowlist", "expired"]) == 1
    assert main(["allowlist", "check", "allowlists/p.toml"]) == 0
    assert main(["allowlist", "check", "allowlists/old.toml"]) == 1
    assert "allowlists/old.toml:2: [[pickle]] c.D expired on 2020-02-01" in capsys.readouterr().out


# --- editing ----------------------------------------------------------------------------------------------------------
def test_add_keeps_comments_and_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    original = ("# Team policy — reviewed by secops\nschema_version = 1\n\n[[pickle]]  # our classes\n"
                "globals = ['mypkg.Net']  # the model\n" + META)
    path = write(tmp_path, "policy.toml", original)
    assert main(["allowlist", "add", "package", "--name", "torch", "--versions", ">=2.6", "--reason", "train",
                 "--owner", "ml@example.org", "--expires", "2027-11-01", "--added", "2026-11-01"]) == 0
    text = path.read_text()
    assert text.startswith(original)
    assert "[[package]]\nname = \"torch\"\nversions = \">=2.6\"" in text
    assert load_policy(tmp_path).package_decision("torch", "2.6.0")[0] == "allowed"


@pytest.mark.parametrize("args", [
    ["package", "--name", "torch", "--versions", ">=3,<2"],
    ["package", "--name", "torch", "--versions", ">=2"],  # duplicate of the existing entry
    ["hf", "--repo", "a/b", "--revision", "main"],
    ["index", "--id", "x", "--url", "ftp://nope"],
    ["package", "--name", "torch2", "--index", "undeclared"],
])
def test_invalid_edit_leaves_file_byte_for_byte(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                args: list[str]) -> None:
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, "policy.toml", "schema_version = 1\n# keep me\n[[package]]\nname = 'torch'\n" + META)
    before = path.read_bytes()
    code = main(["allowlist", "add", *args, "--reason", "r", "--owner", "o", "--expires", "2027-01-01"])
    assert code == 2
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["policy.toml"]  # no temporary file left behind


def test_add_rejects_bad_dates_and_foreign_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    base = ["allowlist", "add", "pickle", "--global", "a.B", "--reason", "r", "--owner", "o"]
    assert main([*base, "--expires", "31/12/2027"]) == 2
    assert main([*base, "--expires", "2027-01-01", "--name", "x"]) == 2
    assert not (tmp_path / "allowlists").exists()
    assert main([*base, "--expires", "2027-01-01"]) == 0


def test_remove(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, "policy.toml", "schema_version = 1\n# top\n[[package]]\nname = 'Torch'\n" + META
                 + "# keep this one\n[[package]]\nname = 'numpy'\n" + META)
    assert main(["allowlist", "remove", "package", "torch"]) == 0
    text = path.read_text()
    assert "Torch" not in text
    assert "# keep this one" in text
    assert "# top" in text
    assert main(["allowlist", "remove", "package", "torch"]) == 2


def _concurrent_add(args: tuple[str, int]) -> None:
    folder, i = args
    import os

    os.chdir(folder)
    with contextlib.suppress(PolicyError):  # a concurrent writer may win; the file must stay whole
        add_entry(Path("allowlists/policy.toml"), "pickle",
                  {"globals": [f"pkg.mod{i}.Cls"], "reason": "r", "owner": "o", "added": dt.date(2026, 1, 1),
                   "expires": dt.date(2027, 1, 1)}, Path(folder))


def test_concurrent_edits_never_leave_a_broken_file(tmp_path: Path) -> None:
    write(tmp_path, "policy.toml", "schema_version = 1\n")
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        pool.map(_concurrent_add, [(str(tmp_path), i) for i in range(12)])
    policy = load_policy(tmp_path)  # always a whole, valid file (last writer wins)
    assert 1 <= len(policy.entries) <= 12


_names = st.from_regex(r"[a-z][a-z0-9]{0,8}(\.[a-z][a-z0-9]{0,8}){1,3}", fullmatch=True)
_dates = st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2099, 1, 1))
_text = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30).filter(
    lambda s: s.strip() != "")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=st.lists(st.tuples(st.lists(_names, min_size=1, max_size=3, unique=True), _text, _text, _dates,
                                  st.integers(0, 3000)), min_size=1, max_size=5))
def test_random_policies_round_trip(tmp_path_factory: pytest.TempPathFactory,
                                    entries: list[tuple[list[str], str, str, dt.date, int]]) -> None:
    root = tmp_path_factory.mktemp("rt")
    path = root / "allowlists" / "policy.toml"
    written = []
    for i, (names, reason, owner, added, days) in enumerate(entries):
        globals_ = [f"{n}.c{i}" for n in names]
        add_entry(path, "pickle", {"globals": globals_, "reason": reason, "owner": owner, "added": added,
                                   "expires": added + dt.timedelta(days=days)}, root)
        written.append((globals_, reason, owner, added, added + dt.timedelta(days=days)))
    first = load_policy(root)
    assert [(e.fields["globals"], e.reason, e.owner, e.added, e.expires) for e in first.entries] == written
    text = path.read_text()
    remove_entries(path, "pickle", written[0][0][0], root)
    if len(written) > 1:
        add_entry(path, "pickle", {"globals": written[0][0], "reason": written[0][1], "owner": written[0][2],
                                   "added": written[0][3], "expires": written[0][4]}, root)
        again = load_policy(root)
        assert sorted(str(e.fields["globals"]) for e in again.entries) == sorted(str(w[0]) for w in written)
    assert text  # the file existed and was readable between edits


def test_shipped_default_matches_the_fast_path() -> None:
    """load_policy skips parsing default.toml when it is the only layer; the two must agree."""
    from mlwarden.policy.load import default_policy_text
    from mlwarden.policy.model import Settings

    settings, _, entries, problems = parse_policy_text(default_policy_text(), "<default>")
    assert problems == []
    assert entries == []
    assert settings == Settings()


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=400))
def test_random_text_never_crashes_the_parser(text: str) -> None:
    _, _, _, problems = parse_policy_text(text, "fuzz.toml")
    assert all(p.startswith("fuzz.toml") for p in problems)


def test_saved_file_is_stable_under_tomlkit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tomlkit

    monkeypatch.chdir(tmp_path)
    for args in (["index", "--id", "corp", "--url", "https://pypi.corp.example/simple", "--scope", "acme-*",
                  "--exclusive"],
                 ["package", "--name", "acme-core", "--index", "corp"],
                 ["hf", "--repo", "acme/m", "--revision", "a" * 40, "--allow-format", "safetensors",
                  "--expected-file", "model.safetensors=sha256:" + "b" * 64],
                 ["vcs", "--host", "github.com", "--org", "acme-ml"],
                 ["url", "--pattern", "https://dl.example/wheels/*"],
                 ["exception", "--vulnerability", "GHSA-1234-5678-9abc"]):
        assert main(["allowlist", "add", *args, "--reason", "r", "--owner", "o", "--expires", "2099-01-01"]) == 0
    path = tmp_path / "allowlists" / "policy.toml"
    text = path.read_text()
    assert tomlkit.dumps(tomlkit.parse(text)) == text  # load -> save -> load is the identity
    first = load_policy(tmp_path)
    path.write_text(tomlkit.dumps(tomlkit.parse(text)))
    assert load_policy(tmp_path).entries == first.entries
    assert {e.kind for e in first.entries} == {"index", "package", "hf", "vcs", "url", "exception"}
