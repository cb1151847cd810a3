"""Shared fixtures: a real PostgreSQL + PostGIS started by the project's own code.

The tests use an embedded cluster of their own (``NETZATLAS_TEST_HOME``, default
/tmp/netzatlas-test-home, port ``NETZATLAS_TEST_PORT`` 54339) and a throwaway database per test
session, migrated with alembic. Set ``NETZATLAS_TEST_DATABASE_URL`` to use an existing PostGIS
server instead (a database is created and dropped there).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"


def _cluster():
    from netzatlas.config import Settings
    from netzatlas.registry.localdb import LocalCluster

    home = os.environ.get("NETZATLAS_TEST_HOME", "/tmp/netzatlas-test-home")
    port = int(os.environ.get("NETZATLAS_TEST_PORT", "54339"))
    return LocalCluster(Settings(home=home, db_port=port, database_url=None))


@pytest.fixture(scope="session")
def db_url() -> Iterator[str]:
    """URL of a fresh, migrated test database (dropped after the session)."""
    import psycopg

    from netzatlas.config import get_settings
    from netzatlas.registry import migrate

    name = f"netzatlas_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    external = os.environ.get("NETZATLAS_TEST_DATABASE_URL")
    if external:
        base = psycopg.conninfo.conninfo_to_dict(external)
        with psycopg.connect(external, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = psycopg.conninfo.make_conninfo(**{**base, "dbname": name})
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        drop = lambda: _drop_external(external, name)  # noqa: E731
    else:
        cluster = _cluster()
        cluster.start()
        cluster.ensure_database(name)
        url = cluster.url(name)
        drop = lambda: cluster.drop_database(name)  # noqa: E731
    migrate.upgrade(url)
    old = os.environ.get("NETZATLAS_DATABASE_URL")
    os.environ["NETZATLAS_DATABASE_URL"] = url
    get_settings.cache_clear()
    try:
        yield url
    finally:
        if old is None:
            os.environ.pop("NETZATLAS_DATABASE_URL", None)
        else:
            os.environ["NETZATLAS_DATABASE_URL"] = old
        get_settings.cache_clear()
        drop()


def _drop_external(url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def conn(db_url: str):
    """A connection (dict rows) to the test database; rolled back after the test."""
    from netzatlas.registry.db import connect

    c = connect(db_url)
    try:
        yield c
    finally:
        c.rollback()
        c.close()


@pytest.fixture
def unique_source() -> str:
    """A source name no other test uses, so tests do not see each other's rows."""
    return f"test-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA
