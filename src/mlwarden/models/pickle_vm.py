"""A symbolic pickle machine: walks the opcode stream, never imports or executes anything.

It keeps just enough of the stack and memo to resolve every imported name (GLOBAL, STACK_GLOBAL through
the memo, INST, OBJ, EXT) and to know what is *called* (REDUCE, NEWOBJ, NEWOBJ_EX, INST, OBJ, BUILD).
Values that cannot matter for that (numbers in bulk, long strings, tensors' bytes) collapse into one
shared sentinel, so memory stays flat on multi-gigabyte pickles.

We do not use ``pickletools.genops``: it is several times slower, builds a Python object per opcode and
cannot skip the raw array buffers that joblib writes inside its pickle stream. fickling's interpreter
keeps the whole program as an AST and does not finish on large files (see research/model-scanners.md §3).
"""

from __future__ import annotations

import codecs
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

__all__ = [
    "OTHER",
    "UNKNOWN",
    "Analysis",
    "Global",
    "Instance",
    "NestedPayload",
    "Problem",
    "Usage",
    "analyse",
]


class _Sentinel:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


OTHER = _Sentinel("OTHER")  # plain data whose value does not matter
UNKNOWN = _Sentinel("UNKNOWN")  # a value the machine forgot (memo budget): could be anything


@dataclass(frozen=True, slots=True)
class Global:
    module: str
    name: str

    @property
    def dotted(self) -> str:
        return f"{self.module}.{self.name}"


@dataclass(slots=True, eq=False)
class Instance:
    """The result of calling or instantiating something."""

    func: object
    args: tuple[object, ...] = ()
    taint: set[str] = field(default_factory=set)


@dataclass(slots=True, eq=False)
class _Tainted:
    """A container that holds globals or call results (only their names are kept)."""

    names: set[str]


@dataclass(slots=True, eq=False)
class _DictVal:
    """A small dict being built as the state of an object (kept to read joblib array headers)."""

    items: dict[object, object] = field(default_factory=dict)


@dataclass
class Usage:
    """How one global is used in one stream."""

    offset: int
    called: bool = False
    instantiated: bool = False
    via: str = ""


@dataclass(frozen=True)
class Problem:
    kind: str  # "unparsable", "unresolved", "budget", "nested-unreadable"
    message: str
    offset: int


@dataclass(frozen=True)
class NestedPayload:
    """Bytes handed to a deserialiser inside the pickle; the caller scans them as a file."""

    loader: str
    offset: int
    data: bytes


@dataclass
class Analysis:
    globals: dict[str, Usage] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    nested: list[NestedPayload] = field(default_factory=list)
    pickles: int = 0


class _Budget(Exception):
    pass


class _Parse(Exception):
    pass


class _Impure(Exception):
    """A detached tail (see check_detached_tail) contains an opcode that imports or calls."""


_INT4 = struct.Struct("<i")
_UINT4 = struct.Struct("<I")
_UINT8 = struct.Struct("<Q")

# Loaders whose bytes argument is itself a serialised object; the payload is extracted and scanned.
LOADERS = frozenset({
    "pickle.loads", "pickle.load", "_pickle.loads", "_pickle.load", "cPickle.loads", "pickle._loads",
    "dill.loads", "dill._dill.loads", "cloudpickle.loads", "joblib.load", "numpy.load",
    "torch.load", "torch.serialization.load", "torch.storage._load_from_bytes", "marshal.loads",
})
# Safe helpers that instantiate their first argument the way NEWOBJ does.
_INSTANTIATORS = frozenset({"copyreg._reconstructor", "copyreg.__newobj__", "copyreg.__newobj_ex__"})
# Safe helpers whose result is the bytes of their first argument (protocol 0-2 encodes bytes this way).
_BYTES_MAKERS = frozenset({"_codecs.encode", "builtins.bytes", "builtins.bytearray"})

_KEEP_STR = 512  # strings up to this length are kept: they may name a module or attribute
_KEEP_BYTES = 4096
_KEEP_LARGE_TOTAL = 256 * 1024 * 1024  # larger payloads kept (for nested scanning) per stream, at most
_MEMO_CHEAP = 131_072  # memoised strings and plain tuples kept at most (then forgotten)
_VALID_OPCODES = frozenset(b"()0123.FIJKLMNPQRSTUVXabcdeghijlopqrstu}]BCG" + bytes(range(0x80, 0x99)))
_PLAIN = (int, str, bytes, float)
_NUMBERS = (int, float, bool)
_TEXT = (str, bytes)


