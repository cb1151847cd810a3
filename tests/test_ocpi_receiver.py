"""OCPI 2.2.1 receiver over HTTP: the credentials handshake, a CPO pushing Locations / EVSEs / Connectors, the
live status kept out of the history, another party refused, malformed payloads refused (recorded spec examples)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.ocpi_helpers import example, new_party, token_header
from tests.ocpi_helpers import location_for as spec_location

BASE = "/ocpi/2.2.1"
#: a point in Aachen: the receiver refuses coordinates outside the municipality (the spec example lies in Ghent)
AACHEN = {"latitude": "50.775600", "longitude": "6.083900"}


def location_for(party: str, location_id: str = "LOC1") -> dict:
    """The spec's example Location of our party, moved into Aachen (everything else as recorded)."""
    loc = spec_location(party, location_id)
    loc["coordinates"] = dict(AACHEN)
    return loc


@pytest.fixture(scope="module")
def cpo(client, db_url):
    """A CPO that completed the handshake: (org, party id, token C, receiver URL of its LOC1)."""
    from netzatlas.registry.db import connect

    with connect(db_url) as conn:
        org, cc, party, token_a = new_party(conn)
    creds = example("credentials_example.json")
    creds["roles"][0].update(country_code=cc, party_id=party)
    r = client.post(f"{BASE}/credentials", json=creds, headers=token_header(token_a))
    assert r.status_code == 200, r.text
    token_c = r.json()["data"]["token"]
    return org, party, token_c, f"{BASE}/receiver/locations/{cc}/{party}/LOC1", token_a


def _changes(conn, table: str, row_ids: list) -> list[dict]:
    return conn.execute("SELECT operation, changed_by, before FROM audit.change WHERE table_name = %s "
                        "AND row_id = ANY(%s::uuid[]) ORDER BY seq", [table, [str(i) for i in row_ids]]).fetchall()


def test_handshake_versions_and_tokens(client, db_url):
    from netzatlas.registry.db import connect

    with connect(db_url) as conn:
        org, cc, party, token_a = new_party(conn)
    assert client.get("/ocpi/versions").json()["status_code"] == 2000          # no token
    r = client.get("/ocpi/versions", headers=token_header(token_a))
    assert r.status_code == 200 and r.json()["status_code"] == 1000
    assert r.json()["data"][0]["version"] == "2.2.1" and r.json()["timestamp"]
    details = client.get(BASE, headers=token_header(token_a)).json()["data"]
    assert {(e["identifier"], e["role"]) for e in details["endpoints"]} >= {
        ("credentials", "SENDER"), ("locations", "RECEIVER"), ("locations", "SENDER")}

    creds = example("credentials_example.json")                               # roles name another party: refused
    r = client.post(f"{BASE}/credentials", json=creds, headers=token_header(token_a))
    assert r.status_code == 403 and r.json()["status_code"] == 2000
    creds["roles"][0].update(country_code=cc, party_id=party)
    r = client.post(f"{BASE}/credentials", json=creds, headers=token_header(token_a))
    assert r.status_code == 200 and r.json()["status_code"] == 1000
    token_c = r.json()["data"]["token"]
    assert token_c != token_a and r.json()["data"]["url"].endswith("/ocpi/versions")

    assert client.get("/ocpi/versions", headers=token_header(token_a)).status_code == 401   # A is used up
    assert client.get(f"{BASE}/credentials", headers=token_header(token_c)).json()["status_code"] == 1000
    with connect(db_url) as conn:
        row = conn.execute("SELECT org, token_a_hash, token_c_hash, versions_url, business_name "
                           "FROM registry.ocpi_party WHERE country_code = %s AND party_id = %s", [cc, party]).fetchone()
    assert row["org"] == org and row["token_a_hash"] is None and row["versions_url"] == creds["url"]
    assert row["business_name"] == "Example Operator"
    assert token_c not in str(row.values()) and len(row["token_c_hash"]) == 64           # stored hashed

    assert client.delete(f"{BASE}/credentials", headers=token_header(token_c)).json()["status_code"] == 1000
    assert client.get(f"{BASE}/credentials", headers=token_header(token_c)).status_code == 401


