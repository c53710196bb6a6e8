"""The unpickler's memo, reduced to what name resolution needs."""

from __future__ import annotations

from mlwarden.models.pickle.values import OTHER, UNKNOWN, names_in

MEMO_CHEAP = 131_072  # memoised strings and plain tuples kept at most (then forgotten)
# The first entries are kept through evictions: picklers memoise repeated names (dict keys, module and
# class names) early, and later GETs of them stay resolvable (and on the fast path) on huge pickles.
MEMO_HOT = 4096
_NUMBERS = (int, float, bool)
_TEXT = (str, bytes)


class Budget(Exception):
    """A budget (memo, stack, time) ran out."""


class Parse(Exception):
    """The stream is not a pickle the loader would read past this point."""


class Memo:
    """Globals and call results are kept for good. Strings and small plain tuples (possible STACK_GLOBAL
    operands, joblib shapes) go to a bounded "cheap" table that is emptied when full, so a pickle with
    millions of distinct strings does not grow memory. A lookup of a forgotten entry yields UNKNOWN,
    which fails closed if it is ever used as a name. Keys are tracked densely (0..n-1, as picklers write
    them) until a pickle uses others.
    """

    __slots__ = ("cheap", "detached", "evicted", "hot", "max_entries", "n", "sparse", "symbolic")

    def __init__(self, max_entries: int) -> None:
        self.detached = False
        self.max_entries = max_entries
        self.n = 0
        self.sparse: set[int] | None = None
        self.symbolic: dict[int, object] = {}
        self.cheap: dict[int, object] = {}
        self.hot: dict[int, object] = {}
        self.evicted = False

    def copy(self) -> Memo:
        """An independent copy (for a second reading of the same stream from this point)."""
        other = Memo(self.max_entries)
        other.detached, other.n, other.evicted = self.detached, self.n, self.evicted
        other.sparse = None if self.sparse is None else set(self.sparse)
        other.symbolic, other.cheap, other.hot = dict(self.symbolic), dict(self.cheap), dict(self.hot)
        return other

    def next_key(self) -> int:
        return self.n if self.sparse is None else len(self.sparse)

    def put(self, key: int, value: object) -> None:
        if self.sparse is None:
            if key == self.n:
                self.n += 1
            elif key > self.n:
                if self.n >= self.max_entries:
                    raise Budget("memo budget exceeded")
                self.sparse = set(range(self.n))
                self.sparse.add(key)
        else:
            self.sparse.add(key)
            if len(self.sparse) > self.max_entries:
                raise Budget("memo budget exceeded")
        if value is OTHER or value is None or value.__class__ in _NUMBERS:
            self.symbolic.pop(key, None)
            self.cheap.pop(key, None)
            self.hot.pop(key, None)
        elif value.__class__ in _TEXT or (value.__class__ is tuple and not names_in(value)):
            self.symbolic.pop(key, None)
            if len(self.cheap) >= MEMO_CHEAP:
                self.evict()
            self.cheap[key] = value
            if key < MEMO_HOT:
                self.hot[key] = value
        else:
            self.cheap.pop(key, None)
            self.hot.pop(key, None)
            self.symbolic[key] = value
            if len(self.symbolic) > self.max_entries:
                raise Budget("memo budget exceeded")

    def evict(self) -> None:
        """Forget the cheap entries but the first ones; in place: the hot loop holds a bound .get."""
        self.cheap.clear()
        self.cheap.update(self.hot)
        self.evicted = True

    def missing(self, key: int) -> object:
        """Value of a key in neither table: plain data, forgotten data, or never stored (an error)."""
        if self.detached:
            return UNKNOWN  # the entry may come from the part of the stream we did not see
        present = key in self.sparse if self.sparse is not None else 0 <= key < self.n
        if not present:
            raise Parse(f"memo key {key} was never stored")
        return UNKNOWN if self.evicted else OTHER

    def get(self, key: int) -> object:
        value = self.cheap.get(key)
        if value is None:
            value = self.symbolic.get(key)
            if value is None:
                value = self.missing(key)
        return value
