"""The detached tail check that models/parallel.py runs on another core."""

from __future__ import annotations

from mlwarden.models.pickle.machine import Impure, Machine
from mlwarden.models.pickle.memo import Budget, Parse
from mlwarden.models.pickle.values import Analysis
from mlwarden.models.streams import Readable


def check_detached_tail(stream: Readable, *, deadline: float | None = None) -> bool:
    """Whether ``stream``, which starts at an opcode boundary *inside* a pickle, holds only data opcodes up
    to a STOP that ends the stream.

    Such a tail cannot import or call anything (no GLOBAL, STACK_GLOBAL, REDUCE, BUILD, NEWOBJ, INST, OBJ,
    EXT or PERSID), whatever the part before it left on the stack, so it can be checked on another core
    while the head is analysed in full. Any doubt (an impure opcode, an underflow, a parse error, data
    after the STOP) answers False, and the caller analyses the whole stream sequentially.
    """
    machine = Machine(stream, Analysis(), 1_000_000, 10_000_000, deadline, {})
    machine.detached = True
    try:
        machine._one_pickle()
        return not machine._fill(1)
    except (Parse, Budget, Impure):
        return False