def test_put_location_writes_the_registry_with_history_under_the_operator(client, db_url, cpo):
    from netzatlas.registry.db import connect

    org, party, token, url = cpo[:4]
    r = client.put(url, json=location_for(party), headers=token_header(token))
    assert r.status_code == 200 and r.json()["status_code"] == 1000, r.text
    with connect(db_url) as conn:
        st = conn.execute("SELECT id, owner_org, source, name, operator, parking_type, country, version "
                          "FROM registry.charging_point WHERE external_id = %s", [f"BE*{party}*LOC1"]).fetchone()
        evses = conn.execute("SELECT e.id, e.uid, e.evse_id, e.owner_org, s.status FROM registry.charging_evse e "
                             "JOIN registry.evse_status s ON s.evse = e.id WHERE e.location = %s ORDER BY uid",
                             [st["id"]]).fetchall()
        cons = conn.execute("SELECT c.connector_id, c.standard, c.format, c.max_voltage, c.tariff_ids "
                            "FROM registry.charging_connector c JOIN registry.charging_evse e ON e.id = c.evse "
                            "WHERE e.location = %s ORDER BY e.uid, c.connector_id", [st["id"]]).fetchall()
        hist = _changes(conn, "registry.charging_point", [st["id"]])
    assert (st["owner_org"], st["source"], st["name"], st["operator"]) == (org, f"ocpi:BE*{party}", "Gent Zuid",
                                                                           "BeCharged")
    assert (st["parking_type"], st["country"]) == ("ON_STREET", "BEL")
    assert [(e["uid"], e["evse_id"], e["status"]) for e in evses] == [
        ("3256", "BE*BEC*E041503001", "AVAILABLE"), ("3257", "BE*BEC*E041503002", "RESERVED")]
    assert {e["owner_org"] for e in evses} == {org}
    assert [(c["connector_id"], c["standard"], c["format"], c["max_voltage"], c["tariff_ids"]) for c in cons] == [
        ("1", "IEC_62196_T2", "CABLE", 220, ["11"]), ("2", "IEC_62196_T2", "SOCKET", 220, ["13"]),
        ("1", "IEC_62196_T2", "SOCKET", 220, ["12"])]
    assert [h["operation"] for h in hist] == ["INSERT"] and hist[0]["changed_by"].startswith(f"{org}:ocpi")

    again = client.put(url, json=location_for(party), headers=token_header(token))   # the same object: no version
    assert again.json()["status_code"] == 1000
    with connect(db_url) as conn:
        assert len(_changes(conn, "registry.charging_point", [st["id"]])) == 1
    got = client.get(url, headers=token_header(token)).json()["data"]
    assert got["id"] == "LOC1" and [e["uid"] for e in got["evses"]] == ["3256", "3257"]


def test_status_patch_logs_the_status_and_writes_no_history(client, db_url, cpo):
    from netzatlas.registry.db import connect

    _, party, token, url = cpo[:4]
    client.put(url, json=location_for(party), headers=token_header(token))
    with connect(db_url) as conn:
        ids = [r["id"] for r in conn.execute(
            "SELECT id FROM registry.charging_point WHERE external_id = %(k)s UNION ALL "
            "SELECT e.id FROM registry.charging_evse e JOIN registry.charging_point p ON p.id = e.location "
            "WHERE p.external_id = %(k)s", {"k": f"BE*{party}*LOC1"}).fetchall()]
        before = conn.execute("SELECT count(*) AS n FROM audit.change WHERE row_id = ANY(%s)", [ids]).fetchone()["n"]
    r = client.patch(url + "/3256", json=example("location_patch_example_status.json"), headers=token_header(token))
    assert r.status_code == 200 and r.json()["status_code"] == 1000, r.text
    with connect(db_url) as conn:
        after = conn.execute("SELECT count(*) AS n FROM audit.change WHERE row_id = ANY(%s)", [ids]).fetchone()["n"]
        now = conn.execute("SELECT s.status, s.status_at, e.version FROM registry.evse_status s "
                           "JOIN registry.charging_evse e ON e.id = s.evse WHERE e.id = ANY(%s) AND e.uid = '3256'",
                           [ids]).fetchone()
        log = conn.execute("SELECT l.status FROM registry.evse_status_log l JOIN registry.charging_evse e "
                           "ON e.id = l.evse WHERE e.id = ANY(%s) AND e.uid = '3256' ORDER BY l.id", [ids]).fetchall()
    assert after == before                                   # no audit.change row for a status
    assert now["status"] == "CHARGING" and now["status_at"].year == 2019 and now["version"] == 1
    assert [x["status"] for x in log] == ["AVAILABLE", "CHARGING"]
    # the EVSE collection serves the live status (public read)
    items = client.get("/collections/charging_evse/items", params={"limit": 1000}).json()["features"]
    mine = [f for f in items if f["properties"].get("external_id") == f"BE*{party}*LOC1/3256"]
    assert mine and mine[0]["properties"]["live_status"] == "CHARGING"


