"""Sensitive properties (registry.sensitive_property) never reach anonymous callers, on any surface.

A matrix of surfaces × callers: items, one item, ``properties=``, queryables, ``filter``, ``sortby``, queryables
as query parameters, vector tiles, a feature's history and the change feed. A key sees the sensitive values of its
own organization's features only; admins see all (the positive controls, so the test cannot pass by serving
nothing); filtering and sorting on sensitive columns is for admins only.
"""

from __future__ import annotations

import math
import uuid

import pytest

from netzatlas.api import models
from tests.conftest import auth

SECRET_DWELLINGS = 7
SECRET_EMAIL = "hausverwaltung@example.org"
SECRET_METER_KEY = "A1B2C3D4E5F60718293A4B5C6D7E8F90"


@pytest.fixture(scope="module")
def seeded(db_url, api_data):
    """One address with dwellings and an e-mail, one charger with a meter key (both unique sources)."""
    import geopandas as gpd
    from shapely.geometry import Point

    from netzatlas.registry.importers.load import load_layers

    src = f"sensitive-{uuid.uuid4().hex[:6]}"
    addr = gpd.GeoDataFrame({"external_id": ["A1"], "street": ["Theaterstraße"], "house_number": ["1"],
                             "dwellings": [SECRET_DWELLINGS],
                             "properties": [{"email": SECRET_EMAIL, "note": "Altbau"}]},
                            geometry=[Point(6.0861, 50.7712)], crs="EPSG:4326")
    charger = gpd.GeoDataFrame({"external_id": ["K1"], "operator": ["STAWAG"], "power_kw": [22.0],
                                "properties": [{"Public Key1": SECRET_METER_KEY, "plug": "Type 2"}]},
                               geometry=[Point(6.0862, 50.7713)], crs="EPSG:4326")
    load_layers({"fibre_address": addr}, source=src, kind="test", owner_org="city", url=db_url)
    load_layers({"charging_point": charger}, source=src, kind="test", owner_org="stawag", url=db_url)
    return src


def one(client, collection: str, src: str, headers: dict | None = None) -> dict:
    fc = client.get(f"/collections/{collection}/items?source={src}", headers=headers or {}).json()
    assert fc["numberReturned"] == 1
    return fc["features"][0]


def test_items_and_single_item(client, api_keys, seeded):
    anon = one(client, "fibre_address", seeded)
    assert "dwellings" not in anon["properties"] and "updated_by" not in anon["properties"]
    assert anon["properties"]["attributes"] == {"note": "Altbau"}
    single = client.get(f"/collections/fibre_address/items/{anon['id']}").json()
    models.Feature.model_validate(single)
    assert "dwellings" not in single["properties"] and SECRET_EMAIL not in str(single)
    keyed = one(client, "fibre_address", seeded, auth(api_keys["reader"]))
    assert keyed["properties"]["dwellings"] == SECRET_DWELLINGS
    assert keyed["properties"]["attributes"]["email"] == SECRET_EMAIL


def test_meter_keys_of_chargers(client, api_keys, seeded):
    anon = one(client, "charging_point", seeded)
    assert anon["properties"]["attributes"] == {"plug": "Type 2"}
    other = one(client, "charging_point", seeded, auth(api_keys["reader"]))   # a city key: stawag's meter keys
    assert other["properties"]["attributes"] == {"plug": "Type 2"}            # are not the city's to see
    keyed = one(client, "charging_point", seeded, auth(api_keys["stawag"]))  # the owner sees its own
    assert keyed["properties"]["attributes"]["Public Key1"] == SECRET_METER_KEY


def test_asking_for_a_sensitive_property_by_name(client, api_keys, seeded):
    r = client.get(f"/collections/fibre_address/items?source={seeded}&properties=dwellings,street")
    props = r.json()["features"][0]["properties"]
    assert "dwellings" not in props and props["street"] == "Theaterstraße"
    r = client.get(f"/collections/fibre_address/items?source={seeded}&properties=dwellings",
                   headers=auth(api_keys["reader"]))
    assert r.json()["features"][0]["properties"] == {"dwellings": SECRET_DWELLINGS}


def test_queryables_hide_sensitive_columns(client, api_keys, seeded):
    anon = models.Queryables.model_validate(client.get("/collections/fibre_address/queryables").json())
    assert "dwellings" not in anon.properties and "updated_by" not in anon.properties
    keyed = client.get("/collections/fibre_address/queryables", headers=auth(api_keys["reader"])).json()
    assert "dwellings" not in keyed["properties"]   # filtering would probe other organizations' rows
    admin = client.get("/collections/fibre_address/queryables", headers=auth(api_keys["admin"])).json()
    assert "dwellings" in admin["properties"]


