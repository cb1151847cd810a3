"""Session 9 fixes of the OCPI receiver / pull and the charging CLI, as a charge point operator and the municipal
utility meet them: ``last_updated`` in the future refused (it froze the live status), a status PATCH to ``REMOVED``
recounting the station, ``netzatlas import ocpi --skip-invalid`` importing the valid Locations and listing each
refused one (the default: all or nothing), and ``--radius inf`` / ``nan`` named in the message."""

from __future__ import annotations

import copy
import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests import test_charging_holdout
from tests.ocpi_cpo import Feed, make_location, serving
from tests.ocpi_helpers import example, new_party, token_header
from tests.test_ocpi_receiver import location_for

BASE = "/ocpi/2.2.1"


def _stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


cpo = test_charging_holdout.cpo  # a CPO after the handshake (org, party id, token C, receiver base URL)


def _row(db_url: str, sql: str, *params: object) -> dict | None:
    from netzatlas.registry.db import connect

    with connect(db_url) as conn:
        return conn.execute(sql, list(params)).fetchone()


def _status(db_url: str, party: str, lid: str, uid: str) -> dict | None:
    return _row(db_url, "SELECT s.status, s.status_at FROM registry.evse_status s JOIN registry.charging_evse e "
                        "ON e.id = s.evse WHERE e.external_id = %s", f"BE*{party}*{lid}/{uid}")


def _station(db_url: str, party: str, lid: str) -> dict | None:
    return _row(db_url, "SELECT id, charge_points, power_kw, charger_type, version, owner_org "
                        "FROM registry.charging_point WHERE external_id = %s", f"BE*{party}*{lid}")


def _refused(r, needle: str) -> str:
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["status_code"] == 2001 and body["timestamp"], body
    assert needle in body["status_message"], body["status_message"]
    return body["status_message"]


# ---------------------------------------------------------------- receiver: last_updated in the future
def test_a_status_patch_dated_far_ahead_is_refused_and_does_not_freeze_the_evse(client, db_url, cpo):
    _, party, token, base = cpo
    h = token_header(token)
    assert client.put(f"{base}/FUT1", json=location_for(party, "FUT1"), headers=h).json()["status_code"] == 1000
    r = client.patch(f"{base}/FUT1/3256", json={"status": "CHARGING", "last_updated": "2099-01-01T00:00:00Z"},
                     headers=h)
    msg = _refused(r, "2099-01-01T00:00:00Z")
    assert "future" in msg and "5 minutes" in msg
    assert _status(db_url, party, "FUT1", "3256")["status"] == "AVAILABLE"           # nothing written
    now = _now()
    r = client.patch(f"{base}/FUT1/3256", json={"status": "CHARGING", "last_updated": _stamp(now)}, headers=h)
    assert r.json()["status_code"] == 1000, r.text
    st = _status(db_url, party, "FUT1", "3256")
    assert st["status"] == "CHARGING" and st["status_at"] == now                     # the honest PATCH counts


def test_a_status_time_a_little_ahead_or_with_an_offset_is_taken(client, db_url, cpo):
    _, party, token, base = cpo
    h = token_header(token)
    client.put(f"{base}/FUT2", json=location_for(party, "FUT2"), headers=h)
    ahead = _now() + timedelta(minutes=2)                                          # a clock 2 minutes fast
    r = client.patch(f"{base}/FUT2/3256", json={"status": "CHARGING", "last_updated": _stamp(ahead)}, headers=h)
    assert r.json()["status_code"] == 1000, r.text
    assert _status(db_url, party, "FUT2", "3256")["status_at"] == ahead
    # local time with an offset: 2 h ahead on the wall clock, but only a minute later than the last one in UTC
    local = (ahead + timedelta(minutes=1)).astimezone(UTC).replace(tzinfo=None) + timedelta(hours=2)
    r = client.patch(f"{base}/FUT2/3256", headers=h,
                     json={"status": "AVAILABLE", "last_updated": local.strftime("%Y-%m-%dT%H:%M:%S+02:00")})
    assert r.json()["status_code"] == 1000, r.text
    st = _status(db_url, party, "FUT2", "3256")
    assert st["status"] == "AVAILABLE" and st["status_at"] == ahead + timedelta(minutes=1)


