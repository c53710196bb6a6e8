"""The pickle machine reads as CPython's unpickler reads (checked against the real pickle.loads on inputs
that import nothing), and calls through helpers count as calls of what they receive."""

from __future__ import annotations

import io
import pickle
import pickletools
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlwarden.findings import Severity
from mlwarden.models.classify import dangerous_reason, default_safe_globals
from mlwarden.models.pickle import analyse
from mlwarden.models.pickle.calls import HIGHER_ORDER, LOADERS, encode_like_loader
from mlwarden.models.pickle.opcodes import LiteralError, check_float, parse_int, parse_long, parse_memo_key
from tests.conftest import rules, scan_bytes, worst
from tests.oracle.mutations import glob, ustr

_LITERAL_CHARS = st.sampled_from(list("0123456789xXoObBaAfF_+- \t\rL.eEin\x00"))
_LITERALS = st.lists(_LITERAL_CHARS, max_size=8).map("".join).map(str.encode)


def _loads(data: bytes) -> tuple[bool, object]:
    """The real C unpickler on a pickle that imports nothing (safe to load)."""
    try:
        return True, pickle.loads(data)  # noqa: MW705 - literals only, no globals: nothing can run
    except Exception:
        return False, None


@settings(max_examples=400, deadline=None)
@given(_LITERALS)
def test_int_literals_read_as_the_c_unpickler(line: bytes) -> None:
    ok, value = _loads(b"I" + line + b"\n.")
    try:
        ours: object = parse_int(line)
    except LiteralError:
        assert not ok, line
        return
    if ok:
        assert ours == value, line
        assert type(ours) is type(value), line


@settings(max_examples=400, deadline=None)
@given(_LITERALS)
def test_long_literals_read_as_the_c_unpickler(line: bytes) -> None:
    ok, value = _loads(b"L" + line + b"\n.")
    try:
        ours = parse_long(line)
    except LiteralError:
        assert not ok, line
        return
    if ok:
        assert ours == value, line


@settings(max_examples=300, deadline=None)
@given(_LITERALS)
def test_float_and_memo_key_literals_are_never_stricter_than_the_loader(line: bytes) -> None:
    if _loads(b"F" + line + b"\n.")[0]:
        check_float(line)  # must not raise
    if _loads(b"N" + b"p" + line + b"\n" + b"0g" + line + b"\n.")[0]:
        parse_memo_key(line)


@pytest.mark.parametrize("literal", [b"I0x1f\n", b"I010\n", b"I1_000\n", b"I7\x00junk\n", b"L1_000L\n",
                                     b"L0o17\n", b"F1.5\x00x\n", b"Finf\n"])
def test_odd_literal_before_a_payload_still_shows_the_payload(tmp_path: Path, literal: bytes) -> None:
    data = literal + b"0" + b"cos\nsystem\n(S'touch x'\ntR."
    assert _loads(literal + b".")[0]  # the loader accepts the literal
    findings = scan_bytes(tmp_path, data)
    assert worst(findings) == Severity.CRITICAL
    assert "MW105" not in rules(findings)


@pytest.mark.parametrize("line", [b"V\\u12\n", b"V\\U00110000\n", b"S'\\xZZ'\n", b"S'unquoted\n"])
def test_text_the_loader_rejects_is_a_parse_finding_not_a_crash(tmp_path: Path, line: bytes) -> None:
    assert not _loads(line + b".")[0]
    data = b"cos\nsystem\n" + line + b"."
    findings = scan_bytes(tmp_path, data)
    assert "MW105" in rules(findings)
    assert worst(findings) == Severity.CRITICAL  # the import before the break still counts


def test_ext_code_zero_is_a_parse_error() -> None:
    analysis = analyse(io.BytesIO(b"\x80\x02\x82\x00."))
    assert [p.kind for p in analysis.problems] == ["unparsable"]


def test_a_broken_second_pickle_is_reported(tmp_path: Path) -> None:
    # torch's legacy format and stream readers load pickle after pickle; the second one breaks.
    data = b"\x80\x02N." + b"\x80\x02" + glob("pathlib", "PosixPath") + b"(" + b"\xff"
    findings = scan_bytes(tmp_path, data)
    assert "MW105" in rules(findings)
    assert any("pickle #2" in f.message for f in findings)


def test_trailing_bytes_that_never_form_a_pickle_are_not_reported() -> None:
    analysis = analyse(io.BytesIO(b"\x80\x02N." + b"d\x00\x00\x00\x00\x00\x00\x00raw storage bytes"))
    assert analysis.problems == []
    assert analysis.pickles == 1


