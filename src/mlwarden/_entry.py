"""The console script's entry point. Importing click and the CLI takes tens of milliseconds; a Ctrl-C in
that window must end the run with the usual one line and exit 130, never a traceback. Until the CLI's own
handling is in place, SIGINT exits at once (nothing has been written yet, so nothing is left half-done)."""

from __future__ import annotations

import os
import signal
import sys


def _interrupted_early(_signum: int, _frame: object) -> None:
    try:
        sys.stderr.write("mlwarden: interrupted\n")
        sys.stderr.flush()
    finally:
        os._exit(130)


def main() -> int:
    previous = signal.signal(signal.SIGINT, _interrupted_early)
    try:
        from mlwarden.cli import main as cli_main
    finally:
        # From here on, KeyboardInterrupt is raised and the CLI turns it into exit 130 after cleaning up.
        signal.signal(signal.SIGINT, previous if previous is not None else signal.default_int_handler)
    try:
        return cli_main()
    except KeyboardInterrupt:  # in the instant before the CLI's own handler is entered
        sys.stderr.write("mlwarden: interrupted\n")
        return 130
