"""The gigabit report: an HTML page (map of classes and funding areas, tables per 100 m cell and postcode,
charts, the Breitbandatlas comparison), a GeoPackage and a CSV of eligible addresses."""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass
from pathlib import Path

import folium
import geopandas as gpd
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from netzatlas.gigabit.classify import CLASSES  # noqa: E402
from netzatlas.gigabit.programmes import Programme  # noqa: E402
from netzatlas.reports.maps import OfflineMap, save_map  # noqa: E402

COLORS = {"weiß": "#ffffff", "hellgrau": "#bdbdbd", "dunkelgrau": "#636363", "schwarz": "#000000",
          "gigabitfähig": "#1a9850"}


@dataclass
class GigabitReport:
    html: Path
    gpkg: Path
    csv: Path


def _chart(classified: pd.DataFrame) -> str:
    counts = classified["class_de"].value_counts().reindex(list(CLASSES)).fillna(0)
    elig = classified.groupby("class_de")["eligible"].sum().reindex(list(CLASSES)).fillna(0)
    fig, ax = plt.subplots(figsize=(7, 3.2))
    labels = [f"{k}\n({v})" for k, v in CLASSES.items()]
    ax.bar(labels, counts.values, color=[COLORS[k] for k in CLASSES], edgecolor="#333")
    ax.bar(labels, elig.values, color="none", edgecolor="#d7191c", hatch="//", label="eligible / förderfähig")
    ax.set_ylabel("addresses")
    ax.legend()
    ax.set_title("Addresses per class (Adressen je Klasse)")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _table(df: pd.DataFrame, max_rows: int = 40) -> str:
    return df.head(max_rows).to_html(index=False, border=0, classes="t", float_format=lambda v: f"{v:,.1f}")


def write_report(classified: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, cells: gpd.GeoDataFrame,
                 atlas_comparison: pd.DataFrame, programme: Programme, out_dir: Path, *, note: str | None,
                 roads: gpd.GeoDataFrame | None = None, reference_date: object = None) -> GigabitReport:
    """Write report.html, gigabit.gpkg and eligible_addresses.csv into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    gpkg, csv, page = out_dir / "gigabit.gpkg", out_dir / "eligible_addresses.csv", out_dir / "report.html"
    if gpkg.exists():
        gpkg.unlink()
    addr = classified.copy()
    addr["simulated_supply"] = note is not None
    addr.to_file(gpkg, layer="addresses", driver="GPKG")
    if len(areas):
        areas.to_file(gpkg, layer="funding_areas", driver="GPKG")
    cells.to_file(gpkg, layer="cells_100m", driver="GPKG")
    elig = pd.DataFrame(addr[addr["eligible"]].drop(columns=addr.geometry.name))
    g4326 = addr[addr["eligible"]].to_crs(4326).geometry
    elig["lon"], elig["lat"] = g4326.x.round(7).values, g4326.y.round(7).values
    if note:
        elig["note"] = note
    elig.to_csv(csv, index=False)

    m = OfflineMap(location=[50.7753, 6.0839], zoom_start=13, tiles=None, control_scale=True)
    if roads is not None and len(roads):
        r = roads.to_crs(4326)
        r = r[r["highway"].isin(["primary", "secondary", "tertiary", "residential", "unclassified", "living_street"])]
        folium.GeoJson(r[["geometry"]], name="roads", style_function=lambda _f: {"color": "#aaa", "weight": 1}
                       ).add_to(m)
    pts = addr.to_crs(4326)
    for klass, color in COLORS.items():
        sub = pts[pts["class_de"] == klass]
        if sub.empty:
            continue
        fg = folium.FeatureGroup(name=f"{klass} / {CLASSES[klass]} ({len(sub):,})", show=klass != "gigabitfähig")
        folium.GeoJson(sub[["class_de", "eligible", "reason", "geometry"]],
                       marker=folium.CircleMarker(radius=2.5, color="#555", weight=0.5, fill=True, fill_color=color,
                                                  fill_opacity=0.9),
                       tooltip=folium.GeoJsonTooltip(["class_de", "eligible", "reason"])).add_to(fg)
        fg.add_to(m)
    if len(areas):
        folium.GeoJson(areas.to_crs(4326)[["rank", "addresses", "cost_per_connection_eur", "geometry"]],
                       name=f"funding areas / Fördergebiete ({len(areas)})",
                       style_function=lambda _f: {"color": "#d7191c", "weight": 2, "fillOpacity": 0.1},
                       tooltip=folium.GeoJsonTooltip(["rank", "addresses", "cost_per_connection_eur"])).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    b = pts.total_bounds
    m.fit_bounds([[b[1], b[0]], [b[3], b[2]]])
    map_file = save_map(m, out_dir / "map.html")

    counts = addr.groupby(["class_de"]).agg(addresses=("eligible", "size"), eligible=("eligible", "sum"))
    counts = counts.reindex(list(CLASSES)).fillna(0).reset_index()
    counts.insert(1, "class (en)", counts["class_de"].map(CLASSES))
    by_plz = addr.assign(postcode=addr.get("postcode", pd.Series(None, index=addr.index)).fillna("(none)")) \
        .groupby("postcode").agg(addresses=("eligible", "size"), eligible=("eligible", "sum"),
                                 white=("class_de", lambda s: int((s == "weiß").sum()))).reset_index() \
        .sort_values("eligible", ascending=False)
    cell_tab = pd.DataFrame(cells.drop(columns=cells.geometry.name)).sort_values("eligible", ascending=False)
    area_tab = pd.DataFrame(areas.drop(columns=areas.geometry.name)) if len(areas) else pd.DataFrame()
    banner = f"<div class='warn'>{html.escape(note)}</div>" if note else ""
    body = f"""<!DOCTYPE html><html lang="de"><head><meta charset="utf-8"><title>Gigabit report</title>