def test_a_location_put_with_an_evse_dated_ahead_is_refused_and_nothing_written(client, db_url, cpo):
    _, party, token, base = cpo
    loc = location_for(party, "FUT3")
    loc["evses"][1]["last_updated"] = "2099-06-01T12:00:00Z"
    msg = _refused(client.put(f"{base}/FUT3", json=loc, headers=token_header(token)), "EVSE 3257: 2099-06-01")
    assert "future" in msg
    assert _station(db_url, party, "FUT3") is None


def test_a_connector_patch_dated_ahead_is_refused_and_the_tariff_stays(client, db_url, cpo):
    _, party, token, base = cpo
    h = token_header(token)
    client.put(f"{base}/FUT4", json=location_for(party, "FUT4"), headers=h)
    r = client.patch(f"{base}/FUT4/3256/1", json={"tariff_ids": ["99"], "last_updated": "2100-01-01T00:00:00Z"},
                     headers=h)
    _refused(r, "2100-01-01T00:00:00Z")
    con = _row(db_url, "SELECT tariff_ids, version FROM registry.charging_connector WHERE external_id = %s",
               f"BE*{party}*FUT4/3256/1")
    assert con["tariff_ids"] == ["11"] and con["version"] == 1


def test_a_status_frozen_far_ahead_before_the_fix_heals_on_the_next_patch(client, db_url, cpo):
    """An EVSE whose status time was stored in 2099 (before such times were refused) takes the next status."""
    from netzatlas.registry.db import connect

    _, party, token, base = cpo
    h = token_header(token)
    client.put(f"{base}/FUT5", json=location_for(party, "FUT5"), headers=h)
    with connect(db_url) as conn:
        conn.execute("UPDATE registry.evse_status s SET status = 'CHARGING', status_at = '2099-01-01T00:00:00Z' "
                     "FROM registry.charging_evse e WHERE e.id = s.evse AND e.external_id = %s",
                     [f"BE*{party}*FUT5/3256"])
    for status in ("CHARGING", "OUTOFORDER"):                                      # same status, then another
        now = _now()
        r = client.patch(f"{base}/FUT5/3256", json={"status": status, "last_updated": _stamp(now)}, headers=h)
        assert r.json()["status_code"] == 1000, r.text
        st = _status(db_url, party, "FUT5", "3256")
        assert (st["status"], st["status_at"]) == (status, now)


# ---------------------------------------------------------------- receiver: a status PATCH to REMOVED recounts
def test_a_status_patch_to_removed_and_back_recounts_the_station(client, db_url, cpo):
    org, party, token, base = cpo
    h = token_header(token)
    client.put(f"{base}/RM1", json=location_for(party, "RM1"), headers=h)
    before = _station(db_url, party, "RM1")
    assert before["charge_points"] == 2 and before["power_kw"] == pytest.approx(10.56)
    t = _now() - timedelta(minutes=3)
    r = client.patch(f"{base}/RM1/3257", json={"status": "REMOVED", "last_updated": _stamp(t)}, headers=h)
    assert r.json()["status_code"] == 1000, r.text
    after = _station(db_url, party, "RM1")
    assert after["charge_points"] == 1 and after["power_kw"] == pytest.approx(10.56)
    assert after["version"] == before["version"] + 1 and after["owner_org"] == org
    hist = _row(db_url, "SELECT changed_by, before->>'charge_points' AS cp FROM audit.change WHERE row_id = %s "
                        "ORDER BY seq DESC LIMIT 1", after["id"])
    assert hist["changed_by"].startswith(f"{org}:ocpi") and hist["cp"] == "2"
    got = client.get(f"{base}/RM1/3257", headers=h).json()["data"]                  # the EVSE stays, REMOVED
    assert got["status"] == "REMOVED"
    r = client.patch(f"{base}/RM1/3257", json={"status": "AVAILABLE", "last_updated": _stamp(t + timedelta(
        minutes=1))}, headers=h)
    assert r.json()["status_code"] == 1000, r.text
    assert _station(db_url, party, "RM1")["charge_points"] == 2
    # a status that does not touch REMOVED writes no version
    r = client.patch(f"{base}/RM1/3257", json={"status": "CHARGING", "last_updated": _stamp(t + timedelta(
        minutes=2))}, headers=h)
    assert r.json()["status_code"] == 1000 and _station(db_url, party, "RM1")["version"] == before["version"] + 2


