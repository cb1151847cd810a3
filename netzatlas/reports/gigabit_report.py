"""The gigabit report a council can read: an HTML page in German with English alongside (map of classes and funding
areas with a metric scale, tables per class, funding area, postcode and 100 m cell, the Breitbandatlas comparison
beside the registry's coverage of the municipality, the cost assumptions, data sources with dates and attribution),
a GeoPackage (with the assumptions) and a CSV of eligible addresses as German Excel opens it (``;``, decimal comma,
UTF-8 with BOM, sorted by street and house number).

Every data value is escaped (``safe_html.text``); internal tags such as "[verified]" and raw column names never
reach the page.
"""

from __future__ import annotations

import base64
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import folium
import geopandas as gpd
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from netzatlas.cartography import style  # noqa: E402
from netzatlas.errors import InvalidParameter  # noqa: E402
from netzatlas.gigabit.classify import CLASSES  # noqa: E402
from netzatlas.gigabit.programmes import Programme  # noqa: E402
from netzatlas.reports.maps import MapLayer, MetricScale, OfflineMap, legend_html, save_map  # noqa: E402
from netzatlas.reports.outputs import inert  # noqa: E402 - one rule against formula cells for every CSV
from netzatlas.reports.safe_html import PAGE_CSP, escape_frame, meta_tag, text  # noqa: E402
from netzatlas.reports.staging import Wording, staged_outputs, writable_folder  # noqa: E402

if TYPE_CHECKING:
    from netzatlas.gigabit.funding_areas import Routing

#: class → colour: the shared cartography (the web map and the QGIS style use the same)
COLORS = {c.value: c.color for c in style("gigabit_result").classes}
#: column → label (German / English) for every table, the CSV and the map tooltips
LABELS = {
    "class": "Klasse / class", "class_de": "Klasse / class", "addresses": "Adressen / addresses",
    "eligible": "förderfähig / eligible", "overdue_plans": "überfällige Planungen / overdue plans",
    "pre_marketing": "Vorvermarktung / pre-marketing", "postcode": "PLZ / postcode", "white": "weiß / white",
    "area_no": "Nr. / no.", "rank": "Rang / rank", "name": "Gebiet / area", "district": "Bezirk / district",
    "main_streets": "Hauptstraßen / main streets", "dwellings": "Wohnungen / dwellings",
    "businesses": "Unternehmen / businesses", "schools": "Schulen / schools", "hospitals": "Krankenhäuser / hospitals",
    "trench_m": "Trasse gesamt (m) / trench (m)", "street_m": "davon entlang Straßen (m) / along roads (m)",
    "lead_in_m": "davon Hauszuführungen (m) / house lead-ins (m)", "cost_eur": "Kosten (€) / cost (€)",
    "cost_per_connection_eur": "Kosten je Anschluss (€) / cost per connection (€)",
    "cell_id": "Rasterzelle / grid cell", "share_ge_30": "≥ 30 Mbit/s (%)", "share_ge_100": "≥ 100 Mbit/s (%)",
    "share_ge_1000": "≥ 1000 Mbit/s (%)",
    **{k: f"{k} / {v}" for k, v in CLASSES.items()},
    "street": "Straße / street", "house_number": "Hausnummer / house number",
    "house_number_suffix": "Zusatz / suffix", "city": "Ort / city", "best_down_mbps": "Download heute (Mbit/s) / "
    "download today", "best_up_mbps": "Upload heute (Mbit/s) / upload today", "best_technology": "Technik / technology",
    "nga_networks": "NGA-Netze / NGA networks", "planned_down_mbps": "geplant Download (Mbit/s) / planned download",
    "planned_up_mbps": "geplant Upload (Mbit/s) / planned upload", "planned_date": "geplant bis / planned by",
    "binding_plan": "Planung erreicht die Schwelle / plan meets the threshold",
    "overdue_plan": "Planung überfällig / plan overdue",
    "class_en": "Klasse (englisch) / class (English)", "reason": "Begründung / reason",
    "socio_economic": "sozioökonomischer Schwerpunkt / focal point", "business_area": "im Gewerbegebiet / in a "
    "business area", "lon": "Länge (WGS84) / longitude", "lat": "Breite (WGS84) / latitude",
    "external_id": "Kennung / id", "note": "Hinweis / note", "snapshot": "Stand / snapshot",
}
ASSUMPTION_LABELS = {
    "eur_per_m": ("Tiefbau je Trassenmeter / civil works per trench metre", "€/m"),
    "eur_per_connection": ("je Anschluss (Hausanschluss, Inhaus) / per connection", "€"),
    "link_distance_m": ("Adressen gehören zusammen bis (entlang Straßen) / addresses belong together up to (along "
                        "roads)", "m"),
    "max_addresses": ("größtes Gebiet / largest area", "Adressen / addresses"),
    "max_cost_eur": ("teuerstes Gebiet / costliest area", "€"),
    "min_addresses": ("kleinstes Gebiet / smallest area", "Adressen / addresses"),
    "max_lead_in_m": ("Hauszuführung höchstens / house lead-in at most", "m"),
    "node_spacing_m": ("Straßengraph: Knoten mindestens alle / road graph: a node at least every", "m"),
    "buffer_m": ("Gebietsumriss: Puffer / area outline: buffer", "m"),
    "street_classes": ("Straßenklassen (OSM highway) / road classes", ""),
    "method": ("Trassenführung / trench routing", ""),
}
#: what each kind of import is, with its licence (attribution as the licences ask)
SOURCE_ATTRIBUTION = {
    "osm": "OpenStreetMap — © OpenStreetMap-Mitwirkende / contributors, ODbL 1.0 (opendatacommons.org/licenses/odbl)",
    "zensus": "Zensus 2011 — © Statistische Ämter des Bundes und der Länder, dl-de/by-2-0",
    "boundary": "Verwaltungsgrenzen VG250 — © GeoBasis-DE / BKG, dl-de/by-2-0",
    "charging-register": "Ladesäulenregister — © Bundesnetzagentur, CC BY 4.0",
}
_TAG = re.compile(r"\s*\[(?:verified|secondary|unverified|derived)[^\]]*\]", re.IGNORECASE)


