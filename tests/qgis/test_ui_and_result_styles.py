"""The connection dialog (headless: fields, test button, German and English messages, storing on OK). The result
styles applied by Processing's post-processor are tested in test_algorithms.py and test_result_styles.py."""

from __future__ import annotations

import pytest
from qgis.core import QgsSettings

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
