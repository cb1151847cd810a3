"""Run with Debian's python3 (python3-qgis): load every collection of a netzatlas API through QGIS's own OAPIF
provider, headless, and print {collection: feature count} as JSON. Usage: oapif_counts.py URL"""

import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import QgsApplication, QgsVectorLayer  # noqa: E402

url = sys.argv[1]
app = QgsApplication([], False)
app.initQgis()
out = {}
try:
    import urllib.request

    collections = json.load(urllib.request.urlopen(url + "/collections"))["collections"]
    for c in collections:
        layer = QgsVectorLayer(f"url='{url}' typename='{c['id']}' pagingEnabled='true'",
                               c["id"], "OAPIF")
        if not layer.isValid():
            out[c["id"]] = {"valid": False, "error": layer.error().summary()}
            continue
        n = sum(1 for _ in layer.getFeatures())
        out[c["id"]] = {"valid": True, "count": n, "featureCount": layer.featureCount(),
                        "fields": [f.name() for f in layer.fields()]}
finally:
    print(json.dumps(out), flush=True)
    os._exit(0)  # QGIS 3.22 may crash in exitQgis() when headless; the result is already printed