@dataclass
class GigabitReport:
    html: Path
    gpkg: Path
    csv: Path


@dataclass
class ReportContext:
    """What the report states besides the classification: the snapshot, warnings, coverage, sources, assumptions."""

    snapshot: dict | None = None
    warning: str | None = None
    coverage: dict | None = None
    sources: list[dict] = field(default_factory=list)
    assumptions: dict | None = None
    unassigned: int = 0
    routing: Routing | None = None  # how the trenches were routed (``funding_areas``' ``attrs["routing"]``)


def clean_source(s: str) -> str:
    """A programme source as a reader sees it: without the internal evidence tags."""
    return _TAG.sub("", s).strip()


def de_number(v: object, decimals: int = 1) -> str:
    """German number format: 1.234,5 (integers without decimals); booleans as ja/nein."""
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return ""
    if isinstance(v, bool) or type(v).__name__ == "bool_":
        return "ja / yes" if v else "nein / no"
    if isinstance(v, int) or (isinstance(v, float) and float(v).is_integer()) or type(v).__name__.startswith("int"):
        return f"{int(v):,}".replace(",", ".")
    if isinstance(v, float) or type(v).__name__.startswith("float"):
        return f"{float(v):,.{decimals}f}".replace(",", "\0").replace(".", ",").replace("\0", ".")
    return str(v)


