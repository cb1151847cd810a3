"""The charging reports: gaps (distance to the nearest public charger) and siting (new locations). Each writes a
GeoPackage, an HTML report with its map, and a CSV as German Excel opens it; the header names the data sources
with their vintage; people are whole numbers counted by one function (``outputs.inhabitants``)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd

from netzatlas.cartography import style
from netzatlas.reports.maps import MapLayer, make_map, save_map
from netzatlas.reports.names import area_names, site_names
from netzatlas.reports.outputs import files_note, inhabitants, people, write_excel_csv
from netzatlas.reports.page import bar_chart, histogram, img, key_values, table, write_page
from netzatlas.reports.staging import output_folder, staged_outputs

ATTRIBUTION = ("© OpenStreetMap-Mitwirkende / contributors (ODbL 1.0) · Zensus 2011 © Statistische Ämter des "
               "Bundes und der Länder (dl-de/by-2-0) · Ladesäulenregister © Bundesnetzagentur (CC BY 4.0)")
LABELS = {
    "rank": "Rang / rank", "name": "Lage / location", "population": "Einwohner / inhabitants",
    "area_ha": "Fläche (ha) / area (ha)", "pick": "Nr. / no.", "kind": "Art / kind", "ref": "Kennung / id",
    "residents_gained": "Einwohner neu in Reichweite / residents newly within reach", "lon": "Länge / longitude",
    "lat": "Breite / latitude", "cell_id": "Rasterzelle / grid cell", "charge_points": "Ladepunkte / charge points",
    "kw": "Leistung (kW) / power (kW)", "charge_points_per_1000": "Ladepunkte je 1.000 Einw. / per 1,000",
    "kw_per_1000": "kW je 1.000 Einw. / per 1,000", "street": "Straße / street", "house_number": "Nr. / no.",
    "straight_m": "Luftlinie (m) / straight (m)", "road_m": "entlang Straßen (m) / along roads (m)",
    "gap": "Lücke / gap", "external_id": "Kennung / id",
}
SUMMARY = {
    "chargers": "öffentliche Ladestationen / public chargers", "charge_points": "Ladepunkte / charge points",
    "kw": "Leistung gesamt (kW) / total power (kW)",
    "population_municipality": "Einwohner der Gemeinde (Zensus 2011, 100-m-Raster) / inhabitants (census grid)",
    "population": "davon im Gebiet der Straßendaten (ausgewertet) / of which within the road data (analysed)",
    "population_outside_road_data": "davon außerhalb der Straßendaten / of which outside the road data",
    "population_within_250m_pct": "Einwohner ≤ 250 m entlang Straßen (%) / inhabitants ≤ 250 m (%)",
    "population_within_500m_pct": "Einwohner ≤ 500 m (%) / inhabitants ≤ 500 m (%)",
    "population_within_1000m_pct": "Einwohner ≤ 1000 m (%) / inhabitants ≤ 1000 m (%)",
    "addresses_median_road_m": "Median Adresse → Ladepunkt entlang Straßen (m) / median address → charger (m)",
    "addresses_in_gaps_pct": "Adressen in Lücken (%) / addresses in gaps (%)",
    "charge_points_per_1000": "Ladepunkte je 1.000 Einwohner / charge points per 1,000 inhabitants",
    "kw_per_1000": "kW je 1.000 Einwohner / kW per 1,000 inhabitants",
}


@dataclass
class ReportFiles:
    """The files an analysis wrote."""

    gpkg: Path
    html: Path
    csv: Path
    map: Path

    def moved_to(self, target: Path) -> ReportFiles:
        """The same files in ``target`` (where :func:`staged_outputs` moved them)."""
        return ReportFiles(*(target / p.name for p in (self.gpkg, self.html, self.csv, self.map)))


def staged(write: Callable[..., ReportFiles]) -> Callable[..., ReportFiles]:
    """Decorator of a report writer with a ``target`` folder: it writes into :func:`staged_outputs` and returns
    the files where they were moved."""
    sig = inspect.signature(write)

    @functools.wraps(write)
    def wrapper(*args: object, **kwargs: object) -> ReportFiles:
        bound = sig.bind(*args, **kwargs)
        final = Path(bound.arguments["target"])
        with staged_outputs(final) as tmp:
            bound.arguments["target"] = tmp
            files = write(*bound.args, **bound.kwargs)
        return files.moved_to(final)

    return wrapper


def fresh_file(path: Path) -> Path:
    if path.exists():
        path.unlink()
    return path


def sources_layer(gpkg: Path, sources: list[str], crs: object) -> None:
    """The data sources with their vintage as a table ``quellen_sources`` of the GeoPackage (no geometry), so the
    file carries the inputs' dates like the HTML report's header."""
    gpd.GeoDataFrame({"quelle_source": list(sources) or ["keine Importe / no imports"]},
                     geometry=[None] * max(len(sources), 1), crs=crs).to_file(gpkg, layer="quellen_sources")


def _de(value: float | None) -> str:
    """A figure of the intro as a German reader writes it (decimal comma); '—' when it is unknown."""
    return "—" if value is None else f"{value:g}".replace(".", ",")


def fewer_note(chosen: int, k: int) -> str:
    """The intro's remark when the solver took fewer sites than asked for (the others would add no coverage)."""
    return "" if chosen >= k else (f" Angefragt waren {k}; weitere Standorte brächten keinen zusätzlichen Bedarf "
                                   f"in Reichweite / {k} were asked for; more sites would add no coverage.")


