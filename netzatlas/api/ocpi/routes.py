"""The OCPI 2.2.1 routes (HTTP only; the registry side is netzatlas.registry.ocpi_store)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import psycopg
from fastapi import APIRouter, Body, Depends, Header, Query, Request
from fastapi.responses import JSONResponse

from netzatlas.api.deps import get_state
from netzatlas.api.ocpi.envelope import OcpiRoute, envelope, token_from
from netzatlas.api.state import ApiState
from netzatlas.charging.ocpi_model import (
    EVSE,
    Connector,
    EvseStatus,
    Location,
    ahead_of_clock,
    clock_refusal,
    parse_model,
    with_live_status,
)
from netzatlas.errors import Forbidden, InvalidInput, NotFound
from netzatlas.registry import ocpi_store as store

VERSION = "2.2.1"
BASE = f"/ocpi/{VERSION}"
#: the largest page the sender hands out (``X-Limit``)
MAX_LIMIT = 1000

router = APIRouter(route_class=OcpiRoute, tags=["OCPI 2.2.1"])


def _url(request: Request, path: str) -> str:
    return str(request.base_url).rstrip("/") + path


def _party(state: ApiState, authorization: str | None, *, registration: bool = False) -> store.Party:
    token = token_from(authorization)
    with state.pool.connection() as conn:
        return store.party_for_token(conn, token, registration=registration)


# ---------------------------------------------------------------- versions and credentials
@router.get("/ocpi/versions")
def versions(request: Request, state: ApiState = Depends(get_state),
             authorization: str | None = Header(None)) -> JSONResponse:
    """The OCPI versions this server speaks (token A or C)."""
    _party(state, authorization, registration=True)
    return envelope([{"version": VERSION, "url": _url(request, BASE)}])


@router.get(BASE)
def version_details(request: Request, state: ApiState = Depends(get_state),
                    authorization: str | None = Header(None)) -> JSONResponse:
    """The endpoints of OCPI 2.2.1 here: credentials, locations (receiver and sender)."""
    _party(state, authorization, registration=True)
    return envelope({"version": VERSION, "endpoints": [
        {"identifier": "credentials", "role": "SENDER", "url": _url(request, f"{BASE}/credentials")},
        {"identifier": "credentials", "role": "RECEIVER", "url": _url(request, f"{BASE}/credentials")},
        {"identifier": "locations", "role": "RECEIVER", "url": _url(request, f"{BASE}/receiver/locations")},
        {"identifier": "locations", "role": "SENDER", "url": _url(request, f"{BASE}/sender/locations")},
    ]})


def _our_credentials(request: Request, token: str) -> dict[str, Any]:
    return {"token": token, "url": _url(request, "/ocpi/versions"),
            "roles": [{"role": "OTHER", "country_code": "DE", "party_id": "NZA",
                       "business_details": {"name": "netzatlas"}}]}


@router.get(f"{BASE}/credentials")
def get_credentials(request: Request, state: ApiState = Depends(get_state),
                    authorization: str | None = Header(None)) -> JSONResponse:
    """Our credentials as the party sees them (the token is the one it called with)."""
    party = _party(state, authorization, registration=True)
    del party
    return envelope(_our_credentials(request, token_from(authorization)))


@router.post(f"{BASE}/credentials")
@router.put(f"{BASE}/credentials")
def post_credentials(request: Request, payload: Any = Body(None), state: ApiState = Depends(get_state),
                     authorization: str | None = Header(None)) -> JSONResponse:
    """The handshake: the party calls with token A (POST) or C (PUT, to update), sends its credentials (token B,
    its versions URL, its roles); we answer with a new token C. Token A stops working; token B is not stored
    (netzatlas does not call the party back: `netzatlas import ocpi` takes the token on the command line)."""
    party = _party(state, authorization, registration=True)
    creds = payload if isinstance(payload, dict) else None
    if creds is None or not isinstance(creds.get("token"), str) or not isinstance(creds.get("url"), str) \
            or not isinstance(creds.get("roles"), list) or not creds["roles"]:
        raise InvalidInput("credentials need token, url and roles", hint="see OCPI 2.2.1 credentials module")
    mine = [r for r in creds["roles"] if isinstance(r, dict)
            and str(r.get("country_code", "")).upper() == party.country_code
            and str(r.get("party_id", "")).upper() == party.party_id]
    if not mine:
        raise Forbidden(f"this token is for party {party.country_code}*{party.party_id}; the credentials name "
                        "another", hint="ask the city for a token for your party id")
    if request.method == "POST" and party.registered:
        raise Forbidden("already registered: update with PUT, or DELETE first")
    name = (mine[0].get("business_details") or {}).get("name")
    with state.pool.connection() as conn, conn.transaction():
        token_c = store.register_party(conn, party, versions_url=creds["url"], roles=creds["roles"],
                                       business_name=name)
    return envelope(_our_credentials(request, token_c))


@router.delete(f"{BASE}/credentials")
def delete_credentials(state: ApiState = Depends(get_state),
                       authorization: str | None = Header(None)) -> JSONResponse:
    """Unregister: the party's token C stops working."""
    party = _party(state, authorization)
    with state.pool.connection() as conn, conn.transaction():
        store.unregister_party(conn, party)
    return envelope()


