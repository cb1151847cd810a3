"""The benchmarks' database helper: NETZATLAS_BENCH_DATABASE_URL in either libpq form gives a URL the migrations
(SQLAlchemy) can parse, pointing at the benchmark database."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from bench._db import url_with_dbname
from netzatlas.registry.migrate import sqlalchemy_url


@pytest.mark.parametrize("given,expected", [
    ("postgresql://u:p%40x@127.0.0.1:5432/postgres?sslmode=disable",
     "postgresql://u:p%40x@127.0.0.1:5432/bench?sslmode=disable"),
    ("host=127.0.0.1 port=5432 user=u password=p@x dbname=postgres", "postgresql://u:p%40x@127.0.0.1:5432/bench"),
    ("host=/var/run/postgresql user=postgres", "postgresql://postgres@/bench?host=%2Fvar%2Frun%2Fpostgresql"),
])
def test_bench_url_keeps_server_and_credentials(given, expected):
    url = url_with_dbname(given, "bench")
    assert url == expected
    parsed = make_url(sqlalchemy_url(url))
    assert parsed.database == "bench" and parsed.username in ("u", "postgres")


def test_bench_url_works_against_the_test_server(db_url):
    import psycopg

    kv = psycopg.conninfo.make_conninfo(db_url)  # the key=value form that broke the migrations
    url = url_with_dbname(kv, psycopg.conninfo.conninfo_to_dict(db_url)["dbname"])
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT 1").fetchone()[0] == 1
    from netzatlas.registry import migrate

    assert migrate.current_revision(url) == migrate.head_revision()
