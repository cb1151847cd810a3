"""The registry side of the gigabit analysis: addresses and supply in, SQL classification, snapshots out."""

from __future__ import annotations

from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import shapely

from netzatlas.errors import NotFound
from netzatlas.gigabit.classify import OUTPUT_COLUMNS
from netzatlas.gigabit.classify_sql import apply_settings, classification_sql
from netzatlas.gigabit.programmes import Programme
from netzatlas.registry.gigabit_snapshots import (  # noqa: F401 - re-exported
    COUNTS,
    _first_value,
    classify_counts,
    classify_snapshot,
    has_simulated_supply,
    save_snapshot,
    snapshot_counts,
)
from netzatlas.registry.importers.load import ImportReport, load_layers


def read_addresses(conn: psycopg.Connection) -> gpd.GeoDataFrame:
    rows = conn.execute("SELECT id::text AS address_id, external_id, street, house_number, house_number_suffix, "
                        "postcode, city, dwellings, is_business, socio_economic, business_area, "
                        "coalesce(properties->>'addr:suburb', properties->>'addr:district') AS district, "
                        "ST_AsBinary(geom) AS wkb, ST_SRID(geom) AS srid FROM registry.fibre_address "
                        "WHERE deleted_at IS NULL ORDER BY id"
                        ).fetchall()
    df = pd.DataFrame(rows)
    if df.empty:
        cols = ["address_id", "external_id", "street", "house_number", "house_number_suffix", "postcode", "city",
                "dwellings", "is_business", "socio_economic", "business_area", "district"]
        # an empty registry: the same columns (the report's tables and CSV keep their headers)
        return gpd.GeoDataFrame({c: pd.Series([], dtype=object) for c in cols}, geometry=[], crs="EPSG:25832")
    srid = int(df["srid"].iloc[0])
    geoms = shapely.from_wkb([bytes(b) for b in df.pop("wkb")])
    return gpd.GeoDataFrame(df.drop(columns="srid"), geometry=geoms, crs=f"EPSG:{srid}")


def read_supply(conn: psycopg.Connection, source: str | None = None) -> pd.DataFrame:
    q = ("SELECT address_id::text AS address_id, operator, technology, down_mbps, up_mbps, status, planned_date, "
         "binding, source, vorvermarktung FROM registry.broadband_supply WHERE deleted_at IS NULL")
    rows = conn.execute(q + (" AND source = %s" if source else ""), [source] if source else []).fetchall()
    return pd.DataFrame(rows, columns=["address_id", "operator", "technology", "down_mbps", "up_mbps", "status",
                                       "planned_date", "binding", "source", "vorvermarktung"])


def write_supply(supply: pd.DataFrame, *, source: str, url: str | None = None, owner_org: str | None = None
                 ) -> ImportReport:
    """Upsert supply rows (one transaction, idempotent by a key made of address, operator, technology, status).

    Rates are kept to 1 kbit/s (three decimals in Mbit/s), as the schema requires."""
    df = supply.copy()
    for col in ("down_mbps", "up_mbps"):
        df[col] = pd.to_numeric(df[col], errors="coerce").round(3)
    df["external_id"] = (df["address_id"].astype(str) + ":" + df["operator"] + ":" + df["technology"] + ":"
                         + df["status"])
    df = df.drop(columns=[c for c in ("source",) if c in df.columns])
    return load_layers({"broadband_supply": df}, source=source, kind="supply", url=url,
                       owner_org=owner_org, check_location=False)


def classify_in_db(conn: psycopg.Connection, programme: Programme, reference_date: date) -> pd.DataFrame:
    """The set-based classification in PostGIS (same columns as the pure function)."""
    query, params = classification_sql(conn, programme, reference_date)
    apply_settings(conn)
    rows = conn.execute(query, params).fetchall()
    out = pd.DataFrame(rows, columns=OUTPUT_COLUMNS)
    out["address_id"] = out["address_id"].astype(str)
    return out