# ---------------------------------------------------------------- receiver (CPOs push)
def _own(party: store.Party, country_code: str, party_id: str) -> None:
    if (country_code.upper(), party_id.upper()) != (party.country_code, party.party_id):
        raise Forbidden(f"party {party.country_code}*{party.party_id} may not change locations of "
                        f"{country_code.upper()}*{party_id.upper()}", hint="push only your own locations")


def _stored(conn: psycopg.Connection, party: store.Party, location_id: str) -> dict[str, Any]:
    loc = store.read_stored_location(conn, party.source, party.country_code, party.party_id, location_id)
    if loc is None:
        raise NotFound(f"unknown location {party.country_code}*{party.party_id}*{location_id}")
    return loc


def _find(items: list[dict[str, Any]], key: str, value: str, what: str) -> dict[str, Any]:
    for item in items:
        if item.get(key) == value:
            return item
    raise NotFound(f"unknown {what} {value!r}")


def _write(conn: psycopg.Connection, party: store.Party, loc_json: dict[str, Any] | Location) -> store.WriteResult:
    """Check and write a whole Location under the party's source and organization (history as the operator)."""
    loc = loc_json if isinstance(loc_json, Location) else parse_model(Location, loc_json, "Location")
    check_inside(loc)
    loc = with_live_status(loc, store.live_statuses(conn, party.source, loc))
    return store.upsert_locations(conn, [loc], org=party.org, source=party.source,
                                  actor=f"{party.org}:ocpi-{party.country_code}*{party.party_id}")


def check_inside(loc: Location) -> None:
    """InvalidInput (OCPI 2001) when the Location's or an EVSE's coordinates lie farther outside the municipality
    than ``max_distance_outside_km`` — the check of every other write path (registry.validate.check_location)."""
    import geopandas as gpd
    import shapely

    from netzatlas.config import get_settings
    from netzatlas.registry.importers.load import municipality_boundary_4326
    from netzatlas.registry.validate import check_location

    boundary = municipality_boundary_4326()
    if boundary is None:
        return
    points = [("the location", loc.coordinates)] + [(f"EVSE {e.uid}", e.coordinates) for e in loc.evses or []
                                                     if e.coordinates is not None]
    gdf = gpd.GeoDataFrame(geometry=[shapely.Point(float(c.longitude), float(c.latitude)) for _, c in points],
                           crs="EPSG:4326")
    settings = get_settings()
    reasons = check_location(gdf, boundary, settings.max_distance_outside_km * 1000)
    bad = [f"{what} (latitude {c.latitude}, longitude {c.longitude}) {reason}"
           for (what, c), reason in zip(points, reasons, strict=True) if reason]
    if bad:
        raise InvalidInput(f"coordinates outside {settings.municipality_name}: " + "; ".join(bad),
                           hint=f"the registry takes chargers within {settings.max_distance_outside_km:g} km of "
                                f"{settings.municipality_name}; check the coordinates (WGS 84 latitude/longitude)")


def _patch(obj: dict[str, Any], patch: Any, what: str) -> dict[str, Any]:
    if not isinstance(patch, dict) or not patch:
        raise InvalidInput(f"a PATCH of a {what} needs a JSON object")
    if "last_updated" not in patch:
        raise InvalidInput(f"a PATCH of a {what} must contain last_updated (OCPI 2.2.1)")
    return {**obj, **patch}


RECV = f"{BASE}/receiver/locations/{{country_code}}/{{party_id}}/{{location_id}}"


@router.get(RECV)
@router.get(RECV + "/{evse_uid}")
@router.get(RECV + "/{evse_uid}/{connector_id}")
def receiver_get(country_code: str, party_id: str, location_id: str, evse_uid: str | None = None,
                 connector_id: str | None = None, state: ApiState = Depends(get_state),
                 authorization: str | None = Header(None)) -> JSONResponse:
    """What the registry holds of the party's own Location / EVSE / Connector."""
    party = _party(state, authorization)
    _own(party, country_code, party_id)
    with state.pool.connection() as conn:
        obj = _stored(conn, party, location_id)
    if evse_uid is not None:
        obj = _find(obj.get("evses", []), "uid", evse_uid, "EVSE")
        if connector_id is not None:
            obj = _find(obj.get("connectors", []), "id", connector_id, "connector")
    return envelope(obj)


