"""Registry collections as layers through QGIS's own OGC API Features provider, grouped and styled."""

from __future__ import annotations

import os
from urllib.parse import urlencode

from qgis.core import QgsDataSourceUri, QgsProject, QgsVectorLayer

from .client import Client
from .logic import (
    GROUPS,
    SNAPSHOT_COLLECTIONS,
    SNAPSHOTS_PROCESS,
    choose_snapshot,
    filter_params,
    normalise_url,
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


def check_filter(client: Client, collection: str, cql2: str) -> None:
    """Ask the server to evaluate a CQL2 filter once (one feature): ApiError with its message when it refuses."""
    client.json("GET", f"/collections/{collection}/items?{urlencode({**filter_params(cql2), 'limit': 1})}")


def collection_layer(client: Client, collection: str, title: str, snapshot: str | None = None,
                     filter_: str | None = None) -> QgsVectorLayer:
    """One collection as an OAPIF layer, tagged and styled; ``snapshot`` restricts a per-snapshot result
    collection to that snapshot on the server (the layer's requests carry ``snapshot_id=…``); ``filter_`` is a
    CQL2-text filter the server evaluates (checked first: ApiError with the server's message if it is wrong)."""
    params = snapshot_params(snapshot) if snapshot is not None and collection in SNAPSHOT_COLLECTIONS else {}
    if filter_ and filter_.strip():
        check_filter(client, collection, filter_)
        params.update(filter_params(filter_))
    name = f"{title} — {snapshot}" if "snapshot_id" in params else title
    layer = QgsVectorLayer(oapif_uri(client.url, collection, client.authcfg, params or None), name, "OAPIF")
    if layer.isValid():
        layer.setCustomProperty("netzatlas/collection", collection)
        if "snapshot_id" in params:
            layer.setCustomProperty("netzatlas/snapshot", snapshot)
        if "filter" in params:
            layer.setCustomProperty("netzatlas/filter", params["filter"])
        styled(layer, collection)
    return layer


def _server(layer: QgsVectorLayer) -> str:
    """The server address an OAPIF layer reads from (its source's url without the query)."""
    return QgsDataSourceUri(layer.source()).param("url").split("?", 1)[0].rstrip("/")


def find_layer(project: QgsProject, collection: str, snapshot: str | None = None, filter_: str | None = None,
               exact: bool = False, url: str | None = None) -> QgsVectorLayer | None:
    """The project's layer of a netzatlas collection, if one was added; ``exact``: only one of that snapshot and
    filter (none: unfiltered) from the server at ``url``, the same layer the plugin would add again."""
    for layer in project.mapLayers().values():
        if layer.customProperty("netzatlas/collection") != collection:
            continue
        if not exact or ((layer.customProperty("netzatlas/snapshot") or None) == (snapshot or None)
                         and (layer.customProperty("netzatlas/filter") or None) == (filter_ or None)
                         and (url is None or _server(layer) == normalise_url(url))):
            return layer
    return None


def add_collections(client: Client, project: QgsProject | None = None, snapshot: str | None = None
                    ) -> list[QgsVectorLayer]:
    """Every collection the server lists, in groups (assets, reference layers, results, requests); the
    per-snapshot results (gigabit_result, funding_area_result) with ONE snapshot: ``snapshot``, by default the
    newest. A collection already in the project (same server and snapshot) is not added twice; returns the layers
    added."""
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
            if find_layer(project, cid, chosen if cid in SNAPSHOT_COLLECTIONS else None, exact=True,
                          url=client.url) is not None:
                continue  # added before from this server (same snapshot): not a second copy
            layer = collection_layer(client, cid, listed[cid]["title"], chosen)
            if not layer.isValid():
                continue
            project.addMapLayer(layer, False)
            group.addLayer(layer)
            added.append(layer)
    return added
