"""A fresh, migrated benchmark database in the benchmarks' own embedded cluster (or NETZATLAS_BENCH_DATABASE_URL).

- ``NETZATLAS_BENCH_DATABASE_URL`` (an existing PostGIS server, URL or ``key=value`` form): a database is created
  there and its URL returned in URL form (the migrations need a URL, not libpq's ``key=value`` text).
- Otherwise the cluster in ``NETZATLAS_BENCH_HOME`` (default /tmp/netzatlas-bench-home) is used: on
  ``NETZATLAS_BENCH_PORT`` when set, else the port it already runs on, else a free port picked now.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote, urlencode

import psycopg

from netzatlas.config import Settings
from netzatlas.registry import migrate
from netzatlas.registry.localdb import LocalCluster


def url_with_dbname(url: str, name: str) -> str:
    """The same server and credentials with another database, as a ``postgresql://`` URL."""
    params = psycopg.conninfo.conninfo_to_dict(url)
    params.pop("dbname", None)
    user, password = params.pop("user", None), params.pop("password", None)
    host, port = params.pop("host", None), params.pop("port", None)
    auth = ""
    if user:
        auth = quote(str(user), safe="") + (f":{quote(str(password), safe='')}" if password else "") + "@"
    netloc = ""
    if host and not str(host).startswith("/") and "," not in str(host):
        netloc = f"{auth}{host}" + (f":{port}" if port else "")
    else:  # a socket directory or several hosts: as query parameters
        netloc = auth
        if host:
            params["host"] = host
        if port:
            params["port"] = port
    query = urlencode({k: str(v) for k, v in params.items()})
    return f"postgresql://{netloc}/{quote(name)}" + (f"?{query}" if query else "")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_cluster() -> LocalCluster:
    """The benchmarks' own cluster, on a port that is free or already its own."""
    home = os.environ.get("NETZATLAS_BENCH_HOME", "/tmp/netzatlas-bench-home")
    if os.environ.get("NETZATLAS_BENCH_PORT"):
        return LocalCluster(Settings(home=home, db_port=int(os.environ["NETZATLAS_BENCH_PORT"]), database_url=None))
    probe = LocalCluster(Settings(home=home, db_port=54349, database_url=None))
    pidfile = probe.datadir / "postmaster.pid"
    try:
        lines = pidfile.read_text().splitlines()
        port = int(lines[3]) if probe.is_running() and len(lines) > 3 else _free_port()
    except (OSError, ValueError):
        port = _free_port()
    return LocalCluster(Settings(home=home, db_port=port, database_url=None))


def fresh_database(name: str = "netzatlas_bench") -> str:
    external = os.environ.get("NETZATLAS_BENCH_DATABASE_URL")
    if external:
        with psycopg.connect(external, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        url = url_with_dbname(external, name)
    else:
        cluster = bench_cluster()
        cluster.start()
        cluster.drop_database(name)
        cluster.ensure_database(name)
        url = cluster.url(name)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    migrate.upgrade(url)
    return url


@contextmanager
def temporary_cluster(prefix: str = "netzatlas-bench-") -> Iterator[str]:
    """A cluster of the project's own kind with its shipped settings, on a free port in a temporary home that is
    removed afterwards (no files left behind); yields its maintenance URL."""
    home = tempfile.mkdtemp(prefix=prefix)
    cluster = LocalCluster(Settings(home=home, db_port=_free_port(), database_url=None))
    try:
        cluster.start()
        yield cluster.url("postgres")
    finally:
        try:
            cluster.reset()
        finally:
            shutil.rmtree(home, ignore_errors=True)