def test_removing_every_evse_by_status_leaves_a_station_without_points_or_power(client, db_url, cpo):
    _, party, token, base = cpo
    h = token_header(token)
    client.put(f"{base}/RM2", json=location_for(party, "RM2"), headers=h)
    t = _now() - timedelta(minutes=1)
    for uid in ("3256", "3257"):
        r = client.patch(f"{base}/RM2/{uid}", json={"status": "REMOVED", "last_updated": _stamp(t)}, headers=h)
        assert r.json()["status_code"] == 1000, r.text
    st = _station(db_url, party, "RM2")
    assert (st["charge_points"], st["power_kw"], st["charger_type"]) == (0, None, None)
    loc = client.get(f"{BASE}/sender/locations/RM2", params={"country_code": "BE", "party_id": party}).json()
    assert loc["status_code"] == 1000 and {e["status"] for e in loc["data"]["evses"]} == {"REMOVED"}


# ---------------------------------------------------------------- netzatlas import ocpi --skip-invalid: partial imports
def _cli(*args: str):
    from netzatlas.cli.main import app

    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "250", "NO_COLOR": "1"})
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), (result.exception, result.output)
    return result


def _party(tag: str) -> str:
    import secrets

    return tag + secrets.token_hex(1)[:1].upper()


def _pulled(db_url: str, party: str) -> dict[str, int]:
    src = f"ocpi:DE*{party}"
    return {t: _row(db_url, f"SELECT count(*) AS n FROM registry.{t} WHERE source = %s AND deleted_at IS NULL",
                    src)["n"] for t in ("charging_point", "charging_evse", "charging_connector")}


def _batch(db_url: str, url: str) -> dict | None:
    return _row(db_url, "SELECT rejected, details FROM audit.batch WHERE kind = 'ocpi' AND details->>'url' = %s "
                        "ORDER BY finished_at DESC LIMIT 1", url)


def _csv(path: Path) -> list[dict[str, str]]:
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")                           # German Excel: BOM, ';'
    with path.open(encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh, delimiter=";"))


def test_ocpi_import_writes_the_valid_locations_and_lists_the_malformed_one(db_url, tmp_path):
    party = _party("PA")
    feed = Feed([make_location(i, party=party) for i in range(25)])
    feed.faults["malformed_page"] = 2                                             # LOC-000019 loses its coordinates
    with serving(feed) as url:
        r = _cli("import", "ocpi", url, "--token", feed.token, "--skip-invalid", "--since", "all", "--page-size", "10",
                 "--out", str(tmp_path))
    text = " ".join(r.output.split())
    assert r.exit_code == 0, r.output
    assert f"DE*{party}*LOC-000019" in text and "coordinates" in text and "1 refused Location(s)" in text
    assert _pulled(db_url, party)["charging_point"] == 24
    assert _row(db_url, "SELECT count(*) AS n FROM registry.charging_point WHERE external_id = %s",
                f"DE*{party}*LOC-000019")["n"] == 0
    rows = _csv(next(tmp_path.glob("ocpi_refused_*.csv")))
    assert [(x["location"], x["page"], x["item"]) for x in rows] == [(f"DE*{party}*LOC-000019", "2", "10")]
    assert "coordinates" in rows[0]["reason"]
    batch = _batch(db_url, url)
    assert batch["rejected"] == 1 and batch["details"]["refused"][0]["location"] == f"DE*{party}*LOC-000019"