def lonlat(gdf: gpd.GeoDataFrame) -> pd.DataFrame:
    p = gdf.geometry.representative_point().to_crs(4326)
    return pd.DataFrame({"lon": p.x.round(6).values, "lat": p.y.round(6).values}, index=gdf.index)


@staged
def write_gaps_report(res, chargers: gpd.GeoDataFrame, districts: gpd.GeoDataFrame,  # noqa: ANN001
                      roads: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame | None, pois: gpd.GeoDataFrame | None,
                      sources: list[str], gap_distance_m: float, target: Path,
                      afir: tuple[pd.DataFrame, pd.DataFrame] | None = None) -> ReportFiles:
    """``res``: a ``charging.report.ChargingGaps``. Writes charging_gaps.gpkg/.html/.csv and charging_gaps_map.html;
    ``afir``: (fleet check, payment check) of ``charging.afir``, shown as the report's AFIR sections."""
    from netzatlas.charging.access import supply_per_cell

    output_folder(target)
    gap_areas = res.gaps.copy()
    gap_areas.insert(0, "name", area_names(gap_areas, roads, pois))
    gpkg = fresh_file(target / "charging_gaps.gpkg")
    res.cells.replace([float("inf")], None).to_file(gpkg, layer="cells_100m")
    gap_areas.to_file(gpkg, layer="gaps")
    per_district = supply_per_cell(districts, chargers)
    per_district["population"] = people(per_district["population_estimate"])
    per_district.to_file(gpkg, layer="districts_1km")
    res.addresses[["external_id", "street", "house_number", "straight_m", "road_m", "gap", "geometry"]] \
        .replace([float("inf")], None).to_file(gpkg, layer="addresses")
    sources_layer(gpkg, sources, gap_areas.crs)
    csv = write_excel_csv(pd.concat([gap_areas.drop(columns="geometry"), lonlat(gap_areas)], axis=1),
                          target / "charging_gaps.csv", LABELS)
    m, _ = make_map([MapLayer.styled("charging_gap", gap_areas, tooltip=("name", "population", "area_ha")),
                     MapLayer.styled("existing_charger", chargers, tooltip=("name", "operator", "charge_points",
                                                                            "power_kw"))],
                    bounds_gdf=gap_areas if len(gap_areas) else res.cells, roads=roads, buildings=buildings,
                    attribution=ATTRIBUTION, title=f"Ladelücken / charging gaps (> {gap_distance_m:g} m)")
    page = save_map(m, target / "charging_gaps_map.html")
    sm = res.summary
    dist_cols = ["cell_id", "population", "charge_points", "kw", "charge_points_per_1000", "kw_per_1000"]
    report = write_page(
        target / "charging_gaps.html", "Ladeinfrastruktur: Lücken / public charging gaps",
        f"{sm['chargers']:,} öffentliche Ladestationen / public chargers; {_de(sm['charge_points_per_1000'])} "
        f"Ladepunkte und {_de(sm['kw_per_1000'])} kW je 1.000 Einwohner / charge points and kW per 1,000 "
        f"inhabitants; Lücke = weiter "
        f"als {gap_distance_m:g} m entlang Straßen / gap = farther than {gap_distance_m:g} m along roads.",
        [("Zusammenfassung / summary", key_values([(SUMMARY.get(k, k), "—" if v is None else v)
                                                   for k, v in sm.items()])),
         ("Einwohner in Reichweite (entlang Straßen) / population within reach (along roads)",
          img(bar_chart(["≤ 250 m", "≤ 500 m", "≤ 1000 m"], [sm["population_within_250m_pct"],
                        sm["population_within_500m_pct"], sm["population_within_1000m_pct"]],
                        "Anteil der Einwohner / share of the population", "%", style("existing_charger").color))),
         ("Entfernung Adresse → nächster Ladepunkt / distance from addresses to the nearest charger",
          img(histogram(res.addresses["road_m"].replace(float("inf"), float("nan")).clip(upper=3000),
                        "entlang Straßen, bis 3 km / along roads (capped at 3 km)", "m"))),
         ("Lücken / gap areas", table(gap_areas.drop(columns="geometry"), labels=LABELS)),
         ("Je Bezirk (1-km-Zensuszellen; offene Daten ohne Bezirksgrenzen) / per district (1 km census cells)",
          table(per_district.drop(columns="geometry").sort_values("population", ascending=False)[dist_cols],
                labels=LABELS)), *(afir_blocks(*afir) if afir is not None else [])],
        map_file=page.name, sources=sources,
        notes=["OSM-Ladestationen, die einem Registereintrag zugeordnet sind, zählen einmal / OSM stations linked "
               "to a register entry are counted once.",
               "Zellen mehr als 250 m von jeder Straße des Registers liegen außerhalb der Straßendaten und zählen "
               "nicht als Lücke / cells more than 250 m from any registry road lie outside the road data.",
               "Je 1.000 Einwohner: alle Ladestationen des Registers durch die Einwohner der Gemeinde (Zensus 2011) "
               "/ per 1,000 inhabitants: every charger of the registry over the municipality's inhabitants.",
               f"Quellen und Lizenzen / sources and licences: {ATTRIBUTION}.", files_note(gpkg, csv)])
    return ReportFiles(gpkg, report, csv, page)


