"""Registry collections as layers through QGIS's own OGC API Features provider, grouped and styled."""

from __future__ import annotations

import os

from qgis.core import QgsProject, QgsVectorLayer

from .client import Client
from .logic import GROUPS, oapif_uri, style_for

STYLES = os.path.join(os.path.dirname(__file__), "styles")


def styled(layer: QgsVectorLayer, collection: str) -> QgsVectorLayer:
    qml = os.path.join(STYLES, style_for(collection))
    if os.path.exists(qml):
        layer.loadNamedStyle(qml)
    return layer


def add_collections(client: Client, project: QgsProject | None = None) -> list[QgsVectorLayer]:
    """Every collection the server lists, in groups (assets, reference layers, results)."""
    project = project or QgsProject.instance()
    listed = {c["id"]: c for c in client.json("GET", "/collections")["collections"]}
    root = project.layerTreeRoot()
    added = []
    for group_name, ids in GROUPS.items():
        present = [i for i in ids if i in listed]
        if not present:
            continue
        group = root.findGroup(group_name) or root.addGroup(group_name)
        for cid in present:
            layer = QgsVectorLayer(oapif_uri(client.url, cid, client.authcfg), listed[cid]["title"], "OAPIF")
            if not layer.isValid():
                continue
            styled(layer, cid)
            project.addMapLayer(layer, False)
            group.addLayer(layer)
            added.append(layer)
    return added
