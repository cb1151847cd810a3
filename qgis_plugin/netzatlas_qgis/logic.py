"""Plugin logic that needs no QGIS (tested without it): URLs, error messages, process inputs, styles."""

from __future__ import annotations

import json
from datetime import date
from urllib.parse import urlencode, urlparse

PROCESSES = {
    # process id: (algorithm name, display name, group, fixed parameter specs: name → (type, default, help))
    "gigabit-classify": ("gigabit_classify", "Gigabit: white/grey spots per address", "Gigabit",
                         {"programme": ("enum", "gigabit-rl-2.0-2024", "funding programme"),
                          "reference_date": ("string", "", "reference date YYYY-MM-DD (empty: today)"),
                          "snapshot": ("string", "qgis", "snapshot name")}),
    "gigabit-funding-areas": ("gigabit_funding_areas", "Gigabit: funding areas", "Gigabit",
                              {"snapshot": ("string", "qgis", "classification snapshot"),
                               "link_distance_m": ("number", 150.0, "clustering distance (m)"),
                               "min_addresses": ("integer", 5, "smallest area"),
                               "eur_per_m": ("number", 100.0, "€ per trench metre"),
                               "eur_per_connection": ("number", 800.0, "€ per connection")}),
    "mobile-coverage-holes": ("mobile_coverage_holes", "Mobile: coverage holes", "Mobile",
                              {"resolution_m": ("number", 10.0, "raster cell size (m)"),
                               "threshold_dbm": ("number", -105.0, "hole threshold RSRP (dBm)")}),
    "mast-request-evaluation": ("mast_request_evaluation", "Mobile: evaluate a mast request", "Mobile",
                                {"request_id": ("string", "", "mast request id"),
                                 "threshold_dbm": ("number", -105.0, "hole threshold RSRP (dBm)")}),
    "small-cell-screening": ("small_cell_screening", "Mobile: small cells on streetlights", "Mobile",
                             {"top": ("integer", 20, "how many")}),
    "wifi-priority": ("wifi_priority", "WLAN: priority areas", "WLAN",
                      {"cell_size_m": ("number", 100.0, "grid cell size (m)"), "top": ("integer", 50, "areas")}),
    "wifi-siting": ("wifi_siting", "WLAN: new access points", "WLAN",
                    {"k": ("integer", 20, "new access points"), "radius_m": ("number", 70.0, "range (m)"),
                     "certify": ("boolean", True, "solve the exact MILP too")}),
    "charging-gaps": ("charging_gaps", "Charging: gaps", "Charging",
                      {"gap_distance_m": ("number", 500.0, "gap distance along roads (m)")}),
    "charging-siting": ("charging_siting", "Charging: new locations", "Charging",
                        {"k": ("integer", 10, "new locations"), "radius_m": ("number", 300.0, "reach (m)"),
                         "certify": ("boolean", True, "solve the exact MILP too")}),
}
#: which output of each process holds the features to load as a layer
LAYER_OUTPUT = {"gigabit-classify": None, "gigabit-funding-areas": "funding_areas", "mobile-coverage-holes": "holes",
                "mast-request-evaluation": "candidates", "small-cell-screening": "best",
                "wifi-priority": "priority_areas", "wifi-siting": "new_access_points", "charging-gaps": "gaps",
                "charging-siting": "new_locations"}
GROUPS = {"Assets / Anlagen": ["fibre_address", "mobile_site", "wlan_hotspot", "streetlight", "charging_point"],
          "Reference / Bezug": ["municipality", "population_grid", "poi", "building", "road", "candidate_site"],
          "Results / Ergebnisse": ["gigabit_result", "funding_area_result", "coverage_hole_result"],
          "Requests / Anfragen": ["mast_request"]}


def normalise_url(url: str) -> str:
    """'localhost:8080/' → 'http://localhost:8080'; raises ValueError for what is not an http(s) URL."""
    u = (url or "").strip()
    if not u:
        raise ValueError("enter the URL of the netzatlas server, e.g. http://localhost:8080")
    if "://" not in u:
        u = "http://" + u
    p = urlparse(u)
    if p.scheme not in ("http", "https") or not p.netloc:
        raise ValueError(f"{url!r} is not an http(s) URL")
    return u.rstrip("/")


