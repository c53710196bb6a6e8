"""Real pre-commit in a temporary git repository: the hooks install from this checkout and gate commits."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests import payloads
from tests.conftest import ROOT

pytestmark = pytest.mark.e2e


def _git(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=check, timeout=600)


@pytest.fixture(scope="module")
def consumer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    head = _git("rev-parse", "HEAD", cwd=ROOT, check=False)
    if head.returncode != 0:
        pytest.skip("the checkout has no commit for pre-commit to install")
    repo = tmp_path_factory.mktemp("consumer")
    _git("init", "-q", "-b", "main", cwd=repo)
    config = readme_snippet().replace("https://github.com/mlwarden/mlwarden", str(ROOT))
    (repo / ".pre-commit-config.yaml").write_text(config)
    env = _env(tmp_path_factory.getbasetemp())
    install = subprocess.run([sys.executable, "-m", "pre_commit", "install", "--install-hooks"], cwd=repo,
                             capture_output=True, text=True, env=env, check=False, timeout=900)
    assert install.returncode == 0, install.stdout + install.stderr
    _git("add", ".pre-commit-config.yaml", cwd=repo)
    _git("commit", "-q", "-m", "config", cwd=repo)
    return repo


def readme_snippet() -> str:
    """The README's own pre-commit configuration, as a user pastes it."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- hooks-snippet -->", 1)[1].split("<!-- /hooks-snippet -->", 1)[0]
    return block.strip().removeprefix("```yaml").removesuffix("```").strip() + "\n"


def _env(base: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PRE_COMMIT_HOME"] = str(base / "pre-commit-home")
    env.pop("NO_COLOR", None)
    # git runs the installed hook script, which finds pre-commit through this interpreter's folder.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def _commit(repo: Path, tmp: Path, message: str) -> subprocess.CompletedProcess[str]:
    """git commit through the hooks. When the SBOM hook rewrote a stale SBOM (as it should after a model or
    dependency change), stage it and commit again, as a user does: every other hook runs again too."""
    result = _git_commit(repo, tmp, message)
    for _ in range(2):  # a second round when pre-commit rolled the rewrite back over an unstaged SBOM
        if result.returncode == 0 or "stale: rewrote it" not in result.stderr or result.stderr.count("- hook id:") != 1:
            break
        _git("add", "sbom", cwd=repo)
        result = _git_commit(repo, tmp, message)
    return result


def _git_commit(repo: Path, tmp: Path, message: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "commit", "-m", message], cwd=repo, capture_output=True, text=True,
                          env=_env(tmp), check=False, timeout=600)


def test_malicious_pickle_is_refused(consumer: Path, tmp_path_factory: pytest.TempPathFactory,
                                     marker: Path) -> None:
    (consumer / "model.bin").write_bytes(payloads.protocol0(marker))
    _git("add", "model.bin", cwd=consumer)
    result = _commit(consumer, tmp_path_factory.getbasetemp(), "add model")
    assert result.returncode != 0
    assert "MW101" in result.stdout + result.stderr
    assert "mlwarden models" in result.stdout + result.stderr
    _git("reset", "-q", "HEAD", "model.bin", cwd=consumer)
    (consumer / "model.bin").unlink()


def test_pickle_named_txt_is_refused(consumer: Path, tmp_path_factory: pytest.TempPathFactory,
                                     marker: Path) -> None:
    (consumer / "notes.txt").write_bytes(payloads.protocol0(marker))
    _git("add", "notes.txt", cwd=consumer)
    result = _commit(consumer, tmp_path_factory.getbasetemp(), "add notes")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "notes.txt" in output
    assert "MW101" in output
    _git("reset", "-q", "HEAD", "notes.txt", cwd=consumer)
    (consumer / "notes.txt").unlink()


def test_hook_judges_the_staged_content(consumer: Path, tmp_path_factory: pytest.TempPathFactory,
                                        marker: Path) -> None:
    (consumer / "weights.bin").write_bytes(payloads.protocol0(marker))
    _git("add", "weights.bin", cwd=consumer)
    (consumer / "weights.bin").write_bytes(b"harmless working-tree edit, never staged\n")
    result = _commit(consumer, tmp_path_factory.getbasetemp(), "staged payload")
    assert result.returncode != 0
    assert "MW101" in result.stdout + result.stderr
    # Outside pre-commit, --staged reads the index too.
    env = _env(tmp_path_factory.getbasetemp())
    staged = subprocess.run([sys.executable, "-m", "mlwarden", "models", "--staged", "weights.bin"], cwd=consumer,
                            capture_output=True, text=True, env=env, check=False, timeout=120)
    assert staged.returncode == 1
    assert "MW101" in staged.stdout
    worktree = subprocess.run([sys.executable, "-m", "mlwarden", "models", "weights.bin"], cwd=consumer,
                              capture_output=True, text=True, env=env, check=False, timeout=120)
    assert worktree.returncode == 0, worktree.stdout
    _git("reset", "-q", "HEAD", "weights.bin", cwd=consumer)
    (consumer / "weights.bin").unlink()


