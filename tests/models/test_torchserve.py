"""TorchServe .mar archives, laid out as torch-model-archiver writes them (MAR-INF/MANIFEST.json)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from mlwarden.findings import Severity
from tests import payloads
from tests.conftest import rules, scan_bytes, worst


def _mar(files: dict[str, bytes], model: dict[str, str] | None = None) -> bytes:
    manifest = {"createdOn": "01/01/2026 00:00:00", "runtime": "python", "archiverVersion": "0.12.0",
                "model": model if model is not None else {"modelName": "m", "serializedFile": "model.pt",
                                                          "handler": "image_classifier", "modelVersion": "1.0"}}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("MAR-INF/MANIFEST.json", json.dumps(manifest))
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_builtin_handler_and_safe_weights_are_clean(tmp_path: Path) -> None:
    assert scan_bytes(tmp_path, _mar({"model.pt": b"\x80\x04K\x01."}), "m.mar") == []


def test_handler_code_is_high_and_the_model_inside_is_scanned(tmp_path: Path, marker: Path) -> None:
    model = {"modelName": "m", "serializedFile": "model.pkl", "handler": "handler.py"}
    data = _mar({"handler.py": b"import os\nos.system('id')\n", "model.pkl": payloads.os_system(marker)}, model)
    findings = scan_bytes(tmp_path, data, "m.mar")
    assert {"MW135", "MW101"} <= rules(findings)
    assert worst(findings) == Severity.CRITICAL
    assert any(f.rule == "MW135" and "handler.py" in f.message and f.severity == Severity.HIGH for f in findings)


def test_missing_manifest_or_missing_handler_fails_closed(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("model.pt", b"\x80\x04K\x01.")
    findings = scan_bytes(tmp_path, buf.getvalue(), "m.mar")
    assert rules(findings) == {"MW112"}
    gone = _mar({}, {"modelName": "m", "handler": "custom.py"})
    assert rules(scan_bytes(tmp_path, gone, "m.mar")) == {"MW112"}


def test_tgz_and_folder_forms_report_the_handler_named_by_the_manifest(tmp_path: Path) -> None:
    import tarfile

    manifest = json.dumps({"model": {"modelName": "m", "handler": "handler.py", "serializedFile": "m.pt"}}).encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in (("m/MAR-INF/MANIFEST.json", manifest), ("m/handler.py", b"import os\n")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    findings = scan_bytes(tmp_path, buf.getvalue(), "m.tar.gz")
    assert [f.rule for f in findings] == ["MW135"]
    assert "handler.py" in findings[0].message

    from mlwarden.models.scanner import scan_model_file

    folder = tmp_path / "store" / "m" / "MAR-INF"
    folder.mkdir(parents=True)
    (folder / "MANIFEST.json").write_bytes(manifest)
    result, _ = scan_model_file(folder / "MANIFEST.json", "store/m/MAR-INF/MANIFEST.json")
    assert [f.rule for f in result.findings] == ["MW135"]
    builtin = json.dumps({"model": {"modelName": "m", "handler": "image_classifier"}}).encode()
    (folder / "MANIFEST.json").write_bytes(builtin)
    result, _ = scan_model_file(folder / "MANIFEST.json", "store/m/MAR-INF/MANIFEST.json")
    assert result.findings == []
