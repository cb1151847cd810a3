"""Registry collections through QGIS's own OGC API Features provider: grouped, styled with the shipped QML,
with the right feature counts, and the key only referenced through the authentication config."""

from __future__ import annotations

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
        if layer.customProperty("netzatlas/snapshot"):  # a fetched snapshot: a local file, no server address
            assert layer.providerType() == "ogr" and layer.source().endswith(".geojson")
            assert registry["key"] not in open(layer.source(), encoding="utf-8").read()
            continue
        assert f"authcfg='{connected.authcfg}'" in layer.source() or f"authcfg={connected.authcfg}" in layer.source()


def test_results_hold_one_snapshot_the_newest(added, connected):
    """gigabit_result and funding_area_result come with ONE snapshot (the newest by default), fetched with the
    server filtering, not every snapshot stacked (test_algorithms.py kept snapshots before this module runs)."""
    from netzatlas_qgis.layers import list_snapshots

    _, layers = added
    snaps = list_snapshots(connected)
    assert len(snaps) >= 2
    newest = snaps[0]["id"]
    layer = layers["gigabit_result"]
    assert layer.customProperty("netzatlas/snapshot") == newest and newest in layer.name()
    assert {f["snapshot_id"] for f in layer.getFeatures()} == {newest}
