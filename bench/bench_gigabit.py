"""Gigabit classification benchmark: the user's command end to end, beside the statement and the bare aggregate.

At 250,000 and 1,000,000 addresses with 3 supply rows each (the real Aachen and Essen address points repeated with
small offsets), it measures
- the bare aggregate: one ``GROUP BY address`` pass over the supply table with max down/up (the lower bound);
- the classification statement alone (``CREATE TEMP TABLE … AS``, its planner settings, statement building included);
- ``netzatlas gigabit classify`` and ``netzatlas gigabit classify --snapshot X`` as the user runs them: a subprocess
  of the installed command, wall-clock seconds and the peak resident memory of that process (``os.wait4``).
Everything runs at the settings the product ships with: the embedded cluster's postgresql.conf (work_mem 32 MB …)
and the statement's own transaction-local settings (``classify_sql.SETTINGS``); the benchmark sets nothing else.

Database: ``NETZATLAS_BENCH_DATABASE_URL`` (an existing PostGIS server; a database is created there), otherwise a
cluster of the project's own kind on a free port in a temporary directory, removed at the end (no files are left).
Run: ``.venv/bin/python bench/bench_gigabit.py [--sizes 250000,1000000]``
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import psycopg  # noqa: E402
import pyogrio  # noqa: E402
from psycopg.rows import dict_row  # noqa: E402

from bench._db import fresh_database, temporary_cluster, url_with_dbname  # noqa: E402
from netzatlas.gigabit.classify_sql import apply_settings, classification_sql  # noqa: E402
from netzatlas.gigabit.programmes import load_programme  # noqa: E402
from netzatlas.registry import migrate  # noqa: E402
from netzatlas.registry.importers.osm import read_osm  # noqa: E402

SIZES = (250_000, 1_000_000)
PROGRAMME = "gigabit-rl-2.0-2024"
REF = date(2026, 11, 26)
_STEM = "hauskoordinaten_essen_2022-10-05_4326"
ESSEN = f"/vsizip/{ROOT}/data/essen/{_STEM}.zip/{_STEM}.geojson"
TIERS = [("Vodafone", "docsis31", 1000, 50), ("Telekom", "fttc_vdsl", 100, 40), ("NetAachen", "fttb", 1000, 500),
         ("Telekom", "supervectoring", 250, 40), ("Telekom", "adsl", 16, 1), ("Vodafone", "docsis30", 400, 25)]
BARE = "SELECT address_id, max(down_mbps) AS d, max(up_mbps) AS u FROM registry.broadband_supply GROUP BY address_id"


def base_points() -> np.ndarray:
    a = read_osm(ROOT / "data/aachen/osm/aachen-2021-08-01.osm.pbf", layers=["fibre_address"])["fibre_address"]
    e = pyogrio.read_dataframe(ESSEN)
    g = pd.concat([a.geometry.to_crs(25832), e.geometry.to_crs(25832)], ignore_index=True)
    return np.c_[g.x.to_numpy(), g.y.to_numpy()]


def load(url: str, n: int, pts: np.ndarray) -> None:
    """``n`` addresses and ``3 n`` supply rows by COPY (set-up only: history triggers off)."""
    rng = np.random.default_rng(1)
    reps = int(np.ceil(n / len(pts)))
    xy = np.concatenate([pts + rng.normal(0, 3, pts.shape) + [i * 50_000, 0] for i in range(reps)])[:n]
    buf = io.StringIO()
    pd.DataFrame({"e": [f"{i:08d}" for i in range(n)],
                  "g": [f"SRID=25832;POINT({x:.2f} {y:.2f})" for x, y in xy]}).to_csv(buf, index=False, header=False)
    with psycopg.connect(url) as c:
        c.execute("SET session_replication_role = replica")
        with c.cursor() as cur, cur.copy("COPY registry.fibre_address (external_id, geom) FROM STDIN (FORMAT csv)") \
                as cp:
            cp.write(buf.getvalue().encode())
        c.commit()
        aid = [r[0] for r in c.execute("SELECT id FROM registry.fibre_address ORDER BY external_id").fetchall()]
        k = rng.integers(0, len(TIERS), size=(n, 3))
        rows = io.StringIO()
        for j in range(3):  # a cable or fibre row, a DSL row, and a third (fibre / plan) row
            t = np.array(TIERS, dtype=object)[k[:, j]]
            planned = (j == 2) & (rng.random(n) < 0.2)
            pd.DataFrame({"address_id": aid, "operator": t[:, 0], "technology": t[:, 1], "down": t[:, 2],
                          "up": t[:, 3], "status": np.where(planned, "planned", "available"),
                          "planned_date": np.where(planned, "2028-06-01", ""),
                          "binding": np.where(planned, rng.random(n) < 0.5, False),
                          "external_id": [f"s{j}-{i}" for i in range(n)]}).to_csv(rows, index=False, header=False)
        with c.cursor() as cur, cur.copy("COPY registry.broadband_supply (address_id, operator, technology, down_mbps, "
                                         "up_mbps, status, planned_date, binding, external_id) FROM STDIN "
                                         "(FORMAT csv)") as cp:
            cp.write(rows.getvalue().encode())
        c.commit()
        c.autocommit = True
        c.execute("VACUUM ANALYZE registry.fibre_address")
        c.execute("VACUUM ANALYZE registry.broadband_supply")


def timed_statement(url: str, query: str | None, runs: int = 3, settings: bool = True) -> float:
    """Best of ``runs``: the statement written to a temporary table (building the classification's statement —
    technologies, operators, hash lookups — included)."""
    best = float("inf")
    programme = load_programme(PROGRAMME)
    with psycopg.connect(url) as c:
        for _ in range(runs):
            c.execute("DROP TABLE IF EXISTS _bench_out")
            c.commit()
            t = time.perf_counter()
            params: dict = {}
            q = query
            if q is None:
                q, params = classification_sql(c, programme, REF)
            if settings:
                apply_settings(c)
            c.execute(f"CREATE TEMP TABLE _bench_out AS {q}", params)
            c.commit()
            best = min(best, time.perf_counter() - t)
        c.execute("DROP TABLE IF EXISTS _bench_out")
        c.commit()
    return best


class BackendMemory:
    """Samples, every 20 ms, the memory of the server processes serving connections named ``app`` (and their
    parallel workers) from /proc: the peak of their summed private memory (RssAnon: work_mem, hash tables) and the
    leader's peak resident size (VmHWM, which also counts the shared buffers it touched). Works when the server
    runs on this machine (the benchmark's own cluster); otherwise the figures stay empty."""

    def __init__(self, url: str, app: str) -> None:
        self.url, self.app = url, app
        self.private_mb = float("nan")
        self.hwm_mb = float("nan")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> BackendMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @staticmethod
    def _status(pid: int) -> dict[str, float]:
        try:
            lines = Path(f"/proc/{pid}/status").read_text().splitlines()
        except OSError:
            return {}
        return {k: int(v.split()[0]) / 1024 for k, v in (ln.split(":", 1) for ln in lines)
                if k in ("RssAnon", "VmHWM")}

    def _run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as c:
            while not self._stop.is_set():
                rows = c.execute("SELECT pid, leader_pid IS NOT NULL AND leader_pid <> pid FROM pg_stat_activity "
                                 "WHERE application_name = %(a)s OR leader_pid IN (SELECT pid FROM pg_stat_activity "
                                 "WHERE application_name = %(a)s)", {"a": self.app}).fetchall()
                private, hwm = 0.0, float("nan")
                for pid, worker in rows:
                    st = self._status(pid)
                    private += st.get("RssAnon", 0.0)
                    if not worker and "VmHWM" in st:
                        hwm = st["VmHWM"]
                if rows:
                    self.private_mb = private if self.private_mb != self.private_mb else max(self.private_mb, private)
                    if hwm == hwm:
                        self.hwm_mb = hwm if self.hwm_mb != self.hwm_mb else max(self.hwm_mb, hwm)
                self._stop.wait(0.02)


def run_command(url: str, args: list[str]) -> tuple[float, float, float, float]:
    """The installed ``netzatlas`` command as a user runs it: (seconds, peak RSS of the process in MB, peak private
    memory of its server backend and workers in MB, the backend's peak resident size in MB).

    The process's peak is measured by /usr/bin/time (GNU time, ``%M``) around the command: the maximum RSS that
    ``wait4`` reports for a child of this process would include this benchmark's own memory (the child starts as a
    fork of it, and Linux keeps the high-water mark across exec). Without GNU time the figure is left out."""
    exe = Path(sys.executable).with_name("netzatlas")
    app = f"netzatlas-bench-{os.getpid()}"
    env = {**os.environ, "NETZATLAS_DATABASE_URL": url, "COLUMNS": "120", "PGAPPNAME": app}
    gnu_time = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    with tempfile.NamedTemporaryFile(prefix="netzatlas-bench-time-", suffix=".txt") as rss, \
            BackendMemory(url, app) as backend:
        cmd = [str(exe), *args]
        if gnu_time:
            cmd = [gnu_time, "-f", "%M", "-o", rss.name, *cmd]
        t = time.perf_counter()
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
        seconds = time.perf_counter() - t
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}):\n"
                               f"{proc.stdout.decode(errors='replace')[-2000:]}")
        text = Path(rss.name).read_text().strip().splitlines() if gnu_time else []
    return (seconds, (int(text[-1]) / 1024 if text else float("nan")),  # %M is in kB
            backend.private_mb, backend.hwm_mb)


