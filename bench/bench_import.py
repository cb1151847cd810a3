"""Import benchmark, measured as a user runs it: ``netzatlas import file`` in its own process (start-up, reading
the file, validation, transform, upsert, version + history triggers), side by side with a raw COPY loader end to end
(read the same file, transform, EWKB, CSV, COPY into an unindexed table; also its own process) and GDAL's
``ogr2ogr`` from the same file into the same PostGIS with the same CRS transform and a spatial index (GiST, built
after the COPY, as ogr2ogr does). Two inputs: the 102,981 real Essen address points (zipped GeoJSON) and a generated
file of 1,000,000 points (GeoPackage). Seconds (wall clock), rows/s, CPU seconds of the process itself (the
database server's work is in the wall clock only) and peak memory (max RSS) of each process.

Run: .venv/bin/python bench/bench_import.py [--points N]   (N default 1,000,000; 0 skips the large file)
Database: the benchmarks' own cluster on a free port, or NETZATLAS_BENCH_DATABASE_URL (see bench/_db.py). The
generated file lives in a temporary folder that is removed at the end.
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
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BOUNDARY = str(ROOT / "data/germany/VG250_GEM_simplified.zip")
ESSEN_ARS = "051130000000"
os.environ.setdefault("NETZATLAS_MUNICIPALITY_BOUNDARY", BOUNDARY)
os.environ.setdefault("NETZATLAS_MUNICIPALITY_ARS", ESSEN_ARS)

ESSEN = ROOT / "data/essen/hauskoordinaten_essen_2022-10-05_4326.zip"
ESSEN_GDAL = f"/vsizip/{ESSEN}/hauskoordinaten_essen_2022-10-05_4326.geojson"
ESSEN_MAP = ["--map", "external_id=objectid", "--map", "street=strname", "--map", "house_number=hsnr",
             "--map", "house_number_suffix=hsnrzu"]
GOAL_SHARE_OF_OGR = 0.60
GOAL_PEAK_MB_1M = 1500


@dataclass
class Run:
    label: str
    seconds: float
    rows: int
    peak_mb: float
    cpu: float = 0.0
    server_cpu: float | None = None

    @property
    def cpu_rate(self) -> float | None:
        """Rows per CPU second of the process and the server's backends together."""
        return self.rows / (self.cpu + self.server_cpu) if self.server_cpu is not None else None

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


class ServerCPU:
    """CPU seconds the database server's client backends spent while a child ran (utime + stime from /proc, polled
    every 0.1 s; only where the server runs on this machine, else None). A shared machine stretches the wall clock
    with the load; the CPU seconds of client and server show the work itself."""

    def __init__(self, url: str) -> None:
        self.url, self.seen, self._stop = url, {}, threading.Event()

    def _poll(self) -> None:
        import psycopg

        tick = os.sysconf("SC_CLK_TCK")
        with psycopg.connect(self.url, autocommit=True) as conn:
            me = conn.info.backend_pid
            while not self._stop.is_set():
                pids = [r[0] for r in conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> %s "
                    "AND backend_type = 'client backend'", [me]).fetchall()]
                for pid in pids:
                    try:
                        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                    except OSError:
                        continue
                    self.seen[pid] = max(self.seen.get(pid, 0.0), (int(fields[11]) + int(fields[12])) / tick)
                self._stop.wait(0.1)

    def __enter__(self) -> ServerCPU:
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def seconds(self) -> float | None:
        return sum(self.seen.values()) if self.seen else None


def timed(cmd: list[str], env: dict[str, str] | None = None, url: str | None = None, exit_code: int = 0
          ) -> tuple[float, float, str, float, float | None]:
    """(seconds, peak RSS in MB, output, CPU seconds, server CPU seconds) of one child process, measured by the
    kernel (wait4; the server's backends from /proc, see :class:`ServerCPU`)."""
    t0 = time.perf_counter()
    server = ServerCPU(url) if url and Path("/proc/self/stat").exists() else None
    if server:
        server.__enter__()
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    if server:
        server.__exit__(None, None, None)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != exit_code:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{out[-3000:]}")
    return seconds, usage.ru_maxrss / 1024, out, usage.ru_utime + usage.ru_stime, server.seconds if server else None


