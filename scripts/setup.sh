#!/usr/bin/env bash
# Set up netzatlas on Debian 12 or 13: system packages (PostgreSQL server, the PostGIS package that
# matches its major version, GDAL tools), then .venv with the netzatlas package.
#   bash scripts/setup.sh           # what the demo and the server need
#   bash scripts/setup.sh --dev     # also what the tests need (headless Chromium, QGIS, benchmark peers)
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

DEV=0
for arg in "$@"; do
  case "$arg" in
    --dev) DEV=1 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "unknown option: $arg" >&2; exit 2 ;;
  esac
done

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "Run as root or install sudo: system packages are needed." >&2; exit 1; fi
fi
export DEBIAN_FRONTEND=noninteractive

need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
want() { for p in "$@"; do have_pkg "$p" || need+=("$p"); done; }

want postgresql postgresql-contrib gdal-bin proj-data python3 python3-venv python3-dev ca-certificates  # proj-data: BETA2007 grid (exact Gauss-Krüger)
if [ "$DEV" = 1 ]; then
  want chromium python3-qgis qgis-providers xvfb xauth
  want python3-gdal  # bench/bench_coverage.py: GDAL's in-process viewshed (system python; the venv has no osgeo)
fi

APT_UPDATED=0
apt_update() { if [ "$APT_UPDATED" = 0 ]; then $SUDO apt-get update -qq; APT_UPDATED=1; fi; }
if [ "${#need[@]}" -gt 0 ]; then
  echo "==> installing system packages: ${need[*]}"
  apt_update
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# PostGIS for the installed PostgreSQL major version (detected, not assumed).
PG_MAJOR=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! ls "/usr/share/postgresql/$PG_MAJOR/extension/"postgis*.control >/dev/null 2>&1; then
  apt_update
  POSTGIS_PKG=$(apt-cache search --names-only "^postgresql-$PG_MAJOR-postgis-[0-9]+$" | awk '{print $1}' | sort -V | tail -1)
  if [ -z "$POSTGIS_PKG" ]; then
    echo "No PostGIS package found for PostgreSQL $PG_MAJOR (looked for postgresql-$PG_MAJOR-postgis-N)." >&2
    exit 1
  fi
  echo "==> installing $POSTGIS_PKG for PostgreSQL $PG_MAJOR"
  $SUDO apt-get install -y -qq --no-install-recommends "$POSTGIS_PKG" >/dev/null
fi

# The project's Python: Debian's python3 (3.11 on Debian 12, 3.13 on Debian 13).
PY=/usr/bin/python3
"$PY" -c 'import sys; assert sys.version_info >= (3, 11), sys.version' || {
  echo "netzatlas needs Python >= 3.11" >&2; exit 1; }
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PY" -m venv .venv
fi
STAMP=.venv/.netzatlas-installed
EXTRAS="dev"
[ "$DEV" = 1 ] && EXTRAS="dev,bench"
if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ] || ! grep -qx "$EXTRAS" "$STAMP"; then
  echo "==> installing netzatlas and its Python packages into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[$EXTRAS]"
  echo "$EXTRAS" > "$STAMP"
fi
echo "==> ready: PostgreSQL $PG_MAJOR with PostGIS, $(.venv/bin/python --version), GDAL $(gdal-config --version 2>/dev/null || ogrinfo --version | awk '{print $2}' | tr -d ,)"
