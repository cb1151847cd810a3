"""What the generated QGIS project holds, decided from the registry's catalogue (pure: no database, no XML).

:func:`plan_project` turns the catalogue (layers and their columns, the value references of revision 0009, column
comments, the newest result snapshot) into a :class:`ProjectSpec`: layer groups, per layer its datasource parts,
whether it is editable, and per field the editor widget, alias, help text, default and read-only flag; plus the
project relations (mobile site → sectors, address → supply). ``document.py`` writes it as QGIS project XML.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace

from netzatlas.registry.db import ASSET_LAYERS, Layer

#: Columns QGIS shows but nobody edits: set by the database (ids, versions, timestamps) or by imports (the key).
SYSTEM_FIELDS = ("id", "source", "external_id", "version", "created_at", "created_by", "updated_at", "updated_by",
                 "deleted_at")
#: The provider filter of registry layers: soft-deleted features are not shown.
NOT_DELETED = '"deleted_at" IS NULL'
#: Layer groups as they appear in the layer tree (German / English like the plugin's groups).
GROUP_ASSETS = "Assets / Anlagen"
GROUP_REFERENCE = "Reference / Bezug"
GROUP_RESULTS = "Results / Ergebnisse"
GROUP_VALUE_LISTS = "Value lists / Wertelisten"
REFERENCE_IN_PROJECT = ("municipality", "population_grid", "poi", "building", "road", "candidate_site")
RESULTS_IN_PROJECT = ("gigabit_result", "funding_area_result", "coverage_hole_result")
#: Results holding one set of features per snapshot / run: the project shows the newest one.
SNAPSHOT_FIELD = {"gigabit_result": "snapshot_id", "funding_area_result": "snapshot_id",
                  "coverage_hole_result": "run_id"}
#: Child tables in the project (no geometry), with the relation that ties them to their parent layer.
CHILDREN = {"mobile_sector": ("mobile_site", "site_id", "sectors", "Sektoren / sectors"),
            "broadband_supply": ("fibre_address", "address_id", "supply", "Versorgung / supply")}
#: Child tables edited elsewhere (the market exploration's answers arrive by `netzatlas gigabit mev-import`).
READ_ONLY_CHILDREN = ("broadband_supply",)

#: Label and help text per column where the database has no comment (German / English, as the web map).
FIELD_DOCS: dict[str, tuple[str, str]] = {
    "id": ("ID", "Schlüssel des Objekts, von der Datenbank vergeben / the feature's key, given by the database"),
    "source": ("Quelle / source", "woher das Objekt stammt (Import, API, manual) / where the feature came from"),
    "external_id": ("Externe ID / external id", "Kennung in der Quelle; mit der Quelle eindeutig / "
                    "the id in its source, unique with the source"),
    "owner_org": ("Organisation / owner", "Organisation, der das Objekt gehört / the organization owning it"),
    "status": ("Status", "Lebenszyklus: geplant, im Bau, in Betrieb, außer Betrieb, zurückgebaut / life cycle"),
    "name": ("Name", "Bezeichnung / name"),
    "properties": ("Weitere Angaben / properties", "weitere Attribute als JSON / further attributes as JSON"),
    "version": ("Version", "wird bei jeder Änderung erhöht; QGIS sendet die geladene Version mit, damit eine "
                "zwischenzeitliche Änderung erkannt wird / raised by every change; QGIS sends the version it "
                "loaded so that a change made meanwhile is detected"),
    "created_at": ("Angelegt / created", "wann das Objekt angelegt wurde / when it was created"),
    "created_by": ("Angelegt von / created by", "wer das Objekt angelegt hat / who created it"),
    "updated_at": ("Geändert / updated", "letzte Änderung / last change"),
    "updated_by": ("Geändert von / updated by", "wer zuletzt geändert hat (Login) / who changed it last (login)"),
    "deleted_at": ("Gelöscht / deleted", "gesetzt, wenn das Objekt gelöscht (stillgelegt) ist / set when deleted"),
    "height_m": ("Höhe (m) / height (m)", "Höhe über Grund in Metern / height above ground, metres"),
    "operator": ("Betreiber / operator", "Netzbetreiber / network operator"),
    "site_type": ("Standorttyp / site type", "Mast, Dach, … (Werteliste vl_site_type)"),
    "is_mobile": ("Mobilfunk / mobile", "Mobilfunkstandort (nicht Rundfunk o. ä.) / a mobile network site"),
    "assumed": ("Angenommen / assumed", "Werte, die angenommen statt bekannt sind / values assumed, not known"),
    "street": ("Straße / street", "Straßenname / street name"),
    "house_number": ("Hausnummer / house number", ""),
    "postcode": ("PLZ / postcode", ""),
    "power_kw": ("Leistung (kW) / power (kW)", "Ladeleistung je Standort / charging power of the site"),
    "charge_points": ("Ladepunkte / charge points", "Anzahl Ladepunkte / number of charge points"),
    "charger_type": ("Ladetyp / charger type", "Normal- oder Schnellladen (Werteliste vl_charger_type)"),
    "ap_class": ("AP-Klasse / AP class", "Art des Zugangspunkts (Werteliste vl_ap_class)"),
    "azimuth_deg": ("Azimut (°) / azimuth (°)", "Hauptstrahlrichtung, 0 = Nord, im Uhrzeigersinn / "
                    "main beam direction, 0 = north, clockwise"),
    "tilt_deg": ("Neigung (°) / tilt (°)", "Absenkung der Antenne, positiv = nach unten / downtilt"),
    "band_mhz": ("Band (MHz)", "Frequenzband / frequency band"),
    "eirp_dbm": ("EIRP (dBm)", "äquivalente isotrope Strahlungsleistung / equivalent isotropic radiated power"),
    "technology": ("Technik / technology", "Werteliste vl_technology"),
    "down_mbps": ("Download (Mbit/s)", ""),
    "up_mbps": ("Upload (Mbit/s)", ""),
    "planned_date": ("Geplant bis / planned by", "Datum des geplanten Ausbaus / date of the planned roll-out"),
    "binding": ("Verbindlich / binding", "verbindliche Ausbauzusage / binding commitment"),
    "antenna_height_m": ("Antennenhöhe (m) / antenna height (m)", ""),
    "building_height_m": ("Gebäudehöhe (m) / building height (m)", ""),
    "mast_height_m": ("Masthöhe (m) / mast height (m)", ""),
    "network": ("Netz / network", ""),
    "lamp_type": ("Leuchtentyp / lamp type", ""),
    "city": ("Ort / city", ""),
    "address": ("Adresse / address", ""),
    "commissioned": ("In Betrieb seit / commissioned", ""),
    "site_id": ("Standort / site", "der Mobilfunkstandort des Sektors / the sector's site"),
    "address_id": ("Adresse / address", "die versorgte Adresse / the supplied address"),
}


#: The ``version`` field's default, applied on every update: QGIS then sends the version it read with each change,
#: and the database refuses the change when the stored version has moved on meanwhile (a stale edit, rev. 0021).
#: Not simply ``"version"``: QGIS 3.22 records an applied default only when it differs from the value it holds, so
#: an unchanged number would never be sent. The same number as text (' 5') differs as a value, is sent, and
#: PostgreSQL reads it back as the integer 5. NULL for a new feature: the database's default (1) applies.
VERSION_DEFAULT = "if(\"version\" IS NULL, NULL, concat(' ', \"version\"))"


@dataclass(frozen=True)
class FieldForm:
    """How one column appears in the attribute form."""

    name: str
    widget: str  # QGIS editor widget type: TextEdit, ValueRelation, Range, CheckBox, DateTime
    config: tuple[tuple[str, str, object], ...] = ()  # (option name, QGIS option type, value)
    alias: str = ""
    help: str = ""
    read_only: bool = False
    not_null: bool = False
    default_expression: str = ""
    apply_on_update: bool = False


@dataclass(frozen=True)
class LayerSpec:
    """One layer of the project: which table, how it is drawn and edited."""

    layer_id: str
    name: str  # the table (or view) in schema registry
    title: str
    group: str
    geometry_type: str | None  # Point, LineString, Polygon, MultiPolygon, … or None for a table
    srid: int | None
    fields: tuple[FieldForm, ...]
    read_only: bool
    subset: str = ""  # the provider's SQL filter (soft-deleted rows, the newest snapshot)
    style: str | None = None  # the cartography key of its style (cartography.qml)
    relations: tuple[str, ...] = ()  # ids of relations shown in its form (as referenced layer)
    visible: bool = True
    key: str = "id"


@dataclass(frozen=True)
class RelationSpec:
    relation_id: str
    name: str
    referencing: str  # layer id of the child
    referenced: str  # layer id of the parent
    referencing_field: str
    referenced_field: str


@dataclass(frozen=True)
class ProjectSpec:
    title: str
    service: str
    srid: int
    layers: tuple[LayerSpec, ...]
    relations: tuple[RelationSpec, ...]
    groups: tuple[str, ...] = (GROUP_ASSETS, GROUP_REFERENCE, GROUP_RESULTS, GROUP_VALUE_LISTS)
    extent: tuple[float, float, float, float] | None = None  # xmin, ymin, xmax, ymax in the storage CRS
    snapshots: Mapping[str, str] = field(default_factory=dict)  # result layer → the snapshot / run it shows
    crs_wkt: str = ""  # the storage CRS as WKT (QGIS reads a CRS from its WKT; an authority id alone is not enough)

    def layer(self, layer_id: str) -> LayerSpec:
        return next(spec for spec in self.layers if spec.layer_id == layer_id)


@dataclass(frozen=True)
class ValueRef:
    """A column whose codes come from a value list (or the organizations), from ``registry.value_reference``."""

    column: str
    table: str  # e.g. vl_status, organization
    key: str  # code / slug
    label: str  # label_de / name


_NUMERIC = {"int2", "int4", "int8", "float4", "float8", "numeric"}
_INT = {"int2", "int4", "int8"}
_MIN_CHECK = re.compile(r"\((\w+) >= \(?'?(-?\d+(?:\.\d+)?)")
_MAX_CHECK = re.compile(r"(\w+) <= \(?'?(-?\d+(?:\.\d+)?)")
_LT_CHECK = re.compile(r"(\w+) < \(?'?(-?\d+(?:\.\d+)?)")


def bounds_from_checks(checks: list[str]) -> dict[str, tuple[float | None, float | None]]:
    """Column → (min, max) read from CHECK constraint definitions such as ``CHECK ((azimuth_deg >= 0) AND
    (azimuth_deg < 360))``; a strict ``<`` bound is kept as it is (the Range widget's step makes it harmless)."""
    out: dict[str, list[float | None]] = {}
    for check in checks:
        for col, v in _MIN_CHECK.findall(check):
            out.setdefault(col, [None, None])[0] = float(v)
        for col, v in _MAX_CHECK.findall(check) + _LT_CHECK.findall(check):
            out.setdefault(col, [None, None])[1] = float(v)
    return {k: (v[0], v[1]) for k, v in out.items()}


def field_form(layer: Layer, column: str, refs: Mapping[str, ValueRef], comments: Mapping[str, str],
               bounds: Mapping[str, tuple[float | None, float | None]], vl_layer_ids: Mapping[str, str],
               *, read_only_layer: bool) -> FieldForm:
    """The form entry of one column: widget by type and value reference, alias and help from the docs map or the
    column's database comment (the comment wins: it is the schema's own word)."""
    col = layer.column(column)
    alias, help_text = FIELD_DOCS.get(column, ("", ""))
    help_text = comments.get(column) or help_text
    system = column in SYSTEM_FIELDS
    read_only = read_only_layer or system
    widget, config = "TextEdit", (("IsMultiline", "bool", column == "properties"), ("UseHtml", "bool", False))
    if column in refs:
        ref = refs[column]
        widget = "ValueRelation"
        config = (("Layer", "QString", vl_layer_ids[ref.table]), ("LayerName", "QString", ref.table),
                  ("Key", "QString", ref.key), ("Value", "QString", ref.label),
                  ("AllowNull", "bool", col.nullable), ("OrderByValue", "bool", False),
                  ("AllowMulti", "bool", False), ("UseCompleter", "bool", False))
    elif col.data_type == "bool":
        widget, config = "CheckBox", (("CheckedState", "QString", ""), ("UncheckedState", "QString", ""))
    elif col.data_type in ("date", "timestamptz", "timestamp"):
        is_date = col.data_type == "date"
        fmt = "yyyy-MM-dd" if is_date else "yyyy-MM-dd HH:mm:ss"
        widget, config = "DateTime", (("field_format", "QString", fmt),
                                      ("display_format", "QString", fmt if is_date else "yyyy-MM-dd HH:mm"),
                                      ("calendar_popup", "bool", True), ("allow_null", "bool", col.nullable))
    elif col.data_type in _NUMERIC and not system:
        lo, hi = bounds.get(column, (None, None))
        is_int = col.data_type in _INT
        widget = "Range"
        config = (("Min", "int" if is_int else "double", int(lo) if is_int and lo is not None
                   else (lo if lo is not None else (-2147483648 if is_int else -1e7))),
                  ("Max", "int" if is_int else "double", int(hi) if is_int and hi is not None
                   else (hi if hi is not None else (2147483647 if is_int else 1e7))),
                  ("Step", "int" if is_int else "double", 1 if is_int else 0.5),
                  ("Precision", "int", 0 if is_int else 2), ("Style", "QString", "SpinBox"),
                  ("AllowNull", "bool", col.nullable))
    default, on_update = "", False
    if column == "version" and not read_only_layer:
        default, on_update = VERSION_DEFAULT, True
    return FieldForm(column, widget, config, alias, help_text, read_only,
                     not col.nullable and not col.has_default and column != "geom", default, on_update)


def _layer_spec(layer: Layer, *, group: str, title: str, read_only: bool, refs: Mapping[str, ValueRef],
                comments: Mapping[str, str], checks: list[str], vl_layer_ids: Mapping[str, str],
                subset: str = "", style: str | None = None, relations: tuple[str, ...] = (),
                visible: bool = True) -> LayerSpec:
    bounds = bounds_from_checks(checks)
    if "deleted_at" not in layer.column_names:
        subset = subset.replace(NOT_DELETED, "").strip()
    forms = tuple(field_form(layer, c.name, refs, comments, bounds, vl_layer_ids, read_only_layer=read_only)
                  for c in layer.columns if c.name != "geom")
    gtype = _qgis_geometry(layer.geometry_type)
    return LayerSpec(layer_id(layer.name), layer.name, title, group, gtype, layer.srid if gtype else None, forms,
                     read_only, subset, style, relations, visible)


def _qgis_geometry(pg_type: str | None) -> str | None:
    names = {"POINT": "Point", "MULTIPOINT": "MultiPoint", "LINESTRING": "LineString",
             "MULTILINESTRING": "MultiLineString", "POLYGON": "Polygon", "MULTIPOLYGON": "MultiPolygon"}
    return names.get((pg_type or "").upper()) if pg_type else None


def _value_list_layer(name: str, key: str, label: str) -> LayerSpec:
    fields = (FieldForm(key, "TextEdit", read_only=True), FieldForm(label, "TextEdit", read_only=True))
    return LayerSpec(layer_id(name), name, name, GROUP_VALUE_LISTS, None, None, fields, True, visible=False)


def _with_reference(child: LayerSpec, relations: list[RelationSpec]) -> LayerSpec:
    """The child's foreign key shown as the parent feature (a relation reference widget) instead of a bare uuid."""
    rel = next((r for r in relations if r.referencing == child.layer_id), None)
    if rel is None:
        return child
    fields = tuple(replace(f, widget="RelationReference", config=(
        ("Relation", "QString", rel.relation_id), ("AllowNULL", "bool", False), ("ShowForm", "bool", False),
        ("MapIdentification", "bool", False), ("ReadOnly", "bool", False), ("OrderByValue", "bool", True)))
        if f.name == rel.referencing_field else f for f in child.fields)
    return replace(child, fields=fields)


def layer_id(name: str) -> str:
    """The project's id of a layer: stable and readable (QGIS keeps ids longer than 10 characters as they are and
    replaces shorter ones by generated ids, which would break the relations and value relations naming them)."""
    return f"netzatlas_{name}"


def plan_project(layers: Mapping[str, Layer], refs: Mapping[str, list[ValueRef]],
                 comments: Mapping[str, Mapping[str, str]], checks: Mapping[str, list[str]],
                 snapshots: Mapping[str, str], *, service: str, srid: int, titles: Mapping[str, str],
                 styles: Collection[str] = (), read_only: Collection[str] = (),
                 extent: tuple[float, float, float, float] | None = None, crs_wkt: str = "") -> ProjectSpec:
    """The project for a registry.

    Parameters
    ----------
    layers
        The catalogue (``registry.db.catalogue``).
    refs
        Per table the value references of its columns.
    comments
        Per table the column comments (``col_description``).
    checks
        Per table its CHECK constraint definitions (``pg_get_constraintdef``), for the Range widgets' bounds.
    snapshots
        Per result layer the newest snapshot / run id; a result without one shows all its rows.
    titles
        Layer name → human title (German / English).
    styles
        The layers that have a style in the shared cartography (the others keep QGIS's default symbol).
    read_only
        Layers shown read-only although their kind is editable (the person may not change them).
    """
    used = [r for name, rs in refs.items() if name in layers for r in rs]
    vl_tables = sorted({r.table for r in used})
    vl_specs = []
    for table in vl_tables:
        some = next(r for r in used if r.table == table)
        vl_specs.append(_value_list_layer(table, some.key, some.label))
    vl_ids = {t: layer_id(t) for t in vl_tables}

    def spec(name: str, group: str, read_only: bool, **kw: object) -> LayerSpec:
        return _layer_spec(layers[name], group=group, title=titles.get(name, name), read_only=read_only,
                           refs={r.column: r for r in refs.get(name, [])}, comments=comments.get(name, {}),
                           checks=checks.get(name, []), vl_layer_ids=vl_ids, **kw)  # type: ignore[arg-type]

    out: list[LayerSpec] = []
    relations: list[RelationSpec] = []
    for child, (parent, fk, rel_id, rel_name) in CHILDREN.items():
        if child in layers and parent in layers:
            relations.append(RelationSpec(rel_id, rel_name, layer_id(child), layer_id(parent), fk, "id"))
    for name in ASSET_LAYERS:
        if name in layers:
            rels = tuple(r.relation_id for r in relations if r.referenced == layer_id(name))
            out.append(spec(name, GROUP_ASSETS, name in read_only, subset=NOT_DELETED,
                            style=name if name in styles else None, relations=rels))
    for child in CHILDREN:
        if child in layers:
            child_spec = spec(child, GROUP_ASSETS, child in READ_ONLY_CHILDREN or child in read_only,
                              subset=NOT_DELETED, visible=False)
            out.append(_with_reference(child_spec, relations))
    for name in REFERENCE_IN_PROJECT:
        if name in layers:
            out.append(spec(name, GROUP_REFERENCE, True, subset=NOT_DELETED,
                            style=name if name in styles else None))
    shown: dict[str, str] = {}
    for name in RESULTS_IN_PROJECT:
        if name in layers:
            chosen = snapshots.get(name)
            subset = f'"{SNAPSHOT_FIELD[name]}" = {sql_literal(chosen)}' if chosen else ""
            if chosen:
                shown[layer_id(name)] = chosen
            out.append(spec(name, GROUP_RESULTS, True, subset=subset, style=name if name in styles else None))
    out.extend(vl_specs)
    return ProjectSpec("netzatlas", service, srid, tuple(out), tuple(relations), extent=extent, snapshots=shown,
                       crs_wkt=crs_wkt)


def sql_literal(value: str) -> str:
    """A string as an SQL literal (quotes doubled) for a provider filter."""
    return "'" + value.replace("'", "''") + "'"
