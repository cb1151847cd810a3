"""The registry keeper's journey, tried as a demanding user: who changed this streetlight, when, what was it before
(``netzatlas db history``, also as JSON and as CSV for a German Excel, from a date on), bringing back what was
deleted (``db restore``, also twice, after a delete for good, when another row took its external id), keys and
people (``netzatlas keys`` / ``users``) and the database unreachable — through the CLI and the API, asserting the
exit code, the message, the database and the files written."""

from __future__ import annotations

import csv
import getpass
import io
import json
import os
import re
import subprocess
import sys
import uuid
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from netzatlas.cli.main import app
from tests.conftest import ROOT, auth
from tests.test_cli_keys import KEY
from tests.test_people import add_person, drop_person, person_url

runner = CliRunner()
LAMP = "ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), 4326), 25832)"


def cli(*args: str):
    """``netzatlas …`` in this process, on a console wide enough for whole ids."""
    from netzatlas.cli._common import console, err_console

    # the consoles' own setting is restored, not the width they had: setting ``width`` back would fix it for every
    # later test (rich's ``_width`` None = follow COLUMNS / the terminal; later modules run with COLUMNS=1000)
    widths = console._width, err_console._width
    console.width = err_console.width = 250
    try:
        return runner.invoke(app, list(args), terminal_width=250)
    finally:
        console._width, err_console._width = widths