def _names_in(value: object) -> set[str]:
    """Names of globals reachable from a stack value (only what the machine kept)."""
    if isinstance(value, Global):
        return {value.dotted}
    if isinstance(value, Instance):
        names = set(value.taint)
        if isinstance(value.func, Global):
            names.add(value.func.dotted)
        return names
    if isinstance(value, _Tainted):
        return set(value.names)
    if isinstance(value, tuple):
        out: set[str] = set()
        for item in value:
            out |= _names_in(item)
        return out
    if isinstance(value, _DictVal):
        out = set()
        for key, item in value.items.items():
            out |= _names_in(key) | _names_in(item)
        return out
    return set()


def _collapse(items: list[object]) -> object:
    """What a new container built from ``items`` becomes on the stack."""
    names: set[str] = set()
    for item in items:
        if item is OTHER or item.__class__ in _PLAIN or item is None:
            continue
        names |= _names_in(item)
    return _Tainted(names) if names else OTHER


def _decoded(data: bytes, text: bool) -> object:
    if not text:
        return data
    try:
        return data.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        raise _Parse("invalid UTF-8 in a string") from None


def _decode_line_str(raw: bytes) -> object:
    """STRING's argument: a quoted Python literal. Decoded like the unpickler does (escape codecs)."""
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[:1] in (b"'", b'"'):
        body = raw[1:-1]
        if len(body) > _KEEP_STR:
            return OTHER
        try:
            return codecs.escape_decode(body)[0].decode("latin-1")
        except (ValueError, UnicodeDecodeError):
            return OTHER
    raise _Parse("STRING argument is not quoted")


def analyse(
    stream: BinaryIO,
    *,
    base_offset: int = 0,
    max_pickles: int | None = None,
    max_memo: int = 1_000_000,
    max_stack: int = 10_000_000,
    deadline: float | None = None,
    extension_registry: dict[int, tuple[str, str]] | None = None,
    on_joblib_array: Callable[[BinaryIO, int], None] | None = None,
) -> Analysis:
    """Walk every pickle in ``stream`` (several may be stacked) and report what they import and call.

    ``stream`` is read sequentially, in chunks; nothing is seeked. ``on_joblib_array`` is told how many
    raw array bytes follow a joblib NumpyArrayWrapper (or -1 for an object array, whose nested pickle
    follows); without it the machine skips them itself.
    """
    result = Analysis()
    machine = _Machine(stream, result, base_offset, max_memo, max_stack, deadline,
                       extension_registry if extension_registry is not None else _default_extensions())
    machine.run(max_pickles)
    return result


def check_detached_tail(stream: BinaryIO, *, deadline: float | None = None) -> bool:
    """Whether ``stream``, which starts at an opcode boundary *inside* a pickle, holds only data opcodes up
    to a STOP that ends the stream.

    Such a tail cannot import or call anything (no GLOBAL, STACK_GLOBAL, REDUCE, BUILD, NEWOBJ, INST, OBJ,
    EXT or PERSID), whatever the part before it left on the stack, so it can be checked on another core
    while the head is analysed in full. Any doubt (an impure opcode, an underflow, a parse error, data
    after the STOP) answers False, and the caller analyses the whole stream sequentially.
    """
    machine = _Machine(stream, Analysis(), 0, 1_000_000, 10_000_000, deadline, {})
    machine.detached = True
    try:
        machine._one_pickle()
        return not machine._fill(1)
    except (_Parse, _Budget, _Impure):
        return False


def _default_extensions() -> dict[int, tuple[str, str]]:
    # copyreg's registry is plain data in the running interpreter; reading it imports nothing new.
    import copyreg

    registry: dict[tuple[str, str], int] = copyreg._extension_registry  # type: ignore[attr-defined]
    return {code: key for key, code in registry.items()}


