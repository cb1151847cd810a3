"""Plugin logic that needs no QGIS: URLs, connection messages, process inputs, styles, the zip."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pytest

PLUGIN = Path(__file__).resolve().parent.parent / "qgis_plugin"
sys.path.insert(0, str(PLUGIN))

from netzatlas_qgis import logic  # noqa: E402


def test_normalise_url():
    assert logic.normalise_url("localhost:8080/") == "http://localhost:8080"
    assert logic.normalise_url(" https://atlas.aachen.de/api/ ") == "https://atlas.aachen.de/api"
    for bad in ("", "ftp://x", "http://"):
        with pytest.raises(ValueError):
            logic.normalise_url(bad)


def test_connection_messages():
    assert logic.classify_connection(None, None, "Connection refused").startswith("unreachable")
    assert logic.classify_connection(401, b"{}").startswith("bad key")
    assert logic.classify_connection(200, b"<html>").startswith("not a netzatlas API")
    assert logic.classify_connection(200, b'{"title": "GeoServer", "links": []}').startswith("not a netzatlas")
    assert logic.classify_connection(200, b'{"title": "netzatlas", "links": [{"rel": "data"}]}') == "ok"
    assert logic.classify_connection(500, b"").startswith("not a netzatlas API")


def test_process_inputs_typed_and_defaults_left_to_the_server():
    body = logic.process_inputs("wifi-siting", {"k": "5", "radius_m": "70", "certify": 0})
    assert body == {"inputs": {"k": 5, "radius_m": 70.0, "certify": False}}
    assert logic.process_inputs("gigabit-classify", {"programme": "bund-2015", "reference_date": ""}) == \
        {"inputs": {"programme": "bund-2015"}}
    assert set(logic.PROCESSES) == set(logic.LAYER_OUTPUT)


def test_styles_and_uri():
    assert logic.style_for("streetlight") == "streetlight.qml"
    assert logic.style_for("something_new") == "generic.qml"
    for group in logic.GROUPS.values():
        for c in group:
            if c not in ("candidate_site",):
                assert (PLUGIN / "netzatlas_qgis" / "styles" / logic.style_for(c)).exists() or \
                    logic.style_for(c) == f"{c}.qml"
    uri = logic.oapif_uri("localhost:8080", "streetlight", "abc123")
    assert "url='http://localhost:8080'" in uri and "typename='streetlight'" in uri and "authcfg='abc123'" in uri


def test_one_snapshot_is_chosen_default_the_newest():
    snaps = [{"id": "mev-2025", "programme": "gigabit-rl-2.0-2024", "reference_date": "2025-06-01",
              "created_at": "2025-06-02T10:00:00+00:00", "created_by": "analyst"},
             {"id": "mev-2026", "programme": "gigabit-rl-2.0-2024", "reference_date": "2026-06-01",
              "created_at": "2026-06-03T09:30:00+00:00", "created_by": None},
             {"id": "test", "programme": "bund-2015", "reference_date": "2019-01-01",
              "created_at": "2026-01-01T00:00:00+00:00"}]
    assert logic.choose_snapshot(snaps) == "mev-2026"
    assert logic.choose_snapshot(snaps, "mev-2025") == "mev-2025"
    assert logic.choose_snapshot([]) is None
    with pytest.raises(ValueError, match="no snapshot 'x'"):
        logic.choose_snapshot(snaps, "x")
    assert [s["id"] for s in logic.order_snapshots(snaps)] == ["mev-2026", "test", "mev-2025"]
    assert logic.snapshot_label(snaps[0]) == ("mev-2025 — gigabit-rl-2.0-2024, Stichtag 2025-06-01 "
                                              "(2025-06-02 10:00, analyst)")
    assert set(logic.SNAPSHOT_COLLECTIONS) <= set(logic.GROUPS["Results / Ergebnisse"])
    # the server filters: the snapshot goes into the layer's URL (QGIS adds it to every request of the layer)
    uri = logic.oapif_uri("h:8080", "gigabit_result", "cfg1", logic.snapshot_params("mev 2026/ä'x"))
    assert "url='http://h:8080?snapshot_id=mev+2026%2F%C3%A4%27x'" in uri and "typename='gigabit_result'" in uri
    assert "'" not in uri.split("url='")[1].split("' typename")[0]  # a quote in the id cannot end the value
    assert "?" not in logic.oapif_uri("h:8080", "streetlight").split("typename")[0]


def test_result_style_per_process():
    """Each process's result layer gets the cartography's style for what it holds."""
    assert set(logic.RESULT_STYLE) == set(logic.PROCESSES)
    for pid in logic.PROCESSES:
        assert (PLUGIN / "netzatlas_qgis" / "styles" / logic.result_style(pid)).exists(), pid
    assert logic.result_style("gigabit-classify") == "gigabit_result.qml"          # classes weiß … gigabitfähig
    assert logic.result_style("mobile-coverage-holes") == "coverage_hole_result.qml"  # outdoor / indoor
    assert logic.result_style("something-new") == "generic.qml"


def test_mast_request_feature_and_messages():
    f = logic.mast_request_feature(6.08391234567, 50.7753, " Vodafone ", 300, "2026-11-02", "rooftop", 25, "NR", 8)
    assert f == {"type": "Feature", "geometry": {"type": "Point", "coordinates": [6.0839123, 50.7753]},
                 "properties": {"operator": "Vodafone", "technology": "NR", "radius_m": 300.0,
                                "desired_height_m": 25.0, "received_on": "2026-11-02", "coordination_weeks": 8,
                                "site_type": "rooftop"}}
    assert "site_type" not in logic.mast_request_feature(6.0, 50.0, "T", 100, "2026-01-05", None)["properties"]
    for args, msg in [(("", 300, "2026-11-02"), "operator"), (("T", 0, "2026-11-02"), "radius"),
                      (("T", 300, "2.11.2026"), "not a date"), (("T", 300, "2026-11-02", "hut"), "site type")]:
        with pytest.raises(ValueError, match=msg):
            logic.mast_request_feature(6.0, 50.0, *args)
    with pytest.raises(ValueError, match="longitude"):
        logic.mast_request_feature(320000.0, 5620000.0, "T", 300, "2026-11-02")  # map units, not degrees
    problem = b'{"title": "Forbidden", "status": 403, "detail": "this key may not write mast_request", ' \
              b'"hint": "it has the scopes read"}'
    assert logic.api_message(403, problem) == "HTTP 403: this key may not write mast_request (it has the scopes read)"
    assert logic.api_message(502, b"<html>Bad Gateway</html>") == "HTTP 502: <html>Bad Gateway</html>"
    assert logic.api_message(500, b"") == "HTTP 500"
    line = logic.request_summary({"operator": "T", "radius_m": 300.0, "received_on": "2026-11-02",
                                  "deadline": "2026-12-28", "days_left": 28})
    assert line == ("Standortanfrage T (300 m) vom 2026-11-02: Frist 2026-12-28, noch 28 Tage / deadline "
                    "2026-12-28, 28 days left")


def test_metadata_and_zip(tmp_path):
    import configparser

    cfg = configparser.ConfigParser()
    cfg.read(PLUGIN / "netzatlas_qgis" / "metadata.txt", encoding="utf-8")
    g = cfg["general"]
    assert g["qgisMinimumVersion"] == "3.22" and g["hasProcessingProvider"] == "yes"
    sys.path.insert(0, str(PLUGIN))
    import build_zip

    z = build_zip.build(tmp_path)
    names = zipfile.ZipFile(z).namelist()
    assert "netzatlas_qgis/metadata.txt" in names and "netzatlas_qgis/__init__.py" in names
    assert all(n.startswith("netzatlas_qgis/") for n in names)
    assert not any("__pycache__" in n for n in names)
