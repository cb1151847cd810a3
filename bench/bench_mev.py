"""Market-exploration import benchmark: ``netzatlas gigabit mev-import`` end to end beside the bare COPY.

A generated register of N addresses (default 1,000,000: 5,000 streets × 200 numbers, some with suffixes, postcodes,
points) and answer files of five operators × N/5 rows in the German form operators send (Windows-1252, ``;``,
decimal comma, ``1.000``, ``dd.mm.yyyy``, units in some cells, a planned FTTH row for a fifth of the addresses).
It measures, reading the same files:

- the bare COPY: each file read and copied as it is (``COPY … FROM STDIN (FORMAT csv, DELIMITER ';', HEADER,
  ENCODING 'WIN1252')``) into an unindexed table of text columns — the lower bound of any import;
- the command as the user runs it: ``netzatlas gigabit mev-import <5 files> --operator … --mev bench`` in a
  subprocess (reading, parsing, matching, writing the supply with its history, the reports in the database and the
  CSV files, in one transaction): wall-clock seconds, rows/s and the peak resident memory of that process
  (``os.wait4``). The figure includes the Python start-up and imports, reading and checking the five files, reading
  the register, matching, building each operator's supply partition (COPY, one history row per supply row, value
  checks, ATTACH with its index builds and foreign-key join), the covered area of each operator, the report rows,
  the CSV reports and the commit; it leaves out the set-up (register and files generated beforehand) and a cold
  cache (the register was just written and read back, so it is in memory);
- ``--again``: the same files once more (nothing changes: the partitions are kept, no history row);
- ``--floor``: the written supply rows COPYed again row by row into ``broadband_supply`` (its default partition:
  indexes, the address foreign key and the history trigger maintained per row, as every import did before
  revision 0018) — rolled back; the cost the partition design avoids.

Database: ``NETZATLAS_BENCH_DATABASE_URL`` (an existing PostGIS server; a database is created there and dropped),
otherwise a cluster of the project's own kind on a free port in a temporary directory, removed at the end. The
generated files live in a temporary directory that is removed too.
Run: ``.venv/bin/python bench/bench_mev.py [--addresses 1000000] [--operators 5]``
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import psycopg  # noqa: E402

from bench._db import temporary_cluster  # noqa: E402
from netzatlas.registry import migrate  # noqa: E402

OPERATORS = ["Telekom", "Vodafone", "NetAachen", "Deutsche Glasfaser", "1&1 Versatel"]
STREET_WORDS = ["Haupt", "Bahnhof", "Kirch", "Schul", "Garten", "Berg", "Wald", "Linden", "Mühlen", "Königs",
                "Jülicher", "Krefelder", "Trierer", "Lütticher", "Roermonder", "Süd", "Nord", "Wiesen", "Burg", "Eich"]
TIERS = [("VDSL", "100", "40"), ("Super-Vectoring", "250", "40"), ("ADSL", "16", "1"),
         ("HFC-D3.1", "1.000", "50"), ("FTTH", "1.000", "500"), ("VDSL", "16,8", "2,4"), ("FTTB", "1 Gbit/s", "1.000")]
REF = "2026-11-30"


def street_names(n: int) -> list[str]:
    words = [f"{a}{b.lower()}" for a in STREET_WORDS for b in STREET_WORDS]
    out = []
    for i in range(n):
        base = words[i % len(words)]
        out.append(f"{base}straße" if i < len(words) else f"{base}weg {i // len(words)}")
    return out


def make_register(url: str, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n`` addresses by COPY (set-up only: history triggers off)."""
    per_street = 200
    streets = street_names(int(np.ceil(n / per_street)))
    idx = np.arange(n)
    s = idx // per_street
    number = idx % per_street + 1
    suffix = np.where(rng.random(n) < 0.05, "a", "")
    reg = pd.DataFrame({"external_id": [f"A{i:07d}" for i in idx], "street": np.array(streets, dtype=object)[s],
                        "house_number": number.astype(str), "house_number_suffix": suffix,
                        "postcode": (52000 + s % 90).astype(str),
                        "x": 280000 + (s % 100) * 300 + number * 1.5, "y": 5620000 + (s // 100) * 300 + (number % 2)})
    buf = io.StringIO()
    pd.DataFrame({"e": reg["external_id"], "st": reg["street"], "hn": reg["house_number"],
                  "sf": reg["house_number_suffix"].replace("", None), "pc": reg["postcode"],
                  "g": [f"SRID=25832;POINT({x:.1f} {y:.1f})" for x, y in zip(reg["x"], reg["y"], strict=True)]}
                 ).to_csv(buf, index=False, header=False)
    with psycopg.connect(url) as c:
        c.execute("SET session_replication_role = replica")
        with c.cursor() as cur, cur.copy("COPY registry.fibre_address (external_id, street, house_number, "
                                         "house_number_suffix, postcode, geom) FROM STDIN (FORMAT csv)") as cp:
            cp.write(buf.getvalue().encode())
        c.commit()
        c.autocommit = True
        c.execute("VACUUM ANALYZE registry.fibre_address")
    return reg


def make_answers(reg: pd.DataFrame, operators: int, folder: Path, rng: np.random.Generator) -> list[Path]:
    """One file per operator, each answering a disjoint share of the register, in German spreadsheet form."""
    order = rng.permutation(len(reg))
    paths = []
    for k, part in enumerate(np.array_split(order, operators)):
        r = reg.iloc[np.sort(part)]
        t = np.array(TIERS, dtype=object)[rng.integers(0, len(TIERS), len(r))]
        plan = rng.random(len(r)) < 0.2
        street = r["street"].to_numpy(dtype=object)
        short = rng.random(len(r)) < 0.3  # "…straße" written "…str."
        street = np.where(short, pd.Series(street).str.replace("straße", "str.", regex=False).to_numpy(), street)
        hn = r["house_number"].to_numpy(dtype=object)
        hn = np.where(r["house_number_suffix"].to_numpy() == "a", hn + np.where(rng.random(len(r)) < 0.5, "a", " a"),
                      hn)
        df = pd.DataFrame({"Straße": street, "Hausnummer": hn, "PLZ": r["postcode"].to_numpy(), "Ort": "Aachen",
                           "Download (Mbit/s)": t[:, 1], "Upload (Mbit/s)": t[:, 2], "Technologie": t[:, 0],
                           "Technologie geplant": np.where(plan, "FTTH", ""),
                           "Download geplant": np.where(plan, "1.000", ""), "Upload geplant": np.where(plan, "500", ""),
                           "Datum geplant": np.where(plan, "30.06.2028", ""),
                           "verbindlich": np.where(plan, np.where(rng.random(len(r)) < 0.5, "ja", "nein"), "")})
        p = folder / f"mev_{k + 1}_{OPERATORS[k % len(OPERATORS)].split()[0]}.csv"
        df.to_csv(p, sep=";", index=False, encoding="cp1252", lineterminator="\r\n")
        paths.append(p)
    return paths


def bare_copy(url: str, paths: list[Path]) -> tuple[float, int]:
    """Read each file and COPY it as it is into an unindexed table of text columns (seconds, rows)."""
    with open(paths[0], "rb") as fh:
        header = fh.readline().decode("cp1252").rstrip("\r\n").split(";")
    cols = ", ".join(f"c{i} text" for i in range(len(header)))
    with psycopg.connect(url) as c:
        c.execute(f"DROP TABLE IF EXISTS bench_bare; CREATE TABLE bench_bare ({cols})")
        c.commit()
        t = time.perf_counter()
        for p in paths:
            with c.cursor() as cur, cur.copy("COPY bench_bare FROM STDIN (FORMAT csv, DELIMITER ';', HEADER true, "
                                             "ENCODING 'WIN1252')") as cp:
                with open(p, "rb") as fh:
                    for chunk in iter(lambda fh=fh: fh.read(1 << 20), b""):
                        cp.write(chunk)
        c.commit()
        seconds = time.perf_counter() - t
        rows = c.execute("SELECT count(*) FROM bench_bare").fetchone()[0]
        c.execute("DROP TABLE bench_bare")
        c.commit()
    return seconds, rows


def structural_floor(url: str) -> float:
    """The database's own work for the import's result: the supply rows it wrote, COPYed again (as CSV from memory)
    into ``registry.broadband_supply`` with its indexes, foreign key, checks and history triggers — rolled back."""
    from netzatlas.registry.gigabit_store import time_ordered_uuids

    with psycopg.connect(url) as c:
        buf = io.BytesIO()
        with c.cursor() as cur, cur.copy("COPY (SELECT source || ':floor', external_id, address_id, operator, "
                                         "technology, down_mbps, up_mbps, status, planned_date, binding, mev_id, "
                                         "properties FROM registry.broadband_supply ORDER BY address_id, external_id) "
                                         "TO STDOUT (FORMAT csv)") as cp:
            for chunk in cp:
                buf.write(chunk)
        lines = buf.getvalue().decode().splitlines()
        # the same favourable order and time-ordered ids the import uses: the floor is the best the database can do
        data = "".join(f"{i},{line}\n" for i, line in zip(time_ordered_uuids(len(lines)), lines, strict=True)).encode()
        t = time.perf_counter()
        with c.cursor() as cur, cur.copy("COPY registry.broadband_supply (id, source, external_id, address_id, "
                                         "operator, technology, down_mbps, up_mbps, status, planned_date, binding, "
                                         "mev_id, properties) FROM STDIN (FORMAT csv)") as cp:
            cp.write(data)
        seconds = time.perf_counter() - t
        c.rollback()
    return seconds


def run_command(url: str, args: list[str]) -> tuple[float, float, str]:
    """The installed ``netzatlas`` command as a user runs it: (seconds, peak RSS in MB, output)."""
    exe = Path(sys.executable).with_name("netzatlas")
    env = {**os.environ, "NETZATLAS_DATABASE_URL": url, "COLUMNS": "160"}
    t = time.perf_counter()
    proc = subprocess.Popen([str(exe), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = proc.stdout.read() if proc.stdout else b""
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t
    code = os.waitstatus_to_exitcode(status)
    text = out.decode(errors="replace")
    if code != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({code}):\n{text[-3000:]}")
    return seconds, usage.ru_maxrss / 1024, text


@contextmanager
def bench_server() -> Iterator[str]:
    """A maintenance URL: ``NETZATLAS_BENCH_DATABASE_URL`` if set, else a cluster of the project's own kind with its
    shipped settings, started on a free port in a temporary home and removed afterwards."""
    external = os.environ.get("NETZATLAS_BENCH_DATABASE_URL")
    if external:
        yield external
        return
    with temporary_cluster("netzatlas-bench-mev-db-") as url:
        yield url


def database(admin: str, name: str) -> str:
    """A fresh, migrated database ``name`` on the server of ``admin``."""
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    info = psycopg.conninfo.conninfo_to_dict(admin)
    info["dbname"] = name
    url = "postgresql://{u}:{p}@{h}:{port}/{d}".format(
        u=quote(str(info.get("user", "")), safe=""), p=quote(str(info.get("password", "")), safe=""),
        h=info.get("host", "127.0.0.1"), port=info.get("port", 5432), d=quote(name))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    migrate.upgrade(url)
    return url


def drop(admin: str, name: str) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--addresses", type=int, default=1_000_000, help="register size = answer rows in total")
    ap.add_argument("--operators", type=int, default=5, help="answer files (one per operator)")
    ap.add_argument("--keep", action="store_true", help="keep the database (for profiling)")
    ap.add_argument("--again", action="store_true", help="also time a second import of the same files (no change)")
    ap.add_argument("--floor", action="store_true",
                    help="also time the written rows COPYed row by row into broadband_supply (the pre-0018 write)")
    args = ap.parse_args()
    rng = np.random.default_rng(7)
    folder = Path(tempfile.mkdtemp(prefix="netzatlas-bench-mev-"))
    name = f"netzatlas_bench_mev_{args.addresses}"
    try:
        with bench_server() as admin:
            url = database(admin, name)
            try:
                t = time.perf_counter()
                reg = make_register(url, args.addresses, rng)
                paths = make_answers(reg, args.operators, folder, rng)
                del reg
                mb = sum(p.stat().st_size for p in paths) / 1e6
                print(f"{args.addresses:,} register addresses; {args.operators} answer files, {mb:.0f} MB "
                      f"(set-up {time.perf_counter() - t:.0f} s)")
                bare, rows = min((bare_copy(url, paths) for _ in range(2)), key=lambda r: r[0])
                ops = [x for k in range(args.operators) for x in ("--operator", OPERATORS[k % len(OPERATORS)])]
                cmd = ["gigabit", "mev-import", *map(str, paths), *ops, "--mev", "bench", "--date", REF,
                       "--out", str(folder / "out")]
                sec, peak, out = run_command(url, cmd)
                with psycopg.connect(url) as c:
                    supply = c.execute("SELECT count(*) FROM registry.broadband_supply").fetchone()[0]
                    matched = c.execute("SELECT sum(rows - unmatched) FROM registry.mev_import").fetchone()[0]
                floor = structural_floor(url) if args.floor else None
                again, peak2 = (run_command(url, cmd)[:2] if args.again else (None, None))
            finally:
                if not args.keep:
                    drop(admin, name)
        print(f"answer rows {rows:,}; matched {matched:,}; supply rows written {supply:,}")
        print(f"{'':58}{'seconds':>9}{'rows/s':>11}{'x COPY':>8}{'peak MB':>9}")
        for label, s, p in (("bare COPY of the files (read + COPY, unindexed table)", bare, None),
                            ("row by row: the written rows COPYed into broadband_supply", floor, None),
                            ("netzatlas gigabit mev-import (command, first import)", sec, peak),
                            ("netzatlas gigabit mev-import (same files again)", again, peak2)):
            if s is not None:
                print(f"{label:58}{s:>9.2f}{rows / s:>11,.0f}{s / bare:>8.2f}{'' if p is None else f'{p:.0f}':>9}")
        if floor:
            print(f"the command is {sec / floor:.2f}x the row-by-row COPY of its rows (indexes, the address foreign "
                  "key and the history rows maintained per row, as before revision 0018)")
        print("goal: the command <= 3x the bare COPY, peak memory <= 2 GB")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