def classify_connection(status: int | None, body: bytes | str | None, network_error: str | None = None) -> str:
    """The message for a connection test: 'ok' or what is wrong, in words a person understands."""
    if network_error:
        return f"unreachable: the server does not answer ({network_error}). Check the URL and that it runs."
    if status == 401:
        said = _problem_detail(body)  # the server says why: e.g. "the API key expired on 2026-11-30 10:00 UTC"
        return (f"bad key: the server refused the API key ({said or 'unknown, revoked or expired'}). "
                "Create one with `netzatlas keys create`.")
    if status == 403:
        return "bad key: the key may not read this server's collections."
    if status is None or status >= 400:
        return f"not a netzatlas API: the server answered HTTP {status}."
    try:
        doc = json.loads(body or b"")
    except (ValueError, TypeError):
        return "not a netzatlas API: the landing page is not JSON."
    links = {link.get("rel") for link in doc.get("links", []) if isinstance(link, dict)}
    if "netzatlas" not in str(doc.get("title", "")).lower() or "data" not in links:
        return "not a netzatlas API: the landing page is not the netzatlas OGC API."
    return "ok"


def _problem_detail(body: bytes | str | None) -> str:
    """The ``detail`` of an RFC 9457 problem body, '' when there is none."""
    try:
        doc = json.loads(body or b"")
    except (ValueError, TypeError):
        return ""
    return str(doc.get("detail") or "") if isinstance(doc, dict) else ""


def job_path(base: str, location: str, body: bytes | str | None = None) -> str:
    """The path of a job below ``base`` from the execution's Location header (or its jobID): the server names
    its own address, which behind a reverse proxy with a path prefix is not the address the plugin uses."""
    base = base.rstrip("/")
    if location.startswith(base + "/"):
        return location[len(base):]
    if "/jobs/" in location:
        return "/jobs/" + location.rsplit("/jobs/", 1)[1]
    try:
        job_id = json.loads(body or b"").get("jobID")
    except (ValueError, TypeError, AttributeError):
        job_id = None
    if not job_id:
        raise ValueError(f"the server named no job (Location: {location!r})")
    return f"/jobs/{job_id}"


def filter_params(cql2: str) -> dict[str, str]:
    """A CQL2-text filter as query parameters the server evaluates (so numberMatched counts only the matches)."""
    return {"filter": cql2.strip(), "filter-lang": "cql2-text"}


def process_inputs(process_id: str, values: dict) -> dict:
    """The JSON body for an execution: typed values, empty strings left out (the server uses its defaults)."""
    specs = PROCESSES[process_id][3]
    out = {}
    for name, (kind, _default, _help) in specs.items():
        if name not in values:
            continue
        v = values[name]
        if kind == "number":
            v = float(v)
        elif kind == "integer":
            v = int(v)
        elif kind == "boolean":
            v = bool(v)
        elif kind in ("string", "enum"):
            v = str(v)
            if v == "":
                continue
        out[name] = v
    return {"inputs": out}


def style_for(collection: str) -> str:
    """The QML file shipped for a collection (a generic one where there is none)."""
    known = {c for group in GROUPS.values() for c in group}
    return f"{collection}.qml" if collection in known else "generic.qml"


def oapif_uri(url: str, collection: str, authcfg: str | None = None, params: dict | None = None) -> str:
    """The OAPIF provider's source for a collection; ``params`` (a server-side filter such as
    :func:`snapshot_params`) go into the URL, and QGIS adds them to each of the layer's requests."""
    base = normalise_url(url) + (f"?{urlencode(params)}" if params else "")
    uri = f"url='{base}' typename='{collection}' pagingEnabled='true' restrictToRequestBBOX='1'"
    if authcfg:
        uri += f" authcfg='{authcfg}'"
    return uri


#: result collections that hold one set of features per gigabit snapshot: the plugin loads ONE snapshot of each
SNAPSHOT_COLLECTIONS = ("gigabit_result", "funding_area_result")
SNAPSHOTS_PROCESS = "/processes/gigabit-snapshots/execution"


def choose_snapshot(snapshots: list[dict], wanted: str | None = None) -> str | None:
    """The snapshot to load: ``wanted`` if the server has it, else the newest (by creation time, then id)."""
    ids = [s.get("id") for s in snapshots]
    if wanted is not None:
        if wanted not in ids:
            raise ValueError(f"the server has no snapshot {wanted!r}; it has: {', '.join(map(str, ids[:20]))}")
        return wanted
    if not snapshots:
        return None
    newest = max(snapshots, key=lambda s: (str(s.get("created_at") or ""), str(s.get("id") or "")))
    return newest.get("id")


def snapshot_label(snapshot: dict) -> str:
    """How a snapshot is offered in the chooser: id, programme, reference date, when and by whom."""
    created = str(snapshot.get("created_at") or "")[:16].replace("T", " ")
    by = f", {snapshot['created_by']}" if snapshot.get("created_by") else ""
    return (f"{snapshot.get('id')} — {snapshot.get('programme')}, Stichtag {snapshot.get('reference_date')} "
            f"({created}{by})")