def test_codecs_encode_honours_its_encoding() -> None:
    text = "\u0100abc"
    assert encode_like_loader("_codecs.encode", (text,)) == text.encode("utf-8")  # the default is UTF-8
    assert encode_like_loader("_codecs.encode", (text, "utf-16-le")) == text.encode("utf-16-le")
    assert encode_like_loader("_codecs.encode", ("abc", "latin1")) == b"abc"
    assert encode_like_loader("_codecs.encode", (text, "latin1")) is None  # the loader raises
    assert encode_like_loader("_codecs.encode", ("abc", "rot13")) is None  # not a text encoding
    inner = "X\x05\x00\x00\x00\u0100abc0cos\nsystem\n(S'touch x'\ntR."
    data = (b"\x80\x04" + glob("pickle", "loads") + b"(" + glob("_codecs", "encode") + b"(" + ustr(inner)
            + b"tRtR.")
    nested = analyse(io.BytesIO(data)).nested
    assert [n.data for n in nested] == [inner.encode("utf-8")]
    assert "os.system" in analyse(io.BytesIO(nested[0].data)).globals or \
        "posix.system" in analyse(io.BytesIO(nested[0].data)).globals


_TOUCH = glob("pathlib", "PosixPath.touch")
_PATH = glob("pathlib", "PosixPath") + b"(" + ustr("x") + b"tR"


@pytest.mark.parametrize(("helper", "args"), [
    ("torch._tensor._rebuild_from_type_v2", _TOUCH + glob("torch", "Tensor") + b"(" + _PATH + b"t}"),
    ("torch._tensor._rebuild_from_type", _TOUCH + glob("torch", "Tensor") + b"(" + _PATH + b"t}"),
    ("numpy.random._pickle.__randomstate_ctor", _PATH + _TOUCH),
    ("numpy.random._pickle.__generator_ctor", _PATH + _TOUCH),
    ("numpy.random._pickle.__bit_generator_ctor", _TOUCH),
    ("copyreg._reconstructor", glob("pathlib", "PosixPath") + _TOUCH + b"N"),
    ("copyreg.__newobj__", _TOUCH),
    ("collections.defaultdict", _TOUCH),
    ("dill._dill._create_array", _TOUCH + b"(" + _PATH + b"tN"),
    ("numpy.core.multiarray._reconstruct", _TOUCH + b"(K\x00tC\x01b"),
])
def test_a_safe_helper_is_only_as_safe_as_what_it_calls(tmp_path: Path, helper: str, args: bytes) -> None:
    module, name = helper.rsplit(".", 1)
    data = b"\x80\x04" + glob(module, name) + b"(" + args + b"tR."
    findings = scan_bytes(tmp_path, data)
    touch = [f for f in findings if "pathlib.PosixPath.touch" in f.message]
    assert touch, findings
    assert touch[0].rule == "MW102"
    assert f"through {helper}" in touch[0].message


def test_a_resolver_with_a_constant_resolves_like_global(tmp_path: Path) -> None:
    data = b"\x80\x04" + glob("torch._utils", "_import_dotted_name") + b"(" + ustr("os.system") + b"tR"
    data += b"(" + ustr("touch x") + b"tR."
    findings = scan_bytes(tmp_path, data)
    assert worst(findings) == Severity.CRITICAL
    assert any("os.system" in f.message for f in findings)


def test_newobj_of_an_unknown_class_is_high(tmp_path: Path) -> None:
    data = b"\x80\x04" + glob("mypkg.models", "Thing") + b")\x81."
    findings = scan_bytes(tmp_path, data)
    assert [(f.rule, f.severity) for f in findings] == [("MW102", Severity.HIGH)]


@pytest.mark.parametrize("decoys", [0, 70, 300])
def test_no_number_of_decoys_hides_a_planted_setstate(tmp_path: Path, decoys: int) -> None:
    items = b"".join(ustr(f"k{i}") + b"N" for i in range(decoys))
    obj = glob("argparse", "Namespace") + b")R"
    data = b"\x80\x04" + obj + b"}(" + items + b"u(" + ustr("__setstate__") + _TOUCH + b"ub" + _PATH + b"b."
    touch = [f for f in scan_bytes(tmp_path, data) if "PosixPath.touch" in f.message]
    assert [f.rule for f in touch] == ["MW102"]


def test_protocol_0_dict_of_any_size_keeps_the_plant(tmp_path: Path) -> None:
    items = b"".join(b"S'k" + str(i).encode() + b"'\nN" for i in range(200))
    data = (b"cargparse\nNamespace\n)R(" + items + b"S'__setstate__'\n" + b"cpathlib\nPosixPath.touch\n" + b"db"
            + b"S'x'\nb.")
    touch = [f for f in scan_bytes(tmp_path, data) if "PosixPath.touch" in f.message]
    assert [f.rule for f in touch] == ["MW102"]


def test_state_memoised_before_its_object_keeps_its_globals(tmp_path: Path) -> None:
    state = b"}q\x05(" + ustr("__setstate__") + _TOUCH + b"u0"
    data = b"\x80\x04" + state + glob("argparse", "Namespace") + b")Rh\x05b" + _PATH + b"b."
    touch = [f for f in scan_bytes(tmp_path, data) if "PosixPath.touch" in f.message]
    assert [f.rule for f in touch] == ["MW102"]


# --- the safe list ----------------------------------------------------------------------------------------------
_NOT_PURE = ("sympy", "doctest", "torch.fx", "joblib.externals.loky", "numpy.memmap", "numpy.load", "pandas.read_",
             "torch.storage._load_from_bytes", "torch.load", "torch.hub", "builtins.eval", "builtins.exec",
             "builtins.getattr", "builtins.__import__", "builtins.open", "__main__.")


