"""Every reproducer in tests/corpus/<area>/ replayed through its target (tests/fuzz/targets.py).

File names are <target>__<signature>__<digest>__<input name>.repro ('~' stands for '/' in the input name; the
.repro suffix keeps every tool, mlwarden's own self-checks included, from taking them for project files).
A reproducer of a bug in a module this suite does not own is listed in targets.KNOWN_BUGS and expected to
fail (strict: once the owner fixes it the test XPASSes, and the entry must be removed from KNOWN_BUGS)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fuzz.mutate import from_corpus
from tests.fuzz.targets import KNOWN_BUGS, TARGETS

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def _cases() -> Iterator[Any]:
    for path in sorted(CORPUS.glob("*/*.repro")):
        target_name, sig, _digest, name = path.name.removesuffix(".repro").split("__", 3)
        reason = KNOWN_BUGS.get(target_name, {}).get(sig)
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        yield pytest.param(path, target_name, name.replace("~", "/"), id=path.relative_to(CORPUS).as_posix(),
                           marks=marks)


@pytest.mark.parametrize(("path", "target_name", "name"), list(_cases()))
def test_reproducer(tmp_path: Path, path: Path, target_name: str, name: str) -> None:
    TARGETS[target_name].run(tmp_path, name, from_corpus(path.read_bytes()))


def test_corpus_names_are_well_formed() -> None:
    assert {p.name for p in CORPUS.glob("*/*")} == {p.name for p in CORPUS.glob("*/*.repro")}
    for path in CORPUS.glob("*/*.repro"):
        parts = path.name.split("__", 3)
        assert len(parts) == 4, path
        assert parts[0] in TARGETS, path


def test_every_known_bug_has_a_reproducer() -> None:
    filed = {tuple(p.name.split("__", 3)[:2]) for p in CORPUS.glob("*/*.repro")}
    for target_name, bugs in KNOWN_BUGS.items():
        for sig in bugs:
            assert (target_name, sig) in filed, f"{target_name}: {sig} has no reproducer in tests/corpus"
