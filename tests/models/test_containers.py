"""Containers and sniffing: every interpretation scanned, fail closed, bounded (issue 12, container half)."""

from __future__ import annotations

import gzip
import io
import json
import pickle
import struct
import zipfile
from pathlib import Path

import pytest

from mlwarden.config import Budgets
from mlwarden.findings import Severity
from mlwarden.models import formats
from mlwarden.models.formats import npy, tar
from mlwarden.models.scanner import is_model_candidate, scan_model_file
from tests import payloads
from tests.conftest import at_least, rules, scan_bytes, worst
from tests.payloads import zip_bytes


# --- sniffing cannot be steered -----------------------------------------------------------------------------
def test_benign_safetensors_that_starts_like_a_pickle_is_quiet(tmp_path: Path) -> None:
    """A header of 0x0580 bytes starts with 80 05 (PROTO 5): the pickle reading fails at once, harmlessly."""
    header = {"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}
    raw = json.dumps(header).encode()
    raw += b" " * (0x0580 - len(raw))
    data = payloads.safetensors(raw, b"\x00" * 4)
    assert data[:2] == b"\x80\x05"
    findings = scan_bytes(tmp_path, data, "model.safetensors")
    assert not at_least(findings, Severity.MEDIUM), findings


def test_pickle_behind_gguf_magic_is_still_a_pickle(tmp_path: Path, marker: Path) -> None:
    data = b"GGUF" + struct.pack("<I", 3) + b"\x00" + b"0" + payloads.os_system(marker)
    findings = scan_bytes(tmp_path, data, "model.gguf")
    assert "MW101" in rules(findings)


def test_every_matching_format_is_listed(tmp_path: Path, marker: Path) -> None:
    path = tmp_path / "polyglot.bin"
    path.write_bytes(payloads.os_system(marker) + zip_bytes([("a.txt", b"hi")]))
    result, _ = scan_model_file(path)
    assert {"zip", "pickle"} <= set(result.formats)


def test_v7_tar_header_without_ustar_is_tar() -> None:
    from tests.oracle.container_samples import tar_bytes

    head = tar_bytes([("storages", b"x")], v7=True)[:4096]
    assert b"ustar" not in head[:512]
    assert tar.sniff(head, "x", None)
    assert not tar.sniff(b"\x00" * 512, "x", None)
    assert not tar.sniff(b"A" * 512, "x", None)


# --- zip: every reader's view --------------------------------------------------------------------------------
def test_encrypted_member_cannot_be_verified(tmp_path: Path) -> None:
    data = payloads.set_zip_flag_bits(zip_bytes([("weights.bin", b"\x12\x34" * 50)]))
    findings = scan_bytes(tmp_path, data, "model.pt")
    assert any(f.rule == "MW112" and f.severity >= Severity.HIGH and "encrypted" in f.message for f in findings)


def test_executable_in_a_model_archive_is_high(tmp_path: Path) -> None:
    elf = b"\x7fELF\x02\x01\x01" + b"\x00" * 100
    data = payloads.torch_like_zip(pickle.dumps({"w": 1}, protocol=2), extra={"archive/helper": elf})
    findings = scan_bytes(tmp_path, data, "model.pt")
    assert any(f.rule == "MW114" and f.severity == Severity.HIGH and "ELF" in f.message for f in findings)
    # a plain zip of tools is not a model: no alarm for the same member
    assert not at_least(scan_bytes(tmp_path, data, "tools.zip"), Severity.HIGH)


def test_path_traversal_is_high(tmp_path: Path) -> None:
    findings = scan_bytes(tmp_path, zip_bytes([("../../etc/cron.d/x", b"hello")]), "model.keras")
    assert any(f.rule == "MW114" and f.severity == Severity.HIGH for f in findings)


def test_duplicate_names_are_reported_and_both_scanned(tmp_path: Path, marker: Path) -> None:
    import warnings

    buf = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buf, "w") as zf:
        warnings.simplefilter("ignore")
        zf.writestr("archive/data.pkl", pickle.dumps({"w": 1}, protocol=2))
        zf.writestr("archive/data.pkl", payloads.os_system(marker))
    findings = scan_bytes(tmp_path, buf.getvalue(), "model.pt")
    assert "MW101" in rules(findings)
    assert any(f.rule == "MW114" and "appears 2 times" in f.message for f in findings)


