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
    assert logic.snapshot_subset("mev-2026") == "\"snapshot_id\" = 'mev-2026'"
    assert logic.snapshot_subset("o'brien") == "\"snapshot_id\" = 'o''brien'"
    assert set(logic.SNAPSHOT_COLLECTIONS) <= set(logic.GROUPS["Results / Ergebnisse"])
    assert logic.snapshot_items_path("gigabit_result", "mev 2026/ä") == \
        "/collections/gigabit_result/items?snapshot_id=mev+2026%2F%C3%A4&limit=10000"
    page = {"links": [{"rel": "self", "href": "http://h:8080/x"},
                      {"rel": "next", "href": "http://h:8080/collections/gigabit_result/items?cursor=abc&limit=10"}]}
    assert logic.next_page_path(page, "h:8080") == "/collections/gigabit_result/items?cursor=abc&limit=10"
    assert logic.next_page_path({"links": []}, "h:8080") is None
    assert logic.snapshot_file_name("gigabit_result", "mev/2026 ä") == "gigabit_result__mev_2026_.geojson"


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