def _table(df: pd.DataFrame, max_rows: int | None = 40) -> str:
    """An HTML table with labelled headers and German numbers (at most ``max_rows``, None: all); every value
    escaped."""
    if df.empty:
        return "<p>keine / none</p>"
    d = df if max_rows is None else df.head(max_rows)
    head = "".join(f"<th>{text(LABELS.get(str(c), str(c)))}</th>" for c in d.columns)
    body = "".join("<tr>" + "".join(f"<td>{text(de_number(v))}</td>" for v in row) + "</tr>"
                   for row in d.itertuples(index=False))
    return f"<table class='t'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _chart(classified: pd.DataFrame) -> str:
    counts = classified["class_de"].value_counts().reindex(list(CLASSES)).fillna(0)
    elig = classified.groupby("class_de")["eligible"].sum().reindex(list(CLASSES)).fillna(0)
    fig, ax = plt.subplots(figsize=(7, 3.2))
    labels = [f"{k}\n({v})" for k, v in CLASSES.items()]
    ax.bar(labels, counts.values, color=[COLORS[k] for k in CLASSES], edgecolor="#333")
    ax.bar(labels, elig.values, color="none", edgecolor="#d7191c", hatch="//", label="förderfähig / eligible")
    ax.set_ylabel("Adressen / addresses")
    ax.legend()
    ax.set_title("Adressen je Klasse / addresses per class")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _house_key(numbers: pd.Series) -> pd.Series:
    digits = numbers.fillna("").astype(str).str.extract(r"^\s*([0-9]+)", expand=False)
    return pd.to_numeric(digits, errors="coerce").fillna(10**9)


def sort_by_address(df: pd.DataFrame) -> pd.DataFrame:
    """Sorted by street, house number (as a number), suffix."""
    keys = pd.DataFrame({
        "s": df.get("street", pd.Series("", index=df.index)).fillna("").astype(str).str.casefold(),
        "n": _house_key(df.get("house_number", pd.Series("", index=df.index))),
        "h": df.get("house_number", pd.Series("", index=df.index)).fillna("").astype(str),
        "x": df.get("house_number_suffix", pd.Series("", index=df.index)).fillna("").astype(str)}, index=df.index)
    return df.loc[keys.sort_values(["s", "n", "h", "x"], kind="stable").index]


def write_csv(eligible: pd.DataFrame, path: Path) -> None:
    """The eligible addresses as German Excel opens them: ``;``, decimal comma, UTF-8 with BOM, labelled columns,
    sorted by street and number."""
    cols = [c for c in ("street", "house_number", "house_number_suffix", "postcode", "city", "class_de", "eligible",
                        "best_down_mbps", "best_up_mbps", "best_technology", "nga_networks", "planned_down_mbps",
                        "planned_up_mbps", "planned_date", "binding_plan", "overdue_plan", "pre_marketing",
                        "socio_economic", "business_area", "reason", "lon", "lat", "external_id", "note")
            if c in eligible.columns]
    out = sort_by_address(eligible)[cols].copy()
    for c in ("eligible", "binding_plan", "overdue_plan", "pre_marketing", "business_area"):
        if c in out.columns:
            out[c] = out[c].map(lambda v: "ja" if bool(v) else "nein")
    for c in out.columns:  # a street named "=HYPERLINK(…)" stays text in Excel
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c]):
            out[c] = out[c].map(inert)
    out = out.rename(columns={c: LABELS.get(c, c) for c in out.columns})
    out.to_csv(path, sep=";", decimal=",", index=False, encoding="utf-8-sig")


