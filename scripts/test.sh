#!/usr/bin/env bash
# The test command (README "Run the tests"; .ci/run calls it): builds .venv, installs mlwarden with its
# test dependencies, then runs ruff, mypy --strict and pytest. Needs only python3 (3.10+) and git.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
.venv/bin/ruff check src tests scripts benchmarks
.venv/bin/mypy
.venv/bin/mlwarden sbom check --check
.venv/bin/pytest -p no:cacheprovider
