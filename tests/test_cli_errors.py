"""The CLI turns a database refusal into a clear message and exit code 2, not a traceback."""

from __future__ import annotations

import psycopg
import pytest
import typer

from netzatlas.cli._common import friendly_errors


def test_a_database_refusal_is_a_message(conn, unique_source, capsys):
    @friendly_errors
    def write() -> None:
        conn.execute("INSERT INTO registry.streetlight (source, external_id, status) VALUES (%s, '1', 'kaputt')",
                     [unique_source])

    with pytest.raises(typer.Exit) as info:
        write()
    assert info.value.exit_code == 2
    err = capsys.readouterr().err
    assert "the database refused the write" in err and "'kaputt' is not in the value list" in err
    assert "Traceback" not in err
    conn.rollback()


def test_other_errors_still_surface(conn):
    @friendly_errors
    def broken() -> None:
        conn.execute("SELECT no_such_column FROM registry.streetlight")

    with pytest.raises(psycopg.errors.UndefinedColumn):
        broken()
    conn.rollback()


def test_a_value_the_database_cannot_store_is_a_message(conn, unique_source, capsys):
    """A NUL byte (or another value PostgreSQL refuses as data) in what a command writes: a message, exit 2."""
    @friendly_errors
    def write() -> None:
        conn.execute("INSERT INTO registry.streetlight (source, external_id, status) VALUES (%s, %s, 'active')",
                     [unique_source, "lamp\x00one"])

    with pytest.raises(typer.Exit) as info:
        write()
    assert info.value.exit_code == 2
    err = capsys.readouterr().err
    assert "the database refused the write" in err and "Traceback" not in err
    conn.rollback()
