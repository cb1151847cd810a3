"""The embedded database: lifecycle through the CLI, URL override, and clear errors when parts are missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from netzatlas.config import Settings
from netzatlas.errors import MissingDependency
from netzatlas.registry import localdb

ROOT = Path(__file__).resolve().parent.parent


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "netzatlas.cli.main", *args], capture_output=True, text=True,
                          env={**os.environ, **env}, cwd=ROOT, timeout=180)


@pytest.fixture
def own_home(tmp_path: Path):
    env = {"NETZATLAS_HOME": str(tmp_path / "home"), "NETZATLAS_DB_PORT": "54359", "NETZATLAS_DATABASE_URL": ""}
    yield env
    _cli("db", "reset", "--yes", env=env)


def test_start_status_url_stop_reset(own_home):
    res = _cli("db", "start", env=own_home)
    assert res.returncode == 0, res.stderr
    assert "database ready" in res.stdout
    status = _cli("db", "status", "--json", env=own_home)
    assert '"running": true' in status.stdout
    url = _cli("db", "url", "--show-password", env=own_home).stdout.strip()
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT postgis_lib_version()").fetchone()[0].startswith("3")
        assert conn.execute("SELECT count(*) FROM registry.vl_status").fetchone()[0] == 5
    # starting again is harmless; the server runs unprivileged when we are root
    assert _cli("db", "start", env=own_home).returncode == 0
    if os.geteuid() == 0:
        owner = subprocess.run(["ps", "-o", "user=", "-C", "postgres"], capture_output=True, text=True).stdout
        assert "root" not in owner.split()
    assert "stopped" in _cli("db", "stop", env=own_home).stdout
    assert '"running": false' in _cli("db", "status", "--json", env=own_home).stdout
    assert _cli("db", "reset", "--yes", env=own_home).returncode == 0
    assert '"initialised": false' in _cli("db", "status", "--json", env=own_home).stdout


def test_database_url_points_elsewhere(db_url):
    s = Settings(database_url=db_url)
    assert localdb.database_url(s) == db_url


def test_missing_server_gives_install_command(monkeypatch):
    monkeypatch.setattr(localdb, "find_installations", lambda: [])
    with pytest.raises(MissingDependency) as info:
        localdb.pick_installation()
    assert "apt-get install postgresql" in str(info.value) and "scripts/setup.sh" in str(info.value)


def test_missing_postgis_names_the_package(monkeypatch):
    monkeypatch.setattr(localdb, "find_installations",
                        lambda: [localdb.PgInstall(17, Path("/usr/lib/postgresql/17/bin"), False)])
    with pytest.raises(MissingDependency) as info:
        localdb.pick_installation()
    assert "sudo apt-get install postgresql-17-postgis-3" in str(info.value)


def test_port_in_use_is_reported(tmp_path):
    import socket

    from netzatlas.errors import DatabaseUnavailable

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        cluster = localdb.LocalCluster(Settings(home=tmp_path / "h", db_port=port))
        try:
            with pytest.raises(DatabaseUnavailable, match="used by another program"):
                cluster.start()
        finally:
            cluster.reset()