def list_snapshots(conn: psycopg.Connection) -> list[dict]:
    """Every snapshot, newest first, with what the report shows of it (who made it and when, where recorded)."""
    cols = {r["column_name"] for r in conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'registry' "
        "AND table_name = 'gigabit_snapshot'")}
    by = "created_by" if "created_by" in cols else "NULL::text"
    return list(conn.execute(
        f"SELECT id, title, programme, reference_date, simulated, note, warning, created_at, {by} AS created_by "
        "FROM registry.gigabit_snapshot ORDER BY created_at DESC, id DESC").fetchall())


def get_snapshot(conn: psycopg.Connection, snapshot_id: str | None = None) -> dict:
    """One snapshot by id, or the newest; ``NotFound`` naming the ones there are."""
    snaps = list_snapshots(conn)
    if not snaps:
        raise NotFound("there is no gigabit snapshot yet", hint="run `netzatlas gigabit classify --snapshot NAME`")
    if snapshot_id is None:
        return snaps[0]
    for s in snaps:
        if s["id"] == snapshot_id:
            return s
    raise NotFound(f"there is no snapshot {snapshot_id!r}",
                   hint="snapshots: " + ", ".join(s["id"] for s in snaps[:20]))


def read_snapshot(conn: psycopg.Connection, snapshot_id: str) -> pd.DataFrame:
    """The classification rows of a snapshot (the pure function's columns)."""
    rows = conn.execute(f"SELECT address_id::text AS address_id, {', '.join(OUTPUT_COLUMNS[1:])} "
                        "FROM registry.gigabit_classification WHERE snapshot_id = %s", [snapshot_id]).fetchall()
    return pd.DataFrame(rows, columns=OUTPUT_COLUMNS)


def registry_coverage(conn: psycopg.Connection) -> dict:
    """How much of the municipality the registry covers: its addresses beside the Zensus grid (residential buildings
    in the 100 m cells, inhabitants in the 1 km cells) and how many populated 100 m cells hold a registry address."""
    row = conn.execute(
        "SELECT (SELECT count(*) FROM registry.fibre_address WHERE deleted_at IS NULL) AS addresses, "
        "(SELECT sum(buildings) FROM registry.population_grid WHERE deleted_at IS NULL AND resolution_m = 100) "
        "AS zensus_buildings, "
        "(SELECT sum(coalesce(population, population_estimate)) FROM registry.population_grid "
        " WHERE deleted_at IS NULL AND resolution_m = 1000) AS zensus_population, "
        "(SELECT count(*) FROM registry.population_grid WHERE deleted_at IS NULL AND resolution_m = 100 "
        " AND buildings > 0) AS cells_populated, "
        "(SELECT count(*) FROM registry.population_grid g WHERE g.deleted_at IS NULL AND g.resolution_m = 100 "
        " AND g.buildings > 0 AND EXISTS (SELECT 1 FROM registry.fibre_address a WHERE a.deleted_at IS NULL "
        " AND ST_Intersects(a.geom, g.geom))) AS cells_with_addresses").fetchone()
    return {k: (float(v) if v is not None and not isinstance(v, int) else v) for k, v in dict(row).items()}


def import_sources(conn: psycopg.Connection) -> list[dict]:
    """The latest finished import of each source (what the report names with its date and licence)."""
    return list(conn.execute(
        "SELECT DISTINCT ON (source) source, kind, finished_at, details->>'url' AS url FROM audit.batch "
        "WHERE finished_at IS NOT NULL AND kind IN ('osm', 'zensus', 'boundary', 'charging-register', 'file', "
        "'supply') ORDER BY source, finished_at DESC").fetchall())


