"""The "new mast request" action: click the centre of the operator's search ring on the map, enter operator,
radius and receipt date (and the planned site type, height, technology, coordination period); the plugin records
the request with ``POST /collections/mast_request/items`` under the user's API key and shows it on the map. What
needs no Qt (the feature, validation, the API's messages) is in logic.py."""

from __future__ import annotations

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsPointXY,
    QgsProject,
    QgsVectorLayer,
)
from qgis.gui import QgsMapCanvas, QgsMapMouseEvent, QgsMapTool
from qgis.PyQt.QtCore import QDate, Qt, pyqtSignal
from qgis.PyQt.QtWidgets import (
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
)

from .client import ApiError, Client
from .layers import collection_layer, find_layer
from .logic import (
    GROUPS,
    MAST_REQUEST_COLLECTION,
    OPERATORS,
    SITE_TYPES,
    TECHNOLOGIES,
    api_message,
    mast_request_feature,
)

WGS84 = QgsCoordinateReferenceSystem("EPSG:4326")
TITLE = "Standortanfragen / mast requests"


class MastRequestTool(QgsMapTool):
    """A map tool: a left click gives the centre of the search ring, as longitude/latitude (``centreClicked``)."""

    centreClicked = pyqtSignal(float, float)  # noqa: N815 - Qt signal naming

    def __init__(self, canvas: QgsMapCanvas) -> None:
        super().__init__(canvas)
        self.setCursor(Qt.CrossCursor)

    def canvasReleaseEvent(self, event: QgsMapMouseEvent) -> None:  # noqa: N802
        if event.button() != Qt.LeftButton:
            return
        point = self.toMapCoordinates(event.pos())
        lon, lat = to_wgs84(point, self.canvas().mapSettings().destinationCrs())
        self.centreClicked.emit(lon, lat)


def to_wgs84(point: QgsPointXY, crs: QgsCoordinateReferenceSystem) -> tuple[float, float]:
    """A map point in the canvas's CRS as (longitude, latitude)."""
    p = QgsCoordinateTransform(crs, WGS84, QgsProject.instance()).transform(point)
    return p.x(), p.y()


def submit_request(client: Client, feature: dict) -> dict:
    """Record the request; returns it as the API serves it (with id, deadline, days left). ApiError carries the
    API's message when it refuses (no key, a key without ``write:mast_request``, an invalid request)."""
    status, body, headers = client.call("POST", f"/collections/{MAST_REQUEST_COLLECTION}/items", feature)
    if status != 201:
        raise ApiError(api_message(status, body))
    location = headers.get("location", "")
    return client.json("GET", location.split(client.url, 1)[-1])


def show_request(client: Client, project: QgsProject | None = None) -> QgsVectorLayer | None:
    """Show the mast requests on the map: reload the project's layer of them, or add it (group "Requests")."""
    project = project or QgsProject.instance()
    layer = find_layer(project, MAST_REQUEST_COLLECTION)
    if layer is not None:
        layer.dataProvider().reloadData()
        layer.triggerRepaint()
        return layer
    layer = collection_layer(client, MAST_REQUEST_COLLECTION, TITLE)
    if not layer.isValid():
        return None
    group_name = next(g for g, ids in GROUPS.items() if MAST_REQUEST_COLLECTION in ids)
    root = project.layerTreeRoot()
    group = root.findGroup(group_name) or root.addGroup(group_name)
    project.addMapLayer(layer, False)
    group.addLayer(layer)
    return layer


class MastRequestDialog(QDialog):
    """Operator, radius, receipt date, planned site type, height, technology, coordination period for the clicked
    centre; ``accept()`` records the request (``created``) or stays open with the API's message."""

    def __init__(self, client: Client, lon: float, lat: float, parent=None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.client, self.lon, self.lat = client, lon, lat
        self.created: dict | None = None
        self.setWindowTitle("Neue Standortanfrage / New mast request")
        self.operator = QComboBox()
        self.operator.setEditable(True)
        self.operator.addItems(OPERATORS)
        self.operator.setCurrentText("")
        self.radius = _spin(QDoubleSpinBox(), 10, 5000, 300, " m")
        self.received = QDateEdit(QDate.currentDate())
        self.received.setCalendarPopup(True)
        self.received.setDisplayFormat("yyyy-MM-dd")
        self.site_type = QComboBox()
        for code, label in SITE_TYPES.items():
            self.site_type.addItem(label, code)
        self.height = _spin(QDoubleSpinBox(), 1, 300, 30, " m")
        self.technology = QComboBox()
        self.technology.setEditable(True)
        self.technology.addItems(TECHNOLOGIES)
        self.weeks = _spin(QSpinBox(), 1, 52, 8, " Wochen / weeks")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Mittelpunkt / centre:", QLabel(f"{lat:.6f} N, {lon:.6f} E"))
        form.addRow("Netzbetreiber / operator:", self.operator)
        form.addRow("Suchkreis-Radius / search ring radius:", self.radius)
        form.addRow("Eingang / received on:", self.received)
        form.addRow("geplante Bauart / planned site type:", self.site_type)
        form.addRow("gewünschte Höhe / desired height:", self.height)
        form.addRow("Technik / technology:", self.technology)
        form.addRow("Abstimmungsfrist / coordination period:", self.weeks)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addWidget(buttons)

    def feature(self) -> dict:
        """The request as entered (ValueError says what is missing)."""
        return mast_request_feature(self.lon, self.lat, self.operator.currentText(), self.radius.value(),
                                    self.received.date().toString("yyyy-MM-dd"), self.site_type.currentData(),
                                    self.height.value(), self.technology.currentText(), self.weeks.value())

    def submit(self) -> str:
        """'ok' once recorded (``created`` holds the API's feature), else what is wrong — also shown in the dialog."""
        try:
            self.created = submit_request(self.client, self.feature())
        except (ValueError, ApiError) as exc:
            self.status.setText(f"Nicht gespeichert / not recorded – {exc}")
            return str(exc)
        self.status.setText("ok")
        return "ok"

    def accept(self) -> None:
        if self.submit() == "ok":
            super().accept()


def _spin(box, low: float, high: float, value: float, suffix: str):  # noqa: ANN001, ANN202
    box.setRange(low, high)
    box.setValue(value)
    box.setSuffix(suffix)
    return box
