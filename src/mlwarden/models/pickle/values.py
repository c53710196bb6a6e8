"""The symbolic values the pickle machine keeps on its stack and in its memo, and what it reports.

Values that cannot matter for what a pickle imports or calls (numbers in bulk, long strings, tensors'
bytes) collapse into one shared sentinel, so memory stays flat on multi-gigabyte pickles.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class Sentinel:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


OTHER = Sentinel("OTHER")  # plain data whose value does not matter
UNKNOWN = Sentinel("UNKNOWN")  # a value the machine forgot (memo budget) or could not compute: could be anything


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
    state: object = None  # what BUILD gave it (kept for numpy dtypes: joblib array sizes)


@dataclass(slots=True, eq=False)
class Tainted:
    """A container that holds globals or call results (only their names are kept)."""

    names: set[str]


# Keys of an object's state that the unpickler later looks up on the *instance* and calls: BUILD calls
# ``inst.__setstate__`` when present, APPENDS calls ``obj.extend``/``obj.append``, ADDITEMS ``obj.add``.
# Setting one of them through an earlier BUILD turns a plain value into a call (setstate injection).
CALLED_STATE_KEYS = frozenset({"append", "extend", "add"})
_DICT_PLAIN_KEPT = 64  # plain items kept per dict (enough for joblib array headers); the rest are dropped


@dataclass(slots=True, eq=False)
class DictVal:
    """A dict being built. Plain items are kept up to a bound (joblib headers are read from them); items
    whose key could be looked up and called (dunders, non-constant keys) or whose value holds globals are
    always kept, so that no number of decoy items hides a ``__setstate__``."""

    items: dict[object, object] = field(default_factory=dict)
    plain: int = 0

    def set(self, key: object, value: object) -> None:
        if not (could_be_called_key(key) or value is UNKNOWN or names_in(value)):
            if self.plain >= _DICT_PLAIN_KEPT and key not in self.items:
                return
            self.plain += 1
        self.items[key] = value


def could_be_called_key(key: object) -> bool:
    """Whether a state key may name something the unpickler calls later (see CALLED_STATE_KEYS)."""
    if key.__class__ is str:
        return is_dunder(key) or key in CALLED_STATE_KEYS
    # A key the machine did not compute (a call result, a forgotten memo entry) could be any string.
    return key is UNKNOWN or isinstance(key, (Instance, Tainted, Global))


def is_dunder(key: str) -> bool:
    return key.startswith("__") and key.endswith("__")


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
class JoblibCompanion:
    """A file that an old joblib pickle (NDArrayWrapper) or np.load opens by name next to the pickle."""

    filename: str
    offset: int


@dataclass
class Analysis:
    globals: dict[str, Usage] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    nested: list[NestedPayload] = field(default_factory=list)
    companions: list[JoblibCompanion] = field(default_factory=list)
    pickles: int = 0


def names_in(value: object) -> set[str]:
    """Names of globals reachable from a stack value (only what the machine kept)."""
    if isinstance(value, Global):
        return {value.dotted}
    if isinstance(value, Instance):
        names = set(value.taint)
        if isinstance(value.func, Global):
            names.add(value.func.dotted)
        return names
    if isinstance(value, Tainted):
        return set(value.names)
    if isinstance(value, tuple):
        out: set[str] = set()
        for item in value:
            out |= names_in(item)
        return out
    if isinstance(value, DictVal):
        out = set()
        for key, item in value.items.items():
            out |= names_in(key) | names_in(item)
        return out
    return set()


PLAIN = (int, str, bytes, float)


def collapse(items: list[object]) -> object:
    """What a new container built from ``items`` becomes on the stack."""
    names: set[str] = set()
    for item in items:
        if item is OTHER or item.__class__ in PLAIN or item is None:
            continue
        names |= names_in(item)
    return Tainted(names) if names else OTHER