def save_funding_areas(conn: psycopg.Connection, snapshot_id: str, areas: gpd.GeoDataFrame) -> int:
    """Replace a snapshot's funding areas (with their names and cost assumptions) in one statement."""
    import json

    conn.execute("DELETE FROM registry.funding_area WHERE snapshot_id = %s", [snapshot_id])
    if not len(areas):
        return 0
    srid = conn.execute("SELECT Find_SRID('registry', 'funding_area', 'geom') AS s").fetchone()
    srid = int(srid["s"] if isinstance(srid, dict) else srid[0])
    a = areas.to_crs(srid)
    cols = ["area_no", "rank", "name", "district", "main_streets", "addresses", "dwellings", "businesses", "schools",
            "hospitals", "trench_m", "street_m", "lead_in_m", "cost_eur", "cost_per_connection_eur", "eur_per_m",
            "eur_per_connection", "max_addresses", "max_cost_eur"]
    recs = pd.DataFrame(a.drop(columns=a.geometry.name))[cols].astype(object).where(lambda d: d.notna(), None)
    recs["wkt"] = a.geometry.to_wkt().values
    payload = json.dumps(recs.to_dict("records"), default=lambda v: v.item() if hasattr(v, "item") else str(v))
    cur = conn.execute(
        "INSERT INTO registry.funding_area (snapshot_id, area_no, rank, name, district, main_streets, addresses, "
        "dwellings, businesses, schools, hospitals, trench_m, street_m, lead_in_m, cost_eur, cost_per_connection_eur, "
        "eur_per_m, eur_per_connection, max_addresses, max_cost_eur, geom) "
        "SELECT %s, area_no, rank, name, district, main_streets, addresses, dwellings, businesses, schools, hospitals, "
        "trench_m, street_m, lead_in_m, cost_eur, cost_per_connection_eur, eur_per_m, eur_per_connection, "
        "max_addresses, max_cost_eur, ST_Multi(ST_GeomFromText(wkt, %s)) FROM jsonb_to_recordset(%s::jsonb) AS r("
        "area_no int, rank int, name text, district text, main_streets text, addresses int, dwellings float8, "
        "businesses int, schools int, hospitals int, trench_m float8, street_m float8, lead_in_m float8, "
        "cost_eur float8, cost_per_connection_eur float8, eur_per_m float8, eur_per_connection float8, "
        "max_addresses int, max_cost_eur float8, wkt text)", [snapshot_id, srid, payload])
    return cur.rowcount


def compare_snapshots(conn: psycopg.Connection, a: str, b: str) -> pd.DataFrame:
    """Addresses whose class or eligibility changed from snapshot ``a`` to ``b``."""
    rows = conn.execute(
        "SELECT x.address_id::text AS address_id, f.street, f.house_number, x.class_de AS class_a, "
        "y.class_de AS class_b, x.eligible AS eligible_a, y.eligible AS eligible_b, y.reason AS reason_b "
        "FROM registry.gigabit_classification x JOIN registry.gigabit_classification y USING (address_id) "
        "JOIN registry.fibre_address f ON f.id = x.address_id "
        "WHERE x.snapshot_id = %s AND y.snapshot_id = %s AND (x.class_de <> y.class_de OR x.eligible <> y.eligible) "
        "ORDER BY f.street, f.house_number", [a, b]).fetchall()
    return pd.DataFrame(rows, columns=["address_id", "street", "house_number", "class_a", "class_b", "eligible_a",
                                       "eligible_b", "reason_b"])


# ---------------------------------------------------------------- market exploration (MEV): reads and writes
MEV_REGISTER_COLUMNS = ["address_id", "external_id", "street", "house_number", "house_number_suffix", "postcode",
                        "city", "x", "y"]


def read_register(conn: psycopg.Connection) -> tuple[pd.DataFrame, int]:
    """Register addresses for matching (id, external id, street, number, suffix, postcode, city, x/y in the storage
    CRS) and the storage SRID; the plain columns by ``COPY … TO STDOUT (FORMAT csv)`` read by pandas' C parser (a
    million addresses in about 5 s; building one text value in the server took three times as long)."""
    import io

    srid = conn.execute("SELECT Find_SRID('registry', 'fibre_address', 'geom') AS s").fetchone()
    srid = int(srid["s"] if isinstance(srid, dict) else srid[0])
    buf = io.BytesIO()
    with conn.cursor() as cur, cur.copy(
            "COPY (SELECT id, external_id, street, house_number, house_number_suffix, postcode, city, ST_X(geom), "
            "ST_Y(geom) FROM registry.fibre_address WHERE deleted_at IS NULL) TO STDOUT (FORMAT csv)") as cp:
        for chunk in cp:
            buf.write(chunk)
    if not buf.tell():
        return pd.DataFrame(columns=MEV_REGISTER_COLUMNS), srid
    buf.seek(0)
    strings = {c: str for c in MEV_REGISTER_COLUMNS[:7]}
    df = pd.read_csv(buf, header=None, names=MEV_REGISTER_COLUMNS, dtype={**strings, "x": float, "y": float},
                     keep_default_na=False, na_values={c: [""] for c in MEV_REGISTER_COLUMNS}, engine="c",
                     encoding="utf-8")
    return df, srid


