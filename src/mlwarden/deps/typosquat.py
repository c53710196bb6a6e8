"""Typosquat detection against the most-downloaded PyPI names (src/mlwarden/deps/top_packages.txt).

A name in that list is popular in its own right and is never a squat (``dash`` is not a squat of ``dask``).
Any other name is compared, after PEP 503 normalisation, with the popular names using the patterns real
malware names follow (tests/data/typosquats/malicious.tsv lists the ones we measure against):

- separators added, removed or swapped (``setup-tools``, ``scikitlearn``);
- a ``python``/``py`` prefix or a ``-python``/``-py``/``-dev``/``-lib``/``2``/``3`` suffix added, removed or moved
  (``python-mongo`` for ``pymongo``, ``pythonkafka`` for ``kafka-python``, ``python3-dateutil``);
- homoglyphs (``l``/``1``/``i``, ``0``/``o``, ``rn``/``m``, ``vv``/``w``: ``jeIlyfish``);
- one edit: two swapped neighbours, a doubled, missing, extra or changed character (``pandaas``, ``urlib3``,
  ``djanga``). Length scales the threshold: a four-letter name is one edit from too many others, so only a
  swap or a doubled letter counts there, and nothing shorter is compared.

The target is the most popular name any pattern reaches. The severity says how strong the evidence is: high
for a look-alike of one of the HIGH_RANK most downloaded names, or of the HIGH_RANK_STRONG first for the
patterns that are rarely innocent (doubled letters, swaps, homoglyphs, separators); medium otherwise, and for
a name that only drops an affix (``spark``/``pyspark``: real projects are often named so).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from mlwarden.findings import Severity
from mlwarden.policy.model import canonicalize_name

MIN_LENGTH = 4  # shorter names are one edit from too many others to say anything
MIN_EDIT_LENGTH = 5  # below this, only a swap of neighbours or a doubled letter counts as one edit
HIGH_RANK = 1000  # a look-alike of a name this popular is reported at high, whatever the pattern
HIGH_RANK_STRONG = 3000  # ... and down to this rank for the patterns that are rarely innocent
_STRONG = ("double", "swap", "homoglyph", "separator")
MIN_CORE = 4  # an affix is only stripped when at least this much of the name remains

_PREFIXES = ("python3-", "python2-", "python-", "python3", "python", "py3-", "py-", "py3", "py")
_SUFFIXES = ("-python3", "-python", "python", "-py3", "-py", "py3", "py", "-dev", "-lib", "lib", "-2", "-3", "2",
             "3")
_HOMOGLYPHS = (("rn", "m"), ("vv", "w"), ("1", "l"), ("i", "l"), ("0", "o"))


@dataclass(frozen=True)
class Match:
    """A name that imitates a popular package: which one, how, and how sure we are."""

    name: str  # the canonical candidate
    target: str  # the popular package it imitates (canonical)
    target_rank: int  # 1 = the most downloaded
    pattern: str  # "separator", "affix", "homoglyph", "swap", "double", "insert", "delete", "substitute"
    severity: Severity

    def describe(self) -> str:
        return f"{self.name!r} looks like {self.target!r} (#{self.target_rank} on PyPI; {_PATTERN_TEXT[self.pattern]})"


_PATTERN_TEXT = {
    "separator": "separators changed", "affix": "a py/python prefix or suffix changed",
    "homoglyph": "look-alike characters", "swap": "two letters swapped", "double": "a letter doubled",
    "insert": "one character added", "delete": "one character missing", "substitute": "one character changed",
}


@lru_cache(maxsize=1)
def _ranks() -> dict[str, int]:
    text = (Path(__file__).parent / "top_packages.txt").read_text(encoding="utf-8")
    names = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    ranks: dict[str, int] = {}
    for rank, name in enumerate(names, 1):
        ranks.setdefault(name, rank)
    return ranks


def is_popular(name: str) -> bool:
    """Whether the name is in the reference list of most-downloaded packages (and so never a squat)."""
    return canonicalize_name(name) in _ranks()


_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789-"


def _neighbours(name: str, ranks: dict[str, int]) -> set[str]:
    """The popular names one edit (deletion, swap, substitution, insertion) away from ``name``. Generating the
    ~40*len candidates and looking each up is faster than building a deletion index of the whole list, which
    would cost the hook half a second at start-up."""
    splits = [(name[:i], name[i:]) for i in range(len(name) + 1)]
    found: set[str] = set()
    for left, right in splits:
        if right:
            for variant in (left + right[1:],) + ((left + right[1] + right[0] + right[2:],) if len(right) > 1 else ()):
                if variant in ranks:
                    found.add(variant)
            for char in _ALPHABET:
                variant = left + char + right[1:]
                if variant in ranks:
                    found.add(variant)
        for char in _ALPHABET:
            variant = left + char + right
            if variant in ranks:
                found.add(variant)
    found.discard(name)
    return {n for n in found if len(n) >= MIN_LENGTH}


def _core(name: str) -> str:
    """The name without separators and without one py/python prefix and one known suffix."""
    core = name
    for prefix in _PREFIXES:
        if core.startswith(prefix) and len(core) - len(prefix) >= MIN_CORE:
            core = core[len(prefix):]
            break
    for suffix in _SUFFIXES:
        if core.endswith(suffix) and len(core) - len(suffix) >= MIN_CORE:
            core = core[: -len(suffix)]
            break
    return core.replace("-", "")


def _glyphs(name: str) -> str:
    out = name.replace("-", "")
    for seen, meant in _HOMOGLYPHS:
        out = out.replace(seen, meant)
    return out


@lru_cache(maxsize=1)
def _by_key() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """Separator-free form, affix-free core and homoglyph form -> the most popular name that has it."""
    plain: dict[str, str] = {}
    cores: dict[str, str] = {}
    glyphs: dict[str, str] = {}
    for name in _ranks():  # in rank order: setdefault keeps the most popular
        if len(name) < MIN_LENGTH:
            continue
        plain.setdefault(name.replace("-", ""), name)
        cores.setdefault(_core(name), name)
        glyphs.setdefault(_glyphs(name), name)
    return plain, cores, glyphs


def _edit(a: str, b: str) -> str | None:
    """The single edit that turns the popular name ``b`` into ``a``, or None when it takes more than one."""
    if a == b or abs(len(a) - len(b)) > 1:
        return None
    if len(a) == len(b):
        diffs = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diffs) == 1:
            i = diffs[0]
            held = (i > 0 and a[i - 1] == a[i]) or (i + 1 < len(a) and a[i + 1] == a[i])
            return "double" if held and a[i].isalpha() and b[i].isdigit() else "substitute"
        if len(diffs) == 2 and diffs[1] == diffs[0] + 1 and a[diffs[0]] == b[diffs[1]] and a[diffs[1]] == b[diffs[0]]:
            return "swap"
        return None
    if len(a) > len(b):
        for i in range(len(a)):
            if a[:i] + a[i + 1:] == b:
                doubled = (i > 0 and a[i - 1] == a[i]) or (i + 1 < len(a) and a[i + 1] == a[i])
                return "double" if doubled else "insert"
        return None
    return "delete" if _edit(b, a) is not None else None


def _segments(name: str) -> list[str]:
    """Hyphen-separated parts, a leading py/python counted apart (``pyvim``/``pyvis`` differ in a 3-letter part)."""
    parts = name.split("-")
    for prefix in ("python", "py"):
        if parts[0].startswith(prefix) and len(parts[0]) > len(prefix):
            parts[0:1] = [prefix, parts[0][len(prefix):]]
            break
    return parts


def _edit_counts(pattern: str, candidate: str, popular: str) -> bool:
    """Whether a one-edit difference is evidence. Length scales the threshold, and so does the place of the edit:
    a changed digit (``cuda11x``/``cuda12x``, ``ec2``/``ecs``) or an edit inside a short part of a hyphenated name
    (``django-typer``) is how related real packages are named, not how squats are."""
    if candidate.replace("-", "") == popular.replace("-", ""):
        return True  # only a separator added or removed
    if pattern == "substitute":
        i = next(i for i in range(len(candidate)) if candidate[i] != popular[i])
        if candidate[i].isdigit() or popular[i].isdigit():
            return False
    if pattern == "insert":
        i = next((i for i in range(len(popular)) if candidate[i] != popular[i]), len(popular))
        if candidate[i].isdigit() and 0 < i < len(candidate) - 1:
            return False  # a digit inside the name: html2docx, phono3py
    ours, theirs = _segments(candidate), _segments(popular)
    if len(ours) == len(theirs):
        changed = [(a, b) for a, b in zip(ours, theirs, strict=True) if a != b]
        shortest = min(len(changed[0][0]), len(changed[0][1])) if len(changed) == 1 else 0
    else:
        shortest = min(len(candidate), len(popular))
    if shortest >= MIN_EDIT_LENGTH:
        return True
    if len(ours) > 1 and pattern in ("insert", "delete"):  # ``scikit-lean``: the name as a whole is long
        return shortest >= MIN_LENGTH and min(len(candidate), len(popular)) >= 2 * MIN_EDIT_LENGTH
    return shortest >= MIN_LENGTH and pattern in ("swap", "double")


def typosquat_target(name: str) -> Match | None:
    """The popular package ``name`` imitates, with the pattern and a severity; None when it imitates none."""
    candidate = canonicalize_name(name)
    ranks = _ranks()
    if candidate in ranks or len(candidate) < MIN_LENGTH or not re.fullmatch(r"[a-z0-9-]+", candidate):
        return None
    found: dict[str, str] = {}  # popular name -> pattern (the strongest pattern per target)
    plain, cores, glyphs = _by_key()
    squeezed = candidate.replace("-", "")
    if squeezed in plain and plain[squeezed] != candidate:
        found[plain[squeezed]] = "separator"
    core = _core(candidate)
    if len(core) >= MIN_CORE and core in cores and cores[core] != candidate:
        found.setdefault(cores[core], "affix")
    glyph = _glyphs(candidate)
    if glyph in glyphs and glyphs[glyph] != candidate and glyph != squeezed:
        found.setdefault(glyphs[glyph], "homoglyph")
    for popular in _neighbours(candidate, ranks):
        pattern = _edit(candidate, popular)
        if pattern is not None and _edit_counts(pattern, candidate, popular):
            if candidate.replace("-", "") == popular.replace("-", ""):
                pattern = "separator"
            found.setdefault(popular, pattern)
    if not found:
        return None
    target = min(found, key=lambda n: ranks[n])
    pattern = found[target]
    rank = ranks[target]
    dropped = pattern == "affix" and _core(candidate) == squeezed  # ``spark`` for ``pyspark``: often a real name
    strong = rank <= HIGH_RANK or (pattern in _STRONG and rank <= HIGH_RANK_STRONG)
    severity = Severity.HIGH if strong and not dropped else Severity.MEDIUM
    return Match(candidate, target, rank, pattern, severity)


def lookalike(name: str) -> str | None:
    """The popular package ``name`` imitates, or None (kept for callers that only need the name)."""
    match = typosquat_target(name)
    return match.target if match is not None else None