@pytest.mark.parametrize("query", [
    f"filter=dwellings = {SECRET_DWELLINGS}",
    "filter=dwellings > 0",
    "filter-lang=cql2-json&filter={\"op\": \">\", \"args\": [{\"property\": \"dwellings\"}, 0]}",
    "sortby=dwellings",
    "sortby=-updated_by",
    f"dwellings={SECRET_DWELLINGS}",     # a queryable as a query parameter: not one for anonymous callers
])
def test_no_filtering_or_sorting_on_sensitive_columns(client, api_keys, seeded, query):
    # otherwise a value could be found out by bisection, one request per guess
    r = client.get(f"/collections/fibre_address/items?source={seeded}&{query}")
    assert r.status_code == 400, (query, r.status_code, r.text[:200])
    assert r.headers["content-type"].startswith("application/problem+json")
    keyed = client.get(f"/collections/fibre_address/items?source={seeded}&{query}", headers=auth(api_keys["reader"]))
    assert keyed.status_code == 400   # a key sees its own organization's values, but filters across all rows
    admin = client.get(f"/collections/fibre_address/items?source={seeded}&{query}", headers=auth(api_keys["admin"]))
    assert admin.status_code == 200 and admin.json()["numberReturned"] == 1


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2 ** z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def test_vector_tiles_carry_no_sensitive_values(client, api_keys, seeded):
    for collection, ext, lon, lat in (("fibre_address", b"A1", 6.0861, 50.7712),
                                      ("charging_point", b"K1", 6.0862, 50.7713)):
        x, y = tile_of(lon, lat, 16)
        anon = client.get(f"/collections/{collection}/tiles/WebMercatorQuad/16/{y}/{x}")
        assert anon.status_code == 200 and ext in anon.content          # the feature is in the tile
        assert SECRET_EMAIL.encode() not in anon.content and SECRET_METER_KEY.encode() not in anon.content
        assert b"dwellings" not in anon.content and b"updated_by" not in anon.content


def _feed_from_before(client, conn, fid: str, headers: dict) -> list[models.Change]:
    """The changes from just before the feature's first change (its position, as the feed orders them)."""
    row = conn.execute("SELECT xact::text AS x, seq FROM audit.change WHERE row_id = %s ORDER BY xact, seq LIMIT 1",
                       [fid]).fetchone()
    conn.rollback()
    doc = client.get(f"/changes?since={row['x']}.{row['seq'] - 1}&limit=50", headers=headers).json()
    return models.ChangeFeed.model_validate(doc).changes


def test_history_and_change_feed_are_scrubbed(client, api_keys, seeded, conn):
    # the address belongs to the city: a key of the city sees its non-public values, anonymous callers do not
    fid = one(client, "fibre_address", seeded)["id"]
    for headers, visible in (({}, False), (auth(api_keys["reader"]), True)):
        hist = client.get(f"/collections/fibre_address/items/{fid}/history", headers=headers).json()
        v = hist["versions"][0]
        assert v["operation"] == "INSERT"
        assert ("dwellings" in v["after"]) is visible and (SECRET_EMAIL in str(v)) is visible
        assert (v["changed_by"] is not None) is visible
    for headers, visible in (({}, False), (auth(api_keys["reader"]), True)):
        mine = [c for c in _feed_from_before(client, conn, fid, headers) if c.id == fid]
        assert len(mine) == 1
        text = str(mine[0].after)
        assert (SECRET_EMAIL in text) is visible and ("'dwellings'" in text) is visible


def test_history_and_change_feed_show_a_meter_key_only_to_its_organization(client, api_keys, seeded, conn):
    # the charger belongs to stawag: the city's read key sees the charger, not its meter key (nor do anonymous
    # callers); stawag's own key and an admin do
    fid = one(client, "charging_point", seeded)["id"]
    for who, visible in ((None, False), ("reader", False), ("stawag", True), ("admin", True)):
        headers = auth(api_keys[who]) if who else {}
        hist = client.get(f"/collections/charging_point/items/{fid}/history", headers=headers).json()
        assert hist["versions"][0]["after"]["properties"]["plug"] == "Type 2"
        assert (SECRET_METER_KEY in str(hist)) is visible, who
        mine = [c for c in _feed_from_before(client, conn, fid, headers) if c.id == fid]
        assert len(mine) == 1 and mine[0].after["properties"]["plug"] == "Type 2"
        assert (SECRET_METER_KEY in str(mine[0].after)) is visible, who
