"""Connections and the catalogue of registry layers, introspected from the database."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from netzatlas.config import Settings
from netzatlas.errors import ConstraintViolation, DatabaseUnavailable, NotFound

#: Columns every layer has and that importers / clients do not set directly.
SYSTEM_COLUMNS = ("id", "version", "created_at", "updated_at", "updated_by", "deleted_at")

#: Properties computed when a feature is served (API), not stored — an importer leaves them out: layer → name →
#: SQL over the row alias ``{t}``.
#: ``days_left`` of a mast request: days until the end of the coordination period while the request is open
#: (the open statuses of ``mobile_sites.mast_request.OPEN_STATUSES``), null once decided.
COMPUTED = {
    # the EVSE's live OCPI status (registry.evse_status, rev. 0022): kept out of the versions, served with the EVSE
    "charging_evse": {
        "live_status": "(SELECT s.status FROM registry.evse_status s WHERE s.evse = {t}.id)",
        "live_status_at": "(SELECT s.status_at FROM registry.evse_status s WHERE s.evse = {t}.id)",
    },
    "mast_request": {
        "days_left": "CASE WHEN {t}.status IN ('received', 'under_review', 'alternative_proposed') "
                     "THEN {t}.deadline - current_date END",
    },
}

#: Asset layers (the register proper) versus reference layers.
ASSET_LAYERS = ("fibre_address", "mobile_site", "wlan_hotspot", "streetlight", "charging_point", "charging_evse",
                "charging_connector")   # the last two: a charger's EVSEs and connectors (OCPI shape, rev. 0022)
REFERENCE_LAYERS = ("municipality", "population_grid", "poi", "building", "road", "candidate_site", "monument",
                    "municipal_property")
CHILD_TABLES = ("mobile_sector", "broadband_supply")
#: Case records with a location, served and written like layers (mast requests and their decisions, rev. 0020).
RECORD_LAYERS = ("mast_request",)
#: Analysis results, served read-only as collections (views over the result tables).
RESULT_LAYERS = ("gigabit_result", "funding_area_result", "coverage_hole_result", "mev_summary_result",
                 "mev_unmatched_result", "mev_conflict_result")


def resolve_url(settings: Settings | None = None, *, start: bool = True) -> str:
    from netzatlas.registry.localdb import database_url

    return database_url(settings, start=start)


def connect(url: str | None = None, *, autocommit: bool = False, user: str | None = None) -> psycopg.Connection:
    """A psycopg connection with dict rows; ``user`` is recorded as the actor in the history."""
    url = url or resolve_url()
    try:
        conn = psycopg.connect(url, autocommit=autocommit, row_factory=dict_row)
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(
            f"cannot connect to the database: {str(exc).strip()}",
            hint="start the embedded one with `netzatlas db start` or check NETZATLAS_DATABASE_URL",
        ) from exc
    if user:
        conn.execute("SELECT set_config('netzatlas.user', %s, false)", [user])
        if not autocommit:
            conn.commit()
    return conn


@contextmanager
def session(url: str | None = None, user: str | None = None) -> Iterator[psycopg.Connection]:
    """A connection that commits on success and rolls back on error."""
    conn = connect(url, user=user)
    try:
        yield conn
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.close()


@dataclass(frozen=True)
class Column:
    name: str
    data_type: str  # PostgreSQL type name (udt), e.g. text, int4, float8, bool, date, jsonb, _text, geometry
    nullable: bool
    has_default: bool
    default: str | None = None  # the default expression, as the database reports it


@dataclass(frozen=True)
class Layer:
    """One registry table as the importers and the API see it."""

    name: str
    schema: str
    columns: tuple[Column, ...]
    geometry_type: str | None
    srid: int | None
    kind: str  # asset | reference | child
    description: str | None = None
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def qualified(self) -> str:
        return f'{self.schema}."{self.name}"'

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise NotFound(f"layer {self.name} has no column {name!r}", hint=f"columns: {', '.join(self.column_names)}")

    @property
    def data_columns(self) -> tuple[Column, ...]:
        """Columns a writer may set (everything but the system columns and the geometry)."""
        return tuple(c for c in self.columns if c.name not in SYSTEM_COLUMNS and c.name != "geom")


_CATALOGUE_SQL = """
SELECT c.table_name, c.column_name, c.udt_name, c.is_nullable = 'YES' AS nullable,
       c.column_default IS NOT NULL AS has_default, c.column_default, gc.type AS geometry_type, gc.srid,
       obj_description(format('%%I.%%I', c.table_schema, c.table_name)::regclass, 'pg_class') AS description