def raw_copy_main(url: str, source: str, table: str) -> None:
    """The raw COPY peer, run in its own process: read, transform, EWKB, CSV, COPY into an unindexed table."""
    import psycopg
    import pyogrio
    import shapely

    gdf = pyogrio.read_dataframe(source).to_crs(25832)
    hexes = shapely.to_wkb(shapely.set_srid(gdf.geometry.values, 25832), hex=True, include_srid=True)
    df = gdf.drop(columns=gdf.geometry.name).astype(str).assign(geom=hexes)
    buf = io.StringIO()
    df.to_csv(buf, index=False, header=False)
    cols = ", ".join(f'"{c}" text' for c in df.columns[:-1])
    with psycopg.connect(url) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.execute(f"CREATE TABLE {table} ({cols}, geom geometry(Point, 25832))")
        with conn.cursor() as cur, cur.copy(f"COPY {table} FROM STDIN (FORMAT csv)") as cp:
            cp.write(buf.getvalue().encode())
        conn.commit()


def server_breakdown(url: str, table: str, source: str) -> dict[str, float]:
    """Seconds of the server's part of a first load, statement by statement, each alone: the rows the CLI just wrote
    (copied out in id order, in the binary form the CLI sends) are loaded again into the emptied table, inside a
    transaction that is rolled back, with the spatial index dropped as the import does — with every trigger (the
    history rows into the shared ``audit.change``, as before revision 0027, and into a history table of the load's
    own, whose indexes are then built, as a large first load does now), without the history trigger, without any
    trigger; then the spatial index is built. Differences: what the history rows and the other triggers cost."""
    import psycopg

    skip = {"version", "created_at", "updated_at", "updated_by", "deleted_at"}
    with psycopg.connect(url) as conn:
        schema, name = table.split(".")
        cols = [r[0] for r in conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped "
            "ORDER BY attnum", [table]).fetchall() if r[0] not in skip]
        index = conn.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s AND tablename = %s "
                             "AND indexdef ~ 'USING (gist|spgist) '", [schema, name]).fetchone()
        col_list = ", ".join(f'"{c}"' for c in cols)
        buf = io.BytesIO()
        with conn.cursor().copy(f"COPY (SELECT {col_list} FROM {table} WHERE source = %s ORDER BY id) TO STDOUT "
                                "(FORMAT binary)",
                                [source]) as cp:
            for block in cp:
                buf.write(block)
        conn.rollback()
        data = buf.getvalue()

        def load(disable: str | None, build_index: bool = False, bulk: bool = False) -> tuple[float, float]:
            """Seconds of the COPY and of what follows it (the spatial index, or the load's history table's
            indexes with ``bulk``: the history rows go to a table of their own, as a large first load's do)."""
            from netzatlas.registry import store

            with conn.transaction(force_rollback=True):
                conn.execute("SELECT set_config('netzatlas.batch', 'bench-breakdown', true)")
                conn.execute(f"TRUNCATE {table} CASCADE")  # (tables that reference it, e.g. supply rows)
                conn.execute(f'DROP INDEX {schema}."{index[0]}"')
                if disable:
                    conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER {disable}")
                t0 = time.perf_counter()
                history = store._bulk_history_table(conn, store.BULK_HISTORY_MIN_ROWS) if bulk else None
                with conn.cursor().copy(f"COPY {table} ({col_list}) FROM STDIN (FORMAT binary)") as cp:
                    cp.write(data)
                copied = time.perf_counter() - t0
                t0 = time.perf_counter()
                if history is not None:
                    store._index_bulk_history(conn, history)
                if build_index:
                    conn.execute(index[1])
                return copied, time.perf_counter() - t0

        shared, _ = load(None)
        every, history_indexes = load(None, bulk=True)
        no_history, _ = load("t_log_insert")
        bare, built = load("USER", build_index=True)
    return {"shared history": shared, "every trigger": every, "history indexes": history_indexes,
            "no history": no_history, "no trigger": bare, "index": built}