def test_ocpi_import_strict_refuses_the_whole_feed_and_writes_nothing(db_url, tmp_path):
    party = _party("PS")
    feed = Feed([make_location(i, party=party) for i in range(25)])
    feed.faults["malformed_page"] = 2
    with serving(feed) as url:
        r = _cli("import", "ocpi", url, "--token", feed.token, "--since", "all", "--page-size", "10",
                 "--out", str(tmp_path))
    assert r.exit_code == 2, r.output
    assert f"location DE*{party}*LOC-000019 (page 2, item 10) is malformed" in " ".join(r.output.split())
    assert _pulled(db_url, party)["charging_point"] == 0 and _batch(db_url, url) is None
    assert not list(tmp_path.iterdir())


def test_a_pulled_location_dated_ahead_is_refused_and_does_not_freeze_its_evses(db_url, tmp_path):
    party = _party("PF")
    locs = [make_location(i, party=party) for i in range(4)]
    bad = copy.deepcopy(locs[2])
    bad["evses"][0]["last_updated"] = "2099-01-01T00:00:00Z"
    feed = Feed([locs[0], locs[1], bad, locs[3]])
    with serving(feed) as url:
        strict = _cli("import", "ocpi", url, "--token", feed.token, "--since", "all")
        assert strict.exit_code == 2 and "2099-01-01T00:00:00Z" in strict.output, strict.output
        assert _pulled(db_url, party)["charging_point"] == 0
        r = _cli("import", "ocpi", url, "--token", feed.token, "--skip-invalid", "--since", "all",
                 "--out", str(tmp_path))
    assert r.exit_code == 0, r.output
    assert "1 refused Location(s)" in " ".join(r.output.split())
    # the reason as written in the list (the terminal's table wraps long reasons at its width)
    rows = _csv(next(tmp_path.glob("ocpi_refused_*.csv")))
    assert [x["location"] for x in rows] == [f"DE*{party}*LOC-000002"]
    assert "EVSE 2-1: 2099-01-01T00:00:00Z" in rows[0]["reason"] and "future" in rows[0]["reason"]
    assert _pulled(db_url, party)["charging_point"] == 3
    late = _row(db_url, "SELECT max(s.status_at) AS t FROM registry.evse_status s JOIN registry.charging_evse e "
                        "ON e.id = s.evse WHERE e.source = %s", f"ocpi:DE*{party}")["t"]
    assert late < datetime.now(UTC)


def test_a_location_the_registry_refuses_leaves_nothing_behind_and_the_others_are_written(db_url, tmp_path):
    party = _party("PN")
    locs = [make_location(i, party=party) for i in range(9)]
    for i in (3, 8):                                                              # refused by the database
        locs[i]["evses"][0]["connectors"][0]["terms_and_conditions"] = "nul \x00 byte"
    feed = Feed(locs)
    with serving(feed) as url:
        r = _cli("import", "ocpi", url, "--token", feed.token, "--skip-invalid", "--since", "all",
                 "--out", str(tmp_path))
        assert r.exit_code == 0, r.output
        text = " ".join(r.output.split())
        assert f"DE*{party}*LOC-000003" in text and f"DE*{party}*LOC-000008" in text and "database refused" in text
        assert "2 refused Location(s)" in text
        counts = _pulled(db_url, party)
        assert counts["charging_point"] == 7
        assert counts["charging_evse"] == sum(1 + i % 4 for i in range(9) if i not in (3, 8)) \
            == counts["charging_connector"]
        key = f"DE*{party}*LOC-000003"
        left = _row(db_url, "SELECT (SELECT count(*) FROM registry.charging_evse WHERE external_id LIKE %s) "
                            "+ (SELECT count(*) FROM registry.charging_connector WHERE external_id LIKE %s) "
                            "+ (SELECT count(*) FROM registry.charging_point WHERE external_id = %s) AS n",
                    key + "/%", key + "/%", key)
        assert left["n"] == 0
        again = _cli("import", "ocpi", url, "--token", feed.token, "--skip-invalid", "--since", "all",
                 "--out", str(tmp_path))
    assert again.exit_code == 0 and "nothing changed" in again.output, again.output
    assert _pulled(db_url, party) == counts


