"""Container mutations around a marker payload: the regression corpus of the container oracle.

Each builder returns (file name, bytes, loader). The loader names one real loader in tests/oracle's runner
(pickle, pandas, numpy, joblib, torch). Payloads only `touch` a marker file in a temporary folder. Every sample
here was built to probe a difference between a loader's reader and ours (issue 12); the ones whose marker ran
in the real loader must be flagged high or above.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import pickle
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

from tests import payloads
from tests.payloads import zip_bytes

Sample = tuple[str, bytes, str]


def _payload(marker: Path) -> bytes:
    return payloads.os_system(marker)


def _p0_payload(marker: Path) -> bytes:
    return payloads.protocol0(marker)


# --- zip (torch: miniz; numpy/pandas: zipfile) ------------------------------------------------------------------
def torch_plain(marker: Path) -> Sample:
    return "plain.pt", payloads.torch_like_zip(_payload(marker)), "torch"


def torch_prepended(marker: Path) -> Sample:
    """Data before the zip: zipfile shifts offsets, miniz does not."""
    return "prepended.pt", b"\x00" * 512 + payloads.torch_like_zip(_payload(marker)), "torch"


def torch_fake_eocd_in_comment(marker: Path) -> Sample:
    """An end-of-directory signature inside the comment: readers searching backwards stop there."""
    benign = payloads.torch_like_zip(pickle.dumps({"w": 1}, protocol=2))
    evil = payloads.torch_like_zip(_payload(marker))
    # the evil zip's own end record sits in the comment of the benign one
    out = bytearray(benign)
    struct.pack_into("<H", out, len(out) - 2, len(evil))
    return "comment.pt", bytes(out) + evil, "torch"


def torch_duplicate_first_evil(marker: Path) -> Sample:
    data = zip_bytes([("archive/data.pkl", _payload(marker)), ("archive/data.pkl", pickle.dumps({"w": 1}, protocol=2)),
                 ("archive/version", b"3\n")])
    return "dup_first.pt", data, "torch"


def torch_duplicate_last_evil(marker: Path) -> Sample:
    data = zip_bytes([("archive/data.pkl", pickle.dumps({"w": 1}, protocol=2)), ("archive/data.pkl", _payload(marker)),
                 ("archive/version", b"3\n")])
    return "dup_last.pt", data, "torch"


def torch_encrypted_flag(marker: Path) -> Sample:
    return "encrypted.pt", payloads.set_zip_flag_bits(payloads.torch_like_zip(_payload(marker))), "torch"


def torch_protocol0_member(marker: Path) -> Sample:
    return "p0.pt", payloads.torch_like_zip(_p0_payload(marker)), "torch"


def torch_storage_named_payload(marker: Path) -> Sample:
    """data.pkl benign, the payload in a member that torch never unpickles (must not be required)."""
    return "storage.pt", payloads.torch_like_zip(pickle.dumps({"w": 1}, protocol=2),
                                                 extra={"archive/extra.pkl": _payload(marker)}), "torch"


def _npy_object(marker: Path, header: str, version: int = 1) -> bytes:
    body = header.encode("latin-1" if version < 3 else "utf-8")
    pad = 64 - (10 + len(body) + 1) % 64
    body += b" " * pad + b"\n"
    length = struct.pack("<H", len(body)) if version == 1 else struct.pack("<I", len(body))
    return b"\x93NUMPY" + bytes([version, 0]) + length + body + _payload(marker)


_HEADERS = {
    "plain": "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }",
    "object_word": "{'descr': 'object', 'fortran_order': False, 'shape': (1,), }",
    "escaped": "{'descr': '|\\x4f', 'fortran_order': False, 'shape': (1,), }",
    "double_quotes": '{"descr": "|O", "fortran_order": False, "shape": (1,), }',
    "duplicate_key": "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'descr': '|O'}",
    "structured": "{'descr': [('a', '<i4'), ('b', '|O')], 'fortran_order': False, 'shape': (1,), }",
    "comment_like": "{'descr':'|O','fortran_order':False,'shape':(1,)}",
    "py2_long": "{'descr': '|O', 'fortran_order': False, 'shape': (1L,), }",
}


def npy_variant(kind: str, version: int = 1) -> Callable[[Path], Sample]:
    def build(marker: Path) -> Sample:
        return f"{kind}_v{version}.npy", _npy_object(marker, _HEADERS[kind], version), "numpy"
    build.__name__ = f"npy_{kind}_v{version}"
    return build


def npz_duplicate_last_evil(marker: Path) -> Sample:
    benign = _npy_object(marker, "{'descr': '<f8', 'fortran_order': False, 'shape': (0,), }")
    benign = benign[:benign.index(b"\n") + 1]
    data = zip_bytes([("arr_0.npy", benign), ("arr_0.npy", _npy_object(marker, _HEADERS["plain"]))])
    return "dup.npz", data, "numpy"


def npz_folder_named_member(marker: Path) -> Sample:
    data = zip_bytes([("arr_0.npy/", _npy_object(marker, _HEADERS["plain"])), ("arr_1.npy", b"")])
    return "folder.npz", data, "numpy"


def npz_stored_size_mismatch(marker: Path) -> Sample:
    """A stored member whose compressed size covers more than its size: zipfile reads min(sizes)."""
    raw = bytearray(zip_bytes([("arr_0.npy", _npy_object(marker, _HEADERS["plain"]))]))
    pos = raw.find(b"PK\x01\x02")
    (csize,) = struct.unpack_from("<I", raw, pos + 20)
    struct.pack_into("<I", raw, pos + 20, csize + 7)
    return "mismatch.npz", bytes(raw), "numpy"


def npz_prepended(marker: Path) -> Sample:
    return "prepended.npz", b"PK\x03\x04" + zip_bytes([("arr_0.npy", _npy_object(marker, _HEADERS["plain"]))]), "numpy"


def pickle_then_zip(marker: Path) -> Sample:
    """A pickle with a zip appended: pickle.load reads the front, zipfile the back."""
    return "polyglot.pkl", _payload(marker) + zip_bytes([("a.txt", b"hello")]), "pickle"


# --- pickles that look like other formats ----------------------------------------------------------------------
def pickle_looks_like_gguf(marker: Path) -> Sample:
    # 'G' BINFLOAT eats the next 8 bytes ("GUF" + version 3 ...), '0' POPs it, then the payload
    head = b"GGUF" + struct.pack("<I", 3) + b"\x00" + b"0"
    return "gguf.bin", head + _payload(marker), "pickle"


def pickle_looks_like_safetensors(marker: Path) -> Sample:
    # BINBYTES of 10 bytes whose 4th byte is '{': the first 8 bytes read as a small header length
    data = b"B" + struct.pack("<I", 10) + b"\x00\x00\x00{}\x00\x00\x00\x00\x00" + b"0" + _payload(marker)
    (length,) = struct.unpack_from("<Q", data)
    return "st.bin", data + b"\x00" * (length + 16 - len(data)), "pickle"


def pickle_looks_like_tar(marker: Path) -> Sample:
    """A ustar header with a valid checksum that is also a protocol-0 STRING (quote at 1, quote + newline at the
    end of the block), followed by the payload: tarfile and pickle both accept the file."""
    return "tar.bin", tar_header_pickle() + b"0" + _p0_payload(marker), "pickle"


def tar_header_pickle() -> bytes:
    """A 512-byte ustar header, checksum valid, that a pickle reads as one STRING opcode."""
    header = bytearray(b"x" * 512)
    header[:2] = b"S'"
    header[100:108] = b"0000644\x00"
    header[108:124] = b"0000000\x000000000\x00"
    header[124:136] = b"00000000000\x00"
    header[136:148] = b"00000000000\x00"
    header[156:157] = b"0"
    header[257:265] = b"ustar\x0000"
    header[510:512] = b"'\n"
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\x00 " % sum(header)
    return bytes(header)


# --- tar (torch legacy: tarfile.open mode 'r:', the 'storages' member is unpickled first) -------------------------
def tar_bytes(members: list[tuple[str, bytes]], *, fmt: int = tarfile.USTAR_FORMAT, typeflag: bytes | None = None,
              v7: bool = False) -> bytes:
    """A tar of ``members``; ``v7`` drops the ustar magic and ``typeflag`` retypes the regular-file headers
    (pax/GNU extension headers are left as they are), checksums recomputed."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    raw = bytearray(buf.getvalue())
    if v7 or typeflag is not None:
        pos = 0
        while pos + 512 <= len(raw) and raw[pos:pos + 512].count(0) != 512:
            size = int(raw[pos + 124:pos + 135].strip(b"\x00 ") or b"0", 8)
            if bytes(raw[pos + 156:pos + 157]) in (b"0", b"\x00"):
                if v7:
                    raw[pos + 257:pos + 265] = b"\x00" * 8
                if typeflag is not None:
                    raw[pos + 156:pos + 157] = typeflag
                raw[pos + 148:pos + 156] = b" " * 8
                raw[pos + 148:pos + 156] = b"%06o\x00 " % sum(raw[pos:pos + 512])
            pos += 512 + (size + 511) // 512 * 512
    return bytes(raw)


