"""Compatibility shim: the pickle machine now lives in the package ``mlwarden.models.pickle``.

Kept so that modules written against the old single file keep importing; new code imports from
``mlwarden.models.pickle``. To be removed once every caller has moved.
"""

from __future__ import annotations

from typing import BinaryIO

from mlwarden.models import pickle as _package
from mlwarden.models.pickle import (
    LOADERS,
    OTHER,
    UNKNOWN,
    Analysis,
    Global,
    Instance,
    JoblibCompanion,
    NestedPayload,
    Problem,
    Usage,
    check_detached_tail,
    looks_like_pickle,
)

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


def analyse(stream: BinaryIO, *, max_pickles: int | None = None, max_memo: int = 1_000_000,
            max_stack: int = 10_000_000, deadline: float | None = None) -> Analysis:
    """The old signature (typed BinaryIO, as its callers expect); see mlwarden.models.pickle.analyse."""
    return _package.analyse(stream, max_pickles=max_pickles, max_memo=max_memo, max_stack=max_stack,
                            deadline=deadline)
