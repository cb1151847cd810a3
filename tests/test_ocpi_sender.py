"""OCPI 2.2.1 sender: the registry's published chargers as Locations, paged with Link / X-Total-Count / X-Limit,
filtered by date_from / date_to, and by id (OCPI-pushed and register stations alike)."""

from __future__ import annotations

import re
import time

import pytest

from tests.ocpi_helpers import location_for, new_party

SENDER = "/ocpi/2.2.1/sender/locations"


@pytest.fixture(scope="module")
def pushed(client, db_url):
    """Five published and one unpublished Location of a party of our own, written through the store."""
    from netzatlas.charging.ocpi_model import Location
    from netzatlas.registry import ocpi_store
    from netzatlas.registry.db import connect

    with connect(db_url) as conn:
        org, _, party, _ = new_party(conn)
        locs = [location_for(party, f"S{i}") for i in range(6)]
        locs[5]["publish"] = False
        ocpi_store.upsert_locations(conn, [Location.model_validate(x) for x in locs], org=org,
                                    source=f"ocpi:BE*{party}")
        conn.commit()
    return party


def _all_pages(client, url: str, params: dict) -> tuple[list[dict], list[dict]]:
    """Follow the Link headers; (locations, responses' headers)."""
    items, headers = [], []
    r = client.get(url, params=params)
    while True:
        assert r.status_code == 200 and r.json()["status_code"] == 1000, r.text
        items += r.json()["data"]
        headers.append(r.headers)
        link = r.headers.get("Link")
        if not link:
            return items, headers
        m = re.fullmatch(r'<(.+)>; rel="next"', link)
        assert m, link
        r = client.get(m.group(1))


def test_paging_follows_the_link_header_through_every_location(client, pushed):
    items, headers = _all_pages(client, SENDER, {"limit": 2})
    total = int(headers[0]["X-Total-Count"])
    assert len(items) == total and all(h["X-Limit"] == "2" for h in headers)
    assert len(headers) == (total + 1) // 2
    ids = [(x["party_id"], x["id"]) for x in items]
    assert len(set(ids)) == len(ids)                                  # no location twice
    mine = sorted(i for p, i in ids if p == pushed)
    assert mine == ["S0", "S1", "S2", "S3", "S4"]                     # S5 is not published
    one = next(x for x in items if x["party_id"] == pushed and x["id"] == "S0")
    assert one["country_code"] == "BE" and one["coordinates"] == {"latitude": "51.047599", "longitude": "3.729944"}
    assert [e["uid"] for e in one["evses"]] == ["3256", "3257"] and one["evses"][1]["status"] == "RESERVED"
    assert one["evses"][0]["connectors"][0]["standard"] == "IEC_62196_T2"
    assert client.get(SENDER, params={"limit": 5000}).headers["X-Limit"] == "1000"


def test_date_filters_select_by_last_updated(client, db_url, pushed):
    from netzatlas.charging.ocpi_model import Location
    from netzatlas.registry import ocpi_store
    from netzatlas.registry.db import connect

    with connect(db_url) as conn:
        cut = conn.execute("SELECT now() AS t").fetchone()["t"]
    time.sleep(0.05)
    with connect(db_url) as conn:                                     # S1 changes after the cut
        org = conn.execute("SELECT org FROM registry.ocpi_party WHERE country_code = 'BE' AND party_id = %s",
                           [pushed]).fetchone()["org"]
        loc = location_for(pushed, "S1")
        loc["name"] = "Gent Zuid (renamed)"
        ocpi_store.upsert_locations(conn, [Location.model_validate(loc)], org=org, source=f"ocpi:BE*{pushed}")
        conn.commit()
    after, _ = _all_pages(client, SENDER, {"date_from": cut.isoformat(), "limit": 1000})
    before, _ = _all_pages(client, SENDER, {"date_to": cut.isoformat(), "limit": 1000})
    assert sorted(x["id"] for x in after if x["party_id"] == pushed) == ["S1"]
    assert sorted(x["id"] for x in before if x["party_id"] == pushed) == ["S0", "S2", "S3", "S4"]
    renamed = next(x for x in after if x["party_id"] == pushed)
    assert renamed["name"] == "Gent Zuid (renamed)" and renamed["last_updated"] >= cut.strftime("%Y-%m-%dT%H:%M:%S")
    bad = client.get(SENDER, params={"date_from": "yesterday"})
    assert bad.status_code == 400 and bad.json()["status_code"] == 2001