def test_a_hub_feed_with_a_party_another_organization_holds_writes_the_rest(db_url, tmp_path):
    from netzatlas.registry import sources
    from netzatlas.registry.db import connect

    mine, held = _party("HA"), _party("HB")
    with connect(db_url) as c:
        sources.claim(c, f"ocpi:DE*{held}", "stawag")
        c.commit()
    feed = Feed([make_location(i, party=mine) for i in range(8)]
                + [make_location(i, party=held) for i in range(8, 11)])
    with serving(feed) as url:
        r = _cli("import", "ocpi", url, "--token", feed.token, "--skip-invalid", "--since", "all", "--page-size", "5",
                 "--out", str(tmp_path))
    assert r.exit_code == 0, r.output
    text = " ".join(r.output.split())
    assert "3 refused Location(s)" in text and "stawag" in text
    assert all(f"DE*{held}*LOC-{i:06d}" in text for i in range(8, 11))
    assert _pulled(db_url, mine)["charging_point"] == 8 and _pulled(db_url, held)["charging_point"] == 0
    assert _batch(db_url, url)["rejected"] == 3


def test_ocpi_import_with_an_unknown_owner_stops_before_reading_the_feed(db_url):
    feed = Feed([make_location(0, party=_party("PO"))])
    with serving(feed) as url:
        r = _cli("import", "ocpi", url, "--token", feed.token, "--skip-invalid", "--owner", "no-such-org")
    assert r.exit_code == 2 and "unknown organization 'no-such-org'" in r.output, r.output
    assert feed.requests == []


def test_import_with_party_ignores_a_malformed_location_of_another_party(db_url):
    mine, other = _party("IA"), _party("IB")
    bad = make_location(5, party=other)
    del bad["coordinates"]
    feed = Feed([make_location(i, party=mine) for i in range(3)] + [bad])
    with serving(feed) as url:
        r = _cli("import", "ocpi", url, "--token", feed.token, "--since", "all", "--party", f"DE*{mine}")
    assert r.exit_code == 0, r.output
    assert f"1 location(s) of party DE*{other} left out" in r.output
    assert _pulled(db_url, mine)["charging_point"] == 3


# ---------------------------------------------------------------- the charging CLI: values named
@pytest.mark.parametrize("value", ["inf", "nan", "-5"])
def test_charging_siting_radius_not_a_positive_finite_number_is_named(aachen_loaded, tmp_path, value):
    out = tmp_path / "out"
    r = _cli("charging", "siting", "--k", "2", "--radius", value, "--no-certify", "--out", str(out))
    assert r.exit_code == 2, r.output
    text = " ".join(r.output.split())
    assert f"--radius {value}" in text and "radius must be positive and finite" in text, r.output
    assert not out.exists()


def test_charging_gaps_with_an_infinite_gap_distance_says_finite(aachen_loaded, tmp_path):
    out = tmp_path / "out"
    r = _cli("charging", "gaps", "--gap-distance", "inf", "--out", str(out))
    assert r.exit_code == 2, r.output
    assert "must be positive and finite: the gap distance is inf m" in " ".join(r.output.split()), r.output
    assert not out.exists()


# ---------------------------------------------------------------- more of what operators send and ask
def test_ocpi_import_of_an_empty_feed_records_the_pull_and_changes_nothing(db_url, tmp_path):
    feed = Feed([])
    with serving(feed) as url:
        r = _cli("import", "ocpi", url, "--token", feed.token, "--skip-invalid", "--since", "all",
                 "--out", str(tmp_path))
    assert r.exit_code == 0, r.output
    assert "nothing changed" in r.output and "full pull" in r.output
    assert _batch(db_url, url)["rejected"] == 0 and not list(tmp_path.iterdir())


