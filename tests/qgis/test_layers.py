"""Registry collections through QGIS's own OGC API Features provider: grouped, styled with the shipped QML,
with the right feature counts, and the key only referenced through the authentication config."""

from __future__ import annotations

import urllib.request
import xml.etree.ElementTree as ET

import pytest
from qgis.core import QgsProject

from .conftest import PLUGIN_DIR, http_json

STYLES = PLUGIN_DIR / "netzatlas_qgis" / "styles"
REGISTRY = ("fibre_address", "mobile_site", "wlan_hotspot", "streetlight", "charging_point", "municipality",
            "population_grid", "poi", "building", "road", "candidate_site")


def _typename(layer) -> str:  # noqa: ANN001
    return layer.customProperty("netzatlas/collection") or layer.source().split("typename='")[1].split("'")[0]


@pytest.fixture(scope="module")
def added(connected):
    from netzatlas_qgis.layers import add_collections

    project = QgsProject()
    layers = add_collections(connected, project)
    yield project, {_typename(lyr): lyr for lyr in layers}
    project.clear()


def test_every_registry_collection_in_its_group(added, api, registry):
    from netzatlas_qgis.logic import GROUPS

    project, layers = added
    listed = {c["id"] for c in http_json(api + "/collections", registry["key"])["collections"]}
    anonymous = {c["id"] for c in http_json(api + "/collections")["collections"]}
    assert "candidate_site" not in anonymous  # city-owned properties: only with a key
    assert set(REGISTRY) <= listed
    assert set(REGISTRY) <= set(layers)
    for group_name, ids in GROUPS.items():
        group = project.layerTreeRoot().findGroup(group_name)
        in_group = {_typename(node.layer()) for node in group.findLayers()} if group else set()
        assert in_group == {i for i in ids if i in listed}, group_name
    assert project.layerTreeRoot().findGroup("Assets / Anlagen") is not None


def test_layers_valid_with_the_right_counts(added, registry):
    _, layers = added
    for name in REGISTRY:
        layer = layers[name]
        assert layer.isValid() and layer.providerType() == "OAPIF", name
        n = sum(1 for _ in layer.getFeatures())
        assert n == registry["counts"][name], (name, n, registry["counts"][name])


def test_feature_counts_known_before_any_feature_is_read(connected, registry):
    """featureCount() is the database's count as soon as the layer is added — QGIS reads the API's numberMatched
    from the first items page — not -1 (unknown) and without downloading the features."""
    from netzatlas_qgis.layers import add_collections

    project = QgsProject()
    layers = {_typename(lyr): lyr for lyr in add_collections(connected, project)}
    for name in REGISTRY:
        assert layers[name].featureCount() == registry["counts"][name], name
    assert all(lyr.featureCount() >= 0 for lyr in layers.values()), {
        n: lyr.featureCount() for n, lyr in layers.items()}
    project.clear()


def test_registry_attributes_reach_qgis(added):
    _, layers = added
    names = {f["external_id"]: f for f in layers["streetlight"].getFeatures()}
    assert set(names) == {f"L{i}" for i in range(8)}
    assert names["L3"]["status"] == "active"
    assert {f["category"] for f in layers["poi"].getFeatures()} == {"square", "bus_stop", "school", "kindergarten",
                                                                    "townhall"}


@pytest.mark.parametrize("name", REGISTRY)
def test_layer_carries_its_qml_style(added, name):
    from netzatlas_qgis.logic import style_for

    _, layers = added
    renderer = layers[name].renderer()
    qml = ET.parse(STYLES / style_for(name)).getroot().find("renderer-v2")
    assert renderer.type() == qml.get("type"), name
    if qml.get("type") == "categorizedSymbol":
        assert renderer.classAttribute() == qml.get("attr")
        assert [c.value() for c in renderer.categories()] == [c.get("value") for c in qml.iter("category")]
        assert [c.label() for c in renderer.categories()] == [c.get("label") for c in qml.iter("category")]
    else:
        color = next(p.get("v") for p in qml.iter("prop") if p.get("k") in ("color", "line_color"))
        want = tuple(int(v) for v in color.split(","))
        got = renderer.symbol().symbolLayer(0).color()
        assert (got.red(), got.green(), got.blue(), got.alpha()) == want, name


def test_key_not_in_layer_sources(added, registry, connected):
    _, layers = added
    for layer in layers.values():
        assert registry["key"] not in layer.source()
        assert layer.providerType() == "OAPIF"
        assert f"authcfg='{connected.authcfg}'" in layer.source() or f"authcfg={connected.authcfg}" in layer.source()