def test_connector_patch_writes_a_history_row_under_the_operator(client, db_url, cpo):
    from netzatlas.registry.db import connect

    org, party, token, url = cpo[:4]
    client.put(url, json=location_for(party), headers=token_header(token))
    r = client.patch(url + "/3256/1", json=example("location_patch_example_tariff.json"), headers=token_header(token))
    assert r.status_code == 200 and r.json()["status_code"] == 1000, r.text
    with connect(db_url) as conn:
        con = conn.execute("SELECT id, tariff_ids, version, owner_org FROM registry.charging_connector "
                           "WHERE external_id = %s", [f"BE*{party}*LOC1/3256/1"]).fetchone()
        hist = _changes(conn, "registry.charging_connector", [con["id"]])
    assert con["tariff_ids"] == ["15"] and con["version"] == 2 and con["owner_org"] == org
    assert [h["operation"] for h in hist] == ["INSERT", "UPDATE"]
    assert hist[-1]["changed_by"].startswith(f"{org}:ocpi") and hist[-1]["before"]["tariff_ids"] == ["11"]
    got = client.get(url + "/3256/1", headers=token_header(token)).json()["data"]
    assert got["tariff_ids"] == ["15"] and got["standard"] == "IEC_62196_T2"


def test_another_partys_location_is_refused_and_nothing_written(client, db_url, cpo):
    from netzatlas.registry.db import connect

    _, party, token, _ = cpo[:4]
    other = "ZZ9" if party != "ZZ9" else "ZZ8"
    loc = location_for(party)
    loc["party_id"] = other
    url = f"{BASE}/receiver/locations/BE/{other}/LOC1"
    r = client.put(url, json=loc, headers=token_header(token))
    assert r.status_code == 403 and r.json()["status_code"] == 2000 and "may not change" in r.json()["status_message"]
    assert client.patch(url + "/3256", json=example("location_patch_example_status.json"),
                        headers=token_header(token)).status_code == 403
    with connect(db_url) as conn:
        assert conn.execute("SELECT count(*) AS n FROM registry.charging_point WHERE external_id = %s",
                            [f"BE*{other}*LOC1"]).fetchone()["n"] == 0
    assert client.put(url, json=loc).status_code == 401                        # no token at all


