"""Mutations for the fuzz tests: byte-level (flip, cut, insert, duplicate) and structural (one field of a parsed
JSON/TOML/YAML document set to a value of the wrong type), plus a per-example time limit."""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import random
import signal
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# Deterministic (derandomize: same examples every run, no example database) and small, so the whole fuzz
# suite stays well under a minute; scripts/fuzz.py runs the same properties for as long as asked.
FUZZ = settings(max_examples=int(os.environ.get("MLWARDEN_FUZZ_EXAMPLES", "25")), deadline=None,
                derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])

SECRET = "Zq8s3cr3tPassw0rdXk"  # pragma: allowlist secret - planted in URLs; must never appear in any output
# Saved reproducers hold this placeholder instead (tests/corpus), so that secret scanners, mlwarden's own
# self-scan included, do not flag them; it is swapped back before a replay.
SECRET_PLACEHOLDER = "${MLWARDEN_FUZZ_SECRET}"


def to_corpus(data: bytes) -> bytes:
    return data.replace(SECRET.encode(), SECRET_PLACEHOLDER.encode())


def from_corpus(data: bytes) -> bytes:
    return data.replace(SECRET_PLACEHOLDER.encode(), SECRET.encode())
CREDENTIAL_URL = f"https://deploy:{SECRET}@pypi.internal.example/simple"
TOKEN_URL = f"git+https://ghp_{SECRET}AAAAAAAAAAAAAAAAAAAAAA@github.com/acme/private.git"

_WRONG: list[Any] = [
    None, 0, -1, 2**63, 1.5, math.inf, "", "x" * 300, [], {}, [[[[[]]]]], {"a": {"b": {"c": None}}}, True,
    [None, 1, "a"], CREDENTIAL_URL, TOKEN_URL, "../../../../etc/passwd", "\x1b[31mred\n", "é\u202e",
]


class Timeout(Exception):
    """One example ran longer than its time limit: a hang."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise Timeout in the main thread after ``seconds`` (SIGALRM; the fuzz tests run in the main thread)."""

    if os.environ.get("MLWARDEN_FUZZ_ALARM") == "0":  # under libFuzzer, which owns SIGALRM (its -timeout)
        yield
        return

    def fire(_signum: int, _frame: object) -> None:
        raise Timeout(f"no result after {seconds} s")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class Chooser(Protocol):
    """Where mutation choices come from: hypothesis (tests, shrinking) or random.Random (scripts/fuzz.py)."""

    def integer(self, low: int, high: int) -> int: ...
    def choice(self, options: Sequence[Any]) -> Any: ...
    def binary(self, max_size: int) -> bytes: ...


class HypothesisChooser:
    def __init__(self, data: st.DataObject) -> None:
        self.data = data

    def integer(self, low: int, high: int) -> int:
        return int(self.data.draw(st.integers(low, high)))

    def choice(self, options: Sequence[Any]) -> Any:
        return self.data.draw(st.sampled_from(list(options)))

    def binary(self, max_size: int) -> bytes:
        return bytes(self.data.draw(st.binary(max_size=max_size)))


class RandomChooser:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def integer(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)

    def choice(self, options: Sequence[Any]) -> Any:
        return self.rng.choice(list(options))

    def binary(self, max_size: int) -> bytes:
        return self.rng.randbytes(self.rng.randint(0, max_size))


_TOKENS = [b"[", b"{", b"]", b"}", b'"', b"'", b"\\", b"\n", b"\r", b"\x00", b"&a ", b"*a", b"-r ", b"\t", b"=",
           b"==", b"@", b"#", b" --hash=sha256:", b"\xef\xbb\xbf", b"\xff\xfe", b"\\\n", b"\x1b[2J"]


def mutate_bytes(seed: bytes, chooser: Chooser) -> bytes:
    raw = bytearray(seed)
    for _ in range(chooser.integer(1, 6)):
        if not raw:
            raw += chooser.binary(32)
            continue
        action = chooser.choice(["flip", "cut", "insert", "duplicate", "token"])
        pos = chooser.integer(0, len(raw) - 1)
        if action == "flip":
            raw[pos] = chooser.integer(0, 255)
        elif action == "cut":
            end = chooser.integer(pos, len(raw))
            del raw[pos:end]
        elif action == "insert":
            raw[pos:pos] = chooser.binary(16)
        elif action == "duplicate":
            end = min(len(raw), pos + chooser.integer(1, 64))
            raw[pos:pos] = raw[pos:end] * chooser.integer(1, 8)
        else:  # syntax that parsers treat specially
            raw[pos:pos] = chooser.choice(_TOKENS)
    return bytes(raw)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {k: (_replace(v, rest, new) if k == head else v) for k, v in value.items()}
    return [(_replace(v, rest, new) if i == head else v) for i, v in enumerate(value)]


def mutate_value(value: Any, chooser: Chooser, *, toml: bool = False) -> Any:
    """``value`` with 1-3 of its fields (or the whole document) replaced by a wrong-typed value."""
    for _ in range(chooser.integer(1, 3)):
        path = chooser.choice(list(_paths(value)))
        pool = [w for w in _WRONG if not (toml and _has_none(w))]
        if toml and not path:
            pool = [w for w in pool if isinstance(w, dict)]
        value = _replace(value, path, chooser.choice(pool))
    return value


def dump(value: Any, kind: str) -> str:
    if kind == "json":
        return json.dumps(value, default=str)
    if kind == "yaml":
        import yaml

        return str(yaml.safe_dump(value, allow_unicode=True))
    import tomlkit

    return tomlkit.dumps(value)


def tree_digest(root: Path) -> dict[str, str]:
    """sha256 of every regular file under ``root`` (links not followed): proof that no input changed."""
    out: dict[str, str] = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = Path(dirpath) / name
            if path.is_symlink() or not path.is_file():
                continue
            out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _has_none(value: Any) -> bool:
    # TOML has no null: such values cannot be written back, so they are not used for TOML documents.
    if value is None:
        return True
    if isinstance(value, dict):
        return any(_has_none(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_none(v) for v in value)
    return False
