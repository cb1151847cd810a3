"""The connection dialog (headless: fields, test button, German and English messages, storing on OK) and the
result styles applied by Processing's post-processor when an algorithm's layer is loaded."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from qgis.core import (
    QgsApplication,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProject,
    QgsSettings,
    QgsVectorLayer,
)

from .conftest import _free_port


@pytest.fixture
def dialog(plugin):
    from netzatlas_qgis.connection_dialog import ConnectionDialog

    d = ConnectionDialog()
    yield d
    d.deleteLater()


def test_dialog_labels_in_both_languages(dialog):
    assert "Verbindung" in dialog.windowTitle() and "Connection" in dialog.windowTitle()
    assert "Verbindung testen" in dialog.test_button.text() and "Test connection" in dialog.test_button.text()


@pytest.mark.parametrize("case,headline,english", [
    ("unreachable", "Server nicht erreichbar", "unreachable"),
    ("bad_key", "Schlüssel abgelehnt", "bad key"),
    ("not_netzatlas", "Kein netzatlas-Server", "not a netzatlas API"),
    ("bad_url", "Ungültige Adresse", "invalid url"),
])
def test_dialog_says_what_is_wrong(dialog, connected, registry, api, case, headline, english):
    url, key = {"unreachable": (f"http://127.0.0.1:{_free_port()}", ""), "bad_key": (api, "na_deadbeef_wrong"),
                "not_netzatlas": (api + "/conformance", ""), "bad_url": ("ftp://example.org", "")}[case]
    dialog.url_edit.setText(url)
    dialog.key_edit.setText(key)
    dialog.test_button.click()
    assert dialog.status.text().startswith(headline), dialog.status.text()
    assert english in dialog.status.text()
    dialog.accept()  # refused: the dialog stays open with the message
    assert dialog.result() != dialog.Accepted
    from netzatlas_qgis.client import Client

    assert Client().key == registry["key"] and Client().url == connected.url  # the stored connection untouched


def test_dialog_ok_stores_key_and_url(dialog, api, registry):
    from netzatlas_qgis.client import SETTINGS_AUTHCFG, SETTINGS_URL, Client, read_key

    dialog.url_edit.setText(api + "/")
    dialog.key_edit.setText(registry["key"])
    dialog.accept()
    assert dialog.result() == dialog.Accepted
    assert dialog.status.text().startswith("Verbindung in Ordnung")
    s = QgsSettings()
    assert s.value(SETTINGS_URL) == api
    assert read_key(s.value(SETTINGS_AUTHCFG)) == registry["key"]
    assert Client().test() == "ok"


@pytest.mark.parametrize("process_id,count", [("charging-gaps", 5), ("mast-request-evaluation", 3),
                                              ("wifi-siting", 2)])
def test_result_layer_styled_on_load(connected, registry, tmp_path, process_id, count):
    """An algorithm's output queued for loading gets the shipped QML once Processing loads it."""
    import processing
    from netzatlas_qgis.logic import PROCESSES
    from netzatlas_qgis.processing.result_styles import attach_style, style_path

    alg = PROCESSES[process_id][0]
    params = {"request_id": registry["request_id"]} if process_id == "mast-request-evaluation" else {}
    if process_id == "charging-gaps":
        params["gap_distance_m"] = 500
    if process_id == "wifi-siting":
        params["k"] = 2
    target = str(tmp_path / f"{alg}.geojson")
    project = QgsProject()
    context = QgsProcessingContext()
    context.setProject(project)
    feedback = QgsProcessingFeedback()
    processing.run(f"netzatlas:{alg}", {**params, "OUTPUT": target}, context=context, feedback=feedback)
    assert context.willLoadLayerOnCompletion(target)  # the algorithm queued its result for loading
    post = attach_style(context, target, process_id)
    assert post is not None
    # what Processing's result handler does after the run
    details = context.layerToLoadOnCompletionDetails(target)
    layer = QgsVectorLayer(target, details.name, "ogr")
    assert layer.isValid() and layer.featureCount() == count
    details.project.addMapLayer(layer)
    details.postProcessor().postProcessLayer(layer, context, feedback)
    qml = ET.parse(style_path(process_id)).getroot().find("renderer-v2")
    assert layer.renderer().type() == qml.get("type")
    if qml.get("type") == "categorizedSymbol":
        assert layer.renderer().classAttribute() == "kind"
        assert {f["kind"] for f in layer.getFeatures()} <= {c.value() for c in layer.renderer().categories()}
    project.clear()
    assert QgsApplication.processingRegistry().providerById("netzatlas") is not None