def test_safe_list_holds_no_loader_evaluator_or_file_opener() -> None:
    safe = default_safe_globals()
    assert not [name for name in safe if name.startswith(_NOT_PURE)]
    assert not safe & LOADERS
    assert not [name for name in safe if dangerous_reason(name) is not None]


@pytest.mark.parametrize("name", ["sympy.sympify", "doctest.debug_script", "torch.fx.graph_module.reduce_graph_module",
                                  "joblib.externals.loky.backend.popen_loky_posix.Popen", "numpy.memmap",
                                  "pandas.read_csv", "numpy.load"])
def test_known_evaluators_and_file_openers_are_dangerous(name: str) -> None:
    assert dangerous_reason(name) is not None


def test_every_higher_order_helper_is_known() -> None:
    # Each entry names a real helper; on the safe list or not, its received callables are counted.
    assert all("." in name for name in HIGHER_ORDER)
    assert "torch._utils._import_dotted_name" not in default_safe_globals()


def test_frame_whose_length_disagrees_is_read_on_like_c(tmp_path: Path) -> None:
    body = b"N0" + glob("os", "system") + ustr("touch x") + b"\x85R."
    data = b"\x80\x04\x95" + struct.pack("<Q", 2) + body
    findings = scan_bytes(tmp_path, data)
    assert worst(findings) == Severity.CRITICAL


# Opcode bytes that cannot import or call anything (and digits, quotes, newlines for their arguments).
_IMPURE = frozenset(b"c\x93io\x81\x92Rb\x82\x83\x84PQ")
_PURE_OPCODES = set(b"()012.FIJKLMNSTUVXadeghjlpqrstu}]BCG\x80\x85\x86\x87\x88\x89\x8a\x8b\x8c\x8d\x8e"
                    b"\x8f\x90\x91\x94\x95\x96\x97\x98")
_PURE_ALPHABET = sorted(_PURE_OPCODES | set(range(0x30, 0x3A)) | set(b"'\"\n\x00\x01\x02\x04x_ L"))


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(_PURE_ALPHABET), min_size=1, max_size=40).map(bytes))
def test_never_stricter_than_the_c_unpickler_on_pure_data_streams(data: bytes) -> None:
    assert not _IMPURE & set(data)  # nothing in the stream can import or call: safe to load here
    ok, _ = _loads(data)
    analysis = analyse(io.BytesIO(data))
    if ok:
        assert analysis.pickles >= 1, data
        assert not [p for p in analysis.problems if p.kind == "unparsable" and analysis.pickles == 0], data


_ALL_OPCODES = sorted({op.code.encode("latin-1")[0] for op in pickletools.opcodes})


@pytest.mark.parametrize("op", _ALL_OPCODES)
def test_every_opcode_of_protocols_0_to_5_is_known(op: int) -> None:
    analysis = analyse(io.BytesIO(bytes([op])))
    assert not any("invalid opcode" in p.message for p in analysis.problems)


def test_the_opcode_table_is_the_standard_librarys() -> None:
    from mlwarden.models.pickle.opcodes import VALID_OPCODES

    assert set(VALID_OPCODES) == set(_ALL_OPCODES)


def test_names_memoised_early_survive_memo_evictions() -> None:
    from mlwarden.models.pickle.memo import MEMO_CHEAP

    filler = b"".join(ustr(f"s{i}") + b"\x940" for i in range(MEMO_CHEAP + 10))
    head = b"\x80\x04" + ustr("pathlib") + b"\x94" + ustr("PosixPath.touch") + b"\x9400" + filler
    analysis = analyse(io.BytesIO(head + b"h\x00h\x01\x93(" + ustr("x") + b"tR."))
    assert analysis.globals["pathlib.PosixPath.touch"].called
    assert analysis.problems == []
    late = b"j" + struct.pack("<I", MEMO_CHEAP // 2)  # forgotten: fails closed if used as a name
    broken = head + late + late + b"\x93."
    assert any("forgotten" in p.message for p in analyse(io.BytesIO(broken)).problems)


def test_a_class_of_the_loading_script_is_a_review_and_a_call_of_one_is_high(tmp_path: Path) -> None:
    # an object pickled from a notebook: NEWOBJ of __main__.Net with its attributes as BUILD state
    newobj = b"\x80\x02c__main__\nNet\n)\x81}X\x05\x00\x00\x00layerK\x03sb."
    found = scan_bytes(tmp_path, newobj, "net.pkl")
    assert rules(found) == {"MW102"}
    assert worst(found) == Severity.MEDIUM
    # the same name called (REDUCE): the loading script's `system`, say, if it imported one
    called = scan_bytes(tmp_path, b"\x80\x02c__main__\nsystem\nX\x02\x00\x00\x00idR.", "call.pkl")
    assert worst(called) == Severity.HIGH
    # and a class from any importable module stays high: the pickle chooses what it instantiates
    other = scan_bytes(tmp_path, newobj.replace(b"__main__", b"somepkg."[:-1]), "other.pkl")
    assert worst(other) == Severity.HIGH
