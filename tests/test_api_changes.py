"""The change feed (GET /changes) and a feature's history: complete, in commit order, paged without gaps, per caller.

Every write through the API (create, update, delete) and every sync lands in audit.change by trigger; the feed
serves the changes of finished transactions in the order (transaction, sequence), keyed paging by that position
(``next_since``), and only what the caller may see (netzatlas.api.authz): the collections it may read, other
organizations' non-public attributes left out, staff names only where allowed. The concurrent proof is
tests/test_change_feed_stress.py.
"""

from __future__ import annotations

import json
import os
import uuid

import psycopg
import pytest

from netzatlas.api import models
from tests.conftest import auth

PT = {"type": "Point", "coordinates": [6.0807, 50.7707]}


def position_now(db_url: str) -> str:
    """The feed position a consumer that has read everything final would hold now."""
    with psycopg.connect(db_url) as c:
        # ORDER BY the column c.xact (a number), not the text output column of the same name ('898' > '3664')
        row = c.execute("SELECT c.xact::text AS xact, c.seq FROM audit.change c WHERE c.xact < audit.feed_horizon() "
                        "ORDER BY c.xact DESC, c.seq DESC LIMIT 1").fetchone()
    return f"{row[0]}.{row[1]}" if row else "0"


def key_of(pos: str) -> tuple[int, int]:
    x, s = pos.split(".")
    return int(x), int(s)


def follow(client, url: str, headers: dict) -> tuple[list[models.Change], int]:
    """All changes from a feed URL, following next links; returns (changes, pages)."""
    out: list[models.Change] = []
    pages = 0
    while url:
        doc = client.get(url, headers=headers).json()
        feed = models.ChangeFeed.model_validate(doc)
        out += feed.changes
        pages += 1
        nxt = [link["href"] for link in doc["links"] if link["rel"] == "next"]
        url = nxt[0].replace("http://testserver", "") if nxt else None
        assert pages < 1000
    return out, pages


def post_lamp(client, key: str, name: str = "Feed", attributes: dict | None = None,
              collection: str = "streetlight") -> str:
    props: dict = {"external_id": f"feed-{uuid.uuid4().hex[:8]}", "name": name}
    if collection == "streetlight":
        props["height_m"] = 5
    if attributes:
        props["attributes"] = attributes
    r = client.post(f"/collections/{collection}/items", headers=auth(key),
                    json={"type": "Feature", "geometry": PT, "properties": props})
    assert r.status_code == 201, r.text
    return r.headers["location"].rsplit("/", 1)[1]


@pytest.fixture
def lifecycle(client, api_keys, db_url) -> tuple[str, str]:
    """A lamp created, patched twice and deleted through the API; returns (position before, feature id)."""
    h = auth(api_keys["city_lights"])
    start = position_now(db_url)
    fid = post_lamp(client, api_keys["city_lights"])
    url = f"/collections/streetlight/items/{fid}"
    for version, height in ((1, 6), (2, 7)):
        r = client.patch(url, headers={**h, "If-Match": f'W/"{version}"'},
                         json={"type": "Feature", "geometry": None, "properties": {"height_m": height}})
        assert r.status_code == 204, r.text
    assert client.delete(url, headers={**h, "If-Match": 'W/"3"'}).status_code == 204
    return start, fid


def test_every_write_is_in_the_feed_in_order(client, api_keys, lifecycle):
    start, fid = lifecycle
    changes, _ = follow(client, f"/changes?since={start}&limit=10000", auth(api_keys["reader"]))
    mine = [c for c in changes if c.id == fid]
    assert [(c.operation, c.version) for c in mine] == [("INSERT", 1), ("UPDATE", 2), ("UPDATE", 3), ("DELETE", 4)]
    assert all(c.collection == "streetlight" for c in mine)
    heights = [(c.before or {}).get("height_m") for c in mine], [(c.after or {}).get("height_m") for c in mine]
    assert heights == ([None, 5, 6, 7], [5, 6, 7, 7])
    assert mine[0].before is None and mine[-1].after["deleted_at"] is not None
    positions = [key_of(c.position) for c in changes]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    assert positions[0] > key_of(start) if "." in start else True
    assert all(c.position.endswith(f".{c.seq}") for c in changes)


def test_paging_by_next_links_has_no_gaps_or_repeats(client, api_keys, lifecycle):
    start, _ = lifecycle
    h = auth(api_keys["reader"])
    whole, _ = follow(client, f"/changes?since={start}&limit=10000", h)
    paged, n_pages = follow(client, f"/changes?since={start}&limit=2", h)
    assert [c.position for c in paged] == [c.position for c in whole]
    assert n_pages >= len(whole) // 2
    doc = client.get(f"/changes?since={whole[-1].position}&limit=5", headers=h).json()
    assert doc["changes"] == []
    assert key_of(doc["next_since"]) >= key_of(whole[-1].position)  # never behind what was served