def test_member_named_like_a_folder_is_read(tmp_path: Path, marker: Path) -> None:
    findings = scan_bytes(tmp_path, zip_bytes([("data.pkl/", payloads.os_system(marker))]), "model.zip")
    assert "MW101" in rules(findings)


def test_gap_before_the_directory_gives_two_views(tmp_path: Path, marker: Path) -> None:
    """zipfile shifts offsets by a gap before the end record; miniz does not: both views are scanned."""
    inner = zip_bytes([("archive/data.pkl", payloads.os_system(marker))])
    data = b"\x00" * 100 + inner  # zipfile reads it (shifted); miniz's absolute offsets miss
    findings = scan_bytes(tmp_path, data, "model.npz")
    assert "MW101" in rules(findings)


@pytest.mark.parametrize("weights", ["model.weights.npz", None])
def test_keras_archive_without_h5_weights_still_has_its_config_checked(tmp_path: Path, weights: str | None) -> None:
    config = {"module": "keras", "class_name": "Sequential", "config": {"layers": [
        {"module": "keras.layers", "class_name": "Lambda", "config": {"name": "evil"}}]}}
    members = [("config.json", json.dumps(config).encode())]
    if weights:
        members.append((weights, zip_bytes([("x.npy", b"")])))
    findings = scan_bytes(tmp_path, zip_bytes(members), "model.keras")
    assert "MW109" in rules(findings)


# --- compression ---------------------------------------------------------------------------------------------
def test_corrupt_gzip_after_the_payload_keeps_the_payload(tmp_path: Path, marker: Path) -> None:
    good = gzip.compress(payloads.os_system(marker) + b"\x00" * 2000)
    data = good[:60] + b"\xff" * 40  # the payload decompresses, then the stream breaks
    findings = scan_bytes(tmp_path, data, "model.pkl.gz")
    assert "MW101" in rules(findings)
    assert any(f.rule == "MW112" and f.severity >= Severity.HIGH for f in findings)


def test_trailing_data_after_gzip_is_medium(tmp_path: Path) -> None:
    findings = scan_bytes(tmp_path, gzip.compress(pickle.dumps([1, 2])) + b"junk", "x.pkl.gz")
    assert worst(findings) == Severity.MEDIUM
    assert rules(findings) == {"MW112"}


def test_lz4_and_zstd_fail_closed_without_their_library(tmp_path: Path) -> None:
    for magic, module in ((b"\x04\x22\x4d\x18", "lz4"), (b"\x28\xb5\x2f\xfd", "zstandard")):
        try:
            __import__(module)
        except ImportError:
            findings = scan_bytes(tmp_path, magic + b"\x00" * 64, "model.joblib")
            assert any(f.rule == "MW112" and f.severity >= Severity.HIGH and module in f.message for f in findings)


def test_joblib_zfile_is_read(tmp_path: Path, marker: Path) -> None:
    import zlib

    data = payloads.os_system(marker)
    findings = scan_bytes(tmp_path, b"ZF" + hex(len(data)).encode().ljust(19) + zlib.compress(data), "m.pkl")
    assert "MW101" in rules(findings)


# --- npy headers like numpy ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("header", "expected"), [
    ("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", True),
    ("{'descr': 'object', 'fortran_order': False, 'shape': (2,), }", True),
    ("{'descr': '\\x7cO', 'fortran_order': False, 'shape': (2,), }", True),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'descr': '|O'}", True),
    ("{'descr': '|O', 'fortran_order': False, 'shape': (2,), 'descr': '<f8'}", False),
    ("{'descr': [('a', '<i4'), ('b', [('c', '|O')])], 'fortran_order': False, 'shape': (2,), }", True),
    ("{'descr': [('Other', '<i4')], 'fortran_order': False, 'shape': (2,), }", False),
])
def test_npy_descr_is_read_like_numpy(header: str, expected: bool) -> None:
    body = header.encode("latin-1")
    raw = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(body)) + body
    parsed, offset = npy.read_header(io.BytesIO(raw))
    assert offset == len(raw)
    assert npy.descr_has_object(parsed["descr"]) is expected


def test_plain_array_data_is_not_read_as_a_pickle(tmp_path: Path, marker: Path) -> None:
    body = b"{'descr': '<u1', 'fortran_order': False, 'shape': (40,), }"
    raw = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(body)) + body + payloads.os_system(marker)
    assert not at_least(scan_bytes(tmp_path, raw, "x.npy"), Severity.MEDIUM)


