"""What the running API knows: the connection pool, the layers, their policies. Built once at start-up."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace

from psycopg import Connection
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from netzatlas.api.records import record_check
from netzatlas.errors import NotFound
from netzatlas.registry.db import COMPUTED, Layer, catalogue, value_lists_of

#: Columns never served as properties (the id is the feature id, geom the geometry).
HIDDEN = {"id", "geom"}
#: Types a client may filter and sort by.
QUERYABLE_TYPES = {"text", "int2", "int4", "int8", "float4", "float8", "numeric", "bool", "date", "timestamptz",
                   "uuid"}
JSON_TYPES = {"text": "string", "int2": "integer", "int4": "integer", "int8": "integer", "float4": "number",
              "float8": "number", "numeric": "number", "bool": "boolean", "date": "string", "timestamptz": "string",
              "uuid": "string", "jsonb": "object", "_text": "array"}
TITLES = {
    "fibre_address": "Addresses and their broadband supply (Adressen)",
    "mobile_site": "Mobile sites (Mobilfunkstandorte)",
    "wlan_hotspot": "Public WLAN hotspots (öffentliches WLAN)",
    "streetlight": "Streetlights (Straßenbeleuchtung)",
    "charging_point": "Charging points (Ladepunkte)",
    "charging_evse": "Charging points' EVSEs, OCPI (Ladepunkte je Ladeeinrichtung)",
    "charging_connector": "Connectors of the EVSEs, OCPI (Stecker)",
    "municipality": "Municipal boundary (Gemeindegrenze)",
    "population_grid": "Population grid, Zensus 2011 (Bevölkerungsraster)",
    "poi": "Points of interest (Orte mit Publikumsverkehr)",
    "building": "Buildings with heights (Gebäude)",
    "road": "Roads (Straßen)",
    "candidate_site": "Candidate sites, city-owned (Standortangebote der Stadt)",
    "gigabit_result": "Gigabit classification per address (result; Ergebnis Förderfähigkeit)",
    "funding_area_result": "Funding areas (result; Fördergebiete)",
    "coverage_hole_result": "Mobile coverage holes per operator and technology (result; Funklöcher)",
    "mev_summary_result": "Market exploration: each operator's answers per import (result; Markterkundung)",
    "mev_unmatched_result": "Market exploration: answer rows not matched to the register (result)",
    "mev_conflict_result": "Market exploration: conflicting answers (result)",
    "mast_request": "Mast requests and the city's decisions (Standortanfragen der Mobilfunknetzbetreiber)",
    "monument": "Listed monuments (Denkmalliste)",
    "municipal_property": "Municipal property, parcels and buildings (städtische Liegenschaften)",
}
@dataclass
class ApiState:
    pool: ConnectionPool
    layers: dict[str, Layer]
    public: dict[str, bool]
    sensitive: dict[str, set[str]]
    confidential: set[str]
    storage_srid: int
    database_url: str
    extra: dict[str, object] = field(default_factory=dict)
    value_lists: dict[str, dict[str, set[str]]] = field(default_factory=dict)  # layer → column → allowed codes
    value_lists_read: float = 0.0  # time.monotonic() of the last read

    def refresh_value_lists(self, min_age_s: float = 5.0) -> bool:
        """Read the value lists again (a code may have been added since start-up); at most every ``min_age_s``
        seconds, so a request full of wrong codes costs one read. Returns whether they were read."""
        if time.monotonic() - self.value_lists_read < min_age_s:
            return False
        with self.pool.connection() as conn:
            self.value_lists = _read_value_lists(conn, self.layers)
        self.value_lists_read = time.monotonic()
        return True

    def layer(self, collection_id: str) -> Layer:
        layer = self.layers.get(collection_id)
        if layer is None or layer.geometry_type is None:
            raise NotFound(f"there is no collection {collection_id!r}",
                           hint="the collections are listed at /collections")
        return layer

    def hidden_for(self, layer: Layer, anonymous: bool) -> set[str]:
        if not anonymous:
            return set()
        return self.sensitive.get("*", set()) | self.sensitive.get(layer.name, set())

    def queryables(self, layer: Layer) -> dict[str, str]:
        q = {c.name: c.data_type for c in layer.columns if c.data_type in QUERYABLE_TYPES}
        q["geom"] = "geometry"
        return q


#: who runs the current analysis process (set by api/processes.py around the process function)
CURRENT_ACTOR: ContextVar[str | None] = ContextVar("netzatlas_process_actor", default=None)
#: the organization of the key running the current process and whether it is an admin key (records a process
#: changes, such as a mast request, may only be changed by their owner organization or an admin)
CURRENT_CALLER: ContextVar[tuple[str | None, bool]] = ContextVar("netzatlas_process_caller", default=(None, False))
#: the key running the current process (an ``api.auth.Principal``; None outside a job): what a process answers
#: may depend on it, such as whose names it shows (``authz.shown_actor``)
CURRENT_PRINCIPAL: ContextVar[object | None] = ContextVar("netzatlas_process_principal", default=None)


class ActorPool(ConnectionPool):
    """The pool; a connection taken while a process runs writes its history under the process's caller."""

    @contextmanager
    def connection(self, timeout: float | None = None) -> Iterator[Connection]:
        with super().connection(timeout) as conn:
            who = CURRENT_ACTOR.get()
            if who:
                conn.execute("SELECT set_config('netzatlas.user', %s, false)", [who])
                conn.info_actor = True  # type: ignore[attr-defined]
            yield conn