PHASES = (("CREATE TABLE", "statement written as the partition (CREATE TABLE AS)"),
          ("ALTER TABLE registry.gigabit_classification ATTACH", "attach (snapshot foreign key checked)"),
          ("ALTER TABLE", "NOT NULL and partition bound checked"),
          ("SELECT class_de", "counts per class (one pass)"),
          ("INSERT INTO registry.result_run", "result_run recorded"))


_PHASE_SECONDS: dict[str, float] = {}


class _TimedCursor(psycopg.Cursor):
    """A cursor adding each statement's seconds to its phase in ``_PHASE_SECONDS``."""

    def execute(self, query, params=None, **kw):  # noqa: ANN001, ANN201 - psycopg's signature
        text = query if isinstance(query, str) else query.as_string(self.connection)
        label = next((name for prefix, name in PHASES if text.lstrip().startswith(prefix)),
                     "other statements (catalogue, statement building, snapshot row)")
        t = time.perf_counter()
        try:
            return super().execute(query, params, **kw)
        finally:
            _PHASE_SECONDS[label] = _PHASE_SECONDS.get(label, 0.0) + time.perf_counter() - t


def phases(url: str, snapshot: str) -> dict[str, float]:
    """The snapshot command's phases, in this process with the same functions (each SQL statement timed)."""
    from netzatlas.registry import gigabit_store

    out: dict[str, float] = {}
    t = time.perf_counter()
    conn = psycopg.connect(url, row_factory=dict_row, cursor_factory=_TimedCursor)
    _PHASE_SECONDS.clear()
    out["connect"] = time.perf_counter() - t
    t = time.perf_counter()
    programme = load_programme(PROGRAMME)
    out["programme loaded"] = time.perf_counter() - t
    try:
        gigabit_store.classify_snapshot(conn, snapshot, programme, REF)
        t = time.perf_counter()
        conn.commit()
        out.update(_PHASE_SECONDS)
        out["commit"] = time.perf_counter() - t
    finally:
        conn.close()
    return out


