"""Run with Debian's python3 (python3-qgis), headless: the GIS analyst's harder cases against a live server, with
the plugin installed from its zip into a fresh profile (as QGIS's plugin manager does). Every case is recorded
in one JSON document (the test decides); a case that raises is reported with its traceback's tail.
Usage: holdout_check.py URL KEY EXPIRED_KEY PLUGIN_ZIP OUTDIR"""

import json
import os
import sys
import tempfile
import threading
import time
import traceback
import urllib.request
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

T0 = time.monotonic()
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
url, key, expired_key, plugin_zip, outdir = sys.argv[1:6]
profile = tempfile.mkdtemp(prefix="netzatlas-profile-")
os.environ["QGIS_AUTH_DB_DIR_PATH"] = profile
sys.path.insert(0, "/usr/share/qgis/python/plugins")


def step(what: str) -> None:
    print(f"[{time.monotonic() - T0:7.1f} s] {what}", file=sys.stderr, flush=True)


from qgis.core import QgsApplication, QgsProcessingFeedback, QgsProject, QgsVectorLayer  # noqa: E402

app = QgsApplication([], False, profile)
app.initQgis()
out = {"errors": {}}


def case(name: str):
    """Record what the decorated function returns under ``name``; an exception is recorded as the case's error."""
    def run(fn):
        step(name)
        try:
            out[name] = fn()
        except Exception:
            out["errors"][name] = traceback.format_exc()[-2500:]
        return fn
    return run


class Iface:
    """The parts of QgisInterface the plugin touches, recording menus and messages."""

    def __init__(self) -> None:
        self.menu, self.messages = [], []

    def mainWindow(self):  # noqa: N802
        return None

    def addPluginToMenu(self, menu, action):  # noqa: N802
        self.menu.append((menu, action.text()))

    def removePluginMenu(self, menu, action):  # noqa: N802
        self.menu.remove((menu, action.text()))

    def messageBar(self):  # noqa: N802
        iface = self

        class Bar:
            def pushSuccess(self, title, text):  # noqa: N802
                iface.messages.append(text)

            pushWarning = pushInfo = pushCritical = pushMessage = pushSuccess  # noqa: N815

        return Bar()


def prefix_proxy(prefix: str) -> str:
    """A reverse proxy serving the API under ``prefix`` (as a city's web server does): the path prefix is stripped,
    everything else is passed through unchanged."""
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):  # noqa: ANN002
            pass

        def _pass(self) -> None:
            if not self.path.startswith(prefix):
                self.send_error(404)
                return
            n = int(self.headers.get("Content-Length") or 0)
            req = urllib.request.Request(url + (self.path[len(prefix):] or "/"), data=self.rfile.read(n) if n else None,
                                         method=self.command, headers={k: v for k, v in self.headers.items()
                                                                       if k.lower() not in ("host", "connection")})
            try:
                resp = urllib.request.urlopen(req, timeout=120)
            except urllib.error.HTTPError as exc:
                resp = exc
            except Exception as exc:  # noqa: BLE001 - a URL the backend cannot take: a gateway error
                self.send_error(502, str(exc)[:200])
                return
            body = resp.read()
            self.send_response(resp.status if hasattr(resp, "status") else resp.code)
            for k, v in resp.headers.items():
                if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_DELETE = do_OPTIONS = _pass  # noqa: N815

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{srv.server_address[1]}{prefix}"


