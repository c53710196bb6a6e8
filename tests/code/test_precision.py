"""False-alarm classes of the code checks found on the real-repository corpus (issue 13, benchmarks/precision)."""

from __future__ import annotations

from pathlib import Path

from mlwarden.code.checks import check_source
from mlwarden.code.scanner import check_code_file
from mlwarden.findings import Severity
from mlwarden.policy.model import Policy


def test_pickle_round_trip_is_not_a_load_of_outside_data() -> None:
    source = ("import pickle, dill\n"
              "copied = pickle.loads(pickle.dumps(config))\n"  # peft tests/test_config.py
              "other = dill.loads(dill.dumps(x))\n"
              "data = pickle.loads(payload)\n"
              "mixed = pickle.loads(json.dumps(x))\n")
    lines = [i.line for i in check_source(source).issues if i.rule == "MW705"]
    assert lines == [4, 5]


def test_local_files_only_downloads_nothing() -> None:
    source = ("from huggingface_hub import snapshot_download\n"
              "path = snapshot_download(cfg._name_or_path, local_files_only=True)\n"
              "path = snapshot_download('acme/model', local_files_only=True)\n"
              "path = snapshot_download('acme/model', local_files_only=False)\n")
    assert [i.line for i in check_source(source).issues] == [4]


def test_repository_named_at_run_time_is_low(tmp_path: Path) -> None:
    (tmp_path / "t.py").write_text("from transformers import AutoModel\n"
                                   "AutoModel.from_pretrained(args.model_name_or_path)\n"
                                   "AutoModel.from_pretrained('acme/bert')\n"
                                   "AutoModel.from_pretrained(model_id, revision='main')\n")
    findings, _ = check_code_file(tmp_path / "t.py", "t.py", Policy())
    got = {(f.location.line, f.severity) for f in findings}
    assert got == {(2, Severity.LOW), (3, Severity.HIGH), (4, Severity.HIGH)}


def test_files_without_any_trigger_skip_the_tree_but_not_their_errors(tmp_path: Path) -> None:
    (tmp_path / "plain.py").write_text("import json\ndef f(x):\n    return json.loads(x)\n")
    assert check_code_file(tmp_path / "plain.py", "plain.py", Policy()) == ([], [])
    for name, text in (("broken.py", "def f(:\n    return json.loads(x)\n"), ("risky.py", "import pickle\ndef f(:\n")):
        (tmp_path / name).write_text(text)  # what does not parse is reported, trigger or not
        findings, _ = check_code_file(tmp_path / name, name, Policy())
        assert [f.rule for f in findings] == ["MW710"], name
    (tmp_path / "outside.py").write_text("return 1\n")  # compile() refuses it, the parser accepts it: no finding
    assert check_code_file(tmp_path / "outside.py", "outside.py", Policy()) == ([], [])


def test_project_template_files_parse_once_filled(tmp_path: Path) -> None:
    folder = tmp_path / "{{ cookiecutter.repo_name }}"
    folder.mkdir()
    (folder / "m.py").write_text("from {{ cookiecutter.module_name }} import config\nimport pickle\n"
                                 "model = pickle.load(open('{{ cookiecutter.model }}.pkl', 'rb'))\n")
    findings, _ = check_code_file(folder / "m.py", "{{ cookiecutter.repo_name }}/m.py", Policy())
    assert [(f.rule, f.location.line) for f in findings] == [("MW705", 3)]


def test_weights_only_passed_through_is_low(tmp_path: Path) -> None:
    (tmp_path / "w.py").write_text("import torch\n"
                                   "def torch_load(*args, weights_only=True, **kwargs):\n"  # peft save_and_load.py
                                   "    return torch.load(*args, weights_only=weights_only, **kwargs)\n"
                                   "torch.load(f)\n")
    findings, _ = check_code_file(tmp_path / "w.py", "w.py", Policy())
    assert {(f.location.line, f.severity) for f in findings} == {(3, Severity.LOW), (4, Severity.HIGH)}
