"""``netzatlas keys``: org-add, create (shown once, only a salted hash stored), list (never the secret), revoke;
the key printed by the command works against the API until it is revoked."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

KEY = re.compile(r"\bna_([0-9a-f]{8})_(\S+)")


@pytest.fixture(scope="module")
def cli(db_url, api_data):
    from netzatlas.cli.main import app

    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, list(args), catch_exceptions=False)

    return run


@pytest.fixture(scope="module")
def created(cli) -> tuple[str, str, str]:
    """(full key, prefix, secret) of a key made by the command for a new organization."""
    res = cli("keys", "org-add", "wasserwerk", "Wasserwerk Test GmbH")
    assert res.exit_code == 0, res.output
    res = cli("keys", "create", "--org", "wasserwerk", "--scope", "read", "--scope", "write:streetlight",
              "--name", "cli test")
    assert res.exit_code == 0, res.output
    m = KEY.search(res.output)
    assert m, res.output
    return m.group(0), m.group(1), m.group(2)


def test_create_stores_only_a_salted_hash(created, conn):
    key, prefix, secret = created
    row = conn.execute("SELECT org, name, scopes, salt, key_hash, revoked_at FROM registry.api_key WHERE prefix = %s",
                       [prefix]).fetchone()
    assert row["org"] == "wasserwerk" and row["name"] == "cli test"
    assert row["scopes"] == ["read", "write:streetlight"] and row["revoked_at"] is None
    assert secret not in str(dict(row)) and len(row["key_hash"]) == 64 and row["salt"]


def test_list_shows_the_prefix_never_the_secret(cli, created):
    _, prefix, secret = created
    res = cli("keys", "list")
    assert res.exit_code == 0 and prefix in res.output and "wasserwerk" in res.output
    assert secret not in res.output


@pytest.mark.parametrize("args,message", [
    (("--org", "wasserwerk", "--scope", "write:nonsense"), "unknown scope"),
    (("--org", "wasserwerk", "--scope", "superuser"), "unknown scope"),
    (("--org", "nobody", "--scope", "read"), "unknown organization"),
])
def test_create_refuses_bad_scopes_and_organizations(cli, args, message):
    res = cli("keys", "create", *args)
    assert res.exit_code == 2 and message in res.output
    assert not KEY.search(res.output)


def test_the_printed_key_works_until_revoked(cli, created, client):
    key, prefix, _ = created
    h = {"Authorization": f"Bearer {key}"}
    assert client.get("/collections/fibre_address/items?limit=1", headers=h).status_code == 200   # read scope
    assert "POST" in client.options("/collections/streetlight/items", headers=h).headers["allow"]
    assert "POST" not in client.options("/collections/charging_point/items", headers=h).headers["allow"]
    res = cli("keys", "revoke", prefix)
    assert res.exit_code == 0 and "revoked" in res.output
    r = client.get("/collections/fibre_address/items?limit=1", headers=h)
    assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")
    res = cli("keys", "revoke", prefix)                      # revoking twice says so
    assert res.exit_code == 2 and "no active key" in res.output
