"""A fresh, migrated benchmark database in the project's embedded cluster (or NETZATLAS_BENCH_DATABASE_URL)."""

from __future__ import annotations

import os

import psycopg

from netzatlas.config import Settings
from netzatlas.registry import migrate
from netzatlas.registry.localdb import LocalCluster


def fresh_database(name: str = "netzatlas_bench") -> str:
    external = os.environ.get("NETZATLAS_BENCH_DATABASE_URL")
    if external:
        with psycopg.connect(external, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        base = psycopg.conninfo.conninfo_to_dict(external)
        url = psycopg.conninfo.make_conninfo(**{**base, "dbname": name})
    else:
        home = os.environ.get("NETZATLAS_BENCH_HOME", "/tmp/netzatlas-bench-home")
        cluster = LocalCluster(Settings(home=home, db_port=int(os.environ.get("NETZATLAS_BENCH_PORT", "54349"))))
        cluster.start()
        cluster.drop_database(name)
        cluster.ensure_database(name)
        url = cluster.url(name)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    migrate.upgrade(url)
    return url