def test_npy_with_extra_header_keys_is_not_verified(tmp_path: Path) -> None:
    body = b"{'descr': '|O', 'fortran_order': False, 'shape': (1,), 'x': 1}"
    raw = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(body)) + body
    findings = scan_bytes(tmp_path, raw, "x.npy")
    assert any(f.rule == "MW112" and f.severity >= Severity.HIGH for f in findings)


# --- fail closed, bounded ----------------------------------------------------------------------------------------
def test_model_named_file_with_unknown_content_is_not_verified(tmp_path: Path) -> None:
    data = b"\x01\x02\x03 not a format we read"
    findings = scan_bytes(tmp_path, data, "model.h5")
    assert any(f.rule == "MW112" and f.severity == Severity.HIGH and "could not be verified" in f.message
               for f in findings)
    # Named like a pickle, but pickle.load rejects its first byte: verified as "not a model", nothing can run.
    as_pickle = scan_bytes(tmp_path, data, "model.pkl")
    assert [(f.rule, f.severity) for f in as_pickle] == [("MW112", Severity.LOW)]
    other = tmp_path / "notes.dat"
    other.write_bytes(data)
    assert not is_model_candidate(other)


def test_site_path_file_named_pth_is_quiet(tmp_path: Path) -> None:
    assert scan_bytes(tmp_path, b"import _virtualenv\n/opt/lib/python\n", "distutils-precedence.pth") == []


def test_reader_crash_is_a_finding_and_keeps_other_findings(tmp_path: Path, marker: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(f: object, **_kw: object) -> dict[str, str]:
        raise RuntimeError("reader bug")

    monkeypatch.setattr(formats.gguf, "gguf_templates", boom)
    data = b"GGUF" + struct.pack("<I", 3) + b"\x00" + b"0" + payloads.os_system(marker)
    findings = scan_bytes(tmp_path, data, "model.gguf")
    assert "MW101" in rules(findings)
    assert any(f.rule == "MW112" and "reader failed" in f.message for f in findings)


def test_nesting_budget_is_a_finding(tmp_path: Path) -> None:
    data = pickle.dumps([1])
    for _ in range(6):
        data = gzip.compress(data)
    path = tmp_path / "deep.gz"
    path.write_bytes(data)
    result, _ = scan_model_file(path, budgets=Budgets(max_depth=3))
    assert any(f.rule == "MW107" for f in result.findings)


def test_member_budget_is_a_finding(tmp_path: Path) -> None:
    path = tmp_path / "many.zip"
    path.write_bytes(zip_bytes([(f"m{i}.txt", b"x") for i in range(20)]))
    result, _ = scan_model_file(path, budgets=Budgets(max_members=5))
    assert any(f.rule == "MW107" for f in result.findings)


def test_decompression_budget_is_a_finding(tmp_path: Path) -> None:
    path = tmp_path / "bomb.pkl.gz"
    path.write_bytes(gzip.compress(pickle.dumps(b"\x00" * (4 << 20), protocol=4)))
    result, _ = scan_model_file(path, budgets=Budgets(max_decompressed_bytes=1 << 20))
    assert any(f.rule == "MW107" for f in result.findings)


def test_hdf5_behind_a_user_block_is_still_read(tmp_path: Path, marker: Path) -> None:
    h5py = pytest.importorskip("h5py")
    config = {"class_name": "Sequential", "config": {"layers": [
        {"module": "keras.layers", "class_name": "Lambda", "config": {"name": "evil"}}]}}
    path = tmp_path / "model.h5"
    with h5py.File(path, "w", userblock_size=512) as h5:
        h5.attrs["model_config"] = json.dumps(config)
    data = bytearray(path.read_bytes())
    pickled = payloads.os_system(marker)
    data[:len(pickled)] = pickled  # the user block holds a pickle: pickle.load and h5py both accept the file
    findings = scan_bytes(tmp_path, bytes(data), "model.h5")
    assert {"MW101", "MW109"} <= rules(findings)


def test_large_member_named_like_a_model_in_no_known_format_is_not_verified(tmp_path: Path) -> None:
    data = payloads.torch_like_zip(b"\x01" * 10_000)  # data.pkl that is nothing we read, longer than a sniff
    findings = scan_bytes(tmp_path, data, "model.pt")
    assert any(f.rule == "MW112" and f.location.member == "archive/data.pkl" for f in findings)


def test_corrupt_deflate_member_is_reported_after_what_it_yielded(tmp_path: Path, marker: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("archive/data.pkl", payloads.os_system(marker) + bytes(range(256)) * 64)
    raw = bytearray(buf.getvalue())
    start = raw.find(b"archive/data.pkl") + len("archive/data.pkl")
    raw[start + 40:start + 80] = b"\xff" * 40  # break the deflate stream after the payload's bytes
    findings = scan_bytes(tmp_path, bytes(raw), "model.pt")
    assert any(f.rule == "MW112" and f.severity >= Severity.HIGH for f in findings)


# --- mutated containers never crash the scan -------------------------------------------------------------------
def _container_seeds() -> list[bytes]:
    import bz2
    import lzma
    import zlib

    from tests.oracle.container_samples import _npy_object, tar_bytes

    marker = Path("/nonexistent/marker")
    body = payloads.os_system(marker)
    return [
        tar_bytes([("storages", body)], v7=True),
        gzip.compress(b"") + gzip.compress(body),
        lzma.compress(body[:5]) + lzma.compress(body[5:]),
        lzma.compress(body, format=lzma.FORMAT_ALONE),
        bz2.compress(body) + bz2.compress(body),
        b"ZF" + hex(len(body)).encode().ljust(19) + zlib.compress(body),
        zip_bytes([("arr_0.npy", _npy_object(marker, "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"))]),
        payloads.set_zip_flag_bits(payloads.torch_like_zip(body)),
    ]


def test_mutated_containers_never_crash(tmp_path_factory: pytest.TempPathFactory) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    seeds = _container_seeds()
    budgets = Budgets(max_seconds_per_file=5.0, max_decompressed_bytes=8 << 20)

    @settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.sampled_from(seeds), st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), max_size=6),
           st.integers(0, 1 << 16))
    def run(seed: bytes, flips: list[tuple[int, int]], cut: int) -> None:
        raw = bytearray(seed)
        for pos, value in flips:
            raw[pos % len(raw)] = value
        if cut % 3 == 0:
            del raw[cut % len(raw):]
        path = tmp_path_factory.mktemp("mut") / "sample.pt"
        path.write_bytes(bytes(raw))
        result, _ = scan_model_file(path, budgets=budgets)
        assert result.error is None
        assert not any(f.key.startswith("reader-error:") or f.key == "internal-error" for f in result.findings), \
            [f.message for f in result.findings]

    run()