def test_malformed_payloads_are_refused_with_2001_and_nothing_written(client, db_url, cpo):
    from netzatlas.registry.db import connect

    _, party, token, url = cpo[:4]
    base = url.rsplit("/", 1)[0]
    h = token_header(token)
    bad = location_for(party, "BAD1")
    del bad["coordinates"]
    r = client.put(f"{base}/BAD1", json=bad, headers=h)
    assert r.status_code == 400 and r.json()["status_code"] == 2001 and "coordinates" in r.json()["status_message"]
    bad = location_for(party, "BAD2")
    bad["evses"][1]["evse_id"] = "not an eMI3 id"                               # the second EVSE is wrong
    r = client.put(f"{base}/BAD2", json=bad, headers=h)
    assert r.json()["status_code"] == 2001 and "eMI3" in r.json()["status_message"]
    r = client.put(f"{base}/BAD3", content=b"{not json", headers={**h, "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["status_code"] == 2001
    r = client.put(f"{base}/OTHER", json=location_for(party, "LOC9"), headers=h)   # id in body ≠ URL
    assert r.json()["status_code"] == 2001
    bad = location_for(party, "BAD4")
    bad["evses"][1]["connectors"][0]["terms_and_conditions"] = "nul \x00 byte"    # refused by the database
    r = client.put(f"{base}/BAD4", json=bad, headers=h)
    assert r.status_code == 400 and r.json()["status_code"] == 2001, r.text
    with connect(db_url) as conn:
        keys = [f"BE*{party}*{i}" for i in ("BAD1", "BAD2", "BAD3", "BAD4", "OTHER", "LOC9")]
        n = conn.execute("SELECT count(*) AS n FROM registry.charging_point WHERE source = %s AND external_id "
                         "= ANY(%s)", [f"ocpi:BE*{party}", keys]).fetchone()
    assert n["n"] == 0

    client.put(url, json=location_for(party), headers=h)
    # the spec's own "add EVSE" example lacks the connector's power_type, max_voltage and max_amperage
    r = client.put(url + "/3256", json=example("location_put_example_add_evse.json"), headers=h)
    assert r.json()["status_code"] == 2001 and "power_type" in r.json()["status_message"]
    r = client.patch(url + "/3256", json={"status": "CHARGING"}, headers=h)           # no last_updated
    assert r.json()["status_code"] == 2001
    r = client.patch(url + "/3256", json={"status": "ON_FIRE", "last_updated": "2019-06-24T12:39:09Z"}, headers=h)
    assert r.json()["status_code"] == 2001
    r = client.patch(url + "/3256/1", json={"max_voltage": "high", "last_updated": "2019-06-24T12:39:09Z"}, headers=h)
    assert r.json()["status_code"] == 2001
    r = client.patch(base + "/NOPE", json=example("location_patch_example_location.json"), headers=h)
    assert r.status_code == 404 and r.json()["status_code"] == 2003
    with connect(db_url) as conn:
        evse = conn.execute("SELECT evse_id FROM registry.charging_evse WHERE external_id = %s",
                            [f"BE*{party}*LOC1/3256"]).fetchone()
        volt = conn.execute("SELECT max_voltage FROM registry.charging_connector WHERE external_id = %s",
                            [f"BE*{party}*LOC1/3256/1"]).fetchone()
    assert evse["evse_id"] == "BE*BEC*E041503001" and volt["max_voltage"] == 220     # unchanged


def test_put_evse_and_location_patch(client, db_url, cpo):
    from netzatlas.registry.db import connect

    _, party, token, url = cpo[:4]
    h = token_header(token)
    client.put(url, json=location_for(party), headers=h)
    evse = example("location_put_example_add_evse.json")
    evse.update(uid="3258", physical_reference="3", floor_level="-1")
    evse.pop("floor")
    evse["connectors"][0].update(power_type="AC_3_PHASE", max_voltage=230, max_amperage=32,
                                 last_updated="2019-06-24T12:39:09Z")
    r = client.put(url + "/3258", json=evse, headers=h)
    assert r.json()["status_code"] == 1000, r.text
    r = client.patch(url, json=example("location_patch_example_location.json"), headers=h)
    assert r.json()["status_code"] == 1000, r.text
    with connect(db_url) as conn:
        st = conn.execute("SELECT name, version FROM registry.charging_point WHERE external_id = %s",
                          [f"BE*{party}*LOC1"]).fetchone()
        uids = [r["uid"] for r in conn.execute(
            "SELECT uid FROM registry.charging_evse WHERE external_id LIKE %s AND deleted_at IS NULL ORDER BY uid",
            [f"BE*{party}*LOC1/%"]).fetchall()]
    assert st["name"] == "Interparking Gent Zuid" and uids == ["3256", "3257", "3258"]


def test_the_city_hands_out_token_a_with_the_cli(client, db_url):
    import secrets

    from typer.testing import CliRunner

    from netzatlas.cli.main import app
    from netzatlas.registry.db import connect

    org = "cpo-" + secrets.token_hex(4)
    with connect(db_url) as conn:
        conn.execute("INSERT INTO registry.organization (slug, name) VALUES (%s, %s)", [org, org])
    party = secrets.token_hex(2)[:3].upper()
    with connect(db_url) as conn:
        conn.execute("DELETE FROM registry.ocpi_party WHERE country_code = 'NL' AND party_id = %s", [party])
    r = CliRunner().invoke(app, ["ocpi", "token", "--org", org, "--country-code", "nl", "--party-id", party])
    assert r.exit_code == 0, r.output
    token_a = r.output.splitlines()[0].strip()
    assert client.get("/ocpi/versions", headers=token_header(token_a)).json()["status_code"] == 1000
    with connect(db_url) as conn:
        row = conn.execute("SELECT org, token_a_hash FROM registry.ocpi_party WHERE country_code = 'NL' "
                           "AND party_id = %s", [party]).fetchone()
    assert row["org"] == org and token_a not in row["token_a_hash"]
    listed = CliRunner().invoke(app, ["ocpi", "parties"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0 and f"NL*{party}" in listed.output
    bad = CliRunner().invoke(app, ["ocpi", "token", "--org", "no-such-org", "--country-code", "NL", "--party-id",
                                   "ABC"])
    assert bad.exit_code != 0 and "unknown organization" in bad.output and "Traceback" not in bad.output


def test_coordinates_outside_the_municipality_are_refused_with_2001(client, db_url, cpo):
    from netzatlas.registry.db import connect

    _, party, token, url = cpo[:4]
    base, h = url.rsplit("/", 1)[0], token_header(token)
    r = client.put(f"{base}/FAR1", json=spec_location(party, "FAR1"), headers=h)     # the spec's Ghent location
    body = r.json()
    assert r.status_code == 400 and body["status_code"] == 2001, r.text
    assert "outside Aachen" in body["status_message"] and "the location (latitude 51.047599" in body["status_message"]
    assert "km outside the municipality" in body["status_message"]
    swapped = location_for(party, "FAR2")                                      # an EVSE's own point, axes swapped
    swapped["evses"][0]["coordinates"] = {"latitude": AACHEN["longitude"], "longitude": AACHEN["latitude"]}
    r = client.put(f"{base}/FAR2", json=swapped, headers=h)
    assert r.json()["status_code"] == 2001 and "EVSE 3256" in r.json()["status_message"]
    assert "swapped" in r.json()["status_message"]
    client.put(url, json=location_for(party), headers=h)                       # a PATCH moving it away: refused
    r = client.patch(url, json={"coordinates": {"latitude": "48.137154", "longitude": "11.576124"},
                                "last_updated": "2026-11-30T12:00:00Z"}, headers=h)
    assert r.status_code == 400 and r.json()["status_code"] == 2001 and "outside Aachen" in r.json()["status_message"]
    with connect(db_url) as conn:
        n = conn.execute("SELECT count(*) AS n FROM registry.charging_point WHERE source = %s AND external_id "
                         "= ANY(%s)", [f"ocpi:BE*{party}", [f"BE*{party}*FAR1", f"BE*{party}*FAR2"]]).fetchone()
        lat = conn.execute("SELECT ST_Y(ST_Transform(geom, 4326)) AS lat FROM registry.charging_point "
                           "WHERE external_id = %s", [f"BE*{party}*LOC1"]).fetchone()
    assert n["n"] == 0 and round(lat["lat"], 4) == 50.7756                     # nothing written, LOC1 stays


def test_a_body_over_the_size_limit_is_an_ocpi_envelope(client, cpo):
    from netzatlas.config import get_settings

    _, party, token, url = cpo[:4]
    limit = get_settings().limit_other_body_bytes
    loc = location_for(party)
    loc["name"] = "x" * (limit + 10)
    r = client.put(url, json=loc, headers=token_header(token))
    assert r.status_code == 413 and r.headers["content-type"].startswith("application/json"), r.text
    body = r.json()
    assert body["status_code"] == 2001 and "limit" in body["status_message"] and body["timestamp"]
    r = client.get(f"{BASE}/no/such/route/here/at/all", headers=token_header(token))     # unknown route: 2000
    assert r.status_code == 404 and r.json()["status_code"] == 2000
    assert client.put("/collections/charging_point/items/x", content=b"x" * (limit * 20)).headers[
        "content-type"].startswith("application/problem+json")                # other routes: problem documents


def test_status_patches_keep_a_bounded_log_and_no_history(client, db_url, cpo):
    from netzatlas.registry import ocpi_store
    from netzatlas.registry.db import connect

    _, party, token, url = cpo[:4]
    h = token_header(token)
    client.put(url, json=location_for(party), headers=h)
    with connect(db_url) as conn:
        evse = conn.execute("SELECT id FROM registry.charging_evse WHERE external_id = %s",
                            [f"BE*{party}*LOC1/3256"]).fetchone()["id"]
        hist0 = conn.execute("SELECT count(*) AS n FROM audit.change WHERE row_id = %s", [evse]).fetchone()["n"]
    keep = ocpi_store.STATUS_LOG_KEEP
    # times near now (one in the far future would be refused: it would freeze the live status)
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    for i in range(keep + 5):
        at = t0 + timedelta(seconds=i)
        r = client.patch(url + "/3256", headers=h, json={"status": ("CHARGING", "AVAILABLE")[i % 2],
                                                         "last_updated": f"{at:%Y-%m-%dT%H:%M:%SZ}"})
        assert r.json()["status_code"] == 1000, r.text
    r = client.patch(url + "/9999", json={"status": "CHARGING", "last_updated": f"{t0:%Y-%m-%dT%H:%M:%SZ}"}, headers=h)
    assert r.status_code == 404 and r.json()["status_code"] == 2003 and "9999" in r.json()["status_message"]
    with connect(db_url) as conn:
        log = conn.execute("SELECT status, status_at FROM registry.evse_status_log WHERE evse = %s ORDER BY id",
                           [evse]).fetchall()
        now = conn.execute("SELECT status FROM registry.evse_status WHERE evse = %s", [evse]).fetchone()
        hist = conn.execute("SELECT count(*) AS n FROM audit.change WHERE row_id = %s", [evse]).fetchone()["n"]
    assert len(log) == keep and log[-1]["status_at"] == t0 + timedelta(seconds=keep + 4)  # the newest kept
    assert now["status"] == ("CHARGING", "AVAILABLE")[(keep + 4) % 2] and hist == hist0
