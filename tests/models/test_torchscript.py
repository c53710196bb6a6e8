"""TorchScript code analysis on archives written by torch.jit.save, and on edited copies of them."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from mlwarden.findings import Severity
from mlwarden.models.readers.torchscript import check_code
from tests.conftest import rules, scan_bytes, worst

torch = pytest.importorskip("torch")

_MODULE = '''
import torch


class Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.lin(x)) + 1
'''


@pytest.fixture(scope="module")
def scripted(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real torch.jit.save archive (the module is written to a file: TorchScript compiles from source)."""
    import importlib.util

    folder = tmp_path_factory.mktemp("ts")
    (folder / "tsnet.py").write_text(_MODULE)
    spec = importlib.util.spec_from_file_location("tsnet", folder / "tsnet.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # our own test module, not a scanned file
    path = folder / "net.pt"
    torch.jit.save(torch.jit.script(module.Net()), str(path))
    return path.read_bytes()


def _edit(archive: bytes, extra: str) -> bytes:
    """Copy of the archive whose first code file gains ``extra`` (what an attacker edits by hand)."""
    src = zipfile.ZipFile(io.BytesIO(archive))
    target = next(n for n in src.namelist() if "/code/" in n and n.endswith(".py"))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == target:
                data += extra.encode()
            z.writestr(info, data)
    return out.getvalue()


def test_real_torchscript_stays_medium(tmp_path: Path, scripted: bytes) -> None:
    findings = scan_bytes(tmp_path, scripted, "net.pt")
    assert rules(findings) == {"MW108"}
    assert worst(findings) == Severity.MEDIUM


def test_from_file_in_setstate_is_critical(tmp_path: Path, scripted: bytes) -> None:
    extra = ("\nclass Evil(Module):\n  def __setstate__(self: __torch__.Evil, state: Tuple[int]) -> None:\n"
             "    _0 = torch.from_file(\"/home/u/.bashrc\", True, 100)\n    return None\n")
    findings = scan_bytes(tmp_path, _edit(scripted, extra), "net.pt")
    hits = [f for f in findings if f.rule == "MW136"]
    assert hits
    assert hits[0].severity == Severity.CRITICAL
    assert "__setstate__" in hits[0].message


@pytest.mark.parametrize("call", ["torch.ops.load_library(\"/tmp/x.so\")", "__import__(\"os\")",
                                  "open(\"/etc/passwd\")", "os.system(\"id\")", "torch.from_file(\"/dev/shm/x\")"])
def test_calls_that_touch_files_or_imports_are_high(call: str) -> None:
    report = check_code("code/__torch__.py", f"def forward(self, x):\n  _0 = {call}\n  return x\n")
    assert [p.rule for p in report.problems] == ["MW136"]
    assert report.problems[0].severity is None  # the rule's default: high


def test_custom_op_namespace_is_medium() -> None:
    report = check_code("code/__torch__.py", "def forward(self, x):\n  return ops.my_ns.fast_gelu(x)\n")
    assert [(p.rule, p.severity) for p in report.problems] == [("MW136", Severity.MEDIUM)]
    assert check_code("code/__torch__.py", "def forward(self, x):\n  return ops.aten.relu(x)\n").problems == []
