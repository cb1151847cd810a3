"""The embedded default database: a project-managed PostgreSQL + PostGIS cluster.

The cluster lives in the user's data directory (``NETZATLAS_HOME``/pgdata), listens on loopback only,
and authenticates with a generated password kept in ``NETZATLAS_HOME/db.secret``. PostgreSQL refuses
to run as root, so when invoked as root the server runs as an unprivileged system user (``postgres``
if it exists, else ``netzatlas``) and the cluster files live in ``/var/lib/netzatlas`` with a symlink
in ``NETZATLAS_HOME`` (root's home is not traversable for other users).
"""

from __future__ import annotations

import glob
import hashlib
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from netzatlas.config import Settings, get_settings
from netzatlas.errors import DatabaseUnavailable, MissingDependency

SERVICE_USERS = ("postgres", "netzatlas")
ROOT_CLUSTER_BASE = Path("/var/lib/netzatlas")
SETUP_HINT = "run `bash scripts/setup.sh` (it installs PostgreSQL and the matching PostGIS package)"
LISTEN_CONF = "netzatlas-listen.conf"  # listen_addresses and TLS for a team (netzatlas db listen)
HBA_BEGIN, HBA_END = "# netzatlas listen: begin", "# netzatlas listen: end"


@dataclass(frozen=True)
class PgInstall:
    """A PostgreSQL server installation found on this machine."""

    major: int
    bindir: Path
    has_postgis: bool

    @property
    def postgis_package(self) -> str:
        return f"postgresql-{self.major}-postgis-3"


def find_installations() -> list[PgInstall]:
    """PostgreSQL server installations, newest first (Debian layout, then PATH)."""
    found: list[PgInstall] = []
    for bindir in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        m = re.search(r"/postgresql/(\d+)/bin", bindir)
        if not m or not Path(bindir, "initdb").exists():
            continue
        major = int(m.group(1))
        ext = Path(f"/usr/share/postgresql/{major}/extension")
        found.append(PgInstall(major, Path(bindir), any(ext.glob("postgis*.control"))))
    if not found and shutil.which("pg_config"):
        bindir = Path(subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip())
        sharedir = subprocess.run(["pg_config", "--sharedir"], capture_output=True, text=True).stdout.strip()
        version = subprocess.run(["pg_config", "--version"], capture_output=True, text=True).stdout
        m = re.search(r"(\d+)", version)
        if m and (bindir / "initdb").exists():
            has = any(Path(sharedir, "extension").glob("postgis*.control"))
            found.append(PgInstall(int(m.group(1)), bindir, has))
    found.sort(key=lambda p: (p.has_postgis, p.major), reverse=True)
    return found


def pick_installation() -> PgInstall:
    """The installation to use; a clear error with the install command when none fits."""
    installs = find_installations()
    if not installs:
        raise MissingDependency(
            "PostgreSQL server binaries (initdb, pg_ctl) were not found",
            hint=f"{SETUP_HINT}, or: sudo apt-get install postgresql postgresql-$(ls /usr/lib/postgresql)-postgis-3",
        )
    best = installs[0]
    if not best.has_postgis:
        raise MissingDependency(
            f"PostgreSQL {best.major} is installed but the PostGIS extension is not",
            hint=f"sudo apt-get install {best.postgis_package}  (or {SETUP_HINT})",
        )
    return best


def _is_root() -> bool:
    return os.geteuid() == 0


def service_user() -> str | None:
    """The unprivileged user that runs the server when we are root (created if needed)."""
    if not _is_root():
        return None
    for name in SERVICE_USERS:
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    subprocess.run(
        ["useradd", "--system", "--home-dir", str(ROOT_CLUSTER_BASE), "--shell", "/usr/sbin/nologin", "netzatlas"],
        check=True,
    )
    return "netzatlas"