<style>body{{font:14px system-ui,sans-serif;margin:2em;max-width:1200px}} .warn{{background:#fff3cd;border:1px solid
#e0b000;padding:.6em;margin:1em 0;font-weight:bold}} table.t{{border-collapse:collapse;font-size:12px}}
table.t td,table.t th{{border-bottom:1px solid #ddd;padding:2px 8px;text-align:right}} iframe{{width:100%;height:600px;
border:1px solid #ccc}}</style></head><body>
<h1>Gigabit: weiße und graue Flecken / white and grey spots</h1>
<p>Programme: <b>{html.escape(programme.title)}</b> ({html.escape(programme.title_en)}); eligible when no network
meets {html.escape(programme.thresholds_text())} and no {'binding ' if programme.binding_plans_only else ''}plan
within {programme.horizon_years:g} years will. Reference date: {reference_date}.
Sources: {html.escape('; '.join(programme.sources))}.</p>
{banner}
<h2>Classes / Klassen</h2>{_table(counts)}
<img alt="classes" src="data:image/png;base64,{_chart(addr)}">
<h2>Comparison with the Breitbandatlas / Abgleich mit dem Breitbandatlas</h2>{_table(atlas_comparison)}
<h2>Map / Karte</h2><iframe src="{map_file.name}"></iframe>
<h2>Funding areas / Fördergebiete ({len(areas)})</h2>{_table(area_tab) if len(area_tab) else '<p>none</p>'}
<h2>Per postcode / je Postleitzahl</h2>{_table(by_plz)}
<h2>Per 100 m cell (Breitbandatlas-style shares), top 40 by eligible addresses</h2>{_table(cell_tab)}
<p>Files: {gpkg.name} (layers addresses, funding_areas, cells_100m), {csv.name}.</p>
</body></html>"""
    page.write_text(body, encoding="utf-8")
    return GigabitReport(page, gpkg, csv)
