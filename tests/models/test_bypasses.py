"""Every published bypass class is caught at high or critical, and no payload ever runs."""

from __future__ import annotations

import bz2
import copyreg
import gzip
import io
import lzma
import pickle
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlwarden.findings import Severity
from tests import payloads
from tests.conftest import rules, scan_bytes, worst


@pytest.mark.parametrize("name", sorted(payloads.PICKLE_PAYLOADS))
def test_pickle_payload_is_high_or_critical(tmp_path: Path, marker: Path, name: str) -> None:
    data = payloads.PICKLE_PAYLOADS[name](marker)
    findings = scan_bytes(tmp_path, data, f"{name}.bin")
    severity = worst(findings)
    assert severity is not None
    assert severity >= Severity.HIGH, findings


@pytest.mark.parametrize("name", ["os_system", "protocol0", "inst_opcode", "obj_opcode", "stack_global_memo",
                                  "dotted_reexport", "builtins_dict_get", "pkgutil_resolve_name",
                                  "sleepy_state_dict", "asyncio_submodule", "collect_env_run", "newobj_ex"])
def test_known_code_execution_is_critical(tmp_path: Path, marker: Path, name: str) -> None:
    findings = scan_bytes(tmp_path, payloads.PICKLE_PAYLOADS[name](marker))
    assert worst(findings) == Severity.CRITICAL
    assert "MW101" in rules(findings)


def test_memo_operands_resolve_to_the_real_global(tmp_path: Path, marker: Path) -> None:
    findings = scan_bytes(tmp_path, payloads.stack_global_memo(marker))
    assert any("posix.system" in f.message or "os.system" in f.message for f in findings)


def test_non_constant_stack_global_fails_closed(tmp_path: Path, marker: Path) -> None:
    findings = scan_bytes(tmp_path, payloads.stack_global_non_string(marker))
    assert "MW104" in rules(findings)


def test_call_of_a_call_result_is_reported(tmp_path: Path, marker: Path) -> None:
    findings = scan_bytes(tmp_path, payloads.memo_value_from_reduce(marker))
    assert {"MW101", "MW104"} <= rules(findings)


@pytest.fixture
def registered_extension() -> Iterator[int]:
    code = 240
    copyreg.add_extension("os", "system", code)
    try:
        yield code
    finally:
        copyreg.remove_extension("os", "system", code)


def test_ext_opcode_resolves_through_the_registry(tmp_path: Path, marker: Path, registered_extension: int) -> None:
    findings = scan_bytes(tmp_path, payloads.ext_registered(marker, registered_extension))
    assert worst(findings) == Severity.CRITICAL
    assert any("os.system" in f.message or "posix.system" in f.message for f in findings)


def test_unregistered_ext_fails_closed(tmp_path: Path, marker: Path) -> None:
    findings = scan_bytes(tmp_path, payloads.ext_unregistered(marker))
    assert "MW104" in rules(findings)
    assert worst(findings) == Severity.HIGH


def test_nested_pickle_is_scanned(tmp_path: Path, marker: Path) -> None:
    findings = scan_bytes(tmp_path, payloads.nested_loads(marker))
    assert "MW106" in rules(findings)
    nested = [f for f in findings if f.location.member and "pickle.loads" in f.location.member]
    assert any(f.rule == "MW101" for f in nested), findings


def test_nested_pickle_in_codecs_string_is_scanned(tmp_path: Path, marker: Path) -> None:
    findings = scan_bytes(tmp_path, payloads.nested_codecs(marker))
    assert any(f.rule == "MW101" and f.location.member for f in findings), findings


def test_broken_stream_keeps_what_came_before(tmp_path: Path, marker: Path) -> None:
    findings = scan_bytes(tmp_path, payloads.broken_after_payload(marker))
    assert {"MW101", "MW105"} <= rules(findings)


def test_setstate_injection_counts_as_a_call(tmp_path: Path, marker: Path) -> None:
    findings = scan_bytes(tmp_path, payloads.setstate_injection(marker, "mypkg.helpers", "run"))
    unknown = [f for f in findings if "mypkg.helpers.run" in f.message]
    assert unknown
    assert unknown[0].rule == "MW102"
    assert unknown[0].severity == Severity.HIGH


def test_stacked_pickles_are_all_read(tmp_path: Path, marker: Path) -> None:
    findings = scan_bytes(tmp_path, payloads.stacked(marker))
    assert worst(findings) == Severity.CRITICAL


