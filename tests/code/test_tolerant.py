"""Code checks that tolerate the language: newer syntax, magics, constants, local paths, legacy Hub ids."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlwarden.cli import main
from mlwarden.code.checks import check_source
from mlwarden.code.parse import parse
from mlwarden.code.scanner import check_code_file
from mlwarden.findings import Severity
from mlwarden.policy import Policy

PIN = "96e8b76aa8ed13c5952c4750e817de301f27a6a8"


def _rules(source: str) -> set[tuple[int, str]]:
    return {(i.line, i.rule) for i in check_source(source).issues}


# -- newer syntax ------------------------------------------------------------------------------------------
@pytest.mark.skipif(sys.version_info >= (3, 12), reason="the running Python parses PEP 695 itself")
def test_pep695_is_rewritten_and_its_bodies_checked() -> None:
    source = ("import torch\n"
              "type Vector = list[float]\n"
              "def load[T](path: T) -> T:\n"
              "    return torch.load(path)\n"
              "class Box[T: int]:\n"
              "    type Inner = int\n"
              "    def get(self) -> None:\n"
              "        torch.load('b.pt')\n")
    result = check_source(source)
    assert {(i.line, i.rule) for i in result.issues} == {(4, "MW704"), (8, "MW704")}
    assert result.skipped == []


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="the running Python parses PEP 701 itself")
def test_a_statement_in_newer_syntax_is_skipped_and_the_rest_checked(tmp_path: Path) -> None:
    source = ("import torch, pickle\n"
              "torch.load('a.pt')\n"
              "@decorator\n"
              "def greet(d):\n"
              "    print(f\"{d[\"name\"]}\")\n"
              "    pickle.loads(b'')\n"
              "pickle.loads(b'')\n")
    result = check_source(source)
    assert {(i.line, i.rule) for i in result.issues} == {(2, "MW704"), (7, "MW705")}
    assert [(s.first, s.last) for s in result.skipped] == [(3, 6)]  # the decorated def as a whole
    (tmp_path / "m.py").write_text(source)
    findings, _ = check_code_file(tmp_path / "m.py", "m.py", Policy())
    skipped = [f for f in findings if f.rule == "MW710"]
    assert len(skipped) == 1
    assert skipped[0].severity is Severity.LOW
    assert skipped[0].location.line == 3
    assert "lines 3-6" in skipped[0].message
    assert {f.rule for f in findings} == {"MW704", "MW705", "MW710"}


def test_branches_stay_with_their_statement() -> None:
    parsed = parse("try:\n    x = 1 +\nexcept ValueError:\n    pass\nelse:\n    y = 1\nz = 2\n")
    assert [(s.first, s.last) for s in parsed.skipped] == [(1, 6)]
    assert [type(n).__name__ for n in parsed.tree.body] == ["Assign"]


def test_truly_unparsable_is_medium(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("def f(:\n    pass\n")
    (tmp_path / "prose.py").write_text("This is not Python at all.\nNeither is this line.\n")
    for name in ("bad.py", "prose.py"):
        findings, _ = check_code_file(tmp_path / name, name, Policy())
        assert [(f.rule, f.severity) for f in findings] == [("MW710", Severity.MEDIUM)], name
    with pytest.raises(SyntaxError):
        parse("def f(:\n")


# -- notebooks ---------------------------------------------------------------------------------------------
def test_notebook_magics_colab_guard_cell_numbers_and_a_bad_cell(tmp_path: Path) -> None:
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Setup"]},
        {"cell_type": "code", "execution_count": 3, "metadata": {}, "outputs": [], "source": [
            "import sys\n", "IN_COLAB = 'google.colab' in sys.modules\n", "if IN_COLAB:\n",
            "    !pip install -q transformers\n", "    %cd /content\n", "import torch\n", "torch.load('m.pt')\n"]},
        {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": [
            "%%time\n", "m = torch.load('n.pt')\n"]},
        {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": [
            "def broken(:\n"]},
        {"cell_type": "code", "execution_count": 9, "metadata": {}, "outputs": [], "source": [
            "x = !ls\n", "import pickle\n", "pickle.loads(b'')\n"]},
    ]
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1))
    findings, _ = check_code_file(path, "nb.ipynb", Policy())
    got = {(f.rule, f.location.member, f.location.line) for f in findings}
    # In [3], then the 2nd and 3rd code cells (never run), then In [9]; lines within the cell.
    assert got == {("MW704", "cell 3", 7), ("MW704", "cell 2", 2), ("MW710", "cell 3", 1),
                   ("MW705", "cell 9", 3)}
    broken = next(f for f in findings if f.rule == "MW710")
    assert broken.severity is Severity.MEDIUM  # the whole cell is unparsable


# -- constants and local paths ----------------------------------------------------------------------------
def test_revisions_and_repositories_resolve_through_constants() -> None:
    source = ("from transformers import AutoModel\n"
              "def load():\n"
              "    return AutoModel.from_pretrained(MODEL, revision=REVISION)\n"  # defined below: still pinned
              "AutoModel.from_pretrained(MODEL, revision=BRANCH)\n"
              "AutoModel.from_pretrained(MODEL, revision=CHANGING)\n"
              f"MODEL = 'acme/bert'\nREVISION = '{PIN}'\nBRANCH: str = 'main'\n"
              "CHANGING = 'v1'\nCHANGING = 'v2'\n")
    result = check_source(source)
    messages = {i.line: i.message for i in result.issues}
    assert set(messages) == {4, 5}
    assert "revision='main'" in messages[4]
    assert "computed at run time" in messages[5]  # two different values: not a constant
    assert (result.hub_refs[0].repo_id, result.hub_refs[0].revision) == ("acme/bert", PIN)


def test_local_paths_are_not_downloads(tmp_path: Path) -> None:
    (tmp_path / "my-model").mkdir()
    source = ("import os, tempfile\n"
              "from pathlib import Path\n"
              "from transformers import AutoModel\n"
              "from datasets import load_dataset\n"
              "with tempfile.TemporaryDirectory() as tmpdirname:\n"
              "    AutoModel.from_pretrained(tmpdirname)\n"
              "saved = os.path.join(ROOT, 'model')\n"
              "AutoModel.from_pretrained(saved)\n"
              "AutoModel.from_pretrained(Path('out') / 'model')\n"
              "AutoModel.from_pretrained(str(Path.home() / 'm'))\n"
              "AutoModel.from_pretrained(f'{saved}/sub')\n"
              "AutoModel.from_pretrained('./checkpoint')\n"
              "AutoModel.from_pretrained('~/models/bert')\n"
              "AutoModel.from_pretrained('runs/exp1/checkpoint-500')\n"
              "AutoModel.from_pretrained('outputs/bert')\n"
              "AutoModel.from_pretrained('C:\\\\models\\\\bert')\n"
              "AutoModel.from_pretrained('model.safetensors')\n"
              "AutoModel.from_pretrained('my-model')\n"
              "AutoModel.from_pretrained(args.output_dir)\n"
              "AutoModel.from_pretrained(training_args.cache_dir)\n"
              "def test(tmp_path):\n"
              "    AutoModel.from_pretrained(tmp_path)\n"
              "load_dataset('csv', data_files='train.csv')\n"
              "load_dataset('json', data_files={'train': 'a.jsonl'})\n")
    path = tmp_path / "train.py"
    path.write_text(source)
    findings, refs = check_code_file(path, "train.py", Policy())
    assert findings == []
    assert refs == []


def test_non_namespaced_hub_ids_are_hub_ids() -> None:
    source = ("from transformers import AutoModel, pipeline\n"
              "from sentence_transformers import SentenceTransformer\n"
              "from datasets import load_dataset\n"
              "from huggingface_hub import hf_hub_download\n"
              "AutoModel.from_pretrained('gpt2')\n"
              "AutoModel.from_pretrained('bert-base-uncased')\n"
              f"AutoModel.from_pretrained('t5-small', revision='{PIN}')\n"
              "pipeline('fill-mask', model='distilroberta-base')\n"
              "SentenceTransformer('all-MiniLM-L6-v2')\n"
              "load_dataset('imdb')\n"
              "hf_hub_download('gpt2', 'config.json')\n"
              "AutoModel.from_pretrained('my_checkpoint')\n")  # a bare name that is no Hub model: a folder
    result = check_source(source)
    assert {(i.line, i.rule) for i in result.issues} == {(n, "MW701") for n in (5, 6, 8, 9, 10, 11)}
    assert [r.repo_id for r in result.hub_refs] == ["gpt2", "bert-base-uncased", "t5-small", "distilroberta-base",
                                                    "all-MiniLM-L6-v2", "imdb", "gpt2"]


def test_legacy_ids_can_be_allowlisted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "train.py").write_text(
        "from transformers import AutoModel\n"
        f"AutoModel.from_pretrained('gpt2', revision='{PIN}')\n"
        f"AutoModel.from_pretrained('bert-base-uncased', revision='{PIN}')\n")
    (tmp_path / "allowlists").mkdir()
    (tmp_path / "allowlists" / "hf.toml").write_text(
        f"schema_version = 1\n[[hf]]\nrepo = 'gpt2'\nrevisions = ['{PIN}']\n"
        "reason = 'r'\nowner = 'o'\nadded = 2026-01-01\nexpires = 2099-01-01\n"
        "[[hf]]\norg = 'bert-base-uncased'\n"  # an organisation never matches an id without a namespace
        "reason = 'r'\nowner = 'o'\nadded = 2026-01-01\nexpires = 2099-01-01\n")
    assert main(["code", "train.py", "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert [(r["rule_id"], r["line"]) for r in doc["results"]] == [("MW702", 3)]


def test_same_named_functions_of_other_libraries_and_peft_adapters() -> None:
    source = ("import seaborn as sns\n"
              "from peft import PeftModel, AutoPeftModelForCausalLM\n"
              "sns.load_dataset('iris')\n"  # seaborn's sample CSVs, not the Hub
              "PeftModel.from_pretrained(base_model, 'acme/adapter')\n"  # the adapter id is the 2nd argument
              "PeftModel.from_pretrained(base_model, save_dir)\n"
              "AutoPeftModelForCausalLM.from_pretrained('acme/adapter2')\n")
    result = check_source(source)
    assert {(i.line, i.rule) for i in result.issues} == {(4, "MW701"), (6, "MW701")}
    assert [r.repo_id for r in result.hub_refs] == ["acme/adapter", "acme/adapter2"]


def test_yaml_loaders_through_names_and_subclasses() -> None:
    source = ("import yaml\n"
              "class Bounded(yaml.SafeLoader):\n"
              "    pass\n"
              "loader: object = Bounded\n"
              "if fast:\n"
              "    loader = yaml.CSafeLoader\n"
              "yaml.load(text, Loader=loader)\n"  # only ever safe loaders
              "risky = yaml.SafeLoader\n"
              "risky = yaml.UnsafeLoader\n"
              "yaml.load(text, Loader=risky)\n"  # one unsafe binding is enough
              "yaml.load(text, Loader=yaml.Loader)\n")
    assert _rules(source) == {(10, "MW707"), (11, "MW707")}


def test_notebook_findings_carry_the_json_line_for_sarif(tmp_path: Path) -> None:
    cells = [{"cell_type": "markdown", "metadata": {}, "source": ["# x\n"]},
             {"cell_type": "code", "execution_count": 4, "metadata": {}, "outputs": [],
              "source": ["import torch\n", "\n", "torch.load('a.pt')\n"]}]
    text = json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1)
    (tmp_path / "nb.ipynb").write_text(text)
    findings, _ = check_code_file(tmp_path / "nb.ipynb", "nb.ipynb", Policy())
    (finding,) = findings
    assert (finding.location.member, finding.location.line) == ("cell 4", 3)
    assert finding.location.file_line is not None
    assert "torch.load('a.pt')" in text.split("\n")[finding.location.file_line - 1]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([
    "import torch", "torch.load('a')", "def f[T](x):", "    return x", "type X = int", "if IN_COLAB:",
    "    !pip install x", "%%time", "%cd /x", "x = (", ")", "'''", "f\"{d[\"k\"]}\"", ">>> y = 1", "... z",
    "else:", "@dec", "class C[T]:", "  pass", "pip install a", "\\", "\0", "é = 1", "x = !ls", "np.load?",
]), max_size=12))
def test_any_mix_of_lines_parses_or_is_a_syntax_error(lines: list[str]) -> None:
    from mlwarden.notebook import strip_magics

    source = "\n".join(lines)
    for text in (source, strip_magics(source)):
        try:
            result = check_source(text)
        except SyntaxError:
            continue
        assert all(s.first <= s.last for s in result.skipped)


def test_retries_are_bounded_by_size(monkeypatch: pytest.MonkeyPatch) -> None:
    import mlwarden.code.parse as parse_module

    source = "\n".join(["x = 1"] + ["y = = 2"] * 10 + ["import os"])
    monkeypatch.setattr(parse_module, "PARSE_BUDGET", len(source) * 3)
    with pytest.raises(SyntaxError):  # ten bad statements, three retries allowed: fail closed, no endless work
        parse(source)
    monkeypatch.setattr(parse_module, "PARSE_BUDGET", 10**9)
    assert len(parse(source).skipped) == 10
