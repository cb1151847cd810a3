"""Every netzatlas algorithm through processing.run against the live API: the server job runs, progress arrives
through the feedback, the output layer is loaded as QGIS loads it (``processing.runAndLoadResults``) — valid, with
the feature count the fixture implies, drawn with the cartography's renderer; cancelling dismisses the server job;
a model chains two algorithms as the graphical modeler does.

Expected counts, from tests/qgis/build_registry.py:
- 12 addresses, 4 with FTTB 1000/500 → 12 classified, 8 eligible; the 8 lie 28 m apart → 1 funding area;
- 8 populated 100 m cells 150 m apart, a charger at the west end: 3 cells within 500 m along the road,
  5 beyond → 5 charging gaps; one new charger (k=1) → 1 location;
- each cell in its own WLAN grid cell and only the westmost near the hotspot → top 5 priority areas = 5;
  k=2 new access points = 2; 8 streetlights, top 5 small-cell hosts = 5;
- the mast request ring (300 m) holds the existing mast, the city's roof site and the town hall (the
  streetlights are ≥ 330 m away) → 3 candidates;
- one mast (default LTE sector set, operator unknown): no populated cell below -105 dBm → 0 holes; at a
  strict -60 dBm everything away from the mast is one connected hole with people → 1.
"""

from __future__ import annotations

import json

import processing
import pytest
from qgis.core import QgsProcessingException, QgsProcessingFeedback, QgsProject, QgsVectorLayer, QgsWkbTypes

from .conftest import http_json
from .test_result_styles import assert_cartography_renderer

CASES = [
    # algorithm, parameters, expected features, geometry type
    ("gigabit_funding_areas", {"snapshot": "qgis-test", "link_distance_m": 150, "min_addresses": 5}, 1,
     QgsWkbTypes.PolygonGeometry),
    ("mobile_coverage_holes", {"resolution_m": 20, "threshold_dbm": -105}, 0, None),
    ("mobile_coverage_holes", {"resolution_m": 20, "threshold_dbm": -60}, 1, QgsWkbTypes.PolygonGeometry),
    ("mast_request_evaluation", {"threshold_dbm": -105}, 3, QgsWkbTypes.PointGeometry),
    # 8 lamps, at most 4 of them 150 m apart (the screening's default minimum spacing between small cells)
    ("small_cell_screening", {"top": 5}, 4, QgsWkbTypes.PointGeometry),
    ("wifi_priority", {"cell_size_m": 100, "top": 5}, 5, QgsWkbTypes.PolygonGeometry),
    ("wifi_siting", {"k": 2, "radius_m": 70, "certify": True}, 2, QgsWkbTypes.PointGeometry),
    ("charging_gaps", {"gap_distance_m": 500}, 5, QgsWkbTypes.PolygonGeometry),
    ("charging_siting", {"k": 1, "radius_m": 300, "certify": False}, 1, QgsWkbTypes.PointGeometry),
]


class Recorder(QgsProcessingFeedback):
    def __init__(self) -> None:
        super().__init__()
        self.progress: list[float] = []
        self.infos: list[str] = []
        self.progressChanged.connect(self.progress.append)

    def pushInfo(self, info: str) -> None:  # noqa: N802
        self.infos.append(info)
        super().pushInfo(info)


@pytest.fixture(scope="module")
def classified(connected):
    """gigabit_classify first: the funding areas need its snapshot."""
    fb = Recorder()
    res = processing.run("netzatlas:gigabit_classify", {"programme": 3, "reference_date": "2026-11-26",
                                                       "snapshot": "qgis-test"}, feedback=fb)
    return res, fb


def test_gigabit_classify(classified, api, registry):
    res, fb = classified
    assert res["FEATURES"] == 12
    assert fb.progress and max(fb.progress) == 100
    summary = json.loads(next(i for i in fb.infos if i.startswith("{")))
    assert summary["programme"] == "gigabit-rl-2.0-2024" and summary["eligible"] == 8
    items = http_json(api + "/collections/gigabit_result/items?snapshot_id=qgis-test&limit=100", registry["key"])
    assert len(items["features"]) == 12
    assert sum(f["properties"]["eligible"] for f in items["features"]) == 8