def print_breakdown(parts: dict[str, float]) -> None:
    """The server-side parts of a first load (see :func:`server_breakdown`), one line each."""
    print("  the server's part of that first load, each statement alone (rolled back):")
    print(f"{'    COPY into the layer table with its keys, no trigger':50}{parts['no trigger']:>8.2f} s")
    history = parts["every trigger"] - parts["no history"]
    print(f"{'    history rows, into the load table of their own':50}{history:>8.2f} s")
    print(f"{'    indexes of that history table':50}{parts['history indexes']:>8.2f} s")
    print(f"{'    other triggers (extent, value lists, owner)':50}{parts['no history'] - parts['no trigger']:>8.2f} s")
    print(f"{'    spatial index build after the COPY':50}{parts['index']:>8.2f} s")
    shared = parts["shared history"] - parts["no history"]
    print(f"{'    (history rows into the shared audit.change':50}{shared:>8.2f} s: before revision 0027)")


def make_points(path: Path, n: int) -> None:
    """n points spread over Essen (EPSG:25832) with an id, a height and a lamp type, as a GeoPackage."""
    import geopandas as gpd
    import numpy as np

    rng = np.random.default_rng(7)
    x = rng.uniform(353_000, 375_000, n)
    y = rng.uniform(5_694_000, 5_708_000, n)
    gdf = gpd.GeoDataFrame({"lamp_id": np.char.add("L", np.arange(n).astype(str)),
                            "hoehe": np.round(rng.uniform(4, 12, n), 1),
                            "typ": rng.choice(["LED", "NAV", "HQL"], n)},
                           geometry=gpd.points_from_xy(x, y), crs="EPSG:25832")
    gdf.to_file(path, driver="GPKG", layer="lamps")


def compare(name: str, url: str, path: str, gdal_path: str, layer: str, mapping: list[str], n: int,
            source: str) -> list[Run]:
    env = {**os.environ, "NETZATLAS_DATABASE_URL": url, "COLUMNS": "120"}
    cli = [sys.executable, "-m", "netzatlas.cli.main", "import", "file", path, "--layer", layer, "--source", source,
           *mapping]
    runs = []
    s, mb, _, cpu, srv = timed(cli, env, url)
    runs.append(Run("netzatlas import file (CLI, end to end)", s, n, mb, cpu, srv))
    s, mb, _, cpu, srv = timed(cli, env, url)
    runs.append(Run("  re-import, nothing changed", s, n, mb, cpu, srv))
    s, mb, _, cpu, srv = timed([sys.executable, __file__, "--raw-copy", url, gdal_path,
                                f"raw_{source.replace('-', '_')}"], url=url)
    runs.append(Run("raw COPY end to end (Python: read, EWKB, COPY)", s, n, mb, cpu, srv))
    exe = shutil.which("ogr2ogr")
    if exe:
        s, mb, _, cpu, srv = timed([exe, "-f", "PostgreSQL", f"PG:{url}", gdal_path, "-nln",
                                    f"ogr_{source.replace('-', '_')}", "-overwrite", "-t_srs", "EPSG:25832",
                                    "-lco", "SPATIAL_INDEX=GIST", "-lco", "GEOMETRY_NAME=geom", "-gt", "unlimited",
                                    "--config", "PG_USE_COPY", "YES"], url=url)
        runs.append(Run("ogr2ogr (GDAL, C++, COPY, GiST index)", s, n, mb, cpu, srv))
    print(f"\n{name}: {n:,} rows")
    print(f"{'':50}{'seconds':>9}{'rows/s':>11}{'CPU s':>8}{'server CPU s':>13}{'rows/CPU s':>11}{'peak MB':>9}")
    for r in runs:
        srv_text = f"{r.server_cpu:>13.2f}" if r.server_cpu is not None else f"{'n/a':>13}"
        rate_text = f"{r.cpu_rate:>11,.0f}" if r.cpu_rate is not None else f"{'n/a':>11}"
        print(f"{r.label:50}{r.seconds:>9.2f}{r.rate:>11,.0f}{r.cpu:>8.2f}{srv_text}{rate_text}{r.peak_mb:>9.0f}")
    ours, ogr, raw = runs[0], runs[-1] if exe else None, runs[2]
    print(f"{'  netzatlas ÷ raw COPY end to end (rows/s)':50}{ours.rate / raw.rate:>20.1%}")
    if ogr:
        share = ours.rate / ogr.rate
        print(f"{'  netzatlas ÷ ogr2ogr (rows/s)':50}{share:>20.1%}  (goal >= {GOAL_SHARE_OF_OGR:.0%})")
        if ours.cpu_rate and ogr.cpu_rate:
            print(f"{'  netzatlas ÷ ogr2ogr (rows per CPU second)':50}{ours.cpu_rate / ogr.cpu_rate:>20.1%}  "
                  "(client + server CPU: the work, without the wait for a busy machine)")
    return runs


