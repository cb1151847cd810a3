"""What the project generator reads from the registry: layers, value references, comments, checks, the newest
result snapshots and the extent (one connection, a handful of catalogue queries)."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from netzatlas import cartography
from netzatlas.qgis_project.model import (
    CHILDREN,
    REFERENCE_IN_PROJECT,
    RESULTS_IN_PROJECT,
    SNAPSHOT_FIELD,
    ProjectSpec,
    ValueRef,
    plan_project,
)
from netzatlas.registry.db import ASSET_LAYERS, Layer, catalogue

_TABLES = ASSET_LAYERS + tuple(CHILDREN) + REFERENCE_IN_PROJECT + RESULTS_IN_PROJECT
_LABEL_COLUMNS = ("label_de", "name", "label_en", "code", "slug")


@dataclass(frozen=True)
class RegistryFacts:
    layers: dict[str, Layer]
    refs: dict[str, list[ValueRef]]
    comments: dict[str, dict[str, str]]
    checks: dict[str, list[str]]
    snapshots: dict[str, str]
    srid: int
    extent: tuple[float, float, float, float] | None


def _refs(conn: psycopg.Connection) -> dict[str, list[ValueRef]]:
    rows = conn.execute(
        "SELECT split_part(v.table_name::text, '.', 2) AS tbl, v.column_name::text AS col, "
        "split_part(v.ref_table::text, '.', 2) AS ref, v.ref_column::text AS key, "
        "(SELECT array_agg(a.attname::text) FROM pg_attribute a WHERE a.attrelid = v.ref_table AND a.attnum > 0 "
        "AND NOT a.attisdropped) AS cols FROM registry.value_reference v "
        "WHERE v.table_name::text LIKE 'registry.%' ORDER BY 1, 2").fetchall()
    out: dict[str, list[ValueRef]] = {}
    for r in rows:
        label = next((c for c in _LABEL_COLUMNS if c in (r["cols"] or []) and c != r["key"]), r["key"])
        out.setdefault(r["tbl"], []).append(ValueRef(r["col"], r["ref"], r["key"], label))
    return out


def _comments_and_checks(conn: psycopg.Connection) -> tuple[dict[str, dict[str, str]], dict[str, list[str]]]:
    comments: dict[str, dict[str, str]] = {}
    for r in conn.execute(
            "SELECT c.relname AS tbl, a.attname AS col, col_description(c.oid, a.attnum) AS text "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid "
            "WHERE n.nspname = 'registry' AND c.relname = ANY(%s) AND a.attnum > 0 "
            "AND col_description(c.oid, a.attnum) IS NOT NULL", [list(_TABLES)]):
        comments.setdefault(r["tbl"], {})[r["col"]] = r["text"]
    checks: dict[str, list[str]] = {}
    for r in conn.execute(
            "SELECT c.relname AS tbl, pg_get_constraintdef(k.oid) AS def FROM pg_constraint k "
            "JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'registry' AND k.contype = 'c' AND c.relname = ANY(%s)", [list(_TABLES)]):
        checks.setdefault(r["tbl"], []).append(r["def"])
    return comments, checks


def _newest(conn: psycopg.Connection, layers: dict[str, Layer]) -> dict[str, str]:
    """Per result layer the snapshot (run) of its newest row."""
    out: dict[str, str] = {}
    for name in RESULTS_IN_PROJECT:
        if name not in layers:
            continue
        col = SNAPSHOT_FIELD[name]
        row = conn.execute(f'SELECT "{col}" AS s FROM registry."{name}" WHERE "{col}" IS NOT NULL '  # noqa: S608
                           "ORDER BY created_at DESC NULLS LAST LIMIT 1").fetchone()
        if row and row["s"]:
            out[name] = row["s"]
    return out


def _extent(conn: psycopg.Connection) -> tuple[float, float, float, float] | None:
    """Where the project opens: the configured municipality (NETZATLAS_MUNICIPALITY_ARS, by ARS or its AGS) when the
    registry holds it, else all municipalities, else the addresses, else the streetlights."""
    from netzatlas.config import get_settings

    s = get_settings()
    own = ("(ars = %s OR (length(ars) = 12 AND left(ars, 5) || right(ars, 3) = %s))", [s.municipality_ars or "",
                                                                                       s.municipality_ags or ""])
    for table, (cond, params) in (("municipality", own), ("municipality", ("true", [])),
                                  ("fibre_address", ("true", [])), ("streetlight", ("true", []))):
        row = conn.execute(f'SELECT ST_XMin(e) AS x0, ST_YMin(e) AS y0, ST_XMax(e) AS x1, ST_YMax(e) AS y1 FROM '
                           f'(SELECT ST_Extent(geom) AS e FROM registry."{table}" WHERE deleted_at IS NULL '
                           f'AND {cond}) s', params).fetchone()  # noqa: S608 - fixed names and conditions
        if row and row["x0"] is not None:
            return (row["x0"], row["y0"], row["x1"], row["y1"])
    return None


def read_facts(conn: psycopg.Connection) -> RegistryFacts:
    """Everything :func:`~netzatlas.qgis_project.model.plan_project` needs, from the database."""
    layers = {k: v for k, v in catalogue(conn).items() if k in _TABLES}
    comments, checks = _comments_and_checks(conn)
    srid = next((la.srid for la in layers.values() if la.srid), 25832)
    return RegistryFacts(layers, _refs(conn), comments, checks, _newest(conn, layers), srid, _extent(conn))


def titles() -> dict[str, str]:
    """Layer titles (German / English) from the shared cartography, the child tables' own."""
    out = {"mobile_sector": "Sektoren / sectors", "broadband_supply": "Versorgung / broadband supply"}
    for key in cartography.keys():
        out[key] = cartography.style(key).label
    return out