def test_results_hold_one_snapshot_the_newest(added, connected):
    """gigabit_result and funding_area_result come with ONE snapshot (the newest by default), filtered by the
    server, not every snapshot stacked (test_algorithms.py kept snapshots before this module runs)."""
    from netzatlas_qgis.layers import list_snapshots

    _, layers = added
    snaps = list_snapshots(connected)
    assert len(snaps) >= 2
    newest = snaps[0]["id"]
    layer = layers["gigabit_result"]
    assert layer.customProperty("netzatlas/snapshot") == newest and newest in layer.name()
    assert {f["snapshot_id"] for f in layer.getFeatures()} == {newest}


@pytest.mark.parametrize("pick", ["qgis-test", "qgis-model"])
def test_a_chosen_snapshot_loads_only_its_rows_filtered_by_the_server(connected, api, registry, pick):
    """The snapshot the user picks in the chooser (test_algorithms.py made both): only its rows arrive, the layer has
    no client-side subset (the server filtered: its numberMatched is the snapshot's count), the other layers of
    the project are unaffected."""
    from netzatlas_qgis.layers import add_collections

    project = QgsProject()
    layers = {_typename(lyr): lyr for lyr in add_collections(connected, project, snapshot=pick)}
    total = http_json(api + "/collections/gigabit_result/items?limit=1", registry["key"])["numberMatched"]
    mine = http_json(api + f"/collections/gigabit_result/items?snapshot_id={pick}&limit=1",
                     registry["key"])["numberMatched"]
    assert mine == 12 and total > mine  # other snapshots exist on the server
    for cid in ("gigabit_result", "funding_area_result"):
        layer = layers[cid]
        assert layer.customProperty("netzatlas/snapshot") == pick and layer.subsetString() == ""
        assert {f["snapshot_id"] for f in layer.getFeatures()} == {pick}, cid
    assert layers["gigabit_result"].featureCount() == mine
    assert sum(1 for _ in layers["gigabit_result"].getFeatures()) == mine
    areas = http_json(api + f"/collections/funding_area_result/items?snapshot_id={pick}&limit=1",
                      registry["key"])["numberMatched"]
    assert areas >= 1 and layers["funding_area_result"].featureCount() == areas
    with pytest.raises(Exception, match="no snapshot 'nope'"):
        add_collections(connected, QgsProject(), snapshot="nope")
    project.clear()


def _allow(url: str, key: str | None) -> set[str]:
    """The methods the server allows this key on a resource (what QGIS ≥ 3.32 asks with OPTIONS)."""
    req = urllib.request.Request(url, method="OPTIONS", headers={"X-API-Key": key} if key else {})
    with urllib.request.urlopen(req, timeout=30) as r:
        return {m.strip() for m in r.headers["Allow"].split(",")}


def test_oapif_layers_report_their_editing_capabilities_truthfully(connected, api, registry):
    """OGC API Features Part 4 editing in QGIS: the server allows this key to write (OPTIONS → Allow: POST on the
    items, PUT/PATCH/DELETE on an item). QGIS edits OAPIF layers from 3.32 on; Debian 12's QGIS 3.22 reads only,
    and its layer says so: no edit capability, editing cannot start (docs/qgis.md, "Editing through the API")."""
    from netzatlas_qgis.layers import collection_layer
    from qgis.core import Qgis, QgsVectorDataProvider

    layer = collection_layer(connected, "streetlight", "streetlights")
    fid = http_json(api + "/collections/streetlight/items?limit=1")["features"][0]["id"]
    assert "POST" in _allow(api + "/collections/streetlight/items", registry["key"])
    assert {"PUT", "PATCH", "DELETE"} <= _allow(api + f"/collections/streetlight/items/{fid}", registry["key"])
    assert "POST" not in _allow(api + "/collections/streetlight/items", None)  # anonymous: read only
    caps = layer.dataProvider().capabilities()
    edits = (QgsVectorDataProvider.AddFeatures, QgsVectorDataProvider.DeleteFeatures,
             QgsVectorDataProvider.ChangeAttributeValues, QgsVectorDataProvider.ChangeGeometries)
    if Qgis.QGIS_VERSION_INT < 33200:  # the machine's QGIS (3.22): read-only, and truthful about it
        assert not any(caps & flag for flag in edits), layer.dataProvider().capabilitiesString()
        assert not layer.supportsEditing() and not layer.startEditing() and not layer.isEditable()
    else:  # QGIS ≥ 3.32 (Part 4 client): the key's rights become the layer's capabilities
        assert all(caps & flag for flag in edits), layer.dataProvider().capabilitiesString()
        assert layer.startEditing() and layer.isEditable()
        layer.rollBack()
