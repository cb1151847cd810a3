"""The registry's chargers in OCPI 2.2.1's shape: Location → EVSE → Connector (pure: no I/O).

The pydantic models follow the Locations module of OCPI 2.2.1 (``mod_locations.asciidoc``); unknown fields are
kept (``extra="allow"``) so a Location a CPO sends comes back out of the sender as it came in. The mapping to
registry rows (``charging_point`` = the Location, ``charging_evse``, ``charging_connector``; migration 0022) and
from the Bundesnetzagentur register's plug slots is here too, so the receiver, the pull client and the importers
share one mapping (docs/ocpi.md has the table).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from netzatlas.errors import InvalidInput

__all__ = [
    "CLOCK_SKEW", "EVSE", "Connector", "ConnectorFormat", "ConnectorType", "EvseStatus", "Location", "ParkingType",
    "PowerType", "ahead_of_clock", "clock_refusal", "connector_row", "default_voltage_amperage", "evse_row",
    "location_from_rows", "location_row", "parse_model", "with_live_status",
    "register_connector", "valid_evse_id",
]

M = TypeVar("M", bound=BaseModel)

#: eMI3 EVSE ID (as ISO 15118 / the eMI3 standard version V1.0): country (2 letters), operator (3 alphanumerics),
#: "E", the outlet id (alphanumerics and '*'); the '*' separators are optional. Example ``BE*BEC*E041503001``.
EVSE_ID = re.compile(r"^[A-Z]{2}\*?[A-Z0-9]{3}\*?E[A-Z0-9*]{1,30}$", re.IGNORECASE)  # CiString
#: OCPI GeoLocation: decimal degrees as strings (the spec's pattern allows 5–7 decimals; shorter and longer — a
#: backend's float repr, 14 decimals — are accepted, the point is stored to the storage CRS's precision anyway).
LATITUDE = re.compile(r"^-?[0-9]{1,2}\.[0-9]{1,20}$")
LONGITUDE = re.compile(r"^-?[0-9]{1,3}\.[0-9]{1,20}$")
#: Phase-to-neutral voltage used when a source gives power but no voltage (OCPI wants voltage and amperage).
AC_VOLTAGE_V = 230
DC_VOLTAGE_V = 400
#: How far a ``last_updated`` may lie ahead of our clock (the sender's clock running ahead). A later one is refused:
#: the live status keeps the newest time, so one far in the future would ignore every honest update after it.
CLOCK_SKEW = timedelta(minutes=5)


class EvseStatus(StrEnum):
    AVAILABLE = "AVAILABLE"
    BLOCKED = "BLOCKED"
    CHARGING = "CHARGING"
    INOPERATIVE = "INOPERATIVE"
    OUTOFORDER = "OUTOFORDER"
    PLANNED = "PLANNED"
    REMOVED = "REMOVED"
    RESERVED = "RESERVED"
    UNKNOWN = "UNKNOWN"


class ConnectorType(StrEnum):
    CHADEMO = "CHADEMO"
    CHAOJI = "CHAOJI"
    DOMESTIC_A = "DOMESTIC_A"
    DOMESTIC_B = "DOMESTIC_B"
    DOMESTIC_C = "DOMESTIC_C"
    DOMESTIC_D = "DOMESTIC_D"
    DOMESTIC_E = "DOMESTIC_E"
    DOMESTIC_F = "DOMESTIC_F"
    DOMESTIC_G = "DOMESTIC_G"
    DOMESTIC_H = "DOMESTIC_H"
    DOMESTIC_I = "DOMESTIC_I"
    DOMESTIC_J = "DOMESTIC_J"
    DOMESTIC_K = "DOMESTIC_K"
    DOMESTIC_L = "DOMESTIC_L"
    DOMESTIC_M = "DOMESTIC_M"
    DOMESTIC_N = "DOMESTIC_N"
    DOMESTIC_O = "DOMESTIC_O"
    GBT_AC = "GBT_AC"
    GBT_DC = "GBT_DC"
    IEC_60309_2_single_16 = "IEC_60309_2_single_16"
    IEC_60309_2_three_16 = "IEC_60309_2_three_16"
    IEC_60309_2_three_32 = "IEC_60309_2_three_32"
    IEC_60309_2_three_64 = "IEC_60309_2_three_64"
    IEC_62196_T1 = "IEC_62196_T1"
    IEC_62196_T1_COMBO = "IEC_62196_T1_COMBO"
    IEC_62196_T2 = "IEC_62196_T2"
    IEC_62196_T2_COMBO = "IEC_62196_T2_COMBO"
    IEC_62196_T3A = "IEC_62196_T3A"
    IEC_62196_T3C = "IEC_62196_T3C"
    NEMA_5_20 = "NEMA_5_20"
    NEMA_6_30 = "NEMA_6_30"
    NEMA_6_50 = "NEMA_6_50"
    NEMA_10_30 = "NEMA_10_30"
    NEMA_10_50 = "NEMA_10_50"
    NEMA_14_30 = "NEMA_14_30"
    NEMA_14_50 = "NEMA_14_50"
    PANTOGRAPH_BOTTOM_UP = "PANTOGRAPH_BOTTOM_UP"
    PANTOGRAPH_TOP_DOWN = "PANTOGRAPH_TOP_DOWN"
    TESLA_R = "TESLA_R"
    TESLA_S = "TESLA_S"


class ConnectorFormat(StrEnum):
    SOCKET = "SOCKET"
    CABLE = "CABLE"


class PowerType(StrEnum):
    AC_1_PHASE = "AC_1_PHASE"
    AC_2_PHASE = "AC_2_PHASE"
    AC_2_PHASE_SPLIT = "AC_2_PHASE_SPLIT"
    AC_3_PHASE = "AC_3_PHASE"
    DC = "DC"


class ParkingType(StrEnum):
    ALONG_MOTORWAY = "ALONG_MOTORWAY"
    PARKING_GARAGE = "PARKING_GARAGE"
    PARKING_LOT = "PARKING_LOT"
    ON_DRIVEWAY = "ON_DRIVEWAY"
    ON_STREET = "ON_STREET"
    UNDERGROUND_GARAGE = "UNDERGROUND_GARAGE"


class Capability(StrEnum):
    CHARGING_PROFILE_CAPABLE = "CHARGING_PROFILE_CAPABLE"
    CHARGING_PREFERENCES_CAPABLE = "CHARGING_PREFERENCES_CAPABLE"
    CHIP_CARD_SUPPORT = "CHIP_CARD_SUPPORT"
    CONTACTLESS_CARD_SUPPORT = "CONTACTLESS_CARD_SUPPORT"
    CREDIT_CARD_PAYABLE = "CREDIT_CARD_PAYABLE"
    DEBIT_CARD_PAYABLE = "DEBIT_CARD_PAYABLE"
    PED_TERMINAL = "PED_TERMINAL"
    REMOTE_START_STOP_CAPABLE = "REMOTE_START_STOP_CAPABLE"
    RESERVABLE = "RESERVABLE"
    RFID_READER = "RFID_READER"
    START_SESSION_CONNECTOR_REQUIRED = "START_SESSION_CONNECTOR_REQUIRED"
    TOKEN_GROUP_CAPABLE = "TOKEN_GROUP_CAPABLE"
    UNLOCK_CAPABLE = "UNLOCK_CAPABLE"


class _Ocpi(BaseModel):
    model_config = ConfigDict(extra="allow", use_enum_values=True)


def _degrees(v: str, pattern: re.Pattern[str], what: str, bound: int) -> str:
    """A GeoLocation coordinate checked with a message a CPO understands (a decimal comma said as such)."""
    if not pattern.fullmatch(v):
        comma = " (use a decimal point, not a comma)" if "," in v else ""
        raise ValueError(f"{what} {v!r} is not decimal degrees as OCPI wants them, e.g. \"50.775600\"{comma}")
    if not -bound <= float(v) <= bound:
        raise ValueError(f"{what} must be between -{bound} and {bound}")
    return v


class GeoLocation(_Ocpi):
    latitude: str
    longitude: str

    @field_validator("latitude")
    @classmethod
    def _lat_range(cls, v: str) -> str:
        return _degrees(v, LATITUDE, "latitude", 90)

    @field_validator("longitude")
    @classmethod
    def _lon_range(cls, v: str) -> str:
        return _degrees(v, LONGITUDE, "longitude", 180)


class BusinessDetails(_Ocpi):
    name: str = Field(max_length=100)
    website: str | None = None


def _no_slash(v: str, what: str) -> str:
    """Ids become path segments of the receiver's URLs and parts of ``CC*PTY*id/uid/connector`` keys: a '/' in
    one would address (or overwrite) another object."""
    if "/" in v:
        raise ValueError(f"{what} {v!r} contains '/', which netzatlas cannot address in OCPI URLs and keys")
    return v


class Connector(_Ocpi):
    id: str = Field(min_length=1, max_length=36)
    standard: ConnectorType
    format: ConnectorFormat
    power_type: PowerType
    max_voltage: int = Field(ge=0)
    max_amperage: int = Field(ge=0)
    max_electric_power: int | None = Field(default=None, ge=0)
    tariff_ids: list[str] | None = None
    terms_and_conditions: str | None = None
    last_updated: datetime


class EVSE(_Ocpi):
    uid: str = Field(min_length=1, max_length=36)
    evse_id: str | None = Field(default=None, max_length=48)
    status: EvseStatus
    status_schedule: list[dict[str, Any]] | None = None
    capabilities: list[Capability] | None = None
    connectors: list[Connector] = Field(min_length=1)
    floor_level: str | None = Field(default=None, max_length=4)
    coordinates: GeoLocation | None = None
    physical_reference: str | None = Field(default=None, max_length=16)
    directions: list[dict[str, Any]] | None = None
    parking_restrictions: list[str] | None = None
    images: list[dict[str, Any]] | None = None
    last_updated: datetime

    @field_validator("uid")
    @classmethod
    def _uid(cls, v: str) -> str:
        return _no_slash(v, "EVSE uid")

    @field_validator("connectors")
    @classmethod
    def _unique_connectors(cls, v: list[Connector]) -> list[Connector]:
        _unique([c.id for c in v], "connector id")
        return v

    @field_validator("evse_id")
    @classmethod
    def _emi3(cls, v: str | None) -> str | None:
        if v is not None and not valid_evse_id(v):
            raise ValueError(f"{v!r} is not an eMI3 EVSE ID (e.g. DE*ABC*E123456)")
        return v


class Location(_Ocpi):
    country_code: str = Field(pattern=r"^[A-Za-z]{2}$")
    party_id: str = Field(pattern=r"^[A-Za-z0-9]{3}$")
    id: str = Field(min_length=1, max_length=36)
    publish: bool
    publish_allowed_to: list[dict[str, Any]] | None = None
    name: str | None = Field(default=None, max_length=255)
    address: str = Field(max_length=45)
    city: str = Field(max_length=45)
    postal_code: str | None = Field(default=None, max_length=10)
    state: str | None = Field(default=None, max_length=20)
    country: str = Field(pattern=r"^[A-Za-z]{3}$")
    coordinates: GeoLocation
    related_locations: list[dict[str, Any]] | None = None
    parking_type: ParkingType | None = None
    evses: list[EVSE] | None = None
    directions: list[dict[str, Any]] | None = None
    operator: BusinessDetails | None = None
    suboperator: BusinessDetails | None = None
    owner: BusinessDetails | None = None
    facilities: list[str] | None = None
    time_zone: str = Field(max_length=255)
    opening_times: dict[str, Any] | None = None
    charging_when_closed: bool | None = None
    images: list[dict[str, Any]] | None = None
    energy_mix: dict[str, Any] | None = None
    last_updated: datetime

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        return _no_slash(v, "location id")

    @field_validator("evses")
    @classmethod
    def _unique_evses(cls, v: list[EVSE] | None) -> list[EVSE] | None:
        _unique([e.uid for e in v or []], "EVSE uid")
        return v


def _unique(values: list[str], what: str) -> None:
    twice = sorted({x for x in values if values.count(x) > 1})
    if twice:
        raise ValueError(f"{what} {', '.join(map(repr, twice))} occurs more than once")


def valid_evse_id(value: str) -> bool:
    """Whether ``value`` is an eMI3 EVSE ID.

    >>> valid_evse_id("BE*BEC*E041503001"), valid_evse_id("DEABCE1"), valid_evse_id("12345")
    (True, True, False)
    """
    return bool(EVSE_ID.fullmatch(value))


def parse_model(model: type[M], data: object, what: str) -> M:
    """Validate ``data`` as ``model``; an :class:`InvalidInput` naming every problem otherwise."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or what}: {e['msg']}" for e in exc.errors())
        raise InvalidInput(f"invalid OCPI {what}: {problems}",
                           hint="see the OCPI 2.2.1 Locations module (mod_locations)") from exc