def test_ocpi_import_says_how_a_refused_location_comes_again(db_url, tmp_path):
    party = _party("PR")
    locs = [make_location(i, party=party) for i in range(3)]
    del locs[1]["time_zone"]
    feed = Feed(locs)
    with serving(feed) as url:
        r = _cli("import", "ocpi", url, "--token", feed.token, "--skip-invalid", "--since", "all",
                 "--out", str(tmp_path))
        assert r.exit_code == 0 and "time_zone" in r.output, r.output
        assert "comes again when the CPO changes it, or with --since all" in " ".join(r.output.split())
        locs[1]["time_zone"] = "Europe/Berlin"                                     # the CPO fixes it
        locs[1]["last_updated"] = _stamp(_now())
        feed.requests.clear()
        again = _cli("import", "ocpi", url, "--token", feed.token, "--skip-invalid", "--out", str(tmp_path))
    assert again.exit_code == 0, again.output
    assert feed.requests[0]["date_from"] is not None                               # incremental
    assert _pulled(db_url, party)["charging_point"] == 3


def test_ocpi_import_with_bad_options_is_refused_before_reading(db_url):
    feed = Feed([make_location(0, party=_party("PB"))])
    with serving(feed) as url:
        since = _cli("import", "ocpi", url, "--token", feed.token, "--skip-invalid", "--since", "gestern")
        party = _cli("import", "ocpi", url, "--token", feed.token, "--skip-invalid", "--party", "DE-TOOLONG")
        page = _cli("import", "ocpi", url, "--token", feed.token, "--skip-invalid", "--page-size", "0")
    assert since.exit_code == 2 and "--since 'gestern' is no ISO date" in since.output, since.output
    assert party.exit_code == 2 and "is no OCPI party" in party.output, party.output
    assert page.exit_code == 2 and "--page-size" in page.output, page.output
    assert feed.requests == []


def test_a_revoked_party_cannot_patch_a_status_any_more(client, db_url):
    from netzatlas.registry.db import connect

    with connect(db_url) as conn:
        _, cc, party, token_a = new_party(conn)
    creds = example("credentials_example.json")
    creds["roles"][0].update(country_code=cc, party_id=party)
    token = client.post(f"{BASE}/credentials", json=creds, headers=token_header(token_a)).json()["data"]["token"]
    url = f"{BASE}/receiver/locations/{cc}/{party}/REV1"
    assert client.put(url, json=location_for(party, "REV1"), headers=token_header(token)).json()["status_code"] == 1000
    assert client.delete(f"{BASE}/credentials", headers=token_header(token)).json()["status_code"] == 1000
    r = client.patch(url + "/3256", json={"status": "CHARGING", "last_updated": _stamp(_now())},
                     headers=token_header(token))
    assert r.status_code == 401 and r.json()["status_code"] == 2000 and "revoked" in r.json()["status_message"]
    assert _status(db_url, party, "REV1", "3256")["status"] == "AVAILABLE"


@pytest.mark.parametrize("params, http, code", [
    ({"limit": "0"}, 400, 2001),
    ({"offset": "-1"}, 400, 2001),
    ({"date_from": "yesterday"}, 400, 2001),
    ({"offset": "100000000"}, 200, 1000),
])
def test_sender_paging_parameters_at_the_edges(client, params, http, code):
    r = client.get(f"{BASE}/sender/locations", params=params)
    assert r.status_code == http and r.json()["status_code"] == code, r.text
    if http == 200:
        assert r.json()["data"] == [] and "Link" not in r.headers and int(r.headers["X-Total-Count"]) >= 0
    else:
        assert next(iter(params)) in r.json()["status_message"]


def test_sender_caps_a_large_limit_and_says_so(client, cpo):
    r = client.get(f"{BASE}/sender/locations", params={"limit": "50000"})
    assert r.status_code == 200 and r.headers["X-Limit"] == "1000", r.text