class LocalCluster:
    """The project-owned cluster for one ``NETZATLAS_HOME``."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self.home = Path(self.settings.home).expanduser().resolve()
        self.port = self.settings.db_port

    # -- paths -----------------------------------------------------------------------------------
    @property
    def link(self) -> Path:
        return self.home / "pgdata"

    @property
    def datadir(self) -> Path:
        """Where the cluster files are (outside root's home when running as root)."""
        if _is_root():
            digest = hashlib.sha1(str(self.home).encode()).hexdigest()[:12]
            return ROOT_CLUSTER_BASE / f"cluster-{digest}"
        return self.link

    @property
    def logfile(self) -> Path:
        return self.datadir / "server.log"

    @property
    def secret_file(self) -> Path:
        return self.home / "db.secret"

    def password(self) -> str:
        if not self.secret_file.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            self.secret_file.write_text(secrets.token_urlsafe(24))
            self.secret_file.chmod(0o600)
        return self.secret_file.read_text().strip()

    def url(self, dbname: str | None = None) -> str:
        s = self.settings
        return (
            f"postgresql://{quote(s.db_user)}:{quote(self.password())}@127.0.0.1:{self.port}/"
            f"{quote(dbname or s.db_name)}"
        )

    # -- running commands as the service user ----------------------------------------------------
    def _run(self, args: list[str], check: bool = True, **kw) -> subprocess.CompletedProcess[str]:
        user = service_user()
        if user:
            args = ["runuser", "-u", user, "--", *args]
        return subprocess.run(args, capture_output=True, text=True, check=check, **kw)

    def _chown(self, path: Path) -> None:
        user = service_user()
        if user:
            pw = pwd.getpwnam(user)
            for root, _dirs, files in os.walk(path):
                os.chown(root, pw.pw_uid, pw.pw_gid)
                for f in files:
                    os.chown(os.path.join(root, f), pw.pw_uid, pw.pw_gid)

    # -- lifecycle --------------------------------------------------------------------------------
    @property
    def initialised(self) -> bool:
        return (self.datadir / "PG_VERSION").exists()

    def init(self) -> None:
        """Create the cluster (initdb) with a password-protected superuser on loopback."""
        pg = pick_installation()
        self.home.mkdir(parents=True, exist_ok=True)
        self.datadir.parent.mkdir(parents=True, exist_ok=True)
        self.datadir.mkdir(mode=0o700, exist_ok=True)
        pwfile = self.datadir.parent / f".pw-{os.getpid()}"
        pwfile.write_text(self.password() + "\n")
        self._chown(self.datadir)
        self._chown(pwfile)
        try:
            res = self._run(
                [str(pg.bindir / "initdb"), "-D", str(self.datadir), "-U", self.settings.db_user,
                 f"--pwfile={pwfile}", "--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"],
                check=False,
            )
        finally:
            pwfile.unlink(missing_ok=True)
        if res.returncode != 0:
            raise DatabaseUnavailable(f"initdb failed: {res.stderr.strip() or res.stdout.strip()}")
        conf = self.datadir / "postgresql.conf"
        with conf.open("a") as fh:
            fh.write(
                "\n# netzatlas embedded defaults\n"
                "listen_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.datadir}'\n"
                "shared_buffers = 256MB\nwork_mem = 32MB\nmaintenance_work_mem = 256MB\n"
                "max_wal_size = 2GB\nmax_connections = 100\n"
                # not replicated: tables built in the transaction that creates them (a snapshot's or an operator's
                # partition, an index rebuilt after a bulk load) skip the WAL and are synced once at commit
                "wal_level = minimal\nmax_wal_senders = 0\n"
            )
        (self.datadir / "netzatlas.major").write_text(str(pg.major))
        if self.datadir != self.link:
            if self.link.is_symlink() or self.link.exists():
                self.link.unlink()
            self.link.symlink_to(self.datadir)

    def _bindir(self) -> Path:
        marker = self.datadir / "PG_VERSION"
        major = int(marker.read_text().strip()) if marker.exists() else None
        for inst in find_installations():
            if major is None or inst.major == major:
                return inst.bindir
        raise MissingDependency(
            f"the cluster in {self.datadir} was made by PostgreSQL {major}, which is no longer installed",
            hint=f"sudo apt-get install postgresql-{major} postgresql-{major}-postgis-3, or `netzatlas db reset`",
        )

    def is_running(self) -> bool:
        if not self.initialised:
            return False
        res = self._run([str(self._bindir() / "pg_ctl"), "-D", str(self.datadir), "status"], check=False)
        return res.returncode == 0

    def accepts_connections(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                pass
        except OSError:
            return False
        res = subprocess.run(
            [str(self._bindir() / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
            capture_output=True, text=True,
        )
        return res.returncode == 0

    def start(self, timeout_s: float = 60.0) -> str:
        """Start the cluster (creating it first if needed) and wait until it accepts connections."""
        if not self.initialised:
            self.init()
        if not self.is_running():
            if self._port_taken():
                raise DatabaseUnavailable(
                    f"port {self.port} on 127.0.0.1 is used by another program",
                    hint="set NETZATLAS_DB_PORT to a free port",
                )
            res = self._run(
                [str(self._bindir() / "pg_ctl"), "-D", str(self.datadir), "-l", str(self.logfile),
                 "-o", f"-p {self.port}", "-w", "-t", str(int(timeout_s)), "start"],
                check=False,
            )
            if res.returncode != 0:
                tail = self.log_tail()
                raise DatabaseUnavailable(f"the database did not start: {res.stderr.strip()}\n{tail}")
        deadline = time.monotonic() + timeout_s
        while not self.accepts_connections():
            if time.monotonic() > deadline:
                raise DatabaseUnavailable(f"the database did not accept connections within {timeout_s:.0f} s")
            time.sleep(0.2)
        self.ensure_database()
        return self.url()

    def _port_taken(self) -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def ensure_database(self, dbname: str | None = None) -> None:
        """Create the application database with PostGIS if missing."""
        import psycopg

        name = dbname or self.settings.db_name
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')
        with psycopg.connect(self.url(name), autocommit=True) as conn:
            try:
                conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            except psycopg.Error as exc:
                pg = pick_installation()
                raise MissingDependency(
                    f"PostGIS could not be enabled: {exc}", hint=f"sudo apt-get install {pg.postgis_package}"
                ) from exc

    def drop_database(self, dbname: str) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')

    def stop(self) -> bool:
        """Stop the cluster; False if it was not running."""
        if not self.is_running():
            return False
        self._run([str(self._bindir() / "pg_ctl"), "-D", str(self.datadir), "-m", "fast", "-w", "stop"])
        return True

    def reset(self) -> None:
        """Stop and delete the cluster with all its data."""
        self.stop()
        if self.datadir.exists():
            shutil.rmtree(self.datadir)
        if self.link.is_symlink():
            self.link.unlink()

    def status(self) -> dict[str, object]:
        return {
            "home": str(self.home),
            "datadir": str(self.datadir),
            "initialised": self.initialised,
            "running": self.is_running(),
            "port": self.port,
            "server_user": service_user() or pwd.getpwuid(os.geteuid()).pw_name,
            "listen": self.listening() or "loopback only",
        }

    # -- the team listener (docs/security.md) -----------------------------------------------------
    def listening(self) -> str | None:
        """``address, TLS, allowed networks`` when the cluster listens for a team, else None."""
        conf = self.datadir / LISTEN_CONF
        if not self.initialised or not conf.exists():
            return None
        m = re.search(r"^# netzatlas listen: (.*)$", conf.read_text(), re.M)
        return m.group(1) if m else None

    def listen(self, address: str, allow: list[str], cert: Path | None = None, key: Path | None = None) -> str:
        """Listen on ``address`` too: TLS only (``cert``/``key``, or a self-signed pair when None), password
        (scram-sha-256) logins of the netzatlas people from the ``allow`` networks only; restarts the cluster."""
        import ipaddress

        from netzatlas.errors import InvalidParameter

        try:
            ipaddress.ip_address(address)
            nets = [str(ipaddress.ip_network(a, strict=False)) for a in allow]
        except ValueError as exc:
            raise InvalidParameter(f"not an address or network: {exc}",
                                   hint="e.g. --address 0.0.0.0 --allow 10.20.0.0/16") from None
        if not nets:
            raise InvalidParameter("say which networks may connect", hint="--allow 10.20.0.0/16 (repeatable)")
        if not self.initialised:
            self.init()
        crt, pem = self.datadir / "netzatlas-server.crt", self.datadir / "netzatlas-server.key"
        if cert is None or key is None:
            res = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "825",
                                  "-subj", f"/CN={socket.gethostname()}", "-keyout", str(pem), "-out", str(crt)],
                                 capture_output=True, text=True, check=False)
            if res.returncode != 0:
                raise MissingDependency(f"openssl could not make a certificate: {res.stderr.strip()}",
                                        hint="sudo apt-get install openssl, or pass --tls-cert and --tls-key")
        else:
            try:
                shutil.copyfile(cert, crt)
                shutil.copyfile(key, pem)
            except OSError as exc:
                raise InvalidParameter(f"cannot read the certificate or key: {exc}") from None
        pem.chmod(0o600)
        self._chown(self.datadir)
        summary = f"{address}, TLS ({'given' if cert else 'self-signed'} certificate), from {' '.join(nets)}"
        listen_on = address if address in ("0.0.0.0", "::") else f"127.0.0.1, {address}"
        (self.datadir / LISTEN_CONF).write_text(
            f"# netzatlas listen: {summary}\n"
            f"listen_addresses = '{listen_on}'\nssl = on\n"
            f"ssl_cert_file = '{crt}'\nssl_key_file = '{pem}'\npassword_encryption = 'scram-sha-256'\n")
        rules = [f"hostssl all +netzatlas_viewer {n} scram-sha-256" for n in nets]
        self._write_hba(rules + ["host all all 0.0.0.0/0 reject", "host all all ::/0 reject"])
        self._include_listen_conf()
        self._chown(self.datadir)
        self.restart()
        return summary

    def listen_off(self) -> bool:
        """Back to loopback only (restarts a running cluster); False if it was not listening."""
        was = self.listening() is not None
        (self.datadir / LISTEN_CONF).unlink(missing_ok=True)
        if self.initialised:
            self._write_hba([])
            if self.is_running():
                self.restart()
        return was

    def restart(self) -> None:
        if self.is_running():
            self.stop()
        self.start()

    def _include_listen_conf(self) -> None:
        conf = self.datadir / "postgresql.conf"
        text = conf.read_text()
        line = f"include_if_exists = '{LISTEN_CONF}'"
        if line not in text:
            conf.write_text(text.rstrip("\n") + "\n" + line + "\n")

    def _write_hba(self, rules: list[str]) -> None:
        """Replace the netzatlas block at the end of pg_hba.conf (the loopback lines of initdb stay first)."""
        hba = self.datadir / "pg_hba.conf"
        text = re.sub(rf"\n?{HBA_BEGIN}.*?{HBA_END}\n?", "\n", hba.read_text(), flags=re.S).rstrip("\n") + "\n"
        if rules:
            text += "\n".join([HBA_BEGIN, *rules, HBA_END]) + "\n"
        hba.write_text(text)


def check_url(url: str) -> None:
    """ConfigError when ``url`` is no database URL libpq can read (a message instead of a traceback later)."""
    import psycopg

    from netzatlas.errors import ConfigError

    try:
        psycopg.conninfo.conninfo_to_dict(url.replace("postgresql+psycopg://", "postgresql://", 1))
    except psycopg.ProgrammingError:   # its message would repeat the text, a password too
        raise ConfigError("the database URL (NETZATLAS_DATABASE_URL) is not a URL PostgreSQL can read",
                          hint="write postgresql://user:password@host:5432/dbname, or unset it for the embedded "
                               "database") from None


def database_url(settings: Settings | None = None, *, start: bool = True) -> str:
    """The URL everything uses: ``NETZATLAS_DATABASE_URL`` if set, else the embedded cluster."""
    settings = settings or get_settings()
    if settings.database_url:
        check_url(settings.database_url)
        return settings.database_url
    cluster = LocalCluster(settings)
    if start:
        return cluster.start()
    return cluster.url()