def privileges(conn: psycopg.Connection, login: str, tables: list[str]) -> dict[str, tuple[bool, bool]] | None:
    """Per table whether ``login`` may read it and change it (SELECT, UPDATE); None when there is no such role
    (yet): then the project holds every layer and the database decides when it is opened."""
    if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [login]).fetchone():
        return None
    rows = conn.execute(
        "SELECT t AS name, has_table_privilege(%s, format('registry.%%I', t), 'SELECT') AS r, "
        "has_table_privilege(%s, format('registry.%%I', t), 'UPDATE') AS w FROM unnest(%s::text[]) t",
        [login, login, tables]).fetchall()
    return {r["name"]: (r["r"], r["w"]) for r in rows}


def build_spec(conn: psycopg.Connection, service: str, login: str | None = None) -> tuple[ProjectSpec, list[str]]:
    """The project for the registry, for ``login`` when given: layers they may not read are left out (returned as
    the second item), layers they may not change are read-only."""
    facts = read_facts(conn)
    layers, left_out = dict(facts.layers), []
    read_only: set[str] = set()
    rights = privileges(conn, login, sorted(layers) + _value_lists(facts)) if login else None
    if rights is not None:
        left_out = sorted(n for n in layers if not rights.get(n, (False, False))[0])
        layers = {n: la for n, la in layers.items() if n not in left_out}
        read_only = {n for n in layers if not rights[n][1]}
    spec = plan_project(layers, facts.refs, facts.comments, facts.checks, facts.snapshots, service=service,
                        srid=facts.srid, titles=titles(), styles=set(cartography.keys()), read_only=read_only,
                        extent=facts.extent, crs_wkt=_wkt(facts.srid))
    return spec, left_out


def _wkt(srid: int) -> str:
    """WKT2 with the EPSG id, from which QGIS knows the CRS and its authority id (PostGIS's WKT1 loses the id)."""
    from pyproj import CRS

    return CRS.from_epsg(srid).to_wkt()


def _value_lists(facts: RegistryFacts) -> list[str]:
    return sorted({r.table for refs in facts.refs.values() for r in refs})
