"""Hold-out cases: the municipal utility pushing / pulling its chargers over OCPI 2.2.1 as real CPO backends send
them, and the city's planner running the charging and WLAN analyses at the edges. Each case asserts the outcome
(database, files, exit code / HTTP status and OCPI status_code): correct, or refused with a message the user
understands — never a traceback, a 500 or a half-written database or output folder.

Named ``test_charging_…`` (after the API tests, like ``test_ev_afir``): the CLI cases load the Aachen demo."""

from __future__ import annotations

import base64
import copy
import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.ocpi_cpo import Feed, make_location, serving
from tests.ocpi_helpers import example, new_party, token_header
from tests.test_ocpi_receiver import AACHEN, location_for

BASE = "/ocpi/2.2.1"


# ---------------------------------------------------------------- helpers
@pytest.fixture(scope="module")
def cpo(client, db_url):
    """A CPO after the handshake: (org, party id, token C, receiver base URL of the party)."""
    from netzatlas.registry.db import connect

    with connect(db_url) as conn:
        org, cc, party, token_a = new_party(conn)
    creds = example("credentials_example.json")
    creds["roles"][0].update(country_code=cc, party_id=party)
    r = client.post(f"{BASE}/credentials", json=creds, headers=token_header(token_a))
    assert r.status_code == 200, r.text
    return org, party, r.json()["data"]["token"], f"{BASE}/receiver/locations/{cc}/{party}"


def _loc(party: str, lid: str) -> dict:
    loc = location_for(party, lid)
    loc["id"] = lid
    return loc


def _row(db_url: str, sql: str, *params: object) -> dict | None:
    from netzatlas.registry.db import connect

    with connect(db_url) as conn:
        return conn.execute(sql, list(params)).fetchone()


def _station(db_url: str, party: str, lid: str) -> dict | None:
    return _row(db_url, "SELECT id, charge_points, power_kw, charger_type, time_zone, version, "
                        "ST_Y(ST_Transform(geom, 4326)) AS lat, ST_X(ST_Transform(geom, 4326)) AS lon "
                        "FROM registry.charging_point WHERE external_id = %s", f"BE*{party}*{lid}")


def _refused(r, http: int = 400, code: int = 2001, needle: str = "") -> str:
    assert r.status_code == http, r.text
    body = r.json()
    assert body["status_code"] == code and body["timestamp"], body
    assert needle.lower() in body["status_message"].lower(), body["status_message"]
    return body["status_message"]


# ---------------------------------------------------------------- OCPI receiver: Locations as CPO backends send them
def test_coordinates_with_many_decimals_are_taken(client, db_url, cpo):
    _, party, token, base = cpo
    loc = _loc(party, "DEC14")
    loc["coordinates"] = {"latitude": "50.77560012345678", "longitude": "6.08390098765432"}   # a float's repr
    r = client.put(f"{base}/DEC14", json=loc, headers=token_header(token))
    assert r.status_code == 200 and r.json()["status_code"] == 1000, r.text
    st = _station(db_url, party, "DEC14")
    assert st["lat"] == pytest.approx(50.7756, abs=1e-6) and st["lon"] == pytest.approx(6.0839, abs=1e-6)


def test_coordinates_with_a_decimal_comma_are_refused_naming_the_field(client, db_url, cpo):
    _, party, token, base = cpo
    loc = _loc(party, "COMMA")
    loc["coordinates"] = {"latitude": "50,7756", "longitude": "6,0839"}
    msg = _refused(client.put(f"{base}/COMMA", json=loc, headers=token_header(token)), needle="coordinates.latitude")
    assert "decimal point" in msg
    assert _station(db_url, party, "COMMA") is None


def test_coordinates_as_json_numbers_are_refused_naming_the_field(client, db_url, cpo):
    _, party, token, base = cpo
    loc = _loc(party, "NUMS")
    loc["coordinates"] = {"latitude": 50.7756, "longitude": 6.0839}
    _refused(client.put(f"{base}/NUMS", json=loc, headers=token_header(token)), needle="coordinates.latitude")
    assert _station(db_url, party, "NUMS") is None


def test_swapped_location_coordinates_are_refused_saying_so(client, db_url, cpo):
    _, party, token, base = cpo
    loc = _loc(party, "SWAP")
    loc["coordinates"] = {"latitude": AACHEN["longitude"], "longitude": AACHEN["latitude"]}
    _refused(client.put(f"{base}/SWAP", json=loc, headers=token_header(token)), needle="swapped")
    assert _station(db_url, party, "SWAP") is None