def read_districts(conn: psycopg.Connection) -> list[str]:
    """The district (Ortsteil) names the register's addresses carry (OSM ``addr:suburb`` / ``addr:district``): a
    market-exploration answer may write one in its Ort column. Read only when an answer names a city the register
    does not have (one pass over the addresses)."""
    rows = conn.execute("SELECT DISTINCT coalesce(properties->>'addr:suburb', properties->>'addr:district') AS d "
                        "FROM registry.fibre_address WHERE deleted_at IS NULL AND (properties ? 'addr:suburb' OR "
                        "properties ? 'addr:district')").fetchall()
    names = (r["d"] if isinstance(r, dict) else r[0] for r in rows)
    return [n for n in names if n]


def read_other_supply(conn: psycopg.Connection, operators: list[str], exclude_sources: list[str]) -> pd.DataFrame:
    """Supply from other sources that an MEV import is checked against: rows of the same operators (is the claimed
    supply known?) and binding plans of anyone (two binding plans at one address)."""
    rows = conn.execute(
        "SELECT address_id::text AS address_id, operator, status, binding FROM registry.broadband_supply "
        "WHERE deleted_at IS NULL AND source <> ALL(%s) AND (operator = ANY(%s) OR (status = 'planned' AND binding))",
        [exclude_sources, operators]).fetchall()
    return pd.DataFrame(rows, columns=["address_id", "operator", "status", "binding"])


def write_mev_outcome(conn: psycopg.Connection, outcome, *, mev_id: str, batch_id: str,  # noqa: ANN001
                      summary: dict[str, object]) -> dict[str, int]:
    """Write one operator's supply (keyed by address, operator, technology, status; rows of the same source that
    the new file no longer holds are withdrawn = soft-deleted) as the source's partition (registry.mev_store), its
    summary row and its report rows. Runs inside the caller's transaction: nothing is committed here."""
    import json

    from psycopg import sql

    from netzatlas.registry.db import get_layer

    layer = get_layer(conn, "broadband_supply")
    had = conn.execute("SELECT EXISTS (SELECT 1 FROM registry.broadband_supply WHERE source = %s "
                       "AND deleted_at IS NULL) AS had", [outcome.source]).fetchone()
    had = bool(had["had"] if isinstance(had, dict) else had[0])
    s = outcome.supply
    address_id = s["address_id"].astype(str)
    frame = pd.DataFrame({
        "external_id": _supply_keys(address_id, s), "address_id": address_id, "operator": s["operator"],
        "technology": s["technology"],
        "down_mbps": pd.to_numeric(s["down_mbps"]).round(3), "up_mbps": pd.to_numeric(s["up_mbps"]).round(3),
        "status": s["status"], "planned_date": s["planned_date"], "binding": s["binding"].astype(bool),
        "mev_id": mev_id, "deleted_at": None})
    from netzatlas.gigabit.mev import vorvermarktung_flag

    flag, keep = vorvermarktung_flag(s["vorvermarktung"])
    has_column = "vorvermarktung" in layer.column_names
    if has_column:
        frame["vorvermarktung"] = flag.to_numpy()
    props = keep if has_column else s["vorvermarktung"]
    frame["properties"] = props.map(lambda v: "{}" if v is None or v != v else json.dumps({"vorvermarktung": v}))
    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"{layer.name}|{outcome.source}"])
    from netzatlas.registry import mev_store

    if not mev_store.default_holds(conn, outcome.source):
        # the source's partition, built without per-row index / trigger / foreign-key work (registry.mev_store)
        counts = dict(mev_store.write_partition(conn, frame, outcome.source, tag=_tag(batch_id)))
    else:
        counts = _upsert_supply(conn, layer, frame, outcome.source, had)
    cols = [c for c in summary if c not in ("operator", "file_name")]
    conn.execute(sql.SQL("INSERT INTO registry.mev_import (mev_id, batch_id, operator, source, file_name, {}, "
                         "created, updated, unchanged, withdrawn, read_notes) VALUES (%s, %s, %s, %s, %s, {}, "
                         "%s, %s, %s, %s, %s)").format(
        sql.SQL(", ").join(sql.Identifier(c) for c in cols), sql.SQL(", ").join(sql.Placeholder() * len(cols))),
        [mev_id, batch_id, outcome.operator, outcome.source, outcome.file_name, *[summary[c] for c in cols],
         *counts.values(), "; ".join(outcome.notes)])
    covered = getattr(outcome, "covered_xy", None)
    if len(frame) and covered is not None and len(covered):  # live rows = the frame's: the hull of their points
        from netzatlas.registry.mev_store import multipoint_wkb

        conn.execute(
            "UPDATE registry.mev_import SET geom = ST_Multi(ST_Buffer(ST_ConvexHull(ST_SetSRID(ST_GeomFromWKB(%s), "
            "Find_SRID('registry', 'fibre_address', 'geom'))), 1)) WHERE mev_id = %s AND batch_id = %s "
            "AND operator = %s", [multipoint_wkb(covered), mev_id, batch_id, outcome.operator])
    elif len(frame):
        conn.execute(
            "UPDATE registry.mev_import SET geom = (SELECT ST_Multi(ST_Buffer(ST_ConvexHull(ST_Collect(a.geom)), 1)) "
            "FROM registry.fibre_address a WHERE a.id IN (SELECT address_id FROM registry.broadband_supply "
            "WHERE source = %s AND deleted_at IS NULL)) WHERE mev_id = %s AND batch_id = %s AND operator = %s",
            [outcome.source, mev_id, batch_id, outcome.operator])
    _copy_report_rows(conn, mev_id, batch_id, outcome)
    return counts


