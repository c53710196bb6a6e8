"""Lock files are scanned only for credentials in URLs (issue 13): detect-secrets skips lock files (hashes and
URLs only, and a 1.5 MB uv.lock cost seconds), but a private index's `user:password@` or a token in a git URL
is a real leak and must still be found. Tokens here are generated (see test_precision)."""

from __future__ import annotations

from unittest import mock

from mlwarden.leaks.scanner import Context
from tests.leaks.test_precision import GITHUB_OK, SHA256, ctx, loud, scan

__all__ = ["ctx"]  # the fixture, used by name


def test_lock_file_keeps_credentials_in_urls_and_skips_the_rest(ctx: Context) -> None:
    password = "Zq8" + "xK2vLp9" * 3  # generated
    lock = "".join(
        f'[[package]]\nname = "pkg{i}"\nversion = "1.0"\nsource = {{ registry = "https://pypi.org/simple" }}\n'
        f'sdist = {{ url = "https://x/pkg{i}.tar.gz", hash = "sha256:{SHA256}" }}\n' for i in range(2000))
    lock += ('[[package]]\nname = "internal"\n'
             f'source = {{ registry = "https://deploy:{password}@pypi.internal.example/simple" }}\n'
             f'[[package]]\nname = "gated"\n'
             f'sdist = {{ url = "https://files.example/gated.tar.gz?token={GITHUB_OK}" }}\n')
    result = scan(ctx, "uv.lock", lock)
    found = {(f.location.line, f.message.split(":")[0]) for f in loud(result.findings, "MW401")}
    lines = lock.splitlines()
    basic = next(n for n, line in enumerate(lines, 1) if "deploy:" in line)
    token = next(n for n, line in enumerate(lines, 1) if "ghp_" in line)
    assert (basic, "Basic Auth Credentials") in found
    assert token in {line for line, _ in found}
    assert all(line in (basic, token) for line, _ in found), found


def test_lock_file_without_credentials_in_urls_hands_no_line_to_the_detector(ctx: Context) -> None:
    lock = "".join(f'[[package]]\nname = "p{i}"\n'
                   f'wheels = [{{ url = "https://x/p{i}.whl", hash = "sha256:{SHA256}" }}]\n' for i in range(500))
    with mock.patch.object(ctx.detector, "scan", wraps=ctx.detector.scan) as spy:
        result = scan(ctx, "poetry.lock", lock)
    assert loud(result.findings) == []
    assert spy.call_args_list
    assert all(call.args[0] == [] for call in spy.call_args_list)


def test_the_same_lines_outside_a_lock_file_are_all_scanned(ctx: Context) -> None:
    text = f'token = "{GITHUB_OK}"\n'
    assert loud(scan(ctx, "settings.toml", text).findings, "MW401")
    assert loud(scan(ctx, "poetry.lock", text).findings, "MW401") == []  # no URL: a lock holds none


def test_token_as_the_user_of_a_url_is_found(ctx: Context) -> None:
    # git+https://<token>@github.com/org/repo: the classic way a token leaks into requirements and locks
    for name in ("requirements.txt", "uv.lock"):
        text = f"private @ git+https://{GITHUB_OK}@github.com/org/private.git@v1\n"
        found = loud(scan(ctx, name, text).findings, "MW401")
        assert [f.message.split(":")[0] for f in found] == ["GitHub Token"], (name, found)
    blob = "data = 'QUJD" + GITHUB_OK.replace("_", "") + "/ghp_" + GITHUB_OK[4:] + "xyz'\n"
    assert not loud(scan(ctx, "blob.py", blob).findings, "MW401")  # inside base64: part of the blob
