"""False-alarm classes of the code checks found on held-out public repositories (issue 13): a round trip through
a variable (langchain-google's test_cloudpickle), placeholder Hub ids in tutorials (huggingface/notebooks)."""

from __future__ import annotations

from pathlib import Path

from mlwarden.code.checks import check_source, placeholder_repo
from mlwarden.code.scanner import check_code_file
from mlwarden.findings import Severity
from mlwarden.policy.model import Policy


def test_round_trip_through_a_variable_is_not_a_load_of_outside_data() -> None:
    source = ("import pickle, cloudpickle, json\n"
              "def test_json(spec):\n"
              "    serialized = json.dumps(spec)\n"                # another function's name: not the same one
              "def test_cloudpickle(spec):\n"
              "    serialized = cloudpickle.dumps(retriever)\n"
              "    loaded = pickle.loads(serialized)\n"            # a round trip: quiet
              "def load(serialized):\n"
              "    return pickle.loads(serialized)\n"              # a parameter: the caller's bytes
              "blob = pickle.dumps(x)\n"
              "blob = open('f', 'rb').read()\n"
              "pickle.loads(blob)\n")                              # reassigned from a file: flagged
    lines = [i.line for i in check_source(source).issues if i.rule == "MW705"]
    assert lines == [8, 11]


def test_placeholder_namespaces() -> None:
    for repo in ("username/my_awesome_billsum_model", "your-namespace/my-pipeline", "YOUR_ACCOUNT/speecht5",
                 "YOUR_ACCOUNT_NAME/x", "<your-org>/model", "your_username/m"):
        assert placeholder_repo(repo), repo
    for repo in ("gpt2", "google/vit-base-patch16-224", "openai/whisper-small", "hf-internal-testing/tiny-bert",
                 "accounting-ai/model", "yourtts/x"):
        assert not placeholder_repo(repo), repo


def test_placeholder_hub_id_is_low_and_real_ones_stay_high(tmp_path: Path) -> None:
    (tmp_path / "t.py").write_text("from transformers import AutoModel, pipeline\n"
                                   "AutoModel.from_pretrained('username/my_awesome_billsum_model')\n"
                                   "pipeline('summarization', model='YOUR_ACCOUNT_NAME/t5_billsum')\n"
                                   "AutoModel.from_pretrained('google-t5/t5-small')\n")
    findings, _ = check_code_file(tmp_path / "t.py", "t.py", Policy())
    got = {(f.location.line, f.severity) for f in findings if f.rule == "MW701"}
    assert got == {(2, Severity.LOW), (3, Severity.LOW), (4, Severity.HIGH)}
    assert all("placeholder" in f.message for f in findings if f.location.line in (2, 3))