def test_old_joblib_companion_is_scanned_with_its_pickle(tmp_path: Path, marker: Path) -> None:
    """joblib.load of an old pickle (NDArrayWrapper) np.loads the companion file by name, allow_pickle=True."""
    from mlwarden.models.pickle import Analysis
    from tests.oracle import harness
    from tests.oracle.container_samples import _HEADERS, _npy_object

    if not hasattr(Analysis(), "companions"):
        pytest.skip("the pickle machine does not list joblib companions yet")
    main = (b"\x80\x02" + payloads.glob("joblib.numpy_pickle_compat", "NDArrayWrapper") + b")\x81}("
            + payloads.ustr("filename") + payloads.ustr("m.pkl_01.npy") + b"ub.")
    (tmp_path / "m.pkl").write_bytes(main)
    (tmp_path / "m.pkl_01.npy").write_bytes(_npy_object(marker, _HEADERS["plain"]))
    result, _ = scan_model_file(tmp_path / "m.pkl", "m.pkl")
    assert any(f.rule == "MW101" and "(companion)" in (f.location.member or "") for f in result.findings)
    if pytest.importorskip("joblib"):
        def write(folder: Path) -> str:  # the pickle and its companion, whose payload touches PAYLOAD_RAN there
            (folder / "m.pkl").write_bytes(main)
            (folder / "m.pkl_01.npy").write_bytes(_npy_object(Path(harness.MARKER), _HEADERS["plain"]))
            return "m.pkl"

        assert harness.run_named_loaders([("companion", "m.pkl", write, "joblib")]) == {"companion"}, \
            "the sample should be live in joblib"


def test_executable_named_like_a_model_is_not_verified(tmp_path: Path) -> None:
    findings = scan_bytes(tmp_path, b"\x7fELF\x02\x01\x01" + b"\x00" * 200, "pytorch_model.bin")
    assert any(f.rule == "MW112" and f.severity == Severity.HIGH for f in findings)
