"""A symbolic pickle machine: walks the opcode stream, never imports or executes anything.

It keeps just enough of the stack and memo to resolve every imported name (GLOBAL, STACK_GLOBAL through
the memo, INST, OBJ, EXT) and to know what is *called* (REDUCE, NEWOBJ, NEWOBJ_EX, INST, OBJ, BUILD, and
the helpers of calls.HIGHER_ORDER that call what they receive). opcodes.py says, per opcode, what
CPython's unpickler accepts; the machine follows it.

We do not use ``pickletools.genops``: it is several times slower, builds a Python object per opcode and
cannot skip the raw array buffers that joblib writes inside its pickle stream. fickling's interpreter
keeps the whole program as an AST and does not finish on large files (see research/model-scanners.md §3).
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from mlwarden.models.pickle import joblib
from mlwarden.models.pickle.calls import (
    BYTES_MAKERS,
    HIGHER_ORDER,
    LOADERS,
    RESOLVERS,
    dill_type,
    encode_like_loader,
)
from mlwarden.models.pickle.memo import MEMO_CHEAP, MEMO_HOT, Budget, Memo, Parse
from mlwarden.models.pickle.opcodes import (
    IMPURE_OPCODES,
    VALID_OPCODES,
    LiteralError,
    check_float,
    decode_string,
    decode_unicode,
    parse_int,
    parse_long,
    parse_memo_key,
)
from mlwarden.models.pickle.reader import LongLine, Reader
from mlwarden.models.pickle.values import (
    OTHER,
    UNKNOWN,
    Analysis,
    DictVal,
    Global,
    Instance,
    JoblibCompanion,
    NestedPayload,
    Problem,
    Tainted,
    Usage,
    collapse,
    could_be_called_key,
    names_in,
)
from mlwarden.models.streams import Readable

_INT4 = struct.Struct("<i")
_UINT4 = struct.Struct("<I")
_UINT8 = struct.Struct("<Q")
_SYMBOLIC_TYPES = frozenset({Global, Instance, Tainted, DictVal, tuple})
DETACHED_FLOOR = 4096
PLAIN_VIEW_LIMIT = 64 << 20  # how far the plain-pickle view of joblib's layout may read ahead of the machine
_CONSTRUCTORS = frozenset({"copyreg._reconstructor", "copyreg.__newobj__", "copyreg.__newobj_ex__"})


class Impure(Exception):
    """A detached tail (see tail.py) contains an opcode that imports or calls."""


class Machine(Reader):
    def __init__(self, stream: Readable, result: Analysis, max_memo: int, max_stack: int,
                 deadline: float | None, extensions: dict[int, tuple[str, str]]) -> None:
        super().__init__(stream, deadline)
        self.result = result
        self.max_memo = max_memo
        self.max_stack = max_stack
        self.extensions = extensions
        self.detached = False
        self.joblib_layout = True  # False in the plain-pickle view of joblib's layout (see _plain_view)
        self.forked = False
        self.events = 0  # globals used, calls and problems recorded: a pickle that showed code
        self.trailing_at: int | None = None  # where data that is not a further pickle starts
        # Memo key of the plain container last memoised at each stack depth: when names are later put
        # into it (SETITEMS into a plain dict), the memo entry is updated too, so a GET sees them.
        self.slot_keys: dict[int, int] = {}

    # -- recording ---------------------------------------------------------------------------
    def _use(self, name: str, offset: int, *, called: bool = False, instantiated: bool = False,
             via: str = "") -> None:
        self.events += 1
        usage = self.result.globals.get(name)
        if usage is None:
            usage = self.result.globals[name] = Usage(offset)
        if called and not usage.called:
            usage.called = True
            usage.via = via
        if instantiated:
            usage.instantiated = True

    def _problem(self, kind: str, message: str, offset: int) -> None:
        self.events += 1
        self.result.problems.append(Problem(kind, message, offset))

    def _called_through(self, value: object, helper: str, offset: int) -> None:
        """``value`` is called (or instantiated) by ``helper``: it counts as a call of its own."""
        if isinstance(value, Global):
            self._use(value.dotted, offset, called=True, via=f"through {helper}")
        elif value is UNKNOWN or isinstance(value, (Instance, Tainted, DictVal)):
            for name in names_in(value):
                self._use(name, offset, called=True, via=f"through {helper}")
            self._problem("unresolved", f"{helper} calls a value that is not a resolved global", offset)
        elif isinstance(value, tuple):
            for item in value:
                self._called_through(item, helper, offset)

    def _call(self, func: object, args: object, offset: int, via: str) -> object:
        """Record a call of ``func`` with ``args``; return the symbolic result."""
        if isinstance(func, Global):
            name = func.dotted
            self._use(name, offset, called=True, via=via)
            argv = args if isinstance(args, tuple) else ()
            if name in HIGHER_ORDER:
                positions = HIGHER_ORDER[name]
                if positions is None or not isinstance(args, tuple):
                    self._called_through(args, name, offset)
                else:
                    for i in positions:
                        if i < len(argv):
                            self._called_through(argv[i], name, offset)
            if name in RESOLVERS:
                return self._resolve_call(name, argv, offset)
            if name in LOADERS:
                self._nested(name, argv, offset)
            if name in BYTES_MAKERS:
                made = encode_like_loader(name, argv)
                if made is not None:
                    return made
            if name in _CONSTRUCTORS and argv and isinstance(argv[0], Global):
                # copyreg's helpers make an instance of their first argument (protocol 0/1 objects, __reduce_ex__):
                # the result is that class's instance, as NEWOBJ's is (joblib's array wrappers are made so at
                # protocols 0 and 1). _reconstructor with a base other than object also runs base.__init__(state).
                plain = name != "copyreg._reconstructor" or (len(argv) > 1 and isinstance(argv[1], Global)
                                                             and argv[1].dotted == "builtins.object")
                return Instance(argv[0], () if plain else argv[2:3] or (None,))
            inst = Instance(func, argv if len(argv) <= 8 else ())
            if args is not OTHER and not isinstance(args, tuple):
                inst.taint |= names_in(args)
            elif len(argv) > 8:
                inst.taint |= names_in(argv)
            return inst
        if isinstance(func, Instance):
            # Calling the result of a call: e.g. getattr(obj, "system")(...). The inner call is recorded.
            inner = func.func.dotted if isinstance(func.func, Global) else "a computed value"
            self._problem("unresolved", f"calls the result of {inner}", offset)
            return Instance(func)
        self._problem("unresolved", "calls a value that is not a resolved global", offset)
        return Instance(None)

    def _nested(self, name: str, argv: tuple[object, ...], offset: int) -> None:
        payload = argv[0] if argv else None
        if isinstance(payload, str):
            payload = payload.encode("latin-1", "replace")
        if isinstance(payload, bytes) and payload:
            self.result.nested.append(NestedPayload(name, offset, payload))
        else:
            self._problem("nested-unreadable", f"{name} is called on data the scanner could not extract", offset)

    def _resolve_call(self, name: str, argv: tuple[object, ...], offset: int) -> object:
        """A string-to-callable helper with constant arguments resolves like a GLOBAL; else unresolved."""
        if RESOLVERS[name] == "dotted" and argv and isinstance(argv[0], str) and argv[0]:
            module, _, attr = argv[0].partition(".")
            return self._resolve(module, attr or module, offset) if attr else Instance(None)
        if RESOLVERS[name] == "module-name" and len(argv) >= 2 and all(isinstance(a, str) for a in argv[:2]):
            return self._resolve(str(argv[0]), str(argv[1]), offset)
        if RESOLVERS[name] == "dill-type" and argv and isinstance(argv[0], str):
            found = dill_type(argv[0])
            if found is not None:
                return self._resolve(found[0], found[1], offset)
        self._problem("unresolved", f"{name} resolves a name the scanner cannot read", offset)
        return Instance(None)

    # -- main loop ---------------------------------------------------------------------------
    def run(self, max_pickles: int | None) -> None:
        result = self.result
        while max_pickles is None or result.pickles < max_pickles:
            if not self._fill(1):
                break
            first = self.buf[self.pos]
            if result.pickles and first not in VALID_OPCODES:
                self.trailing_at = self.offset()
                break  # trailing data after the last pickle
            events = self.events
            start = self.offset()
            try:
                self._one_pickle()
            except Parse as exc:
                # A further stacked pickle that broke before showing any code (no global, call or
                # problem) and does not start with PROTO is trailing data (torch's legacy format puts raw
                # storage bytes after its pickles). One that showed code, or was announced by PROTO,
                # is a pickle a loader reading on would run up to the break: a finding.
                if result.pickles and self.events == events and first != 0x80:
                    self.trailing_at = start
                    return
                where = self.offset()
                which = f"pickle #{result.pickles + 1} (from byte {start})" if result.pickles else "pickle"
                self._problem("unparsable", f"{which}: {exc} at byte {where}", where)
                return
            except Budget as exc:
                self._problem("budget", str(exc), self.offset())
                return
            except RecursionError:  # pragma: no cover - defensive; the machine does not recurse
                self._problem("budget", "nesting too deep", self.offset())
                return
            result.pickles += 1

    def _one_pickle(self, initial: tuple[list[object], list[int], Memo] | None = None) -> None:
        stack: list[object]
        marks: list[int]
        stack, marks, memo = initial if initial is not None else ([], [], Memo(self.max_memo))
        self.slot_keys = {}
        if self.detached:
            # Unknown values and marks left by the part of the stream before us.
            stack.extend([UNKNOWN] * DETACHED_FLOOR)
            marks.extend([DETACHED_FLOOR] * DETACHED_FLOOR)
            memo.detached = True

        def pop_mark() -> list[object]:
            if not marks:
                raise Parse("MARK expected but not found")
            at = marks.pop()
            items = stack[at:]
            del stack[at:]
            return items

        try:
            self._loop(stack, marks, memo, pop_mark)
        except (IndexError, struct.error):
            raise Parse("pickle is truncated") from None
        except LiteralError as exc:
            raise Parse(str(exc)) from None

    def _loop(self, stack: list[object], marks: list[int], memo: Memo,
              pop_mark: Callable[[], list[object]]) -> None:
        # Hot loop: ``buf``/``pos``/``end`` are locals and are written back to ``self`` only before any
        # call that reads the stream. Opcodes are tested in the order of their frequency in real files.
        push = stack.append
        max_stack = self.max_stack
        unpack_i4 = _INT4.unpack_from
        unpack_u4 = _UINT4.unpack_from
        cheap = memo.cheap
        cheap_get = cheap.get
        sym_get = memo.symbolic.get
        sym_types = _SYMBOLIC_TYPES
        slot_keys = self.slot_keys
        buf = self.buf
        pos = self.pos
        end = len(buf)
        while True:
            if end - pos < 9:
                self.pos = pos
                if not self._fill(9) and not self._fill(1):
                    raise Parse("pickle ended without STOP")
                buf = self.buf
                pos = self.pos
                end = len(buf)
                if len(stack) > max_stack:
                    raise Budget("stack budget exceeded")
            op = buf[pos]
            if op == 0x68 or op == 0x6A:  # BINGET, LONG_BINGET
                if op == 0x68:
                    key = buf[pos + 1]
                    pos += 2
                else:
                    key = unpack_u4(buf, pos + 1)[0]
                    pos += 5
                value = cheap_get(key)
                if value is None:
                    value = sym_get(key)
                    if value is None:
                        value = memo.missing(key)
                push(value)
            elif op == 0x94:  # MEMOIZE
                pos += 1
                if not stack:
                    raise Parse("MEMOIZE on an empty stack")
                top = stack[-1]
                if top is OTHER:
                    if memo.sparse is None:
                        slot_keys[len(stack) - 1] = memo.n
                        memo.n += 1
                        continue
                    slot_keys[len(stack) - 1] = memo.next_key()
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
                        raise Parse("invalid UTF-8 in a string") from None
                    push(text)
                    pos += 2 + n
                    if pos < end and buf[pos] == 0x94 and memo.sparse is None:  # fused MEMOIZE
                        pos += 1
                        if len(cheap) >= MEMO_CHEAP:
                            memo.evict()
                        key = memo.n
                        cheap[key] = text
                        if key < MEMO_HOT:
                            memo.hot[key] = text
                        memo.n = key + 1
            elif op == 0x4B:  # BININT1
                push(buf[pos + 1])
                pos += 2
            elif op == 0x75 or op == 0x65 or op == 0x90:  # SETITEMS, APPENDS, ADDITEMS
                pos += 1
                if not marks:
                    raise Parse("MARK expected but not found")
                at = marks.pop()
                n = len(stack)
                if at < 1 or at > n:
                    raise Parse("stack underflow")
                if n > at:
                    items = stack[at:]
                    del stack[at:]
                    target = stack[at - 1]
                    if target.__class__ is DictVal and op == 0x75:
                        self._fill_dict(target, items)
                    elif not sym_types.isdisjoint(map(type, items)):
                        self._merge_into(stack, at - 1, items, memo)
            elif op == 0x28:  # MARK
                marks.append(len(stack))
                pos += 1
            elif op == 0x7D or op == 0x5D or op == 0x29 or op == 0x8F:  # EMPTY_DICT/LIST/TUPLE/SET
                pos += 1
                if op == 0x7D and stack and stack[-1].__class__ is Instance:
                    push(DictVal())
                elif op == 0x29:
                    push(())
                else:
                    push(OTHER)
                    if buf[pos] == 0x94 and memo.sparse is None:  # fused MEMOIZE of a plain container
                        pos += 1
                        slot_keys[len(stack) - 1] = memo.n
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
            elif op == 0x71 or op == 0x72:  # BINPUT, LONG_BINPUT
                if op == 0x71:
                    key = buf[pos + 1]
                    pos += 2
                else:
                    key = unpack_u4(buf, pos + 1)[0]
                    pos += 5
                if not stack:
                    raise Parse("BINPUT on an empty stack")
                top = stack[-1]
                if top is OTHER:
                    slot_keys[len(stack) - 1] = key
                    if memo.sparse is None and key == memo.n:
                        memo.n += 1
                        continue
                memo.put(key, top)
            elif op == 0x4E:  # NONE
                push(None)
                pos += 1
            elif op == 0x95:  # FRAME: C reads on through frame boundaries (see opcodes.py)
                pos += 9
            elif op == 0x85 or op == 0x86 or op == 0x87:  # TUPLE1..3
                n = op - 0x84
                pos += 1
                if len(stack) < n or (marks and len(stack) - n < marks[-1]):
                    raise Parse("stack underflow")
                items = stack[-n:]
                del stack[-n:]
                push(tuple(items))
            elif op == 0x74:  # TUPLE
                pos += 1
                items = pop_mark()
                push(tuple(items) if len(items) <= 16 else collapse(items))
            elif op == 0x2E:  # STOP
                self.pos = pos + 1
                if not stack or (marks and len(stack) <= marks[-1] and not self.detached):
                    raise Parse("STOP on an empty stack")  # (a detached tail's floor marks are not real)
                return
            else:
                self.pos = pos + 1
                self._slow(op, stack, marks, memo, pop_mark)
                buf = self.buf
                pos = self.pos
                end = len(buf)

    def _fill_dict(self, target: DictVal, items: list[object]) -> None:
        if len(items) % 2:
            raise Parse("odd number of items for SETITEMS")
        for i in range(0, len(items), 2):
            target.set(items[i], items[i + 1])

    def _slow(self, op: int, stack: list[object], marks: list[int],
              memo: Memo, pop_mark: Callable[[], list[object]]) -> None:
        """Every opcode that is not on the fast path."""
        if self.detached and op in IMPURE_OPCODES:
            raise Impure
        push = stack.append
        at = self.offset() - 1

        def pop() -> object:
            if not stack or (marks and len(stack) <= marks[-1]):
                raise Parse("stack underflow")
            return stack.pop()

        if op == 0x80:  # PROTO
            proto = self._take(1)[0]
            if proto > 5:
                raise Parse(f"unsupported pickle protocol {proto}")
        elif op == 0x93:  # STACK_GLOBAL
            name = pop()
            module = pop()
            if isinstance(module, str) and isinstance(name, str):
                push(self._resolve(module, name, at))
            else:
                what = "forgotten memo entries (memo budget)" if UNKNOWN in (module, name) else \
                    "operands that are not constant strings"
                self._problem("unresolved", f"STACK_GLOBAL with {what}", at)
                push(Instance(None))
        elif op == 0x63:  # GLOBAL
            module = self._line()
            name = self._line()
            push(self._resolve_line(module, name, at))
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
                inst.taint |= names_in(kwargs)
            push(inst)
        elif op == 0x62:  # BUILD
            state = pop()
            if not stack or (marks and len(stack) <= marks[-1]):
                raise Parse("stack underflow")
            self._build(stack[-1], state, at, (stack, marks, memo))
        elif op == 0x69:  # INST
            module = self._line()
            name = self._line()
            args = tuple(pop_mark())
            cls = self._resolve_line(module, name, at)
            push(self._call(cls, args, at, "INST"))
        elif op == 0x6F:  # OBJ
            items = pop_mark()
            if not items:
                raise Parse("OBJ without a class")
            push(self._call(items[0], tuple(items[1:]), at, "OBJ"))
        elif op in (0x82, 0x83, 0x84):  # EXT1, EXT2, EXT4
            size = {0x82: 1, 0x83: 2, 0x84: 4}[op]
            code = int.from_bytes(self._take(size), "little", signed=op == 0x84)
            if code <= 0:
                raise Parse("EXT specifies code <= 0")
            ext = self.extensions.get(code)
            if ext is None:
                self._problem("unresolved", f"EXT code {code} is not registered in copyreg; the loader's "
                              "registry decides what it imports", at)
                push(Instance(None))
            else:
                push(self._resolve(ext[0], ext[1], at))
        elif op == 0x49:  # INT
            line = self._line()
            push(OTHER if isinstance(line, LongLine) else parse_int(line))
        elif op == 0x4C:  # LONG
            line = self._line()
            push(OTHER if isinstance(line, LongLine) else parse_long(line))
        elif op == 0x46:  # FLOAT
            line = self._line()
            if not isinstance(line, LongLine):
                check_float(line)
            push(OTHER)
        elif op == 0x8A:  # LONG1
            n = self._take(1)[0]
            push(int.from_bytes(self._take(n), "little", signed=True))
        elif op == 0x8B:  # LONG4
            n = _INT4.unpack(self._take(4))[0]
            if n < 0:
                raise Parse("negative LONG4 length")
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
            line = self._line()
            if isinstance(line, LongLine):
                push(OTHER)
            else:
                text = decode_string(line)
                push(text if self._keep_text(len(text)) else OTHER)
        elif op == 0x56:  # UNICODE
            line = self._line()
            if isinstance(line, LongLine):
                push(OTHER)
            else:
                text = decode_unicode(line)
                push(text if self._keep_text(len(text)) else OTHER)
        elif op == 0x67:  # GET
            push(memo.get(parse_memo_key(self._line())))
        elif op == 0x70:  # PUT
            key = parse_memo_key(self._line())
            if not stack or key < 0:
                raise Parse("invalid PUT")
            if stack[-1] is OTHER:
                self.slot_keys[len(stack) - 1] = key
            memo.put(key, stack[-1])
        elif op == 0x61:  # APPEND
            value = pop()
            if not stack:
                raise Parse("stack underflow")
            self._merge_into(stack, len(stack) - 1, [value], memo)
        elif op == 0x73:  # SETITEM
            value = pop()
            item_key = pop()
            if not stack:
                raise Parse("stack underflow")
            target = stack[-1]
            if isinstance(target, DictVal):
                target.set(item_key, value)
            else:
                self._merge_into(stack, len(stack) - 1, [item_key, value], memo)
        elif op == 0x64:  # DICT
            items = pop_mark()
            if len(items) % 2:
                raise Parse("odd number of items for DICT")
            state = DictVal()
            for i in range(0, len(items), 2):
                state.set(items[i], items[i + 1])
            push(state)
        elif op == 0x6C or op == 0x91:  # LIST, FROZENSET
            push(collapse(pop_mark()))
        elif op == 0x30:  # POP
            if marks and len(stack) <= marks[-1]:
                marks.pop()  # POP of a mark is allowed by the unpickler
            else:
                pop()
        elif op == 0x31:  # POP_MARK
            pop_mark()
        elif op == 0x32:  # DUP
            if not stack:
                raise Parse("stack underflow")
            push(stack[-1])
        elif op == 0x50:  # PERSID
            self._line()
            push(OTHER)
        elif op == 0x51:  # BINPERSID
            pid = pop()
            if isinstance(pid, tuple) and len(pid) >= 2 and pid[0] == "module" and isinstance(pid[1], Global):
                # torch's legacy format saves a whole module's class as ("module", cls, file, source); its
                # persistent_load returns cls, which the next NEWOBJ instantiates.
                push(pid[1])
            else:
                push(OTHER if not names_in(pid) else Tainted(names_in(pid)))
        elif op == 0x97:  # NEXT_BUFFER: out-of-band buffers; loaders without buffers= fail here
            push(OTHER)
        elif op == 0x98:  # READONLY_BUFFER
            if not stack:
                raise Parse("stack underflow")
        else:
            raise Parse(f"invalid opcode 0x{op:02x}")

    def _merge_into(self, stack: list[object], index: int, items: list[object], memo: Memo) -> None:
        names: set[str] = set()
        unknown = False
        for item in items:
            names |= names_in(item)
            unknown = unknown or item is UNKNOWN
        if not names and not unknown:
            return
        target = stack[index]
        if isinstance(target, Instance):
            target.taint |= names
        elif isinstance(target, Tainted):
            target.names |= names
        elif isinstance(target, DictVal):
            target.items[Tainted(names)] = UNKNOWN  # keys unknown: kept as a possibly-called entry
        else:
            new = Tainted(names)
            stack[index] = new
            key = self.slot_keys.get(index)
            if target is OTHER and key is not None and key not in memo.cheap and key not in memo.symbolic:
                memo.symbolic[key] = new  # the memoised container is the same object

    def _resolve_line(self, module: bytes, name: bytes, offset: int) -> Global:
        return self._resolve(module.decode("utf-8", "replace"), name.decode("utf-8", "replace"), offset)

    def _resolve(self, module: str, name: str, offset: int) -> Global:
        module, name = _fix_py2_names(module, name)
        glob = Global(module, name)
        self._use(glob.dotted, offset)
        return glob

    def _instantiate(self, cls: object, args: object, offset: int) -> object:
        if isinstance(cls, Global):
            # NEWOBJ runs cls.__new__ (and BUILD its __setstate__): a call of the class's code.
            self._use(cls.dotted, offset, instantiated=True)
            inst = Instance(cls, args if isinstance(args, tuple) and len(args) <= 8 else ())
            if not isinstance(args, tuple) or len(args) > 8:
                inst.taint |= names_in(args)
            return inst
        self._problem("unresolved", "NEWOBJ of a value that is not a resolved class", offset)
        return Instance(None)

    def _build(self, obj: object, state: object, offset: int,
               frame: tuple[list[object], list[int], Memo] | None = None) -> None:
        if isinstance(obj, Global):
            # BUILD on a class or function sets attributes on it (monkey-patching what later code calls).
            for name in names_in(state):
                self._use(name, offset, called=True, via="BUILD on a class or function")
            self._problem("unresolved", f"BUILD sets state on {obj.dotted} itself", offset)
            return
        parts = state if isinstance(state, tuple) and len(state) == 2 else (state,)
        for part in parts:
            self._check_state(part, offset)
        if len(parts) == 2 and isinstance(parts[1], Tainted):
            # The slot state is applied with setattr: a class under a key not kept may be set as __class__.
            self._problem("unresolved", "BUILD sets attributes to globals under names the scanner did not keep "
                          "(the object's class, __class__, may change)", offset)
        if isinstance(obj, Instance):
            func = obj.func
            if isinstance(func, Global):
                dotted = func.dotted
                if dotted in joblib.DTYPES:
                    obj.state = state
                elif dotted in joblib.WRAPPERS and self.joblib_layout:
                    # The first wrapper of a pickle is where pickle.load's reading leaves joblib's (_plain_view).
                    plain = frame if frame is not None and not self.forked and not self.detached else None
                    self.forked = True
                    if obj.args:
                        # Called with arguments, its __init__ set attributes (an alignment padding among them)
                        # that the BUILD state need not repeat: joblib's reading of what follows is unknown.
                        raise Parse("joblib array wrapper built from constructor arguments")
                    self._skip_joblib_array(state, offset, plain)
                elif dotted in joblib.COMPANION_WRAPPERS:
                    filename = joblib.companion_name(state)
                    self.result.companions.append(JoblibCompanion(filename or "", offset))
                    if filename is None:
                        self._problem("nested-unreadable", f"{dotted} loads a file the scanner cannot name",
                                      offset)

    def _check_state(self, part: object, offset: int) -> None:
        """State that plants something the unpickler calls later (``__setstate__``, ``append``...)."""
        if part is None or part is OTHER or part.__class__ in (int, str, bytes, float):
            return
        if isinstance(part, DictVal):
            for key, value in part.items.items():
                if could_be_called_key(key):
                    for name in names_in(value):
                        via = f"BUILD sets {key}" if isinstance(key, str) else "BUILD sets a computed key"
                        self._use(name, offset, called=True, via=via)
                    if value is UNKNOWN or isinstance(value, (Instance, Tainted)):
                        self._problem("unresolved", "BUILD assigns a callable-looking attribute the scanner "
                                      "cannot resolve", offset)
                    elif key == "__class__" or (key.__class__ is not str and isinstance(value, Global)):
                        # setattr(obj, "__class__", cls) turns the object into another class's instance
                        # (a joblib array wrapper, whose array bytes joblib then reads): not followed.
                        self._problem("unresolved", "BUILD changes an object's class (__class__)", offset)
            return
        if part is UNKNOWN:
            self._problem("unresolved", "BUILD with a state the scanner forgot (memo budget)", offset)
            return
        if isinstance(part, Tainted):
            # A state whose keys were not kept: any global in it may be planted as __setstate__.
            for name in names_in(part):
                self._use(name, offset, called=True, via="BUILD with a state of unknown keys")

    def _plain_view(self, frame: tuple[list[object], list[int], Memo], *, object_array: bool = False) -> None:
        """pickle.load, torch.load and pandas.read_pickle do not know joblib's layout: the bytes joblib reads as
        raw array data (or as an object array's own pickle, with its own memo) are, to them, further opcodes of
        this pickle, run with this pickle's stack and memo. A payload hidden there runs in those loaders and
        never in joblib. That reading is followed too, at the first array of a pickle (where the two readings
        part), from a copy of the state, on the same stream, until it stops.

        Raw array bytes stop it within a few bytes: what it imports or calls is recorded, and its problems are
        kept when it read code (a global) or ran out of budget. An object array's pickle is valid opcodes, but
        read so its memo references land on the outer pickle's entries (joblib numbers them from 0), which
        turns benign pickles into nonsense that the loader would fail on: there only calls of globals the
        pickle already names, or of known-dangerous ones, are kept, within 8 MiB."""
        stack, marks, memo = frame
        limit = (8 << 20) if object_array else PLAIN_VIEW_LIMIT
        fork = Machine(_Tee(self, limit), Analysis(), self.max_memo, self.max_stack, self.deadline, self.extensions)
        fork.joblib_layout = False
        fork.forked = True
        base = self.offset()
        try:
            fork._one_pickle((list(stack), list(marks), memo.copy()))
        except (Parse, IndexError, struct.error, LiteralError):
            pass  # the loader raises here, after doing what was recorded before
        except Budget as exc:
            fork._problem("budget", f"joblib array bytes read as pickle opcodes (as pickle.load reads them): {exc}",
                          fork.offset())
        except Impure:  # pragma: no cover - the fork is never detached
            pass
        found = fork.result
        note = "in joblib array bytes, read as opcodes by pickle.load/torch.load"
        known = set(self.result.globals)
        for name, usage in found.globals.items():
            if object_array and not ((usage.called or usage.instantiated) and (name in known or _dangerous(name))):
                continue
            self._use(name, base + usage.offset, called=usage.called, instantiated=usage.instantiated,
                      via=f"{usage.via} ({note})" if usage.via else note)
        for nested in found.nested:
            self.result.nested.append(NestedPayload(nested.loader, base + nested.offset, nested.data))
        if not object_array and (found.globals or any(p.kind == "budget" for p in found.problems)):
            for problem in found.problems:
                if problem.kind != "unparsable":
                    self._problem(problem.kind, f"{problem.message} ({note})", base + problem.offset)

    def _skip_joblib_array(self, state: object, offset: int,
                           plain: tuple[list[object], list[int], Memo] | None = None) -> None:
        """joblib writes the array's raw bytes (or a nested pickle) right after the wrapper's BUILD."""
        if not isinstance(state, DictVal):
            raise Parse("joblib array header is not readable")
        items = state.items
        subclass = items.get("subclass")
        if subclass is not None:
            self._called_through(subclass, "joblib (array subclass)", offset)
        dtype = joblib.dtype_of(items.get("dtype"))
        shape = items.get("shape")
        if dtype is None:
            raise Parse("joblib array header has a dtype the scanner cannot read")
        descr, dstate = dtype
        seen = joblib.layout(descr, dstate)
        if seen is None:
            raise Parse(f"joblib array header has an unknown dtype {descr!r} (or a dtype state numpy would not read)")
        if seen[0]:
            if plain is not None:
                self._plain_view(plain, object_array=True)
            self._nested_pickle()
            return
        if plain is not None:
            self._plain_view(plain)
        size = seen[1]
        if not isinstance(shape, tuple) or not all(isinstance(d, int) and d >= 0 for d in shape):
            raise Parse("joblib array header has an unreadable shape")
        count = 1
        for dim in shape:
            count *= dim
        if items.get("numpy_array_alignment_bytes") is not None:
            padding = self._take(1)[0]
            self._skip(padding)
        self._skip(count * size)

    def _nested_pickle(self) -> None:
        """An object array: joblib pickles it right here, with its own memo (a fresh plain unpickler)."""
        nested = Machine(self.stream, self.result, self.max_memo, self.max_stack, self.deadline, self.extensions)
        # joblib reads it with a plain pickle._Unpickler: a wrapper in there is followed by no array bytes.
        nested.joblib_layout = False
        # Hand over our buffer so the nested pickle starts where we are.
        nested.buf, nested.pos, nested.consumed, nested.eof = self.buf, self.pos, self.consumed, self.eof
        nested.kept_large = self.kept_large
        nested._one_pickle()
        self.events += nested.events
        self.buf, self.pos, self.consumed, self.eof = nested.buf, nested.pos, nested.consumed, nested.eof
        self.kept_large = nested.kept_large


class _Tee:
    """The rest of a machine's stream for a fork: served from the machine's buffer, and what the fork reads
    beyond it is appended to that buffer, so the machine still reads every byte (bounded: PLAIN_VIEW_LIMIT)."""

    def __init__(self, main: Machine, limit: int) -> None:
        self._main = main
        self._limit = limit
        self._at = main.consumed + main.pos

    def read(self, n: int = -1) -> bytes:
        main = self._main
        start = self._at - main.consumed
        if start >= len(main.buf):
            if main.eof:
                return b""
            if len(main.buf) - main.pos > self._limit:
                raise Budget(f"they run past {self._limit >> 20} MiB")
            chunk = main.stream.read(max(n, 1 << 20))
            if not chunk:
                main.eof = True
                return b""
            main.buf = main.buf + chunk
        data = main.buf[start:start + (n if n >= 0 else len(main.buf))]
        self._at += len(data)
        return data


def _dangerous(name: str) -> bool:
    from mlwarden.models.classify import dangerous_reason  # classify imports this package: imported when used

    return dangerous_reason(name) is not None


def _fix_py2_names(module: str, name: str) -> tuple[str, str]:
    """The unpickler maps Python 2 names for protocols < 3 (fix_imports); we resolve the same way."""
    import _compat_pickle

    key = (module, name)
    if key in _compat_pickle.NAME_MAPPING:
        return _compat_pickle.NAME_MAPPING[key]
    if module in _compat_pickle.IMPORT_MAPPING:
        return _compat_pickle.IMPORT_MAPPING[module], name
    return module, name
