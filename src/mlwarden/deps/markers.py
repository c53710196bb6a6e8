"""Where a locked package is installed: the environment marker a lock's dependency graph implies for it.

uv.lock (and poetry.lock before 2.1) records markers on the edges, not on the packages; `uv export` and `poetry
export` walk the graph from the project and write, for each package, the OR over every path of the AND of the
edge markers on it. This is the same walk, so a pin carries the marker its tool would install it under.

Conditions are kept in disjunctive normal form (a set of clauses, each a set of marker strings) with
subsumption, and never simplified by meaning: an equivalent but longer marker is still correct. A condition
that grows past ``MAX_CLAUSES`` becomes "everywhere" (None), the safe side for a security tool (a package
reported as installed where it may not be, never the reverse).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

MAX_CLAUSES = 16
MAX_CLAUSE_MARKERS = 8  # a longer AND is cut to its first markers: fewer conditions, so more places (safe side)
Clause = frozenset[str]
Condition = frozenset[Clause]  # empty frozenset: never; containing the empty clause: always
ALWAYS: Condition = frozenset({frozenset()})
NEVER: Condition = frozenset()


def _and(condition: Condition, marker: str | None) -> Condition:
    if not marker:
        return condition
    return frozenset(clause | {marker} if len(clause) < MAX_CLAUSE_MARKERS else clause for clause in condition)


def _or(first: Condition, second: Condition) -> Condition:
    merged = first | second
    if frozenset() in merged:
        return ALWAYS
    # subsumption: a clause that includes another (stricter) adds nothing
    kept = frozenset(c for c in merged if not any(o < c for o in merged))
    return ALWAYS if len(kept) > MAX_CLAUSES else kept


def propagate(roots: Iterable[tuple[Hashable, str | None]],
              edges: dict[Hashable, list[tuple[Hashable, str | None]]]) -> dict[Hashable, Condition]:
    """The condition of every node reachable from ``roots`` ((node, marker) pairs) along ``edges`` (node ->
    [(target, marker)]); a fixed point, so cycles end."""
    conditions: dict[Hashable, Condition] = {}
    pending: list[Hashable] = []

    def reach(node: Hashable, condition: Condition) -> None:
        old = conditions.get(node, NEVER)
        new = _or(old, condition)
        if new != old:
            conditions[node] = new
            pending.append(node)

    for node, marker in roots:
        reach(node, _and(ALWAYS, marker))
    steps, budget = 0, 4 * sum(len(targets) for targets in edges.values()) + 10_000
    while pending:
        steps += 1
        if steps > budget:  # a hostile graph: stop refining; everything reached is reported everywhere
            return dict.fromkeys(conditions, ALWAYS)
        node = pending.pop()
        for target, marker in edges.get(node, ()):
            reach(target, _and(conditions[node], marker))
    return conditions


def as_marker(condition: Condition) -> str | None:
    """A PEP 508 marker string, None when the package is installed everywhere."""
    if frozenset() in condition or not condition:
        return None

    def clause(markers: Clause) -> str:
        parts = sorted(markers)
        return parts[0] if len(parts) == 1 else " and ".join(f"({m})" for m in parts)

    clauses = sorted(clause(c) for c in condition)
    return clauses[0] if len(clauses) == 1 else " or ".join(f"({c})" for c in clauses)