@staged
def write_siting_report(s, cells: gpd.GeoDataFrame, chargers: gpd.GeoDataFrame,  # noqa: ANN001
                        roads: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame | None, sources: list[str], *,
                        k: int, radius_m: float, target: Path) -> ReportFiles:
    """``s``: a ``charging.siting.ChargingSiting``. Writes charging_siting.gpkg/.html/.csv and
    charging_siting_map.html: the new locations by name and street, residents newly within reach."""
    output_folder(target)
    sites = s.new_sites.copy()
    sites.insert(1, "name_location", site_names(sites, roads))
    sites["residents_gained"] = people(sites["residents_gained"])
    cols = ["pick", "name_location", "kind", "ref", "residents_gained"]
    out = gpd.GeoDataFrame(sites[cols].rename(columns={"name_location": "name"}), geometry=sites.geometry.values,
                           crs=sites.crs)
    gpkg = fresh_file(target / "charging_siting.gpkg")
    out.to_file(gpkg, layer="new_locations")
    chargers.to_crs(out.crs)[[c for c in ("external_id", "name", "operator", "charge_points", "power_kw")
                              if c in chargers.columns] + [chargers.geometry.name]] \
        .to_file(gpkg, layer="chargers_today")
    sources_layer(gpkg, sources, out.crs)
    csv = write_excel_csv(pd.concat([out.drop(columns="geometry"), lonlat(out)], axis=1),
                          target / "charging_siting.csv", LABELS)
    m, _ = make_map([MapLayer.styled("new_site", out, tooltip=("pick", "name", "residents_gained")),
                     MapLayer.styled("existing_charger", chargers, tooltip=("name", "operator", "charge_points"))],
                    bounds_gdf=out, roads=roads, buildings=buildings, attribution=ATTRIBUTION,
                    title=f"Neue Ladestandorte / new charging locations ({len(out)})")
    page = save_map(m, target / "charging_siting_map.html")
    r = s.result
    total, covered = inhabitants(cells), int(round(r.covered_weight))  # the siting's weights are the same estimate
    rows = [("Einwohner der Gemeinde (Zensus 2011, 100-m-Raster) / inhabitants (census grid)", total),
            (f"davon ≤ {radius_m:g} m (Luftlinie) von einem Ladepunkt / of which within {radius_m:g} m", covered),
            ("Anteil / share (%)", round(covered / total * 100, 1) if total else 0.0),
            ("bestehende Ladestationen (bleiben) / existing chargers (kept)", len(chargers)),
            ("neue Standorte / new locations", len(out))]
    if r.gap is not None:
        rows.append(("Abstand der Auswahl zur exakten Schranke (MILP) / gap of the chosen sites to the exact bound (%)",
                     round(r.gap * 100, 2)))
    report = write_page(
        target / "charging_siting.html", "Ladeinfrastruktur: neue Standorte / public charging: new locations",
        f"{len(out)} neue Standorte (Straßenleuchten, städtische Standorte), die die meisten Einwohner in "
        f"{radius_m:g} m Reichweite bringen; bestehende Ladepunkte bleiben / {len(out)} new locations (streetlights, "
        f"city-offered sites) that bring the most residents within {radius_m:g} m; existing chargers stay."
        f"{fewer_note(len(out), k)}",
        [("Zusammenfassung / summary", key_values(rows)),
         ("Neue Standorte / new locations", table(out.drop(columns="geometry"), rows=200, labels=LABELS))],
        map_file=page.name, sources=sources,
        notes=["Reichweite als Luftlinie (≈ 400 m Fußweg bei 300 m) / reach as a straight line (300 m ≈ 400 m "
               "walked); die Entfernung entlang Straßen prüft »netzatlas charging gaps« / the road distance is "
               "checked by 'netzatlas charging gaps'.",
               f"Quellen und Lizenzen / sources and licences: {ATTRIBUTION}.", files_note(gpkg, csv)])
    return ReportFiles(gpkg, report, csv, page)