def ahead_of_clock(obj: object, now: datetime | None = None) -> list[str]:
    """The ``last_updated`` values of an OCPI object (JSON or model; its EVSEs and connectors too) more than
    :data:`CLOCK_SKEW` ahead of ``now`` (default: the clock), each as ``EVSE 3256: 2099-01-01T00:00:00Z``.
    Values that are no time are left to the validation.

    >>> loc = {"last_updated": "2026-12-01T00:04:00Z", "evses": [{"uid": "1", "last_updated": "2099-01-01T00:00Z"}]}
    >>> ahead_of_clock(loc, datetime(2026, 12, 1, tzinfo=UTC))
    ['EVSE 1: 2099-01-01T00:00:00Z']
    """
    limit = (now or datetime.now(UTC)) + CLOCK_SKEW
    out: list[str] = []

    def walk(o: object, where: str) -> None:
        def get(key: str) -> Any:
            return o.get(key) if isinstance(o, dict) else getattr(o, key, None)

        at = _as_time(get("last_updated"))
        if at is not None and at > limit:
            out.append(f"{where}{_ts(at)}")
        for key, label, ident in (("evses", "EVSE", "uid"), ("connectors", "connector", "id")):
            children = get(key)
            for child in children if isinstance(children, list) else []:
                cid = child.get(ident) if isinstance(child, dict) else getattr(child, ident, None)
                walk(child, f"{where}{label} {cid}: ")

    walk(obj, "")
    return out