# --- zip tricks ----------------------------------------------------------------------------------------------
def test_zip_flag_bits_do_not_hide_the_payload(tmp_path: Path, marker: Path) -> None:
    data = payloads.set_zip_flag_bits(payloads.torch_like_zip(payloads.os_system(marker)))
    with pytest.raises(RuntimeError):  # what Python's zipfile does with it
        zipfile.ZipFile(io.BytesIO(data)).read("archive/data.pkl")
    assert worst(scan_bytes(tmp_path, data, "model.pt")) == Severity.CRITICAL


def test_bad_crc_does_not_hide_the_payload(tmp_path: Path, marker: Path) -> None:
    data = payloads.corrupt_crc(payloads.torch_like_zip(payloads.os_system(marker), compress=True))
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(io.BytesIO(data)).read("archive/data.pkl")
    assert worst(scan_bytes(tmp_path, data, "model.pt")) == Severity.CRITICAL


def test_local_name_mismatch_is_reported(tmp_path: Path, marker: Path) -> None:
    data = payloads.torch_like_zip(payloads.os_system(marker))
    data = payloads.rename_local_header(data, "archive/data.pkl", "archive/data.txt")
    findings = scan_bytes(tmp_path, data, "model.pt")
    assert "MW114" in rules(findings)
    assert worst(findings) == Severity.CRITICAL


def test_odd_member_names_are_scanned_by_content(tmp_path: Path, marker: Path) -> None:
    extra = {"archive/extra/weights.bin": payloads.protocol0(marker)}
    data = payloads.torch_like_zip(pickle_dumps_benign(), extra=extra)
    findings = scan_bytes(tmp_path, data, "model.pt")
    assert any(f.location.member == "archive/extra/weights.bin" and f.rule == "MW101" for f in findings)


def test_trailing_garbage(tmp_path: Path, marker: Path) -> None:
    data = payloads.torch_like_zip(payloads.os_system(marker)) + b"\x00garbage"
    assert worst(scan_bytes(tmp_path, data, "model.pt")) == Severity.CRITICAL


def test_prepended_data(tmp_path: Path, marker: Path) -> None:
    """Python's zipfile opens zips with a prefix (self-extracting archives); so must the scanner."""
    data = b"#!/bin/sh\nexit 0\n" + payloads.torch_like_zip(payloads.os_system(marker))
    assert worst(scan_bytes(tmp_path, data, "model.zip")) == Severity.CRITICAL


def test_tensor_storages_are_not_parsed_as_pickles(tmp_path: Path) -> None:
    data = payloads.torch_like_zip(pickle_dumps_benign())
    assert worst(scan_bytes(tmp_path, data, "model.pt")) is None


