"""The mast-request report: a map of the search ring and the ranked candidates, the table with the score's
components, GeoJSON, and the assumptions."""

from __future__ import annotations

import html
from pathlib import Path

import folium
import geopandas as gpd
from shapely.geometry import Point

from netzatlas.reports.maps import OfflineMap, save_map

COLORS = {"candidate_site": "#1a9641", "public_building": "#2b83ba", "streetlight": "#f2b100",
          "existing_mast": "#d7191c"}


def write_mast_report(req, ranked: gpd.GeoDataFrame, out_dir: Path, assumptions: list[str],  # noqa: ANN001
                      request_id: str) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    ranked.to_crs(4326).to_file(out_dir / "candidates.geojson", driver="GeoJSON")
    ring = gpd.GeoSeries([Point(req.x, req.y).buffer(req.radius_m)], crs=ranked.crs or "EPSG:25832").to_crs(4326)
    c = ring.iloc[0].centroid
    m = OfflineMap(location=[c.y, c.x], zoom_start=15, tiles=None)
    folium.GeoJson(ring.__geo_interface__, name="search ring (Suchkreis)",
                   style_function=lambda _f: {"color": "#000", "fillOpacity": 0.05, "dashArray": "5,5"}).add_to(m)
    for r in ranked.to_crs(4326).itertuples():
        folium.CircleMarker([r.geometry.y, r.geometry.x], radius=7 if r.rank <= 3 else 4,
                            color=COLORS.get(r.kind, "#555"), fill=True, fill_opacity=0.9,
                            tooltip=f"#{r.rank} {r.kind} score {r.score:.2f}").add_to(m)
    folium.LayerControl().add_to(m)
    save_map(m, out_dir / "map.html")
    cols = ["rank", "kind", "external_id", "distance_to_centre_m", "nearest_kindergarten_m", "nearest_school_m",
            "nearest_hospital_m", "colocation", "people_newly_covered", "score_centre", "score_sensitive",
            "score_colocation", "score_gain", "score"]
    table = ranked[[c for c in cols if c in ranked.columns]].to_html(index=False, border=0)
    notes = "".join(f"<li>{html.escape(a)}</li>" for a in assumptions)
    page = out_dir / "report.html"
    page.write_text(f"""<!DOCTYPE html><html lang="de"><head><meta charset="utf-8"><title>Standortanfrage</title>
<style>body{{font:14px system-ui;margin:2em}} table{{border-collapse:collapse;font-size:12px}} td,th{{padding:2px 6px;
border-bottom:1px solid #ddd}} iframe{{width:100%;height:520px;border:1px solid #ccc}}</style></head><body>
<h1>Standortanfrage / mast request {html.escape(request_id)}</h1>
<p>Operator <b>{html.escape(req.operator)}</b>, {html.escape(req.technology)}, search ring radius {req.radius_m:g} m,
desired height {req.desired_height_m:g} m; received {req.received_on}, <b>answer due by {req.deadline}</b>
(8 weeks).</p>
<h2>Map</h2><iframe src="map.html"></iframe>
<h2>Ranked candidates ({len(ranked)})</h2>{table}
<p>Score = centre proximity + distance to kindergartens/schools/hospitals + co-location + people newly covered
(components shown). Files: candidates.geojson.</p><h2>Assumptions</h2><ul>{notes}</ul></body></html>""",
                    encoding="utf-8")
    return page