class _Machine:
    def __init__(self, stream: BinaryIO, result: Analysis, base: int, max_memo: int, max_stack: int,
                 deadline: float | None, extensions: dict[int, tuple[str, str]]) -> None:
        self.stream = stream
        self.result = result
        self.base = base
        self.buf = b""
        self.pos = 0
        self.consumed = 0  # bytes of the stream before buf[0]
        self.eof = False
        self.max_memo = max_memo
        self.max_stack = max_stack
        self.deadline = deadline
        self.extensions = extensions
        self.kept_large = 0
        self.detached = False

    # -- buffer ------------------------------------------------------------------------------
    def offset(self) -> int:
        return self.base + self.consumed + self.pos

    def _fill(self, need: int) -> bool:
        """Make ``need`` bytes available at ``pos``; False at end of stream."""
        buf, pos = self.buf, self.pos
        if len(buf) - pos >= need:
            return True
        if self.eof:
            return False
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise _Budget("time budget per file exceeded")
        parts = [buf[pos:]]
        have = len(buf) - pos
        while have < need:
            chunk = self.stream.read(max(need - have, 1 << 20))
            if not chunk:
                self.eof = True
                break
            parts.append(chunk)
            have += len(chunk)
        self.consumed += pos
        self.buf = b"".join(parts)
        self.pos = 0
        return len(self.buf) >= need

    def _take(self, n: int) -> bytes:
        if not self._fill(n):
            raise _Parse("pickle is truncated")
        data = self.buf[self.pos:self.pos + n]
        self.pos += n
        return data

    def _skip(self, n: int) -> None:
        """Skip n bytes without keeping them (array buffers, large strings)."""
        avail = len(self.buf) - self.pos
        if n <= avail:
            self.pos += n
            return
        n -= avail
        self.consumed += len(self.buf)
        self.buf, self.pos = b"", 0
        while n > 0:
            if self.deadline is not None and time.monotonic() > self.deadline:
                raise _Budget("time budget per file exceeded")
            chunk = self.stream.read(min(n, 1 << 22))
            if not chunk:
                self.eof = True
                raise _Parse("pickle is truncated")
            n -= len(chunk)
            self.consumed += len(chunk)

    def _line(self) -> bytes:
        while True:
            end = self.buf.find(b"\n", self.pos)
            if end >= 0:
                line = self.buf[self.pos:end]
                self.pos = end + 1
                return line
            if len(self.buf) - self.pos > 1 << 20:
                raise _Parse("text argument longer than 1 MiB")
            if not self._fill(len(self.buf) - self.pos + 1):
                raise _Parse("pickle is truncated inside a text argument")

    def _payload(self, n: int, *, text: bool) -> object:
        """A length-prefixed string or bytes argument: kept if small or a possible nested payload."""
        if n < 0:
            raise _Parse("negative length")
        if n <= (_KEEP_STR if text else _KEEP_BYTES):
            return _decoded(self._take(n), text)
        if not self._fill(1):
            raise _Parse("pickle is truncated")
        first = self.buf[self.pos]
        if (first in _VALID_OPCODES or first == 0x50) and self.kept_large + n <= _KEEP_LARGE_TOTAL:
            self.kept_large += n
            return _decoded(self._take(n), text)
        self._skip(n)
        return OTHER

    # -- recording ---------------------------------------------------------------------------
    def _use(self, name: str, offset: int, *, called: bool = False, instantiated: bool = False,
             via: str = "") -> None:
        usage = self.result.globals.get(name)
        if usage is None:
            usage = self.result.globals[name] = Usage(offset)
        if called and not usage.called:
            usage.called = True
            usage.via = via
        if instantiated:
            usage.instantiated = True

    def _problem(self, kind: str, message: str, offset: int) -> None:
        self.result.problems.append(Problem(kind, message, offset))

    def _call(self, func: object, args: object, offset: int, via: str) -> object:
        """Record a call of ``func`` with ``args``; return the symbolic result."""
        if isinstance(func, Global):
            name = func.dotted
            self._use(name, offset, called=True, via=via)
            argv = args if isinstance(args, tuple) else ()
            if name in _INSTANTIATORS and argv and isinstance(argv[0], Global):
                self._use(argv[0].dotted, offset, instantiated=True)
            if name in LOADERS:
                payload = argv[0] if argv else None
                if isinstance(payload, str):
                    payload = payload.encode("latin-1", "replace")
                if isinstance(payload, bytes) and payload:
                    self.result.nested.append(NestedPayload(name, offset, payload))
                else:
                    self._problem("nested-unreadable", f"{name} is called on data the scanner could not "
                                  "extract", offset)
            if name in _BYTES_MAKERS and argv and isinstance(argv[0], (str, bytes)):
                raw = argv[0]
                return raw.encode("latin-1", "replace") if isinstance(raw, str) else raw
            inst = Instance(func, argv if len(argv) <= 8 else ())
            if args is not OTHER and not isinstance(args, tuple):
                inst.taint |= _names_in(args)
            return inst
        if isinstance(func, Instance):
            # Calling the result of a call: e.g. getattr(obj, "system")(...). The inner call is recorded.
            inner = func.func.dotted if isinstance(func.func, Global) else "a computed value"
            self._problem("unresolved", f"calls the result of {inner}", offset)
            return Instance(func)
        self._problem("unresolved", "calls a value that is not a resolved global", offset)
        return Instance(None)

    # -- main loop ---------------------------------------------------------------------------
    def run(self, max_pickles: int | None) -> None:
        result = self.result
        while max_pickles is None or result.pickles < max_pickles:
            if not self._fill(1):
                break
            start = self.offset()
            if result.pickles and self.buf[self.pos] not in _VALID_OPCODES:
                break  # trailing data after the last pickle
            before = len(result.globals)
            try:
                self._one_pickle()
            except _Parse as exc:
                if result.pickles and len(result.globals) == before and self.offset() - start < 64:
                    # A failed *additional* pickle that showed no code: trailing data, not a payload.
                    return
                self._problem("unparsable", f"{exc} at byte {self.offset()}", self.offset())
                return
            except _Budget as exc:
                self._problem("budget", str(exc), self.offset())
                return
            except RecursionError:  # pragma: no cover - defensive; the machine does not recurse
                self._problem("budget", "nesting too deep", self.offset())
                return
            result.pickles += 1

    def _one_pickle(self) -> None:
        stack: list[object] = []
        marks: list[int] = []
        memo = _Memo(self.max_memo)
        if self.detached:
            # Unknown values and marks left by the part of the stream before us.
            stack.extend([UNKNOWN] * _DETACHED_FLOOR)
            marks.extend([_DETACHED_FLOOR] * _DETACHED_FLOOR)
            memo.detached = True

        def pop_mark() -> list[object]:
            if not marks:
                raise _Parse("MARK expected but not found")
            at = marks.pop()
            items = stack[at:]
            del stack[at:]
            return items

        try:
            self._loop(stack, marks, memo, pop_mark)
        except (IndexError, struct.error):
            raise _Parse("pickle is truncated") from None

    def _loop(self, stack: list[object], marks: list[int], memo: _Memo,
              pop_mark: Callable[[], list[object]]) -> None:
        # Hot loop: ``buf``/``pos``/``end`` are locals and are written back to ``self`` only before any
        # call that reads the stream. Opcodes are tested in the order of their frequency in real files.
        push = stack.append
        max_stack = self.max_stack
        unpack_i4 = _INT4.unpack_from
        cheap = memo.cheap
        cheap_get = cheap.get
        sym_get = memo.symbolic.get
        sym_types = _SYMBOLIC_TYPES
        buf = self.buf
        pos = self.pos
        end = len(buf)
        while True:
            if end - pos < 9:
                self.pos = pos
                if not self._fill(9) and not self._fill(1):
                    raise _Parse("pickle ended without STOP")
                buf = self.buf
                pos = self.pos
                end = len(buf)
                if len(stack) > max_stack:
                    raise _Budget("stack budget exceeded")
            op = buf[pos]
            if op == 0x68:  # BINGET
                key = buf[pos + 1]
                pos += 2
                value = cheap_get(key)
                if value is None:
                    value = sym_get(key)
                    if value is None:
                        value = memo.missing(key)
                push(value)
            elif op == 0x94:  # MEMOIZE
                pos += 1
                if not stack:
                    raise _Parse("MEMOIZE on an empty stack")
                top = stack[-1]
                if top is OTHER and memo.sparse is None:
                    memo.n += 1
                else:
                    memo.put(memo.next_key(), top)
            elif op == 0x8C:  # SHORT_BINUNICODE
                n = buf[pos + 1]
                if pos + 2 + n > end:
                    self.pos = pos + 2
                    push(self._payload(n, text=True))
                    buf = self.buf
                    pos = self.pos
                    end = len(buf)
                else:
                    try:
                        text = buf[pos + 2:pos + 2 + n].decode("utf-8", "surrogatepass")
                    except UnicodeDecodeError:
                        raise _Parse("invalid UTF-8 in a string") from None
                    push(text)
                    pos += 2 + n
                    if pos < end and buf[pos] == 0x94 and memo.sparse is None:  # fused MEMOIZE
                        pos += 1
                        if len(cheap) >= _MEMO_CHEAP:
                            cheap.clear()
                            memo.evicted = True
                        cheap[memo.n] = text
                        memo.n += 1
            elif op == 0x4B:  # BININT1
                push(buf[pos + 1])
                pos += 2
            elif op == 0x75 or op == 0x65 or op == 0x90:  # SETITEMS, APPENDS, ADDITEMS
                pos += 1
                if not marks:
                    raise _Parse("MARK expected but not found")
                at = marks.pop()
                if at < 1 or at > len(stack):
                    raise _Parse("stack underflow")
                if len(stack) > at:
                    target = stack[at - 1]
                    if target.__class__ is _DictVal and op == 0x75:
                        self._fill_dict(target, stack[at:])
                    elif not sym_types.isdisjoint(map(type, stack[at:])):
                        self._merge_into(stack, at - 1, stack[at:])
                    del stack[at:]
            elif op == 0x28:  # MARK
                marks.append(len(stack))
                pos += 1
            elif op == 0x7D or op == 0x5D or op == 0x29 or op == 0x8F:  # EMPTY_DICT/LIST/TUPLE/SET
                pos += 1
                if op == 0x7D and stack and stack[-1].__class__ is Instance:
                    push(_DictVal())
                elif op == 0x29:
                    push(())
                else:
                    push(OTHER)
                    if buf[pos] == 0x94 and memo.sparse is None:  # fused MEMOIZE of a plain container
                        pos += 1
                        memo.n += 1
            elif op == 0x47:  # BINFLOAT
                push(OTHER)
                pos += 9
            elif op == 0x4A:  # BININT
                push(unpack_i4(buf, pos + 1)[0])
                pos += 5
            elif op == 0x88 or op == 0x89:  # NEWTRUE, NEWFALSE
                push(OTHER)
                pos += 1
            elif op == 0x4D:  # BININT2
                push(buf[pos + 1] | (buf[pos + 2] << 8))
                pos += 3
            elif op == 0x71:  # BINPUT
                pos += 2
                if not stack:
                    raise _Parse("BINPUT on an empty stack")
                top = stack[-1]
                key = buf[pos - 1]
                if top is OTHER and memo.sparse is None and key == memo.n:
                    memo.n += 1
                else:
                    memo.put(key, top)
            elif op == 0x4E:  # NONE
                push(None)
                pos += 1
            elif op == 0x95:  # FRAME
                pos += 9
            elif op == 0x85 or op == 0x86 or op == 0x87:  # TUPLE1..3
                n = op - 0x84
                pos += 1
                if len(stack) < n or (marks and len(stack) - n < marks[-1]):
                    raise _Parse("stack underflow")
                items = stack[-n:]
                del stack[-n:]
                push(tuple(items))
            elif op == 0x74:  # TUPLE
                pos += 1
                items = pop_mark()
                push(tuple(items) if len(items) <= 16 else _collapse(items))
            elif op == 0x2E:  # STOP
                self.pos = pos + 1
                if not stack:
                    raise _Parse("STOP on an empty stack")
                return
            else:
                self.pos = pos + 1
                self._slow(op, stack, marks, memo, pop_mark)
                buf = self.buf
                pos = self.pos
                end = len(buf)

    @staticmethod
    def _fill_dict(target: _DictVal, items: list[object]) -> None:
        if len(items) % 2:
            raise _Parse("odd number of items for SETITEMS")
        if len(target.items) < 64:
            for i in range(0, len(items), 2):
                target.items[items[i]] = items[i + 1]

    def _slow(self, op: int, stack: list[object], marks: list[int],
              memo: _Memo, pop_mark: Callable[[], list[object]]) -> None:
        """Every opcode that is not on the fast path."""
        if self.detached and op in _IMPURE_OPCODES:
            raise _Impure
        push = stack.append
        at = self.offset() - 1

        def pop() -> object:
            if not stack or (marks and len(stack) <= marks[-1]):
                raise _Parse("stack underflow")
            return stack.pop()

        if op == 0x80:  # PROTO
            proto = self._take(1)[0]
            if proto > 5:
                raise _Parse(f"unsupported pickle protocol {proto}")
        elif op == 0x93:  # STACK_GLOBAL
            name = pop()
            module = pop()
            if isinstance(module, str) and isinstance(name, str):
                self._global(module, name, at, stack)
            else:
                what = "forgotten memo entries (memo budget)" if UNKNOWN in (module, name) else \
                    "operands that are not constant strings"
                self._problem("unresolved", f"STACK_GLOBAL with {what}", at)
                push(Instance(None))
        elif op == 0x63:  # GLOBAL
            module = self._line().decode("utf-8", "replace")
            name = self._line().decode("utf-8", "replace")
            self._global(module, name, at, stack)
        elif op == 0x52:  # REDUCE
            args = pop()
            func = pop()
            push(self._call(func, args, at, "REDUCE"))
        elif op == 0x81:  # NEWOBJ
            args = pop()
            cls = pop()
            push(self._instantiate(cls, args, at))
        elif op == 0x92:  # NEWOBJ_EX
            kwargs = pop()
            args = pop()
            cls = pop()
            inst = self._instantiate(cls, args, at)
            if isinstance(inst, Instance):
                inst.taint |= _names_in(kwargs)
            push(inst)
        elif op == 0x62:  # BUILD
            state = pop()
            if not stack:
                raise _Parse("stack underflow")
            self._build(stack[-1], state, at)
        elif op == 0x69:  # INST
            module = self._line().decode("utf-8", "replace")
            name = self._line().decode("utf-8", "replace")
            args = tuple(pop_mark())
            cls = self._resolve(module, name, at)
            push(self._call(cls, args, at, "INST"))
        elif op == 0x6F:  # OBJ
            items = pop_mark()
            if not items:
                raise _Parse("OBJ without a class")
            push(self._call(items[0], tuple(items[1:]), at, "OBJ"))
        elif op in (0x82, 0x83, 0x84):  # EXT1, EXT2, EXT4
            size = {0x82: 1, 0x83: 2, 0x84: 4}[op]
            code = int.from_bytes(self._take(size), "little", signed=op == 0x84)
            ext = self.extensions.get(code)
            if ext is None:
                self._problem("unresolved", f"EXT code {code} is not registered in copyreg; the loader's "
                              "registry decides what it imports", at)
                push(Instance(None))
            else:
                self._global(ext[0], ext[1], at, stack)
        elif op == 0x4C or op == 0x49:  # LONG, INT
            line = self._line()
            try:
                push(int(line.rstrip(b"L") or b"0", 10) if len(line) < 64 else OTHER)
            except ValueError:
                raise _Parse("invalid integer literal") from None
        elif op == 0x46:  # FLOAT
            self._line()
            push(OTHER)
        elif op == 0x8A:  # LONG1
            n = self._take(1)[0]
            push(int.from_bytes(self._take(n), "little", signed=True))
        elif op == 0x8B:  # LONG4
            n = _INT4.unpack(self._take(4))[0]
            if n < 0:
                raise _Parse("negative LONG4 length")
            self._skip(n)
            push(OTHER)
        elif op == 0x58:  # BINUNICODE
            push(self._payload(_UINT4.unpack(self._take(4))[0], text=True))
        elif op == 0x8D:  # BINUNICODE8
            push(self._payload(_UINT8.unpack(self._take(8))[0], text=True))
        elif op == 0x42:  # BINBYTES
            push(self._payload(_UINT4.unpack(self._take(4))[0], text=False))
        elif op == 0x43:  # SHORT_BINBYTES
            push(self._payload(self._take(1)[0], text=False))
        elif op == 0x8E or op == 0x96:  # BINBYTES8, BYTEARRAY8
            push(self._payload(_UINT8.unpack(self._take(8))[0], text=False))
        elif op == 0x54:  # BINSTRING
            n = _INT4.unpack(self._take(4))[0]
            value = self._payload(n, text=False)
            push(value.decode("latin-1") if isinstance(value, bytes) else value)
        elif op == 0x55:  # SHORT_BINSTRING
            value = self._payload(self._take(1)[0], text=False)
            push(value.decode("latin-1") if isinstance(value, bytes) else value)
        elif op == 0x53:  # STRING
            push(_decode_line_str(self._line()))
        elif op == 0x56:  # UNICODE
            raw = self._line()
            push(raw.decode("raw_unicode_escape") if len(raw) <= _KEEP_STR else OTHER)
        elif op == 0x6A:  # LONG_BINGET
            push(memo.get(_UINT4.unpack(self._take(4))[0]))
        elif op == 0x72:  # LONG_BINPUT
            key = _UINT4.unpack(self._take(4))[0]
            if not stack:
                raise _Parse("LONG_BINPUT on an empty stack")
            memo.put(key, stack[-1])
        elif op == 0x67:  # GET
            try:
                key = int(self._line())
            except ValueError:
                raise _Parse("invalid GET key") from None
            push(memo.get(key))
        elif op == 0x70:  # PUT
            try:
                key = int(self._line())
            except ValueError:
                raise _Parse("invalid PUT key") from None
            if not stack or key < 0:
                raise _Parse("invalid PUT")
            memo.put(key, stack[-1])
        elif op == 0x61:  # APPEND
            value = pop()
            if not stack:
                raise _Parse("stack underflow")
            _Machine._merge_into(stack, len(stack) - 1, [value])
        elif op == 0x73:  # SETITEM
            value = pop()
            key = pop()
            if not stack:
                raise _Parse("stack underflow")
            target = stack[-1]
            if isinstance(target, _DictVal):
                target.items[key] = value
            else:
                _Machine._merge_into(stack, len(stack) - 1, [key, value])
        elif op == 0x64:  # DICT
            items = pop_mark()
            if len(items) % 2:
                raise _Parse("odd number of items for DICT")
            if len(items) <= 128:
                push(_DictVal(dict(zip(items[::2], items[1::2], strict=True))))
            else:
                push(_collapse(items))
        elif op == 0x6C or op == 0x91:  # LIST, FROZENSET
            push(_collapse(pop_mark()))
        elif op == 0x30:  # POP
            if marks and len(stack) == marks[-1]:
                marks.pop()  # POP of a mark is allowed by the unpickler
            else:
                pop()
        elif op == 0x31:  # POP_MARK
            pop_mark()
        elif op == 0x32:  # DUP
            if not stack:
                raise _Parse("stack underflow")
            push(stack[-1])
        elif op == 0x50:  # PERSID
            self._line()
            push(OTHER)
        elif op == 0x51:  # BINPERSID
            pid = pop()
            push(OTHER if not _names_in(pid) else _Tainted(_names_in(pid)))
        elif op == 0x97:  # NEXT_BUFFER: out-of-band buffers; loaders without buffers= fail here
            push(OTHER)
        elif op == 0x98:  # READONLY_BUFFER
            if not stack:
                raise _Parse("stack underflow")
        else:
            raise _Parse(f"invalid opcode 0x{op:02x}")

    @staticmethod
    def _merge_into(stack: list[object], index: int, items: list[object]) -> None:
        names: set[str] = set()
        for item in items:
            names |= _names_in(item)
        if not names:
            return
        target = stack[index]
        if isinstance(target, Instance):
            target.taint |= names
        elif isinstance(target, _Tainted):
            target.names |= names
        else:
            stack[index] = _Tainted(names)

    def _resolve(self, module: str, name: str, offset: int) -> Global:
        module, name = _fix_py2_names(module, name)
        glob = Global(module, name)
        self._use(glob.dotted, offset)
        return glob

    def _global(self, module: str, name: str, offset: int, stack: list[object]) -> None:
        stack.append(self._resolve(module, name, offset))

    def _instantiate(self, cls: object, args: object, offset: int) -> object:
        if isinstance(cls, Global):
            self._use(cls.dotted, offset, instantiated=True)
            inst = Instance(cls, args if isinstance(args, tuple) and len(args) <= 8 else ())
            if not isinstance(args, tuple):
                inst.taint |= _names_in(args)
            return inst
        self._problem("unresolved", "NEWOBJ of a value that is not a resolved class", offset)
        return Instance(None)

    def _build(self, obj: object, state: object, offset: int) -> None:
        slotstate: object = None
        if isinstance(state, tuple) and len(state) == 2:
            state, slotstate = state
        for part in (state, slotstate):
            if isinstance(part, _DictVal):
                for key, value in part.items.items():
                    if isinstance(key, str) and key.startswith("__") and key.endswith("__"):
                        for name in _names_in(value):
                            self._use(name, offset, called=True, via=f"BUILD sets {key}")
                        if not _names_in(value):
                            continue
                        self._problem("unresolved", f"BUILD assigns {key} on an object", offset)
        if isinstance(obj, Instance):
            func = obj.func
            if isinstance(func, Global) and func.dotted == "joblib.numpy_pickle.NumpyArrayWrapper":
                self._skip_joblib_array(state, offset)

    def _skip_joblib_array(self, state: object, offset: int) -> None:
        """joblib writes the array's raw bytes (or a nested pickle) right after the wrapper's BUILD."""
        if not isinstance(state, _DictVal):
            self._problem("unparsable", "joblib array header is not readable", offset)
            raise _Parse("joblib array header is not readable")
        items = state.items
        dtype = items.get("dtype")
        shape = items.get("shape")
        descr = None
        if isinstance(dtype, Instance) and dtype.args and isinstance(dtype.args[0], str):
            descr = dtype.args[0]
        if descr is not None and "O" in descr:
            nested = _Machine(self.stream, self.result, 0, self.max_memo, self.max_stack, self.deadline,
                              self.extensions)
            # Hand over our buffer so the nested pickle starts where we are.
            nested.buf, nested.pos, nested.consumed, nested.eof = self.buf, self.pos, self.consumed, self.eof
            nested.base = self.base
            nested._one_pickle()
            self.buf, self.pos, self.consumed, self.eof = nested.buf, nested.pos, nested.consumed, nested.eof
            return
        size = _itemsize(descr) if descr is not None else None
        if size is None or not isinstance(shape, tuple) or not all(isinstance(d, int) and d >= 0
                                                                    for d in shape):
            raise _Parse("joblib array header has an unknown dtype or shape")
        count = 1
        for dim in shape:
            count *= dim
        if items.get("numpy_array_alignment_bytes") is not None:
            padding = self._take(1)[0]
            self._skip(padding)
        self._skip(count * size)