try:
    import qgis.utils

    QgsApplication.authManager().setMasterPassword("netzatlas-test", True)
    from processing.core.Processing import Processing

    Processing.initialize()
    import processing

    iface = Iface()
    qgis.utils.iface = iface
    plugins_dir = os.path.join(profile, "python", "plugins")

    @case("install")
    def _install():
        """The zip into the fresh profile's plugin folder; QGIS finds it, reads its metadata, starts it."""
        os.makedirs(plugins_dir)
        zipfile.ZipFile(plugin_zip).extractall(plugins_dir)
        qgis.utils.plugin_paths = [plugins_dir]
        sys.path.insert(0, plugins_dir)
        qgis.utils.updateAvailablePlugins()
        meta = {f: qgis.utils.pluginMetadata("netzatlas_qgis", f) for f in (
            "name", "qgisMinimumVersion", "version", "about", "description", "repository", "tracker", "author",
            "email", "icon", "hasProcessingProvider")}
        icon = os.path.join(plugins_dir, "netzatlas_qgis", meta["icon"]) if meta["icon"] != "__error__" else ""
        from qgis.PyQt.QtGui import QIcon

        loaded = qgis.utils.loadPlugin("netzatlas_qgis") and qgis.utils.startPlugin("netzatlas_qgis")
        import netzatlas_qgis

        return {"available": "netzatlas_qgis" in qgis.utils.available_plugins, "metadata": meta,
                "icon_file": os.path.isfile(icon), "icon_ok": bool(icon) and not QIcon(icon).isNull(),
                "started": bool(loaded), "from_profile": netzatlas_qgis.__file__.startswith(plugins_dir),
                "menu": [t for _, t in iface.menu],
                "provider": QgsApplication.processingRegistry().providerById("netzatlas") is not None}

    from netzatlas_qgis.client import Client, store_key
    from netzatlas_qgis.connection_dialog import ConnectionDialog
    from netzatlas_qgis.layers import add_collections, collection_layer

    good = store_key(key)
    Client(url, good).save()

    @case("urls")
    def _urls():
        """Trailing slash(es), https against a plain-http server, a path prefix (with and without a proxy)."""
        bare = url.split("://", 1)[1]
        proxied = prefix_proxy("/netzatlas")
        return {"trailing_slash": Client(url + "/", good).test(), "two_slashes": Client(url + "//", good).test(),
                "no_scheme": Client(bare, good).test(), "https": Client("https://" + bare, good).test(),
                "wrong_prefix": Client(url + "/netzatlas", good).test(),
                "proxied": Client(proxied, good).test(), "proxied_slash": Client(proxied + "/", good).test()}

    @case("proxied_algorithm")
    def _proxied_algorithm():
        """An analysis run through the prefix proxy: the job's Location is followed through the same prefix."""
        c = Client(prefix_proxy("/gis/netzatlas"), good)
        c.save()
        try:
            res = processing.run("netzatlas:charging_gaps", {"gap_distance_m": 500,
                                                             "OUTPUT": os.path.join(outdir, "proxied.geojson")})
            return {"features": res["FEATURES"], "file": os.path.exists(res["OUTPUT"])}
        finally:
            Client(url, good).save()

    @case("expired_key")
    def _expired():
        """An expired key: the connection test and the plugin's menu action say it expired, no traceback."""
        cfg = store_key(expired_key)
        test = Client(url, cfg).test()
        Client(url, cfg).save()
        shown = []
        from qgis.PyQt.QtWidgets import QMessageBox

        real = QMessageBox.warning
        QMessageBox.warning = staticmethod(lambda parent, title, text, *a: shown.append(text))
        try:
            plugin = qgis.utils.plugins["netzatlas_qgis"]
            plugin.add_layers()
        finally:
            QMessageBox.warning = real
            Client(url, good).save()
        return {"test": test, "shown": shown}

    @case("server_down")
    def _down():
        """The server is down: the dialog's status line and the add-layers action say so, nothing is added."""
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            dead = f"http://127.0.0.1:{s.getsockname()[1]}"
        d = ConnectionDialog()
        d.url_edit.setText(dead + "/")
        d.key_edit.setText(key)
        msg = d.test_connection()
        d.accept()
        status, visible = d.status.text(), d.result()
        Client(dead, good).save()
        shown = []
        from qgis.PyQt.QtWidgets import QMessageBox

        real = QMessageBox.warning
        QMessageBox.warning = staticmethod(lambda parent, title, text, *a: shown.append(text))
        before = len(QgsProject.instance().mapLayers())
        try:
            qgis.utils.plugins["netzatlas_qgis"].add_layers()
        finally:
            QMessageBox.warning = real
            Client(url, good).save()
        return {"message": msg, "status": status, "accepted": visible, "shown": shown,
                "added": len(QgsProject.instance().mapLayers()) - before}

    client = Client(url, good)

    @case("classify")
    def _classify():
        """Two snapshots, one named with a space and umlauts, for the snapshot chooser below."""
        done = {}
        for snap in ("h9-alt", "h9 Stand Süd"):
            res = processing.run("netzatlas:gigabit_classify", {"programme": 3, "reference_date": "2026-11-26",
                                                               "snapshot": snap})
            done[snap] = res["FEATURES"]
            time.sleep(1.1)  # distinct creation times: the newest is the umlaut one
        return done

    @case("all_layers")
    def _all_layers():
        """Every collection (results, an empty one, the 100,000-feature one): valid, counted exactly by paging."""
        project = QgsProject()
        layers = add_collections(client, project)
        res = {}
        for lyr in layers:
            cid = lyr.customProperty("netzatlas/collection")
            res[cid] = {"valid": lyr.isValid(), "featureCount": lyr.featureCount(), "name": lyr.name(),
                        "snapshot": lyr.customProperty("netzatlas/snapshot"),
                        "count": sum(1 for _ in lyr.getFeatures()) if cid != "building" else None}
        ids = [lyr.id() for lyr in layers]
        again = add_collections(client, project)
        groups = [g.name() for g in project.layerTreeRoot().children()]
        res["_twice"] = {"first": len(ids), "second": len(again), "in_project": len(project.mapLayers()),
                         "groups": groups}
        other = add_collections(client, project, snapshot="h9-alt")
        res["_other_snapshot"] = sorted(lyr.customProperty("netzatlas/collection") for lyr in other)
        elsewhere = add_collections(Client(prefix_proxy("/zweiter-server"), good), project)  # another address
        res["_other_server"] = {"added": len(elsewhere), "groups": len(project.layerTreeRoot().children())}
        project.clear()
        return res

    @case("chooser")
    def _chooser():
        """The plugin's snapshot choice: the chooser lists the newest first; picking the older one loads its rows
        only; cancelling the chooser adds nothing."""
        from qgis.PyQt.QtWidgets import QInputDialog

        offered, picks = [], iter([("pick", "h9-alt"), ("cancel", None)])
        real = QInputDialog.getItem
        result = {}

        def fake(parent, title, label, items, current, editable):  # noqa: ANN001
            offered.append(list(items))
            what, snap = next(picks)
            if what == "cancel":
                return items[0], False
            return next(i for i in items if i.startswith(snap + " ")), True

        QInputDialog.getItem = staticmethod(fake)
        project = QgsProject.instance()
        project.clear()
        try:
            plugin = qgis.utils.plugins["netzatlas_qgis"]
            plugin.add_layers()
            lyr = next(v for v in project.mapLayers().values()
                       if v.customProperty("netzatlas/collection") == "gigabit_result")
            result = {"offered": offered[0], "snapshot": lyr.customProperty("netzatlas/snapshot"),
                      "rows": sum(1 for _ in lyr.getFeatures()),
                      "snapshots_seen": sorted({f["snapshot_id"] for f in lyr.getFeatures()}),
                      "featureCount": lyr.featureCount()}
            n = len(project.mapLayers())
            plugin.add_layers()
            result["after_cancel"] = len(project.mapLayers()) - n
            result["messages"] = list(iface.messages)
        finally:
            QInputDialog.getItem = real
            project.clear()
        return result

    @case("umlaut_snapshot")
    def _umlaut_snapshot():
        lyr = collection_layer(client, "gigabit_result", "Gigabit-Ergebnis", "h9 Stand Süd")
        return {"valid": lyr.isValid(), "name": lyr.name(), "featureCount": lyr.featureCount(),
                "rows": sum(1 for _ in lyr.getFeatures()),
                "snapshots_seen": sorted({f["snapshot_id"] for f in lyr.getFeatures()})}

    @case("filter")
    def _filter():
        """A CQL2 filter from the plugin: the server filters (numberMatched), umlauts in the value and the name."""
        lyr = collection_layer(client, "streetlight", "Straßenleuchten", filter_="name = 'Leuchte Königstraße'")
        bad = None
        try:
            collection_layer(client, "streetlight", "x", filter_="name = = 'x'")
        except Exception as exc:  # noqa: BLE001 - the message is the result
            bad = str(exc)
        return {"valid": lyr.isValid(), "name": lyr.name(), "featureCount": lyr.featureCount(),
                "names": sorted({f["name"] for f in lyr.getFeatures()}),
                "filter": lyr.customProperty("netzatlas/filter"), "bad": bad}

    def run_alg(alg: str, params: dict, feedback=None, load: bool = False) -> dict:
        try:
            runner = processing.runAndLoadResults if load else processing.run
            res = runner(f"netzatlas:{alg}", params, feedback=feedback or QgsProcessingFeedback())
            path = res.get("OUTPUT")
            lyr = QgsVectorLayer(path, alg, "ogr") if path and os.path.exists(path) else None
            return {"ok": True, "features": res.get("FEATURES"), "path": path,
                    "file_features": lyr.featureCount() if lyr is not None and lyr.isValid() else None}
        except Exception as exc:  # noqa: BLE001
            return {"ok": False, "error": str(exc)[:600], "type": type(exc).__name__}

    @case("odd_parameters")
    def _odd():
        odd = os.path.join(outdir, "Ergebnisse Müller & Söhne", "Straßen Ü")
        os.makedirs(odd)
        project = QgsProject.instance()
        project.clear()
        res = {
            "k0": run_alg("wifi_siting", {"k": 0, "radius_m": 70, "certify": False,
                                          "OUTPUT": os.path.join(outdir, "k0.geojson")}),
            "radius0": run_alg("charging_siting", {"k": 2, "radius_m": 0, "certify": False,
                                                   "OUTPUT": os.path.join(outdir, "r0.geojson")}),
            "umlaut_folder": run_alg("charging_gaps", {"gap_distance_m": 500,
                                                       "OUTPUT": os.path.join(odd, "Lücken – Süd.geojson")},
                                     load=True),
        }
        res["loaded"] = [(lyr.name(), lyr.featureCount(), lyr.source().split("|")[0])
                         for lyr in project.mapLayers().values()]
        project.clear()
        return res

    @case("cancel_mid_run")
    def _cancel():
        """Cancelled while the server job runs (after its first progress report): no file, no layer, job dismissed."""
        project = QgsProject.instance()
        project.clear()
        fb = QgsProcessingFeedback()
        seen = []

        def on_progress(p: float) -> None:
            seen.append(p)
            fb.cancel()

        fb.progressChanged.connect(on_progress)
        target = os.path.join(outdir, "cancelled holes.geojson")
        res = run_alg("mobile_coverage_holes", {"resolution_m": 5, "threshold_dbm": -105, "OUTPUT": target},
                      feedback=fb, load=True)
        jobs = client.json("GET", "/jobs").get("jobs", [])
        mine = [j for j in jobs if j.get("processID") == "mobile-coverage-holes"]
        for _ in range(100):
            if mine and mine[0]["status"] not in ("accepted", "running"):
                break
            time.sleep(0.3)
            mine = [j for j in client.json("GET", "/jobs").get("jobs", [])
                    if j.get("processID") == "mobile-coverage-holes"]
        out_ = {"result": res, "progress_seen": seen, "file": os.path.exists(target),
                "layers": len(project.mapLayers()),
                "job_status": mine[0]["status"] if mine else None}
        project.clear()
        return out_

    @case("reload")
    def _reload():
        """Unload, reload (Plugin Reloader's path), unload twice: no leftover menus or providers."""
        reg = QgsApplication.processingRegistry()
        res = {"reload": qgis.utils.reloadPlugin("netzatlas_qgis"),
               "providers": [p.id() for p in reg.providers()].count("netzatlas"),
               "menu_after_reload": [t for _, t in iface.menu],
               "algorithms": len(reg.providerById("netzatlas").algorithms())}
        plugin = qgis.utils.plugins["netzatlas_qgis"]
        res["unload"] = qgis.utils.unloadPlugin("netzatlas_qgis")
        try:
            plugin.unload()  # a second unload (a crashed reload) must not raise
            res["second_unload"] = "ok"
        except Exception as exc:  # noqa: BLE001
            res["second_unload"] = repr(exc)
        res["menu_after_unload"] = list(iface.menu)
        res["provider_after_unload"] = reg.providerById("netzatlas") is not None
        res["algorithm_after_unload"] = reg.algorithmById("netzatlas:wifi_siting") is not None
        res["modules_left"] = sorted(m for m in sys.modules if m.startswith("netzatlas_qgis"))
        return res
except Exception:
    out["errors"]["setup"] = traceback.format_exc()[-2500:]
finally:
    print(json.dumps(out, default=str), flush=True)
    os._exit(0)