def _supply_keys(address_id: pd.Series, s: pd.DataFrame) -> pd.Series:
    """``address:operator:technology:status`` per supply row: the tail built once per distinct (operator,
    technology, status) and joined to the id in one pass (four Series additions took a second per million)."""
    import operator

    parts = [s[c] for c in ("operator", "technology", "status")]
    codes = [pd.factorize(p.astype(object), use_na_sentinel=True) for p in parts]
    if any((c < 0).any() or not all(isinstance(u, str) for u in uniq) for c, uniq in codes):
        return address_id + ":" + parts[0] + ":" + parts[1] + ":" + parts[2]  # as written, whatever the cells
    combo = np.zeros(len(s), dtype=np.int64)
    for c, uniq in codes:
        combo = combo * len(uniq) + c
    combo_codes, combos = pd.factorize(combo)
    tails = []
    for k in combos.tolist():
        words = []
        for _, uniq in reversed(codes):
            k, i = divmod(k, len(uniq))
            words.append(uniq[i])
        tails.append(":" + ":".join(reversed(words)))
    tail = np.array(tails, dtype=object)[combo_codes]
    try:  # (a missing id is no text: str + str fails on it)
        keys = list(map(operator.add, address_id.to_numpy(dtype=object).tolist(), tail.tolist()))
    except TypeError:
        return address_id + ":" + parts[0] + ":" + parts[1] + ":" + parts[2]
    return pd.Series(keys, index=s.index, dtype=address_id.dtype)


def _tag(batch_id: str) -> str:
    """A short, name-safe tag of the batch for partition names."""
    import re

    return re.sub(r"[^a-z0-9]", "", batch_id.lower())[-12:] or "b"


