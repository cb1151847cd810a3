"""The plugin: a menu (connect, add layers) and the Processing provider."""

from __future__ import annotations

from qgis.core import QgsApplication
from qgis.PyQt.QtWidgets import QAction, QInputDialog, QMessageBox

from .client import Client
from .layers import add_collections, list_snapshots
from .logic import order_snapshots, snapshot_label
from .processing.provider import NetzatlasProvider


class NetzatlasPlugin:
    def __init__(self, iface) -> None:  # noqa: ANN001
        self.iface = iface
        self.provider: NetzatlasProvider | None = None
        self.actions: list[QAction] = []

    def initProcessing(self) -> None:  # noqa: N802
        self.provider = NetzatlasProvider()
        QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self) -> None:  # noqa: N802
        self.initProcessing()
        for text, slot in (("Connect to a netzatlas server…", self.connect),
                           ("Add the registry layers", self.add_layers)):
            action = QAction(text, self.iface.mainWindow())
            action.triggered.connect(slot)
            self.iface.addPluginToMenu("netzatlas", action)
            self.actions.append(action)

    def unload(self) -> None:
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
        self.iface.messageBar().pushSuccess("netzatlas", f"{len(layers)} layers added")
