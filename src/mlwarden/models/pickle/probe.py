"""Is a blob a pickle? Protocol 2+ pickles start with PROTO; protocol 0/1 pickles have no magic
(CVE-2025-10155: they hide as .bin files), so the answer needs evidence from a parse.

A blob is a pickle when ``pickle.loads`` would do something with it: a parse that reaches a STOP, or an
import (GLOBAL, INST, STACK_GLOBAL, EXT) or a call, from the first byte on. Text that merely starts with
opcode-like bytes ("(", "c", "S", "I", "l", "d", "p"...) breaks long before either and is not a model.

A head that is text (no control bytes but tab, newline, carriage return and form feed) and that runs out
without a global or a STOP is a pickle only if every opcode in it is a protocol-0 one: protocol 0 is the only
textual protocol, and prose can read "cleanly" for kilobytes through binary-length opcodes (a LICENSE opening
"Creative Commons" is SHORT_BINBYTES 'C' of length 'r' = 114, and so on) before a length runs past the head.
"""

from __future__ import annotations

import io
import re

from mlwarden.models.pickle.machine import Machine
from mlwarden.models.pickle.values import Analysis

_IDENTIFIER = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_<][\w<>]*)*$")
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0e-\x1f\x7f]")
# Protocol-0 opcodes (pickletools' `proto == 0`) by the shape of their argument.
_P0_BARE = frozenset(b"(.02NRabdlst")
_P0_ONE_LINE = frozenset(b"FILPSVgp")
_P0_TWO_LINES = frozenset(b"ci")


def looks_like_pickle(head: bytes, size: int | None) -> bool:
    """Whether the first bytes of a blob (``size`` is the whole blob's, when known) are a pickle."""
    if not head:
        return False
    if head[0] == 0x80:
        return len(head) > 1 and head[1] <= 5
    analysis = Analysis()
    machine = Machine(io.BytesIO(head), analysis, 1_000_000, 10_000_000, None, {})
    machine.run(None)
    if analysis.globals:
        # An import the loader performs before any later break. Text such as "class Net(Module):"
        # reads as GLOBAL too, but real globals are identifiers.
        return all(_IDENTIFIER.match(name) for name in analysis.globals)
    problems = analysis.problems
    if any(p.kind != "unparsable" for p in problems):
        return True  # a call or an unresolved name: the loader would act on it
    if size is not None and size <= len(head):
        # The whole blob: it must be one or more pickles, read to the last byte.
        return analysis.pickles > 0 and not problems and machine.trailing_at is None
    if not problems:
        return analysis.pickles > 0 and machine.trailing_at is None
    # A prefix: every byte of it read cleanly, and the data ran out inside a pickle.
    ran_out = len(problems) == 1 and any(word in problems[0].message for word in ("without STOP", "truncated"))
    if ran_out and analysis.pickles == 0 and not _CONTROL.search(head):
        return _protocol_0_only(head)
    return ran_out


def _protocol_0_only(head: bytes) -> bool:
    """Whether a head the machine read cleanly uses protocol-0 opcodes only (their arguments are lines)."""
    pos, end = 0, len(head)
    while pos < end:
        op = head[pos]
        if op in _P0_BARE:
            pos += 1
        elif op in _P0_ONE_LINE or op in _P0_TWO_LINES:
            for _ in range(2 if op in _P0_TWO_LINES else 1):
                newline = head.find(b"\n", pos + 1)
                if newline < 0:
                    return True  # the head ends inside the argument
                pos = newline
            pos += 1
        else:
            return False
    return True