def test_by_id_and_register_stations(client, db_url, pushed, api_data):
    to = {"OCPI-to-country-code": "BE", "OCPI-to-party-id": pushed}    # OCPI 2.2.1 routing headers: the party
    r = client.get(f"{SENDER}/S0/3256/1", headers=to).json()
    assert r["status_code"] == 1000 and r["data"]["id"] == "1" and r["data"]["format"] == "CABLE"
    assert client.get(f"{SENDER}/S0/3257", headers=to).json()["data"]["evse_id"] == "BE*BEC*E041503002"
    nope = client.get(f"{SENDER}/no-such-location")
    assert nope.status_code == 404 and nope.json()["status_code"] == 2003
    assert client.get(f"{SENDER}/S5", headers=to).status_code == 404    # not published
    # a station of the generic API fixture (source api-test-stawag) is a Location of party DE*NZA, id = its uuid
    from netzatlas.registry.db import connect

    with connect(db_url) as conn:
        sid = conn.execute("SELECT id::text AS id FROM registry.charging_point WHERE source = 'api-test-stawag' "
                           "AND external_id = 'C2'").fetchone()["id"]
    loc = client.get(f"{SENDER}/{sid}").json()["data"]
    assert (loc["country_code"], loc["party_id"], loc["id"], loc["operator"]) == ("DE", "NZA", sid, {"name": "STAWAG"})
    assert loc["time_zone"] == "Europe/Berlin" and loc["country"] == "DEU" and loc["publish"] is True


def test_an_id_two_parties_use_needs_the_party(client, db_url, pushed):
    """Location ids are unique per party only: a bare id that two parties use is refused naming both; the
    routing headers or ?country_code=&party_id= pick one."""
    from netzatlas.charging.ocpi_model import Location
    from netzatlas.registry import ocpi_store
    from netzatlas.registry.db import connect

    with connect(db_url) as conn:
        org, _, other, _ = new_party(conn)
        loc = location_for(other, "S0")
        loc["name"] = "the other party's S0"
        ocpi_store.upsert_locations(conn, [Location.model_validate(loc)], org=org, source=f"ocpi:BE*{other}")
        conn.commit()
    r = client.get(f"{SENDER}/S0")
    assert r.status_code == 400 and r.json()["status_code"] == 2001, r.text
    assert f"BE*{pushed}" in r.json()["status_message"] and f"BE*{other}" in r.json()["status_message"]
    mine = client.get(f"{SENDER}/S0", headers={"OCPI-to-country-code": "BE", "OCPI-to-party-id": pushed}).json()
    theirs = client.get(f"{SENDER}/S0", params={"country_code": "be", "party_id": other.lower()}).json()
    assert (mine["data"]["party_id"], mine["data"]["name"]) == (pushed, "Gent Zuid")
    assert (theirs["data"]["party_id"], theirs["data"]["name"]) == (other, "the other party's S0")
    evse = client.get(f"{SENDER}/S0/3256", params={"country_code": "BE", "party_id": other}).json()
    assert evse["status_code"] == 1000 and evse["data"]["uid"] == "3256"
    r = client.get(f"{SENDER}/S0", headers={"OCPI-to-country-code": "BE", "OCPI-to-party-id": "Q9Q"})
    assert r.status_code == 404 and r.json()["status_code"] == 2003 and "BE*Q9Q" in r.json()["status_message"]
    assert client.get(f"{SENDER}/S0", params={"country_code": "BE"}).json()["status_code"] == 2001  # half a party
