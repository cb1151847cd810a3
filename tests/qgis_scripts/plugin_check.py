"""Run with Debian's python3 (python3-qgis), headless: load the netzatlas plugin, register its provider, add the
registry layers, run every algorithm through processing.run against a live server, test bad connections.
Prints one JSON document. Usage: plugin_check.py URL KEY OUTDIR"""

import json
import os
import sys
import tempfile
import threading
import time

T0 = time.monotonic()
#: an algorithm still running after this many seconds is cancelled (its job dismissed) and reported as an error
ALGORITHM_LIMIT_S = float(os.environ.get("NETZATLAS_QGIS_ALGORITHM_LIMIT_S", "240"))


def step(what: str) -> None:
    """Where the check is, on stderr (the test shows its tail when the check fails or runs out of time)."""
    print(f"[{time.monotonic() - T0:7.1f} s] {what}", file=sys.stderr, flush=True)


os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QGIS_AUTH_DB_DIR_PATH", tempfile.mkdtemp())
url, key, outdir = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "qgis_plugin"))
sys.path.insert(0, "/usr/share/qgis/python/plugins")

from qgis.core import QgsApplication, QgsProcessingFeedback, QgsProject, QgsVectorLayer  # noqa: E402

step("starting QGIS")
app = QgsApplication([], False)
app.initQgis()
out = {"qgis": QgsApplication.instance().applicationVersion() if hasattr(QgsApplication, "applicationVersion")
       else "", "errors": []}
try:
    from qgis.core import Qgis

    out["qgis"] = Qgis.QGIS_VERSION
    QgsApplication.authManager().setMasterPassword("netzatlas-test", True)
    from processing.core.Processing import Processing

    Processing.initialize()
    import netzatlas_qgis
    import processing
    from netzatlas_qgis.client import Client, store_key
    from netzatlas_qgis.layers import add_collections
    from netzatlas_qgis.logic import PROCESSES

    class Iface:  # the few parts of QgisInterface the plugin touches
        def mainWindow(self):  # noqa: N802
            return None

        def addPluginToMenu(self, *a):  # noqa: N802
            pass

        def removePluginMenu(self, *a):  # noqa: N802
            pass

    plugin = netzatlas_qgis.classFactory(Iface())
    plugin.initGui()
    reg = QgsApplication.processingRegistry()
    prov = reg.providerById("netzatlas")
    out["provider"] = prov is not None
    out["algorithms"] = sorted(a.name() for a in prov.algorithms()) if prov else []
    step("plugin loaded; connection tests")
    out["unreachable"] = Client("http://127.0.0.1:9", "").test()
    bad = store_key("na_deadbeef_wrong")
    out["bad_key"] = Client(url, bad).test()
    out["not_netzatlas"] = Client(url + "/conformance", "").test()
    good = store_key(key)
    client = Client(url, good)
    out["good"] = client.test()
    client.save()
    step("adding the collection layers")
    layers = add_collections(client)
    step(f"{len(layers)} layers added; counting their features")
    out["layers"] = {lyr.name(): {"valid": lyr.isValid(), "featureCount": lyr.featureCount(),  # before reading
                                  "count": sum(1 for _ in lyr.getFeatures()),
                                  "renderer": lyr.renderer().type() if lyr.renderer() else None,
                                  "typename": lyr.customProperty("netzatlas/collection")
                                  or lyr.source().split("typename='")[1].split("'")[0]} for lyr in layers}
    step("layers counted; running the algorithms")
    runs = {}
    defaults = {"snapshot": "qgis-test", "request_id": os.environ.get("NETZATLAS_TEST_REQUEST", ""),
                "k": 2, "top": 5}
    for alg, _name, _group, specs in PROCESSES.values():
        params = {n: defaults[n] for n in specs if n in defaults}
        target = os.path.join(outdir, f"{alg}.geojson")
        params["OUTPUT"] = target
        step(f"algorithm {alg}")
        feedback = QgsProcessingFeedback()
        watchdog = threading.Timer(ALGORITHM_LIMIT_S, feedback.cancel)  # QgsFeedback.cancel is thread-safe
        watchdog.start()
        try:
            res = processing.run(f"netzatlas:{alg}", params, feedback=feedback)
            count = None
            if os.path.exists(target):
                lyr = QgsVectorLayer(target, alg, "ogr")
                count = lyr.featureCount() if lyr.isValid() else -1
            runs[alg] = {"ok": True, "features": res.get("FEATURES"), "file_features": count}
        except Exception as exc:  # reported, the test decides
            limit = f" (cancelled after {ALGORITHM_LIMIT_S:.0f} s)" if feedback.isCanceled() else ""
            runs[alg] = {"ok": False, "error": str(exc)[:300] + limit}
        finally:
            watchdog.cancel()
    out["runs"] = runs
    step("algorithms done; unloading")
    plugin.unload()
    out["provider_after_unload"] = reg.providerById("netzatlas") is not None
    QgsProject.instance().clear()
except Exception:
    import traceback

    out["errors"].append(traceback.format_exc()[-2000:])
finally:
    print(json.dumps(out), flush=True)
    os._exit(0)