def test_every_change_is_a_cursor_and_an_old_sequence_number_still_works(client, api_keys, lifecycle):
    start, fid = lifecycle
    h = auth(api_keys["reader"])
    whole, _ = follow(client, f"/changes?since={start}&limit=10000", h)
    insert = next(c for c in whole if c.id == fid)
    after_position, _ = follow(client, f"/changes?since={insert.position}&limit=10000", h)
    after_seq, _ = follow(client, f"/changes?since={insert.seq}&limit=10000", h)  # a client of the old feed
    assert [c.position for c in after_position] == [c.position for c in after_seq]
    assert [c.operation for c in after_seq if c.id == fid] == ["UPDATE", "UPDATE", "DELETE"]
    first = client.get("/changes?limit=1", headers=h).json()
    assert first == client.get("/changes?since=0&limit=1", headers=h).json()


def test_a_page_is_cut_at_the_byte_budget_and_continues_exactly_after_it(client, api_keys, lifecycle):
    from netzatlas.config import get_settings

    start, _ = lifecycle
    h = auth(api_keys["reader"])
    whole, whole_pages = follow(client, f"/changes?since={start}&limit=10000", h)
    assert len(whole) >= 4
    one = max(len(json.dumps(c.model_dump(), separators=(",", ":"))) for c in whole)
    os.environ["NETZATLAS_LIMIT_PAGE_BYTES"] = str(2 * one + 10)
    get_settings.cache_clear()
    try:
        doc = client.get(f"/changes?since={start}&limit=10000", headers=h).json()
        assert 1 <= len(doc["changes"]) <= 2 and [link["rel"] for link in doc["links"]] == ["self", "next"]
        assert doc["next_since"] == doc["changes"][-1]["position"]
        cut, pages = follow(client, f"/changes?since={start}&limit=10000", h)
    finally:
        os.environ.pop("NETZATLAS_LIMIT_PAGE_BYTES")
        get_settings.cache_clear()
    assert [c.position for c in cut] == [c.position for c in whole] and pages > whole_pages


def test_a_long_transaction_holds_back_later_ones_and_nothing_passes_it(client, api_keys, db_url):
    """The case that lost changes before: a transaction that wrote first (smaller sequence) commits last."""
    h = auth(api_keys["reader"])
    start = position_now(db_url)
    src = f"feed-long-{uuid.uuid4().hex[:6]}"
    with psycopg.connect(db_url) as long_tx:
        long_tx.execute("INSERT INTO registry.streetlight (source, external_id, owner_org, geom) VALUES "
                        "(%s, 'early', 'city', ST_SetSRID(ST_MakePoint(294000, 5629000), 25832))", [src])
        early_seq = long_tx.execute("SELECT max(seq) FROM audit.change").fetchone()[0]
        long_xid = int(long_tx.execute("SELECT pg_current_xact_id()::text").fetchone()[0])
        late = post_lamp(client, api_keys["city_lights"], "committed first")  # commits while long_tx runs
        doc = client.get(f"/changes?since={start}&limit=10000", headers=h).json()
        assert late not in [c["id"] for c in doc["changes"]]                # held back, not passed
        held = doc["next_since"]
        assert key_of(held)[0] < long_xid and all(key_of(c["position"])[0] < long_xid for c in doc["changes"])
        long_tx.commit()
    changes, _ = follow(client, f"/changes?since={held}&limit=10000", h)
    order = [c.id for c in changes if c.id == late or (c.after or {}).get("source") == src]
    assert len(order) == 2 and order[1] == late                            # the early writer first
    assert early_seq in [c.seq for c in changes]                           # (the old feed skipped it)


def test_aborted_transactions_and_rolled_back_savepoints_never_appear(client, api_keys, db_url):
    h = auth(api_keys["reader"])
    start = position_now(db_url)
    src = f"feed-abort-{uuid.uuid4().hex[:6]}"
    ins = ("INSERT INTO registry.streetlight (source, external_id, owner_org, geom) VALUES "
           "(%s, %s, 'city', ST_SetSRID(ST_MakePoint(294000, 5629000), 25832))")
    with psycopg.connect(db_url) as c:
        c.execute(ins, [src, "aborted"])
        c.rollback()
        c.execute(ins, [src, "kept-1"])
        top = c.execute("SELECT pg_current_xact_id()::text").fetchone()[0]
        with pytest.raises(psycopg.errors.RaiseException), c.transaction():   # a savepoint, rolled back
            c.execute(ins, [src, "savepoint-rolled-back"])
            c.execute("DO $$ BEGIN RAISE EXCEPTION 'undo'; END $$")
        with c.transaction():                                                # a savepoint, released
            c.execute(ins, [src, "savepoint-kept"])
        c.commit()
    changes, _ = follow(client, f"/changes?since={start}&limit=10000", h)
    mine = [c for c in changes if (c.after or {}).get("source") == src]
    assert [c.after["external_id"] for c in mine] == ["kept-1", "savepoint-kept"]
    assert {c.position.split(".")[0] for c in mine} == {top}                 # the top-level transaction