@router.put(RECV)
@router.put(RECV + "/{evse_uid}")
@router.put(RECV + "/{evse_uid}/{connector_id}")
def receiver_put(country_code: str, party_id: str, location_id: str, evse_uid: str | None = None,
                 connector_id: str | None = None, payload: Any = Body(None), state: ApiState = Depends(get_state),
                 authorization: str | None = Header(None)) -> JSONResponse:
    """A new or replaced Location, EVSE or Connector: into the registry with history, in one transaction."""
    party = _party(state, authorization)
    _own(party, country_code, party_id)
    if not isinstance(payload, dict):
        raise InvalidInput("the body must be a JSON object")
    not_ahead(payload)
    with state.pool.connection() as conn, conn.transaction():
        if evse_uid is None:
            loc = parse_model(Location, payload, "Location")
            if (loc.country_code.upper(), loc.party_id.upper(), loc.id) != \
                    (country_code.upper(), party_id.upper(), location_id):
                raise InvalidInput("country_code, party_id and id of the body must match the URL")
            _write(conn, party, loc)
            return envelope()
        loc_json = _stored(conn, party, location_id)
        evses = loc_json.setdefault("evses", [])
        if connector_id is None:
            evse = parse_model(EVSE, payload, "EVSE")
            if evse.uid != evse_uid:
                raise InvalidInput("the EVSE's uid must match the URL")
            loc_json["evses"] = [e for e in evses if e.get("uid") != evse_uid] + [payload]
        else:
            con = parse_model(Connector, payload, "Connector")
            if con.id != connector_id:
                raise InvalidInput("the connector's id must match the URL")
            evse_json = _find(evses, "uid", evse_uid, "EVSE")
            evse_json["connectors"] = [c for c in evse_json.get("connectors", []) if c.get("id") != connector_id] \
                + [payload]
        _write(conn, party, loc_json)
    return envelope()


@router.patch(RECV)
@router.patch(RECV + "/{evse_uid}")
@router.patch(RECV + "/{evse_uid}/{connector_id}")
def receiver_patch(country_code: str, party_id: str, location_id: str, evse_uid: str | None = None,
                   connector_id: str | None = None, payload: Any = Body(None),
                   state: ApiState = Depends(get_state), authorization: str | None = Header(None)) -> JSONResponse:
    """A partial update. An EVSE PATCH of only ``status`` (+ ``last_updated``) sets the live status: no asset
    version, a status log entry — unless the EVSE becomes or was ``REMOVED``: then its station is counted again
    (charge points, power; a station version). Everything else is merged into the stored object and written with
    history. A ``last_updated`` more than the clock skew ahead is refused (2001)."""
    token = token_from(authorization)
    with state.pool.connection() as conn:  # one connection, one transaction (the pool commits when done)
        if evse_uid is not None and connector_id is None and isinstance(payload, dict) \
                and set(payload) <= {"status", "last_updated"} and "status" in payload:
            status, at = _status_of(payload)
            # the hot path: token, party, EVSE, status, log and pruning in one statement
            _, recount = store.set_status_by_uid(conn, token, country_code, party_id, location_id, evse_uid,
                                                 status, at)
            if recount:  # an EVSE REMOVED (or back): the station's charge points and power change with it
                _recount(conn, store.party_for_token(conn, token), location_id)
            return envelope()
        party = store.party_for_token(conn, token)
        _own(party, country_code, party_id)
        if isinstance(payload, dict):
            not_ahead(payload)
        _patch_object(conn, party, location_id, evse_uid, connector_id, payload)
    return envelope()


def not_ahead(payload: dict[str, Any]) -> None:
    """InvalidInput (2001) when a ``last_updated`` of the payload lies more than the clock skew in the future: the
    live status keeps the newest time, so it would ignore every honest update after it."""
    ahead = ahead_of_clock(payload)
    if ahead:
        raise InvalidInput(clock_refusal(ahead), hint="send the time the object changed in UTC (OCPI 2.2.1: a time "
                                                      "without offset is UTC, so a local time reads as one in the "
                                                      "future); check the clock of the backend (NTP)")


def _recount(conn: psycopg.Connection, party: store.Party, location_id: str) -> None:
    """Write the Location as stored with its EVSEs' live status: charge points, power and charger type count only
    the EVSEs not REMOVED (a version with history when they change). The station keeps its owner."""
    found = store.require_location(conn, party, location_id)
    # the station locked first: two EVSEs REMOVED at once are counted one after the other, each seeing the other
    conn.execute("SELECT 1 FROM registry.charging_point WHERE id = %s FOR UPDATE", [found["id"]])
    loc = parse_model(Location, _stored(conn, party, location_id), "Location")
    store.upsert_locations(conn, [loc], org=found["owner_org"], source=party.source, claim=False,
                           actor=f"{party.org}:ocpi-{party.country_code}*{party.party_id}")


