"""Tiles and bboxes anywhere on Earth, not only over Aachen: a web map zoomed out to the world asks for every tile
of zoom 0–4, and a client may send a world-wide bbox. The registry is stored in a UTM zone (EPSG:25832); an
envelope far outside that zone cannot always be transformed into it, which must give an empty answer
(204 / no features), never a 500."""

from __future__ import annotations

import pytest

from netzatlas.api.crs import epsg_uri


@pytest.fixture(scope="module")
def api(db_url, api_data):
    from fastapi.testclient import TestClient

    from netzatlas.api.app import create_app

    with TestClient(create_app(db_url), raise_server_exceptions=False) as c:
        yield c


@pytest.mark.parametrize("z", range(5))
def test_every_tile_of_the_low_zooms_answers(api, z):
    failed = []
    for x in range(2 ** z):
        for y in range(2 ** z):
            r = api.get(f"/collections/streetlight/tiles/WebMercatorQuad/{z}/{y}/{x}")
            if r.status_code not in (200, 204):
                failed.append((z, y, x, r.status_code))
    assert failed == []


def test_the_tile_over_aachen_at_zoom_4_holds_the_lamps(api):
    r = api.get("/collections/streetlight/tiles/WebMercatorQuad/4/5/8")     # 0–22.5°E, 40.98–55.78°N
    assert r.status_code == 200 and b"streetlight" in r.content


@pytest.mark.parametrize("z,y,x", [(10, 0, 0), (10, 1023, 1023), (12, 2048, 4095), (24, 0, 0),
                                   (24, 2 ** 24 - 1, 2 ** 24 - 1)])
def test_far_away_tiles_are_empty(api, z, y, x):
    assert api.get(f"/collections/streetlight/tiles/WebMercatorQuad/{z}/{y}/{x}").status_code == 204


@pytest.mark.parametrize("bbox,crs", [
    ("-180,-90,180,90", None),
    ("-180,-85,180,85", None),
    ("170,-10,180,10", None),
    ("-90,-180,90,180", epsg_uri(4326)),
    ("-20037508,-20037508,20037508,20037508", epsg_uri(3857)),
])
def test_world_and_far_away_bboxes(api, bbox, crs):
    params = {"bbox": bbox, "limit": 1}
    if crs:
        params["bbox-crs"] = crs
    r = api.get("/collections/streetlight/items", params=params)
    assert r.status_code == 200, r.text[:300]