def _upsert_supply(conn: psycopg.Connection, layer, frame: pd.DataFrame, source: str,  # noqa: ANN001
                   had: bool) -> dict[str, int]:
    """Row-by-row upsert of one source's supply (used where rows of the source sit in the default partition):
    changed rows updated, new ones inserted, rows the frame no longer holds withdrawn (soft-deleted)."""
    from psycopg import sql

    from netzatlas.registry import store

    res = store.upsert(conn, layer, frame, list(frame.columns), source=source)
    stage = sql.Identifier(f"_stage_{layer.name}")
    if not had:
        withdrawn = 0
    elif len(frame):
        conn.execute(sql.SQL("ANALYZE {}").format(stage))  # a hash anti-join, not a loop over the stage per row
        withdrawn = conn.execute(sql.SQL(
            "UPDATE registry.broadband_supply t SET deleted_at = now() WHERE t.source = %s AND t.deleted_at IS NULL "
            "AND NOT EXISTS (SELECT 1 FROM {} s WHERE s.external_id = t.external_id)").format(stage),
            [source]).rowcount
    else:
        withdrawn = conn.execute("UPDATE registry.broadband_supply SET deleted_at = now() WHERE source = %s "
                                 "AND deleted_at IS NULL", [source]).rowcount
    return {"created": res.created, "updated": res.updated, "unchanged": res.unchanged, "withdrawn": withdrawn}


def time_ordered_uuids(n: int) -> list[str]:
    """``n`` version-7 UUIDs (RFC 9562: 48-bit millisecond time, then random bits), increasing: rows written in
    one go land at the right edge of the primary-key index instead of at random pages (far fewer page reads and
    writes once the index outgrows shared_buffers)."""
    import os
    import time

    ms = int(time.time() * 1000)
    counter = np.arange(n, dtype=np.uint64)
    rand = np.frombuffer(os.urandom(8 * n), dtype=np.uint64) >> np.uint64(26)  # 38 random bits
    words = np.empty((n, 2), dtype=">u8")
    words[:, 0] = (np.uint64(ms) << np.uint64(16)) | np.uint64(0x7000) | (counter >> np.uint64(24)) & np.uint64(0xFFF)
    words[:, 1] = np.uint64(1 << 63) | ((counter & np.uint64((1 << 24) - 1)) << np.uint64(38)) | rand
    # PostgreSQL reads a uuid as 32 hex digits without hyphens too
    return np.frombuffer(words.tobytes().hex().encode(), dtype="S32").astype(str).tolist()


REPORT_ROW_COLUMNS = ["mev_id", "batch_id", "operator", "kind", "seq", "row_no", "reason", "detail", "address_id",
                      "street", "house_number", "house_number_suffix", "postcode", "city", "technology", "down_mbps",
                      "up_mbps", "planned_technology", "planned_down_mbps", "planned_up_mbps", "planned_date",
                      "binding", "vorvermarktung", "geom"]


def _copy_report_rows(conn: psycopg.Connection, mev_id: str, batch_id: str, outcome) -> None:  # noqa: ANN001
    from netzatlas.registry.copy_text import copy_csv

    srid = conn.execute("SELECT Find_SRID('registry', 'fibre_address', 'geom') AS s").fetchone()
    srid = int(srid["s"] if isinstance(srid, dict) else srid[0])
    parts = []
    for kind, df in (("unmatched", outcome.unmatched), ("conflict", outcome.conflicts)):
        if df.empty:
            continue
        d = df.copy()
        d.insert(0, "seq", range(1, len(d) + 1))
        d.insert(0, "kind", kind)
        x, y = pd.to_numeric(d["x"], errors="coerce"), pd.to_numeric(d["y"], errors="coerce")
        d["geom"] = [f"SRID={srid};POINT({a!r} {b!r})" if a == a and b == b else None for a, b in zip(x, y,
                                                                                                    strict=True)]
        parts.append(d)
    if not parts:
        return
    rows = pd.concat(parts, ignore_index=True)
    rows["mev_id"], rows["batch_id"], rows["operator"] = mev_id, batch_id, outcome.operator
    rows["address_id"] = rows["address_id"].map(lambda v: None if v is None or v != v else str(v))
    with conn.cursor() as cur:
        with cur.copy(f"COPY registry.mev_report_row ({', '.join(REPORT_ROW_COLUMNS)}) FROM STDIN (FORMAT csv)") as cp:
            cp.write(copy_csv(rows, REPORT_ROW_COLUMNS, {}))
