"""HTTP to the netzatlas API through QGIS's network stack (QgsBlockingNetworkRequest: proxies, SSL, auth)."""

from __future__ import annotations

import json

from qgis.core import QgsApplication, QgsAuthMethodConfig, QgsBlockingNetworkRequest, QgsSettings
from qgis.PyQt.QtCore import QByteArray, QUrl
from qgis.PyQt.QtNetwork import QNetworkRequest

from .logic import api_message, classify_connection, normalise_url

SETTINGS_URL = "netzatlas/url"
SETTINGS_AUTHCFG = "netzatlas/authcfg"


class ApiError(Exception):
    """A request to the netzatlas server failed; the message says why."""


def store_key(key: str, authcfg: str | None = None) -> str:
    """Keep the API key in QGIS's authentication database (encrypted); returns the config id."""
    mgr = QgsApplication.authManager()
    cfg = QgsAuthMethodConfig()
    if authcfg:
        mgr.loadAuthenticationConfig(authcfg, cfg, True)
    methods = mgr.authMethodsKeys()
    # QGIS ≥ 3.26 has "APIHeader" (custom headers for every request, also the OAPIF provider); 3.22 does not:
    # there the key is kept as the password of a Basic config and added by the plugin to its own requests.
    cfg.setMethod("APIHeader" if "APIHeader" in methods else "Basic")
    cfg.setName("netzatlas API key")
    if cfg.method() == "APIHeader":
        cfg.setConfig("X-API-Key", key)
    else:
        cfg.setConfig("username", "netzatlas")
        cfg.setConfig("password", key)
    if authcfg:
        mgr.updateAuthenticationConfig(cfg)
    else:
        mgr.storeAuthenticationConfig(cfg)
    return cfg.id()


def read_key(authcfg: str | None) -> str | None:
    if not authcfg:
        return None
    cfg = QgsAuthMethodConfig()
    QgsApplication.authManager().loadAuthenticationConfig(authcfg, cfg, True)
    return cfg.config("X-API-Key") or cfg.config("password") or None


class Client:
    def __init__(self, url: str | None = None, authcfg: str | None = None) -> None:
        s = QgsSettings()
        self.url = normalise_url(url or s.value(SETTINGS_URL, "http://127.0.0.1:8080"))
        self.authcfg = authcfg if authcfg is not None else (s.value(SETTINGS_AUTHCFG, "") or None)
        self.key = read_key(self.authcfg)

    def save(self) -> None:
        s = QgsSettings()
        s.setValue(SETTINGS_URL, self.url)
        s.setValue(SETTINGS_AUTHCFG, self.authcfg or "")

    def _request(self, path: str, content_type: str | None = None) -> QNetworkRequest:
        req = QNetworkRequest(QUrl(self.url + path))
        req.setRawHeader(b"Accept", b"application/json")
        if self.key:
            req.setRawHeader(b"X-API-Key", self.key.encode())
        if content_type:
            req.setHeader(QNetworkRequest.ContentTypeHeader, content_type)
        return req

    def call(self, method: str, path: str, body: dict | None = None, headers: dict | None = None
             ) -> tuple[int, bytes, dict]:
        r = QgsBlockingNetworkRequest()
        req = self._request(path, "application/json" if body is not None else None)
        for k, v in (headers or {}).items():
            req.setRawHeader(k.encode(), v.encode())
        if method == "GET":
            err = r.get(req, forceRefresh=True)
        elif method == "POST":
            err = r.post(req, QByteArray(json.dumps(body or {}).encode()))
        elif method == "DELETE":
            err = r.deleteResource(req)
        else:
            raise ValueError(method)
        reply = r.reply()
        status = reply.attribute(QNetworkRequest.HttpStatusCodeAttribute)
        if err != QgsBlockingNetworkRequest.NoError and not status:
            raise ApiError(classify_connection(None, None, r.errorMessage()))
        hdrs = {bytes(k).decode().lower(): bytes(reply.rawHeader(k)).decode() for k in reply.rawHeaderList()}
        return int(status or 0), bytes(reply.content()), hdrs

    def json(self, method: str, path: str, body: dict | None = None, headers: dict | None = None) -> dict:
        status, content, _ = self.call(method, path, body, headers)
        if status >= 400:
            raise ApiError(api_message(status, content))
        return json.loads(content)

    def test(self) -> str:
        """'ok', or what is wrong: unreachable, bad key, not a netzatlas API."""
        try:
            status, body, _ = self.call("GET", "/")
        except ApiError as exc:
            return str(exc)
        msg = classify_connection(status, body)
        if msg != "ok" or not self.key:
            return msg
        status, body, _ = self.call("GET", "/jobs")  # answers 200 to any valid key, 401 otherwise
        return classify_connection(status if status == 401 else 200, b'{"title": "netzatlas", '
                                   b'"links": [{"rel": "data"}]}' if status != 401 else body)