def _patch_object(conn: psycopg.Connection, party: store.Party, location_id: str, evse_uid: str | None,
                  connector_id: str | None, payload: Any) -> None:
    """Merge a PATCH into the stored Location, EVSE or Connector and write the Location (with history)."""
    loc_json = _stored(conn, party, location_id)
    if evse_uid is None:
        loc_json = _patch(loc_json, payload, "Location")
    else:
        evse_json = _find(loc_json.get("evses", []), "uid", evse_uid, "EVSE")
        if connector_id is None:
            evse_json.update(_patch(evse_json, payload, "EVSE"))
        else:
            con = _find(evse_json.get("connectors", []), "id", connector_id, "connector")
            con.update(_patch(con, payload, "Connector"))
    _write(conn, party, loc_json)


def _status_of(payload: dict[str, Any]) -> tuple[str, datetime]:
    """(status, last_updated) of a status-only EVSE PATCH; InvalidInput for an unknown status or a bad time."""
    if payload.get("status") not in EvseStatus.__members__:
        raise InvalidInput(f"unknown EVSE status {payload.get('status')!r}",
                           hint=f"one of {', '.join(EvseStatus.__members__)}")
    try:
        at = datetime.fromisoformat(str(payload["last_updated"]).replace("Z", "+00:00"))
    except (KeyError, ValueError) as exc:
        raise InvalidInput("a PATCH of an EVSE must contain last_updated (an ISO 8601 time)") from exc
    not_ahead(payload)
    return str(payload["status"]), at if at.tzinfo else at.replace(tzinfo=UTC)  # OCPI times are UTC


# ---------------------------------------------------------------- sender (public chargers)
@router.get(f"{BASE}/sender/locations")
def sender_list(request: Request, date_from: datetime | None = Query(None), date_to: datetime | None = Query(None),
                offset: int = Query(0, ge=0), limit: int = Query(MAX_LIMIT, ge=1),
                state: ApiState = Depends(get_state)) -> JSONResponse:
    """The registry's published chargers as OCPI Locations, paged (``Link``, ``X-Total-Count``, ``X-Limit``)."""
    limit = min(limit, MAX_LIMIT)
    with state.pool.connection() as conn:
        page = store.read_locations(conn, date_from=date_from, date_to=date_to, offset=offset, limit=limit)
    headers = {"X-Total-Count": str(page.total), "X-Limit": str(limit)}
    if offset + limit < page.total:
        params = {k: v for k, v in request.query_params.items() if k not in ("offset", "limit")}
        params.update(offset=str(offset + limit), limit=str(limit))
        headers["Link"] = f'<{_url(request, request.url.path)}?{urlencode(params)}>; rel="next"'
    return envelope(page.locations, headers=headers)


@router.get(f"{BASE}/sender/locations/{{location_id}}")
@router.get(f"{BASE}/sender/locations/{{location_id}}/{{evse_uid}}")
@router.get(f"{BASE}/sender/locations/{{location_id}}/{{evse_uid}}/{{connector_id}}")
def sender_one(location_id: str, evse_uid: str | None = None, connector_id: str | None = None,
               country_code: str | None = Query(None, min_length=2, max_length=2),
               party_id: str | None = Query(None, min_length=3, max_length=3),
               to_country_code: str | None = Header(None, alias="OCPI-to-country-code"),
               to_party_id: str | None = Header(None, alias="OCPI-to-party-id"),
               state: ApiState = Depends(get_state)) -> JSONResponse:
    """One published Location, EVSE or Connector. Location ids are unique per party only: the party is named by
    OCPI 2.2.1's routing headers ``OCPI-to-country-code`` / ``OCPI-to-party-id`` (or ``?country_code=&party_id=``);
    a bare id that several parties use is refused (2001) naming them."""
    cc, pid = country_code or to_country_code, party_id or to_party_id
    if (cc is None) != (pid is None):
        raise InvalidInput("give both country_code and party_id (or both OCPI-to-* headers), or neither")
    party = (cc, pid) if cc is not None and pid is not None else None
    with state.pool.connection() as conn:
        obj = store.read_location(conn, location_id, party=party)
    if obj is None:
        raise NotFound(f"unknown location {location_id!r}" + (f" of party {cc.upper()}*{pid.upper()}"
                                                              if cc and pid else ""))
    if evse_uid is not None:
        obj = _find(obj.get("evses", []), "uid", evse_uid, "EVSE")
        if connector_id is not None:
            obj = _find(obj.get("connectors", []), "id", connector_id, "connector")
    return envelope(obj)