def test_a_location_without_time_zone_is_refused_naming_it(client, db_url, cpo):
    _, party, token, base = cpo
    loc = _loc(party, "NOTZ")
    del loc["time_zone"]
    _refused(client.put(f"{base}/NOTZ", json=loc, headers=token_header(token)), needle="time_zone")
    assert _station(db_url, party, "NOTZ") is None


def test_removed_evses_do_not_count_as_charge_points_or_power(client, db_url, cpo):
    _, party, token, base = cpo
    loc = _loc(party, "REM")
    loc["evses"][0]["connectors"][0]["max_electric_power"] = 50000   # the 50 kW EVSE was dismantled
    loc["evses"][0]["status"] = "REMOVED"
    r = client.put(f"{base}/REM", json=loc, headers=token_header(token))
    assert r.json()["status_code"] == 1000, r.text
    st = _station(db_url, party, "REM")
    assert st["charge_points"] == 1                         # only 3257 is still there
    assert st["power_kw"] == pytest.approx(220 * 16 * 3 / 1000) and st["charger_type"] == "normal"


def test_connector_power_missing_or_zero_falls_back_to_voltage_times_amperage(client, db_url, cpo):
    _, party, token, base = cpo
    loc = _loc(party, "PWR")
    loc["evses"][0]["connectors"][0]["max_electric_power"] = 0
    loc["evses"][0]["connectors"][1].pop("max_electric_power", None)
    r = client.put(f"{base}/PWR", json=loc, headers=token_header(token))
    assert r.json()["status_code"] == 1000, r.text
    assert _station(db_url, party, "PWR")["power_kw"] == pytest.approx(10.56)     # 220 V × 16 A × 3
    for e in loc["evses"]:
        for c in e["connectors"]:
            c.update(max_electric_power=0, max_voltage=0, max_amperage=0)
    r = client.put(f"{base}/PWR", json=loc, headers=token_header(token))
    assert r.json()["status_code"] == 1000, r.text
    st = _station(db_url, party, "PWR")
    assert st["power_kw"] is None and st["charger_type"] is None                  # unknown, not 0 kW


def test_unknown_tariff_ids_are_kept_as_sent(client, db_url, cpo):
    _, party, token, base = cpo
    loc = _loc(party, "TAR")
    loc["evses"][0]["connectors"][0]["tariff_ids"] = ["NO-SUCH-TARIFF", "AC 22"]
    assert client.put(f"{base}/TAR", json=loc, headers=token_header(token)).json()["status_code"] == 1000
    got = client.get(f"{base}/TAR/3256/1", headers=token_header(token)).json()["data"]
    assert got["tariff_ids"] == ["NO-SUCH-TARIFF", "AC 22"]


@pytest.mark.parametrize("lid, stamp", [("TS1", "2026-11-30T12:00:00"), ("TS2", "2026-11-30T12:00:00.123Z"),
                                        ("TS3", "2026-11-30T13:00:00+01:00")])
def test_last_updated_without_z_with_milliseconds_or_an_offset_is_utc(client, db_url, cpo, lid, stamp):
    _, party, token, base = cpo
    loc = _loc(party, lid)
    loc["last_updated"] = stamp
    assert client.put(f"{base}/{lid}", json=loc, headers=token_header(token)).json()["status_code"] == 1000
    row = _row(db_url, "SELECT ocpi_last_updated AS t FROM registry.charging_point WHERE external_id = %s",
               f"BE*{party}*{lid}")
    assert row["t"].isoformat().startswith("2026-11-30T12:00:00")


def test_a_location_with_an_evse_uid_twice_is_refused_not_a_500(client, db_url, cpo):
    _, party, token, base = cpo
    loc = _loc(party, "DUPE")
    loc["evses"][1]["uid"] = loc["evses"][0]["uid"]
    _refused(client.put(f"{base}/DUPE", json=loc, headers=token_header(token)), needle="3256")
    assert _station(db_url, party, "DUPE") is None
    loc = _loc(party, "DUPC")
    loc["evses"][0]["connectors"][1]["id"] = "1"
    _refused(client.put(f"{base}/DUPC", json=loc, headers=token_header(token)), needle="connector")
    assert _station(db_url, party, "DUPC") is None


