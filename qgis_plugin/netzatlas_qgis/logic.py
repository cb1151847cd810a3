"""Plugin logic that needs no QGIS (tested without it): URLs, error messages, process inputs, styles."""

from __future__ import annotations

import json
import re
from urllib.parse import quote, urlencode, urlparse

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
          "Results / Ergebnisse": ["gigabit_result", "funding_area_result", "coverage_hole_result"]}


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
        return ("bad key: the server refused the API key (unknown, revoked or expired). "
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


def oapif_uri(url: str, collection: str, authcfg: str | None = None) -> str:
    uri = f"url='{normalise_url(url)}' typename='{collection}' pagingEnabled='true' restrictToRequestBBOX='1'"
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


def snapshot_subset(snapshot_id: str) -> str:
    """A QGIS filter expression for one snapshot (QGIS 3.22's OAPIF provider applies such a filter on the client,
    after downloading every snapshot — so the plugin fetches one snapshot with ``snapshot_items_path`` instead)."""
    return "\"snapshot_id\" = '" + str(snapshot_id).replace("'", "''") + "'"


def snapshot_items_path(collection: str, snapshot_id: str, limit: int = 10_000) -> str:
    """The first page of one snapshot's features: the server filters (the queryable as a query parameter)."""
    return f"/collections/{quote(collection)}/items?{urlencode({'snapshot_id': snapshot_id, 'limit': limit})}"


def next_page_path(page: dict, base_url: str) -> str | None:
    """The path of the page after ``page`` (its ``next`` link), relative to the server's ``base_url``."""
    for link in page.get("links", []):
        if isinstance(link, dict) and link.get("rel") == "next" and link.get("href"):
            href = str(link["href"])
            base = normalise_url(base_url)
            if href.startswith(base):
                return href[len(base):] or "/"
            parsed = urlparse(href)
            return parsed.path + (f"?{parsed.query}" if parsed.query else "")
    return None


def snapshot_file_name(collection: str, snapshot_id: str) -> str:
    """A file name for one snapshot's features (safe on every file system)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(snapshot_id))[:80]
    return f"{collection}__{safe}.geojson"
