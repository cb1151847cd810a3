"""The generated QGIS project in a headless QGIS, side by side with the same layers through OGC API Features.

    .venv/bin/python bench/bench_qgis_project.py           # the Aachen demo registry (imported once, minutes)

In one run, on the benches' own cluster (bench/_db.py) with the demo registry (``netzatlas.registry.demo``):

1. ``netzatlas users add`` an editor of the organization owning the most features of one asset layer,
   ``netzatlas qgis project`` for them, their password in a temporary PGPASSFILE;
2. Debian's QGIS (system python with python3-qgis, run as a subprocess of this file with ``--qgis-worker``):
   (a) open the project and render every checked layer to a 1600×1000 PNG over the municipality, seconds;
   (b) the same layers (same names, same styles) through QGIS's OAPIF provider from the netzatlas API, served
       in-process by this bench (uvicorn in a thread, one worker), rendered the same way, seconds;
   (c) 1,000 features renamed in ONE edit session of the project's layer (the asset layer and organization with
       the most features; the editor belongs to it): ``commitChanges()``, seconds. QGIS's postgres provider sends
       one UPDATE per feature, so the statement-level triggers (history, value lists, the people's guard with its
       municipality check, the kept extents) run once per feature: they are inside the figure.

What the figures leave out: QGIS's GUI (canvas refreshes, the layer tree panel, labels: there are none), a cold
database cache (the database is warmed by the project open first, the OAPIF run reads the same tables), the
network (loopback only), QGIS's feature cache (each run builds its layers anew, in a new project), and several
people editing at once (the row locks of a commit, the stale-version check's cost per row is inside (c)).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QGIS_PYTHON = os.environ.get("NETZATLAS_QGIS_PYTHON", "/usr/bin/python3")
SIZE = (1600, 1000)
EDITS = 1000
EDITABLE = ("fibre_address", "streetlight", "wlan_hotspot", "charging_point", "mobile_site")


# ------------------------------------------------------------------------------------------ inside QGIS
def _render(layers: list, extent, crs, path: str) -> float:  # noqa: ANN001
    from qgis.core import QgsMapRendererSequentialJob, QgsMapSettings
    from qgis.PyQt.QtCore import QSize
    from qgis.PyQt.QtGui import QColor

    settings = QgsMapSettings()
    settings.setLayers(layers)
    settings.setDestinationCrs(crs)
    settings.setOutputSize(QSize(*SIZE))
    settings.setBackgroundColor(QColor("white"))
    settings.setExtent(extent)
    t0 = time.perf_counter()
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    job.renderedImage().save(path)
    return time.perf_counter() - t0


def qgis_worker(args: dict) -> dict:
    """Runs in QGIS's python: the three measurements, as JSON on stdout."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from qgis.core import QgsApplication, QgsProject, QgsVectorLayer

    app = QgsApplication([], False)
    app.initQgis()
    out: dict = {}
    t0 = time.perf_counter()
    project = QgsProject()
    assert project.read(args["project"]), project.error()
    checked = project.layerTreeRoot().checkedLayers()
    assert all(layer.isValid() for layer in checked)
    out["open_s"] = time.perf_counter() - t0
    extent = project.mapLayer("netzatlas_municipality").extent()
    out["layers"] = [layer.customProperty("netzatlas/layer") for layer in checked]
    out["features"] = sum(layer.featureCount() for layer in checked)
    out["render_project_s"] = _render(checked, extent, project.crs(), args["folder"] + "/project.png")
    # the same layers through the API (same style: the project's renderer cloned onto the OAPIF layer)
    t0 = time.perf_counter()
    oapif = []
    for layer in checked:
        name = layer.customProperty("netzatlas/layer")
        uri = f"url='{args['api']}' typename='{name}' pagingEnabled='true' restrictToRequestBBOX='1'"
        remote = QgsVectorLayer(uri, name, "OAPIF")
        if not remote.isValid():
            out.setdefault("oapif_missing", []).append(name)
            continue
        remote.setRenderer(layer.renderer().clone())
        oapif.append(remote)
    out["open_oapif_s"] = time.perf_counter() - t0
    out["render_oapif_s"] = _render(oapif, extent, project.crs(), args["folder"] + "/oapif.png")
    out["oapif_layers"] = len(oapif)
    # 1,000 features edited in one session, one commit
    lamps = project.mapLayer(f"netzatlas_{args['layer']}")
    ids = [f.id() for f in lamps.getFeatures(f"\"owner_org\" = '{args['org']}'")][:EDITS]
    name_idx = lamps.fields().indexOf("name")
    assert lamps.startEditing()
    for n, fid in enumerate(ids):
        lamps.changeAttributeValue(fid, name_idx, f"bench {n}")
    t0 = time.perf_counter()
    ok = lamps.commitChanges()
    out["commit_s"] = time.perf_counter() - t0
    out["commit_ok"], out["edited"], out["edit_layer"] = ok, len(ids), args["layer"]
    out["commit_errors"] = [] if ok else lamps.commitErrors()[:3]
    return out


# ------------------------------------------------------------------------------------------ the bench
def _serve(url: str) -> tuple[str, object]:
    import socket

    import uvicorn

    from netzatlas.api.app import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(url), host="127.0.0.1", port=port, log_level="warning",
                                           workers=1))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.1)
    return f"http://127.0.0.1:{port}", server