def torch_legacy_tar(marker: Path) -> Sample:
    return "legacy.tar", tar_bytes([("storages", _payload(marker))]), "torch"


def torch_legacy_tar_v7(marker: Path) -> Sample:
    return "legacy_v7.pt", tar_bytes([("storages", _payload(marker))], v7=True), "torch"


def torch_legacy_tar_unknown_type(marker: Path) -> Sample:
    return "legacy_type.pt", tar_bytes([("storages", _payload(marker))], typeflag=b"Z"), "torch"


def torch_legacy_tar_gnu_longname(marker: Path) -> Sample:
    data = tar_bytes([("x" * 120, pickle.dumps(1)), ("storages", _payload(marker))], fmt=tarfile.GNU_FORMAT)
    return "legacy_gnu.pt", data, "torch"


# --- compression (joblib detects by magic; pandas by extension) -----------------------------------------------------
def gzip_empty_first_member(marker: Path) -> Sample:
    return "empty_first.gz", gzip.compress(b"") + gzip.compress(_payload(marker)), "pandas"


def gzip_split_members(marker: Path) -> Sample:
    data = _payload(marker)
    return "split.gz", gzip.compress(data[:5]) + b"\x00" * 8 + gzip.compress(data[5:]), "pandas"


def gzip_member_on_chunk_boundary(marker: Path) -> Sample:
    """The first member ends exactly on a 64 KiB read boundary (padded with a header comment)."""
    data = _payload(marker)
    first = gzip.compress(data[:5])
    comment_len = 65536 - len(first) - 1
    head = bytearray(first[:10])
    head[3] |= 0x10  # FCOMMENT
    member = bytes(head) + b"c" * comment_len + b"\x00" + first[10:]
    assert len(member) == 65536
    return "boundary.gz", member + gzip.compress(data[5:]), "pandas"


