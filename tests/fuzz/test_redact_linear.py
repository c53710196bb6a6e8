"""redact() is linear in the length of its text: the hostile campaign's 5 MB line in a Pipfile.lock held
`audit` over 20 s, every pattern that starts with a run of characters being tried at each start position."""

from __future__ import annotations

import time

import pytest

from mlwarden.redact import redact
from tests.fuzz.mutate import SECRET

N = 2_000_000


@pytest.mark.parametrize("text", [
    "a" * N + "=", ("a" * 255 + "@") * (N // 256), "a" * N + "@", "a." * (N // 2) + "@", "a:" * (N // 2) + "@",
    "-" * N + "@x", "//" * (N // 2) + "@x", "https://" + "b@" * (N // 2) + "/", "?token=" * (N // 7),
], ids=["run-then-equals", "at-every-256", "run-then-at", "dotted-run", "colon-run", "dash-run", "slashes",
        "many-at-in-userinfo", "many-queries"])
def test_redaction_is_linear(text: str) -> None:
    start = time.monotonic()
    redact(text)
    assert time.monotonic() - start < 5.0  # quadratic: minutes; linear: well under a second


def test_a_credential_after_a_long_run_is_still_masked() -> None:
    text = "c" * N + f" --index-url https://deploy:{SECRET}@pypi.internal.example/simple " + "d" * N
    assert SECRET not in redact(text)
    token = f"git+https://ghp_{SECRET}AAAAAAAAAAAAAAAAAAAAAA@github.com/acme/private.git"
    assert SECRET not in redact("x" * N + " " + token)
