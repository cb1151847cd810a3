"""Editing AS a person: own organization's features only, readable refusals with nothing written, history under
the person's name (the same history the API writes and shows)."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from typer.testing import CliRunner

from netzatlas.cli.main import app
from tests.test_people import add_person, drop_person, person_url

runner = CliRunner()
POINT = "ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), 4326), 25832)"


@pytest.fixture(scope="module")
def setup(db_url, tmp_path_factory):
    """Two organizations with a streetlight each, a municipality box around them, an editor of the first."""
    from netzatlas.registry.db import connect

    tag = uuid.uuid4().hex[:8]
    own, other, source = f"t{tag}a", f"t{tag}b", f"test-rls-{tag}"
    with connect(db_url) as c:
        c.execute("INSERT INTO registry.organization (slug, name) VALUES (%s, 'Own'), (%s, 'Other')", [own, other])
        ids = {}
        for org, x in ((own, 6.083), (other, 6.085)):
            ids[org] = str(
                c.execute(
                    f"INSERT INTO registry.streetlight (source, external_id, owner_org, name, geom) "
                    f"VALUES (%s, %s, %s, %s, {POINT}) RETURNING id",
                    [source, org, org, f"Leuchte {org}", x, 50.775],
                ).fetchone()["id"]
            )
        ars = f"99{tag}"
        c.execute(
            "INSERT INTO registry.municipality (source, external_id, ars, geom) VALUES (%s, %s, %s, "
            "ST_Multi(ST_Transform(ST_MakeEnvelope(6.0, 50.7, 6.2, 50.85, 4326), 25832)))",
            [source, ars, ars],
        )
        area = c.execute("SELECT enabled, ars, buffer_m FROM registry.edit_area").fetchone()
        c.execute("UPDATE registry.edit_area SET enabled = true, ars = %s, buffer_m = 100", [ars])
        c.commit()
    login, password = add_person(tmp_path_factory.mktemp("pw"), "editor", own)
    yield {
        "own": own,
        "other": other,
        "source": source,
        "ids": ids,
        "login": login,
        "url": person_url(db_url, login, password),
    }
    drop_person(login)
    with connect(db_url) as c:
        c.execute("UPDATE registry.edit_area SET enabled = %(enabled)s, ars = %(ars)s, buffer_m = %(buffer_m)s", area)


def state(conn, fid: str) -> dict:
    conn.rollback()
    return conn.execute(
        "SELECT name, status, version, owner_org, updated_by, ST_AsText(geom) AS wkt "
        "FROM registry.streetlight WHERE id = %s",
        [fid],
    ).fetchone()


def changes(conn, fid: str) -> int:
    return conn.execute("SELECT count(*) AS n FROM audit.change WHERE row_id = %s", [fid]).fetchone()["n"]


def refused(url: str, sqlstate: str, stmt: str, params: list) -> str:
    """Run ``stmt`` as the person; it must fail with ``sqlstate``; the message (what QGIS shows)."""
    with psycopg.connect(url) as pc:
        with pytest.raises(psycopg.Error) as exc:
            pc.execute(stmt, params)
    assert exc.value.sqlstate == sqlstate, exc.value
    return str(exc.value)


def test_editor_edits_own_feature_history_names_them(setup, conn, db_url, client, api_keys):
    fid = setup["ids"][setup["own"]]
    before = state(conn, fid)
    with psycopg.connect(setup["url"]) as pc:
        n = pc.execute(
            "UPDATE registry.streetlight SET name = 'Leuchte neu', version = %s WHERE id = %s", [before["version"], fid]
        ).rowcount
    assert n == 1
    after = state(conn, fid)
    assert after["name"] == "Leuchte neu" and after["version"] == before["version"] + 1
    assert after["updated_by"] == setup["login"]
    last = conn.execute(
        "SELECT changed_by, operation, version FROM audit.change WHERE row_id = %s ORDER BY seq DESC LIMIT 1", [fid]
    ).fetchone()
    assert last == {"changed_by": setup["login"], "operation": "UPDATE", "version": after["version"]}
    from netzatlas.cli._common import console

    width = console._width  # rich's console keeps the width it was given, whatever the runner says: make it wide
    console.width = 250      # (and its own setting back afterwards — None follows COLUMNS — not the width it had)
    try:
        res = runner.invoke(app, ["db", "history", "streetlight", fid], terminal_width=250)
    finally:
        console._width = width
    assert res.exit_code == 0 and setup["login"] in res.output
    hist = client.get(
        f"/collections/streetlight/items/{fid}/history", headers={"Authorization": f"Bearer {api_keys['admin']}"}
    )
    assert hist.status_code == 200 and setup["login"] in hist.text


def test_new_feature_gets_the_person_s_organization_and_source(setup, conn):
    with psycopg.connect(setup["url"]) as pc:
        row = pc.execute(
            f"INSERT INTO registry.streetlight (name, geom) VALUES ('neu', {POINT}) RETURNING id, owner_org, source",
            [6.084, 50.776],
        ).fetchone()
    assert row[1] == setup["own"] and row[2] == f"api:{setup['own']}"
    assert conn.execute("SELECT changed_by FROM audit.change WHERE row_id = %s", [row[0]]).fetchone() == {
        "changed_by": setup["login"]
    }


def test_another_organization_s_feature_is_refused_readably(setup, conn):
    fid = setup["ids"][setup["other"]]
    before, n_changes = state(conn, fid), changes(conn, fid)
    msg = refused(setup["url"], "NZ002", "UPDATE registry.streetlight SET name = 'fremd' WHERE id = %s", [fid])
    assert f"gehört Organisation {setup['other']}" in msg and f"belongs to {setup['other']}" in msg
    msg = refused(setup["url"], "NZ002", "DELETE FROM registry.streetlight WHERE id = %s", [fid])
    assert "belongs to" in msg
    msg = refused(
        setup["url"],
        "NZ002",
        f"INSERT INTO registry.streetlight (owner_org, geom) VALUES (%s, {POINT})",
        [setup["other"], 6.084, 50.776],
    )
    assert "would belong to" in msg
    assert state(conn, fid) == before and changes(conn, fid) == n_changes


def test_unknown_code_is_refused_readably(setup, conn):
    fid = setup["ids"][setup["own"]]
    before, n_changes = state(conn, fid), changes(conn, fid)
    with psycopg.connect(setup["url"]) as pc:
        with pytest.raises(psycopg.errors.ForeignKeyViolation) as exc:
            pc.execute("UPDATE registry.streetlight SET status = 'kaputt' WHERE id = %s", [fid])
    assert "Unbekannter Code" in str(exc.value) and "'kaputt' is not in the value list" in str(exc.value)
    assert "active" in (exc.value.diag.message_hint or "")  # the known codes
    assert state(conn, fid) == before and changes(conn, fid) == n_changes


def test_geometry_outside_the_municipality_is_refused(setup, conn):
    fid = setup["ids"][setup["own"]]
    before, n_changes = state(conn, fid), changes(conn, fid)
    msg = refused(
        setup["url"], "NZ003", f"UPDATE registry.streetlight SET geom = {POINT} WHERE id = %s", [7.5, 50.775, fid]
    )
    assert "außerhalb des Gemeindegebiets" in msg and "outside the municipality" in msg
    name = f"weit-{uuid.uuid4().hex[:6]}"
    refused(
        setup["url"], "NZ003", f"INSERT INTO registry.streetlight (name, geom) VALUES (%s, {POINT})", [name, 6.5, 51.5]
    )
    assert state(conn, fid) == before and changes(conn, fid) == n_changes
    assert conn.execute("SELECT count(*) AS n FROM registry.streetlight WHERE name = %s", [name]).fetchone()["n"] == 0
    with psycopg.connect(setup["url"]) as pc:  # within the buffer (about 50 m outside the box): accepted
        pc.execute(f"UPDATE registry.streetlight SET geom = {POINT} WHERE id = %s", [6.2007, 50.775, fid])
        pc.rollback()


def test_stale_version_is_refused(setup, conn):
    fid = setup["ids"][setup["own"]]
    loaded = state(conn, fid)
    with psycopg.connect(setup["url"]) as first:  # both analysts loaded `loaded`; the first saves
        first.execute(
            "UPDATE registry.streetlight SET name = 'erste', version = %s WHERE id = %s", [loaded["version"], fid]
        )
    saved, n_changes = state(conn, fid), changes(conn, fid)
    msg = refused(
        setup["url"],
        "NZ001",
        "UPDATE registry.streetlight SET name = 'zweite', version = %s WHERE id = %s",
        [loaded["version"], fid],
    )
    assert "Veraltete Version" in msg and f"changed by {setup['login']}" in msg and "reload the layer" in msg
    assert state(conn, fid) == saved and saved["name"] == "erste" and changes(conn, fid) == n_changes


def test_person_cannot_pose_as_someone_else(setup, conn):
    fid = setup["ids"][setup["own"]]
    before = state(conn, fid)
    with psycopg.connect(setup["url"]) as pc:
        pc.execute("SELECT set_config('netzatlas.user', 'someone-else', false)")
        with pytest.raises(psycopg.Error) as exc:
            pc.execute("UPDATE registry.streetlight SET name = 'posing' WHERE id = %s", [fid])
    assert exc.value.sqlstate == "NZ005" and state(conn, fid) == before


def test_api_writes_still_work_on_guarded_layers(setup, client, api_keys):
    """The API connects as the owner: row-level security and the person guard leave it alone."""
    fid = setup["ids"][setup["own"]]
    key = api_keys["admin"]
    got = client.get(f"/collections/streetlight/items/{fid}", headers={"Authorization": f"Bearer {key}"})
    etag = got.headers["ETag"]
    r = client.patch(
        f"/collections/streetlight/items/{fid}",
        json={"properties": {"name": "über die API"}},
        headers={"Authorization": f"Bearer {key}", "If-Match": etag, "Content-Type": "application/merge-patch+json"},
    )
    assert r.status_code in (200, 204), r.text
    assert r.headers["ETag"] != etag


def test_a_login_not_registered_here_cannot_write(setup, conn, db_url):
    """A netzatlas login of another database of the cluster (same group roles, no person row here)."""
    login, password = f"p_{uuid.uuid4().hex[:10]}", uuid.uuid4().hex
    conn.execute(f"CREATE ROLE {login} LOGIN PASSWORD '{password}' IN ROLE netzatlas_editor")
    conn.commit()
    fid = setup["ids"][setup["other"]]
    try:
        msg = refused(
            person_url(db_url, login, password), "NZ005", "DELETE FROM registry.streetlight WHERE id = %s", [fid]
        )
        assert "not registered in this database" in msg
        assert state(conn, fid)["name"] == f"Leuchte {setup['other']}"
    finally:
        conn.rollback()
        conn.execute(f"DROP ROLE {login}")
        conn.commit()


def test_sectors_of_own_sites_only(setup, conn):
    """Sectors (no name, no geometry) follow the same rule, and the message names them by their external id."""
    ids = {}
    for org in (setup["own"], setup["other"]):
        site = conn.execute(
            f"INSERT INTO registry.mobile_site (source, external_id, owner_org, geom) "
            f"VALUES (%s, %s, %s, {POINT}) RETURNING id",
            [setup["source"], f"site-{org}", org, 6.084, 50.776],
        ).fetchone()["id"]
        ids[org] = conn.execute(
            "INSERT INTO registry.mobile_sector (source, external_id, site_id, owner_org, "
            "azimuth_deg) VALUES (%s, %s, %s, %s, 0) RETURNING id",
            [setup["source"], f"sector-{org}", site, org],
        ).fetchone()["id"]
    conn.commit()
    with psycopg.connect(setup["url"]) as pc:
        assert (
            pc.execute(
                "UPDATE registry.mobile_sector SET azimuth_deg = 120 WHERE id = %s", [ids[setup["own"]]]
            ).rowcount
            == 1
        )
    msg = refused(
        setup["url"],
        "NZ002",
        "UPDATE registry.mobile_sector SET azimuth_deg = 240 WHERE id = %s",
        [ids[setup["other"]]],
    )
    assert f'"sector-{setup["other"]}" belongs to {setup["other"]}' in msg
    conn.rollback()
    got = {
        r["owner_org"]: r["azimuth_deg"]
        for r in conn.execute(
            "SELECT owner_org, azimuth_deg FROM registry.mobile_sector WHERE source = %s", [setup["source"]]
        )
    }
    assert got == {setup["own"]: 120, setup["other"]: 0}


def test_municipality_check_can_be_switched_off(setup, conn):
    """A region without a boundary, or a check switched off: registry.edit_area.enabled = false."""
    conn.execute("UPDATE registry.edit_area SET enabled = false")
    conn.commit()
    try:
        with psycopg.connect(setup["url"]) as pc:
            row = pc.execute(
                f"INSERT INTO registry.streetlight (name, geom) VALUES ('fern', {POINT}) RETURNING id", [7.5, 50.775]
            ).fetchone()
            pc.rollback()
        assert row is not None
    finally:
        conn.execute("UPDATE registry.edit_area SET enabled = true")
        conn.commit()