def _cli(*args: str, env: dict[str, str]) -> None:
    res = subprocess.run([sys.executable, "-m", "netzatlas.cli.main", *args], cwd=ROOT, env={**os.environ, **env},
                         capture_output=True, text=True, timeout=600)
    if res.returncode != 0:
        raise SystemExit(f"netzatlas {' '.join(args)} failed:\n{res.stdout}\n{res.stderr}")


def main() -> None:
    from psycopg.conninfo import conninfo_to_dict

    from bench._db import fresh_database
    from netzatlas.registry.db import connect
    from netzatlas.registry.demo import import_all

    url = fresh_database("netzatlas_bench_qgis")
    t0 = time.perf_counter()
    import_all(url)
    print(f"demo registry imported in {time.perf_counter() - t0:.0f} s")
    with connect(url, autocommit=True) as conn:  # the asset layer and organization with the most features
        top = [(name, r["owner_org"], r["n"]) for name in EDITABLE for r in conn.execute(
            f"SELECT owner_org, count(*) AS n FROM registry.{name} WHERE deleted_at IS NULL AND owner_org IS NOT "
            "NULL GROUP BY 1 ORDER BY 2 DESC LIMIT 1")]
        layer, org, n = max(top, key=lambda t: t[2])
        conn.execute("VACUUM ANALYZE")
    print(f"edits: {layer} of {org} ({n:,} features)")
    login = f"bench_editor_{os.getpid()}"
    folder = Path(tempfile.mkdtemp(prefix="netzatlas-bench-qgis-"))
    password = secrets.token_urlsafe(18)
    (folder / "password").write_text(password)
    env = {"NETZATLAS_DATABASE_URL": url, "PGSERVICEFILE": str(folder / "pg_service.conf")}
    _cli("users", "add", login, "--org", org, "--role", "editor", "--password-file", str(folder / "password"),
         env=env)
    try:
        _cli("qgis", "project", str(folder / "registry.qgz"), "--service", "netzatlas_bench", "--user", login,
             env=env)
        db = conninfo_to_dict(url)
        pgpass = folder / "pgpass"
        pgpass.write_text(f"{db['host']}:{db['port']}:{db['dbname']}:{login}:{password}\n")
        pgpass.chmod(0o600)
        api, server = _serve(url)
        args = {"project": str(folder / "registry.qgz"), "folder": str(folder), "api": api, "org": org,
                "layer": layer}
        worker_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        worker_env.update(PGSERVICEFILE=env["PGSERVICEFILE"], PGPASSFILE=str(pgpass), QT_QPA_PLATFORM="offscreen")
        res = subprocess.run([QGIS_PYTHON, __file__, "--qgis-worker", json.dumps(args)], env=worker_env,
                             capture_output=True, text=True, timeout=3600)
        server.should_exit = True  # type: ignore[attr-defined]
        line = next((x for x in reversed(res.stdout.splitlines()) if x.startswith("{")), None)
        if res.returncode != 0 or line is None:
            raise SystemExit(f"QGIS worker failed:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}")
        report(json.loads(line), folder)
    finally:
        _cli("users", "remove", login, env=env)
        for secret in ("password", "pgpass"):  # the images stay for the user to look at; the login's secrets not
            (folder / secret).unlink(missing_ok=True)


def report(r: dict, folder: Path) -> None:
    print(f"\nheadless QGIS {SIZE[0]}×{SIZE[1]} PNG over the municipality, {len(r['layers'])} checked layers, "
          f"{r['features']:,} features (demo registry)")
    print(f"{'':34}{'project (PostGIS)':>20}{'OAPIF (netzatlas API)':>24}")
    print(f"{'open the layers, s':34}{r['open_s']:>20.2f}{r['open_oapif_s']:>24.2f}")
    print(f"{'render all layers to PNG, s':34}{r['render_project_s']:>20.2f}{r['render_oapif_s']:>24.2f}")
    total_p, total_o = r["open_s"] + r["render_project_s"], r["open_oapif_s"] + r["render_oapif_s"]
    print(f"{'total, s':34}{total_p:>20.2f}{total_o:>24.2f}   ratio {total_o / total_p:.1f}×")
    if r.get("oapif_missing"):
        print(f"  not served anonymously through OAPIF (left out of that column): {', '.join(r['oapif_missing'])}")
    state = "committed" if r["commit_ok"] else f"REFUSED: {r['commit_errors']}"
    print(f"\ncommit of {r['edited']:,} edited {r['edit_layer']} features (name) in one QGIS edit session (as an "
          "editor): "
          f"{r['commit_s']:.2f} s ({state}; {r['commit_s'] / max(r['edited'], 1) * 1000:.1f} ms per feature)")
    print(f"images: {folder / 'project.png'}  {folder / 'oapif.png'}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--qgis-worker"]:
        print(json.dumps(qgis_worker(json.loads(sys.argv[2]))), flush=True)
        os._exit(0)  # QGIS 3.22 may crash in exitQgis() when headless; the figures are out
    sys.path.insert(0, str(ROOT))
    main()