class _Memo:
    """The unpickler's memo, reduced to what resolution needs.

    Globals and call results are kept for good. Strings and small plain tuples (possible STACK_GLOBAL
    operands, joblib shapes) go to a bounded "cheap" table that is emptied when full, so a pickle with
    millions of distinct strings does not grow memory. A lookup of a forgotten entry yields UNKNOWN,
    which fails closed if it is ever used as a name. Keys are tracked densely (0..n-1, as picklers write
    them) until a pickle uses others.
    """

    __slots__ = ("cheap", "detached", "evicted", "max_entries", "n", "sparse", "symbolic")

    def __init__(self, max_entries: int) -> None:
        self.detached = False
        self.max_entries = max_entries
        self.n = 0
        self.sparse: set[int] | None = None
        self.symbolic: dict[int, object] = {}
        self.cheap: dict[int, object] = {}
        self.evicted = False

    def next_key(self) -> int:
        return self.n if self.sparse is None else len(self.sparse)

    def put(self, key: int, value: object) -> None:
        if self.sparse is None:
            if key == self.n:
                self.n += 1
            elif key > self.n:
                if self.n >= self.max_entries:
                    raise _Budget("memo budget exceeded")
                self.sparse = set(range(self.n))
                self.sparse.add(key)
        else:
            self.sparse.add(key)
            if len(self.sparse) > self.max_entries:
                raise _Budget("memo budget exceeded")
        if value is OTHER or value is None or value.__class__ in _NUMBERS:
            self.symbolic.pop(key, None)
            self.cheap.pop(key, None)
        elif value.__class__ in _TEXT or (value.__class__ is tuple and not _names_in(value)):
            self.symbolic.pop(key, None)
            if len(self.cheap) >= _MEMO_CHEAP:
                self.cheap.clear()  # cleared in place: the hot loop holds a bound .get
                self.evicted = True
            self.cheap[key] = value
        else:
            self.cheap.pop(key, None)
            self.symbolic[key] = value
            if len(self.symbolic) > self.max_entries:
                raise _Budget("memo budget exceeded")

    def missing(self, key: int) -> object:
        """Value of a key in neither table: plain data, forgotten data, or never stored (an error)."""
        if self.detached:
            return UNKNOWN  # the entry may come from the part of the stream we did not see
        present = key in self.sparse if self.sparse is not None else 0 <= key < self.n
        if not present:
            raise _Parse(f"memo key {key} was never stored")
        return UNKNOWN if self.evicted else OTHER

    def get(self, key: int) -> object:
        value = self.cheap.get(key)
        if value is None:
            value = self.symbolic.get(key)
            if value is None:
                value = self.missing(key)
        return value


