"""The plugin: a menu (connect, add layers) and the Processing provider."""

from __future__ import annotations

from qgis.core import QgsApplication
from qgis.PyQt.QtWidgets import QAction, QInputDialog, QLineEdit, QMessageBox

from .client import Client, store_key
from .layers import add_collections
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
        client = Client()
        url, ok = QInputDialog.getText(self.iface.mainWindow(), "netzatlas", "Server URL:", text=client.url)
        if not ok:
            return
        key, ok = QInputDialog.getText(self.iface.mainWindow(), "netzatlas", "API key (empty: anonymous):",
                                       QLineEdit.Password)
        if not ok:
            return
        authcfg = store_key(key, client.authcfg) if key else None
        client = Client(url, authcfg or "")
        msg = client.test()
        if msg == "ok":
            client.save()
            QMessageBox.information(self.iface.mainWindow(), "netzatlas", "Connected.")
        else:
            QMessageBox.warning(self.iface.mainWindow(), "netzatlas", msg)

    def add_layers(self) -> None:
        try:
            layers = add_collections(Client())
        except Exception as exc:  # shown to the user, not swallowed
            QMessageBox.warning(self.iface.mainWindow(), "netzatlas", str(exc))
            return
        self.iface.messageBar().pushSuccess("netzatlas", f"{len(layers)} layers added")
