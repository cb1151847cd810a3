"""Every algorithm's result, loaded the way QGIS loads it (``processing.runAndLoadResults`` → Processing's
``handleAlgorithmResults`` → the plugin's post-processor), carries the renderer of the shared cartography
(netzatlas/cartography.json, which also colours the web map and the reports): categorized where the cartography
has classes — same attribute, values, labels and colours — else a single symbol in the result's colour.
test_algorithms.py runs the eight layer-producing algorithms this way and checks them with
:func:`assert_cartography_renderer`; here the gigabit classification, whose result is its snapshot of
``gigabit_result``, loaded live through OAPIF and filtered on the server."""

from __future__ import annotations

import sys

import processing
import pytest
from qgis.core import QgsProject, QgsVectorLayer

from .conftest import ROOT

sys.path.insert(0, str(ROOT))
from netzatlas import cartography  # noqa: E402 - stdlib-only module of the project, read from the checkout


def cartography_key(qml_name: str) -> str:
    """The cartography entry a shipped QML is generated from (cartography.json → "qgis")."""
    q = cartography.definitions()["qgis"]
    return qml_name[:-4] if qml_name[:-4] in q["layer_styles"] else q["result_styles"][qml_name]


def _rgb(color) -> str:  # noqa: ANN001
    return f"#{color.red():02x}{color.green():02x}{color.blue():02x}"


def assert_cartography_renderer(layer: QgsVectorLayer, process_id: str) -> None:
    """The layer is drawn as the cartography draws the process's result."""
    from netzatlas_qgis.logic import result_style

    style = cartography.style(cartography_key(result_style(process_id)))
    renderer = layer.renderer()
    if style.classes:
        assert renderer.type() == "categorizedSymbol", (process_id, renderer.type())
        assert renderer.classAttribute() == style.attribute
        cats = renderer.categories()
        assert [c.value() for c in cats] == [c.value for c in style.classes]
        assert [c.label() for c in cats] == [c.label for c in style.classes]
        assert [_rgb(c.symbol().color()) for c in cats] == [c.color for c in style.classes]
        values = {f[style.attribute] for f in layer.getFeatures()}
        assert values and values <= {c.value for c in style.classes}, (process_id, values)  # each has its class
    else:
        assert renderer.type() == "singleSymbol", (process_id, renderer.type())
        assert _rgb(renderer.symbol().color()) == style.color


@pytest.fixture
def project():
    p = QgsProject.instance()
    p.clear()
    yield p
    p.clear()


def test_classification_loads_its_snapshot_styled_by_class(connected, registry, project):
    res = processing.runAndLoadResults("netzatlas:gigabit_classify", {
        "programme": 3, "reference_date": "2026-11-26", "snapshot": "qgis-styles"})
    assert res["FEATURES"] == 12
    (layer,) = project.mapLayers().values()  # Processing loaded exactly the result
    assert layer.isValid() and layer.providerType() == "OAPIF"
    assert "snapshot_id=qgis-styles" in layer.source() and "qgis-styles" in layer.name()
    assert registry["key"] not in layer.source()  # the key stays in the authentication database
    assert layer.featureCount() == 12  # numberMatched of the server-filtered first page
    assert {f["snapshot_id"] for f in layer.getFeatures()} == {"qgis-styles"}
    assert {f["class_de"] for f in layer.getFeatures()} == {"gigabitfähig", "weiß"}
    assert_cartography_renderer(layer, "gigabit-classify")


def test_every_process_has_a_shipped_style_of_the_cartography():
    from netzatlas_qgis.logic import PROCESSES, result_style

    from .conftest import PLUGIN_DIR

    for pid in PROCESSES:
        qml = result_style(pid)
        assert (PLUGIN_DIR / "netzatlas_qgis" / "styles" / qml).read_text(encoding="utf-8") == \
            cartography.qgis_styles()[qml], pid