def _itemsize(descr: str) -> int | None:
    """Item size of a simple numpy dtype string such as '<f8', '|u1', '<U5', 'S3', 'b1'."""
    text = descr.lstrip("<>|=")
    if not text:
        return None
    kind, digits = text[0], text[1:]
    if kind == "?":
        return 1
    if not digits.isdigit():
        return {"f": 8, "i": 8, "u": 8, "c": 16, "b": 1}.get(kind) if not digits else None
    n = int(digits)
    if kind in "fiucbSVaMm":
        return n
    if kind == "U":
        return 4 * n
    return None


def _fix_py2_names(module: str, name: str) -> tuple[str, str]:
    """The unpickler maps Python 2 names for protocols < 3 (fix_imports); we resolve the same way."""
    import _compat_pickle

    key = (module, name)
    if key in _compat_pickle.NAME_MAPPING:
        return _compat_pickle.NAME_MAPPING[key]
    if module in _compat_pickle.IMPORT_MAPPING:
        return _compat_pickle.IMPORT_MAPPING[module], name
    return module, name


_SYMBOLIC_TYPES = frozenset({Global, Instance, _Tainted, _DictVal, tuple})
# Opcodes that import, call or hand data to persistent_load; PROTO cannot appear inside a pickle.
_IMPURE_OPCODES = frozenset(b"c\x93io\x81\x92Rb\x82\x83\x84PQ\x80")
_DETACHED_FLOOR = 4096
