"""Every opcode of pickle protocols 0-5, and what CPython's C unpickler (``Modules/_pickle.c``, the one
``pickle.load``, torch, joblib, numpy and pandas use) accepts for each. The machine mirrors these rules;
where the pure-Python ``pickle._Unpickler`` accepts more (it is a fallback some tools use), the union is
accepted, because the scanner must never stop reading where some loader goes on running code.

Where our reading is *more* lenient than the loader (we go on where it would fail), the scanner can only
report more than runs, never less; those places are marked "lenient".

=====  ================  ================================================================================
byte   name              what _pickle.c does (and what the machine does)
=====  ================  ================================================================================
``(``  MARK              push a mark (the "fence": pops below it are underflows)
``.``  STOP              pop the result (underflow if the stack is empty at the fence). pickle.load stops:
                         data after STOP is never read by it; torch's legacy format and our stacked-pickle
                         reading go on with the next pickle
``0``  POP               a mark sitting at the top is popped instead of a value
``1``  POP_MARK          drop everything down to the last mark
``2``  DUP               duplicate the top (lenient: we do not check the fence)
``F``  FLOAT             line; ``PyOS_string_to_double`` then the rest must be ``\\n`` or NUL (no spaces,
                         no ``_``, overflow is an error). Python's loader: ``float(line)``. Union accepted
``I``  INT               line of at least one byte; ``strtol(s, 0)`` (C rules: leading space, sign, ``0x``
                         hex, a leading ``0`` means *octal*: ``010`` is 8), accepted if it stops at the
                         newline or at a NUL (``1\\0junk`` is 1). Otherwise ``int(s, 0)`` (``1_000``,
                         ``0o17``, ``0b1``). ``00``/``01`` (any 2-byte value 0/1, e.g. ``+0``) are bools
``J``  BININT            4-byte signed little-endian
``K``  BININT1           1-byte unsigned
``L``  LONG              line; a final ``L`` is dropped; then ``int(s, 0)`` on the text up to the first NUL
``M``  BININT2           2-byte unsigned
``N``  NONE
``P``  PERSID            line (ASCII) handed to ``persistent_load`` (torch legacy storages; plain pickle
                         raises)
``Q``  BINPERSID         pops the id and hands it to ``persistent_load``
``R``  REDUCE            pops args, callable; pushes ``callable(*args)``: a call
``S``  STRING            line, must be quoted at both ends with the same quote; ``escape_decode`` of the
                         inside (bad escapes are an error); then decoded with the loader's encoding
                         (ASCII by default; lenient: we decode latin-1 as numpy/joblib/torch ask)
``T``  BINSTRING         4-byte *signed* length (negative is an error), bytes, decoded as STRING
``U``  SHORT_BINSTRING   1-byte length
``V``  UNICODE           line decoded with ``raw_unicode_escape``; a bad escape is an error
``X``  BINUNICODE        4-byte length, UTF-8 with ``surrogatepass``
``a``  APPEND            ``list.append`` or, for other objects, ``obj.append`` looked up on the instance
``b``  BUILD             ``inst.__setstate__(state)`` if the instance has one (looked up on the instance,
                         so an earlier BUILD can plant it), else ``__dict__`` update and ``setattr`` for
                         slot state
``c``  GLOBAL            two lines, module and name (UTF-8); ``find_class``; protocol < 3 maps Python 2
                         names; protocol >= 4 resolves dotted names
``d``  DICT              dict of the items above the mark (odd count is an error)
``e``  APPENDS           ``list.extend`` or ``obj.extend``/``obj.append`` looked up on the instance
``g``  GET               line, ``int(s, 10)`` (spaces and ``_`` allowed, NUL ends it); missing key: error
``h``  BINGET            1-byte key
``i``  INST              two lines (ASCII); args above the mark; ``cls(*args)``: a call
``j``  LONG_BINGET       4-byte key
``l``  LIST              list of the items above the mark
``o``  OBJ               class and args above the mark; ``cls(*args)`` (or ``cls.__new__``): a call
``p``  PUT               line, ``int(s, 10)``; negative keys are an error
``q``  BINPUT            1-byte key
``r``  LONG_BINPUT       4-byte key
``s``  SETITEM           ``d[k] = v`` (``__setitem__`` of the target's type)
``t``  TUPLE             tuple of the items above the mark
``u``  SETITEMS          pairs above the mark; odd count is an error
``}``  EMPTY_DICT
``]``  EMPTY_LIST
``)``  EMPTY_TUPLE
0x80   PROTO             1 byte, at most 5
0x81   NEWOBJ            ``cls.__new__(cls, *args)``: runs the class's code; a call
0x82   EXT1              1-byte code looked up in the *loader's* copyreg extension registry (code 0 is
0x83   EXT2              an error; EXT4 is signed, codes <= 0 are errors). The registry is empty in a
0x84   EXT4              fresh interpreter: an unregistered code is reported as unresolved
0x85   TUPLE1..          tuples of the top 1-3 items (fence checked)
0x87   TUPLE3
0x88   NEWTRUE
0x89   NEWFALSE
0x8a   LONG1             1-byte length, little-endian two's complement
0x8b   LONG4             4-byte signed length (negative is an error)
0x8c   SHORT_BINUNICODE  1-byte length, UTF-8 ``surrogatepass``
0x8d   BINUNICODE8       8-byte length
0x8e   BINBYTES8         8-byte length
0x8f   EMPTY_SET
0x90   ADDITEMS          ``set.add`` or ``obj.add`` looked up on the instance
0x91   FROZENSET         frozenset of the items above the mark
0x92   NEWOBJ_EX         ``cls.__new__(cls, *args, **kwargs)``: a call
0x93   STACK_GLOBAL      pops name and module, both must be ``str``; ``find_class``
0x94   MEMOIZE           memo[len(memo)] = top
0x95   FRAME             8-byte length; C only checks that so many bytes can be read and then reads on,
                         ignoring frame boundaries (opcodes may straddle them). We read on the same way
                         (lenient: a frame longer than the data is not an error here)
0x96   BYTEARRAY8        8-byte length
0x97   NEXT_BUFFER       out-of-band buffer; without ``buffers=`` the loader fails (lenient: we go on)
0x98   READONLY_BUFFER   makes the top a read-only view
``B``  BINBYTES          4-byte length
``C``  SHORT_BINBYTES    1-byte length
``G``  BINFLOAT          8-byte big-endian double
=====  ================  ================================================================================
"""

