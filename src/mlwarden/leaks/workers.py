"""The leak scan of one file, in this process or in a pool worker.

detect-secrets keeps its configuration in process-wide settings, so each worker process configures it once
(`start`) and keeps that context for its life; this module-level slot is the one piece of per-process state,
set only here.
"""

from __future__ import annotations

from pathlib import Path

from mlwarden.findings import Finding, ScanError
from mlwarden.leaks.scanner import Context, scan_file_result
from mlwarden.leaks.secrets import Detector
from mlwarden.policy.model import Policy

_CONTEXT: list[Context] = []


def start(root: Path, policy: Policy, baseline: dict[str, set[str]]) -> None:
    detector = Detector().__enter__()
    _CONTEXT[:] = [Context(root=root, policy=policy, detector=detector, baseline=baseline)]


def stop() -> None:
    if _CONTEXT:
        _CONTEXT[0].detector.__exit__(None, None, None)
        _CONTEXT.clear()


def scan_one(job: tuple[str, str]) -> tuple[list[Finding], list[Finding], list[Finding]]:
    """(findings, waived by .secrets.baseline, suppressed inline) of one file."""
    result = scan_file_result(Path(job[0]), job[1], _CONTEXT[0])
    return result.findings, result.waived, result.suppressed


def scan_isolated(job: tuple[str, str]) -> tuple[list[Finding], list[Finding], list[Finding]] | ScanError:
    """``scan_one`` that turns a failure on this file into its ScanError: one bad file never stops the
    scan of the others (in a pool, an exception would end the whole map)."""
    from mlwarden.errors import MlwardenError

    try:
        return scan_one(job)
    except MlwardenError as exc:
        return ScanError(job[1], str(exc))
    except Exception as exc:  # noqa: BLE001 - any failure on one file is that file's error, never the run's
        return ScanError(job[1], f"could not be checked: internal error ({type(exc).__name__}: {exc})")
