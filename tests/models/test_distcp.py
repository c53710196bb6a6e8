"""torch.distributed.checkpoint folders written by the real torch (dcp.save without a process group)."""

from __future__ import annotations

import io
import warnings
import zipfile
from pathlib import Path

import pytest

from mlwarden.findings import Severity
from mlwarden.models.scanner import is_model_candidate, scan_model_file
from tests import payloads
from tests.conftest import at_least, rules, scan_bytes

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from torch.distributed.checkpoint import state_dict_saver

    folder = tmp_path_factory.mktemp("dcp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        state = {"w": torch.ones(3), "extra": {"step": 5, "name": "x"}, "lst": [1, 2]}
        state_dict_saver.save(state, checkpoint_id=str(folder))
    return folder


# The dataclasses and enum torch pickles into .metadata: pure data constructors. Not yet on the shipped safe list
# (scripts/gen_safe_globals.py CURATED), so passed here as a policy's [[pickle]] entry would.
DCP_GLOBALS = frozenset(f"torch.distributed.checkpoint.{n}" for n in (
    "filesystem._StorageInfo", "metadata.BytesStorageMetadata", "metadata.ChunkStorageMetadata", "metadata.Metadata",
    "metadata.MetadataIndex", "metadata.StorageMeta", "metadata.TensorProperties", "metadata.TensorStorageMetadata",
    "metadata._MEM_FORMAT_ENCODING"))


def test_real_checkpoint_is_clean(checkpoint: Path) -> None:
    for path in sorted(checkpoint.iterdir()):
        assert is_model_candidate(path), path.name
        result, _ = scan_model_file(path, path.name, extra_safe=DCP_GLOBALS)
        assert result.error is None
        assert at_least(result.findings, Severity.MEDIUM) == [], (path.name, result.findings)


def _torch_save_zip(pickle_bytes: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("archive/data.pkl", pickle_bytes)
        z.writestr("archive/version", "3\n")
    return buf.getvalue()


def test_malicious_item_appended_to_a_storage_file_is_found(tmp_path: Path, checkpoint: Path, marker: Path) -> None:
    storage = next(checkpoint.glob("*.distcp")).read_bytes()
    evil = storage + _torch_save_zip(payloads.os_system(marker))
    assert "MW101" in rules(scan_bytes(tmp_path, evil, "__0_0.distcp"))


def test_raw_pickle_between_archives_is_found(tmp_path: Path, checkpoint: Path, marker: Path) -> None:
    storage = next(checkpoint.glob("*.distcp")).read_bytes()
    assert "MW101" in rules(scan_bytes(tmp_path, payloads.os_system(marker) + storage, "__0_0.distcp"))


def test_metadata_pickle_is_scanned(tmp_path: Path, marker: Path) -> None:
    assert "MW101" in rules(scan_bytes(tmp_path, payloads.os_system(marker), ".metadata"))


def test_storage_without_any_archive_fails_closed(tmp_path: Path) -> None:
    findings = scan_bytes(tmp_path, b"\x00" * 64, "__0_0.distcp")
    assert rules(findings) == {"MW112"}
    assert "could not be verified" in findings[0].message