def plan_shape(url: str) -> str:
    """The top of the statement's plan at the shipped settings: one ``Gather`` over a ``Parallel Append`` of whole
    branches is what ``classify_sql`` aims for (each worker aggregates and classifies its own addresses)."""
    with psycopg.connect(url) as c:
        q, params = classification_sql(c, load_programme(PROGRAMME), REF)
        apply_settings(c)
        lines = [r[0].strip() for r in c.execute(f"EXPLAIN (COSTS off) {q}", params).fetchall()]
        c.rollback()
    nodes = [ln.removeprefix("->  ") for ln in lines if "Filter" not in ln and "Key" not in ln]
    gathers = sum(ln.startswith("Gather") for ln in nodes)
    return f"{' > '.join(nodes[:3])} ({gathers} Gather node(s) in the plan)"


def measure(url: str, n: int) -> tuple[dict[str, tuple[float, ...]], dict[str, float]]:
    bare = min(timed_statement(url, BARE, settings=False), timed_statement(url, BARE, settings=True))
    statement = timed_statement(url, None)
    base = ["gigabit", "classify", "--programme", PROGRAMME, "--date", REF.isoformat()]
    plain = min((run_command(url, base) for _ in range(2)), key=lambda r: r[0])
    snap = min((run_command(url, [*base, "--snapshot", f"bench-{i}"]) for i in range(2)), key=lambda r: r[0])
    with psycopg.connect(url) as c:
        kept = c.execute("SELECT count(*) FROM registry.gigabit_classification WHERE snapshot_id = 'bench-1'"
                         ).fetchone()[0]
        run = c.execute("SELECT summary, created_by FROM registry.result_run WHERE kind = 'gigabit_snapshot' "
                        "AND key = 'bench-1'").fetchone()
    assert kept == n and run is not None and run[0]["addresses"] == n, (kept, n, run)
    return ({"bare aggregate pass (GROUP BY address, max down/up)": (bare,),
             "classification statement alone (CREATE TEMP TABLE AS)": (statement,),
             "netzatlas gigabit classify (command, no snapshot)": plain,
             "netzatlas gigabit classify --snapshot X (command)": snap},
            phases(url, "bench-phases"))