def test_clean_checkpoint_passes(consumer: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    torch = pytest.importorskip("torch")
    torch.save(torch.nn.Linear(3, 2).state_dict(), consumer / "clean.pt")
    _git("add", "clean.pt", cwd=consumer)
    result = _commit(consumer, tmp_path_factory.getbasetemp(), "add checkpoint")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "mlwarden models" in result.stdout + result.stderr
    assert "Passed" in result.stdout + result.stderr


def test_expired_allowlist_entry_is_refused(consumer: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = consumer / "allowlists"
    folder.mkdir(exist_ok=True)
    (folder / "policy.toml").write_text(
        "schema_version = 1\n[[pickle]]\nglobals = ['acme.Net']\nreason = 'r'\nowner = 'o'\n"
        "added = 2020-01-01\nexpires = 2020-06-01\n")
    _git("add", "allowlists/policy.toml", cwd=consumer)
    result = _commit(consumer, tmp_path_factory.getbasetemp(), "expired policy")
    assert result.returncode != 0
    assert "expired on 2020-06-01" in result.stdout + result.stderr
    (folder / "policy.toml").write_text(
        "schema_version = 1\n[[pickle]]\nglobals = ['acme.Net']\nreason = 'r'\nowner = 'o'\n"
        "added = 2026-01-01\nexpires = 2099-06-01\n")
    _git("add", "allowlists/policy.toml", cwd=consumer)
    result = _commit(consumer, tmp_path_factory.getbasetemp(), "valid policy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_unsafe_loading_code_is_refused(consumer: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    (consumer / "train.py").write_text("import torch\nstate = torch.load('ckpt.pt')\n")
    _git("add", "train.py", cwd=consumer)
    result = _commit(consumer, tmp_path_factory.getbasetemp(), "add training code")
    assert result.returncode != 0
    assert "train.py:2: MW704 high" in result.stdout + result.stderr
    (consumer / "train.py").write_text("import torch\nstate = torch.load('ckpt.pt', weights_only=True)\n")
    _git("add", "train.py", cwd=consumer)
    result = _commit(consumer, tmp_path_factory.getbasetemp(), "safe training code")
    assert result.returncode == 0, result.stdout + result.stderr


def test_typosquat_in_requirements_is_refused(consumer: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    (consumer / "requirements.txt").write_text("numpy==1.26.4\nreqeusts==2.31.0\n")
    _git("add", "requirements.txt", cwd=consumer)
    result = _commit(consumer, tmp_path_factory.getbasetemp(), "add requirements")
    assert result.returncode != 0
    assert "MW307" in result.stdout + result.stderr
    (consumer / "requirements.txt").write_text("numpy==1.26.4\nrequests==2.31.0\n")
    _git("add", "requirements.txt", cwd=consumer)
    result = _commit(consumer, tmp_path_factory.getbasetemp(), "fix requirements")
    assert result.returncode == 0, result.stdout + result.stderr


def test_stale_sbom_is_rewritten_and_fails(tmp_path_factory: pytest.TempPathFactory) -> None:
    head = _git("rev-parse", "HEAD", cwd=ROOT, check=False)
    if head.returncode != 0:
        pytest.skip("the checkout has no commit for pre-commit to install")
    repo = tmp_path_factory.mktemp("sbom-consumer")
    _git("init", "-q", "-b", "main", cwd=repo)
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {ROOT}\n    rev: {head.stdout.strip()}\n    hooks:\n      - id: mlwarden-sbom\n")
    (repo / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "1.0"\n')
    (repo / "requirements.txt").write_text("numpy==1.26.4\n")
    env = _env(tmp_path_factory.getbasetemp())
    install = subprocess.run([sys.executable, "-m", "pre_commit", "install"], cwd=repo, capture_output=True,
                             text=True, env=env, check=False, timeout=900)
    assert install.returncode == 0, install.stderr
    _git("add", ".", cwd=repo)
    first = _git_commit(repo, tmp_path_factory.getbasetemp(), "initial")
    assert first.returncode != 0  # no SBOM yet: the hook writes it and fails
    assert (repo / "sbom" / "demo.cdx.json").exists()
    _git("add", ".", cwd=repo)
    assert _git_commit(repo, tmp_path_factory.getbasetemp(), "initial").returncode == 0
    (repo / "requirements.txt").write_text("numpy==2.0.0\n")
    _git("add", "requirements.txt", cwd=repo)
    stale = _git_commit(repo, tmp_path_factory.getbasetemp(), "upgrade numpy")
    assert stale.returncode != 0
    assert "is stale: rewrote it" in stale.stdout + stale.stderr
    assert '"version": "2.0.0"' in (repo / "sbom" / "demo.cdx.json").read_text()
    _git("add", ".", cwd=repo)
    assert _git_commit(repo, tmp_path_factory.getbasetemp(), "upgrade numpy").returncode == 0


def test_token_in_a_notebook_output_is_refused(consumer: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    token = "hf_" + "QxTmvRkLpWzYbNcJdHsGfAeUoIiKqPlMnBvC"
    cell = {"cell_type": "code", "source": ["print(token)\n"], "metadata": {}, "execution_count": 1,
            "outputs": [{"output_type": "stream", "name": "stdout", "text": [token + "\n"]}]}
    notebook = {"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (consumer / "eda.ipynb").write_text(json.dumps(notebook))
    _git("add", "eda.ipynb", cwd=consumer)
    result = _commit(consumer, tmp_path_factory.getbasetemp(), "add notebook")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "eda.ipynb!cell 1 output 0:1: MW401 high: Hugging Face Token" in output
    assert token not in output
    _git("rm", "-q", "--cached", "eda.ipynb", cwd=consumer)
    (consumer / "eda.ipynb").unlink()