def test_history_of_a_deleted_feature_stays_readable(client, api_keys, lifecycle):
    _, fid = lifecycle
    assert client.get(f"/collections/streetlight/items/{fid}").status_code == 404
    hist = client.get(f"/collections/streetlight/items/{fid}/history", headers=auth(api_keys["reader"])).json()
    assert [v["operation"] for v in hist["versions"]] == ["INSERT", "UPDATE", "UPDATE", "DELETE"]
    assert [v["version"] for v in hist["versions"]] == [1, 2, 3, 4]
    assert all(v["changed_by"].startswith("city:") for v in hist["versions"])
    # the history of a lamp is not reachable through another collection
    assert client.get(f"/collections/charging_point/items/{fid}/history").status_code == 404


def test_sync_rows_carry_the_batch_of_their_request(client, api_keys, db_url):
    start = position_now(db_url)
    src = f"feed-sync-{uuid.uuid4().hex[:6]}"
    body = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": PT, "properties": {"external_id": f"S{i}", "height_m": 4 + i}}
        for i in range(3)]}
    res = client.post(f"/sync/streetlight?source={src}", json=body, headers=auth(api_keys["stawag"])).json()
    changes, _ = follow(client, f"/changes?since={start}&limit=10000", auth(api_keys["reader"]))
    mine = [c for c in changes if c.after and c.after.get("source") == src]
    assert len(mine) == 3 and {c.operation for c in mine} == {"INSERT"}
    assert {c.batch_id for c in mine} == {res["batch_id"]}
    assert {c.id for c in mine} == {f["id"] for f in res["features"]}


@pytest.mark.parametrize("query", ["since=-1", "since=x", "since=1.", "since=.1", "since=1.2.3", "since=1e3",
                                   "since=99999999999999999999999", "since=18446744073709551616.1",
                                   "since=18446744073709551615.1",   # ahead of every transaction of the registry
                                   "limit=0", "limit=10001", "limit=x"])
def test_bad_feed_parameters_are_400(client, query):
    r = client.get(f"/changes?{query}")
    assert r.status_code == 400 and r.headers["content-type"].startswith("application/problem+json")


# --- who sees what ----------------------------------------------------------------------------------------------

CONTACTS = {"city": ("Erika Stadt", "+49 241 0001"), "stawag": ("Max Stawag", "+49 241 0002"),
            "regionetz": ("Rita Regionetz", "+49 241 0003")}


@pytest.fixture(scope="module")
def three_orgs(client, api_keys, db_url):
    """A lamp of the city, a charger of stawag and one of regionetz, each with a contact, a phone (and a meter
    key), written through the API by a key of its organization; a result run; and the keys to look with."""
    from netzatlas.api.auth import create_key

    with psycopg.connect(db_url) as c:
        keys = {"stawag_read": create_key(c, "stawag", ["read"], "stawag-mirror"),
                "regionetz": create_key(c, "regionetz", ["write:charging_point"], "regionetz-sync"),
                "lights_only": create_key(c, "regionetz", ["write:streetlight"], "lights-only"),
                "confidential": create_key(c, "city", ["read", "read:confidential"], "planning"),
                "staff": create_key(c, "stawag", ["read", "read:staff"], "auditor")}
        c.commit()
    start = position_now(db_url)
    ids = {"city": post_lamp(client, api_keys["city_lights"], "Lampe", {
               "contact": CONTACTS["city"][0], "phone": CONTACTS["city"][1], "pole": "steel"}),
           "stawag": post_lamp(client, api_keys["stawag"], "Lader S", {
               "contact": CONTACTS["stawag"][0], "phone": CONTACTS["stawag"][1], "Public Key1": "METER-STAWAG",
               "plug": "Type 2"}, collection="charging_point"),
           "regionetz": post_lamp(client, keys["regionetz"], "Lader R", {
               "contact": CONTACTS["regionetz"][0], "phone": CONTACTS["regionetz"][1],
               "Public Key1": "METER-REGIO", "plug": "CCS"}, collection="charging_point")}
    with psycopg.connect(db_url) as c:
        c.execute("SELECT set_config('netzatlas.user', 'city:Sachbearbeiterin Müller', true)")
        c.execute("INSERT INTO registry.result_run (kind, key, summary) VALUES ('coverage_holes', %s, %s)",
                  [f"feed-{uuid.uuid4().hex[:6]}", json.dumps({"holes": 3})])
        c.execute("INSERT INTO registry.candidate_site (source, external_id, owner_org, geom) VALUES "
                  "(%s, 'C1', 'city', ST_SetSRID(ST_MakePoint(294000, 5629000), 25832))",
                  [f"feed-cand-{uuid.uuid4().hex[:6]}"])
        c.commit()
    return {"start": start, "ids": ids, "keys": keys}


