"""Mast requests as an API collection (revision 0020): recorded with POST, decided with PATCH (OGC API Features
Part 4, scope ``write:mast_request``), with status, deadline, days left and the decision record on every item, the
history at the item's history link, the change feed; confidential: anonymous and plain ``read`` keys see nothing,
another organization's key cannot change the city's requests."""

from __future__ import annotations

from datetime import date

import pytest

from tests.conftest import auth
from tests.test_api_changes import follow

REQUEST = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [6.0839, 50.7753]},
           "properties": {"operator": "Vodafone", "technology": "NR", "radius_m": 300, "desired_height_m": 25,
                          "received_on": "2026-11-02", "coordination_weeks": 8, "site_type": "mast",
                          "name": "Suchkreis Markt"}}
DECISION = {"type": "Feature", "geometry": None, "properties": {
    "status": "alternative_proposed", "decision": "Dachstandort auf dem Verwaltungsgebäude angeboten",
    "alternatives": [{"rank": 1, "label": "Verwaltungsgebäude Standesamt", "distance_to_centre_m": 70.0}]}}


@pytest.fixture(scope="module")
def keys(api_keys, db_url):
    """The fixture keys plus another organization's key that holds write:mast_request."""
    from netzatlas.api.auth import create_key
    from netzatlas.registry.db import connect

    with connect(db_url) as c:
        other = create_key(c, "stawag", ["write:mast_request"], "stawag-requests")
        c.commit()
    return {**api_keys, "other_writer": other}


@pytest.fixture(scope="module")
def start(db_url) -> str:
    """The change-feed position of the newest change before this module writes. Not the consumer's position below
    the feed's horizon (test_api_changes): a transaction another test left open would hold that back, and the
    check below would then page through every change the suite made since."""
    import psycopg

    with psycopg.connect(db_url) as c:
        # ORDER BY the column c.xact (a number): a bare ``xact`` would name the text output column, and '898' sorts
        # after '3664' — the feed would then be followed from near its start (minutes of paging in a full run)
        row = c.execute("SELECT c.xact::text AS xact, c.seq FROM audit.change c ORDER BY c.xact DESC, c.seq DESC "
                        "LIMIT 1").fetchone()
    return f"{row[0]}.{row[1]}" if row else "0"


@pytest.fixture(scope="module")
def recorded(client, keys, start):
    r = client.post("/collections/mast_request/items", json=REQUEST, headers=auth(keys["analyst"]))
    assert r.status_code == 201, r.text
    assert r.headers["etag"] == 'W/"1"'
    return r.headers["location"].replace("http://testserver", "")


def test_post_records_a_request_with_deadline_and_days_left(client, keys, recorded, conn):
    r = client.get(recorded, headers=auth(keys["analyst"]))
    assert r.status_code == 200, r.text
    p = r.json()["properties"]
    assert (p["operator"], p["technology"], p["status"], p["owner_org"]) == ("Vodafone", "NR", "received", "city")
    assert p["received_on"] == "2026-11-02" and p["deadline"] == "2026-12-28"  # 8 weeks, derived by the database
    assert p["days_left"] == (date(2026, 12, 28) - date.today()).days
    assert p["alternatives"] == [] and p["outcome"] is None and p["decided_on"] is None
    assert r.json()["geometry"]["coordinates"] == pytest.approx([6.0839, 50.7753])
    fid = recorded.rsplit("/", 1)[1]
    row = conn.execute("SELECT source, owner_org, deadline, coordination_weeks, updated_by FROM registry.mast_request "
                       "WHERE id = %s", [fid]).fetchone()
    assert row["source"] == "api:city" and row["deadline"] == date(2026, 12, 28) and row["coordination_weeks"] == 8
    assert row["updated_by"] == "city:analyst"


