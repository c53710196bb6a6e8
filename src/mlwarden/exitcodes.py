"""The exit-code contract, in one place (the CLI maps every outcome to one of these)."""

EXIT_CLEAN = 0  # nothing at or above --fail-on
EXIT_FINDINGS = 1  # findings at or above --fail-on
EXIT_ERROR = 2  # usage, configuration or operational error; something could not be checked
EXIT_INTERRUPTED = 130  # Ctrl-C