def test_put_of_an_evse_under_an_unknown_location_is_2003(client, db_url, cpo):
    _, party, token, base = cpo
    evse = copy.deepcopy(_loc(party, "X")["evses"][0])
    _refused(client.put(f"{base}/GHOST/3256", json=evse, headers=token_header(token)), 404, 2003, "GHOST")
    assert _station(db_url, party, "GHOST") is None


def test_patch_of_a_location_not_yet_pushed_is_2003(client, db_url, cpo):
    _, party, token, base = cpo
    r = client.patch(f"{base}/NEVER", json={"name": "x", "last_updated": "2026-11-30T12:00:00Z"},
                     headers=token_header(token))
    _refused(r, 404, 2003, "NEVER")
    r = client.patch(f"{base}/NEVER/1", json={"status": "CHARGING", "last_updated": "2026-11-30T12:00:00Z"},
                     headers=token_header(token))
    _refused(r, 404, 2003)


def test_an_evse_uid_with_a_space_is_addressable_and_one_with_a_slash_is_refused(client, db_url, cpo):
    _, party, token, base = cpo
    loc = _loc(party, "UIDS")
    loc["evses"][0]["uid"] = "Säule 1"
    assert client.put(f"{base}/UIDS", json=loc, headers=token_header(token)).json()["status_code"] == 1000
    r = client.patch(f"{base}/UIDS/S%C3%A4ule%201", json={"status": "CHARGING",
                                                         "last_updated": "2026-11-30T12:00:00Z"},
                     headers=token_header(token))
    assert r.json()["status_code"] == 1000, r.text
    row = _row(db_url, "SELECT s.status FROM registry.evse_status s JOIN registry.charging_evse e ON e.id = s.evse "
                       "WHERE e.external_id = %s", f"BE*{party}*UIDS/Säule 1")
    assert row["status"] == "CHARGING"
    loc = _loc(party, "SLASH")
    loc["evses"][0]["uid"] = "A/1"
    _refused(client.put(f"{base}/SLASH", json=loc, headers=token_header(token)), needle="/")
    assert _station(db_url, party, "SLASH") is None


def test_a_location_id_with_a_slash_cannot_collide_with_another_locations_evse(client, db_url, cpo):
    from netzatlas.charging.ocpi_model import Location, parse_model
    from netzatlas.errors import InvalidInput

    _, party, token, base = cpo
    loc = _loc(party, "A")
    loc["id"] = "A/3256"        # its EVSE 1 would be keyed BE*…*A/3256/1 — the key of location A's EVSE 3256/1
    r = client.put(f"{base}/A%2F3256", json=loc, headers=token_header(token))
    assert r.status_code in (400, 404) and r.json()["status_code"] in (2001, 2003), r.text
    assert _station(db_url, party, "A/3256") is None
    with pytest.raises(InvalidInput, match="location id 'A/3256' contains '/'"):   # a pulled feed: refused too
        parse_model(Location, loc, "Location")


@pytest.mark.parametrize("encode", [
    lambda t: "Token " + t,                                             # plain (OCPI 2.1.1 style)
    lambda t: "Token " + base64.b64encode(t.encode()).decode(),          # base64 (2.2.1)
    lambda t: "token  " + base64.b64encode(t.encode()).decode() + " ",   # lower-case scheme, extra blanks
    lambda t: "Token " + base64.b64encode((t + "\n").encode()).decode(),  # `echo $T | base64` keeps the newline
])
def test_token_c_is_taken_plain_base64_or_with_a_trailing_newline(client, cpo, encode):
    _, party, token, base = cpo
    r = client.get(f"{BASE}/credentials", headers={"Authorization": encode(token)})
    assert r.status_code == 200 and r.json()["status_code"] == 1000, r.text


def test_a_bearer_token_or_a_wrong_token_is_401_with_a_hint(client, cpo):
    _, party, token, base = cpo
    _refused(client.get(f"{BASE}/credentials", headers={"Authorization": "Bearer " + token}), 401, 2000,
             "Authorization: Token <base64")
    _refused(client.get(f"{BASE}/credentials", headers=token_header(token + "x")), 401, 2000, "token")


