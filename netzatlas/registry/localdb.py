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
        }


def database_url(settings: Settings | None = None, *, start: bool = True) -> str:
    """The URL everything uses: ``NETZATLAS_DATABASE_URL`` if set, else the embedded cluster."""
    settings = settings or get_settings()
    if settings.database_url:
        return settings.database_url
    cluster = LocalCluster(settings)
    if start:
        return cluster.start()
    return cluster.url()
