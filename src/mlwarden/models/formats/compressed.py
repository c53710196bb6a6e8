"""Compression wrappers, decompressed as the loaders' readers do and their content routed again.

gzip (several members, zero padding: gzip.GzipFile), bz2 and xz/lzma (several streams: DecompressReader; xz
stream padding too), zlib (joblib), lz4 frames and zstd (joblib, pandas; read only when lz4 / zstandard are
installed, else not verified), and joblib's pre-0.10 `ZF` files (a hex length then one zlib stream, read by
joblib's `read_zfile`). Recognised by magic bytes as joblib's `_detect_compressor` and pandas do.
"""

from __future__ import annotations

from mlwarden.models.formats.base import Blob, Format, Scan
from mlwarden.models.streams import Decompressor, Readable
from mlwarden.rules import FORMAT_NOT_INSPECTED

_ZLIB_FLAGS = frozenset({0x01, 0x5E, 0x9C, 0xDA})  # CMF 0x78 with a valid check and no preset dictionary
_ZF_HEADER = 2 + 19  # b"ZF" + the hex length padded to len(hex(2**64))


def _lzma_alone(head: bytes, name: str) -> bool:
    """A .lzma ("alone") header has no magic. joblib takes b"\x5d\x00" (the default properties) as one; any
    other properties are accepted only for a file named .xz/.lzma (pandas and lzma.open pick by extension) and
    when liblzma's decoder accepts the header: random data must not read as lzma."""
    if len(head) < 13 or head[0] > 224:
        return False
    if head[:2] != b"\x5d\x00" and not name.lower().endswith((".xz", ".lzma")):
        return False
    if not (head[5:13] == b"\xff" * 8 or int.from_bytes(head[5:13], "little") < (1 << 40)):
        return False
    import lzma

    try:  # joblib detects b"\x5d\x00"; liblzma accepts any valid properties: ask it
        lzma.LZMADecompressor(lzma.FORMAT_ALONE).decompress(head[:4096], 16)
    except lzma.LZMAError:
        return False
    return True


def _detect(head: bytes, name: str = "") -> str | None:
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head[:3] == b"BZh":
        return "bz2"
    if head[:6] == b"\xfd7zXZ\x00":
        return "xz"
    if head[:1] == b"\x78" and len(head) > 1 and head[1] in _ZLIB_FLAGS:
        return "zlib"
    if head[:4] == b"\x04\x22\x4d\x18":
        return "lz4"
    if head[:4] == b"\x28\xb5\x2f\xfd":
        return "zstd"
    if _lzma_alone(head, name):
        return "lzma"
    return None


def _label(member: str | None, part: str) -> str:
    return f"{member}/{part}" if member else part


_MODULES = {"lz4": ("lz4", "lz4"), "zstd": ("zstandard", "zstd")}


def decompress_and_route(raw: Readable, kind: str, member: str | None, scan: Scan, *, name: str = "") -> None:
    """Decompress ``raw`` as ``kind`` and route the result; corrupt data and a missing library fail closed."""
    if kind in _MODULES:
        module, extra = _MODULES[kind]
        try:
            __import__(module)
        except ImportError:
            scan.unverified(member, f"{kind}-compressed data not inspected: install {module} "
                            f"(pip install 'mlwarden[{extra}]')", f"{kind}-missing")
            return
    stream = Decompressor(raw, kind, scan.budget)
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    inner_name = name[:len(name) - len(base)] + base.rsplit(".", 1)[0] if "." in base else ""  # m.pkl.gz: m.pkl
    scan.nested(stream, _label(member, f"({kind})"), name=inner_name)
    if stream.error:
        scan.unverified(member, f"could not be decompressed: {stream.error}", "corrupt-compression")
    elif stream.trailing:
        from mlwarden.findings import Severity

        scan.add(
            FORMAT_NOT_INSPECTED,
            member,
            f"trailing data not inspected: {stream.trailing}",
            "compression-trailing",
            severity=Severity.MEDIUM,
        )


def _make(kind: str, names: tuple[str, ...]) -> Format:
    def sniff(head: bytes, name: str, size: int | None) -> bool:
        return _detect(head, name) == kind

    def scan_blob(blob: Blob, scan: Scan) -> None:
        decompress_and_route(blob.file, kind, blob.member, scan, name=blob.name)

    return Format(kind, sniff, scan_blob, names=names)


def _sniff_zfile(head: bytes, name: str, size: int | None) -> bool:
    """joblib takes any file starting with b"ZF" and parses the next 19 bytes with int(..., 16): the same call
    decides here (so "28", " +0x28", "0x_28" all count, as they do for joblib)."""
    if head[:2] != b"ZF" or len(head) < _ZF_HEADER:
        return False
    try:
        int(head[2:_ZF_HEADER], 16)
    except ValueError:
        return False
    return True


def _scan_zfile(blob: Blob, scan: Scan) -> None:
    header = blob.file.read(_ZF_HEADER + 1)
    # joblib <= 0.8.4 wrote no space after the length: then the stream starts right there
    rest = header[_ZF_HEADER:] if header[-1:] != b" " else b""
    # no inner name: the .npy.z companions of joblib 0.9 hold raw array bytes, not .npy files
    decompress_and_route(_Prefixed(rest, blob.file), "zlib", blob.member, scan)


class _Prefixed:
    def __init__(self, head: bytes, rest: Readable) -> None:
        self._head = head
        self._rest = rest

    def read(self, n: int = -1) -> bytes:
        if self._head:
            data, self._head = (self._head, b"") if n < 0 or n >= len(self._head) else (self._head[:n], self._head[n:])
            return data
        return self._rest.read(n)


FORMATS = (
    _make("gzip", ("*.gz", "*.tgz")),
    _make("bz2", ("*.bz2",)),
    _make("xz", ("*.xz",)),
    _make("lzma", ("*.lzma",)),
    _make("zlib", ("*.z",)),
    _make("lz4", ("*.lz4",)),
    _make("zstd", ("*.zst", "*.zstd")),
    Format("joblib-zfile", _sniff_zfile, _scan_zfile),
)