def _as_time(value: object) -> datetime | None:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # OCPI times are UTC


def with_live_status(loc: Location, live: dict[str, tuple[str, datetime]], now: datetime | None = None
                     ) -> Location:
    """``loc`` with each EVSE's status as the live status will be after the write: the stored one (``live``: uid →
    (status, time)) where it is newer than the EVSE's ``last_updated`` — an older status is not taken — so the
    station's charge points count what is live (an EVSE REMOVED by a status PATCH stays uncounted when a stale
    PUT lists it AVAILABLE). Same rule as the status upsert (registry.ocpi_store._STATUS_SQL)."""
    limit = (now or datetime.now(UTC)) + CLOCK_SKEW
    evses, changed = [], False
    for e in loc.evses or []:
        cur = live.get(e.uid)
        at = e.last_updated if e.last_updated.tzinfo else e.last_updated.replace(tzinfo=UTC)
        if cur is not None and cur[0] != e.status and at < cur[1] <= limit:
            e = e.model_copy(update={"status": EvseStatus(cur[0])})
            changed = True
        evses.append(e)
    return loc.model_copy(update={"evses": evses}) if changed else loc


def clock_refusal(ahead: list[str], now: datetime | None = None) -> str:
    """The message refusing the times :func:`ahead_of_clock` found."""
    return (f"last_updated lies in the future: {'; '.join(ahead)} (our clock: {_ts(now or datetime.now(UTC))}; "
            f"at most {int(CLOCK_SKEW.total_seconds() // 60)} minutes ahead are taken)")


