"""Conformance class Core + GeoJSON (OGC API Features Part 1): landing page, collections, items, paging."""

from __future__ import annotations

from netzatlas.api import models
from netzatlas.api.features import CONFORMANCE, PROCESSES_CONFORMANCE


def test_landing_page(client):
    r = client.get("/")
    assert r.status_code == 200
    page = models.LandingPage.model_validate(r.json())
    rels = {link.rel for link in page.links}
    assert {"self", "service-desc", "conformance", "data"} <= rels


def test_conformance(client):
    r = client.get("/conformance")
    doc = models.Conformance.model_validate(r.json())
    assert set(doc.conformsTo) == set(CONFORMANCE) | set(PROCESSES_CONFORMANCE)  # the processes router is mounted
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in doc.conformsTo


def test_collections_lists_public_layers_only_for_anonymous(client, api_keys):
    anon = models.Collections.model_validate(client.get("/collections").json())
    ids = {c.id for c in anon.collections}
    assert {"fibre_address", "mobile_site", "wlan_hotspot", "streetlight", "charging_point", "municipality",
            "population_grid", "poi", "building", "road"} <= ids
    assert "candidate_site" not in ids
    keyed = models.Collections.model_validate(
        client.get("/collections", headers={"X-API-Key": api_keys["reader"]}).json())
    assert "candidate_site" not in {c.id for c in keyed.collections}  # confidential: read:confidential only
    assert "gigabit_result" not in {c.id for c in keyed.collections}
    admin = models.Collections.model_validate(
        client.get("/collections", headers={"X-API-Key": api_keys["admin"]}).json())
    assert {"candidate_site", "gigabit_result"} <= {c.id for c in admin.collections}
    sl = client.get("/collections/streetlight").json()
    col = models.Collection.model_validate(sl)
    assert col.storageCrs.endswith("/25832") and any(c.endswith("CRS84") for c in col.crs)


def test_items_geojson_and_paging_with_next_links(client, api_data):
    seen, url, pages = [], "/collections/streetlight/items?limit=7&source=api-test-city", 0
    while url:
        r = client.get(url)
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
        fc = models.FeatureCollection.model_validate(r.json())
        assert fc.numberReturned == len(fc.features) <= 7
        seen += [f.id for f in fc.features]
        nxt = [link.href for link in fc.links if link.rel == "next"]
        url = nxt[0].replace("http://testserver", "") if nxt else None
        pages += 1
    assert len(seen) == api_data["lamps"] == len(set(seen))
    assert pages == 5


def test_number_matched_unless_declined(client):
    fc = client.get("/collections/streetlight/items?limit=1&source=api-test-city").json()
    assert fc["numberMatched"] == 30 and "numberMatchedEstimated" not in fc   # exact: a small layer
    fc = client.get("/collections/streetlight/items?limit=1&source=api-test-city&count=false").json()
    assert "numberMatched" not in fc
    fc = client.get("/collections/streetlight/items?limit=1&source=api-test-city&count=true").json()
    assert fc["numberMatched"] == 30


def test_bbox_properties_sortby(client):
    fc = client.get("/collections/streetlight/items?bbox=6.0825,50.7745,6.0865,50.7795&limit=100").json()
    xs = [f["geometry"]["coordinates"][0] for f in fc["features"]]
    assert len(xs) == 4 and all(6.0825 <= x <= 6.0865 for x in xs)
    fc = client.get("/collections/streetlight/items?properties=name,height_m&limit=3&source=api-test-city").json()
    assert set(fc["features"][0]["properties"]) == {"name", "height_m"}
    fc = client.get("/collections/streetlight/items?sortby=-height_m,name&limit=100&source=api-test-city").json()
    hs = [f["properties"]["height_m"] for f in fc["features"]]
    assert hs == sorted(hs, reverse=True)


def test_sorted_paging_is_complete(client):
    ids, url = [], "/collections/streetlight/items?sortby=lamp_type,-height_m&limit=4&source=api-test-city"
    while url:
        fc = client.get(url).json()
        ids += [f["id"] for f in fc["features"]]
        nxt = [link["href"] for link in fc["links"] if link["rel"] == "next"]
        url = nxt[0].replace("http://testserver", "") if nxt else None
    assert len(ids) == 30 == len(set(ids))


def test_datetime_on_updated_at(client):
    assert client.get("/collections/streetlight/items?datetime=2000-01-01T00:00:00Z/..&limit=1"
                      ).json()["numberReturned"] == 1
    assert client.get("/collections/streetlight/items?datetime=../2000-01-01T00:00:00Z").json()["numberReturned"] == 0


def test_single_item_with_etag_and_sensitive_properties_hidden(client, api_keys):
    fid = client.get("/collections/streetlight/items?limit=1&source=api-test-city").json()["features"][0]["id"]
    r = client.get(f"/collections/streetlight/items/{fid}")
    assert r.status_code == 200 and r.headers["etag"] == f'W/"{r.json()["properties"]["version"]}"'
    f = models.Feature.model_validate(r.json())
    assert f.properties["attributes"] == {"pole": "steel"}          # 'contact' is sensitive
    assert "updated_by" not in f.properties
    keyed = client.get(f"/collections/streetlight/items/{fid}", headers=auth_h(api_keys["reader"])).json()
    assert keyed["properties"]["attributes"]["contact"] == "jane@example.org"


def auth_h(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_errors_are_problem_details(client):
    cases = [
        ("/collections/nope/items", 404),
        ("/collections/streetlight/items/not-a-uuid", 404),
        ("/collections/streetlight/items/00000000-0000-0000-0000-000000000000", 404),
        ("/collections/streetlight/items?bbox=1,2,3", 400),
        ("/collections/streetlight/items?bbox=a,b,c,d", 400),
        ("/collections/streetlight/items?limit=0", 400),
        ("/collections/streetlight/items?limit=100000", 400),
        ("/collections/streetlight/items?crs=EPSG:9999", 400),
        ("/collections/streetlight/items?sortby=geom", 400),
        ("/collections/streetlight/items?cursor=garbage", 400),
        ("/collections/streetlight/items?unknownparam=1", 400),
        ("/collections/streetlight/items?datetime=yesterday", 400),
        ("/collections/streetlight/items?properties=nothere", 400),
        ("/collections/candidate_site/items", 401),
    ]
    for url, status in cases:
        r = client.get(url)
        assert r.status_code == status, (url, r.status_code, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        p = models.Problem.model_validate(r.json())
        assert p.status == status and p.detail
