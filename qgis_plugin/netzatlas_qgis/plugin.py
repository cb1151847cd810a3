"""The plugin: a menu (connect, add layers, new mast request) and the Processing provider."""

from __future__ import annotations

from qgis.core import QgsApplication, QgsProject
from qgis.PyQt.QtWidgets import QAction, QDialog, QInputDialog, QMessageBox

from .client import Client
from .layers import add_collections, list_snapshots
from .logic import order_snapshots, request_summary, snapshot_label

# imported as a package (not `.processing.provider`): QGIS's import hook then records netzatlas_qgis.processing
# too, so unloading (Plugin Reloader, updates) removes every module of the plugin
from .processing import provider as processing_provider


class NetzatlasPlugin:
    def __init__(self, iface) -> None:  # noqa: ANN001
        self.iface = iface
        self.provider: processing_provider.NetzatlasProvider | None = None
        self.actions: list[QAction] = []
        self.tool = None  # the "new mast request" map tool while it is active

    def initProcessing(self) -> None:  # noqa: N802
        self.provider = processing_provider.NetzatlasProvider()
        QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self) -> None:  # noqa: N802
        self.initProcessing()
        for text, slot in (("Connect to a netzatlas server…", self.connect),
                           ("Add the registry layers", self.add_layers),
                           ("Neue Standortanfrage / New mast request (click the centre)…", self.start_mast_request)):
            action = QAction(text, self.iface.mainWindow())
            action.triggered.connect(slot)
            self.iface.addPluginToMenu("netzatlas", action)
            self.actions.append(action)

    def unload(self) -> None:
        if self.tool is not None:
            self.iface.mapCanvas().unsetMapTool(self.tool)
            self.tool = None
        for action in self.actions:
            self.iface.removePluginMenu("netzatlas", action)
        self.actions = []
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None

    def connect(self) -> None:
        """The connection dialog: URL and key (kept in the QGIS auth database), with a connection test."""
        from .connection_dialog import ConnectionDialog

        ConnectionDialog(self.iface.mainWindow()).exec_()

    def choose_snapshot(self, client: Client) -> tuple[bool, str | None]:
        """Ask which gigabit snapshot to load (default: the newest); (False, None) when the user cancels."""
        snaps = order_snapshots(list_snapshots(client))
        if len(snaps) <= 1:
            return True, snaps[0]["id"] if snaps else None
        labels = [snapshot_label(s) for s in snaps]
        label, ok = QInputDialog.getItem(self.iface.mainWindow(), "netzatlas",
                                         "Gigabit-Stand laden / snapshot to load:", labels, 0, False)
        return (True, snaps[labels.index(label)]["id"]) if ok else (False, None)

    def add_layers(self) -> None:
        try:
            client = Client()
            ok, snapshot = self.choose_snapshot(client)
            if not ok:
                return
            layers = add_collections(client, snapshot=snapshot)
        except Exception as exc:  # shown to the user, not swallowed
            QMessageBox.warning(self.iface.mainWindow(), "netzatlas", str(exc))
            return
        self.iface.messageBar().pushSuccess("netzatlas", f"{len(layers)} layers added" if layers else
                                            "no new layers: every collection is already in the project")

    def start_mast_request(self) -> None:
        """Activate the map tool; the next click on the map opens the request dialog for that centre."""
        from .mast_request import MastRequestTool

        canvas = self.iface.mapCanvas()
        self.tool = MastRequestTool(canvas)
        self.tool.centreClicked.connect(self.new_mast_request_at)
        canvas.setMapTool(self.tool)

    def new_mast_request_at(self, lon: float, lat: float) -> dict | None:
        """The dialog for a request centred at (lon, lat); once the API recorded it, it is shown on the map and
        the message bar says its deadline. Returns the recorded request (None when cancelled)."""
        from .mast_request import MastRequestDialog, show_request

        client = Client()
        dialog = MastRequestDialog(client, lon, lat, self.iface.mainWindow())
        if dialog.exec_() != QDialog.Accepted or dialog.created is None:
            return None
        if self.tool is not None:
            self.iface.mapCanvas().unsetMapTool(self.tool)
            self.tool = None
        show_request(client, QgsProject.instance())
        self.iface.messageBar().pushSuccess("netzatlas", request_summary(dialog.created["properties"]))
        return dialog.created