def test_two_evses_removed_at_once_are_both_counted(client, db_url, cpo):
    """Two status PATCHes to REMOVED of one station in concurrent transactions: the second counts after the first
    committed (the station is locked before it is read), so the station ends with 0 charge points, not 1."""
    import threading
    import time

    from netzatlas.api.ocpi.routes import _recount
    from netzatlas.registry import ocpi_store as store
    from netzatlas.registry.db import connect

    _, party, token, base = cpo
    client.put(f"{base}/RM3", json=location_for(party, "RM3"), headers=token_header(token))
    at = _now() - timedelta(minutes=1)

    def remove(conn, uid: str) -> None:
        _, recount = store.set_status_by_uid(conn, token, "BE", party, "RM3", uid, "REMOVED", at)
        assert recount
        _recount(conn, store.party_for_token(conn, token), "RM3")

    first, second, watch = connect(db_url), connect(db_url), connect(db_url)
    try:
        remove(first, "3256")                                                    # not committed yet
        pid = second.info.backend_pid
        worker = threading.Thread(target=lambda: (remove(second, "3257"), second.commit()))
        worker.start()
        deadline = time.monotonic() + 10
        while not watch.execute("SELECT wait_event_type = 'Lock' AS w FROM pg_stat_activity WHERE pid = %s",
                                [pid]).fetchone()["w"]:
            assert time.monotonic() < deadline and worker.is_alive(), "the second PATCH did not wait"
            watch.rollback()
            time.sleep(0.05)
        first.commit()
        worker.join(timeout=20)
        assert not worker.is_alive()
    finally:
        for c in (first, second, watch):
            c.close()
    st = _station(db_url, party, "RM3")
    assert (st["charge_points"], st["power_kw"]) == (0, None)


@pytest.mark.parametrize("command, compute", [
    (["charging", "siting", "--k", "2", "--no-certify"], "netzatlas.charging.siting.site_chargers"),
    (["charging", "gaps"], "netzatlas.charging.report.charging_gaps"),
])
def test_an_output_folder_that_is_a_file_is_refused_before_the_analysis_runs(aachen_loaded, tmp_path, monkeypatch,
                                                                               command, compute):
    def never(*args, **kwargs):
        raise AssertionError("the analysis ran although its output cannot be written")

    module, name = compute.rsplit(".", 1)
    monkeypatch.setattr(module + "." + name, never)
    blocker = tmp_path / "bericht"
    blocker.write_text("a file, not a folder")
    r = _cli(*command, "--out", str(blocker / "charging"))
    assert r.exit_code == 2, r.output
    assert f"{blocker} is a file" in " ".join(r.output.split()), r.output
    assert blocker.read_text() == "a file, not a folder"


def test_a_token_for_a_party_another_organization_holds_is_refused(db_url):
    from netzatlas.registry.db import connect

    with connect(db_url) as conn:
        org, cc, party, _ = new_party(conn)
        before = conn.execute("SELECT token_a_hash FROM registry.ocpi_party WHERE country_code = %s "
                              "AND party_id = %s", [cc, party]).fetchone()["token_a_hash"]
    r = _cli("ocpi", "token", "--org", "stawag", "--country-code", cc, "--party-id", party)
    assert r.exit_code == 2 and f"belongs to {org}" in r.output, r.output
    with connect(db_url) as conn:
        row = conn.execute("SELECT org, token_a_hash FROM registry.ocpi_party WHERE country_code = %s "
                           "AND party_id = %s", [cc, party]).fetchone()
    assert (row["org"], row["token_a_hash"]) == (org, before)                    # token A not replaced


def test_ocpi_import_into_an_out_folder_that_is_a_file_stops_before_reading_the_feed(db_url, tmp_path):
    blocker = tmp_path / "liste"
    blocker.write_text("a file")
    feed = Feed([make_location(0, party=_party("PX"))])
    with serving(feed) as url:
        r = _cli("import", "ocpi", url, "--token", feed.token, "--skip-invalid", "--out", str(blocker))
    assert r.exit_code == 2 and f"{blocker} is a file" in " ".join(r.output.split()), r.output
    assert feed.requests == [] and blocker.read_text() == "a file"