def xz_two_streams(marker: Path) -> Sample:
    data = _payload(marker)
    return "two.xz", lzma.compress(data[:7]) + lzma.compress(data[7:]), "joblib"


def lzma_alone_two_streams(marker: Path) -> Sample:
    data = _payload(marker)
    one = lzma.compress(data[:7], format=lzma.FORMAT_ALONE)
    return "two.lzma", one + lzma.compress(data[7:], format=lzma.FORMAT_ALONE), "joblib"


def lzma_alone_odd_dictionary(marker: Path) -> Sample:
    filters = [{"id": lzma.FILTER_LZMA1, "dict_size": 1 << 16, "lc": 0, "lp": 0, "pb": 0}]
    return "odd.xz", lzma.compress(_payload(marker), format=lzma.FORMAT_ALONE, filters=filters), "pandas"


def xz_padding_then_stream(marker: Path) -> Sample:
    """Stream padding between two xz streams: the xz tool reads on, Python stops (the payload may not run)."""
    data = _payload(marker)
    return "padded.xz", lzma.compress(data[:7]) + b"\x00" * 4 + lzma.compress(data[7:]), "pandas"


def npz_lzma_member(marker: Path) -> Sample:
    """zipfile reads LZMA-compressed members (method 14); a reader without it must fail closed."""
    return "lzma.npz", zip_bytes([("arr_0.npy", _npy_object(marker, _HEADERS["plain"]))], method=zipfile.ZIP_LZMA), \
        "numpy"