# ---------------------------------------------------------------- OCPI → registry rows
#: Location fields kept in the ``ocpi_details`` jsonb column (everything without a column of its own).
_LOCATION_DETAILS = ("publish_allowed_to", "state", "related_locations", "directions", "operator", "suboperator",
                     "owner", "images", "energy_mix")
_EVSE_DETAILS = ("status_schedule", "directions", "images")


def _extra(model: BaseModel) -> dict[str, Any]:
    return dict(model.model_extra or {})


def _iso(ts: datetime) -> str:
    return (ts if ts.tzinfo else ts.replace(tzinfo=UTC)).isoformat()


def location_row(loc: Location) -> dict[str, Any]:
    """The ``charging_point`` row of a Location (without source, owner and ids: the store adds them)."""
    details = loc.model_dump(mode="json", exclude_none=True, include=set(_LOCATION_DETAILS))
    details.update(_extra(loc))
    power_kw = _location_power_kw(loc)
    return {
        "external_id": location_key(loc.country_code, loc.party_id, loc.id),
        "ocpi_country_code": loc.country_code.upper(), "ocpi_party_id": loc.party_id.upper(), "ocpi_id": loc.id,
        "name": loc.name, "operator": loc.operator.name if loc.operator else None,
        "address": loc.address, "postcode": loc.postal_code, "city": loc.city, "country": loc.country.upper(),
        "publish": loc.publish, "parking_type": loc.parking_type, "time_zone": loc.time_zone,
        "opening_times": loc.opening_times, "charging_when_closed": loc.charging_when_closed,
        "facilities": loc.facilities or [],
        "charge_points": len(_present(loc)),
        "power_kw": power_kw,
        "charger_type": _charger_type(power_kw),
        "ocpi_details": details, "ocpi_last_updated": _iso(loc.last_updated),
        "lon": float(loc.coordinates.longitude), "lat": float(loc.coordinates.latitude),
    }