AFIR_LABELS = {
    "region_key": "Gemeindeschlüssel / AGS", "name": "Gemeinde / municipality", "stichtag": "Stichtag Kfz-Bestand",
    "bev": "BEV", "phev": "PHEV", "target_kw": "AFIR-Ziel (kW) / target (kW)",
    "installed_kw": "öffentlich installiert (kW) / installed public (kW)", "ratio": "Erfüllung / ratio",
    "met": "erfüllt / met", "shortfall_kw": "Fehlbetrag (kW) / shortfall (kW)", "chargers": "Ladestationen",
    "charge_points": "Ladepunkte / charge points", "kw_missing": "ohne Leistungsangabe / without power",
    "simulated": "simuliert / simulated", "source": "Quelle / source", "points_50kw": "Punkte ≥ 50 kW",
    "max_kw": "max. kW", "power_basis": "Leistung aus / power from", "payment": "Bezahlsysteme / payment",
    "adhoc_card": "Kartenzahlung / card payment", "flagged": "auffällig / flagged", "operator": "Betreiber",
    "external_id": "Kennung / id",
}


def afir_blocks(fleet: pd.DataFrame, payment: pd.DataFrame) -> list[tuple[str, str]]:
    """The AFIR sections of a charging report: the fleet-based target per municipality and the ad-hoc payment
    check of the ≥ 50 kW points (escaped tables)."""
    from netzatlas.charging.afir import ADHOC_PAYMENT_MIN_KW, KW_PER_BEV, KW_PER_PHEV

    cols = [c for c in ("region_key", "name", "stichtag", "bev", "phev", "target_kw", "installed_kw", "ratio",
                        "met", "shortfall_kw", "charge_points", "kw_missing", "simulated") if c in fleet.columns]
    shown = fleet[cols].assign(met=fleet["met"].map({True: "ja / yes", False: "nein / no"}).fillna(
        "unbekannt (keine Gemeindegrenze im Register) / unknown (no boundary in the registry)"))
    pay = payment.drop(columns="geometry", errors="ignore")
    pay = pay.assign(adhoc_card=pay["adhoc_card"].map({True: "ja / yes", False: "NEIN / NO"}).fillna(
        "keine Angabe / no data")) if len(pay) else pay
    n_flag, n_unknown = int(payment["flagged"].sum()) if len(payment) else 0, \
        int(payment["adhoc_card"].isna().sum()) if len(payment) else 0
    return [
        (f"AFIR: flottenbasiertes Ziel ({KW_PER_BEV} kW je BEV, {KW_PER_PHEV} kW je PHEV) / fleet-based target",
         key_values([("Gemeinden mit Fahrzeugzahlen / municipalities with vehicle counts", len(fleet)),
                     ("davon mit Gemeindegrenze im Register / of which with a boundary in the registry",
                      int(fleet["met"].notna().sum())),
                     ("davon erfüllt / of which met", int((fleet["met"] == True).sum()))])  # noqa: E712
         + table(shown, rows=100, labels=AFIR_LABELS)),
        (f"AFIR: Ad-hoc-Kartenzahlung an Ladepunkten ≥ {ADHOC_PAYMENT_MIN_KW:g} kW / ad-hoc card payment",
         key_values([(f"Stationen mit Punkten ≥ {ADHOC_PAYMENT_MIN_KW:g} kW / stations", len(payment)),
                     ("laut Daten ohne Kartenzahlung (auffällig) / data lists no card payment (flagged)", n_flag),
                     ("ohne Angabe zur Bezahlung / no payment data", n_unknown)])
         + table(pay.sort_values("flagged", ascending=False) if len(pay) else pay, rows=200, labels=AFIR_LABELS)),
    ]


