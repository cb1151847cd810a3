"""``netzatlas db listen``: a team connects over TLS as themselves; without TLS, or as the owner, they cannot.

Runs a cluster of its own (restarting the shared test cluster would cut every other test's connections). The
"remote" side is this machine's own non-loopback address: a connection to it comes from it (not from 127.0.0.1,
which the loopback rules of initdb let in), so it meets the rules the command wrote, as a colleague's would.
"""

from __future__ import annotations

import os
import socket
import uuid

import psycopg
import pytest
from typer.testing import CliRunner

from netzatlas.cli.main import app
from netzatlas.config import Settings, get_settings
from netzatlas.registry.localdb import LocalCluster

runner = CliRunner()


def _own_address() -> str | None:
    """A non-loopback IPv4 address of this machine, or None."""
    import fcntl
    import struct

    found = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("198.51.100.1", 9))  # no packet is sent: only the route's source address is looked up
            found.append(s.getsockname()[0])
        except OSError:
            pass
        for _index, name in socket.if_nameindex():  # machines without a route: each interface's address
            try:
                packed = fcntl.ioctl(s.fileno(), 0x8915, struct.pack("256s", name.encode()[:15]))  # SIOCGIFADDR
                found.append(socket.inet_ntoa(packed[20:24]))
            except OSError:
                continue
    try:
        found += [a[4][0] for a in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)]
    except OSError:
        pass
    return next((a for a in found if not a.startswith("127.") and a != "0.0.0.0"), None)


REMOTE = _own_address()
pytestmark = pytest.mark.skipif(REMOTE is None, reason="this machine has no non-loopback IPv4 address")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def team_cluster(tmp_path_factory):
    home = tmp_path_factory.mktemp("listen-home")
    env = {"NETZATLAS_HOME": str(home), "NETZATLAS_DB_PORT": str(_free_port()), "NETZATLAS_DATABASE_URL": ""}
    cluster = LocalCluster(Settings(home=home, db_port=int(env["NETZATLAS_DB_PORT"]), database_url=None))
    cluster.start()
    login, password = f"p_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    with psycopg.connect(cluster.url(), autocommit=True) as c:
        if c.execute("SELECT 1 FROM pg_roles WHERE rolname = 'netzatlas_viewer'").fetchone() is None:
            c.execute("CREATE ROLE netzatlas_viewer NOLOGIN")
        c.execute(f"CREATE ROLE {login} LOGIN PASSWORD '{password}' IN ROLE netzatlas_viewer")
    try:
        yield cluster, env, login, password
    finally:
        cluster.stop()


def cli(env: dict[str, str], *args: str):
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    get_settings.cache_clear()
    try:
        return runner.invoke(app, list(args), terminal_width=250)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        get_settings.cache_clear()


def connect(cluster: LocalCluster, user: str, password: str, sslmode: str) -> psycopg.Connection:
    return psycopg.connect(
        host=REMOTE,
        port=cluster.port,
        dbname=cluster.settings.db_name,
        user=user,
        password=password,
        sslmode=sslmode,
        connect_timeout=5,
    )


def test_listen_tls_people_only_then_off(team_cluster):
    cluster, env, login, password = team_cluster
    with pytest.raises(psycopg.OperationalError):  # off by default: loopback 127.0.0.1 only
        connect(cluster, login, password, "require")

    res = cli(env, "db", "listen", "--address", "0.0.0.0", "--allow", f"{REMOTE}/32", "--self-signed")
    assert res.exit_code == 0, res.output
    hba = (cluster.datadir / "pg_hba.conf").read_text()
    assert f"hostssl all +netzatlas_viewer {REMOTE}/32 scram-sha-256" in hba
    status = cli(env, "db", "status")
    assert status.exit_code == 0 and "0.0.0.0, TLS (self-signed certificate)" in status.output

    with connect(cluster, login, password, "require") as pc:  # a person, over TLS
        assert pc.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()[0] is True
        assert pc.execute("SELECT session_user").fetchone()[0] == login
    with pytest.raises(psycopg.OperationalError, match="no pg_hba.conf entry|reject"):  # without TLS: refused
        connect(cluster, login, password, "disable")
    with pytest.raises(psycopg.OperationalError):  # the owner (superuser) never from the network
        connect(cluster, cluster.settings.db_user, cluster.password(), "require")
    with psycopg.connect(cluster.url()) as owner:  # loopback stays as it was
        assert owner.execute("SELECT 1").fetchone()[0] == 1

    res = cli(env, "db", "listen", "--off")
    assert res.exit_code == 0, res.output
    assert "+netzatlas_viewer" not in (cluster.datadir / "pg_hba.conf").read_text()
    assert "loopback only" in cli(env, "db", "status").output
    with pytest.raises(psycopg.OperationalError):
        connect(cluster, login, password, "require")


@pytest.mark.parametrize(
    "args, message",
    [
        (["db", "listen", "--address", "0.0.0.0", "--allow", "10.0.0.0/8"], "TLS needs a certificate"),
        (["db", "listen", "--address", "here", "--allow", "10.0.0.0/8", "--self-signed"], "not an address"),
        (["db", "listen", "--address", "0.0.0.0", "--self-signed"], "which networks"),
    ],
)
def test_listen_refusals(team_cluster, args, message):
    _cluster, env, _login, _password = team_cluster
    res = cli(env, *args)
    assert res.exit_code == 2 and message in res.output