def _reset_actor(conn: Connection) -> None:
    """Back in the pool: no process's name sticks to the connection."""
    if getattr(conn, "info_actor", False):
        conn.execute("SELECT set_config('netzatlas.user', '', false)")
        conn.commit()
        conn.info_actor = False  # type: ignore[attr-defined]


def load_state(url: str, storage_srid: int, pool_size: int = 10) -> ApiState:
    pool = ActorPool(url, min_size=1, max_size=pool_size, kwargs={"row_factory": dict_row}, open=True,
                     name="netzatlas", reset=_reset_actor)
    with pool.connection() as conn:
        layers = {k: replace(v, extra={**v.extra, "computed": COMPUTED[k]}) if k in COMPUTED else v
                  for k, v in catalogue(conn).items() if v.geometry_type and v.kind != "child"}
        policy = conn.execute("SELECT layer, public, confidential FROM registry.layer_policy").fetchall()
        public = {r["layer"]: r["public"] and not r["confidential"] for r in policy}
        confidential = {r["layer"] for r in policy if r["confidential"]}
        sensitive: dict[str, set[str]] = {}
        for r in conn.execute("SELECT layer, property FROM registry.sensitive_property"):
            sensitive.setdefault(r["layer"], set()).add(r["property"])
        lists = _read_value_lists(conn, layers)
    return ApiState(pool, layers, {k: public.get(k, True) for k in layers}, sensitive, confidential, storage_srid, url,
                    value_lists=lists, value_lists_read=time.monotonic())


def _read_value_lists(conn, layers: dict[str, Layer]) -> dict[str, dict[str, set[str]]]:  # noqa: ANN001
    """The collections' value lists; owner_org is left out — the API sets it from the key."""
    return {name: {col: codes for col, codes in cols.items() if col != "owner_org"}
            for name, cols in value_lists_of(conn, layers.values()).items()}


NUMERIC = {"int2", "int4", "int8", "float4", "float8", "numeric"}


def value_checker(state: ApiState, layer: Layer) -> Callable[[dict], list[str]]:
    """What the database would refuse, said before it does: unknown codes, wrong JSON types, NUL characters, a
    record layer's values beyond the limits of its CLI command (api/records.py). The layer's types and value lists
    are looked up once, so checking 100,000 features stays cheap."""
    types = {c.name: c.data_type for c in layer.columns}
    lists = dict(state.value_lists.get(layer.name, {}))
    record = record_check(layer.name)

    def problems(props: dict) -> list[str]:
        out = []
        for key, value in props.items():
            if value is None:
                continue
            name = "properties" if key == "attributes" else key
            if isinstance(value, str) and "\x00" in value:
                out.append(f"{key}: text must not contain NUL characters")
            t = types.get(name)
            if t is None:
                continue
            if name == "properties":
                if _has_nul(value):
                    out.append("attributes: text must not contain NUL characters")
                continue
            if isinstance(value, (dict, list)) and t not in ("_text", "jsonb"):
                out.append(f"{key}: expected a single value, got {type(value).__name__}")
            elif isinstance(value, bool) and t in NUMERIC:
                out.append(f"{key}: expected a number, got {value!r}")
            elif name in lists and isinstance(value, str) and value not in lists[name] \
                    and not _known_after_refresh(state, layer, lists, name, value):
                out.append(f"{key}: unknown value {value!r} (allowed: {', '.join(sorted(lists[name]))})")
        return out + record(props) if record is not None else out   # a record layer's limits (api/records.py)

    return problems


def _known_after_refresh(state: ApiState, layer: Layer, lists: dict[str, set[str]], name: str, value: str) -> bool:
    """Whether a code missing from the request's lists has been added since (read again, at most every 5 s)."""
    state.refresh_value_lists()
    lists.update(state.value_lists.get(layer.name, {}))
    return value in lists[name]


def value_problems(state: ApiState, layer: Layer, props: dict) -> list[str]:
    """``value_checker`` for one feature."""
    return value_checker(state, layer)(props)


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False