@staged
def write_afir_report(fleet: pd.DataFrame, payment: pd.DataFrame, sources: list[str], target: Path) -> ReportFiles:
    """Writes charging_afir.html, charging_afir.csv (per municipality), charging_afir.gpkg (layers
    ``payment_50kw`` and ``fleet_target``) and charging_afir_payment.csv; the header names every source with its
    vintage (the vehicle counts' Stichtag among them)."""
    output_folder(target)
    gpkg = fresh_file(target / "charging_afir.gpkg")
    pay = gpd.GeoDataFrame(payment.assign(adhoc_card=payment["adhoc_card"].astype("object").map(
        {True: "ja", False: "nein"}).fillna("keine Angabe")), geometry="geometry",
        crs=getattr(payment, "crs", None))
    if len(pay):
        pay.to_file(gpkg, layer="payment_50kw")
    fleet_out = fleet.assign(stichtag=fleet["stichtag"].astype(str),
                             met=fleet["met"].map({True: "ja", False: "nein"}).fillna("unbekannt"))
    gpd.GeoDataFrame(fleet_out, geometry=[None] * len(fleet_out), crs=pay.crs or "EPSG:4326").to_file(
        gpkg, layer="fleet_target")
    sources_layer(gpkg, sources, pay.crs or "EPSG:4326")
    csv = write_excel_csv(fleet_out, target / "charging_afir.csv", AFIR_LABELS)
    write_excel_csv(pay.drop(columns="geometry"), target / "charging_afir_payment.csv", AFIR_LABELS)
    simulated = bool(fleet.get("simulated", pd.Series(dtype=bool)).fillna(False).any())
    report = write_page(
        target / "charging_afir.html", "Ladeinfrastruktur: AFIR-Prüfung / public charging: AFIR checks",
        "Verordnung (EU) 2023/1804 (AFIR): flottenbasiertes Ziel je Gemeinde und Ad-hoc-Kartenzahlung an "
        "Ladepunkten ab 50 kW / Regulation (EU) 2023/1804: fleet-based target per municipality and ad-hoc card "
        "payment at points of 50 kW and more.",
        afir_blocks(fleet, payment), sources=sources,
        notes=[*(["Die Fahrzeugzahlen sind SIMULIERT (Demo), keine amtlichen KBA-Zahlen / the vehicle counts are "
                  "SIMULATED (demo), not official KBA figures."] if simulated else []),
               "Installierte Leistung: aktive öffentliche Ladestationen des Registers innerhalb der Gemeindegrenze "
               "(OSM-Stationen, die einem Registereintrag zugeordnet sind, zählen einmal); die Stände von "
               "Fahrzeugzahlen und Ladestationen stehen oben und können auseinanderliegen / installed power: "
               "active public stations inside the boundary; the inputs' dates are listed above and may differ.",
               "Kartenzahlung: auffällig nur, wo die Daten Bezahlsysteme ohne Karte nennen; fehlende Angaben sind "
               "»keine Angabe«, kein Verstoß / flagged only where the data lists payment methods without a card.",
               files_note(gpkg, csv)])
    return ReportFiles(gpkg, report, csv, report)