def test_a_gap_distance_beyond_the_road_search_radius_is_measured_not_guessed():
    """A rural planner's --gap-distance 8000: a home 6 km along the road from the only charger is no gap (the road
    search stopped at 5 km and called it unreachable). Below 5 km nothing changes. On ``charging_gaps``, the
    function ``netzatlas charging gaps`` runs: the Aachen demo has no home 5–8 km from a charger."""
    import geopandas as gpd
    from shapely.geometry import LineString, Point, box

    from netzatlas.charging.access import AccessParams
    from netzatlas.charging.report import charging_gaps

    crs = "EPSG:25832"
    roads = gpd.GeoDataFrame({"highway": ["residential"]}, geometry=[LineString([(0, 0), (10_000, 0)])], crs=crs)
    chargers = gpd.GeoDataFrame({"charge_points": [2], "power_kw": [22.0]}, geometry=[Point(0, 10)], crs=crs)
    homes = gpd.GeoDataFrame({"external_id": ["near", "far", "farther"]},
                             geometry=[Point(3_000, 10), Point(6_000, 10), Point(9_000, 10)], crs=crs)
    cells = gpd.GeoDataFrame({"population_estimate": [10.0, 10.0]},
                             geometry=[box(5_950, -50, 6_050, 50), box(8_950, -50, 9_050, 50)], crs=crs)
    res = charging_gaps(homes, cells, chargers, roads, AccessParams(gap_distance_m=8_000))
    assert res.addresses["road_m"].tolist() == pytest.approx([3_000, 6_000, float("inf")], abs=30)
    assert res.addresses["gap"].tolist() == [False, False, True]
    default = charging_gaps(homes, cells, chargers, roads, AccessParams())
    assert default.addresses["road_m"].tolist()[:1] == pytest.approx([3_000], abs=30)
    assert default.addresses["gap"].tolist() == [True, True, True]


def test_a_stale_put_does_not_count_an_evse_removed_by_a_newer_status(client, db_url, cpo):
    """The CPO's nightly PUT lists EVSE 3257 RESERVED as of 2015 after a status PATCH removed it today: the live
    status stays REMOVED and the station keeps counting 1 charge point (not 2 beside a REMOVED EVSE); a PUT with a
    newer time brings it back."""
    _, party, token, base = cpo
    h = token_header(token)
    client.put(f"{base}/RM4", json=location_for(party, "RM4"), headers=h)
    t = _now() - timedelta(minutes=2)
    client.patch(f"{base}/RM4/3257", json={"status": "REMOVED", "last_updated": _stamp(t)}, headers=h)
    version = _station(db_url, party, "RM4")["version"]
    r = client.put(f"{base}/RM4", json=location_for(party, "RM4"), headers=h)          # the stale copy again
    assert r.json()["status_code"] == 1000, r.text
    st = _station(db_url, party, "RM4")
    assert _status(db_url, party, "RM4", "3257")["status"] == "REMOVED"
    assert (st["charge_points"], st["version"]) == (1, version)                      # nothing to write
    fresh = location_for(party, "RM4")
    fresh["evses"][1].update(status="AVAILABLE", last_updated=_stamp(t + timedelta(minutes=1)))
    assert client.put(f"{base}/RM4", json=fresh, headers=h).json()["status_code"] == 1000
    assert _status(db_url, party, "RM4", "3257")["status"] == "AVAILABLE"
    assert _station(db_url, party, "RM4")["charge_points"] == 2


def test_the_commands_the_ocpi_modules_name_exist():
    """The pull client and the OCPI CLI name the commands a user types: each exists (``netzatlas ocpi pull`` did
    not; the pull is ``netzatlas import ocpi``) and takes the options named with it."""
    import re

    import netzatlas.charging.ocpi_client as client_mod
    import netzatlas.cli.ocpi as cli_mod

    command = re.compile(r"netzatlas((?: [a-z][a-z-]*)+(?: --[a-z-]+)*)")
    named = {tuple(m.split()) for text in (client_mod.__doc__, cli_mod.app.info.help)
             for m in command.findall(text or "")}
    assert ("import", "ocpi", "--skip-invalid") in named
    for words in named:
        cmd = [w for w in words if not w.startswith("--")]
        result = _cli(*cmd, "--help")
        assert result.exit_code == 0, (words, result.output)
        for opt in (w for w in words if w.startswith("--")):
            assert opt in result.output, (words, result.output)