@contextmanager
def bench_server() -> Iterator[str | None]:
    """None with ``NETZATLAS_BENCH_DATABASE_URL`` (``fresh_database`` uses it); else a cluster of the project's own
    kind, with its shipped settings, on a free port in a temporary home, removed afterwards (no files left behind).
    Yields that cluster's maintenance URL."""
    if os.environ.get("NETZATLAS_BENCH_DATABASE_URL"):
        yield None
        return
    with temporary_cluster("netzatlas-bench-") as url:
        yield url


def database(admin: str | None, name: str) -> str:
    if admin is None:
        return fresh_database(name)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = url_with_dbname(admin, name)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    migrate.upgrade(url)
    return url


def drop(admin: str | None, name: str) -> None:
    target = admin or os.environ.get("NETZATLAS_BENCH_DATABASE_URL")
    if target:
        with psycopg.connect(target, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)), help="address counts, comma-separated")
    sizes = [int(s) for s in ap.parse_args().sizes.split(",")]
    pts = base_points()
    with bench_server() as admin:
        for n in sizes:
            name = f"netzatlas_bench_gigabit_{n}"
            url = database(admin, name)
            try:
                t = time.perf_counter()
                load(url, n, pts)
                with psycopg.connect(url) as c:
                    wm = c.execute("SHOW work_mem").fetchone()[0]
                print(f"\n{n:,} addresses, {3 * n:,} supply rows (set-up {time.perf_counter() - t:.0f} s; "
                      f"work_mem {wm} as shipped)")
                print(f"statement's plan: {plan_shape(url)}")
                res, phase = measure(url, n)
            finally:
                drop(admin, name)
            bare = res["bare aggregate pass (GROUP BY address, max down/up)"][0]
            print(f"{'':56}{'seconds':>9}{'x bare':>8}{'peak MB':>9}{'server':>9}{'srv HWM':>9}")
            for label, vals in res.items():
                sec, *mb = vals
                cells = "".join(f"{'' if m != m else f'{m:.0f}':>9}" for m in mb)
                print(f"{label:56}{sec:>9.2f}{sec / bare:>8.2f}{cells}")
            print("peak MB: the command's process (GNU time); server: peak private memory (RssAnon) of its server "
                  "backend and parallel workers together; srv HWM: the backend's peak resident size, shared "
                  "buffers it touched included")
            print("phases of the snapshot command (in-process, same functions, each statement timed):")
            for label, sec in phase.items():
                print(f"  {label:54}{sec:>9.2f}{sec / bare:>8.2f}")
            load1, _, _ = os.getloadavg()
            print(f"goal: the command with --snapshot <= 3x the bare aggregate, peak memory <= 1 GB "
                  f"(load average now {load1:.1f} on {os.cpu_count()} CPUs: other work on the machine slows the "
                  "parallel statement more than the serial bare pass)")


if __name__ == "__main__":
    main()