def test_member_path_traversal_is_reported(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("../../etc/evil.pkl", pickle_dumps_benign())
    findings = scan_bytes(tmp_path, buf.getvalue(), "a.zip")
    assert "MW114" in rules(findings)


# --- wrappers -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("wrap", ["gzip", "bz2", "xz", "lzma", "tar", "tar.gz", "zip-in-zip"])
def test_wrapped_payloads(tmp_path: Path, marker: Path, wrap: str) -> None:
    inner = payloads.protocol0(marker)
    if wrap == "gzip":
        data = gzip.compress(inner)
    elif wrap == "bz2":
        data = bz2.compress(inner)
    elif wrap == "xz":
        data = lzma.compress(inner)
    elif wrap == "lzma":
        data = lzma.compress(inner, format=lzma.FORMAT_ALONE)
    elif wrap.startswith("tar"):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz" if wrap == "tar.gz" else "w") as tar:
            info = tarfile.TarInfo("inner/model.bin")
            info.size = len(inner)
            tar.addfile(info, io.BytesIO(inner))
        data = buf.getvalue()
    else:
        data = payloads.torch_like_zip(pickle_dumps_benign(),
                                       extra={"nested.zip": payloads.torch_like_zip(inner, compress=True)})
    findings = scan_bytes(tmp_path, data, "model.bin")
    assert worst(findings) == Severity.CRITICAL, findings


def test_7z_wrapper(tmp_path: Path, marker: Path) -> None:
    py7zr = pytest.importorskip("py7zr")
    archive = tmp_path / "model.7z"
    with py7zr.SevenZipFile(archive, "w") as sz:
        sz.writestr(payloads.torch_like_zip(payloads.os_system(marker)), "pytorch_model.bin")
    findings = scan_bytes(tmp_path, archive.read_bytes(), "model.7z")
    assert worst(findings) == Severity.CRITICAL


def test_legacy_torch_tar_form(tmp_path: Path, marker: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in (("sys_info", pickle_dumps_benign()), ("pickle", payloads.os_system(marker)),
                           ("storages", b"\x80\x02K\x00.")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    findings = scan_bytes(tmp_path, buf.getvalue(), "old.pt")
    assert any(f.location.member == "pickle" and f.rule == "MW101" for f in findings)


def test_depth_budget(tmp_path: Path) -> None:
    data = pickle_dumps_benign()
    for _ in range(12):
        data = gzip.compress(data)
    findings = scan_bytes(tmp_path, data, "deep.gz")
    assert "MW107" in rules(findings)


def test_decompression_bomb_budget(tmp_path: Path) -> None:
    from mlwarden.config import Budgets
    from mlwarden.models.scanner import scan_model_file

    path = tmp_path / "bomb.gz"
    path.write_bytes(gzip.compress(pickle.dumps([bytes(1 << 20) for _ in range(8)], protocol=4)))
    result, _ = scan_model_file(path, budgets=Budgets(max_decompressed_bytes=1 << 20))
    assert "MW107" in rules(result.findings)


def pickle_dumps_benign() -> bytes:
    return pickle.dumps({"weights": [0.5, 1.5], "step": 3}, protocol=2)


def test_member_count_budget(tmp_path: Path) -> None:
    from mlwarden.config import Budgets
    from mlwarden.models.scanner import scan_model_file

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i in range(30):
            zf.writestr(f"m{i}.txt", "x")
    path = tmp_path / "many.zip"
    path.write_bytes(buf.getvalue())
    result, _ = scan_model_file(path, budgets=Budgets(max_members=10))
    assert "MW107" in rules(result.findings)


def test_stack_and_memo_budgets(tmp_path: Path) -> None:
    from mlwarden.config import Budgets
    from mlwarden.models.scanner import scan_model_file

    path = tmp_path / "deep.pkl"
    path.write_bytes(b"\x80\x04" + b"N" * 3_000_000 + b".")
    result, _ = scan_model_file(path, budgets=Budgets(max_stack_entries=1_000_000))
    assert any(f.rule == "MW107" and "stack" in f.message for f in result.findings)
    memo = b"\x80\x02" + b"".join(b"c" + f"m{i}\nC\n".encode() + b"r" + i.to_bytes(4, "little") + b"0"
                                  for i in range(2000)) + b"N."
    path.write_bytes(memo)
    result, _ = scan_model_file(path, budgets=Budgets(max_memo_entries=500))
    assert any(f.rule == "MW107" and "memo" in f.message for f in result.findings)


def test_time_budget(tmp_path: Path) -> None:
    from mlwarden.config import Budgets
    from mlwarden.models.scanner import scan_model_file

    path = tmp_path / "slow.pkl"
    path.write_bytes(pickle.dumps(list(range(3_000_000)), protocol=2))
    result, _ = scan_model_file(path, budgets=Budgets(max_seconds_per_file=0.01))
    assert any(f.rule == "MW107" and "time" in f.message for f in result.findings)


def test_missing_optional_reader_says_how_to_enable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "py7zr", None)
    monkeypatch.setitem(sys.modules, "h5py", None)
    findings = scan_bytes(tmp_path, b"7z\xbc\xaf\x27\x1c" + b"\x00" * 40, "a.7z")
    assert any(f.rule == "MW112" and "pip install 'mlwarden[7z]'" in f.message for f in findings)
    findings = scan_bytes(tmp_path, b"\x89HDF\r\n\x1a\n" + b"\x00" * 40, "a.h5")
    assert any(f.rule == "MW112" and "pip install 'mlwarden[h5]'" in f.message for f in findings)


def test_corrupt_containers_are_findings_not_errors(tmp_path: Path) -> None:
    for name, data in (("a.zip", b"PK\x03\x04" + b"\x00" * 10), ("a.gz", b"\x1f\x8b\x08\x00garbage" * 3),
                       ("a.tar", b"\x00" * 257 + b"ustar" + b"\x00" * 300), ("a.npy", b"\x93NUMPY\x09\x00")):
        findings = scan_bytes(tmp_path, data, name)
        assert "MW112" in rules(findings), (name, findings)
