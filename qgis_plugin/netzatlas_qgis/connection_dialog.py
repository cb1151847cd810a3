"""The connection dialog (German and English labels): server URL, API key, "test connection" with a clear
message, and on OK the key kept in QGIS's authentication database and the URL in the settings."""

from __future__ import annotations

from qgis.PyQt.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
)

from .client import Client, read_key, store_key
from .logic import normalise_url

MESSAGES_DE = {
    "ok": "Verbindung in Ordnung",
    "unreachable": "Server nicht erreichbar",
    "bad key": "Schlüssel abgelehnt",
    "not a netzatlas API": "Kein netzatlas-Server",
    "invalid url": "Ungültige Adresse",
}


def german_prefix(message: str) -> str:
    """The German headline for a connection message ('unreachable: …' → 'Server nicht erreichbar')."""
    for key, text in MESSAGES_DE.items():
        if message.startswith(key):
            return text
    return ""


class ConnectionDialog(QDialog):
    """Server URL and API key; ``test_connection()`` says what is wrong, ``accept()`` stores and saves."""

    def __init__(self, parent=None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.setWindowTitle("netzatlas – Verbindung / Connection")
        current = Client()
        self.authcfg = current.authcfg
        self.url_edit = QLineEdit(current.url)
        self.url_edit.setPlaceholderText("http://localhost:8080")
        self.key_edit = QLineEdit(read_key(current.authcfg) or "")
        self.key_edit.setEchoMode(QLineEdit.Password)
        self.key_edit.setPlaceholderText("leer = anonym / empty = anonymous")
        self.test_button = QPushButton("Verbindung testen / Test connection")
        self.test_button.clicked.connect(self.test_connection)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Server-URL / Server URL:", self.url_edit)
        form.addRow("API-Schlüssel / API key:", self.key_edit)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.test_button)
        layout.addWidget(self.status)
        layout.addWidget(buttons)

    def _client(self, persist: bool = False) -> Client:
        """A client for the fields; the key goes into the authentication database only when ``persist``."""
        url = normalise_url(self.url_edit.text())
        key = self.key_edit.text().strip()
        if not key:
            return Client(url, "")
        if persist:
            self.authcfg = store_key(key, self.authcfg)
            return Client(url, self.authcfg)
        client = Client(url, "")  # testing must not overwrite the stored key
        client.key = key
        return client

    def test_connection(self) -> str:
        """'ok' or what is wrong (unreachable, bad key, not a netzatlas API), also shown in the dialog."""
        try:
            message = self._client().test()
        except ValueError as exc:
            message = f"invalid url: {exc}"
        headline = german_prefix(message)
        self.status.setText(f"{headline} – {message}" if headline else message)
        return message

    def accept(self) -> None:
        message = self.test_connection()
        if message != "ok":
            return  # stay open: the status line says what to fix
        self._client(persist=True).save()
        super().accept()
