"""Session 12 speed-ups of ``netzatlas gigabit mev-import`` keep every output (registry/mev_store.py): the covered
area is computed from the points near the hull only, the supply partition's one-value text columns (source, actor,
procedure, operator) are column defaults during the COPY, the value codes are taken from the rows sent. Through the
CLI on a scratch register of 320 addresses (more than the 64 points below which nothing is left out): the stored area
is byte for byte the hull PostGIS computes from every live supply address, the partitions keep the table's column
defaults, the rows hold the source, operator, procedure and actor, the history counts the changes; and directly:
the reduced point set has the same hull in PostGIS for grids (collinear edges), duplicates and random clouds, and an
unknown code is refused with the same message as when the table is asked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.test_gigabit_mev_storage import _run

WORDS = ["Haupt", "Bahnhof", "Kirch", "Schul", "Garten", "Berg", "Wald", "Linden", "Mühlen", "Königs", "Jülicher",
         "Krefelder", "Trierer", "Lütticher", "Roermonder", "Süd", "Nord", "Wiesen", "Burg", "Eich"]
STREETS, NUMBERS = [f"{w}straße" for w in WORDS], range(1, 17)
LON, LAT = 6.0700, 50.7600
MEV, SOURCE = "speed12", "mev:speed12:Telekom"
HDR = "Straße;Hausnummer;PLZ;Download;Upload;Technologie;Technologie geplant;Download geplant;Upload geplant;" \
      "Datum geplant;verbindlich\r\n"


@pytest.fixture(scope="module")
def reg(db_url) -> Iterator[object]:
    """A scratch register: 20 streets × 16 numbers in 52062 Aachen, on a slightly skewed grid."""
    import geopandas as gpd
    from shapely.geometry import Point

    from tests.test_gigabit_holdout import scratch_register

    rows = [(k, s, n) for k, s in enumerate(STREETS) for n in NUMBERS]
    addrs = gpd.GeoDataFrame({"external_id": [f"S{k}-{n}" for k, _, n in rows], "street": [s for _, s, _ in rows],
                              "house_number": [str(n) for _, _, n in rows], "postcode": "52062", "city": "Aachen"},
                             geometry=[Point(LON + n * 3e-4 + k * 1e-5, LAT + k * 2e-3) for k, _, n in rows], crs=4326)
    with scratch_register(addrs, "speed12-register") as c:
        yield c


def _answers(path: Path, *, leave_out: int = 0, faster: int = 0) -> Path:
    """Every address at VDSL 100/40, every third with a binding FTTH plan; the last ``leave_out`` addresses left
    out, the first ``faster`` at 250/40."""
    lines = []
    for i, (s, n) in enumerate((s, n) for s in STREETS for n in NUMBERS):
        down = "250" if i < faster else "100"
        plan = ";FTTH;1000;500;30.06.2028;ja" if i % 3 == 0 else ";;;;;"
        lines.append(f"{s};{n};52062;{down};40;VDSL{plan}\r\n")
    lines = lines[: len(lines) - leave_out]
    path.write_bytes((HDR + "".join(lines)).encode("cp1252"))
    return path


def _one(conn, query: str, params: list | None = None) -> dict:
    row = conn.execute(query, params or []).fetchone()
    conn.rollback()
    return row


def _assert_outputs(conn, live: int) -> None:
    area = _one(conn, "SELECT encode(ST_AsEWKB(i.geom), 'hex') AS stored, encode(ST_AsEWKB((SELECT "
                      "ST_Multi(ST_Buffer(ST_ConvexHull(ST_Collect(a.geom)), 1)) FROM registry.fibre_address a "
                      "WHERE a.id IN (SELECT address_id FROM registry.broadband_supply WHERE source = i.source "
                      "AND deleted_at IS NULL))), 'hex') AS all_points FROM registry.mev_import i "
                      "WHERE i.mev_id = %s ORDER BY i.created_at DESC LIMIT 1", [MEV])
    assert area["stored"] == area["all_points"]  # byte for byte the hull of every live supply address
    differ = _one(conn, "SELECT count(*) AS n FROM pg_inherits i JOIN pg_attribute a ON a.attrelid = i.inhrelid "
                        "AND a.attnum > 0 AND NOT a.attisdropped LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid "
                        "AND d.adnum = a.attnum WHERE i.inhparent = 'registry.broadband_supply'::regclass "
                        "AND pg_get_expr(d.adbin, d.adrelid) IS DISTINCT FROM (SELECT pg_get_expr(p.adbin, "
                        "p.adrelid) FROM pg_attrdef p WHERE p.adrelid = 'registry.broadband_supply'::regclass "
                        "AND p.adnum = a.attnum)")
    assert differ["n"] == 0  # the partitions keep the table's column defaults
    rows = _one(conn, "SELECT count(*) FILTER (WHERE s.deleted_at IS NULL) AS live, count(DISTINCT s.source) AS "
                      "sources, bool_and(s.operator = 'Telekom' AND s.mev_id = %s AND s.owner_org IS NULL) AS fixed, "
                      "count(DISTINCT s.updated_by) AS actors, bool_and(s.updated_by = (SELECT c.changed_by FROM "
                      "audit.change c WHERE c.row_id = s.id ORDER BY c.seq DESC LIMIT 1)) AS actor_ok "
                      "FROM registry.broadband_supply s WHERE s.source = %s", [MEV, SOURCE])
    assert (rows["live"], rows["sources"], rows["fixed"], rows["actors"], rows["actor_ok"]) == (live, 1, True, 1,
                                                                                                 True)


def test_the_area_the_defaults_and_the_rows_stay_as_before(reg, tmp_path):
    first = _run(str(_answers(tmp_path / "a.csv")), "--operator", "Telekom", "--mev", MEV, "--out",
                 str(tmp_path / "out_a"))
    assert first.exit_code == 0, first.output
    assert "320" in first.output and (tmp_path / "out_a" / "summary.csv").exists()
    planned = len(range(0, 320, 3))
    _assert_outputs(reg, 320 + planned)
    second = _run(str(_answers(tmp_path / "b.csv", leave_out=40, faster=10)), "--operator", "Telekom", "--mev", MEV,
                  "--out", str(tmp_path / "out_b"))
    assert second.exit_code == 0, second.output
    gone_plans = len([i for i in range(280, 320) if i % 3 == 0])
    _assert_outputs(reg, 280 + planned - gone_plans)
    ops = {r["operation"]: r["n"] for r in reg.execute(
        "SELECT c.operation, count(*) AS n FROM audit.change c JOIN registry.broadband_supply s ON s.id = c.row_id "
        "WHERE s.source = %s GROUP BY 1", [SOURCE]).fetchall()}
    reg.rollback()
    assert ops == {"INSERT": 320 + planned, "UPDATE": 10, "DELETE": 40 + gone_plans}


def _hull_hex(conn, wkb: bytes) -> str:
    return conn.execute("SELECT encode(ST_AsEWKB(ST_Multi(ST_Buffer(ST_ConvexHull(ST_SetSRID(ST_GeomFromWKB(%s), "
                        "25832)), 1))), 'hex') AS h", [wkb]).fetchone()["h"]


def _clouds() -> Iterator[np.ndarray]:
    rng = np.random.default_rng(12)
    for k in range(30):
        n = int(rng.integers(65, 3000))
        kind = k % 5
        if kind == 0:  # a grid: long collinear edges on every side
            side = int(np.sqrt(n)) + 1
            g = np.stack(np.meshgrid(np.arange(side), np.arange(side)), -1).reshape(-1, 2)
            xy = 290000.0 + g * float(rng.choice([1.5, 7.25, 300.0]))
        elif kind == 1:  # the same points several times
            xy = np.repeat(290000.0 + rng.integers(0, 50, (n // 4, 2)) * 2.5, 4, axis=0)
        elif kind == 2:  # a round cloud
            a, r = rng.random(n) * 2 * np.pi, np.sqrt(rng.random(n)) * 5000
            xy = np.c_[295000 + r * np.cos(a), 5628000 + r * np.sin(a)]
        elif kind == 3:  # points on a line and a few beside it
            t = rng.random(n) * 1000
            xy = np.c_[290000 + t, 5620000 + 2 * t]
            xy[: int(rng.integers(0, 3))] += 5.0
        else:  # a long thin band
            xy = np.c_[280000 + rng.random(n) * 30000, 5620000 + rng.random(n) * 0.5]
        yield xy[rng.permutation(len(xy))]


def test_the_points_sent_for_the_area_have_the_hull_of_all_points(conn):
    import shapely

    from netzatlas.registry.mev_store import multipoint_wkb

    fewer = 0
    for xy in _clouds():
        every = shapely.to_wkb(shapely.multipoints(xy))
        sent = multipoint_wkb(xy)
        fewer += len(sent) < len(every)
        assert _hull_hex(conn, sent) == _hull_hex(conn, every)
    conn.rollback()
    assert fewer >= 20  # (the points inside were left out in most clouds)


def test_an_unknown_code_is_refused_as_when_the_table_is_asked(conn):
    import pandas as pd
    from psycopg import sql

    from netzatlas.errors import ConstraintViolation
    from netzatlas.registry import mev_store

    frame = pd.DataFrame({"external_id": ["a", "b", "c"], "technology": ["ftth", "kaputt", None],
                          "status": ["available", "planned", "available"]})
    conn.execute("CREATE TEMP TABLE speed12_codes (external_id text, technology text, status text, owner_org text)")
    table = sql.Identifier("speed12_codes")
    mev_store._copy(conn, table, frame)
    messages = []
    for given in (frame, None):
        with pytest.raises(ConstraintViolation) as exc:
            mev_store._check_values(conn, table, list(frame.columns) + ["owner_org"], given,
                                    frozenset({"owner_org"}))
        messages.append(str(exc.value))
    conn.rollback()
    assert messages[0] == messages[1] and "technology 'kaputt' is not in the value list" in messages[0]