def location_key(country_code: str, party_id: str, location_id: str) -> str:
    """The external id of an OCPI location: ``CC*PTY*id`` (country code and party upper case: CiString)."""
    return f"{country_code.upper()}*{party_id.upper()}*{location_id}"


def evse_row(evse: EVSE, loc_coordinates: GeoLocation | None = None) -> dict[str, Any]:
    """The ``charging_evse`` row of an EVSE (``status`` is the dynamic status: the store keeps it apart)."""
    details = evse.model_dump(mode="json", exclude_none=True, include=set(_EVSE_DETAILS))
    details.update(_extra(evse))
    coords = evse.coordinates or loc_coordinates
    return {
        "uid": evse.uid, "evse_id": evse.evse_id, "ocpi_status": evse.status,
        "capabilities": list(evse.capabilities or []), "floor_level": evse.floor_level,
        "physical_reference": evse.physical_reference,
        "parking_restrictions": list(evse.parking_restrictions or []),
        "own_coordinates": evse.coordinates is not None,
        "ocpi_details": details, "ocpi_last_updated": _iso(evse.last_updated),
        "lon": float(coords.longitude) if coords else None, "lat": float(coords.latitude) if coords else None,
    }


def connector_row(con: Connector) -> dict[str, Any]:
    """The ``charging_connector`` row of a Connector."""
    return {
        "connector_id": con.id, "standard": con.standard, "format": con.format, "power_type": con.power_type,
        "max_voltage": con.max_voltage, "max_amperage": con.max_amperage,
        "max_electric_power": con.max_electric_power, "tariff_ids": list(con.tariff_ids or []),
        "terms_and_conditions": con.terms_and_conditions, "ocpi_details": _extra(con),
        "ocpi_last_updated": _iso(con.last_updated),
    }


def connector_power_w(con: Connector | dict[str, Any]) -> int:
    """A connector's maximum power in W: ``max_electric_power``, else voltage × amperage (× 3 for 3-phase AC)."""
    c = {"max_electric_power": con.max_electric_power, "power_type": con.power_type, "max_voltage": con.max_voltage,
         "max_amperage": con.max_amperage} if isinstance(con, Connector) else con
    if c.get("max_electric_power"):
        return int(c["max_electric_power"])
    phases = 3 if c.get("power_type") == "AC_3_PHASE" else 2 if str(c.get("power_type", "")).startswith("AC_2") else 1
    return int((c.get("max_voltage") or 0) * (c.get("max_amperage") or 0) * phases)


def _present(loc: Location) -> list[EVSE]:
    """The Location's EVSEs that are there: OCPI marks a dismantled EVSE ``REMOVED`` instead of dropping it."""
    return [e for e in loc.evses or [] if e.status != EvseStatus.REMOVED]


def _location_power_kw(loc: Location) -> float | None:
    powers = [connector_power_w(c) for e in _present(loc) for c in e.connectors]
    return round(max(powers) / 1000, 3) if powers and max(powers) > 0 else None


