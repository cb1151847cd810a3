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