def _map(addr: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, roads: gpd.GeoDataFrame | None, out_dir: Path) -> Path:
    m = OfflineMap(location=[50.7753, 6.0839], zoom_start=13, tiles=None, control_scale=False)
    MetricScale().add_to(m)
    if roads is not None and len(roads):
        r = roads.to_crs(4326)
        r = r[r["highway"].isin(["primary", "secondary", "tertiary", "residential", "unclassified", "living_street"])]
        folium.GeoJson(r[["geometry"]], name="Straßen / roads",
                       style_function=lambda _f: {"color": "#aaa", "weight": 1}).add_to(m)
    pts = addr.to_crs(4326)
    tip = {"class_de": "Klasse / class", "eligible": "förderfähig / eligible", "reason": "Begründung / reason"}
    for klass, color in COLORS.items():
        sub = pts[pts["class_de"] == klass]
        if sub.empty:
            continue
        fg = folium.FeatureGroup(name=f"{klass} / {CLASSES[klass]} ({len(sub):,})".replace(",", "."),
                                 show=klass != "gigabitfähig")
        data = escape_frame(sub[["class_de", "eligible", "reason", "geometry"]], ["class_de", "reason"])
        data["eligible"] = data["eligible"].map(lambda v: "ja / yes" if v else "nein / no")
        folium.GeoJson(data, marker=folium.CircleMarker(radius=2.5, color="#555", weight=0.5, fill=True,
                                                        fill_color=color, fill_opacity=0.9),
                       tooltip=folium.GeoJsonTooltip(list(tip), aliases=list(tip.values()))).add_to(fg)
        fg.add_to(m)
    if len(areas):
        a = escape_frame(areas.to_crs(4326)[["rank", "name", "addresses", "cost_per_connection_eur", "geometry"]],
                         ["name"])
        fields = {"rank": "Rang / rank", "name": "Gebiet / area", "addresses": "Adressen / addresses",
                  "cost_per_connection_eur": "€ je Anschluss / per connection"}
        folium.GeoJson(a, name=f"Fördergebiete / funding areas ({len(areas)})",
                       style_function=lambda _f: {"color": "#d7191c", "weight": 2, "fillOpacity": 0.1},
                       tooltip=folium.GeoJsonTooltip(list(fields), aliases=list(fields.values()))).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    legend = [MapLayer.styled("gigabit_result", pts[["class_de", pts.geometry.name]], name="Adressen / addresses"),
              MapLayer.styled("funding_area_result", areas)]
    m.get_root().html.add_child(folium.Element(legend_html(legend, "Grundkarte: Straßen des Registers / basemap: "
                                                                   "the registry's roads")))
    b = pts.total_bounds
    m.fit_bounds([[b[1], b[0]], [b[3], b[2]]])
    return save_map(m, out_dir / "map.html")


def _coverage_html(cov: dict | None) -> str:
    if not cov:
        return ""
    parts = [f"Das Register enthält <b>{text(de_number(cov.get('addresses')))}</b> Adressen / the registry holds "
             f"{text(de_number(cov.get('addresses')))} addresses."]
    if cov.get("zensus_buildings"):
        share = cov["addresses"] / cov["zensus_buildings"] * 100
        parts.append(f"Der Zensus 2011 zählt in der Gemeinde {text(de_number(cov['zensus_buildings']))} Gebäude mit "
                     f"Wohnraum / the 2011 census counts {text(de_number(cov['zensus_buildings']))} residential "
                     f"buildings in the municipality: das Register deckt rechnerisch etwa <b>"
                     f"{text(de_number(round(share, 1)))} %</b> ab / the registry covers about "
                     f"{text(de_number(round(share, 1)))} %.")
    if cov.get("zensus_population"):
        parts.append(f"Einwohner laut Zensus-Raster / inhabitants per census grid: "
                     f"{text(de_number(cov['zensus_population']))}.")
    if cov.get("cells_with_addresses") is not None and cov.get("cells_populated"):
        parts.append(f"{text(de_number(cov['cells_with_addresses']))} von {text(de_number(cov['cells_populated']))} "
                     f"bewohnten 100-m-Zellen enthalten Register-Adressen / of the populated 100 m cells, "
                     f"{text(de_number(cov['cells_with_addresses']))} hold registry addresses.")
    parts.append("Der Breitbandatlas gilt für die ganze Gemeinde (Haushalte); deckt das Register nur einen Teil ab, "
                 "sind die Anteile nur eingeschränkt vergleichbar / the Breitbandatlas covers the whole municipality "
                 "(households): where the registry covers only part of it, the shares compare only roughly.")
    return "<p class='cov'>" + " ".join(parts) + "</p>"


def _sources_html(programme: Programme, sources: list[dict]) -> str:
    items = []
    for s in sources:
        kind = s.get("kind") or ""
        what = SOURCE_ATTRIBUTION.get(kind) or f"{kind or 'Import'}: {s.get('source')}"
        when = s.get("finished_at")
        date_text = when.strftime("%d.%m.%Y") if hasattr(when, "strftime") else (str(when) if when else "")
        file_text = f", Datei / file {Path(str(s['url'])).name}" if s.get("url") else ""
        items.append(f"<li>{text(what)} — Quelle / source {text(s.get('source'))}{text(file_text)}; importiert / "
                     f"imported {text(date_text)}</li>")
    from netzatlas.gigabit.breitbandatlas import ATTRIBUTION

    items.append(f"<li>{text(ATTRIBUTION)} — Stand / as of mid 2021</li>")
    items.append("<li>Förderprogramm / funding programme: " + text("; ".join(clean_source(x) for x in
                                                                       programme.sources)) + "</li>")
    items.append("<li>Karte / map: Leaflet (BSD-2-Clause), © OpenStreetMap-Mitwirkende / contributors (ODbL)</li>")
    return "<ul>" + "".join(items) + "</ul>"


