"""Vehicle counts in the registry (``registry.vehicle_count``, revision 0023): the write of one import run (one
transaction, idempotent by (source, external_id = "<region key>/<Stichtag>"), history by the table's triggers)
and the latest counts per region for the AFIR check."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd
import psycopg

from netzatlas.registry import store
from netzatlas.registry.db import connect
from netzatlas.registry.importers.vehicles import VehicleCounts

KIND = "vehicles"
_COLS = ("region_key", "region_level", "name", "stichtag", "cars_total", "bev", "phev", "properties")


@dataclass
class VehicleImport:
    """What one import of a vehicle count table did."""

    batch_id: str
    source: str
    created: int
    updated: int
    unchanged: int
    stichtage: list[str]


def write_vehicle_counts(counts: VehicleCounts, *, source: str, label: str, url: str | None = None,
                         owner_org: str | None = None) -> VehicleImport:
    """Write the rows of ``counts`` in one transaction: new regions/dates inserted, changed counts updated (a new
    version with history), equal rows untouched (a second identical run writes 0 rows)."""
    frame = counts.rows
    batch_id = store.new_batch_id(KIND)
    stichtage = sorted({d.isoformat() for d in frame["stichtag"]})
    vintage = ", ".join(f"Stichtag {pd.Timestamp(d):%d.%m.%Y}" for d in stichtage) or "nicht angegeben / not stated"
    props = json.dumps({"simulated": True} if counts.simulated else {})
    with connect(url) as conn, conn.transaction():
        store.begin_batch(conn, batch_id, kind=KIND, source=source, target="vehicle_count")
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('vehicle_count/' || %s))", [source])
        conn.execute("CREATE TEMP TABLE vc_stage (external_id text, region_key text, region_level text, name text, "
                     "stichtag date, cars_total integer, bev integer, phev integer, properties jsonb) ON COMMIT DROP")
        with conn.cursor().copy("COPY vc_stage FROM STDIN") as cp:
            for r in frame.itertuples(index=False):
                cp.write_row([f"{r.region_key}/{r.stichtag.isoformat()}", r.region_key, r.region_level, r.name,
                              r.stichtag, None if pd.isna(r.cars_total) else int(r.cars_total), int(r.bev),
                              int(r.phev), props])
        cols = ", ".join(_COLS)
        updated = conn.execute(
            f"UPDATE registry.vehicle_count t SET ({cols}) = ({', '.join('s.' + c for c in _COLS)}), "
            "deleted_at = NULL FROM vc_stage s WHERE t.source = %s AND t.external_id = s.external_id "
            f"AND ({', '.join('t.' + c for c in _COLS)}, t.deleted_at IS NULL) IS DISTINCT FROM "
            f"({', '.join('s.' + c for c in _COLS)}, true)", [source]).rowcount
        created = conn.execute(
            f"INSERT INTO registry.vehicle_count (source, external_id, owner_org, {cols}) "
            f"SELECT %s, s.external_id, %s, {', '.join('s.' + c for c in _COLS)} FROM vc_stage s "
            "WHERE NOT EXISTS (SELECT 1 FROM registry.vehicle_count t WHERE t.source = %s "
            "AND t.external_id = s.external_id)", [source, owner_org, source]).rowcount
        unchanged = len(frame) - created - updated
        res = store.UpsertResult("vehicle_count", created, updated, unchanged, counts.rejects)
        store.finish_batch(conn, batch_id, [res], {"files": [label], "vintage": vintage, "stichtage": stichtage,
                                                   "simulated": counts.simulated})
    return VehicleImport(batch_id, source, created, updated, unchanged, stichtage)


def latest_counts(conn: psycopg.Connection) -> pd.DataFrame:
    """The latest counts per region (the newest Stichtag; of equal dates the latest written), with their source
    and whether they are simulated."""
    rows = conn.execute(
        "SELECT DISTINCT ON (region_key) region_key, region_level, name, stichtag, cars_total, bev, phev, source, "
        "coalesce((properties->>'simulated')::boolean, false) AS simulated FROM registry.vehicle_count "
        "WHERE deleted_at IS NULL ORDER BY region_key, stichtag DESC, updated_at DESC").fetchall()
    cols = ["region_key", "region_level", "name", "stichtag", "cars_total", "bev", "phev", "source", "simulated"]
    return pd.DataFrame([dict(r) for r in rows], columns=cols)


@dataclass
class AfirInputs:
    """What the AFIR checks read from the registry, with the date of each input."""

    counts: pd.DataFrame
    chargers: object  # GeoDataFrame of the public chargers (conflated)
    municipalities: object  # GeoDataFrame of the municipality layer (ars)


def afir_inputs(conn: psycopg.Connection) -> AfirInputs:
    """The latest vehicle counts per region, the public chargers (an OSM station linked to a register entry
    counted once) and the municipality boundaries."""
    from netzatlas.registry import analysis_inputs as ai

    chargers = ai.chargers(conn)
    units = _evse_units(conn)
    if len(chargers) and units:  # OCPI EVSEs: their capabilities and per-point power complete the station row
        props = []
        for cid, p in zip(chargers["id"].astype(str), chargers["properties"], strict=True):
            p = dict(p) if isinstance(p, dict) else {}
            u = units.get(cid)
            if u is not None:
                if u["capabilities"]:
                    p["capabilities"] = sorted(set(p.get("capabilities") or []) | set(u["capabilities"]))
                if not p.get("plugs") and u["plugs"]:
                    p["plugs"] = u["plugs"]
            props.append(p)
        chargers["properties"] = props
    return AfirInputs(latest_counts(conn), chargers, ai.layer(conn, "municipality"))


def _evse_units(conn: psycopg.Connection) -> dict[str, dict]:
    """Per station (charging_point id): its EVSEs' capabilities and each EVSE's power in kW (the strongest
    connector: max_electric_power, else voltage × amperage × phases — as ``ocpi_model.connector_power_w``; 0 is
    unknown), as ``plugs`` like the register's slots. EVSEs whose live status is REMOVED (OCPI's way of saying
    an EVSE was dismantled) are not there."""
    if conn.execute("SELECT to_regclass('registry.charging_evse') AS t").fetchone()["t"] is None:
        return {}
    rows = conn.execute(
        "SELECT e.location::text AS loc, e.uid, e.capabilities, max(nullif(coalesce(nullif(c.max_electric_power, "
        "0), c.max_voltage * c.max_amperage * CASE WHEN c.power_type = 'AC_3_PHASE' THEN 3 WHEN c.power_type IN "
        "('AC_2_PHASE', 'AC_2_PHASE_SPLIT') THEN 2 ELSE 1 END), 0)) / 1000.0 AS kw "
        "FROM registry.charging_evse e LEFT JOIN registry.charging_connector c ON c.evse = e.id "
        "AND c.deleted_at IS NULL LEFT JOIN registry.evse_status s ON s.evse = e.id "
        "WHERE e.deleted_at IS NULL AND s.status IS DISTINCT FROM 'REMOVED' "
        "GROUP BY e.location, e.uid, e.capabilities").fetchall()
    out: dict[str, dict] = {}
    for r in rows:
        u = out.setdefault(r["loc"], {"capabilities": set(), "plugs": []})
        u["capabilities"] |= set(r["capabilities"] or [])
        if r["kw"] is not None:
            u["plugs"].append({"point": r["uid"], "power_kw": [float(r["kw"])]})
    return out
