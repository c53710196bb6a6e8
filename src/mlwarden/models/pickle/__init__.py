"""The pickle machine: reads pickle opcode streams as CPython's unpickler does, without executing them.

- opcodes.py  what ``_pickle.c`` accepts per opcode, and its literal parsers
- values.py   the symbolic stack values and the analysis result
- reader.py   the byte buffer; memo.py the memo
- calls.py    what calls do with their arguments (higher-order helpers, resolvers, loaders)
- machine.py  the opcode loop; joblib.py joblib's layout; tail.py the detached tail check
- probe.py    ``looks_like_pickle``: content sniffing with evidence
"""

from __future__ import annotations

from mlwarden.models.pickle.calls import LOADERS
from mlwarden.models.pickle.machine import Machine
from mlwarden.models.pickle.probe import looks_like_pickle
from mlwarden.models.pickle.tail import check_detached_tail
from mlwarden.models.pickle.values import (
    OTHER,
    UNKNOWN,
    Analysis,
    Global,
    Instance,
    JoblibCompanion,
    NestedPayload,
    Problem,
    Usage,
)
from mlwarden.models.streams import Readable

__all__ = [
    "LOADERS",
    "OTHER",
    "UNKNOWN",
    "Analysis",
    "Global",
    "Instance",
    "JoblibCompanion",
    "NestedPayload",
    "Problem",
    "Usage",
    "analyse",
    "check_detached_tail",
    "looks_like_pickle",
]


def analyse(
    stream: Readable,
    *,
    max_pickles: int | None = None,
    max_memo: int = 1_000_000,
    max_stack: int = 10_000_000,
    deadline: float | None = None,
) -> Analysis:
    """Walk every pickle in ``stream`` (several may be stacked) and report what they import and call.

    ``stream`` is read sequentially, in chunks; nothing is seeked.
    """
    result = Analysis()
    machine = Machine(stream, result, max_memo, max_stack, deadline, _default_extensions())
    machine.run(max_pickles)
    return result


def _default_extensions() -> dict[int, tuple[str, str]]:
    # copyreg's registry is plain data in the running interpreter; reading it imports nothing new.
    import copyreg

    registry: dict[tuple[str, str], int] = copyreg._extension_registry  # type: ignore[attr-defined]
    return {code: key for key, code in registry.items()}
