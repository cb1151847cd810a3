"""The "new mast request" action, headless with a real map canvas: the menu entry activates the map tool, a click on
the canvas gives the centre, the dialog (its values set as a user types them) records the request through
``POST /collections/mast_request/items`` with the user's key — it is in the database with the deadline the
coordination period gives — and the request appears on the map; a refused request (no key, a key that may only
read, a missing operator) keeps the dialog open with the API's message and writes nothing."""

from __future__ import annotations

import uuid

import pytest
from qgis.core import QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsPointXY, QgsProject, QgsRectangle
from qgis.gui import QgsMapMouseEvent
from qgis.PyQt.QtCore import QDate, QEvent, QPoint, Qt

from .conftest import db_rows, make_key

CENTRE = (6.0800, 50.7650)  # inside the fixture's municipality, in longitude/latitude
UTM = QgsCoordinateReferenceSystem("EPSG:25832")


@pytest.fixture
def canvas(plugin):
    """The plugin's map canvas in ETRS89 / UTM 32N, 1 km across, centred on CENTRE."""
    c = plugin.iface.mapCanvas()
    c.setDestinationCrs(UTM)
    c.resize(800, 600)
    c.show()
    centre = QgsCoordinateTransform(QgsCoordinateReferenceSystem("EPSG:4326"), UTM,
                                    QgsProject.instance()).transform(QgsPointXY(*CENTRE))
    c.setExtent(QgsRectangle(centre.x() - 500, centre.y() - 375, centre.x() + 500, centre.y() + 375))
    c.refresh()
    QgsProject.instance().clear()
    yield c, centre
    QgsProject.instance().clear()


def click(canvas, point: QgsPointXY) -> None:  # noqa: ANN001
    """A left click at a map point, as the canvas passes it to the active map tool."""
    px = canvas.getCoordinateTransform().transform(point)
    pos = QPoint(round(px.x()), round(px.y()))
    canvas.mapTool().canvasReleaseEvent(QgsMapMouseEvent(canvas, QEvent.MouseButtonRelease, pos, Qt.LeftButton))


def fill(dialog, operator: str, radius: float = 350, received: QDate | None = None, site: str = "rooftop"):  # noqa: ANN001, ANN201
    dialog.operator.setCurrentText(operator)
    dialog.radius.setValue(radius)
    dialog.received.setDate(received or QDate(2026, 11, 16))
    dialog.site_type.setCurrentIndex(dialog.site_type.findData(site))
    return dialog


def requests_of(registry: dict, operator: str) -> list[dict]:
    return db_rows(registry, "SELECT id::text AS id, radius_m, site_type, received_on, coordination_weeks, deadline, "
                             "owner_org, updated_by, ST_X(ST_Transform(geom, 4326)) AS lon, "
                             "ST_Y(ST_Transform(geom, 4326)) AS lat FROM registry.mast_request "
                             "WHERE operator = %s AND deleted_at IS NULL ORDER BY created_at", operator)


def test_click_dialog_request_in_the_database_and_on_the_map(plugin, connected, registry, canvas, monkeypatch):
    from netzatlas_qgis.layers import find_layer
    from netzatlas_qgis.mast_request import MastRequestDialog, MastRequestTool

    c, centre = canvas
    operator = f"Vodafone QGIS {uuid.uuid4().hex[:6]}"
    shown: list[MastRequestDialog] = []

    def user_types(dialog: MastRequestDialog) -> int:  # instead of the modal exec_()
        shown.append(fill(dialog, operator))
        dialog.accept()
        return dialog.result()

    monkeypatch.setattr(MastRequestDialog, "exec_", user_types)
    action = next(a for _, a in plugin.iface.menu if "mast request" in a.text())
    action.trigger()
    assert isinstance(c.mapTool(), MastRequestTool)
    click(c, centre)
    (dialog,) = shown
    assert abs(dialog.lon - CENTRE[0]) < 2e-5 and abs(dialog.lat - CENTRE[1]) < 2e-5  # within a pixel (1.25 m)
    assert dialog.created["properties"]["deadline"] == "2027-01-11"  # received 16 Nov + 8 weeks
    (row,) = requests_of(registry, operator)
    assert (row["radius_m"], row["site_type"], row["received_on"], row["coordination_weeks"]) == \
        (350.0, "rooftop", "2026-11-16", 8)
    assert row["deadline"] == "2027-01-11" and row["owner_org"] == "city"
    assert abs(row["lon"] - CENTRE[0]) < 2e-5 and abs(row["lat"] - CENTRE[1]) < 2e-5
    assert dialog.created["id"] == row["id"]
    assert c.mapTool() is None  # one click, one request
    layer = find_layer(QgsProject.instance(), "mast_request")
    assert layer is not None and layer.providerType() == "OAPIF"
    assert [f["deadline"] for f in layer.getFeatures() if f["operator"] == operator] == [QDate(2027, 1, 11)]
    assert any("Frist 2027-01-11" in text for _, text in plugin.iface.messages)
    # a second request: the layer on the map is reloaded and shows both
    action.trigger()
    click(c, QgsPointXY(centre.x() + 200, centre.y()))
    assert len(requests_of(registry, operator)) == 2
    assert find_layer(QgsProject.instance(), "mast_request") is layer
    assert sum(1 for f in layer.getFeatures() if f["operator"] == operator) == 2


@pytest.mark.parametrize("who,message", [
    ("anonymous", "this needs an API key"),
    ("reader", "this key may not write mast_request"),
    ("no operator", "enter the operator"),
])
def test_refused_requests_show_the_reason_and_write_nothing(plugin, api, registry, who, message):
    from netzatlas_qgis.client import Client, store_key
    from netzatlas_qgis.mast_request import MastRequestDialog

    operator = f"Telekom refused {uuid.uuid4().hex[:6]}"
    if who == "reader":
        client = Client(api, store_key(make_key(registry, "read", "read:confidential")))
    else:
        client = Client(api, "" if who == "anonymous" else store_key(registry["key"]))
    dialog = fill(MastRequestDialog(client, *CENTRE), "" if who == "no operator" else operator)
    dialog.accept()
    assert dialog.result() != dialog.Accepted and dialog.created is None  # stays open
    assert message in dialog.status.text(), dialog.status.text()
    assert dialog.status.text().startswith("Nicht gespeichert / not recorded")
    assert requests_of(registry, operator) == []
    dialog.deleteLater()
