"""Headless QGIS against a real netzatlas API on a fresh test database.

Run inside QGIS's Python (Debian's python3-qgis through the virtual environment that
``qgis_plugin/setup_qgis_venv.sh`` makes)::

    QT_QPA_PLATFORM=offscreen .venv-qgis/bin/python -m pytest tests/qgis

The session starts QgsApplication without a GUI (its own profile, settings and authentication database in a
temporary folder, so nothing of the user's QGIS is touched) and Processing; builds a small, fully known registry
with the project's own code in the project's virtual environment (tests/qgis/build_registry.py: a fresh migrated
database in the embedded test cluster, fixture features, an API key made with ``netzatlas keys create``) and
runs ``netzatlas serve`` on a free loopback port against it.

The project's own virtual environment has no QGIS: there this folder is not collected, and
tests/test_qgis_suite.py runs it in the QGIS environment instead.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGIN_DIR = ROOT / "qgis_plugin"
PROJECT_PYTHON = os.environ.get("NETZATLAS_PYTHON", str(ROOT / ".venv" / "bin" / "python"))
ALGORITHMS = {"gigabit_classify", "gigabit_funding_areas", "mobile_coverage_holes", "mast_request_evaluation",
              "small_cell_screening", "wifi_priority", "wifi_siting", "charging_gaps", "charging_siting"}

if importlib.util.find_spec("qgis") is None:  # the project's .venv: tests/test_qgis_suite.py runs this folder
    collect_ignore_glob = ["test_*.py"]
else:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    _SANDBOX = Path(tempfile.mkdtemp(prefix="netzatlas-qgis-"))
    os.environ["QGIS_AUTH_DB_DIR_PATH"] = str(_SANDBOX / "auth")
    os.environ["XDG_CONFIG_HOME"] = str(_SANDBOX / "config")  # QgsSettings of this process only
    (_SANDBOX / "auth").mkdir()
    sys.path.insert(0, str(PLUGIN_DIR))
    sys.path.insert(0, "/usr/share/qgis/python/plugins")  # Processing


class FakeIface:
    """The few parts of QgisInterface the plugin touches, recording menu entries."""

    def __init__(self) -> None:
        self.menu: list[tuple[str, object]] = []
        self.messages: list[tuple[str, str]] = []
        self.canvas = None

    def mainWindow(self):  # noqa: N802, ANN201
        return None

    def mapCanvas(self):  # noqa: N802, ANN201
        """A real (offscreen) map canvas, made when first asked for."""
        if self.canvas is None:
            from qgis.gui import QgsMapCanvas

            self.canvas = QgsMapCanvas()
        return self.canvas

    def addPluginToMenu(self, menu: str, action) -> None:  # noqa: N802, ANN001
        self.menu.append((menu, action))

    def removePluginMenu(self, menu: str, action) -> None:  # noqa: N802, ANN001
        self.menu.remove((menu, action))

    def messageBar(self):  # noqa: N802, ANN201
        iface = self

        class Bar:
            def pushSuccess(self, title: str, text: str) -> None:  # noqa: N802
                iface.messages.append((title, text))

            pushWarning = pushInfo = pushCritical = pushSuccess  # noqa: N815

        return Bar()


@pytest.fixture(scope="session", autouse=True)
def qgis_app():
    """A headless QgsApplication with Processing, for the whole session."""
    from qgis.core import QgsApplication

    app = QgsApplication([], False, str(_SANDBOX / "profile"))
    app.initQgis()
    QgsApplication.authManager().setMasterPassword("netzatlas-test", True)
    from processing.core.Processing import Processing

    Processing.initialize()
    yield app
    # QGIS 3.22's exitQgis() may crash when headless after network use; tear down the sandbox only.
    shutil.rmtree(_SANDBOX, ignore_errors=True)


def pytest_sessionfinish(session, exitstatus):  # noqa: ANN001
    """Leave without QgsApplication.exitQgis(): Debian's QGIS 3.22 can segfault there, which would turn a green
    run red. Results and reports are written by now."""
    if importlib.util.find_spec("qgis") is not None and os.environ.get("NETZATLAS_QGIS_HARD_EXIT", "1") == "1":
        def leave() -> None:
            shutil.rmtree(_SANDBOX, ignore_errors=True)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(int(exitstatus))

        session.config.add_cleanup(leave)


def _project(*args: str, timeout: float = 300, env: dict | None = None) -> str:
    res = subprocess.run([PROJECT_PYTHON, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                         env={**os.environ, **(env or {})})
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{res.stdout[-2000:]}\n{res.stderr[-4000:]}")
    return res.stdout


@pytest.fixture(scope="session")
def registry() -> dict:
    """The fixture registry: {'url', 'dbname', 'key', 'request_id', 'counts': {collection: n}}."""
    out = _project(str(Path(__file__).with_name("build_registry.py")), "create")
    doc = json.loads(out.strip().splitlines()[-1])
    yield doc
    _project(str(Path(__file__).with_name("build_registry.py")), "drop", doc["dbname"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def api(registry, tmp_path_factory) -> str:
    """Base URL of a live ``netzatlas serve`` on the fixture registry."""
    port = _free_port()
    home = tmp_path_factory.mktemp("netzatlas-home")
    log = open(home / "serve.log", "w+b")  # noqa: SIM115 - read on failure
    env = {**os.environ, "NETZATLAS_DATABASE_URL": registry["url"], "NETZATLAS_HOME": str(home)}
    for var in ("QT_QPA_PLATFORM", "QGIS_AUTH_DB_DIR_PATH", "XDG_CONFIG_HOME"):
        env.pop(var, None)
    proc = subprocess.Popen([PROJECT_PYTHON, "-m", "netzatlas.cli.main", "serve", "--host", "127.0.0.1",
                             "--port", str(port), "--log-level", "warning"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(url + "/", timeout=2) as r:
                if r.status == 200:
                    break
        except (urllib.error.URLError, OSError):
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log.seek(0)
            raise RuntimeError("netzatlas serve did not start:\n" + log.read().decode(errors="replace")[-3000:])
        time.sleep(0.3)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def db_rows(registry: dict, query: str, *params: object) -> list[dict]:
    """Rows of a query on the fixture database, read with the project's environment (QGIS's Python has no
    database driver): what the plugin did, checked against what the database holds."""
    code = ("import json, sys, psycopg; from psycopg.rows import dict_row\n"
            "with psycopg.connect(sys.argv[1], row_factory=dict_row) as c:\n"
            "    print(json.dumps(c.execute(sys.argv[2], json.loads(sys.argv[3])).fetchall(), default=str))")
    out = _project("-c", code, registry["url"], query, json.dumps(list(params)), timeout=60)
    return json.loads(out.strip().splitlines()[-1])


def make_key(registry: dict, *scopes: str, org: str = "city") -> str:
    """Another API key on the fixture database, made with ``netzatlas keys create`` as an administrator does."""
    args = ["-m", "netzatlas.cli.main", "keys", "create", "--org", org, "--name", "qgis-tests-" + "-".join(scopes)]
    for scope in scopes:
        args += ["--scope", scope]
    out = _project(*args, timeout=120, env={"NETZATLAS_DATABASE_URL": registry["url"]})
    return next(line.strip() for line in out.splitlines() if line.strip().startswith("na_"))


def http_json(url: str, key: str | None = None, method: str = "GET") -> dict:
    """A plain request beside QGIS (to check what the plugin did against what the server holds)."""
    req = urllib.request.Request(url, method=method, headers={"Accept": "application/json",
                                                              **({"X-API-Key": key} if key else {})})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


@pytest.fixture(scope="session")
def plugin():
    """The plugin as QGIS starts it (classFactory → initGui), unloaded at the end of the session."""
    import netzatlas_qgis

    iface = FakeIface()
    p = netzatlas_qgis.classFactory(iface)
    p.initGui()
    yield p
    p.unload()


@pytest.fixture(scope="session")
def connected(plugin, api, registry):
    """The plugin connected as a user does it: key into the authentication database, URL and config saved."""
    from netzatlas_qgis.client import Client, store_key

    authcfg = store_key(registry["key"])
    client = Client(api, authcfg)
    assert client.test() == "ok"
    client.save()
    return client