def refused(url: str, path: str, n: int) -> None:
    """The same million refused as a user meets it: the municipality set to Aachen, so every point lies about
    100 km outside and gets its row's reason (exit code 2, nothing written)."""
    env = {**os.environ, "NETZATLAS_DATABASE_URL": url, "COLUMNS": "120", "NETZATLAS_MUNICIPALITY_ARS": "053340002002"}
    s, mb, out, _, _ = timed([sys.executable, "-m", "netzatlas.cli.main", "import", "file", path, "--layer",
                              "streetlight", "--source", "bench-refused", "--map", "external_id=lamp_id"], env, url,
                             exit_code=2)
    print(f"{'  refused (every row outside the municipality)':50}{s:>9.2f}{n / s:>11,.0f}{'':21}{mb:>20.0f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--points", type=int, default=1_000_000, help="size of the generated file (0: skip it)")
    ap.add_argument("--raw-copy", nargs=3, metavar=("URL", "FILE", "TABLE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.raw_copy:
        raw_copy_main(*args.raw_copy)
        return
    from bench._db import fresh_database

    url = fresh_database("netzatlas_bench_import")
    print(f"load average before the runs: {' '.join(f'{v:.1f}' for v in os.getloadavg())} "
          f"on {os.cpu_count()} CPUs (wall clock figures grow with it; compare ratios of one run)")
    import pyogrio

    n_essen = pyogrio.read_info(ESSEN_GDAL)["features"]
    compare("Essen address points (Amtliche Hauskoordinaten, zipped GeoJSON)", url, str(ESSEN), ESSEN_GDAL,
            "fibre_address", ESSEN_MAP, n_essen, "essen-hauskoordinaten")
    print_breakdown(server_breakdown(url, "registry.fibre_address", "essen-hauskoordinaten"))
    if args.points:
        with tempfile.TemporaryDirectory(prefix="netzatlas-bench-") as tmp:
            big = Path(tmp) / "points.gpkg"
            t0 = time.perf_counter()
            make_points(big, args.points)
            print(f"\n(generated {args.points:,} points in {time.perf_counter() - t0:.1f} s: "
                  f"{big.stat().st_size / 1e6:.0f} MB GeoPackage)")
            runs = compare("Generated points (GeoPackage, EPSG:25832) → streetlight", url, str(big), str(big),
                           "streetlight", ["--map", "external_id=lamp_id", "--map", "height_m=hoehe",
                                           "--map", "lamp_type=typ"], args.points, "bench-points")
            print(f"  peak memory of the import: {runs[0].peak_mb:,.0f} MB (goal <= {GOAL_PEAK_MB_1M:,} MB)")
            refused(url, str(big), args.points)
            print_breakdown(server_breakdown(url, "registry.streetlight", "bench-points"))


if __name__ == "__main__":
    main()
