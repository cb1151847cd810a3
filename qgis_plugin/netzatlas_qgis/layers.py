"""Registry collections as layers through QGIS's own OGC API Features provider, grouped and styled."""

from __future__ import annotations

import os

from qgis.core import QgsProject, QgsVectorLayer

from .client import Client
from .logic import (
    GROUPS,
    SNAPSHOT_COLLECTIONS,
    SNAPSHOTS_PROCESS,
    choose_snapshot,
    oapif_uri,
    snapshot_params,
    style_for,
)

STYLES = os.path.join(os.path.dirname(__file__), "styles")


def styled(layer: QgsVectorLayer, collection: str) -> QgsVectorLayer:
    """The collection's QML (generated from the cartography), generic.qml where it has none."""
    qml = os.path.join(STYLES, style_for(collection))
    if not os.path.exists(qml):
        qml = os.path.join(STYLES, "generic.qml")
    layer.loadNamedStyle(qml)
    return layer


def list_snapshots(client: Client) -> list[dict]:
    """The server's gigabit snapshots, newest first (the read-only process ``gigabit-snapshots``)."""
    return client.json("POST", SNAPSHOTS_PROCESS, {"inputs": {}}).get("snapshots", [])


def collection_layer(client: Client, collection: str, title: str, snapshot: str | None = None) -> QgsVectorLayer:
    """One collection as an OAPIF layer, tagged and styled; ``snapshot`` restricts a per-snapshot result
    collection to that snapshot on the server (the layer's requests carry ``snapshot_id=…``)."""
    params = snapshot_params(snapshot) if snapshot is not None and collection in SNAPSHOT_COLLECTIONS else None
    name = f"{title} — {snapshot}" if params else title
    layer = QgsVectorLayer(oapif_uri(client.url, collection, client.authcfg, params), name, "OAPIF")
    if layer.isValid():
        layer.setCustomProperty("netzatlas/collection", collection)
        if params:
            layer.setCustomProperty("netzatlas/snapshot", snapshot)
        styled(layer, collection)
    return layer


def find_layer(project: QgsProject, collection: str) -> QgsVectorLayer | None:
    """The project's layer of a netzatlas collection, if one was added."""
    for layer in project.mapLayers().values():
        if layer.customProperty("netzatlas/collection") == collection:
            return layer
    return None


def add_collections(client: Client, project: QgsProject | None = None, snapshot: str | None = None
                    ) -> list[QgsVectorLayer]:
    """Every collection the server lists, in groups (assets, reference layers, results, requests); the
    per-snapshot results (gigabit_result, funding_area_result) with ONE snapshot: ``snapshot``, by default the
    newest."""
    project = project or QgsProject.instance()
    listed = {c["id"]: c for c in client.json("GET", "/collections")["collections"]}
    chosen = None
    if any(c in listed for c in SNAPSHOT_COLLECTIONS):
        chosen = choose_snapshot(list_snapshots(client), snapshot)
    root = project.layerTreeRoot()
    added = []
    for group_name, ids in GROUPS.items():
        present = [i for i in ids if i in listed]
        if not present:
            continue
        group = root.findGroup(group_name) or root.addGroup(group_name)
        for cid in present:
            layer = collection_layer(client, cid, listed[cid]["title"], chosen)
            if not layer.isValid():
                continue
            project.addMapLayer(layer, False)
            group.addLayer(layer)
            added.append(layer)
    return added
