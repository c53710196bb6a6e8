"""Typosquat detection against the most-downloaded PyPI names (src/mlwarden/deps/top_packages.txt).

A name is suspicious when it is not itself popular and, after PEP 503 normalisation, is one edit away from a
much more popular name (a substitution, insertion or deletion, two swapped neighbours, a doubled or missing
character), or differs only by separators or a py/python prefix or suffix.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from mlwarden.policy.model import canonicalize_name

MIN_LENGTH = 4  # shorter names are one edit from too many others to say anything
RANK_GAP = 50  # the popular name must rank this much better than the candidate (or the candidate is unranked)


@lru_cache(maxsize=1)
def _ranks() -> dict[str, int]:
    text = (Path(__file__).parent / "top_packages.txt").read_text(encoding="utf-8")
    names = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return {name: rank for rank, name in enumerate(names, 1)}


@lru_cache(maxsize=1)
def _deletion_index() -> dict[str, list[str]]:
    index: dict[str, list[str]] = {}
    for name in _ranks():
        if len(name) < MIN_LENGTH:
            continue
        for variant in _deletions(name) | {name}:
            index.setdefault(variant, []).append(name)
    return index


@lru_cache(maxsize=1)
def _squashed() -> dict[str, str]:
    """Names with separators removed and py/python affixes stripped -> the most popular original."""
    out: dict[str, str] = {}
    for name in _ranks():
        out.setdefault(_squash(name), name)
    return out


def _deletions(name: str) -> set[str]:
    return {name[:i] + name[i + 1:] for i in range(len(name))}


def _squash(name: str) -> str:
    core = name.replace("-", "")
    for affix in ("python", "py"):
        if core.startswith(affix) and len(core) > len(affix) + 2:
            core = core[len(affix):]
        if core.endswith(affix) and len(core) > len(affix) + 2:
            core = core[: -len(affix)]
    return core


def _one_edit(a: str, b: str) -> bool:
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diffs = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diffs) == 1:
            return True
        return (len(diffs) == 2 and diffs[1] == diffs[0] + 1
                and a[diffs[0]] == b[diffs[1]] and a[diffs[1]] == b[diffs[0]])
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1:] == short for i in range(len(long)))


def lookalike(name: str) -> str | None:
    """The popular package ``name`` imitates, or None."""
    canonical = canonicalize_name(name)
    ranks = _ranks()
    own = ranks.get(canonical)
    if len(canonical) < MIN_LENGTH:
        return None
    best: str | None = None
    candidates = set()
    for variant in _deletions(canonical) | {canonical}:
        candidates.update(_deletion_index().get(variant, []))
    squashed = _squashed().get(_squash(canonical))
    if squashed:
        candidates.add(squashed)
    for popular in candidates:
        if popular == canonical:
            continue
        if not (_one_edit(canonical, popular) or _squash(popular) == _squash(canonical)):
            continue
        if own is not None and ranks[popular] + RANK_GAP > own:
            continue  # both are popular: two real packages
        if best is None or ranks[popular] < ranks[best]:
            best = popular
    return best
