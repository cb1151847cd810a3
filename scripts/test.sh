#!/usr/bin/env bash
# One command for the whole test suite: set everything up (incl. test tools), then run pytest
# against a real PostgreSQL + PostGIS that the tests start themselves (tests/conftest.py).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
.venv/bin/ruff check .
exec .venv/bin/python -m pytest -p no:cacheprovider "$@"