def bz2_two_streams(marker: Path) -> Sample:
    data = _payload(marker)
    return "two.bz2", bz2.compress(data[:3]) + bz2.compress(data[3:]), "joblib"


def zlib_joblib(marker: Path) -> Sample:
    return "plain.z", zlib.compress(_payload(marker)), "joblib"


def joblib_zfile(marker: Path) -> Sample:
    data = _payload(marker)
    header = b"ZF" + hex(len(data)).encode().ljust(19)
    return "old.pkl", header + zlib.compress(data), "joblib"


def joblib_zfile_no_space(marker: Path) -> Sample:
    data = _payload(marker)
    header = b"ZF" + (b"0x" + b"%017x" % len(data))  # joblib <= 0.8.4: no space before the stream
    return "old_nospace.pkl", header + zlib.compress(data), "joblib"


def lz4_joblib(marker: Path) -> Sample:
    import lz4.frame  # type: ignore[import-untyped,import-not-found,unused-ignore]

    data = _payload(marker)
    return "m.lz4", lz4.frame.compress(data[:6]) + lz4.frame.compress(data[6:]), "joblib"


def zstd_pandas(marker: Path) -> Sample:
    import zstandard

    return "m.pkl.zst", zstandard.ZstdCompressor().compress(_payload(marker)), "pandas"


def _optional() -> list[Callable[[Path], Sample]]:
    found: list[Callable[[Path], Sample]] = []
    for module, builder in (("lz4", lz4_joblib), ("zstandard", zstd_pandas)):
        try:
            __import__(module)
        except ImportError:
            continue
        found.append(builder)
    return found


BUILDERS: list[Callable[[Path], Sample]] = [
    torch_plain, torch_prepended, torch_fake_eocd_in_comment, torch_duplicate_first_evil, torch_duplicate_last_evil,
    torch_encrypted_flag, torch_protocol0_member, torch_storage_named_payload,
    *[npy_variant(kind) for kind in _HEADERS], npy_variant("plain", 2), npy_variant("plain", 3),
    npz_duplicate_last_evil, npz_folder_named_member, npz_stored_size_mismatch, npz_prepended, pickle_then_zip,
    pickle_looks_like_gguf, pickle_looks_like_safetensors, pickle_looks_like_tar,
    torch_legacy_tar, torch_legacy_tar_v7, torch_legacy_tar_unknown_type, torch_legacy_tar_gnu_longname,
    gzip_empty_first_member, gzip_split_members, gzip_member_on_chunk_boundary, xz_two_streams,
    lzma_alone_two_streams, lzma_alone_odd_dictionary, xz_padding_then_stream, npz_lzma_member,
    bz2_two_streams, zlib_joblib, joblib_zfile,
    joblib_zfile_no_space, *_optional(),
]


def npz_object_array_under_a_storage_name(marker: Path) -> Sample:
    """A torch checkpoint that is also an .npz: np.load unpickles the object array stored as `archive/data/0`."""
    data = payloads.torch_like_zip(pickle.dumps({"w": 1}, protocol=2),
                                   extra={"archive/data/1": _npy_object(marker, _HEADERS["plain"])})
    return "both.npz", data, "numpy"


def joblib_zfile_bare_hex(marker: Path) -> Sample:
    """joblib parses the ZF length with int(x, 16): no 0x prefix needed."""
    data = _payload(marker)
    return "bare.pkl", b"ZF" + (b"%x" % len(data)).ljust(19) + zlib.compress(data), "joblib"


BUILDERS += [npz_object_array_under_a_storage_name, joblib_zfile_bare_hex]