def _charger_type(kw: float | None) -> str | None:
    return None if kw is None else ("fast" if kw > 22 else "normal")  # Ladesäulenverordnung: > 22 kW is fast


# ---------------------------------------------------------------- registry rows → OCPI
def location_from_rows(station: dict[str, Any], evses: list[dict[str, Any]],
                       connectors: dict[Any, list[dict[str, Any]]],
                       statuses: dict[Any, str] | None = None) -> dict[str, Any]:
    """An OCPI Location (as JSON) from a ``charging_point`` row, its EVSE rows and their connector rows.

    Rows need ``lon``/``lat`` (WGS84) next to their columns. Stations that did not come in over OCPI (register,
    OSM, manual) get country code ``DE`` and party ``NZA`` (netzatlas) and their registry id (a uuid) as id; EVSEs
    without a live status are ``UNKNOWN``."""
    statuses = statuses or {}
    details = dict(station.get("ocpi_details") or {})
    operator = details.pop("operator", None) or ({"name": station["operator"]} if station.get("operator") else None)
    loc: dict[str, Any] = {
        "country_code": station.get("ocpi_country_code") or "DE",
        "party_id": station.get("ocpi_party_id") or "NZA",
        "id": station.get("ocpi_id") or str(station["id"]),
        "publish": bool(station.get("publish", True)),
        "name": station.get("name"),
        "address": (station.get("address") or "")[:45],
        "city": (station.get("city") or "")[:45],
        "postal_code": station.get("postcode"),
        "country": station.get("country") or "DEU",
        "coordinates": _geo(station["lon"], station["lat"]),
        "parking_type": station.get("parking_type"),
        "evses": [_evse_json(e, connectors.get(e["id"], []), statuses.get(e["id"]), station) for e in evses],
        "operator": operator,
        "facilities": station.get("facilities") or None,
        "time_zone": station.get("time_zone") or "Europe/Berlin",
        "opening_times": station.get("opening_times"),
        "charging_when_closed": station.get("charging_when_closed"),
        "last_updated": _ts(station.get("ocpi_last_updated") or station.get("updated_at")),
        **details,
    }
    return {k: v for k, v in loc.items() if v is not None}


def _geo(lon: float, lat: float) -> dict[str, str]:
    return {"latitude": f"{lat:.6f}", "longitude": f"{lon:.6f}"}