def feed_of(client, three_orgs, headers: dict) -> list[models.Change]:
    changes, _ = follow(client, f"/changes?since={three_orgs['start']}&limit=10000", headers)
    return changes


def by_org(three_orgs, changes: list[models.Change]) -> dict[str, models.Change]:
    return {org: next(c for c in changes if c.id == fid) for org, fid in three_orgs["ids"].items()}


def test_a_utility_sees_only_its_own_organizations_personal_data(client, three_orgs):
    h = auth(three_orgs["keys"]["stawag_read"])
    mine = by_org(three_orgs, feed_of(client, three_orgs, h))
    own = mine["stawag"].after["properties"]
    assert own["contact"] == CONTACTS["stawag"][0] and own["phone"] == CONTACTS["stawag"][1]
    assert own["Public Key1"] == "METER-STAWAG"
    for org in ("city", "regionetz"):
        text = json.dumps(mine[org].model_dump())
        assert CONTACTS[org][0] not in text and CONTACTS[org][1] not in text and "METER-REGIO" not in text
        assert mine[org].after["properties"]["plug" if org == "regionetz" else "pole"]  # the rest is there
    # the same in each feature's history
    for org, collection in (("stawag", "charging_point"), ("city", "streetlight"), ("regionetz", "charging_point")):
        hist = client.get(f"/collections/{collection}/items/{three_orgs['ids'][org]}/history", headers=h).json()
        text = json.dumps(hist)
        assert (CONTACTS[org][1] in text) is (org == "stawag"), org
        assert (CONTACTS[org][0] in text) is (org == "stawag"), org


def test_changed_by_names_people_only_of_the_callers_organization(client, three_orgs):
    mine = by_org(three_orgs, feed_of(client, three_orgs, auth(three_orgs["keys"]["stawag_read"])))
    assert mine["stawag"].changed_by == "stawag:stawag"
    assert mine["city"].changed_by == "city" and mine["regionetz"].changed_by == "regionetz"
    staff = by_org(three_orgs, feed_of(client, three_orgs, auth(three_orgs["keys"]["staff"])))
    assert staff["city"].changed_by == "city:lights"                          # read:staff shows the full name
    hist = client.get(f"/collections/streetlight/items/{three_orgs['ids']['city']}/history",
                      headers=auth(three_orgs["keys"]["stawag_read"])).json()
    assert [v["changed_by"] for v in hist["versions"]] == ["city"]


def test_anonymous_callers_see_public_collections_without_names_or_personal_data(client, three_orgs):
    changes = feed_of(client, three_orgs, {})
    mine = by_org(three_orgs, changes)
    text = json.dumps([c.model_dump() for c in changes])
    for org, (name, phone) in CONTACTS.items():
        assert name not in text and phone not in text, org
    assert "METER-" not in text and "Müller" not in text
    assert all(c.changed_by is None for c in changes)
    assert {c.collection for c in changes} & {"candidate_site", "gigabit_result", "result_run"} == set()
    assert mine["city"].after["properties"] == {"pole": "steel"}


def test_confidential_collections_need_read_confidential(client, api_keys, three_orgs):
    reader = {c.collection for c in feed_of(client, three_orgs, auth(api_keys["reader"]))}
    confidential = {c.collection for c in feed_of(client, three_orgs, auth(three_orgs["keys"]["confidential"]))}
    assert "candidate_site" not in reader and "candidate_site" in confidential


def test_a_write_scope_alone_adds_only_its_collection(client, three_orgs):
    anon = {c.position for c in feed_of(client, three_orgs, {})}
    lights = feed_of(client, three_orgs, auth(three_orgs["keys"]["lights_only"]))
    extra = [c for c in lights if c.position not in anon]
    assert {c.collection for c in lights} <= {c.collection for c in feed_of(client, three_orgs, {})} | {"streetlight"}
    assert {c.collection for c in extra} <= {"streetlight"}
    assert not {c.collection for c in lights} & {"candidate_site", "result_run", "gigabit_result"}


def test_result_runs_are_in_the_feed_for_read_keys(client, api_keys, three_orgs):
    runs = [c for c in feed_of(client, three_orgs, auth(api_keys["reader"])) if c.collection == "result_run"]
    assert runs and runs[-1].operation == "INSERT" and runs[-1].after["summary"] == {"holes": 3}
    assert runs[-1].changed_by == "city:Sachbearbeiterin Müller"               # the reader's own organization
