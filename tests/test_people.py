"""People with their own login (``netzatlas users``): through the CLI, then connected AS the person."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from typer.testing import CliRunner

from netzatlas.cli.main import app

runner = CliRunner()


def person_url(db_url: str, login: str, password: str) -> str:
    """The test database's URL with the person's login."""
    params = psycopg.conninfo.conninfo_to_dict(db_url)
    return psycopg.conninfo.make_conninfo(**{**params, "user": login, "password": password})


def add_person(tmp_path, role: str, org: str) -> tuple[str, str]:
    """``netzatlas users add`` with a password file: (login, password)."""
    login = f"p_{uuid.uuid4().hex[:10]}"
    password = f"pw-{uuid.uuid4().hex}"
    pw_file = tmp_path / f"{login}.pw"
    pw_file.write_text(password + "\n")
    res = runner.invoke(app, ["users", "add", login, "--org", org, "--role", role, "--password-file", str(pw_file)])
    assert res.exit_code == 0, res.output
    return login, password


def drop_person(login: str) -> None:
    res = runner.invoke(app, ["users", "remove", login])
    assert res.exit_code == 0, res.output


def test_users_add_list_set_role_remove(db_url, conn, tmp_path):
    login = f"p_{uuid.uuid4().hex[:10]}"
    res = runner.invoke(app, ["users", "add", login, "--org", "city", "--role", "viewer", "--name", "Anna Test"])
    assert res.exit_code == 0, res.output
    password = [line for line in res.output.splitlines() if line.strip() and " " not in line.strip()][0].strip()
    assert len(password) >= 20  # generated, printed once
    row = conn.execute("SELECT org, role, full_name FROM registry.person WHERE login = %s", [login]).fetchone()
    assert row == {"org": "city", "role": "viewer", "full_name": "Anna Test"}
    roles = conn.execute(
        "SELECT r.rolcanlogin, r.rolsuper, array(SELECT g.rolname FROM pg_auth_members m JOIN "
        "pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid) AS groups FROM pg_roles r "
        "WHERE r.rolname = %s",
        [login],
    ).fetchone()
    assert roles["rolcanlogin"] and not roles["rolsuper"] and roles["groups"] == ["netzatlas_viewer"]
    with psycopg.connect(person_url(db_url, login, password)) as pc:  # the printed password works
        assert pc.execute("SELECT session_user").fetchone()[0] == login

    listed = runner.invoke(app, ["users", "list"], terminal_width=200)
    assert listed.exit_code == 0 and login in listed.output and "viewer" in listed.output

    res = runner.invoke(app, ["users", "set-role", login, "editor"])
    assert res.exit_code == 0, res.output
    conn.commit()
    groups = conn.execute(
        "SELECT array(SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
        "JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = %s) AS g",
        [login],
    ).fetchone()["g"]
    assert groups == ["netzatlas_editor"]
    assert conn.execute("SELECT role FROM registry.person WHERE login = %s", [login]).fetchone()["role"] == "editor"

    drop_person(login)
    conn.commit()
    assert conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [login]).fetchone() is None
    assert conn.execute("SELECT 1 FROM registry.person WHERE login = %s", [login]).fetchone() is None


@pytest.mark.parametrize(
    "args, message",
    [
        (["users", "add", "Anna!", "--org", "city"], "cannot be a login"),
        (["users", "add", "pg_anna", "--org", "city"], "cannot be a login"),
        (["users", "add", "anna_x", "--org", "no-such-org"], "no organization"),
        (["users", "add", "anna_y", "--org", "city", "--role", "boss"], "unknown role"),
        (["users", "set-role", "nobody_here", "editor"], "no person"),
    ],
)
def test_users_refusals_are_readable(db_url, args, message):
    res = runner.invoke(app, args, terminal_width=200)
    assert res.exit_code == 2 and message in res.output and "Traceback" not in res.output


def test_viewer_reads_public_layers_and_cannot_write(db_url, conn, tmp_path, unique_source):
    conn.execute(
        "INSERT INTO registry.streetlight (source, external_id, owner_org, geom) VALUES "
        "(%s, 'V1', 'city', ST_Transform(ST_SetSRID(ST_MakePoint(6.083, 50.775), 4326), 25832))",
        [unique_source],
    )
    conn.commit()
    login, password = add_person(tmp_path, "viewer", "city")
    try:
        with psycopg.connect(person_url(db_url, login, password)) as pc:
            n = pc.execute("SELECT count(*) FROM registry.streetlight WHERE source = %s", [unique_source]).fetchone()
            assert n[0] == 1
            assert pc.execute("SELECT count(*) FROM registry.vl_status").fetchone()[0] > 0
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                pc.execute("UPDATE registry.streetlight SET name = 'x' WHERE source = %s", [unique_source])
            pc.rollback()
            for confidential in (
                "candidate_site",
                "mast_request",
                "gigabit_result",
                "api_key",
                "broadband_supply",
                "gigabit_classification",
                "source_owner",
                "person",
            ):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    pc.execute(f"SELECT 1 FROM registry.{confidential} LIMIT 1")
                pc.rollback()
            with pytest.raises(psycopg.errors.InsufficientPrivilege):  # no history rows written by hand
                pc.execute(
                    "INSERT INTO audit.change (table_name, row_id, operation) "
                    "VALUES ('registry.streetlight', gen_random_uuid(), 'UPDATE')"
                )
        assert (
            conn.execute("SELECT name FROM registry.streetlight WHERE source = %s", [unique_source]).fetchone()["name"]
            is None
        )
    finally:
        drop_person(login)


def test_editor_cannot_write_results_value_lists_or_history(db_url, tmp_path):
    login, password = add_person(tmp_path, "editor", "city")
    try:
        with psycopg.connect(person_url(db_url, login, password)) as pc:
            for stmt in (
                "UPDATE registry.vl_status SET label_en = label_en",
                "DELETE FROM registry.result_run",
                "UPDATE registry.poi SET name = name",
                "INSERT INTO registry.organization (slug, name) VALUES ('evil', 'x')",
                "DELETE FROM audit.change",
            ):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    pc.execute(stmt)
                pc.rollback()
    finally:
        drop_person(login)
