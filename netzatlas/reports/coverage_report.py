"""The mobile reports: coverage (holes outdoor and indoor, per operator and technology) and small cells on
streetlights. Each writes beside its GeoPackage an HTML report with its map (registry basemap, scale, legend in the
shared cartography's colours) and a CSV as German Excel opens it; the header names the data sources with their
vintage and the page lists the run's assumptions; people are whole numbers counted by ``outputs.inhabitants``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from netzatlas.cartography import style
from netzatlas.reports.charging_report import ReportFiles, fresh_file, lonlat
from netzatlas.reports.maps import MapLayer, make_map, save_map
from netzatlas.reports.names import area_names, site_names
from netzatlas.reports.outputs import inhabitants, people, write_excel_csv
from netzatlas.reports.page import key_values, table, write_page

SOURCE_KINDS = ("osm", "zensus", "boundary")
ATTRIBUTION = "© OpenStreetMap-Mitwirkende / contributors · Zensus 2011"
#: holes drawn on the report map (the GeoPackage and CSV hold every hole)
MAP_HOLES = 300
#: how far (m) from a lamp the nearest address may lie to name it
ADDRESS_SEARCH_M = 80.0
ALL_NETWORKS = "alle öffentlichen Netze / all public networks"
LABELS = {
    "rank": "Rang / rank", "name": "Lage / location", "coverage": "Versorgung / coverage",
    "people": "Einwohner / inhabitants", "addresses": "Adressen / addresses", "area_ha": "Fläche (ha) / area (ha)",
    "lon": "Länge / longitude", "lat": "Breite / latitude", "operator": "Netzbetreiber / operator",
    "technology": "Technik / technology", "cells_covered_pct": "Rasterzellen versorgt (%) / cells covered (%)",
    "people_covered_pct": "Einwohner versorgt (%) / inhabitants covered (%)",
    "people_in_holes": "Einwohner in Lücken / inhabitants in holes", "holes": "Lücken / holes",
    "pick": "Nr. / no.", "external_id": "Kennung / id", "address": "nächste Adresse / nearest address",
    "score": "Punktzahl / score", "demand_weight": "Bedarf (Gewicht) / demand (weight)",
    "nearest_site_m": "nächster Mast (m) / nearest site (m)",
    "nearest_chosen_m": "nächste gewählte Leuchte (m) / nearest chosen lamp (m)",
    "fibre_distance_m": "Glasfaser (m) / fibre (m)", "assumed": "angenommen / assumed",
}
VIEW_DE = {c.value: c.label for c in style("coverage_hole_result").classes}


def group_summary(operator: str, technology: str, view: str, rsrp: npt.NDArray[np.float64],
                  valid: npt.NDArray[np.bool_], population: npt.NDArray[np.float64], threshold_dbm: float,
                  holes: pd.DataFrame) -> dict:
    """One row of the summary: the share of the ``valid`` raster cells and of the people (``population``: people
    per raster cell) with RSRP ≥ threshold, and the people in ``holes`` (a whole number)."""
    ok = (rsrp >= threshold_dbm) & valid
    n = int(valid.sum())
    total = float(population[valid].sum())
    return {"operator": operator, "technology": technology, "coverage": view,
            "cells_covered_pct": round(ok.sum() / n * 100, 1) if n else np.nan,
            "people_covered_pct": round(float(population[ok].sum()) / total * 100, 1) if total > 0 else np.nan,
            "holes": len(holes), "people_in_holes": inhabitants(holes, "people")}


def named_holes(holes: gpd.GeoDataFrame, roads: gpd.GeoDataFrame | None, pois: gpd.GeoDataFrame | None
                ) -> gpd.GeoDataFrame:
    """``holes`` (largest first) with a ``rank`` and a ``name`` (street · named place) in front, people whole."""
    out = holes.reset_index(drop=True).copy()
    out["people"] = people(out["people"])
    out.insert(0, "name", area_names(out.assign(cell_id=""), roads, pois) if len(out) else [])
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out


def _holes_table(h: pd.DataFrame) -> pd.DataFrame:
    t = pd.DataFrame(h.drop(columns=[c for c in ("geometry",) if c in h.columns]))
    t = t[[c for c in ("rank", "name", "coverage", "people", "addresses", "area_ha") if c in t.columns]].copy()
    t["coverage"] = t["coverage"].map(lambda v: VIEW_DE.get(v, v))
    return t


def write_coverage_report(holes: Mapping[str, gpd.GeoDataFrame], summary: pd.DataFrame,
                          roads: gpd.GeoDataFrame | None, buildings: gpd.GeoDataFrame | None,
                          sources: list[str], *, population_total: int, threshold_dbm: float, resolution_m: float,
                          assumptions: list[str], target: Path, gpkg: Path) -> ReportFiles:
    """``holes``: per view (outdoor/indoor) the named holes of all public networks (:func:`named_holes`);
    ``summary``: :func:`group_summary` rows. Writes coverage_holes.csv, coverage_report.html and
    coverage_holes_map.html beside ``gpkg`` (written by the caller)."""
    target.mkdir(parents=True, exist_ok=True)
    frames = [h for h in holes.values() if len(h)]
    crs = frames[0].crs if frames else "EPSG:25832"
    every = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=crs) if frames else \
        gpd.GeoDataFrame({"rank": [], "name": [], "coverage": [], "people": []}, geometry=[], crs=crs)
    csv = write_excel_csv(pd.concat([_holes_table(every), lonlat(every)], axis=1), target / "coverage_holes.csv",
                          LABELS)
    drawn = every.sort_values("people", ascending=False).head(MAP_HOLES)
    drawn = drawn.set_geometry(drawn.geometry.simplify(resolution_m / 2))  # raster steps: a lighter page
    m, _ = make_map([MapLayer.styled("coverage_hole_result", drawn,
                                     tooltip=("name", "coverage", "people", "addresses", "area_ha"))],
                    bounds_gdf=drawn, roads=roads, buildings=buildings, attribution=ATTRIBUTION,
                    title=f"Mobilfunk-Versorgungslücken / mobile coverage holes (RSRP < {threshold_dbm:g} dBm)")
    page = save_map(m, target / "coverage_holes_map.html")
    s = summary.copy()
    s["coverage"] = s["coverage"].map(lambda v: VIEW_DE.get(v, v))
    rows = [("Einwohner (Zensus 2011, 100-m-Raster) / inhabitants (census grid)", population_total),
            *[(f"Einwohner in Lücken / people in holes: {VIEW_DE.get(v, v)}", inhabitants(h, "people"))
              for v, h in holes.items()],
            ("Schwelle (RSRP, dBm) / threshold (RSRP, dBm)", threshold_dbm),
            ("Rasterweite (m) / raster cell size (m)", resolution_m)]
    blocks = [("Zusammenfassung / summary", key_values(rows)),
              ("Je Netzbetreiber und Technik / per operator and technology", table(s, rows=200, labels=LABELS))]
    blocks += [(f"Größte Lücken / largest holes: {VIEW_DE.get(v, v)}", table(_holes_table(h), 15, LABELS))
               for v, h in holes.items()]
    report = write_page(
        target / "coverage_report.html", "Mobilfunkversorgung / mobile coverage",
        f"Best-Server-Versorgung je Netzbetreiber und Technik, im Freien (1,5 m über Grund) und in Gebäuden; Lücke = "
        f"RSRP unter {threshold_dbm:g} dBm / best-server coverage per operator and technology, outdoor (1.5 m above "
        f"ground) and indoor; hole = RSRP below {threshold_dbm:g} dBm.",
        blocks, map_file=page.name, sources=sources,
        notes=[*(f"Annahme / assumption: {a}" for a in assumptions),
               f"Dateien / files: {gpkg.name}, {csv.name} (Excel: Semikolon, Dezimalkomma / semicolon, decimal "
               "comma), rsrp_outdoor_*.tif, rsrp_indoor_*.tif."])
    return ReportFiles(gpkg, report, csv, page)


def nearest_address(points: gpd.GeoSeries, addresses: gpd.GeoDataFrame | None) -> pd.Series:
    """'Theaterstraße 14' of the nearest address (within :data:`ADDRESS_SEARCH_M`) of each point; empty where
    none."""
    out = pd.Series("", index=points.index, dtype=object)
    if addresses is None or addresses.empty or points.empty or "street" not in addresses.columns:
        return out
    a = addresses[addresses["street"].notna()].to_crs(points.crs)
    if a.empty:
        return out
    number = a.get("house_number", pd.Series("", index=a.index)).fillna("").astype(str) + \
        a.get("house_number_suffix", pd.Series("", index=a.index)).fillna("").astype(str)
    a = gpd.GeoDataFrame({"label": (a["street"].astype(str) + " " + number).str.strip()}, geometry=a.geometry.values,
                         crs=a.crs)
    pts = gpd.GeoDataFrame(geometry=points.values, index=points.index, crs=points.crs)
    j = gpd.sjoin_nearest(pts, a, how="left", max_distance=ADDRESS_SEARCH_M)
    j = j[~j.index.duplicated()]
    return out.add(j["label"].reindex(out.index).fillna("").astype(str), fill_value="")


def named_lamps(chosen: gpd.GeoDataFrame, roads: gpd.GeoDataFrame | None, addresses: gpd.GeoDataFrame | None
                ) -> gpd.GeoDataFrame:
    """The chosen lamps with ``pick``, ``name`` ('Straßenleuchte, Theaterstraße') and ``address`` in front."""
    out = chosen.reset_index(drop=True).copy()
    names = site_names(out.assign(kind="streetlight", ref=out.get("external_id")), roads)
    address = nearest_address(out.geometry, addresses).values if len(out) else []
    out = out.drop(columns=[c for c in ("pick", "name", "address") if c in out.columns])  # own name: in ``names``
    out.insert(0, "address", address)
    out.insert(0, "name", names)
    out.insert(0, "pick", np.arange(1, len(out) + 1))
    return out


LAMP_COLUMNS = ["pick", "name", "address", "external_id", "score", "demand_weight", "nearest_site_m",
                "nearest_chosen_m", "fibre_distance_m", "assumed"]


def write_small_cells_report(screened: gpd.GeoDataFrame, lamps: gpd.GeoDataFrame, sites: gpd.GeoDataFrame,
                             roads: gpd.GeoDataFrame | None, buildings: gpd.GeoDataFrame | None, sources: list[str],
                             *, gain_people: int, threshold_dbm: float, assumptions: list[str], target: Path
                             ) -> ReportFiles:
    """``lamps``: :func:`named_lamps`. Writes small_cells.gpkg/.csv, small_cells.html and small_cells_map.html."""
    target.mkdir(parents=True, exist_ok=True)
    gpkg = fresh_file(target / "small_cells.gpkg")
    screened.to_file(gpkg, layer="streetlights")
    lamps.to_file(gpkg, layer="chosen")
    cols = [c for c in LAMP_COLUMNS if c in lamps.columns]
    csv = write_excel_csv(pd.concat([pd.DataFrame(lamps[cols]), lonlat(lamps)], axis=1),
                          target / "small_cells.csv", LABELS)
    m, _ = make_map([MapLayer.styled("new_site", lamps, name="gewählte Straßenleuchten (Small Cells) / chosen "
                                     "small-cell lamps", tooltip=("pick", "name", "address", "score", "assumed")),
                     MapLayer.styled("mobile_site", sites, tooltip=("name", "operator", "site_type"), show=True)],
                    bounds_gdf=lamps, roads=roads, buildings=buildings, attribution=ATTRIBUTION,
                    title="Small Cells auf Straßenleuchten / small cells on streetlights — Annahmen / assumptions: "
                          + "; ".join(assumptions))
    page = save_map(m, target / "small_cells_map.html")
    rows = [("Straßenleuchten / streetlights", len(screened)),
            ("davon geeignet / of which suitable", int(screened["suitable"].sum())),
            ("Höhe angenommen / height assumed", int(screened["height_assumed"].sum())),
            ("Dauerstrom angenommen / permanent power assumed", int(screened["power_assumed"].sum())),
            ("gewählt / chosen", len(lamps)),
            (f"Einwohner neu versorgt im Freien (RSRP ≥ {threshold_dbm:g} dBm) / people newly covered outdoor",
             gain_people)]
    report = write_page(
        target / "small_cells.html", "Small Cells auf Straßenleuchten / small cells on streetlights",
        "Jede Straßenleuchte als Small-Cell-Träger geprüft (Höhe, Strom, Abstand, Bedarf, Glasfaser), die besten "
        "mit Mindestabstand gewählt / every streetlight screened as a small-cell host (height, power, spacing, "
        "demand, fibre), the best chosen at a minimum spacing.",
        [("Zusammenfassung / summary", key_values(rows)),
         ("Gewählte Leuchten / chosen lamps", table(pd.DataFrame(lamps[cols]), rows=500, labels=LABELS))],
        map_file=page.name, sources=sources,
        notes=[*(f"Annahme / assumption: {a}" for a in assumptions),
               f"Dateien / files: {gpkg.name}, {csv.name} (Excel: Semikolon, Dezimalkomma / semicolon, decimal "
               "comma)."])
    return ReportFiles(gpkg, report, csv, page)
