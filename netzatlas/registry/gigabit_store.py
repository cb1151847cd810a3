"""The registry side of the gigabit analysis: addresses and supply in, SQL classification, snapshots out."""

from __future__ import annotations

from datetime import date

import geopandas as gpd
import pandas as pd
import psycopg
import shapely

from netzatlas.gigabit.classify import OUTPUT_COLUMNS
from netzatlas.gigabit.classify_sql import apply_settings, classification_sql
from netzatlas.gigabit.programmes import Programme
from netzatlas.registry.importers.load import ImportReport, load_layers


def read_addresses(conn: psycopg.Connection) -> gpd.GeoDataFrame:
    rows = conn.execute("SELECT id::text AS address_id, external_id, street, house_number, house_number_suffix, "
                        "postcode, city, dwellings, is_business, socio_economic, ST_AsBinary(geom) AS wkb, "
                        "ST_SRID(geom) AS srid FROM registry.fibre_address WHERE deleted_at IS NULL ORDER BY id"
                        ).fetchall()
    df = pd.DataFrame(rows)
    if df.empty:
        return gpd.GeoDataFrame({"address_id": []}, geometry=[], crs="EPSG:25832")
    srid = int(df["srid"].iloc[0])
    geoms = shapely.from_wkb([bytes(b) for b in df.pop("wkb")])
    return gpd.GeoDataFrame(df.drop(columns="srid"), geometry=geoms, crs=f"EPSG:{srid}")


def read_supply(conn: psycopg.Connection, source: str | None = None) -> pd.DataFrame:
    q = ("SELECT address_id::text AS address_id, operator, technology, down_mbps, up_mbps, status, planned_date, "
         "binding, source FROM registry.broadband_supply WHERE deleted_at IS NULL")
    rows = conn.execute(q + (" AND source = %s" if source else ""), [source] if source else []).fetchall()
    return pd.DataFrame(rows, columns=["address_id", "operator", "technology", "down_mbps", "up_mbps", "status",
                                       "planned_date", "binding", "source"])


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


def save_snapshot(conn: psycopg.Connection, snapshot_id: str, programme: Programme, reference_date: date, *,
                  title: str | None = None, simulated: bool = False, note: str | None = None) -> int:
    """Classify in the database and keep the result as a dated snapshot (replacing one of the same id)."""
    query, params = classification_sql(conn, programme, reference_date)
    apply_settings(conn)
    conn.execute("DELETE FROM registry.gigabit_snapshot WHERE id = %s", [snapshot_id])
    conn.execute("INSERT INTO registry.gigabit_snapshot (id, title, programme, reference_date, simulated, note) "
                 "VALUES (%s, %s, %s, %s, %s, %s)", [snapshot_id, title, programme.id, reference_date, simulated, note])
    cols = ", ".join(OUTPUT_COLUMNS)
    cur = conn.execute(f"INSERT INTO registry.gigabit_classification (snapshot_id, {cols}) "
                       f"SELECT %(snap)s, address_id, {', '.join(OUTPUT_COLUMNS[1:])} FROM ({query}) q",
                       {**params, "snap": snapshot_id})
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