@pytest.mark.parametrize("alg,params,expected,geom", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_algorithm_output(classified, registry, tmp_path, alg, params, expected, geom):
    if alg == "mast_request_evaluation":
        params = {**params, "request_id": registry["request_id"]}
    from netzatlas_qgis.logic import PROCESSES

    target = tmp_path / f"{alg}.geojson"
    fb = Recorder()
    project = QgsProject.instance()
    project.clear()
    res = processing.runAndLoadResults(f"netzatlas:{alg}", {**params, "OUTPUT": str(target)}, feedback=fb)
    assert res["OUTPUT"] == str(target) and res["FEATURES"] == expected
    assert fb.progress and max(fb.progress) == 100, fb.progress
    (layer,) = project.mapLayers().values()  # what Processing loaded: the output file
    assert layer.isValid() and layer.source().startswith(str(target)), alg
    assert layer.featureCount() == expected
    if geom is not None:  # an empty FeatureCollection carries neither CRS nor geometry type
        assert layer.crs().authid() in ("EPSG:4326", "OGC:CRS84")
        assert layer.geometryType() == geom
        assert all(f.hasGeometry() and f.geometry().isGeosValid() for f in layer.getFeatures())
        assert_cartography_renderer(layer, next(p for p, spec in PROCESSES.items() if spec[0] == alg))
    project.clear()


def test_result_attributes(classified, registry, tmp_path):
    """The properties the analyses compute reach QGIS as fields."""
    out = tmp_path / "mast.geojson"
    processing.run("netzatlas:mast_request_evaluation", {"request_id": registry["request_id"], "OUTPUT": str(out)})
    kinds = sorted(f["kind"] for f in QgsVectorLayer(str(out), "m", "ogr").getFeatures())
    assert kinds == ["candidate_site", "existing_mast", "public_building"]
    out = tmp_path / "areas.geojson"
    processing.run("netzatlas:gigabit_funding_areas", {"snapshot": "qgis-test", "OUTPUT": str(out)})
    (area,) = QgsVectorLayer(str(out), "a", "ogr").getFeatures()
    assert area["addresses"] == 8 and area["trench_m"] > 0 and area["cost_eur"] > 0


def test_defaults_only(classified, tmp_path):
    """Every parameter has a usable default: small-cell screening with nothing but an output."""
    out = tmp_path / "cells.geojson"
    res = processing.run("netzatlas:small_cell_screening", {"OUTPUT": str(out)})
    assert res["FEATURES"] == 4  # default top 20; of the fixture's 8 lamps, 4 keep the default 150 m spacing


def test_server_error_becomes_a_processing_error(classified, tmp_path):
    with pytest.raises(QgsProcessingException, match="no snapshot"):
        processing.run("netzatlas:gigabit_funding_areas", {"snapshot": "does-not-exist",
                                                           "OUTPUT": str(tmp_path / "x.geojson")})
    with pytest.raises(QgsProcessingException, match="no mast request"):
        processing.run("netzatlas:mast_request_evaluation", {"request_id": "00000000-0000-0000-0000-000000000000",
                                                             "OUTPUT": str(tmp_path / "y.geojson")})


def test_cancel_dismisses_the_server_job(connected, api, registry, tmp_path):
    before = {j["jobID"] for j in http_json(api + "/jobs", registry["key"])["jobs"]}
    fb = QgsProcessingFeedback()
    fb.cancel()  # the user pressed Cancel: the algorithm must stop and dismiss the server's job
    with pytest.raises(QgsProcessingException, match="cancel"):
        processing.run("netzatlas:mobile_coverage_holes", {"resolution_m": 5, "OUTPUT": str(tmp_path / "h.geojson")},
                       feedback=fb)
    import time

    for _ in range(300):
        new = [j for j in http_json(api + "/jobs", registry["key"])["jobs"] if j["jobID"] not in before]
        if new and new[0]["status"] not in ("accepted", "running"):
            break
        time.sleep(0.2)
    assert len(new) == 1 and new[0]["processID"] == "mobile-coverage-holes"
    assert new[0]["status"] == "dismissed", new[0]
    assert not (tmp_path / "h.geojson").exists()


def test_model_chains_classification_and_funding_areas(connected, tmp_path):
    """What an analyst builds in the graphical modeler: classify, then funding areas of that snapshot."""
    from qgis.core import (
        QgsProcessingModelAlgorithm,
        QgsProcessingModelChildAlgorithm,
        QgsProcessingModelChildDependency,
        QgsProcessingModelChildParameterSource,
        QgsProcessingModelOutput,
    )

    static = QgsProcessingModelChildParameterSource.fromStaticValue
    model = QgsProcessingModelAlgorithm("gigabit", "netzatlas")
    classify = QgsProcessingModelChildAlgorithm("netzatlas:gigabit_classify")
    classify.generateChildId(model)
    classify.addParameterSources("snapshot", [static("qgis-model")])
    classify.addParameterSources("reference_date", [static("2026-11-26")])
    classify.addParameterSources("programme", [static(3)])
    model.addChildAlgorithm(classify)
    areas = QgsProcessingModelChildAlgorithm("netzatlas:gigabit_funding_areas")
    areas.generateChildId(model)
    areas.addParameterSources("snapshot", [static("qgis-model")])
    areas.setDependencies([QgsProcessingModelChildDependency(classify.childId())])
    out = QgsProcessingModelOutput("areas", "funding areas")
    out.setChildOutputName("OUTPUT")
    out.setChildId(areas.childId())
    areas.setModelOutputs({"areas": out})
    model.addChildAlgorithm(areas)
    model.updateDestinationParameters()
    dest = next(p.name() for p in model.destinationParameterDefinitions())
    target = tmp_path / "model_areas.geojson"
    res = processing.run(model, {dest: str(target)})
    assert QgsVectorLayer(str(target), "areas", "ogr").featureCount() == 1
    assert any(str(v) == str(target) for v in res.values())