def test_another_cpos_token_cannot_patch_a_status(client, db_url, cpo):
    from netzatlas.registry.db import connect

    _, party, token, base = cpo
    assert client.put(f"{base}/OWN", json=_loc(party, "OWN"), headers=token_header(token)).json()["status_code"] \
        == 1000
    with connect(db_url) as conn:
        _, _, party2, token_a2 = new_party(conn)
    creds = example("credentials_example.json")
    creds["roles"][0].update(country_code="BE", party_id=party2)
    token_c2 = client.post(f"{BASE}/credentials", json=creds, headers=token_header(token_a2)).json()["data"]["token"]
    r = client.patch(f"{base}/OWN/3256", json={"status": "OUTOFORDER", "last_updated": "2026-11-30T12:00:00Z"},
                     headers=token_header(token_c2))
    _refused(r, 403, 2000, "may not change")
    row = _row(db_url, "SELECT s.status FROM registry.evse_status s JOIN registry.charging_evse e ON e.id = s.evse "
                       "WHERE e.external_id = %s", f"BE*{party}*OWN/3256")
    assert row["status"] == "AVAILABLE"


def test_a_location_body_that_is_a_list_or_null_is_2001(client, cpo):
    _, party, token, base = cpo
    _refused(client.put(f"{base}/LIST", json=[_loc(party, "LIST")], headers=token_header(token)), needle="object")
    _refused(client.put(f"{base}/LIST", content=b"null", headers={**token_header(token),
                                                                   "Content-Type": "application/json"}))


# ---------------------------------------------------------------- OCPI pull: feeds as real CPO backends serve them
def _pull(*args: str):
    from netzatlas.cli.main import app

    result = CliRunner().invoke(app, ["import", "ocpi", *args], env={"COLUMNS": "220", "NO_COLOR": "1"})
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), (result.exception, result.output)
    return result


def _count(db_url: str, party: str) -> int:
    return _row(db_url, "SELECT count(*) AS n FROM registry.charging_point WHERE source = %s AND deleted_at IS NULL",
                f"ocpi:DE*{party}")["n"]


def _party_id(tag: str) -> str:
    import secrets

    return tag + secrets.token_hex(1)[:1].upper()


def test_x_total_count_lies_do_not_change_what_is_pulled(db_url):
    from tests import ocpi_cpo

    party = _party_id("XL")
    feed = Feed([make_location(i, party=party) for i in range(12)])
    orig = ocpi_cpo._ok

    def lying(data, headers=None):  # announce 3 where there are 12, on every page
        if headers:
            headers = {**headers, "X-Total-Count": "3"}
        return orig(data, headers)

    ocpi_cpo._ok = lying
    try:
        with serving(feed) as url:
            r = _pull(url, "--token", feed.token, "--since", "all", "--page-size", "5")
    finally:
        ocpi_cpo._ok = orig
    assert r.exit_code == 0, r.output
    assert _count(db_url, party) == 12


def test_a_feed_repeating_a_location_on_a_page_and_across_pages_is_taken_once(db_url):
    party = _party_id("RP")
    locs = [make_location(i, party=party) for i in range(6)]
    newer = copy.deepcopy(locs[1])
    newer.update(name="Ladepunkt 1 neu", last_updated="2026-11-02T00:00:00Z")
    feed = Feed([locs[0], locs[1], locs[1], locs[2], newer, locs[3], locs[4], locs[5]])   # page size 4
    with serving(feed) as url:
        r = _pull(url, "--token", feed.token, "--since", "all", "--page-size", "4")
    assert r.exit_code == 0, r.output
    assert _count(db_url, party) == 6
    row = _row(db_url, "SELECT name FROM registry.charging_point WHERE external_id = %s", f"DE*{party}*LOC-000001")
    assert row["name"] == "Ladepunkt 1 neu"                                    # the newest copy wins


def test_a_link_header_that_points_back_ends_the_pull_instead_of_looping(db_url):
    from tests import ocpi_cpo

    party = _party_id("LP")
    feed = Feed([make_location(i, party=party) for i in range(4)])
    orig = ocpi_cpo._ok

    def looping(data, headers=None):  # every page says: next is offset 0 again
        if headers is not None:
            headers = {**headers, "Link": headers.get("Link", "").replace("offset=2", "offset=0")}
        return orig(data, headers)

    ocpi_cpo._ok = looping
    try:
        with serving(feed) as url:
            r = _pull(url, "--token", feed.token, "--since", "all", "--page-size", "2")
    finally:
        ocpi_cpo._ok = orig
    assert r.exit_code == 2, r.output
    assert "again" in " ".join(r.output.split()), r.output
    assert _count(db_url, party) == 0 and len(feed.requests) <= 3