def order_snapshots(snapshots: list[dict]) -> list[dict]:
    """Newest first (the chooser's default is the first entry)."""
    return sorted(snapshots, key=lambda s: (str(s.get("created_at") or ""), str(s.get("id") or "")), reverse=True)


def snapshot_params(snapshot_id: str) -> dict[str, str]:
    """The server-side filter for one snapshot: the queryable ``snapshot_id`` as a query parameter, which QGIS's
    OAPIF provider appends to every request of the layer (``url='…?snapshot_id=…'``), so only that snapshot's
    features are sent and ``numberMatched`` counts them (a QGIS subset string would filter on the client, after
    downloading every snapshot)."""
    return {"snapshot_id": str(snapshot_id)}


#: process id → QML in styles/ for the layer its result loads as (generated from netzatlas/cartography.json)
RESULT_STYLE = {
    "gigabit-classify": "gigabit_result.qml",
    "gigabit-funding-areas": "funding_area_result.qml",
    "mobile-coverage-holes": "coverage_hole_result.qml",
    "mast-request-evaluation": "result_candidate.qml",
    "small-cell-screening": "result_new_site.qml",
    "wifi-priority": "result_area.qml",
    "wifi-siting": "result_new_site.qml",
    "charging-gaps": "result_gap.qml",
    "charging-siting": "result_new_site.qml",
}


def result_style(process_id: str) -> str:
    """The QML file for a process's result layer (generic.qml for a process without its own)."""
    return RESULT_STYLE.get(process_id, "generic.qml")


# ------------------------------------------------------------------------------------------------ mast requests
MAST_REQUEST_COLLECTION = "mast_request"
#: planned site types: the codes of registry.vl_site_type, with their labels
SITE_TYPES = {"mast": "Mast / mast", "tower": "Turm / tower", "rooftop": "Dachstandort / rooftop",
              "streetlight": "Kleinzelle am Lichtmast / small cell on streetlight", "other": "sonstiger / other"}
TECHNOLOGIES = ("LTE", "NR", "GSM")
OPERATORS = ("Telekom", "Vodafone", "Telefónica", "1&1")


def mast_request_feature(lon: float, lat: float, operator: str, radius_m: float, received_on: str,
                         site_type: str | None = "mast", desired_height_m: float = 30.0, technology: str = "LTE",
                         coordination_weeks: int = 8) -> dict:
    """The GeoJSON feature ``POST /collections/mast_request/items`` takes; ValueError says what is missing."""
    operator = (operator or "").strip()
    if not operator:
        raise ValueError("enter the operator (Netzbetreiber) who sent the request")
    if not (radius_m and float(radius_m) > 0):
        raise ValueError("the search ring radius must be more than 0 m")
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValueError(f"({lon}, {lat}) is not a longitude/latitude: click the centre on the map")
    try:
        received = date.fromisoformat(str(received_on))
    except ValueError as exc:
        raise ValueError(f"the receipt date {received_on!r} is not a date (YYYY-MM-DD)") from exc
    if site_type and site_type not in SITE_TYPES:
        raise ValueError(f"unknown site type {site_type!r}; known: {', '.join(SITE_TYPES)}")
    props = {"operator": operator, "technology": (technology or "LTE").strip(), "radius_m": float(radius_m),
             "desired_height_m": float(desired_height_m), "received_on": received.isoformat(),
             "coordination_weeks": int(coordination_weeks)}
    if site_type:
        props["site_type"] = site_type
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [round(lon, 7), round(lat, 7)]},
            "properties": props}


def api_message(status: int, body: bytes | str | None) -> str:
    """What the API said, for a person: the problem's detail and hint (RFC 9457), else the status."""
    try:
        doc = json.loads(body or b"")
    except (ValueError, TypeError):
        doc = None
    if not isinstance(doc, dict):
        text = (body.decode(errors="replace") if isinstance(body, bytes) else str(body or "")).strip()[:200]
        return f"HTTP {status}" + (f": {text}" if text else "")
    detail = str(doc.get("detail") or doc.get("title") or "")
    hint = str(doc.get("hint") or "")
    return f"HTTP {status}: {detail}" + (f" ({hint})" if hint else "")


def request_summary(props: dict, today: date | None = None) -> str:
    """One line about a recorded request: operator, radius, receipt, deadline and days left."""
    deadline = props.get("deadline")
    left = props.get("days_left")
    if left is None and deadline:
        left = (date.fromisoformat(str(deadline)) - (today or date.today())).days
    return (f"Standortanfrage {props.get('operator')} ({props.get('radius_m'):g} m) vom {props.get('received_on')}: "
            f"Frist {deadline}" + (f", noch {left} Tage / deadline {deadline}, {left} days left" if left is not None
                                   else f" / deadline {deadline}"))