def test_patch_records_the_decision_and_the_history_keeps_every_version(client, keys, recorded, conn, start):
    h = auth(keys["analyst"])
    r = client.patch(recorded, json=DECISION, headers={**h, "If-Match": 'W/"1"'})
    assert r.status_code == 204, r.text
    r = client.patch(recorded, headers={**h, "If-Match": r.headers["etag"]}, json={
        "type": "Feature", "geometry": None,
        "properties": {"status": "agreed", "operator_answer": "Alternative 1 angenommen",
                       "outcome": "gebaut auf Alternative 1"}})
    assert r.status_code == 204, r.text
    item = client.get(recorded, headers=h).json()
    p = item["properties"]
    assert p["status"] == "agreed" and p["decided_on"] == date.today().isoformat() and p["days_left"] is None
    assert p["alternatives"][0]["label"] == "Verwaltungsgebäude Standesamt" and p["outcome"].startswith("gebaut")
    assert p["decision"].startswith("Dachstandort") and p["version"] == 3
    link = next(x["href"] for x in item["links"] if x["rel"] == "version-history")
    hist = client.get(link.replace("http://testserver", ""), headers=h).json()["versions"]
    assert [(v["operation"], v["version"]) for v in hist] == [("INSERT", 1), ("UPDATE", 2), ("UPDATE", 3)]
    assert hist[1]["after"]["status"] == "alternative_proposed" and hist[2]["before"]["status"] == \
        "alternative_proposed"
    fid = recorded.rsplit("/", 1)[1]
    n = conn.execute("SELECT count(*) AS n FROM audit.change WHERE table_name = 'registry.mast_request' AND "
                     "row_id = %s", [fid]).fetchone()["n"]
    assert n == 3
    # the feed read as a consumer reads it: every page since the position held before (other tests' changes too)
    feed, _ = follow(client, f"/changes?since={start}&limit=1000", h)
    mine = [c for c in feed if c.id == fid]
    assert [(c.collection, c.operation) for c in mine] == [
        ("mast_request", "INSERT"), ("mast_request", "UPDATE"), ("mast_request", "UPDATE")]
    other, _ = follow(client, f"/changes?since={start}&limit=1000", auth(keys["reader"]))
    assert not [c for c in other if c.id == fid]          # not for keys that may not read it


def test_confidential_read_only_and_other_organizations_are_refused(client, keys, recorded, conn):
    fid = recorded.rsplit("/", 1)[1]
    assert client.get(recorded).status_code == 401
    assert client.get("/collections/mast_request/items").status_code == 401
    assert client.get(recorded, headers=auth(keys["reader"])).status_code == 403  # read, not read:confidential
    ids = [c["id"] for c in client.get("/collections", headers=auth(keys["reader"])).json()["collections"]]
    assert "mast_request" not in ids and "monument" in ids
    version = conn.execute("SELECT version FROM registry.mast_request WHERE id = %s", [fid]).fetchone()["version"]
    patch = {"type": "Feature", "geometry": None, "properties": {"status": "rejected"}}
    # a key that may read the collection but not write it
    r = client.patch(recorded, json=patch, headers={**auth(keys["reader"]), "If-Match": f'W/"{version}"'})
    assert r.status_code == 403
    r = client.post("/collections/mast_request/items", json=REQUEST, headers=auth(keys["reader"]))
    assert r.status_code == 403
    # another organization's key with write:mast_request reads it (it needs the ETag) but cannot change it
    other = auth(keys["other_writer"])
    assert client.get(recorded, headers=other).status_code == 200
    r = client.patch(recorded, json=patch, headers={**other, "If-Match": f'W/"{version}"'})
    assert r.status_code == 403, r.text
    assert client.delete(recorded, headers={**other, "If-Match": f'W/"{version}"'}).status_code == 403
    row = conn.execute("SELECT status, version, deleted_at FROM registry.mast_request WHERE id = %s", [fid]).fetchone()
    assert (row["version"], row["deleted_at"]) == (version, None) and row["status"] != "rejected"


def test_another_organization_may_not_evaluate_the_request(client, keys, recorded, conn):
    """The evaluation process writes into the request: only its organization (or an admin) may run it on it."""
    fid = recorded.rsplit("/", 1)[1]
    before = conn.execute("SELECT status, version, evaluation FROM registry.mast_request WHERE id = %s",
                          [fid]).fetchone()
    r = client.post("/processes/mast-request-evaluation/execution", headers=auth(keys["other_writer"]),
                    json={"inputs": {"request_id": fid}})
    assert r.status_code == 403, r.text
    assert "belongs to city" in r.json()["detail"]
    after = conn.execute("SELECT status, version, evaluation FROM registry.mast_request WHERE id = %s",
                         [fid]).fetchone()
    assert after == before