def _assumptions_html(assumptions: dict | None, unassigned: int, routing: Routing | None = None) -> str:
    """The cost assumptions as a table; the trench routing in German and English (``routing``: its parts)."""
    if not assumptions:
        return ""
    rows = []
    for k, (label, unit) in ASSUMPTION_LABELS.items():
        if k in assumptions:
            v = assumptions[k]
            if v is None:
                shown = "keine Grenze / no limit"
            elif k == "method":  # built from the routing's parts; a caller without them: the text it gave
                shown = routing.bilingual() if routing else v
            else:
                shown = de_number(v)
            rows.append(f"<tr><td>{text(label)}</td><td>{text(shown)} {text(unit)}</td></tr>")
    return ("<h3>Annahmen der Kostenschätzung / cost assumptions</h3><table class='t a'>" + "".join(rows)
            + "</table><p>Kosten = Trassenmeter × €/m + Anschlüsse × €/Anschluss; Trasse = Straßenabschnitte, die die "
            "Adressen eines Gebiets verbinden (jeder einmal), plus Hauszuführungen / cost = trench metres × €/m + "
            "connections × €/connection. Wohnungen je Adresse laut Register, nicht erfasst: 1 je Adresse / "
            "dwellings per address as the registry holds them, not recorded: 1 per address. Förderfähige Adressen "
            "in keinem Gebiet (zu kleine Gruppen) / eligible "
            f"addresses in no area (groups too small): {text(de_number(unassigned))}.</p>")


def _snapshot_html(snap: dict | None, programme: Programme, reference_date: object) -> str:
    cells = [("Programm / programme", f"{programme.title} ({programme.title_en})"),
             ("Stichtag / reference date", reference_date.strftime("%d.%m.%Y") if hasattr(reference_date, "strftime")
              else str(reference_date or ""))]
    if snap:
        created = snap.get("created_at")
        cells = [("Stand / snapshot", snap.get("id")), *cells,
                 ("erstellt am / created at", created.strftime("%d.%m.%Y %H:%M") if hasattr(created, "strftime")
                  else created),
                 ("erstellt von / created by", snap.get("created_by") or "nicht erfasst / not recorded")]
    return "<table class='t a'>" + "".join(f"<tr><th>{text(k)}</th><td>{text(v)}</td></tr>" for k, v in cells) + \
        "</table>"


def _with_total(tab: pd.DataFrame) -> pd.DataFrame:
    """Every funding area and a last row with the sums (cost per connection: the total cost over all connections),
    so the table adds up to what the page and the GeoPackage state."""
    total = {c: tab[c].sum() for c in tab.columns if c not in ("rank", "name", "cost_per_connection_eur")}
    total.update(rank="", name="Summe / total")
    if "cost_per_connection_eur" in tab.columns and total.get("addresses"):
        cost = total["cost_eur"] if "cost_eur" in total else (tab["cost_per_connection_eur"] * tab["addresses"]).sum()
        total["cost_per_connection_eur"] = round(float(cost) / float(total["addresses"]))
    return pd.concat([tab.astype(object), pd.DataFrame([total], dtype=object)], ignore_index=True)[list(tab.columns)]


#: the gigabit report's refusals of its folder, in German and English as the report is
WORDING = Wording(is_file="{target} is a file, not a folder / ist eine Datei, kein Ordner",
                  below_file="{target} lies below the file {path} / liegt unter einer Datei",
                  no_permission="no permission to write into {path} / keine Schreibrechte",
                  unwritable="cannot write into {target}: {error} / kann nicht schreiben",
                  made_file="{target} is a file, not a folder / ist eine Datei, kein Ordner",
                  cannot_create="cannot write into {target}: {error} / kann nicht schreiben",
                  cannot_stage="cannot write into {target}: {error} / kann nicht schreiben")


