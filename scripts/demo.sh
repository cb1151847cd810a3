#!/usr/bin/env bash
# One command for a new user: set everything up, then run the demo on the embedded database.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/netzatlas demo "$@"