FROM information_schema.columns c
LEFT JOIN geometry_columns gc
  ON gc.f_table_schema = c.table_schema AND gc.f_table_name = c.table_name AND gc.f_geometry_column = c.column_name
WHERE c.table_schema = 'registry' AND c.table_name = ANY(%(names)s)
ORDER BY c.table_name, c.ordinal_position
"""


def catalogue(conn: psycopg.Connection) -> dict[str, Layer]:
    """All registry layers and child tables, from the database (one round trip)."""
    names = list(ASSET_LAYERS + REFERENCE_LAYERS + CHILD_TABLES + RESULT_LAYERS + RECORD_LAYERS)
    cols: dict[str, list[Column]] = {}
    geo: dict[str, tuple[str | None, int | None]] = {}
    desc: dict[str, str | None] = {}
    with conn.cursor(row_factory=dict_row) as cur:
        try:
            rows = cur.execute(_CATALOGUE_SQL, {"names": names}).fetchall()
        except psycopg.errors.UndefinedTable:  # not even PostGIS's catalogue: a database never set up
            raise _no_registry(conn) from None
        for r in rows:
            cols.setdefault(r["table_name"], []).append(
                Column(r["column_name"], r["udt_name"], r["nullable"], r["has_default"], r["column_default"])
            )
            if r["geometry_type"]:
                geo[r["table_name"]] = (r["geometry_type"], r["srid"])
            desc[r["table_name"]] = r["description"]
    out: dict[str, Layer] = {}
    for name in names:
        if name not in cols:
            continue
        kind = ("asset" if name in ASSET_LAYERS else "reference" if name in REFERENCE_LAYERS
                else "result" if name in RESULT_LAYERS else "record" if name in RECORD_LAYERS else "child")
        gtype, srid = geo.get(name, (None, None))
        out[name] = Layer(name, "registry", tuple(cols[name]), gtype, srid, kind, desc.get(name))
    return out


def _no_registry(conn: psycopg.Connection) -> DatabaseUnavailable:
    """The error for a database without the registry's tables (never migrated), with the command that makes them."""
    return DatabaseUnavailable(
        f"the database {conn.info.dbname!r} holds no netzatlas registry (its tables were never created)",
        hint="create them with `netzatlas db upgrade` (the embedded database: `netzatlas db start`; a demo registry "
             "to try things on: `netzatlas demo`)")


def get_layer(conn: psycopg.Connection, name: str) -> Layer:
    """The layer ``name``; an unknown name is refused with the known ones, a database without the registry's
    tables (never migrated) with the command that creates them."""
    layers = catalogue(conn)
    if not layers:
        raise _no_registry(conn)
    if name not in layers:
        raise NotFound(f"unknown layer {name!r}", hint=f"known layers: {', '.join(sorted(layers))}")
    return layers[name]


def value_lists(conn: psycopg.Connection, layer: Layer) -> dict[str, set[str]]:
    """The codes each value-list column of a layer may hold (status, category, owner_org, …), from
    ``registry.value_reference`` (revision 0009); so importers can name a wrong code per row before the database
    refuses the whole statement."""
    return value_lists_of(conn, [layer]).get(layer.name, {})


def value_lists_of(conn: psycopg.Connection, layers: Iterable[Layer]) -> dict[str, dict[str, set[str]]]:
    """``value_lists`` for several layers (layer name → column → codes), each value list read once."""
    tables = {f"{layer.schema}.{layer.name}": layer.name for layer in layers}
    out: dict[str, dict[str, set[str]]] = {}
    codes: dict[tuple[str, str], set[str]] = {}
    with conn.cursor(row_factory=dict_row) as cur:
        refs = cur.execute("SELECT table_name::text AS tbl, column_name::text AS col, ref_table::text AS ref, "
                           "ref_column::text AS ref_col FROM registry.value_reference "
                           "WHERE table_name::text = ANY(%s)", [list(tables)]).fetchall()
        for r in refs:
            key = (r["ref"], r["ref_col"])
            if key not in codes:
                rows = cur.execute(sql.SQL("SELECT {}::text AS code FROM {}").format(
                    sql.Identifier(r["ref_col"]), sql.Identifier(*r["ref"].split(".", 1)))).fetchall()
                codes[key] = {x["code"] for x in rows}
            out.setdefault(tables[r["tbl"]], {})[r["col"]] = codes[key]
    return out


def refusal(exc: psycopg.errors.IntegrityError | psycopg.errors.DataError) -> ConstraintViolation:
    """A database refusal of a value (unknown code, duplicate key, failed check, a NUL byte or a value out of range)
    in the database's own words."""
    diag = exc.diag
    return ConstraintViolation(f"the database refused the write: {diag.message_primary or exc}",
                               hint=diag.message_detail or diag.message_hint)