from __future__ import annotations

import codecs
import re

# Every opcode byte of protocols 0-5 (ord of each table row above).
VALID_OPCODES = frozenset(b"()012.FIJKLMNPQRSTUVXabcdeghijlopqrstu}]BCG" + bytes(range(0x80, 0x99)))
# Opcodes that import, call or hand data to persistent_load; PROTO cannot appear inside a pickle.
IMPURE_OPCODES = frozenset(b"c\x93io\x81\x92Rb\x82\x83\x84PQ\x80")


class LiteralError(ValueError):
    """A text argument that the loader rejects too."""


# strtol(s, &end, 0) as C does it: leading isspace, sign, then 0x-hex, 0-octal or decimal digits.
_STRTOL = re.compile(rb"[ \t\n\v\f\r]*[+-]?(?:0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")
_LONG_MIN, _LONG_MAX = -(1 << 63), (1 << 63) - 1  # C long on LP64 platforms


def parse_int(line: bytes) -> int | bool:
    """INT's argument (the line without its newline), as ``load_int`` reads it."""
    if not line:
        raise LiteralError("INT argument is empty")
    text = line.split(b"\0", 1)[0]
    match = _STRTOL.match(text)
    if not text or (match is not None and match.end() == len(text)):
        # No digits at all leaves strtol's end at the start: a NUL there is accepted as 0.
        value = 0 if match is None else (
            _octal_value(match.group()) if _octal(match.group()) else int(match.group().strip(), 0))
        if _LONG_MIN <= value <= _LONG_MAX:
            if len(line) == 2 and value in (0, 1):
                return value == 1
            return value
    try:
        return int(text, 0)  # PyLong_FromString(s, NULL, 0): what C falls back to
    except ValueError:
        pass
    try:
        return int(line, 0)  # the pure-Python loader: int(line, 0)
    except ValueError:
        raise LiteralError("invalid INT literal") from None


def _octal(token: bytes) -> bool:
    digits = token.strip().lstrip(b"+-")
    return len(digits) > 1 and digits[:1] == b"0" and digits[1:2] not in (b"x", b"X")


def _octal_value(token: bytes) -> int:
    token = token.strip()
    sign = -1 if token[:1] == b"-" else 1
    return sign * int(token.lstrip(b"+-"), 8)


def parse_long(line: bytes) -> int:
    """LONG's argument: a final ``L`` dropped, then ``int(s, 0)`` up to the first NUL (C) or of all (Python)."""
    if line.endswith(b"L"):
        line = line[:-1]
    try:
        return int(line.split(b"\0", 1)[0], 0)
    except ValueError:
        raise LiteralError("invalid LONG literal") from None


_STRTOD = re.compile(rb"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf(?:inity)?|nan)", re.I)


def check_float(line: bytes) -> None:
    """FLOAT's argument: C's ``PyOS_string_to_double`` up to a NUL, or Python's ``float(line)``."""
    text = line.split(b"\0", 1)[0]
    if _STRTOD.fullmatch(text) is not None:
        return
    try:
        float(line)
    except ValueError:
        raise LiteralError("invalid FLOAT literal") from None


def parse_memo_key(line: bytes) -> int:
    """GET/PUT's argument: ``int(s, 10)`` up to the first NUL (C) or of the whole line (Python)."""
    for text in (line.split(b"\0", 1)[0], line):
        try:
            return int(text, 10)
        except ValueError:
            continue
    raise LiteralError("invalid memo key")


def decode_string(raw: bytes) -> str:
    """STRING's argument: quoted at both ends with the same quote, then backslash escapes."""
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[:1] in (b"'", b'"'):
        try:
            return codecs.escape_decode(raw[1:-1])[0].decode("latin-1")
        except ValueError as exc:
            raise LiteralError(f"STRING argument has a bad escape ({exc})") from None
    raise LiteralError("STRING argument is not quoted")


def decode_unicode(raw: bytes) -> str:
    """UNICODE's argument: ``raw_unicode_escape``; an escape that does not decode is the loader's error too."""
    try:
        return raw.decode("raw_unicode_escape")
    except UnicodeDecodeError as exc:
        raise LiteralError(f"UNICODE argument does not decode ({exc.reason})") from None