def check_out_dir(out_dir: Path) -> Path:
    """The report folder, refused before any work when it cannot hold the report: a file, a path below a file, or
    a folder without write permission."""
    return writable_folder(Path(out_dir), WORDING)


def write_report(classified: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, cells: gpd.GeoDataFrame,
                 atlas_comparison: pd.DataFrame, programme: Programme, out_dir: Path, *, note: str | None,
                 roads: gpd.GeoDataFrame | None = None, reference_date: object = None,
                 context: ReportContext | None = None) -> GigabitReport:
    """Write report.html (+ map.html), gigabit.gpkg and eligible_addresses.csv into ``out_dir``: all of them or
    none — they are written into a hidden folder inside it first and moved into place together
    (``staging.staged_outputs``), so a failure leaves the files of an earlier run as they were (never half of a new
    report beside half of an old one)."""
    out_dir = check_out_dir(out_dir)
    try:
        with staged_outputs(out_dir, wording=WORDING) as work:
            _write_report(classified, areas, cells, atlas_comparison, programme, work, note=note, roads=roads,
                          reference_date=reference_date, context=context)
    except OSError as exc:
        raise InvalidParameter(f"cannot write the report into {out_dir}: {exc.strerror or exc}") from None
    return GigabitReport(*(out_dir / n for n in ("report.html", "gigabit.gpkg", "eligible_addresses.csv")))


