"""Regression corpus of the red-team run (tests/oracle/attacks.py, issue 12): one builder per bypass class found,
each built by code (hostile samples are never committed as files). Every sample ran its marker payload in the
named real loader and was not flagged high before the fix named in its docstring.
"""

from __future__ import annotations

import gzip
import random
from collections.abc import Callable

from tests.oracle.attacks import MARKER, Attack, _wrapper, call, wrap
from tests.oracle.mutations import glob, sstr, ustr

_FILE_HANDLER = glob("logging", "FileHandler")
# Binary opcodes only: zstandard's reader has no readline, which GLOBAL needs.
_BINARY = wrap(ustr("logging") + ustr("FileHandler") + b"\x93" + ustr(MARKER) + b"\x85R", 4)


def _joblib_raw(protocol: int, descr: str, size: int, seed: int) -> bytes:
    region = b"0" + call(_FILE_HANDLER, sstr(MARKER))
    region += b"N" * (-len(region) % size)
    wrapper = _wrapper(random.Random(seed), len(region) // size, descr, size)  # noqa: S311 - reproducible test data
    return wrap(wrapper + region, protocol)


def joblib_raw_bytes_as_opcodes() -> Attack:
    """Raw uint8 'array bytes' after a NumpyArrayWrapper's BUILD are opcodes to pickle.load. Missed before the
    machine read joblib's layout both ways (machine._plain_view)."""
    return Attack("joblib-layout", "model.pkl", _joblib_raw(2, "u1", 1, 1), "pickle", "raw-u1")


def joblib_f8_bytes_in_torch() -> Attack:
    """The same with float64 'array data', loaded by torch.load's legacy path (a plain pickle)."""
    return Attack("joblib-layout", "model.pt", _joblib_raw(4, "<f8", 8, 2), "torch", "raw-f8")


def joblib_object_array_memo() -> Attack:
    """An object array's 'own' pickle calls memo 0: empty in joblib's view, the outer pickle's imported (not
    called) callable in pickle.load's."""
    wrapper = _wrapper(random.Random(3), 1, "O", 8)  # noqa: S311 - reproducible test data
    body = _FILE_HANDLER + b"\x94" + b"0" + b"(" + wrapper + b"h\x00(" + sstr(MARKER) + b"tR0" + b"l"
    return Attack("joblib-layout", "model.joblib", wrap(body, 4), "pickle", "object-memo")


def joblib_layout_gzip_pandas() -> Attack:
    """The raw-bytes trick inside a gzip stream that pandas.read_pickle decompresses by extension."""
    return Attack("joblib-layout", "frame.pkl.gz", gzip.compress(_joblib_raw(5, "u1", 1, 4), mtime=0), "pandas",
                  "gzip")


def zstd_second_frame() -> Attack:
    """zstandard.open (pandas, joblib) reads across frames: the payload in a second frame after an empty one
    was reported only as medium "trailing data". Missed before streams.py read zstd/lz4 frames as members."""
    import zstandard

    payload = _BINARY
    data = zstandard.ZstdCompressor().compress(b"") + zstandard.ZstdCompressor().compress(payload)
    return Attack("compressed", "frame.pkl.zst", data, "pandas", "zstd-two-frames")


def lz4_second_frame() -> Attack:
    """lz4.frame.LZ4FrameFile (joblib) reads across frames the same way."""
    import lz4.frame  # type: ignore[import-untyped,import-not-found,unused-ignore]

    payload = _BINARY
    return Attack("compressed", "model.joblib", lz4.frame.compress(payload[:5]) + lz4.frame.compress(payload[5:]),
                  "joblib", "lz4-split")


def joblib_dtype_five_item_state() -> Attack:
    """numpy reads a 5-item dtype state (no version) with the size at index 3: V4 becomes V12. The scanner took
    the size from the type string and lost the stream. Missed before joblib.layout mirrored arraydescr_setstate."""
    from tests.oracle.attacks import _state, joblib_dtype_state_file

    return Attack("joblib-dtype", "five.joblib", joblib_dtype_state_file("V4", _state(None, 5, 12, 0), 2, 12, 4),
                  "joblib", "five-item")


def joblib_dtype_version1_state() -> Attack:
    """A 6-item state (version 1): the size is at index 4; index 5 (the scanner's guess) is the alignment."""
    from tests.oracle.attacks import _state, joblib_dtype_state_file

    return Attack("joblib-dtype", "v1.joblib", joblib_dtype_state_file("V4", _state(1, 6, 12, 0), 2, 12, 1),
                  "joblib", "version-1")


def joblib_wrapper_by_reconstructor() -> Attack:
    """A wrapper made by copyreg._reconstructor (as protocols 0 and 1 write objects): the scanner did not know it
    for a wrapper, read its array bytes as opcodes and stopped at the STOP planted there; joblib read on to the
    payload. (Real protocol-0/1 joblib files were flagged MW105 for the same reason.)"""
    from tests.oracle.attacks import joblib_wrapper_file

    return Attack("joblib-wrapper", "p1.joblib", joblib_wrapper_file("reconstructor", 9), "joblib", "reconstructor")


def joblib_wrapper_by_call() -> Attack:
    """A wrapper made by calling the class: __init__ sets an alignment padding the BUILD state never mentions."""
    from tests.oracle.attacks import joblib_wrapper_file

    return Attack("joblib-wrapper", "call.joblib", joblib_wrapper_file("call", 9, 3), "joblib", "call")


def joblib_wrapper_inside_object_array() -> Attack:
    """joblib unpickles an object array with a plain pickle._Unpickler: a NumpyArrayWrapper in there is followed by
    no array bytes, and the 'array bytes' the scanner skipped ran as opcodes. (The nested pickle is now read
    without joblib's layout.)"""
    payload = b"0" + call(_FILE_HANDLER, sstr(MARKER))
    inner = b"\x80\x04" + _wrapper(random.Random(5), len(payload), "u1", 1) + payload + b"."  # noqa: S311
    outer = b"(" + _wrapper(random.Random(6), 1, "u1", 1) + b"\x00" \
        + _wrapper(random.Random(7), 1, "O", 8) + inner + b"l"  # noqa: S311
    return Attack("joblib-layout", "nested.joblib", wrap(outer, 4), "joblib", "wrapper-in-object-array")


def joblib_wrapper_by_class_change() -> Attack:
    """An argparse.Namespace whose BUILD slot state sets __class__ to NumpyArrayWrapper: joblib then reads array
    bytes after it, the scanner did not (MW104 now: a slot state setting globals under keys not kept)."""
    from tests.oracle.attacks import joblib_wrapper_file

    return Attack("joblib-wrapper", "cls.joblib", joblib_wrapper_file("class_change", 9), "joblib", "class-change")


def joblib_object_array_renumbered_memo() -> Attack:
    """The object array's pickle memoises builtins.list as its key 0 and calls memo 0: joblib (fresh memo) calls
    list, pickle.load (one memo, numbered on) calls the outer pickle's key 0, an imported FileHandler."""
    wrapper = _wrapper(random.Random(8), 1, "O", 8)  # noqa: S311 - reproducible test data
    region = glob("builtins", "list") + b"\x94" + b"0" + b"h\x00(" + sstr(MARKER) + b"tR0"
    body = _FILE_HANDLER + b"\x94" + b"0" + b"(" + wrapper + b"\x80\x04" + region + b"N." + b"l"
    return Attack("joblib-layout", "renumber.pkl", wrap(body, 4), "pickle", "object-renumber")


def protocol0_payload_then_unimportable_global() -> Attack:
    """A protocol-0 pickle named data.bin: the payload, then a global no loader can import ('foo bar'). The
    content probe wanted every global to look like an identifier, called the file "not a pickle", and a folder
    scan skipped it (no check applies). The first global decides now, as the loader imports in order."""
    data = call(_FILE_HANDLER, sstr(MARKER)) + b"0cfoo bar\nbaz\n."
    return Attack("probe", "data.bin", data, "pickle", "unimportable-after")


BUILDERS: list[Callable[[], Attack]] = [
    joblib_raw_bytes_as_opcodes, joblib_f8_bytes_in_torch, joblib_object_array_memo, joblib_layout_gzip_pandas,
    zstd_second_frame, lz4_second_frame, joblib_dtype_five_item_state, joblib_dtype_version1_state,
    joblib_wrapper_by_reconstructor, joblib_wrapper_by_call, joblib_wrapper_inside_object_array,
    joblib_wrapper_by_class_change, joblib_object_array_renumbered_memo,
    protocol0_payload_then_unimportable_global,
]
