"""The mast-request report: a map (registry basemap of roads and buildings, scale, search ring, sensitive
facilities, candidates labelled by name), the table with the score's components and weights, what "people newly
covered" means, GeoJSON, the assumptions; and the decision record as the city's statement. Every value from the
request or the candidates is escaped."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import folium
import geopandas as gpd
from shapely.geometry import Point

from netzatlas.cartography import style
from netzatlas.reports.maps import MapLayer, make_map, save_map
from netzatlas.reports.outputs import write_excel_csv
from netzatlas.reports.safe_html import PAGE_CSP, js_template_text, meta_tag, text

#: candidate colours by kind and the sensitive facilities' colour: the shared cartography (as in QGIS)
COLORS = {c.value: c.color for c in style("mast_candidate").classes}
SENSITIVE_COLOR = style("sensitive_facility").color
TABLE_COLUMNS = ["rank", "label", "kind", "distance_to_centre_m", "nearest_kindergarten_m", "nearest_school_m",
                 "nearest_hospital_m", "city_property", "property_note", "heritage", "heritage_note", "colocation",
                 "people_newly_covered_outdoor", "people_newly_covered_indoor",
                 "people_newly_covered_indoor_any_network", "score_centre", "score_sensitive", "score_colocation",
                 "score_city_property", "score_heritage", "score_gain", "score", "reasons"]
STYLE = ("body{font:14px system-ui;margin:2em;max-width:1400px} table{border-collapse:collapse;font-size:12px} "
         "td,th{padding:2px 6px;border-bottom:1px solid #ddd;vertical-align:top} "
         "iframe{width:100%;height:560px;border:1px solid #ccc}")


def _map(req, ranked: gpd.GeoDataFrame, out_dir: Path, context: dict) -> str:  # noqa: ANN001
    crs = ranked.crs or "EPSG:25832"
    ring = gpd.GeoDataFrame({"name": [f"search ring (Suchkreis) {req.radius_m:g} m"]},
                            geometry=[Point(req.x, req.y).buffer(req.radius_m)], crs=crs)
    layers = [MapLayer("search ring (Suchkreis)", ring, color="#000000", fill_opacity=0.04, weight=2.0)]
    pois = context.get("pois")
    if pois is not None and len(pois):
        near = pois.to_crs(crs)
        near = near[near["category"].isin(["kindergarten", "school", "hospital"])
                    & (near.geometry.distance(Point(req.x, req.y)) <= req.radius_m + 300)]
        tooltip_fields = ("name", "category")  # MapLayer escapes the values (maps._geojson)
        layers.append(MapLayer("sensitive facilities (kindergarten, school, hospital)", near,
                               color=SENSITIVE_COLOR, radius=6, tooltip=tooltip_fields))
    m, used = make_map(layers, bounds_gdf=ring, roads=context.get("roads"), buildings=context.get("buildings"),
                       basemap_url=context.get("basemap_url"), attribution=context.get("attribution", ""),
                       title=f"Standortanfrage {req.operator}", legend_extra=(style("mast_candidate"),))
    labels = ranked["label"] if "label" in ranked else ranked["kind"]
    for r, label in zip(ranked.to_crs(4326).itertuples(), labels, strict=True):
        folium.CircleMarker([r.geometry.y, r.geometry.x], radius=7 if r.rank <= 3 else 4,
                            color=COLORS.get(r.kind, "#555"), fill=True, fill_opacity=0.9,
                            tooltip=js_template_text(f"#{r.rank} {label} ({r.kind}) — score {r.score:.2f}")
                            ).add_to(m)
    save_map(m, out_dir / "map.html")
    return used


def write_mast_report(req, ranked: gpd.GeoDataFrame, out_dir: Path, assumptions: list[str],  # noqa: ANN001
                      request_id: str, *, gain_note: str = "", weights: object = None,
                      context: dict | None = None, criteria: list[dict] | None = None,
                      sources: list[str] | None = None) -> Path:
    """report.html + map.html + candidates.geojson and candidates.gpkg (with the assumptions on every feature) +
    candidates.csv (German Excel: ``;``, decimal comma, UTF-8 with BOM). ``criteria``: every score criterion with its
    weight and source (``mobile_sites.criteria.criteria_table``); ``sources``: the data sources with their vintage
    (``reports.outputs.source_lines``), shown under the title."""
    out_dir.mkdir(parents=True, exist_ok=True)
    geo = ranked.assign(assumed=" | ".join(assumptions)).to_crs(4326)
    geo = geo.drop(columns=[c for c in ("properties",) if c in geo])
    geo.to_file(out_dir / "candidates.geojson", driver="GeoJSON")
    gpkg = out_dir / "candidates.gpkg"
    gpkg.unlink(missing_ok=True)
    geo.to_file(gpkg, layer="candidates", driver="GPKG")
    write_excel_csv(ranked[[c for c in TABLE_COLUMNS if c in ranked.columns]], out_dir / "candidates.csv")
    src = "".join(f"<li>{text(line)}</li>" for line in sources or [])
    basemap = _map(req, ranked, out_dir, context or {})
    cols = [c for c in TABLE_COLUMNS if c in ranked.columns]
    table = ranked[cols].to_html(index=False, border=0, escape=True, na_rep="—") if len(ranked) else (
        f"<p><b>No candidate site</b> (city site, public building, streetlight, existing mast) lies inside the "
        f"{req.radius_m:g} m search ring: the city has no alternative of its own to offer here.</p>")
    notes = "".join(f"<li>{text(a)}</li>" for a in assumptions)
    w = "".join(f"<li>{text(k)}: {text(v)}</li>" for k, v in (asdict(weights).items() if weights else []))
    crit = "".join(f"<tr><td>{text(c['criterion'])}</td><td>{float(c['weight']):+g}</td><td>{text(c['source'])}"
                   "</td></tr>" for c in criteria or [])
    page = out_dir / "report.html"
    page.write_text(f"""<!DOCTYPE html><html lang="de"><head><meta charset="utf-8">{meta_tag(PAGE_CSP)}