def _ts(value: Any) -> str:
    """An OCPI DateTime (UTC, ``Z``) from a datetime or an ISO 8601 string."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def _evse_json(e: dict[str, Any], cons: list[dict[str, Any]], status: str | None,
               station: dict[str, Any]) -> dict[str, Any]:
    details = dict(e.get("ocpi_details") or {})
    out: dict[str, Any] = {
        "uid": e["uid"], "evse_id": e.get("evse_id"), "status": status or "UNKNOWN",
        "capabilities": e.get("capabilities") or None,
        "connectors": [_connector_json(c, station) for c in sorted(cons, key=lambda c: c["connector_id"])],
        "floor_level": e.get("floor_level"), "physical_reference": e.get("physical_reference"),
        "parking_restrictions": e.get("parking_restrictions") or None,
        "coordinates": _geo(e["lon"], e["lat"]) if e.get("own_coordinates") and e.get("lon") is not None else None,
        "last_updated": _ts(e.get("ocpi_last_updated") or e.get("updated_at")),
        **details,
    }
    return {k: v for k, v in out.items() if v is not None}


def _connector_json(c: dict[str, Any], station: dict[str, Any]) -> dict[str, Any]:
    volt, amp = c.get("max_voltage"), c.get("max_amperage")
    if volt is None or amp is None:
        volt, amp = default_voltage_amperage(c.get("power_type") or "AC_3_PHASE", c.get("max_electric_power"))
    out: dict[str, Any] = {
        "id": c["connector_id"], "standard": c.get("standard") or "IEC_62196_T2",
        "format": c.get("format") or "SOCKET", "power_type": c.get("power_type") or "AC_3_PHASE",
        "max_voltage": volt, "max_amperage": amp, "max_electric_power": c.get("max_electric_power"),
        "tariff_ids": c.get("tariff_ids") or None, "terms_and_conditions": c.get("terms_and_conditions"),
        "last_updated": _ts(c.get("ocpi_last_updated") or c.get("updated_at") or station.get("updated_at")),
        **(c.get("ocpi_details") or {}),
    }
    return {k: v for k, v in out.items() if v is not None}


def default_voltage_amperage(power_type: str, power_w: int | None) -> tuple[int, int]:
    """Voltage and amperage for a connector known only by its power (the register gives kW only): 230 V per
    phase for AC, 400 V for DC; the amperage that gives the power (0 when the power is unknown).

    >>> default_voltage_amperage("AC_3_PHASE", 22000), default_voltage_amperage("DC", 50000)
    ((230, 32), (400, 125))
    """
    if power_type == "DC":
        return DC_VOLTAGE_V, round((power_w or 0) / DC_VOLTAGE_V)
    phases = 3 if power_type == "AC_3_PHASE" else 2 if power_type.startswith("AC_2") else 1
    return AC_VOLTAGE_V, round((power_w or 0) / (AC_VOLTAGE_V * phases))


# ---------------------------------------------------------------- the register's and OSM's plug names
#: Plug names in the Ladesäulenregister (``Steckertypen{i}``) and OSM ``socket:*`` keys → (standard, format,
#: power type). Matched on the lower-cased text, first match wins.
_PLUGS: tuple[tuple[str, str, str, str], ...] = (
    ("combo", "IEC_62196_T2_COMBO", "CABLE", "DC"),
    ("ccs", "IEC_62196_T2_COMBO", "CABLE", "DC"),
    ("type2_combo", "IEC_62196_T2_COMBO", "CABLE", "DC"),
    ("chademo", "CHADEMO", "CABLE", "DC"),
    ("tesla", "TESLA_S", "CABLE", "DC"),
    ("fahrzeugkupplung", "IEC_62196_T2", "CABLE", "AC_3_PHASE"),
    ("type2_cable", "IEC_62196_T2", "CABLE", "AC_3_PHASE"),
    ("kupplung typ 2", "IEC_62196_T2", "CABLE", "AC_3_PHASE"),
    ("typ 2", "IEC_62196_T2", "SOCKET", "AC_3_PHASE"),
    ("type2", "IEC_62196_T2", "SOCKET", "AC_3_PHASE"),
    ("typ 1", "IEC_62196_T1", "CABLE", "AC_1_PHASE"),
    ("type1", "IEC_62196_T1", "CABLE", "AC_1_PHASE"),
    ("schuko", "DOMESTIC_F", "SOCKET", "AC_1_PHASE"),
    ("cee rot", "IEC_60309_2_three_32", "SOCKET", "AC_3_PHASE"),
    ("cee 3", "IEC_60309_2_single_16", "SOCKET", "AC_1_PHASE"),
    ("cee blau", "IEC_60309_2_single_16", "SOCKET", "AC_1_PHASE"),
    ("cee", "IEC_60309_2_three_16", "SOCKET", "AC_3_PHASE"),
)


def register_connector(plug: str, power_kw: float | None) -> dict[str, Any] | None:
    """A connector row from a register plug name (``AC Typ 2 Steckdose``, ``DC Kupplung Combo``, …) or an OSM
    socket key (``type2``, ``type2_combo``, …) and its kW; None for a plug name not in the table.

    >>> register_connector("DC Kupplung Combo", 150)["standard"]
    'IEC_62196_T2_COMBO'
    >>> register_connector("AC Typ 2 Steckdose", 22)["max_amperage"]
    32
    """
    text = plug.lower()
    hit = next((p for p in _PLUGS if p[0] in text), None)
    if hit is None:
        return None
    _, standard, fmt, power_type = hit
    if power_type == "DC" and text.startswith("ac"):
        power_type = "AC_3_PHASE"
    if power_type.startswith("AC") and text.startswith("dc"):
        power_type = "DC"
    watts = round(power_kw * 1000) if power_kw else None
    volt, amp = default_voltage_amperage(power_type, watts)
    return {"standard": standard, "format": fmt, "power_type": power_type, "max_voltage": volt,
            "max_amperage": amp, "max_electric_power": watts, "plug_text": plug}
