"""GDAL's ogr2ogr as a raw-COPY peer: the same input file loaded into an unindexed table through the PostgreSQL
driver's COPY path (C++, no validation, no history) — what a GIS person would use to load a file directly."""

from __future__ import annotations

import shutil
import subprocess
import time


def ogr2ogr_copy(url: str, source: str, table: str) -> float | None:
    """Seconds to load ``source`` into ``table`` (dropped first) with ogr2ogr, COPY, EPSG:25832, no spatial index.
    None where ogr2ogr is not installed."""
    exe = shutil.which("ogr2ogr")
    if exe is None:
        return None
    cmd = [exe, "-f", "PostgreSQL", f"PG:{url}", source, "-nln", table, "-overwrite", "-t_srs", "EPSG:25832",
           "-lco", "SPATIAL_INDEX=NONE", "-lco", "GEOMETRY_NAME=geom", "-gt", "unlimited",
           "--config", "PG_USE_COPY", "YES"]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t0
