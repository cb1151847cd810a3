"""QGIS's own OAPIF provider (Debian's python3-qgis, headless) loads every collection with the right count."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).with_name("qgis_scripts") / "oapif_counts.py"


def test_qgis_loads_every_collection(live_server, conn):
    res = subprocess.run(["/usr/bin/python3", str(SCRIPT), live_server], capture_output=True, text=True,
                         timeout=600, env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": ""})
    assert res.returncode == 0, res.stderr[-2000:]
    counts = json.loads(res.stdout.strip().splitlines()[-1])
    public = [r["layer"] for r in conn.execute("SELECT layer FROM registry.layer_policy WHERE NOT public")]
    expected = {"fibre_address", "mobile_site", "wlan_hotspot", "streetlight", "charging_point", "municipality",
                "population_grid", "poi", "building", "road", "funding_area_result",
                "coverage_hole_result", "monument", "charging_evse", "charging_connector"}
    assert set(counts) == expected and not set(public) & set(counts)
    for name, info in counts.items():
        assert info["valid"], (name, info)
        n_db = conn.execute(f"SELECT count(*) AS n FROM registry.{name} WHERE deleted_at IS NULL").fetchone()["n"]
        assert info["count"] == n_db, (name, info["count"], n_db)
        conn.rollback()
    assert "height_m" in counts["streetlight"]["fields"]