def test_a_bad_request_is_refused_and_nothing_is_written(client, keys, conn):
    before = conn.execute("SELECT count(*) AS n FROM registry.mast_request").fetchone()["n"]
    bad = {**REQUEST, "properties": {**REQUEST["properties"], "status": "granted"}}
    r = client.post("/collections/mast_request/items", json=bad, headers=auth(keys["analyst"]))
    assert 400 <= r.status_code < 500 and r.headers["content-type"].startswith("application/problem+json")
    missing = {**REQUEST, "properties": {k: v for k, v in REQUEST["properties"].items() if k != "operator"}}
    r = client.post("/collections/mast_request/items", json=missing, headers=auth(keys["analyst"]))
    assert 400 <= r.status_code < 500, r.text
    forever = {**REQUEST, "properties": {**REQUEST["properties"], "coordination_weeks": 10**6}}
    r = client.post("/collections/mast_request/items", json=forever, headers=auth(keys["analyst"]))
    assert 400 <= r.status_code < 500, r.text                     # refused before the deadline could overflow
    huge = {**REQUEST, "properties": {**REQUEST["properties"], "coordination_weeks": 3_000_000_000}}
    r = client.post("/collections/mast_request/items", json=huge, headers=auth(keys["analyst"]))
    assert r.status_code == 422 and "range" in r.text, r.text     # beyond an integer column: refused, not a 500
    assert conn.execute("SELECT count(*) AS n FROM registry.mast_request").fetchone()["n"] == before


def test_the_cli_list_shows_a_request_recorded_through_the_api(client, keys, db_url, monkeypatch):
    from typer.testing import CliRunner

    from netzatlas.cli.main import app

    r = client.post("/collections/mast_request/items", headers=auth(keys["analyst"]), json={
        **REQUEST, "properties": {**REQUEST["properties"], "operator": "Telefónica", "received_on": "2026-11-20"}})
    assert r.status_code == 201, r.text
    fid = r.headers["location"].rsplit("/", 1)[1]
    monkeypatch.setenv("NETZATLAS_DATABASE_URL", db_url)
    from netzatlas.config import get_settings

    get_settings.cache_clear()
    try:
        res = CliRunner().invoke(app, ["mobile", "request", "list", "--today", "2026-12-01"])
    finally:
        get_settings.cache_clear()
    assert res.exit_code == 0, res.output
    out = " ".join(res.output.split())
    assert fid[:8] in out and "2027-01-15" in out and "45" in out


def test_a_request_reopened_through_the_api_is_no_longer_decided(client, keys, conn):
    """PATCH to rejected (with an outcome), then back to under_review: decided_on and the outcome are cleared
    (revision 0025; they were kept), the rejection stays in the history."""
    h = auth(keys["analyst"])
    r = client.post("/collections/mast_request/items", json=REQUEST, headers=h)
    assert r.status_code == 201, r.text
    loc = r.headers["location"].replace("http://testserver", "")
    r = client.patch(loc, json={"properties": {"status": "rejected", "outcome": "Mast im Landschaftsschutzgebiet"}},
                     headers={**h, "If-Match": "*"})
    assert r.status_code in (200, 204), r.text
    decided = client.get(loc, headers=h).json()["properties"]
    assert decided["decided_on"] == date.today().isoformat() and decided["outcome"]
    r = client.patch(loc, json={"properties": {"status": "under_review"}}, headers={**h, "If-Match": "*"})
    assert r.status_code in (200, 204), r.text
    reopened = client.get(loc, headers=h).json()["properties"]
    assert reopened["status"] == "under_review"
    assert reopened["decided_on"] is None and reopened["outcome"] is None
    fid = loc.rsplit("/", 1)[1]
    outcomes = [row["o"] for row in conn.execute(
        "SELECT c.before->>'outcome' AS o FROM audit.change c WHERE c.row_id = %s ORDER BY c.seq", [fid])]
    assert "Mast im Landschaftsschutzgebiet" in outcomes  # the rejection is kept in the history
