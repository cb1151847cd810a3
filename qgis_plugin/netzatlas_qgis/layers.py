"""Registry collections as layers through QGIS's own OGC API Features provider, grouped and styled."""

from __future__ import annotations

import json
import os

from qgis.core import QgsApplication, QgsProject, QgsVectorLayer

from .client import Client
from .logic import (
    GROUPS,
    SNAPSHOT_COLLECTIONS,
    SNAPSHOTS_PROCESS,
    choose_snapshot,
    next_page_path,
    oapif_uri,
    snapshot_file_name,
    snapshot_items_path,
    style_for,
)

STYLES = os.path.join(os.path.dirname(__file__), "styles")


def styled(layer: QgsVectorLayer, collection: str) -> QgsVectorLayer:
    qml = os.path.join(STYLES, style_for(collection))
    if os.path.exists(qml):
        layer.loadNamedStyle(qml)
    return layer


def list_snapshots(client: Client) -> list[dict]:
    """The server's gigabit snapshots, newest first (the read-only process ``gigabit-snapshots``)."""
    return client.json("POST", SNAPSHOTS_PROCESS, {"inputs": {}}).get("snapshots", [])


def snapshot_file(client: Client, collection: str, snapshot_id: str, folder: str | None = None) -> str:
    """One snapshot's features of a result collection, fetched page by page with the server filtering
    (``?snapshot_id=``), as a GeoJSON file (a snapshot never changes, so a file is the right layer for it)."""
    features: list[dict] = []
    path: str | None = snapshot_items_path(collection, snapshot_id)
    while path:
        page = client.json("GET", path)
        features.extend(page.get("features", []))
        path = next_page_path(page, client.url)
    folder = folder or os.path.join(QgsApplication.qgisSettingsDirPath(), "netzatlas", "snapshots")
    os.makedirs(folder, exist_ok=True)
    target = os.path.join(folder, snapshot_file_name(collection, snapshot_id))
    with open(target, "w", encoding="utf-8") as fh:
        json.dump({"type": "FeatureCollection", "features": features}, fh)
    return target


def add_collections(client: Client, project: QgsProject | None = None, snapshot: str | None = None
                    ) -> list[QgsVectorLayer]:
    """Every collection the server lists, in groups (assets, reference layers, results); the per-snapshot results
    (gigabit_result, funding_area_result) with ONE snapshot: ``snapshot``, by default the newest."""
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
            title = listed[cid]["title"]
            if cid in SNAPSHOT_COLLECTIONS and chosen is not None:
                layer = QgsVectorLayer(snapshot_file(client, cid, chosen), f"{title} — {chosen}", "ogr")
            else:
                layer = QgsVectorLayer(oapif_uri(client.url, cid, client.authcfg), title, "OAPIF")
            if not layer.isValid():
                continue
            layer.setCustomProperty("netzatlas/collection", cid)
            if cid in SNAPSHOT_COLLECTIONS:
                layer.setCustomProperty("netzatlas/snapshot", chosen)
            styled(layer, cid)
            project.addMapLayer(layer, False)
            group.addLayer(layer)
            added.append(layer)
    return added