def cli_process(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    """``netzatlas …`` as its own process with ``NETZATLAS_DATABASE_URL=url``."""
    return subprocess.run([sys.executable, "-m", "netzatlas.cli.main", *args], capture_output=True, text=True,
                          env={**os.environ, "NETZATLAS_DATABASE_URL": url, "COLUMNS": "200"}, cwd=ROOT, timeout=120)


def insert_lamp(conn, source: str, ext: str = "K1", height: float = 6.5, name: str = "Lämpchen Süd",
                fid: str | None = None) -> str:
    row = conn.execute(
        f"INSERT INTO registry.streetlight (id, source, external_id, owner_org, name, height_m, geom) "
        f"VALUES (coalesce(%s::uuid, gen_random_uuid()), %s, %s, 'city', %s, %s, {LAMP}) RETURNING id",
        [fid, source, ext, name, height, 6.083, 50.775]).fetchone()
    conn.commit()
    return str(row["id"])


def changes(conn, fid: str) -> list[dict]:
    conn.rollback()
    return conn.execute("SELECT operation, version, changed_by FROM audit.change WHERE row_id = %s ORDER BY seq",
                        [fid]).fetchall()


def lamp(conn, fid: str) -> dict | None:
    conn.rollback()
    return conn.execute("SELECT external_id, name, height_m, version, deleted_at, created_at FROM "
                        "registry.streetlight WHERE id = %s", [fid]).fetchone()


@pytest.fixture
def lamps_csv(tmp_path: Path):
    """A lamp file the city imports again and again, and its import command."""
    path = tmp_path / "leuchten.csv"
    source = f"keeper-{uuid.uuid4().hex[:8]}"

    def write(height_k2: str = "8.25") -> list[str]:
        path.write_text("LAMP_ID,HOEHE,lon,lat,NAME\nK1,6.5,6.083,50.775,Lämpchen Süd\n"
                        f"K2,{height_k2},6.084,50.776,Leuchte Straße 2\n", encoding="utf-8")
        return ["import", "file", str(path), "--layer", "streetlight", "--map", "external_id=LAMP_ID",
                "--map", "height_m=HOEHE", "--map", "name=NAME", "--x-column", "lon", "--y-column", "lat",
                "--crs", "EPSG:4326", "--source", source, "--owner", "city", "-q"]

    return write, source


def imported_id(conn, source: str, ext: str) -> str:
    conn.rollback()
    return str(conn.execute("SELECT id FROM registry.streetlight WHERE source = %s AND external_id = %s",
                            [source, ext]).fetchone()["id"])


# --- db history -------------------------------------------------------------------------------------------------

def test_history_of_an_id_that_never_existed_is_a_message(db_url, conn):
    fid = str(uuid.uuid4())
    res = cli("db", "history", "streetlight", fid)
    assert res.exit_code == 2 and f"streetlight {fid} has no history" in res.output
    assert "Traceback" not in res.output and changes(conn, fid) == []


@pytest.mark.parametrize("text", ["abc", "Leuchte 7", "12345678-zzzz", "'; DROP TABLE x; --"])
def test_history_of_something_that_is_no_id_says_so(db_url, text):
    res = cli("db", "history", "streetlight", text)
    assert res.exit_code == 2 and "is not a feature id" in res.output
    assert "refused the write" not in res.output and "Traceback" not in res.output


def test_history_by_the_first_characters_of_the_id(db_url, conn, unique_source):
    fid = insert_lamp(conn, unique_source)
    res = cli("db", "history", "streetlight", fid[:8])
    assert res.exit_code == 0, res.output
    assert f"streetlight {fid}" in res.output and "INSERT" in res.output


def test_history_by_a_prefix_two_features_share_lists_both(db_url, conn, unique_source):
    stem = uuid.uuid4().hex[:8]
    ids = [insert_lamp(conn, unique_source, ext, fid=f"{stem}-000{i}-4000-8000-000000000000")
           for i, ext in enumerate(("P1", "P2"))]
    res = cli("db", "history", "streetlight", stem)
    assert res.exit_code == 2 and f"several streetlight ids start with {stem}" in res.output
    assert all(i in res.output for i in ids)
    res = cli("db", "history", "streetlight", f"{stem}-0001")   # enough of it to be one
    assert res.exit_code == 0 and f"streetlight {ids[1]}" in res.output


def test_history_of_a_layer_that_does_not_exist_lists_the_layers(db_url):
    res = cli("db", "history", "strassenlaterne", str(uuid.uuid4()))
    assert res.exit_code == 2 and "unknown layer 'strassenlaterne'" in res.output and "streetlight" in res.output


def test_history_of_an_id_of_another_layer_names_that_layer(db_url, conn, unique_source):
    fid = insert_lamp(conn, unique_source)
    res = cli("db", "history", "charging_point", fid)
    assert res.exit_code == 2 and "the id is of a streetlight" in res.output
    assert f"netzatlas db history streetlight {fid}" in res.output


def test_reimport_without_changes_writes_no_history(db_url, conn, lamps_csv):
    write, source = lamps_csv
    assert cli(*write()).exit_code == 0
    fid = imported_id(conn, source, "K2")
    res = cli(*write())
    assert res.exit_code == 0, res.output
    assert [c["operation"] for c in changes(conn, fid)] == ["INSERT"]
    shown = cli("db", "history", "streetlight", fid)
    assert shown.exit_code == 0 and shown.output.count("INSERT") == 1 and "UPDATE" not in shown.output


def test_reimport_with_one_changed_attribute_is_one_entry_with_old_and_new_value(db_url, conn, lamps_csv):
    write, source = lamps_csv
    assert cli(*write("8.25")).exit_code == 0
    fid = imported_id(conn, source, "K2")
    assert cli(*write("9.75")).exit_code == 0
    assert [(c["operation"], c["version"]) for c in changes(conn, fid)] == [("INSERT", 1), ("UPDATE", 2)]
    res = cli("db", "history", "streetlight", fid)
    assert res.exit_code == 0 and "height_m: 8.25 → 9.75" in res.output
    assert res.output.count("UPDATE") == 1


def test_history_as_json_has_old_and_new_values_and_umlauts_as_they_are(db_url, conn, lamps_csv, tmp_path):
    write, source = lamps_csv
    assert cli(*write("8.25")).exit_code == 0
    fid = imported_id(conn, source, "K2")
    assert cli(*write("9.75")).exit_code == 0
    res = cli("db", "history", "streetlight", fid, "--format", "json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["id"] == fid and [v["operation"] for v in doc["versions"]] == ["INSERT", "UPDATE"]
    assert doc["versions"][1]["changed"] == {"height_m": {"before": 8.25, "after": 9.75}}
    assert doc["versions"][0]["after"]["name"] == "Leuchte Straße 2" and "Straße" in res.stdout   # not \u00df
    out = tmp_path / "verlauf.json"
    res = cli("db", "history", "streetlight", fid, "--format", "json", "--output", str(out))
    assert res.exit_code == 0 and json.loads(out.read_text(encoding="utf-8")) == doc


def test_history_as_csv_opens_in_a_german_excel(db_url, conn, lamps_csv, tmp_path):
    write, source = lamps_csv
    assert cli(*write("8.25")).exit_code == 0
    fid = imported_id(conn, source, "K2")
    conn.execute("UPDATE registry.streetlight SET name = 'Leuchte Kärntner Straße', height_m = 9.5 WHERE id = %s",
                 [fid])
    conn.commit()
    out = tmp_path / "verlauf.csv"
    res = cli("db", "history", "streetlight", fid, "--format", "csv", "--output", str(out))
    assert res.exit_code == 0 and "2 change(s) written" in res.output
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")                       # the BOM: Excel reads UTF-8, not cp1252
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["seq", "version", "operation", "when", "who", "batch", "field", "before", "after"]
    fields = {r[6]: (r[7], r[8]) for r in rows[1:] if r[2] == "UPDATE"}
    assert fields == {"height_m": ("8,25", "9,5"), "name": ("Leuchte Straße 2", "Leuchte Kärntner Straße")}
    assert re.fullmatch(r"\d\d\.\d\d\.\d{4} \d\d:\d\d:\d\d", rows[1][3])     # a date Excel reads as one


def test_history_as_csv_runs_no_formula_in_excel(db_url, conn, unique_source, tmp_path):
    fid = insert_lamp(conn, unique_source)
    conn.execute("UPDATE registry.streetlight SET name = '=HYPERLINK(\"http://evil.example\",\"Klick\")', "
                 "permanent_power = true WHERE id = %s", [fid])
    conn.commit()
    out = tmp_path / "verlauf.csv"
    assert cli("db", "history", "streetlight", fid, "--format", "csv", "-o", str(out)).exit_code == 0
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig")), delimiter=";"))
    fields = {r[6]: (r[7], r[8]) for r in rows[1:] if r[2] == "UPDATE"}
    assert fields["name"] == ("Lämpchen Süd", "'=HYPERLINK(\"http://evil.example\",\"Klick\")")
    assert fields["permanent_power"] == ("", "ja")


def test_history_says_in_which_time_zone_its_times_are(db_url, conn, unique_source):
    fid = insert_lamp(conn, unique_source)
    conn.rollback()
    when = conn.execute("SELECT changed_at FROM audit.change WHERE row_id = %s", [fid]).fetchone()["changed_at"]
    res = cli("db", "history", "streetlight", fid)
    assert res.exit_code == 0 and when.tzname() and f"{when:%Y-%m-%d %H:%M:%S} {when.tzname()}" in res.output


def test_history_since_a_german_date(db_url, conn, unique_source):
    fid = insert_lamp(conn, unique_source)
    later = (date.today() + timedelta(days=2)).strftime("%d.%m.%Y")
    earlier = (date.today() - timedelta(days=2)).strftime("%d.%m.%Y")
    res = cli("db", "history", "streetlight", fid, "--since", later)
    assert res.exit_code == 0 and f"no changes since {later}" in res.output
    res = cli("db", "history", "streetlight", fid, "--since", earlier)
    assert res.exit_code == 0 and "INSERT" in res.output


def test_history_since_an_iso_time_with_a_zone_splits_between_two_changes(db_url, conn, unique_source):
    fid = insert_lamp(conn, unique_source, height=6.5)
    cut = conn.execute("SELECT clock_timestamp() AS t").fetchone()["t"]
    conn.rollback()
    conn.execute("UPDATE registry.streetlight SET height_m = 7 WHERE id = %s", [fid])
    conn.commit()
    res = cli("db", "history", "streetlight", fid, "--since", cut.astimezone().isoformat())
    assert res.exit_code == 0, res.output
    assert "UPDATE" in res.output and "INSERT" not in res.output and "height_m: 6.5 → 7" in res.output


@pytest.mark.parametrize("args,message", [
    (("--since", "morgen"), "cannot read the time 'morgen'"),
    (("--since", "31.02.2026"), "cannot read the time"),
    (("--format", "xml"), "unknown format 'xml'"),
    (("--output", "x.csv"), "--output writes json or csv"),
])
def test_history_options_that_make_no_sense_are_refused(db_url, conn, unique_source, tmp_path, args, message):
    fid = insert_lamp(conn, unique_source)
    res = cli("db", "history", "streetlight", fid, *args)
    assert res.exit_code == 2 and message in res.output and "Traceback" not in res.output
    assert not (Path.cwd() / "x.csv").exists()


def test_history_of_a_person_who_was_removed_still_names_them(db_url, conn, unique_source, tmp_path):
    fid = insert_lamp(conn, unique_source)
    login, password = add_person(tmp_path, "editor", "city")
    with psycopg.connect(person_url(db_url, login, password)) as pc:
        assert pc.execute("UPDATE registry.streetlight SET name = 'Leuchte Tür 3', version = 1 WHERE id = %s",
                          [fid]).rowcount == 1
    drop_person(login)
    conn.rollback()
    assert conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [login]).fetchone() is None
    res = cli("db", "history", "streetlight", fid)
    assert res.exit_code == 0 and login in res.output and "name: Lämpchen Süd → Leuchte Tür 3" in res.output
    assert changes(conn, fid)[-1]["changed_by"] == login


# --- db restore -------------------------------------------------------------------------------------------------

def test_restore_twice_says_the_second_time_that_nothing_was_to_do(db_url, conn, unique_source):
    fid = insert_lamp(conn, unique_source, height=6.5)
    conn.execute("UPDATE registry.streetlight SET height_m = 12 WHERE id = %s", [fid])
    conn.commit()
    res = cli("db", "restore", "streetlight", fid, "--version", "1")
    assert res.exit_code == 0 and "restored the state of version 1 as version 3" in res.output
    res = cli("db", "restore", "streetlight", fid, "--version", "1")
    assert res.exit_code == 0, res.output
    assert "already has the state of version 1 (it is version 3); nothing written" in res.output
    assert [c["version"] for c in changes(conn, fid)] == [1, 2, 3]
    assert lamp(conn, fid)["height_m"] == 6.5
    who = f"cli:{getpass.getuser()}"                      # who restored it: the system user, not just "cli"
    assert changes(conn, fid)[-1]["changed_by"] == who and who in cli("db", "history", "streetlight", fid).output


def test_restore_a_feature_deleted_for_good_brings_it_back_with_its_id(db_url, conn, unique_source, client,
                                                                      api_keys):
    fid = insert_lamp(conn, unique_source, height=6.5)
    created = lamp(conn, fid)["created_at"]
    conn.execute("UPDATE registry.streetlight SET height_m = 7.5 WHERE id = %s", [fid])
    conn.execute("DELETE FROM registry.streetlight WHERE id = %s", [fid])
    conn.commit()
    res = cli("db", "restore", "streetlight", fid, "--version", "2")
    assert res.exit_code == 0, res.output
    assert "brought back (it was deleted for good) with the state of version 2 as version 3" in res.output
    row = lamp(conn, fid)
    assert row["height_m"] == 7.5 and row["name"] == "Lämpchen Süd" and row["version"] == 3
    assert row["deleted_at"] is None and row["created_at"] == created
    assert [(c["operation"], c["version"]) for c in changes(conn, fid)] == [
        ("INSERT", 1), ("UPDATE", 2), ("HARD_DELETE", 2), ("INSERT", 3)]
    item = client.get(f"/collections/streetlight/items/{fid}", headers=auth(api_keys["admin"]))
    assert item.status_code == 200 and item.json()["properties"]["height_m"] == 7.5
    hist = client.get(f"/collections/streetlight/items/{fid}/history", headers=auth(api_keys["admin"])).json()
    assert [v["operation"] for v in hist["versions"]] == ["INSERT", "UPDATE", "HARD_DELETE", "INSERT"]
    assert hist["versions"][-1]["after"]["height_m"] == 7.5
    shown = cli("db", "history", "streetlight", fid)
    assert "HARD_DELETE" in shown.output and "external_id: K1 → (none)" not in shown.output   # no wall of fields
    again = cli("db", "restore", "streetlight", fid, "--version", "2")      # restored twice: the second is a no-op
    assert again.exit_code == 0 and "nothing written" in again.output and len(changes(conn, fid)) == 4


def test_restore_when_a_newer_row_took_the_external_id_names_it(db_url, conn, unique_source):
    old = insert_lamp(conn, unique_source, "K7")
    conn.execute("DELETE FROM registry.streetlight WHERE id = %s", [old])
    conn.commit()
    new = insert_lamp(conn, unique_source, "K7", height=9.0, name="Neue Leuchte")
    res = cli("db", "restore", "streetlight", old, "--version", "1")
    assert res.exit_code == 2 and f"streetlight {new} holds source '{unique_source}', external id 'K7'" in res.output
    assert f"netzatlas db history streetlight {new}" in res.output and "Traceback" not in res.output
    assert lamp(conn, old) is None and lamp(conn, new)["name"] == "Neue Leuchte"
    assert [c["operation"] for c in changes(conn, old)] == ["INSERT", "HARD_DELETE"]


def test_restore_by_prefix_after_an_api_delete(db_url, conn, client, api_keys):
    r = client.post("/collections/streetlight/items", headers=auth(api_keys["city_lights"]),
                    json={"type": "Feature", "geometry": {"type": "Point", "coordinates": [6.0807, 50.7707]},
                          "properties": {"external_id": f"keeper-{uuid.uuid4().hex[:8]}", "name": "Weg damit"}})
    fid = r.headers["location"].rsplit("/", 1)[1]
    url = f"/collections/streetlight/items/{fid}"
    assert client.delete(url, headers={**auth(api_keys["city_lights"]), "If-Match": 'W/"1"'}).status_code == 204
    assert client.get(url).status_code == 404
    res = cli("db", "restore", "streetlight", fid[:8], "--version", "1")
    assert res.exit_code == 0 and f"streetlight {fid}: restored the state of version 1 as version 3" in res.output
    assert client.get(url).status_code == 200
    assert [c["operation"] for c in changes(conn, fid)] == ["INSERT", "DELETE", "RESTORE"]


@pytest.mark.parametrize("version,message", [("9", "has no version 9"), ("0", "has no version 0")])
def test_restore_of_a_version_that_never_was_lists_the_versions(db_url, conn, unique_source, version, message):
    fid = insert_lamp(conn, unique_source)
    res = cli("db", "restore", "streetlight", fid, "--version", version)
    assert res.exit_code == 2 and message in res.output and "versions: [1]" in res.output
    assert [c["version"] for c in changes(conn, fid)] == [1]


def test_restore_of_an_id_that_never_existed(db_url, conn):
    fid = str(uuid.uuid4())
    res = cli("db", "restore", "streetlight", fid, "--version", "1")
    assert res.exit_code == 2 and "has no history" in res.output and lamp(conn, fid) is None


# --- keys -------------------------------------------------------------------------------------------------------

def test_key_names_with_markup_script_and_umlauts_do_not_break_the_list(db_url, conn):
    names = ["<script>alert(1)</script>", "[/] Straßenbeleuchtung Jülich [bold]", "Sync-Job Ölmühle"]
    for name in names:
        res = cli("keys", "create", "--org", "city", "--name", name)
        assert res.exit_code == 0 and KEY.search(res.output), res.output
    res = cli("keys", "list")
    assert res.exit_code == 0, res.output
    assert all(n in res.output for n in names) and "Traceback" not in res.output


@pytest.mark.parametrize("expires,message", [
    ("01.01.2020", "is in the past"), ("2020-06-30", "is in the past"), ("0d", "is in the past"),
    ("0", "cannot read the expiry '0'"), ("31.02.2027", "cannot read the expiry"), ("gestern", "cannot read"),
])
def test_keys_with_an_expiry_in_the_past_or_unreadable_are_refused(db_url, conn, expires, message):
    conn.rollback()
    before = conn.execute("SELECT count(*) AS n FROM registry.api_key").fetchone()["n"]
    res = cli("keys", "create", "--org", "city", "--expires", expires, "--name", "abgelaufen")
    assert res.exit_code == 2 and message in res.output and not KEY.search(res.output)
    conn.rollback()
    assert conn.execute("SELECT count(*) AS n FROM registry.api_key").fetchone()["n"] == before


@pytest.mark.parametrize("how", ["na_prefix", "whole key"])
def test_revoke_takes_the_key_as_it_was_handed_out(db_url, conn, client, how):
    res = cli("keys", "create", "--org", "city", "--name", "revoke me")
    key, prefix = KEY.search(res.output).group(0), KEY.search(res.output).group(1)
    assert client.get("/collections", headers=auth(key)).status_code == 200
    res = cli("keys", "revoke", f"na_{prefix}" if how == "na_prefix" else key)
    assert res.exit_code == 0 and f"key {prefix} revoked" in res.output
    conn.rollback()
    assert conn.execute("SELECT revoked_at FROM registry.api_key WHERE prefix = %s", [prefix]).fetchone()["revoked_at"]
    assert client.get("/collections", headers=auth(key)).status_code == 401
    again = cli("keys", "revoke", prefix)
    assert again.exit_code == 2 and "no active key" in again.output and "it was revoked on" in again.output


def test_an_expired_key_is_listed_as_expired_and_refused_with_its_date(db_url, conn, client):
    res = cli("keys", "create", "--org", "city", "--expires", "30d", "--name", "bald abgelaufen")
    key, prefix = KEY.search(res.output).group(0), KEY.search(res.output).group(1)
    conn.execute("UPDATE registry.api_key SET expires_at = now() - interval '1 day' WHERE prefix = %s", [prefix])
    conn.commit()
    listed = cli("keys", "list")
    line = next(ln for ln in listed.output.splitlines() if prefix in ln)
    assert "expired" in line and "active" not in line
    r = client.get("/collections", headers=auth(key))
    assert r.status_code == 401 and "expired on" in r.text


@pytest.mark.parametrize("slug", ["Stadt Jülich", "[/]bad", "x!", ""])
def test_an_organization_id_that_cannot_be_one_is_explained(db_url, conn, slug):
    res = cli("keys", "org-add", slug, "Stadt Jülich")
    assert res.exit_code == 2 and "cannot be an organization's id" in res.output and "Traceback" not in res.output
    conn.rollback()
    assert conn.execute("SELECT 1 FROM registry.organization WHERE slug = %s", [slug]).fetchone() is None


# --- users ------------------------------------------------------------------------------------------------------

def test_moving_a_person_to_an_organization_that_does_not_exist_is_explained(db_url, conn, tmp_path):
    login, _ = add_person(tmp_path, "viewer", "city")
    try:
        res = cli("users", "set-role", login, "editor", "--org", "nirgendwo")
        assert res.exit_code == 2 and "no organization 'nirgendwo'" in res.output
        assert "netzatlas keys org-add nirgendwo" in res.output and "foreign key" not in res.output
        conn.rollback()
        row = conn.execute("SELECT org, role FROM registry.person WHERE login = %s", [login]).fetchone()
        assert row == {"org": "city", "role": "viewer"}
    finally:
        drop_person(login)


def test_a_persons_name_with_umlauts_and_markup_is_listed_as_it_is(db_url, conn, tmp_path):
    login = f"p_{uuid.uuid4().hex[:10]}"
    res = cli("users", "add", login, "--org", "city", "--name", "Jürgen [/] <b>Weiß</b>")
    assert res.exit_code == 0, res.output
    try:
        listed = cli("users", "list")
        assert listed.exit_code == 0 and "Jürgen [/] <b>Weiß</b>" in listed.output
    finally:
        drop_person(login)


def test_a_person_removed_while_connected_can_no_longer_read_or_write(db_url, conn, unique_source, tmp_path):
    fid = insert_lamp(conn, unique_source)
    login, password = add_person(tmp_path, "editor", "city")
    with psycopg.connect(person_url(db_url, login, password), autocommit=True) as pc:   # QGIS left open
        assert pc.execute("SELECT version FROM registry.streetlight WHERE id = %s", [fid]).fetchone() == (1,)
        res = cli("users", "remove", login)
        assert res.exit_code == 0 and f"{login} removed" in res.output
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            pc.execute("UPDATE registry.streetlight SET name = 'nach dem Austritt', version = 1 WHERE id = %s",
                       [fid])
    assert lamp(conn, fid)["name"] == "Lämpchen Süd" and len(changes(conn, fid)) == 1
    listed = cli("users", "list")
    assert listed.exit_code == 0 and login not in listed.output


# --- the database unreachable -----------------------------------------------------------------------------------

def _wrong_password(db_url: str) -> str:
    params = psycopg.conninfo.conninfo_to_dict(db_url)
    return psycopg.conninfo.make_conninfo(**{**params, "password": "falsch-geraten"})


@pytest.mark.parametrize("args", [("db", "upgrade"), ("db", "start"), ("db", "history", "streetlight",
                                                                          str(uuid.UUID(int=1))),
                                  ("keys", "list"), ("users", "list")])
def test_a_wrong_password_is_a_message_not_a_traceback(db_url, args):
    res = cli_process(*args, url=_wrong_password(db_url))
    assert res.returncode == 2, res.stderr
    assert "cannot connect to the database" in res.stderr and "password authentication failed" in res.stderr
    assert "Traceback" not in res.stderr and "falsch-geraten" not in res.stderr + res.stdout


@pytest.mark.parametrize("args", [("db", "upgrade"), ("db", "restore", "streetlight", str(uuid.UUID(int=1)),
                                                      "--version", "1")])
def test_a_stopped_server_is_a_message_not_a_traceback(db_url, args):
    res = cli_process(*args, url="postgresql://netzatlas:geheim@127.0.0.1:1/netzatlas")
    assert res.returncode == 2 and "cannot connect to the database" in res.stderr
    assert "Traceback" not in res.stderr and "netzatlas db start" in res.stderr


@pytest.mark.parametrize("url", ["nonsense-url", "netzatlas:geheim@localhost/netzatlas"])
def test_a_url_that_is_none_is_explained_without_repeating_it(db_url, url):
    for args in (("db", "upgrade"), ("db", "history", "streetlight", str(uuid.UUID(int=1))), ("db", "url")):
        res = cli_process(*args, url=url)
        assert res.returncode == 2 and "is not a URL PostgreSQL can read" in res.stderr, res.stderr
        assert "Traceback" not in res.stderr and "geheim" not in res.stderr + res.stdout


# --- the API's history and change feed ----------------------------------------------------------------------------

def test_api_history_of_an_id_of_another_layer_or_none_is_404(client, api_keys, conn, unique_source):
    fid = insert_lamp(conn, unique_source)
    h = auth(api_keys["admin"])
    assert client.get(f"/collections/streetlight/items/{fid}/history", headers=h).status_code == 200
    for url in (f"/collections/charging_point/items/{fid}/history", "/collections/streetlight/items/abc/history",
                f"/collections/streetlight/items/{uuid.uuid4()}/history"):
        r = client.get(url, headers=h)
        assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")


def test_feed_continues_after_a_change_whose_row_was_deleted_for_good(client, api_keys, conn, db_url,
                                                                       unique_source):
    from tests.test_api_changes import follow, position_now

    start = position_now(db_url)
    fid = insert_lamp(conn, unique_source)
    conn.execute("DELETE FROM registry.streetlight WHERE id = %s", [fid])
    conn.commit()
    feed, _ = follow(client, f"/changes?since={start}&limit=10000", auth(api_keys["reader"]))
    mine = [c for c in feed if c.id == fid]
    assert [c.operation for c in mine] == ["INSERT", "HARD_DELETE"] and mine[1].after is None
    resumed, _ = follow(client, f"/changes?since={mine[0].position}&limit=10000", auth(api_keys["reader"]))
    assert [c.operation for c in resumed if c.id == fid] == ["HARD_DELETE"]


@pytest.mark.parametrize("form", [str.upper, lambda f: "{" + f + "}", lambda f: "urn:uuid:" + f,
                                  lambda f: f.replace("-", "")], ids=["upper", "braces", "urn", "no-dashes"])
def test_api_history_reads_every_spelling_of_an_id_and_answers_with_the_canonical_one(client, api_keys, conn,
                                                                                      unique_source, form):
    fid = insert_lamp(conn, unique_source)
    canonical = client.get(f"/collections/streetlight/items/{fid}/history", headers=auth(api_keys["admin"])).json()
    r = client.get(f"/collections/streetlight/items/{form(fid)}/history", headers=auth(api_keys["admin"]))
    assert r.status_code == 200, r.text
    assert r.json() == canonical and r.json()["id"] == fid


@pytest.mark.parametrize("form", [str.upper, lambda f: "{" + f + "}", lambda f: "urn:uuid:" + f,
                                  lambda f: f.replace("-", "")], ids=["upper", "braces", "urn", "no-dashes"])
def test_api_item_reads_every_spelling_of_an_id(client, api_keys, conn, unique_source, form):
    """GET …/items/urn:uuid:<id> was a 500 (the text went to PostgreSQL as it was)."""
    fid = insert_lamp(conn, unique_source)
    r = client.get(f"/collections/streetlight/items/{form(fid)}", headers=auth(api_keys["reader"]))
    assert r.status_code == 200, r.text
    assert r.json()["id"] == fid
