"""The public-WLAN reports: priority areas and new access points. Each writes a GeoPackage, an HTML report with
its map (registry basemap, scale, legend, view fitted to the results) and a CSV as German Excel opens it; areas and
sites are named by street and place, not by grid id; the header names the data sources with their vintage."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from netzatlas.cartography import style
from netzatlas.reports.charging_report import ReportFiles, fewer_note, fresh_file, lonlat, staged
from netzatlas.reports.maps import MapLayer, make_map, save_map
from netzatlas.reports.names import area_names, site_names
from netzatlas.reports.outputs import files_note, write_excel_csv
from netzatlas.reports.page import bar_chart, img, key_values, table, write_page
from netzatlas.reports.staging import output_folder

ATTRIBUTION = ("© OpenStreetMap-Mitwirkende / contributors (ODbL 1.0) · Zensus 2011 © Statistische Ämter des "
               "Bundes und der Länder (dl-de/by-2-0)")
#: rows of the priority map (the page stays light; the GeoPackage and CSV hold every cell)
MAP_CELLS = 50
LABELS = {
    "rank": "Rang / rank", "priority": "Priorität / priority", "name": "Lage / location",
    "cell_id": "Rasterzelle / grid cell", "uncovered_weight": "ungedeckter Bedarf (Gewicht) / uncovered demand",
    "places": "Orte / places", "why": "woraus / made of", "residents_weight": "davon Einwohner (Gewicht) / residents",
    "pick": "Nr. / no.", "kind": "Art / kind", "ref": "Kennung / id", "gain_weight": "Bedarf neu gedeckt / gain",
    "lon": "Länge / longitude", "lat": "Breite / latitude",
}
PRIORITY_COLUMNS = ["rank", "priority", "name", "uncovered_weight", "places", "residents_weight", "why", "cell_id"]


def _priority_table(cells: gpd.GeoDataFrame) -> pd.DataFrame:
    return pd.DataFrame(cells.drop(columns="geometry"))[[c for c in PRIORITY_COLUMNS if c in cells.columns]]


def name_areas(cells: gpd.GeoDataFrame, roads: gpd.GeoDataFrame | None, pois: gpd.GeoDataFrame | None
               ) -> gpd.GeoDataFrame:
    """``cells`` with a ``name`` (street · named place) in front."""
    out = cells.copy()
    out.insert(0, "name", area_names(out, roads, pois))
    return out


@staged
def write_priority_report(cov: gpd.GeoDataFrame, cells: gpd.GeoDataFrame, districts: gpd.GeoDataFrame,
                          hotspots: gpd.GeoDataFrame, roads: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame | None,
                          sources: list[str], *, cell_size_m: float, target: Path) -> ReportFiles:
    """``cells``/``districts``: named priority areas (:func:`name_areas`). Writes wifi_priority.gpkg/.html/.csv
    and wifi_priority_map.html."""
    output_folder(target)
    gpkg = fresh_file(target / "wifi_priority.gpkg")
    cells.to_file(gpkg, layer="priority_cells")
    districts.to_file(gpkg, layer="priority_districts_1km")
    cov.to_file(gpkg, layer="demand")
    csv = write_excel_csv(pd.concat([_priority_table(cells), lonlat(cells)], axis=1), target / "wifi_priority.csv",
                          LABELS)
    top = cells.head(MAP_CELLS)
    tip = ("rank", "priority", "name", "uncovered_weight", "why")
    m, _ = make_map([MapLayer.styled("wifi_priority", top, tooltip=tip),
                     MapLayer.styled("existing_hotspot", hotspots, tooltip=("name", "operator"))],
                    bounds_gdf=top, roads=roads, buildings=buildings, attribution=ATTRIBUTION,
                    title="Öffentliches WLAN: Prioritätsgebiete / public WLAN priority areas")
    page = save_map(m, target / "wifi_priority_map.html")
    share = cov.loc[cov.covered, "weight"].sum() / max(cov["weight"].sum(), 1e-9)
    top15 = cells.head(15)
    counts = cells["priority"].value_counts() if "priority" in cells else pd.Series(dtype=int)
    rows = [("WLAN-Hotspots heute / hotspots today", len(hotspots)),
            ("gedeckter Bedarf (gewichtet, %) / demand covered (weighted, %)", round(share * 100, 1)),
            *[(f"Zellen mit Priorität {c.label} / cells of priority {c.en}", int(counts.get(c.value, 0)))
              for c in style("wifi_priority").classes]]
    report = write_page(
        target / "wifi_priority.html", "Öffentliches WLAN: Prioritätsgebiete / public WLAN priority areas",
        f"Wo Menschen ohne WLAN-Versorgung zusammenkommen, je {cell_size_m:g}-m-Zelle, nach ungedecktem Bedarf "
        f"gereiht / where people gather without coverage, per {cell_size_m:g} m cell, ranked by uncovered demand.",
        [("Zusammenfassung / summary", key_values(rows)),
         ("Ungedeckter Bedarf, erste 15 Gebiete / uncovered demand, top 15",
          img(bar_chart([str(n)[:40] for n in top15["name"]], list(top15["uncovered_weight"]),
                        "ungedeckter Bedarf je Gebiet / uncovered demand per area", "Gewicht / weight",
                        style("wifi_priority").color))),
         ("Prioritätsgebiete / priority areas", table(_priority_table(cells), labels=LABELS)),
         ("Bezirke (1-km-Zensuszellen) / districts (1 km census cells)", table(_priority_table(districts), 15,
                                                                                LABELS))],
        map_file=page.name, sources=sources,
        notes=["Bedarfsgewichte: netzatlas/coverage/demand_weights.yaml (Annahmen) / demand weights (assumptions).",
               "Priorität hoch = Rang 1–10, mittel = 11–30, niedrig = danach / priority high = rank 1–10, medium = "
               "11–30, low = after (netzatlas/cartography.json).",
               f"Quellen und Lizenzen / sources and licences: {ATTRIBUTION}.", files_note(gpkg, csv)])
    return ReportFiles(gpkg, report, csv, page)


@staged
def write_siting_report(s, demand: gpd.GeoDataFrame, hotspots: gpd.GeoDataFrame,  # noqa: ANN001
                        roads: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame | None, sources: list[str], *,
                        k: int, radius_m: float, notes: list[str], target: Path) -> ReportFiles:
    """``s``: a ``wifi.analysis.WlanSiting``. Writes wifi_new_access_points.gpkg/.csv, wifi_siting_report.html and
    wifi_siting.html (the map)."""
    output_folder(target)
    sites = s.new_sites.copy()
    out = gpd.GeoDataFrame({"pick": sites["pick"].values, "name": site_names(sites, roads),
                            "kind": sites["kind"].values, "ref": sites["ref"].values,
                            "gain_weight": sites["gain_weight"].values}, geometry=sites.geometry.values,
                           crs=sites.crs)
    gpkg = fresh_file(target / "wifi_new_access_points.gpkg")
    out.to_file(gpkg, layer="new_access_points")
    csv = write_excel_csv(pd.concat([out.drop(columns="geometry"), lonlat(out)], axis=1),
                          target / "wifi_new_access_points.csv", LABELS)
    m, _ = make_map([MapLayer.styled("new_site", out, name="neue Access Points / new access points",
                                     tooltip=("pick", "name", "gain_weight")),
                     MapLayer.styled("existing_hotspot", hotspots, tooltip=("name", "operator"))],
                    bounds_gdf=out, roads=roads, buildings=buildings, attribution=ATTRIBUTION,
                    title=f"Öffentliches WLAN: {len(out)} neue Access Points / new access points")
    page = save_map(m, target / "wifi_siting.html")
    r = s.result
    rows = [("gedeckter Bedarf (Gewicht) / covered demand (weight)", round(r.covered_weight, 1)),
            ("Bedarf gesamt (Gewicht) / total demand (weight)", round(r.total_weight, 1)),
            ("Anteil / share (%)", round(r.share * 100, 1)),
            ("Hotspots heute (bleiben) / hotspots kept", len(hotspots)),
            ("neue Access Points / new access points", len(out))]
    if s.exact is not None and r.gap is not None:
        rows.append(("Abstand der Auswahl zur exakten Schranke (HiGHS) / gap of the chosen sites to the bound (%)",
                     round(r.gap * 100, 2)))
    report = write_page(
        target / "wifi_siting_report.html", "Öffentliches WLAN: neue Access Points / public WLAN: new access points",
        f"{len(out)} neue Access Points (Straßenleuchten, öffentliche Gebäude, städtische Standorte) mit "
        f"{radius_m:g} m Reichweite; die heutigen Hotspots bleiben / {len(out)} new access points with {radius_m:g} m "
        f"range; today's hotspots stay.{fewer_note(len(out), k)}",
        [("Zusammenfassung / summary", key_values(rows)),
         ("Neue Access Points / new access points", table(out.drop(columns="geometry"), rows=500, labels=LABELS))],
        map_file=page.name, sources=sources,
        notes=[*notes, "Bedarfsgewichte: netzatlas/coverage/demand_weights.yaml (Annahmen) / demand weights "
               "(assumptions).", f"Quellen und Lizenzen / sources and licences: {ATTRIBUTION}.",
               files_note(gpkg, csv)])
    return ReportFiles(gpkg, report, csv, page)