def test_a_feed_whose_page_is_a_single_object_is_refused(db_url):
    from tests import ocpi_cpo

    party = _party_id("OB")
    feed = Feed([make_location(0, party=party)])
    orig = ocpi_cpo._ok

    def single(data, headers=None):
        return orig(data[0] if isinstance(data, list) and data and headers else data, headers)

    ocpi_cpo._ok = single
    try:
        with serving(feed) as url:
            r = _pull(url, "--token", feed.token, "--since", "all")
    finally:
        ocpi_cpo._ok = orig
    assert r.exit_code == 2 and "no list" in r.output, r.output
    assert _count(db_url, party) == 0


# ---------------------------------------------------------------- the planner's CLI on the Aachen demo registry
def _cli(*args: str):
    from netzatlas.cli.main import app

    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "220", "NO_COLOR": "1"})
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), (result.exception, result.output)
    return result


def _csv(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "German Excel needs the BOM"
    with path.open(encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh, delimiter=";"))


@pytest.mark.parametrize("args, needle", [
    (["charging", "siting", "--k", "-3", "--no-certify"], "must be >= 0"),
    (["charging", "siting", "--k", "2", "--radius", "nan", "--no-certify"], "radius must be positive"),
    (["charging", "siting", "--k", "2", "--radius", "300,5"], "--radius"),                    # decimal comma
    (["charging", "gaps", "--gap-distance", "nan"], "the gap distance is nan m"),
    (["charging", "gaps", "--gap-distance", "0"], "distances must be positive"),
    (["wifi", "priority", "--cell-size", "0"], "cell size must be a positive number"),
    (["wifi", "priority", "--cell-size", "-100"], "cell size must be a positive number"),
    (["wifi", "priority", "--cell-size", "1"], "choose a cell size of"),                     # 270 million cells
    (["wifi", "priority", "--top", "-1"], "--top"),
    (["wifi", "siting", "--k", "3", "--capacity", "0", "--no-certify"], "capacity must be positive"),
    (["wifi", "siting", "--k", "3", "--radius", "nan", "--no-certify"], "radius must be positive"),
], ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_parameters_at_the_edges_are_refused_before_any_output(aachen_loaded, tmp_path, args, needle):
    out = tmp_path / "out"
    r = _cli(*args, "--out", str(out))
    assert r.exit_code == 2, r.output
    assert needle in " ".join(r.output.split()), r.output
    assert not out.exists()                                          # nothing half-written


def test_charging_siting_with_k_0_writes_an_empty_result(aachen_loaded, tmp_path):
    r = _cli("charging", "siting", "--k", "0", "--no-certify", "--out", str(tmp_path))
    assert r.exit_code == 0, r.output
    assert "and 0 new locations" in r.output
    assert _csv(tmp_path / "charging_siting.csv") == []
    assert (tmp_path / "charging_siting.html").stat().st_size > 0


def test_charging_siting_with_k_10000_takes_what_adds_coverage(aachen_loaded, tmp_path):
    r = _cli("charging", "siting", "--k", "10000", "--no-certify", "--out", str(tmp_path))
    assert r.exit_code == 0, r.output
    rows = _csv(tmp_path / "charging_siting.csv")
    assert 0 < len(rows) < 10000
    gained = [float(x) for row in rows for k, x in row.items() if k.startswith("Einwohner")]
    assert gained and min(gained) > 0                                 # no site that gains nobody


def test_wifi_siting_with_k_0_keeps_the_hotspots_only(aachen_loaded, tmp_path):
    r = _cli("wifi", "siting", "--k", "0", "--no-certify", "--out", str(tmp_path))
    assert r.exit_code == 0, r.output
    assert "and 0 new access points" in r.output
    assert _csv(tmp_path / "wifi_new_access_points.csv") == []


def test_afir_into_a_folder_with_spaces_umlauts_and_older_results(aachen_loaded, tmp_path):
    out = tmp_path / "Ergebnisse Ladeinfrastruktur – Übersicht"
    out.mkdir()
    (out / "charging_afir.csv").write_text("alt;veraltet\n")
    (out / "charging_afir.gpkg").write_bytes(b"not a geopackage")        # a broken older result
    assert _cli("import", "vehicles", str(Path(__file__).parent.parent / "data" / "aachen" / "kba" /
                "fz3_pkw_energiequellen_staedteregion_aachen_2024-01-01_SIMULIERT.csv")).exit_code == 0
    r = _cli("charging", "afir", "--out", str(out))
    assert r.exit_code == 0, r.output
    rows = _csv(out / "charging_afir.csv")
    aachen = next(x for x in rows if x["Gemeindeschlüssel / AGS"] == "05334002")
    target = aachen["AFIR-Ziel (kW) / target (kW)"]
    assert "," in target and "." not in target                          # decimal comma, no thousands dot
    assert float(target.replace(",", ".")) == pytest.approx(1.3 * 4127 + 0.8 * 2986)
    import geopandas as gpd

    assert "payment_50kw" in gpd.list_layers(out / "charging_afir.gpkg")["name"].tolist()


def test_afir_into_a_path_that_is_a_file_is_refused(aachen_loaded, tmp_path):
    blocker = tmp_path / "bericht"
    blocker.write_text("a file, not a folder")
    r = _cli("charging", "afir", "--out", str(blocker))
    assert r.exit_code != 0 and str(blocker.name) in r.output, r.output
    assert blocker.read_text() == "a file, not a folder"


def test_afir_ignores_removed_evses_and_computes_power_from_volts_and_amps(aachen_loaded, client, tmp_path):
    from netzatlas.registry.db import connect

    with connect(aachen_loaded) as conn:
        _, cc, party, token_a = new_party(conn)
    creds = example("credentials_example.json")
    creds["roles"][0].update(country_code=cc, party_id=party)
    token = client.post(f"{BASE}/credentials", json=creds, headers=token_header(token_a)).json()["data"]["token"]
    base = f"{BASE}/receiver/locations/{cc}/{party}"
    gone = _loc(party, "HPC-GONE")                    # its only DC EVSE was dismantled: REMOVED
    gone["evses"][0].update(status="REMOVED", capabilities=["RFID_READER"])
    gone["evses"][0]["connectors"][0].update(power_type="DC", max_electric_power=150000)
    volts = _loc(party, "HPC-VA")                     # 400 V × 375 A, max_electric_power 0: a 150 kW point
    volts["coordinates"] = {"latitude": "50.776100", "longitude": "6.084400"}
    volts["evses"][0].update(capabilities=["RFID_READER"])
    volts["evses"][0]["connectors"][0].update(power_type="DC", max_voltage=400, max_amperage=375,
                                              max_electric_power=0)
    for loc in (gone, volts):
        r = client.put(f"{base}/{loc['id']}", json=loc, headers=token_header(token))
        assert r.json()["status_code"] == 1000, r.text
    r = _cli("charging", "afir", "--out", str(tmp_path))
    assert r.exit_code == 0, r.output
    pay = {row["Kennung / id"]: row for row in _csv(tmp_path / "charging_afir_payment.csv")
           if row["Quelle / source"] == f"ocpi:{cc}*{party}"}
    assert set(pay) == {f"{cc}*{party}*HPC-VA"}, pay                  # the REMOVED 150 kW EVSE is not there
    va = pay[f"{cc}*{party}*HPC-VA"]
    assert float(va["max. kW"].replace(",", ".")) == pytest.approx(150.0)      # 400 V × 375 A
    assert va["Kartenzahlung / card payment"] == "keine Angabe" and va["auffällig / flagged"] == "nein"


def test_script_and_formula_names_stay_text_in_html_and_csv(aachen_loaded, tmp_path):
    import geopandas as gpd
    from shapely.geometry import Point

    from netzatlas.registry.importers.load import load_layers

    evil = "<script>alert('nz')</script>"
    hs = gpd.GeoDataFrame({"external_id": ["HS-EVIL"], "name": [evil], "operator": ["=HYPERLINK(\"x\")"]},
                          geometry=[Point(6.0838, 50.7757)], crs="EPSG:4326")
    load_layers({"wlan_hotspot": hs}, source="holdout-wlan-evil", kind="test", owner_org="city", url=aachen_loaded)
    ch = gpd.GeoDataFrame({"external_id": ["EVIL-HPC"], "name": ["=HYPERLINK(\"http://x\";\"klick\")"],
                           "operator": [evil], "charge_points": [2], "power_kw": [300.0],
                           "properties": [{"Bezahlsysteme": "App"}]},
                          geometry=[Point(6.0845, 50.7765)], crs="EPSG:4326")
    load_layers({"charging_point": ch}, source="holdout-evil-hpc", kind="test", owner_org="city", url=aachen_loaded)
    r = _cli("wifi", "siting", "--k", "2", "--no-certify", "--out", str(tmp_path / "w"))
    assert r.exit_code == 0, r.output
    r = _cli("wifi", "priority", "--out", str(tmp_path / "p"))
    assert r.exit_code == 0, r.output
    r = _cli("charging", "afir", "--out", str(tmp_path / "c"))
    assert r.exit_code == 0, r.output
    pages = [p for d in ("w", "p", "c") for p in (tmp_path / d).glob("*.html")]
    assert len(pages) >= 5
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "<script>alert('nz')" not in text, page.name
    pay = [row for row in _csv(tmp_path / "c" / "charging_afir_payment.csv") if row["Quelle / source"]
           == "holdout-evil-hpc"]
    assert len(pay) == 1 and all(not v.startswith("=") for v in pay[0].values()), pay


def test_gaps_and_siting_with_no_chargers_and_no_population(aachen_loaded):
    from netzatlas.charging.report import charging_gaps
    from netzatlas.charging.siting import site_chargers
    from netzatlas.registry import analysis_inputs as ai
    from netzatlas.registry.db import connect
    from netzatlas.wifi.inputs import wlan_candidates

    with connect(aachen_loaded) as conn:
        chargers, cells = ai.chargers(conn), ai.population_cells(conn, 100)
        addresses, roads = ai.layer(conn, "fibre_address"), ai.layer(conn, "road")
        cands = wlan_candidates(ai.layer(conn, "streetlight"), ai.layer(conn, "poi").iloc[:0])
    none = chargers.iloc[:0]
    res = charging_gaps(addresses, cells, none, roads)
    assert res.summary["chargers"] == 0 and res.summary["kw_per_1000"] == 0.0
    assert res.summary["addresses_in_gaps_pct"] == 100.0 and len(res.gaps) > 0
    s = site_chargers(cells, none, cands, k=3, certify=False)
    assert len(s.new_sites) == 3 and s.result.covered_weight > 0
    empty = site_chargers(cells.iloc[:0], chargers, cands, k=3, certify=False)
    assert len(empty.new_sites) == 0 and empty.result.total_weight == 0


def test_wifi_priority_with_no_hotspots_at_all_counts_everything_uncovered():
    import geopandas as gpd
    from shapely.geometry import Point, box

    from netzatlas.wifi.analysis import coverage_today, priority_areas

    demand = gpd.GeoDataFrame({"weight": [400.0, 5.0], "category": ["railway_station", "residents"],
                               "kind": ["poi", "residents"]}, geometry=[Point(50, 50), Point(150, 50)],
                              crs="EPSG:25832")
    none = gpd.GeoDataFrame({"ap_class": [], "range_m": []}, geometry=[], crs="EPSG:25832")
    cov = coverage_today(demand, none)
    assert not cov["covered"].any()
    cells = gpd.GeoDataFrame({"cell_id": ["A", "B"]}, geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)],
                             crs="EPSG:25832")
    pr = priority_areas(cov, cells)
    assert pr["cell_id"].tolist() == ["A", "B"] and pr["uncovered_weight"].tolist() == [400.0, 5.0]


def test_afir_report_with_only_ac_chargers_and_chargers_without_power(tmp_path):
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry import Point

    from netzatlas.charging.afir import fleet_check, installed_per_region, payment_check
    from netzatlas.reports.charging_report import write_afir_report

    chargers = gpd.GeoDataFrame({"external_id": ["AC1", "AC2", "NOKW"], "source": ["t"] * 3,
                                 "name": ["a", "b", "c"], "operator": ["o"] * 3, "charge_points": [2, 2, None],
                                 "power_kw": [22.0, 11.0, None], "properties": [{}, {"Bezahlsysteme": "App"}, {}]},
                                geometry=[Point(6.08, 50.77)] * 3, crs="EPSG:4326")
    payment = payment_check(chargers)
    assert payment.empty                                              # no point reaches 50 kW
    fleet = fleet_check(pd.DataFrame(columns=["region_key", "region_level", "name", "stichtag", "cars_total", "bev",
                                              "phev", "source", "simulated"]),
                        installed_per_region(chargers, None))
    files = write_afir_report(fleet, payment, [], tmp_path)
    assert _csv(tmp_path / "charging_afir_payment.csv") == [] and _csv(files.csv) == []
    assert files.html.read_text(encoding="utf-8")