<title>Standortanfrage</title><style>{STYLE}</style></head><body>
<h1>Standortanfrage / mast request {text(request_id)}</h1>
<p>Datenquellen / data sources:</p><ul>{src or "<li>—</li>"}</ul>
<p>Operator <b>{text(req.operator)}</b>, {text(req.technology)}, search ring radius {req.radius_m:g} m,
desired antenna height {req.desired_height_m:g} m above ground; received {text(req.received_on)}.<br>
<b>{text(getattr(req, "period_text", f"answer due by {req.deadline}"))}</b>.</p>
<h2>Map</h2><p>Basemap: {text('tiles' if basemap == 'tiles' else "the registry's roads and buildings")}; scale bottom
left; purple: kindergartens, schools, hospitals; candidates labelled by name or address.</p>
<iframe src="map.html"></iframe>
<h2>People newly covered</h2><p>{text(gain_note)}</p>
<h2>Ranked candidates ({len(ranked)})</h2>{table}
<h3>Criteria and their weights</h3>
<table><tr><th>criterion</th><th>weight</th><th>taken from</th></tr>{crit}</table>
<h3>Score weights</h3><ul>{w}</ul>
<p>Score = centre proximity + distance to kindergartens/schools/hospitals + co-location + city property − heritage +
people newly covered indoor (own network; components shown). Files: candidates.gpkg / candidates.geojson (every
feature carries the assumptions), candidates.csv (German Excel).</p>
<h2>Assumptions</h2><ul>{notes}</ul></body></html>""", encoding="utf-8")
    return page


def write_statement(record: dict, out_dir: Path, candidates: int | None = -1) -> tuple[Path, Path]:
    """The city's statement (Stellungnahme) on a mast request from its decision record: HTML and JSON.

    ``record``: id, operator, technology, received_on, deadline, coordination_weeks, status, decision (reasoning),
    alternatives (list of {label, address, distance_to_centre_m, reasons}), operator_answer, outcome,
    decided_on. ``candidates``: how many candidates the evaluation found (None: not evaluated; -1: not said);
    none or not evaluated is said in the HTML."""
    out_dir.mkdir(parents=True, exist_ok=True)
    js = out_dir / "statement.json"
    js.write_text(json.dumps(record, default=str, ensure_ascii=False, indent=2), encoding="utf-8")
    alts = "".join(
        f"<li><b>{text(a.get('label'))}</b>{text(', ' + a['address']) if a.get('address') else ''} — "
        f"{text(a.get('distance_to_centre_m'))} m from the ring centre; {text(a.get('reasons', ''))}</li>"
        for a in record.get("alternatives") or [])
    rows = "".join(f"<tr><th>{text(k)}</th><td>{text(record.get(k) or '—')}</td></tr>" for k in (
        "operator", "technology", "received_on", "deadline", "status", "decision", "operator_answer", "outcome",
        "decided_on"))
    page = out_dir / "statement.html"
    page.write_text(f"""<!DOCTYPE html><html lang="de"><head><meta charset="utf-8">{meta_tag(PAGE_CSP)}
<title>Stellungnahme</title><style>{STYLE}</style></head><body>
<h1>Stellungnahme der Stadt zur Standortanfrage {text(record.get('id'))}</h1>
<p>Coordination period under the Mobilfunkvereinbarung: {text(record.get('coordination_weeks'))} weeks from receipt
(Stellungnahme und Erörterung), until {text(record.get('deadline'))}.</p>
<table>{rows}</table>{_evaluation_note(candidates)}
<h2>Alternative sites proposed by the city</h2><ol>{alts or '<li>none</li>'}</ol>
</body></html>""", encoding="utf-8")
    return page, js


def _evaluation_note(candidates: int | None) -> str:
    if candidates is None:
        return ("\n<p><b>The request has not been evaluated yet</b>: the city's candidate sites in the search ring "
                "were not examined for this statement.</p>")
    if candidates == 0:
        return ("\n<p><b>No candidate site</b> of the city (city site, public building, streetlight, existing mast) "
                "lies inside the search ring: the city has no alternative of its own to offer.</p>")
    return ""
