#!/bin/sh
# Create (idempotently) the virtual environment the headless QGIS tests run in:
# Debian's system python (which has python3-qgis) with its site packages visible, plus pytest.
#   qgis_plugin/setup_qgis_venv.sh            -> /work/main/.venv-qgis (the checkout's .venv-qgis)
#   NETZATLAS_QGIS_VENV=/path qgis_plugin/setup_qgis_venv.sh
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${NETZATLAS_QGIS_VENV:-$ROOT/.venv-qgis}
PY=${NETZATLAS_QGIS_PYTHON:-/usr/bin/python3}

if ! "$PY" -c "import qgis.core" >/dev/null 2>&1; then
    echo "setup_qgis_venv: $PY cannot import qgis.core; install QGIS's Python bindings (apt-get install python3-qgis)" >&2
    exit 1
fi
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import qgis.core, pytest" >/dev/null 2>&1; then
    exit 0  # already there
fi
"$PY" -m venv --system-site-packages "$VENV"
if ! "$VENV/bin/python" -c "import pytest" >/dev/null 2>&1; then
    "$VENV/bin/pip" install --quiet --disable-pip-version-check pytest
fi
"$VENV/bin/python" -c "import qgis.core, pytest"
echo "setup_qgis_venv: $VENV ready"