def _write_report(classified: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, cells: gpd.GeoDataFrame,
                  atlas_comparison: pd.DataFrame, programme: Programme, out_dir: Path, *, note: str | None,
                  roads: gpd.GeoDataFrame | None = None, reference_date: object = None,
                  context: ReportContext | None = None) -> GigabitReport:
    ctx = context or ReportContext()
    gpkg, csv, page = out_dir / "gigabit.gpkg", out_dir / "eligible_addresses.csv", out_dir / "report.html"
    if gpkg.exists():
        gpkg.unlink()
    addr = classified.copy()
    addr["eligible"] = addr["eligible"].astype(bool)  # an empty registry's column has no type: a mask all the same
    addr["simulated_supply"] = note is not None
    for c in ("best_down_mbps", "best_up_mbps", "planned_down_mbps", "planned_up_mbps"):  # Real fields, even when
        if c in addr.columns:                                                             # no address has a value
            addr[c] = pd.to_numeric(addr[c], errors="coerce").astype(float)
    # GeoPackage 1.2: what GDAL 3.x before 3.7 (QGIS 3.28 LTR, Debian 12's ogrinfo) opens without a warning
    addr.to_file(gpkg, layer="addresses", driver="GPKG", VERSION="1.2")
    if len(areas):
        areas.to_file(gpkg, layer="funding_areas", driver="GPKG")
    cells.to_file(gpkg, layer="cells_100m", driver="GPKG")
    if ctx.assumptions:
        import pyogrio

        rows = [{"parameter": k, "label": ASSUMPTION_LABELS.get(k, (k, ""))[0], "value": str(v),
                 "unit": ASSUMPTION_LABELS.get(k, ("", ""))[1]} for k, v in ctx.assumptions.items()]
        pyogrio.write_dataframe(pd.DataFrame(rows), gpkg, layer="assumptions", driver="GPKG")
    elig = pd.DataFrame(addr[addr["eligible"]].drop(columns=addr.geometry.name))
    g4326 = addr[addr["eligible"]].to_crs(4326).geometry
    elig["lon"], elig["lat"] = g4326.x.round(7).values, g4326.y.round(7).values
    if note:
        elig["note"] = note
    write_csv(elig, csv)
    map_file = _map(addr, areas, roads, out_dir)

    agg = {"addresses": ("eligible", "size"), "eligible": ("eligible", "sum")}
    if "overdue_plan" in addr.columns:
        agg.update(overdue_plans=("overdue_plan", "sum"), pre_marketing=("pre_marketing", "sum"))
    counts = addr.groupby("class_de").agg(**agg).reindex(list(CLASSES)).fillna(0).astype(int).reset_index()
    counts["class_de"] = counts["class_de"].map(lambda k: f"{k} / {CLASSES[k]}")
    by_plz = addr.assign(postcode=addr.get("postcode", pd.Series(None, index=addr.index)).fillna("(ohne / none)")) \
        .groupby("postcode").agg(addresses=("eligible", "size"), eligible=("eligible", "sum"),
                                 white=("class_de", lambda s: int((s == "weiß").sum()))).reset_index() \
        .sort_values("eligible", ascending=False)
    cell_tab = pd.DataFrame(cells.drop(columns=cells.geometry.name)).sort_values("eligible", ascending=False)
    area_cols = ["rank", "name", "addresses", "dwellings", "businesses", "schools", "hospitals", "trench_m",
                 "street_m", "lead_in_m", "cost_eur", "cost_per_connection_eur"]
    area_tab = _with_total(pd.DataFrame(areas.drop(columns=areas.geometry.name))[
        [c for c in area_cols if c in areas.columns]]) if len(areas) else pd.DataFrame()
    banners = "".join(f"<div class='warn'>{text(x)}</div>" for x in (ctx.warning, note) if x)
    plan = "verbindliche " if programme.binding_plans_only else ""
    style = ("body{font:14px system-ui,sans-serif;margin:2em;max-width:1200px} .warn{background:#fff3cd;border:1px "
             "solid #e0b000;padding:.6em;margin:1em 0;font-weight:bold} table.t{border-collapse:collapse;"
             "font-size:12px} table.t td,table.t th{border-bottom:1px solid #ddd;padding:2px 8px;text-align:right}"
             " table.a td,table.a th{text-align:left} iframe{width:100%;height:600px;border:1px solid #ccc}"
             " .cov{background:#eef5ff;padding:.6em}")
    body = f"""<!DOCTYPE html><html lang="de"><head><meta charset="utf-8">{meta_tag(PAGE_CSP)}
<title>Gigabit-Bericht / gigabit report</title><style>{style}</style></head><body>
<h1>Gigabit-Förderung: weiße und graue Flecken / gigabit funding: white and grey spots</h1>
{_snapshot_html(ctx.snapshot, programme, reference_date)}
{banners}
<p>Förderfähig ist eine Adresse, wenn kein Netz {text(programme.thresholds_text_de())} liefert und keine {plan}Planung
innerhalb von {text(f"{programme.horizon_years:g}")} Jahren es tun wird; überfällige Planungen zählen nicht /
an address is eligible when no network delivers {text(programme.thresholds_text())} and no {'binding ' if plan else ''}
plan within {text(f"{programme.horizon_years:g}")} years will; overdue plans do not count.</p>
<h2>Klassen / classes</h2>{_table(counts)}
<img alt="Adressen je Klasse / addresses per class" src="data:image/png;base64,{_chart(addr)}">
<h2>Abgleich mit dem Breitbandatlas / comparison with the Breitbandatlas</h2>
{_coverage_html(ctx.coverage)}{_table(atlas_comparison)}
<h2>Karte / map</h2><iframe title="Karte / map" src="{text(map_file.name)}"></iframe>
<h2>Fördergebiete / funding areas ({len(areas)})</h2>
{_assumptions_html(ctx.assumptions, ctx.unassigned, ctx.routing)}{_table(area_tab, max_rows=None)}
<h2>Je Postleitzahl / per postcode</h2>{_table(by_plz)}
<h2>Je 100-m-Zelle (Anteile wie im Breitbandatlas), die 40 mit den meisten förderfähigen Adressen / per 100 m cell,
top 40 by eligible addresses</h2>{_table(cell_tab)}
<h2>Datenquellen und Namensnennung / data sources and attribution</h2>{_sources_html(programme, ctx.sources)}
<p>Dateien / files: {text(gpkg.name)} (Ebenen / layers addresses, funding_areas, cells_100m, assumptions),
{text(csv.name)} (Excel: Semikolon, Dezimalkomma, UTF-8 / semicolon, decimal comma).</p>
</body></html>"""
    page.write_text(body, encoding="utf-8")
    return GigabitReport(page, gpkg, csv)
