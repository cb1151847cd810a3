"""The connection test says clearly what is wrong: unreachable, bad key, not a netzatlas API; and the key lives
in QGIS's authentication database, never in settings or layer sources."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request

import pytest
from qgis.core import QgsApplication, QgsAuthMethodConfig, QgsSettings

from .conftest import _free_port


@pytest.fixture(scope="module")
def other_server(tmp_path_factory):
    """Some other web server (a directory listing): answers, but is not a netzatlas API."""
    root = tmp_path_factory.mktemp("www")
    (root / "index.html").write_text("<html><body>Stadtportal</body></html>", encoding="utf-8")
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                             "--directory", str(root)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(url, timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def test_unreachable(plugin):
    from netzatlas_qgis.client import Client

    msg = Client(f"http://127.0.0.1:{_free_port()}", "").test()  # nothing listens there
    assert msg.startswith("unreachable"), msg
    assert "Check the URL" in msg


def test_unknown_host(plugin):
    from netzatlas_qgis.client import Client

    msg = Client("http://netzatlas.invalid", "").test()  # .invalid never resolves (RFC 6761)
    assert msg.startswith("unreachable"), msg


def test_bad_key(plugin, api):
    from netzatlas_qgis.client import Client, store_key

    msg = Client(api, store_key("na_deadbeef_notakeyatall")).test()
    assert msg.startswith("bad key"), msg
    assert "netzatlas keys create" in msg


def test_not_a_netzatlas_api(plugin, api, other_server):
    from netzatlas_qgis.client import Client

    msg = Client(other_server, "").test()
    assert msg.startswith("not a netzatlas API"), msg
    msg = Client(api + "/conformance", "").test()  # JSON, but not the netzatlas landing page
    assert msg.startswith("not a netzatlas API"), msg


def test_good_key_and_anonymous(plugin, api, registry):
    from netzatlas_qgis.client import Client, store_key

    assert Client(api, store_key(registry["key"])).test() == "ok"
    assert Client(api, "").test() == "ok"  # anonymous read of public layers is allowed


def test_key_kept_in_the_auth_database(plugin, connected, registry):
    from netzatlas_qgis.client import SETTINGS_AUTHCFG, SETTINGS_URL, Client

    s = QgsSettings()
    authcfg = s.value(SETTINGS_AUTHCFG)
    assert authcfg and s.value(SETTINGS_URL) == connected.url
    cfg = QgsAuthMethodConfig()
    assert QgsApplication.authManager().loadAuthenticationConfig(authcfg, cfg, True)
    methods = QgsApplication.authManager().authMethodsKeys()
    assert cfg.method() == ("APIHeader" if "APIHeader" in methods else "Basic")
    # nothing but the config id is in the settings
    for k in s.allKeys():
        assert registry["key"] not in str(s.value(k)), k
    assert Client().key == registry["key"]  # a new client (a new QGIS session) finds it again
