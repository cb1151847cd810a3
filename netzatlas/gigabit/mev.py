"""Market-exploration procedure (Markterkundungsverfahren, MEV): one operator's answer file → validated rows.

Accepted files (:mod:`netzatlas.gigabit.mev_read`): CSV (``;``, ``,`` or tab; UTF-8, UTF-8 with BOM, Windows-1252 /
Latin-1; title lines above the header, ``sep=;``, trailing separators and empty rows are fine), xlsx and ODS (the sheet
with the answer header, or a named one), GeoPackage / GeoJSON / Shapefile / FlatGeobuf points (the layer named with
``sheet``, else the one with answer columns). Columns (German or English names, case, spaces and units in brackets
ignored): address id (optional), street, house number, suffix, postcode, city, current download / upload (reliably
available, Mbit/s unless a unit is written in the cell or the header), current technology, planned technology, planned
download / upload, planned date (the milestone), binding (yes/no), pre-marketing (Vorvermarktung, optional, kept as
written), both-sided range (optional yes/no), lon/lat or Rechtswert/Hochwert (UTM; optional, then street and number may
be missing). A file may hold planned columns only (no current technology and speeds); the Gigabitbüro template's names
(Versorgung Ist / Plan Download, Technologie Ist / Plan, Eigenwirtschaftlich verbindlich) are understood; a dash in a
cell means "nothing". Also: one "Download/Upload" column ("100/40"), one "Adresse" column ("Königstraße 12 a", also "…,
52064 Aachen"); one "PLZ/Ort" column ("52064 Aachen"); "1 Gbit/s symmetrisch"; totals lines at the end are dropped with
a note. An operator column (Betreiber, Anbieter) naming several operators, or another one than ``--operator``, refuses
the file (spellings, abbreviations and known names of one operator — "DG" / "Deutsche Glasfaser", ``OPERATOR_ALIASES`` —
are one); so do speeds in one column pair per technology ("FTTH Download", "Kabel Download") and lon/lat pairs that are
swapped.

Numbers and dates are read by :mod:`netzatlas.gigabit.numbers`; a value that reads two ways is refused, never
guessed. Every problem is reported with its row, column and value; one bad row refuses the file.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from netzatlas.errors import FileFormatError, ImportRejected, Reject
from netzatlas.gigabit.mev_read import normalise_header, read_table
from netzatlas.gigabit.numbers import parse_date_column, parse_number_column, unit_factor_of_header

ALIASES = {
    "address_id": ["address_id", "adress_id", "adressid", "adress_id", "alkis_id", "hauskoordinate_id",
                   "hauskoordinaten_id", "id", "adresse_id", "objekt_id"],
    "street": ["street", "strasse", "str", "strassenname"],
    "house_number": ["house_number", "hnr", "hausnummer", "hausnr", "nr"],
    "house_number_suffix": ["house_number_suffix", "hnr_z", "hnr_zusatz", "zusatz", "hausnummernzusatz",
                            "hausnummer_zusatz", "adresszusatz"],
    "postcode": ["postcode", "plz", "postleitzahl", "zip"],
    "city": ["city", "ort", "gemeinde", "ortsname"],
    "down_mbps": ["dl_mbps_now", "download", "down_mbps", "download_mbit", "download_aktuell", "bandbreite_download",
                  "dl", "downstream", "versorgung_ist_download", "download_ist"],
    "up_mbps": ["ul_mbps_now", "upload", "up_mbps", "upload_mbit", "upload_aktuell", "bandbreite_upload", "ul",
                "upstream", "versorgung_ist_upload", "upload_ist"],
    "technology": ["technology_now", "technologie", "technology", "technologie_aktuell", "anschlusstechnologie",
                   "technologie_ist", "versorgung_ist_technologie",
                   "technologi"],  # "technologie" as a shapefile keeps it (10 characters)
    "planned_technology": ["planned_technology", "technologie_geplant", "geplante_technologie", "technologie_plan",
                           "versorgung_plan_technologie"],
    "planned_down_mbps": ["planned_dl_mbps", "download_geplant", "planned_down_mbps", "geplanter_download",
                          "planned_download", "download_planned", "versorgung_plan_download", "download_plan"],
    "planned_up_mbps": ["planned_ul_mbps", "upload_geplant", "planned_up_mbps", "geplanter_upload", "planned_upload",
                        "upload_planned", "versorgung_plan_upload", "upload_plan"],
    "planned_date": ["planned_date", "datum_geplant", "inbetriebnahme", "meilenstein", "fertigstellung",
                     "ausbau_bis", "geplante_inbetriebnahme"],
    "binding": ["binding_commitment", "verbindlich", "binding", "verbindliche_zusage",
                "eigenwirtschaftlich_verbindlich", "ausbau_verbindlich"],
    "vorvermarktung": ["vorvermarktung", "pre_marketing", "premarketing"],
    "both_sides": ["both_sides", "beidseitig", "bereich_beidseitig", "range_both_sides"],
    "operator": ["operator", "betreiber", "netzbetreiber", "anbieter", "tk_anbieter", "provider", "anbietername",
                 "betreibername", "name_des_anbieters", "telekommunikationsunternehmen"],
    "lon": ["lon", "laengengrad", "longitude", "x_wgs84"],
    "lat": ["lat", "breitengrad", "latitude", "y_wgs84"],
    "east": ["rechtswert", "ostwert", "easting", "utm_x", "x_utm", "utm_e", "utm_ost", "e_utm"],
    "north": ["hochwert", "nordwert", "northing", "utm_y", "y_utm", "utm_n", "utm_nord", "n_utm"],
}
KNOWN_HEADERS = {a for names in ALIASES.values() for a in names}
REQUIRED = ["street", "house_number", "down_mbps", "up_mbps", "technology"]
NUMBER_COLUMNS = ("down_mbps", "up_mbps", "planned_down_mbps", "planned_up_mbps")
TECHNOLOGIES = {
    "ftth": "ftth", "fttb": "fttb", "ftth/b": "fttb", "fttb/h": "fttb", "glasfaser": "ftth",
    "ftth/fttb": "fttb", "fttb/ftth": "fttb",
    "fttc": "fttc_vdsl", "vdsl": "fttc_vdsl", "vdsl2": "fttc_vdsl", "vectoring": "fttc_vdsl", "fttc_vdsl": "fttc_vdsl",
    "vdsl-vectoring": "fttc_vdsl", "vdsl2-vectoring": "fttc_vdsl",
    "super-vectoring": "supervectoring", "supervectoring": "supervectoring", "svdsl": "supervectoring",
    "adsl": "adsl", "dsl": "adsl",
    "hfc-d3.1": "docsis31", "docsis 3.1": "docsis31", "docsis31": "docsis31", "kabel 3.1": "docsis31",
    "hfc-d3.0": "docsis30", "docsis 3.0": "docsis30", "docsis30": "docsis30", "kabel": "docsis30", "hfc": "docsis30",
    "koax": "docsis30", "koaxial": "docsis30", "tv-kabel": "docsis30", "kabel-tv": "docsis30",
    "hfc (docsis 3.1)": "docsis31", "docsis 3.1 (hfc)": "docsis31", "hfc (docsis 3.0)": "docsis30",
    "docsis 3.0 (hfc)": "docsis30",
    "fwa": "fwa", "richtfunk": "fwa", "lte": "lte", "5g": "5g", "satellit": "satellite", "satellite": "satellite",
    "5g fwa": "fwa", "fwa 5g": "fwa", "lte fwa": "fwa", "fwa lte": "fwa",
}
#: Fibre architectures: they do not say whether the fibre reaches the home or the building (FTTH or FTTB?).
_ARCHITECTURES = {"gpon", "xgspon", "xgpon", "ngpon2", "pon", "p2p", "ptp", "aon", "pointtopoint"}
_GENERIC_TECH = {"glasfaser", "kabel", "koax", "koaxial", "dsl", "tvkabel", "kabeltv"}
_TECH_KEY = {re.sub(r"[\s\-_.()/]", "", k): v for k, v in TECHNOLOGIES.items()}
KNOWN_TECHNOLOGIES = ", ".join(sorted({"FTTH", "FTTB", "FTTH/B", "Glasfaser", "FTTC", "VDSL", "VDSL2", "Vectoring",
                                       "Super-Vectoring", "ADSL", "DSL", "HFC", "HFC-D3.0", "HFC-D3.1", "DOCSIS 3.0",
                                       "DOCSIS 3.1", "Kabel", "Kabel 3.1", "Koax", "FWA", "5G FWA", "Richtfunk", "LTE",
                                       "5G", "Satellit"}))
YES = {"ja", "j", "yes", "y", "true", "1", "1.0", "x", "wahr"}
NO = {"nein", "n", "no", "false", "0", "0.0", "", "falsch", "-", "–", "—"}  # a dash: "nothing", as in a speed
#: In the binding column the word itself answers ("verbindlich" / "unverbindlich", as the templates offer them).
BINDING_YES, BINDING_NO = YES | {"verbindlich"}, NO | {"unverbindlich", "nicht verbindlich"}
#: Preference when two rows of one file give the same supply row: the more specific match wins.
METHOD_RANK = {"address_id": 0, "street+number+postcode": 1, "street+number": 2, "nearest": 3, "range": 4}


@dataclass
class MevReject(Reject):
    """A refused answer row: row, column, the value as written, and why."""

    column: str | None = None
    value: str | None = None
    why: str = ""


def _reject(row: int, column: str | None, value: object, why: str) -> MevReject:
    shown = None if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
    reason = f"{column} = {shown!r}: {why}" if column else why
    return MevReject(int(row), reason, None, column, shown, why)


def _rename(df: pd.DataFrame, name: str) -> tuple[pd.DataFrame, dict[str, str]]:
    """Columns renamed to the canonical names; returns (frame, canonical → header as written)."""
    norm = {c: normalise_header(c) for c in df.columns}
    mapping: dict[object, str] = {}
    original: dict[str, str] = {}
    for target, names in ALIASES.items():
        for n in names:
            hit = next((c for c, h in norm.items() if h == n and c not in mapping), None)
            if hit is not None:
                mapping[hit] = target
                original[target] = str(hit)
                break
    for target, hit in ((t, h) for h, t in mapping.items()):
        twins = [c for c, h in norm.items() if c != hit and _unmangled(c, h) == norm[hit]]
        if twins:
            raise FileFormatError(f"{name}: {len(twins) + 1} columns are headed {str(hit).strip()!r} (read as "
                                  f"{target}); which one holds the answer is not clear",
                                  hint="give each column its own name (a second header row above, Ist / "
                                       "Planung? then e.g. 'Technologie geplant', 'Download geplant')")
    df = df.rename(columns=mapping)
    df = _split_down_up(df, norm, mapping, original)
    df = _split_address(df, norm, mapping, original)
    df = _split_postcode_city(df, norm, mapping, original)
    located = {"lon", "lat"} <= set(df.columns) or {"east", "north"} <= set(df.columns)
    plans_only = "planned_technology" in df.columns and not {"down_mbps", "up_mbps", "technology"} & set(df.columns)
    missing = [c for c in REQUIRED if c not in df.columns and not (located and c in ("street", "house_number"))
               and not (plans_only and c in ("down_mbps", "up_mbps", "technology"))]
    if missing:
        _refuse_per_technology_columns(norm, name)
        german = ", ".join(GERMAN.get(c, c) for c in missing)
        raise FileFormatError(f"{name}: missing column(s) {', '.join(missing)} ({german})",
                              hint="expected e.g. strasse, hnr, plz, download, upload, technologie (found: "
                                   + ", ".join(str(c) for c in norm) + ")"
                                   + ("; a parcel (Flurstück) is no address: give street and number or the point"
                                      if any("flurst" in h for h in norm.values()) else ""))
    return df[[c for c in df.columns if c in ALIASES]], original


#: The columns' German names, for messages
GERMAN = {"street": "Straße", "house_number": "Hausnummer", "down_mbps": "Download", "up_mbps": "Upload",
          "technology": "Technologie"}
_PER_TECHNOLOGY = re.compile(r"^(?:(?P<a>[a-z0-9_]+?)_)?(?:download|upload|dl|ul)(?:_(?P<b>[a-z0-9_]+))?$")


def _refuse_per_technology_columns(norm: dict[object, str], name: str) -> None:
    """Speeds in one column pair per technology ("FTTH Download", "Kabel Download") are refused with what to send
    instead: a row per address and technology."""
    hits = [str(c) for c, h in norm.items() if (m := _PER_TECHNOLOGY.match(h))
            and _technology((m.group("a") or m.group("b") or "").replace("_", " ")) is not None]
    if hits:
        raise FileFormatError(f"{name}: speeds per technology in separate columns ({', '.join(hits[:4])}); the "
                              "answer needs one row per address and technology",
                              hint="columns Straße, Hausnummer, PLZ, Technologie, Download, Upload: an address "
                                   "with FTTH and cable gets two rows")


def _unmangled(column: object, normalised: str) -> str:
    """The header a repeated column had before the reader numbered it ("Download.1" → "download")."""
    return re.sub(r"_\d+$", "", normalised) if re.search(r"\.\d+$", str(column)) else normalised


#: One column holding "download/upload" ("100/40"), as many operators write it.
DOWN_UP = {"download_upload", "down_up", "dl_ul", "download_upload_mbit", "bandbreite_download_upload",
           "downstream_upstream", "bandbreite"}
_DOWN_UP_CELL = re.compile(r"^\s*([^/|]+?)\s*[/|]\s*([^/|]+?)\s*$")
_UNIT_AT_END = re.compile(r"\s*[kmg]\s*(?:bit/s|bit|bps)\s*$", re.IGNORECASE)
_SYMMETRIC = re.compile(r"^\s*(.*?\d.*?)\s*\(?\s*(?:symmetrisch|symmetric|sym\.?)\s*\)?\s*$", re.IGNORECASE)


def _split_down_up(df: pd.DataFrame, norm: dict[object, str], mapping: dict[object, str],
                   original: dict[str, str]) -> pd.DataFrame:
    """A "Download/Upload" column ("100/40", "1 Gbit/s | 200 Mbit/s") → down_mbps and up_mbps, kept as text; a
    cell that is not two values stays whole in the download column (and is refused there) with no upload."""
    if "down_mbps" in df.columns or "up_mbps" in df.columns:
        return df
    hit = next((c for c, h in norm.items() if h in DOWN_UP and c not in mapping), None)
    if hit is None:
        return df
    cells = df[hit].astype(object)
    down, up = {}, {}
    for u in pd.unique(cells):
        t = "" if u is None or (isinstance(u, float) and np.isnan(u)) else str(u)
        sym = _SYMMETRIC.match(t)
        if sym:  # "1 Gbit/s symmetrisch": the same speed both ways
            down[u] = up[u] = sym.group(1)
            continue
        # "/" inside a unit ("Mbit/s") is no separator: take it out before splitting
        m = _DOWN_UP_CELL.match(re.sub(r"(?i)bit\s*/\s*s", "bit_s", t))
        if m:
            down[u], up[u] = (x.replace("bit_s", "bit/s") for x in m.groups())
            unit = _UNIT_AT_END.search(up[u])
            if unit and re.fullmatch(r"[\d.,' ]+", down[u]):  # "1/0,2 Gbit/s": the unit is both values'
                down[u] = f"{down[u]} {unit.group(0).strip()}"
        else:
            down[u], up[u] = t, ""
    df = df.assign(down_mbps=cells.map(down), up_mbps=cells.map(up))
    original["down_mbps"] = original["up_mbps"] = str(hit)
    return df


#: One column holding street and number ("Königstraße 12 a", "Straße des 17. Juni 3-5").
ADDRESS = {"adresse", "anschrift", "address", "strasse_hausnummer", "strasse_und_hausnummer", "strasse_hnr",
           "strasse_nr", "strasse_u_hausnummer"}
KNOWN_HEADERS = KNOWN_HEADERS | DOWN_UP | ADDRESS | {"plz_ort", "plz_und_ort", "postleitzahl_ort"}  # header marks
_ADDRESS_CELL = re.compile(r"^(?P<street>.*?\S)(?:\s+|(?<=\.))"  # "Bahnhofstr.12": no space after the dot
                           r"(?P<number>\d+\s*[a-zA-Z]?(?:\s*(?:[-/,+&]|u\.|und|bis)\s*\d*\s*[a-zA-Z]?)*)\s*$")


def _split_address(df: pd.DataFrame, norm: dict[object, str], mapping: dict[object, str],
                   original: dict[str, str]) -> pd.DataFrame:
    """An "Adresse" column → street and house number at the last number ("Straße des 17. Juni 12" → 12); a cell
    without a number at its end keeps its text as the street and has no house number (reported as unmatched)."""
    if "street" in df.columns or "house_number" in df.columns:
        return df
    hit = next((c for c, h in norm.items() if h in ADDRESS and c not in mapping), None)
    if hit is None:
        return df
    cells = df[hit].astype(object)
    street, number, postcode, city = {}, {}, {}, {}
    for u in pd.unique(cells):
        t = "" if u is None or (isinstance(u, float) and np.isnan(u)) else str(u).strip()
        # "Königstraße 21, 52064 Aachen", "Königstraße 21 52064 Aachen"
        tail = _POSTCODE_CITY_AT_END.search(t) or _POSTCODE_CITY_NO_COMMA.search(t)
        postcode[u], city[u] = (tail.group("plz"), tail.group("city")) if tail else (None, None)
        t = t[:tail.start()].strip() if tail else t
        m = _ADDRESS_CELL.match(t)
        street[u], number[u] = (m.group("street").rstrip(","), m.group("number")) if m else (t, "")
    df = df.assign(street=cells.map(street), house_number=cells.map(number))
    if "postcode" not in df.columns and any(postcode.values()):
        df = df.assign(postcode=cells.map(postcode))
        original["postcode"] = str(hit)
    if "city" not in df.columns and any(city.values()):
        df = df.assign(city=cells.map(city))
    original["street"] = original["house_number"] = str(hit)
    return df


_POSTCODE_CITY_NO_COMMA = re.compile(r"(?<=[\d\sa-zA-Z])\s(?:D\s*-\s*)?(?P<plz>\d{5})\s+(?P<city>[^\W\d][^,\d]*?)\s*$")
_POSTCODE_CITY_AT_END = re.compile(r"\s*,\s*(?:D\s*-\s*)?(?P<plz>\d{5})(?:\s+(?P<city>[^,\d][^,]*?))?\s*$")
#: One column holding postcode and city ("52064 Aachen")
POSTCODE_CITY = {"plz_ort", "plz_und_ort", "postleitzahl_ort", "postleitzahl_und_ort", "plz_stadt", "plz_gemeinde",
                 "ort_plz"}
_POSTCODE_CITY_CELL = re.compile(r"^\s*(?:D\s*-\s*)?(?P<plz>\d{4,5})(?:[.,]0)?\b\s*,?\s*(?P<city>.*?)\s*$")


def _split_postcode_city(df: pd.DataFrame, norm: dict[object, str], mapping: dict[object, str],
                         original: dict[str, str]) -> pd.DataFrame:
    """A "PLZ/Ort" column ("52064 Aachen") → postcode and city; a cell without a postcode at its start gives none."""
    if "postcode" in df.columns:
        return df
    hit = next((c for c, h in norm.items() if h in POSTCODE_CITY and c not in mapping), None)
    if hit is None:
        return df
    cells = df[hit].astype(object)
    postcode, city = {}, {}
    for u in pd.unique(cells):
        t = "" if u is None or (isinstance(u, float) and np.isnan(u)) else str(u)
        m = _POSTCODE_CITY_CELL.match(t)
        postcode[u], city[u] = (m.group("plz"), m.group("city") or None) if m else (None, t.strip() or None)
    df = df.assign(postcode=cells.map(postcode), **({} if "city" in df.columns else {"city": cells.map(city)}))
    original["postcode"] = str(hit)
    return df


#: Cells that say "nothing": empty, a spreadsheet's missing value, a dash ("-" for "no plan")
BLANK = {"", "nan", "none", "nat", "-", "–", "—"}


def _text(s: pd.Series) -> pd.Series:
    """Cells as stripped text, blank or a dash → None (each distinct value handled once)."""
    codes, uniq = pd.factorize(s.astype(object), use_na_sentinel=True)
    values = np.empty(len(uniq) + 1, dtype=object)  # the last one (None) for the missing cells (code -1)
    for k, u in enumerate(uniq):
        t = (str(int(u)) if isinstance(u, float) and u.is_integer() else str(u)).strip()
        values[k] = None if t == "" or t.lower() in BLANK else t
    return pd.Series(values[codes], index=s.index, dtype=object)


def _technology(text: str) -> str | None:
    """A technology as written → its code; "FTTH (Glasfaser)", "Kabel (DOCSIS 3.1)": the whole, else the parts,
    a generic word (Glasfaser, Kabel, DSL) giving way to a specific one; parts that disagree → None."""
    key = _TECH_KEY.get(re.sub(r"[\s\-_.()/]", "", text.lower()))
    if key or "(" not in text:
        return key
    parts = [re.sub(r"[\s\-_./]", "", x.lower()) for x in re.split(r"[()]", text) if x.strip()]
    specific = [x for x in parts if x not in _GENERIC_TECH]  # "Glasfaser (FTTB)": FTTB says which
    codes = {_TECH_KEY.get(x) for x in (specific if any(_TECH_KEY.get(x) for x in specific) else parts)} - {None}
    return codes.pop() if len(codes) == 1 else None


def _unknown_technology(text: str) -> str:
    """Why a technology is refused: a fibre architecture (GPON, P2P) names no FTTH / FTTB, else unknown."""
    if re.sub(r"[\s\-_.()/]", "", text.lower()) in _ARCHITECTURES:
        return ("names the fibre architecture, not whether the fibre reaches the home or the building: write FTTH "
                "or FTTB")
    return f"unknown technology (known: {KNOWN_TECHNOLOGIES})"


def _yes_no(s: pd.Series, col: str, rows: pd.Series, rejects: list[Reject], yes_words: set[str] = YES,
            no_words: set[str] = NO) -> pd.Series:
    codes, uniq = pd.factorize(s.astype(object), use_na_sentinel=True)
    words = [" ".join(str(u).lower().split()) for u in uniq] + [""]  # each distinct cell once; missing (-1) = ""
    yes = np.array([w in yes_words for w in words], dtype=bool)[codes]
    bad = ~np.array([w in yes_words or w in no_words or w in ("nan", "none") for w in words], dtype=bool)[codes]
    rejects += [_reject(rows[i], col, s[i], _not_yes_no(str(s[i]))) for i in s.index[bad]]
    return pd.Series(yes, index=s.index)


_CONDITIONAL = re.compile(r"^\s*(?:ja|yes|j)\b\W+\S", re.IGNORECASE)


def _not_yes_no(text: str) -> str:
    """Why a yes/no cell is refused; a yes with a condition ("ja, vorbehaltlich Förderung") says so."""
    if _CONDITIONAL.match(text):
        return ("is a yes with a condition: the column takes ja or nein only (a plan that depends on funding or "
                "on pre-marketing is not binding: nein)")
    return "is not yes/no (ja/nein)"


def read_answers(path: str | Path, operator: str | None, *, reference_date: date | None = None,
                 decimal: str | None = None, encoding: str | None = None, separator: str | None = None,
                 sheet: str | None = None) -> pd.DataFrame:
    """A validated answer table; raises ImportRejected listing every bad row (nothing is written).

    ``decimal``: the file's decimal mark ("," or "."), else detected per column from its unambiguous values.
    The frame's ``attrs`` hold how the file was read (``read_notes``, ``decimal``)."""
    p = Path(path)
    if decimal not in (None, ",", "."):
        raise FileFormatError(f"decimal mark {decimal!r} is neither ',' nor '.'")
    raw = read_table(p, known=KNOWN_HEADERS, encoding=encoding, separator=separator, sheet=sheet)
    df, headers = _rename(raw.frame, p.name)
    if df.empty:
        raise FileFormatError(f"{p.name}: the file has no rows")
    rows = raw.rows
    df, rows, notes = _drop_totals(df, rows, headers)
    if df.empty:
        raise FileFormatError(f"{p.name}: the file has no rows")
    ref = reference_date or date.today()
    rejects: list[Reject] = []
    out = pd.DataFrame(index=df.index)
    for c in ("address_id", "street", "house_number", "house_number_suffix", "postcode", "city", "vorvermarktung"):
        out[c] = _text(df[c]) if c in df else None
    out["operator"] = _operator_from(df, p, operator)
    decimals = _numbers(df, out, rows, headers, decimal, rejects)
    _check_lonlat(out, rows, headers, rejects)
    _utm_to_lonlat(out, rows, headers, rejects)
    for c in ("technology", "planned_technology"):
        raw_t = _text(df[c]) if c in df else pd.Series(None, index=df.index, dtype=object)
        known = {u: None if u is None else _technology(str(u)) for u in pd.unique(raw_t.astype(object))}
        mapped = raw_t.astype(object).map(known)
        bad = mapped.isna() & raw_t.notna()
        rejects += [_reject(rows[i], headers.get(c, c), raw_t[i], _unknown_technology(str(raw_t[i])))
                    for i in df.index[bad]]
        out[c] = mapped.astype(object).where(mapped.notna(), None)
    empty = out["technology"].isna() & out["planned_technology"].isna() & out[list(NUMBER_COLUMNS)].isna().all(axis=1)
    rejects += [_reject(rows[i], None, None, "gives no technology and no speed (a remark or totals line? delete "
                                             "it)") for i in df.index[empty]]
    flagged = {r.row for r in rejects}
    missing_now = out["technology"].isna() & out["down_mbps"].notna()
    rejects += [_reject(rows[i], headers.get("technology", "technology"), None,
                        "technology is required where a current speed is given")
                for i in df.index[missing_now] if rows[i] not in flagged]
    no_speed = out["technology"].notna() & (out["down_mbps"].isna() | out["up_mbps"].isna())
    rejects += [_reject(rows[i], headers.get("down_mbps", "download"), df.at[i, "down_mbps"],
                        "a current technology needs the current download and upload speeds")
                for i in df.index[no_speed] if rows[i] not in flagged]
    orphan = out["planned_technology"].isna() & (out["planned_down_mbps"].notna() | out["planned_up_mbps"].notna())
    rejects += [_reject(rows[i], headers.get("planned_technology", "planned_technology"), None,
                        "planned speeds are given without a planned technology") for i in df.index[orphan]]
    no_pspeed = out["planned_technology"].notna() & (out["planned_down_mbps"].isna() | out["planned_up_mbps"].isna())
    rejects += [_reject(rows[i], headers.get("planned_down_mbps", "planned_down_mbps"), None,
                        "a planned technology needs the planned download and upload speeds")
                for i in df.index[no_pspeed] if rows[i] not in flagged]
    _dates(df, out, rows, headers, ref, rejects)
    out["binding"] = _yes_no(df["binding"], headers["binding"], rows, rejects, BINDING_YES, BINDING_NO) \
        if "binding" in df else False
    out["both_sides"] = _yes_no(df["both_sides"], headers["both_sides"], rows, rejects) if "both_sides" in df \
        else False
    _duplicates(out, rows, rejects)
    if rejects:
        rejects.sort(key=lambda r: (r.row, r.reason))
        raise ImportRejected(p.name, rejects, hint="correct the operator's file and import it again")
    out["row"] = rows.to_numpy()
    out.attrs["read_notes"] = raw.notes + notes
    out.attrs["decimal"] = {k: v for k, v in decimals.items() if v}
    return out


def _numbers(df: pd.DataFrame, out: pd.DataFrame, rows: pd.Series, headers: dict[str, str], decimal: str | None,
             rejects: list[Reject]) -> dict[str, str | None]:
    """Speeds and coordinates into ``out``; the decimal mark each column was read with."""
    decimals: dict[str, str | None] = {}
    parsed = {}
    for c in NUMBER_COLUMNS + COORDINATES:
        if c in df:
            factor = unit_factor_of_header(headers.get(c, "")) if c in NUMBER_COLUMNS else 1.0
            parsed[c] = (factor, *parse_number_column(df[c], decimal, factor))
    proofs = {used for _, _, _, used in parsed.values() if used}
    if decimal is None and len(proofs) == 1:  # a column without proof of its own: the file's one decimal mark
        mark = next(iter(proofs))
        for c, (factor, _, problems, used) in list(parsed.items()):
            if used is None and any(pr.kind == "ambiguous" for pr in problems.values()):
                parsed[c] = (factor, *parse_number_column(df[c], mark, factor))
    for c in NUMBER_COLUMNS + COORDINATES:
        if c not in df:
            out[c] = np.nan
            continue
        _, vals, problems, used = parsed[c]
        decimals[c] = used
        if problems:
            bad = df[c].astype(object).isin(list(problems))
            for i in df.index[bad]:
                pr = problems[df.at[i, c]]
                hint = "; declare the decimal mark with --decimal , or --decimal ." if pr.kind == "ambiguous" else ""
                rejects.append(_reject(rows[i], headers.get(c, c), df.at[i, c], pr.reason + hint))
        if c in NUMBER_COLUMNS:
            rejects += [_reject(rows[i], headers.get(c, c), df.at[i, c], "negative speed")
                        for i in df.index[vals < 0]]
            limit = 100_000 if c.startswith(("up", "planned_up")) else 1_000_000  # the schema's ranges (0007)
            rejects += [_reject(rows[i], headers.get(c, c), df.at[i, c], f"{limit:,} Mbit/s or more")
                        for i in df.index[vals >= limit]]
        out[c] = vals
    return decimals


_TOTALS = re.compile(r"^\s*(summe|gesamt|insgesamt|total|anzahl|zwischensumme|sum)\b", re.IGNORECASE)
_CONTENT = ("technology", "planned_technology", "house_number")


def _drop_totals(df: pd.DataFrame, rows: pd.Series, headers: dict[str, str]
                 ) -> tuple[pd.DataFrame, pd.Series, list[str]]:
    """Totals lines at the end of the file ("Summe: 120 Adressen", "Gesamt;;;=SUMME(...)") are dropped with a
    note: a line whose first filled cell starts with a totals word and that names no house number and no
    technology. Anything else stays and is checked like every row."""
    content = [c for c in _CONTENT if c in df]
    drop: list[int] = []
    for i in reversed(df.index.tolist()):
        cells = [v for v in df.loc[i].tolist() if not (v is None or (isinstance(v, float) and np.isnan(v))
                                                      or str(v).strip() == "")]
        blank = all(_text(df.loc[[i], c]).isna().all() for c in content)
        if not cells or not blank or not _TOTALS.match(str(cells[0])):
            break
        drop.append(i)
    if not drop:
        return df, rows, []
    notes = [f"row {rows[i]}: totals line dropped ({str(df.at[i, 'street'] if 'street' in df else '')[:40]!r})"
             for i in sorted(drop)]
    keep = ~df.index.isin(drop)
    return df[keep], rows[keep], notes


COORDINATES = ("lon", "lat", "east", "north")
#: UTM in Germany (ETRS89, zones 32 and 33; a zone prefix "32294000" is honoured, else zone 32)
UTM_EAST, UTM_NORTH = (160_000, 840_000), (5_200_000, 6_200_000)


def _utm_to_lonlat(out: pd.DataFrame, rows: pd.Series, headers: dict[str, str], rejects: list[Reject]) -> None:
    """Rechtswert/Hochwert (ETRS89 / UTM, zone 32 unless the easting carries its zone) → lon/lat where no lon/lat
    is given; implausible values are refused with their row. The east/north columns are dropped afterwards."""
    east, north = out.pop("east").to_numpy(dtype=float), out.pop("north").to_numpy(dtype=float)
    have = np.isfinite(east) & np.isfinite(north) & ~(out["lon"].notna() & out["lat"].notna()).to_numpy()
    if not have.any():
        return
    zone = np.where(east >= 1e7, east // 1e6, 32.0)
    east = np.where(east >= 1e7, east % 1e6, east)
    ok = (np.isin(zone, (32.0, 33.0)) & (east >= UTM_EAST[0]) & (east <= UTM_EAST[1]) & (north >= UTM_NORTH[0])
          & (north <= UTM_NORTH[1]))
    col = headers.get("east", "east")
    rejects += [_reject(rows[i], col, f"{east[k]:.2f} / {north[k]:.2f}", "is not an ETRS89 / UTM coordinate in "
                        "Germany (zone 32 or 33, or a zone prefix 32…/33…)")
                for k, i in enumerate(out.index) if have[k] and not ok[k]]
    from pyproj import Transformer

    lon, lat = out["lon"].to_numpy(dtype=float).copy(), out["lat"].to_numpy(dtype=float).copy()
    for z in (32.0, 33.0):
        sel = have & ok & (zone == z)
        if sel.any():
            tr = Transformer.from_crs(25800 + int(z), 4326, always_xy=True)
            lon[sel], lat[sel] = tr.transform(east[sel], north[sel])
    out["lon"], out["lat"] = lon, lat


#: Germany's extent (degrees, with a margin): a lon/lat pair inside it the wrong way round was swapped
GERMANY_LON, GERMANY_LAT = (5.5, 15.5), (47.0, 55.5)


def _check_lonlat(out: pd.DataFrame, rows: pd.Series, headers: dict[str, str], rejects: list[Reject]) -> None:
    """WGS84 lon/lat: a pair that lies in Germany only with its columns swapped, or that is no position on earth,
    is refused with its row (a swapped pair would otherwise match nothing, silently)."""
    lon, lat = out["lon"].to_numpy(dtype=float), out["lat"].to_numpy(dtype=float)
    have = np.isfinite(lon) & np.isfinite(lat)
    if not have.any():
        return
    swapped = have & (lat >= GERMANY_LON[0]) & (lat <= GERMANY_LON[1]) & (lon >= GERMANY_LAT[0]) & \
        (lon <= GERMANY_LAT[1])
    invalid = have & ~swapped & ((np.abs(lon) > 180) | (np.abs(lat) > 90))
    col = f"{headers.get('lon', 'lon')} / {headers.get('lat', 'lat')}"
    rejects += [_reject(rows[i], col, f"{lon[k]:g} / {lat[k]:g}", "longitude and latitude are swapped (in Germany "
                        "the longitude is 5.5–15.5, the latitude 47–55.5): swap the columns")
                for k, i in zip(np.flatnonzero(swapped), out.index[swapped], strict=True)]
    rejects += [_reject(rows[i], col, f"{lon[k]:g} / {lat[k]:g}", "is not a WGS84 longitude / latitude (a UTM "
                        "coordinate? name the columns Rechtswert / Hochwert)")
                for k, i in zip(np.flatnonzero(invalid), out.index[invalid], strict=True)]


def _operator_from(df: pd.DataFrame, p: Path, given: str | None) -> str:
    """The operator given, else the one the file's operator column names (spelt several ways: the most frequent
    spelling); a file naming several operators is refused (``--operator`` does not make another operator's rows its
    own)."""
    if "operator" in df:
        cells = _text(df["operator"]).dropna()
        names = cells.unique()
        if len(names) > 1 and all(_same_operator(str(names[0]), str(n)) for n in names[1:]) and \
                len({_operator_key(str(n)) for n in names} - {None}) <= 1:
            names = cells.value_counts(sort=True).index[:1].to_numpy()  # one operator's spellings: the usual one
        if len(names) > 1:
            raise FileFormatError(f"{p.name}: the file names {len(names)} operators ({', '.join(map(str, names[:5]))})",
                                  hint="one file per operator: split the file by its operator column")
        if len(names) == 1 and not given:
            return str(names[0])
        if len(names) == 1 and not _same_operator(str(names[0]), given):
            raise FileFormatError(f"{p.name}: the file's operator column names {names[0]!r}, --operator says "
                                  f"{given!r}", hint="files and --operator in the same order? (one --operator per "
                                                     "file; leave it out to take the name from the file)")
    if given:
        return given
    raise FileFormatError(f"{p.name}: which operator answered?", hint="give --operator NAME")


_LEGAL_FORMS = {"gmbh", "co", "kg", "ag", "mbh", "se", "ug", "ohg", "ev", "deutschland", "germany", "sp", "zoo",
                "und", "the", "der", "die"}
#: Words many operators' names share: a name agreeing with another only in these is no evidence of one operator
#: ("Deutsche Glasfaser" is not "Deutsche Telekom", "Glasfaser Nordwest" not "Deutsche Glasfaser")
_SHARED_WORDS = {"deutsche", "glasfaser", "netz", "netze", "kabel", "breitband", "telekommunikation", "telecom",
                 "fiber", "fibre", "stadtwerke", "wholesale", "holding", "gruppe", "group", "service", "services",
                 "vertrieb", "infrastruktur", "plus", "net", "online", "tel"}
#: Fixed-network operators under the names and abbreviations they answer under (lower case, ``&`` kept): a name
#: naming one of them (as a whole word or phrase) stands for it. Two different ones are a contradiction.
OPERATOR_ALIASES = {
    "deutsche glasfaser": ("deutsche glasfaser", "dg", "dgw"),
    "telekom": ("telekom", "deutsche telekom", "dtag", "dt", "t-com", "t-home"),
    "vodafone": ("vodafone", "kabel deutschland", "kdg", "unitymedia"),
    "1&1 versatel": ("1&1 versatel", "versatel", "1&1", "1und1", "1 & 1", "1 und 1"),
    "telefonica": ("telefonica", "o2", "telefonica o2"),
    "deutsche giganetz": ("deutsche giganetz", "dgn", "giganetz"),
    "unsere grune glasfaser": ("unsere grune glasfaser", "ugg"),
    "tele columbus": ("tele columbus", "pyur"),
    "netcologne": ("netcologne", "net cologne", "nc"),
    "netaachen": ("netaachen", "net aachen"),
    "ewe": ("ewe", "ewe tel", "ewe tel gmbh"),
    "m-net": ("m-net", "mnet"),
    "glasfaserplus": ("glasfaserplus", "glasfaser plus", "gf+"),
    "westconnect": ("westconnect",),
    "oxg": ("oxg",),
}


def _plain(text: str) -> str:
    """A name in lower case, accents and umlauts dropped (Telefónica = telefonica, PŸUR = pyur, grüne = grune)."""
    t = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).lower().replace("ß", "ss"))
    return " ".join(re.findall(r"[\w&+-]+|&", t.encode("ascii", "ignore").decode()))


def _operator_key(name: str) -> str | None:
    """The known operator (``OPERATOR_ALIASES``) a name stands for; None for none or more than one."""
    text = f" {_plain(name)} "
    hits = {key for key, names in OPERATOR_ALIASES.items()
            if any(re.search(rf"(?<![\w&+-]){re.escape(a)}(?![\w&+-])", text) for a in names)}
    return hits.pop() if len(hits) == 1 else None


def _same_operator(written: str, given: str) -> bool:
    """Whether two spellings can name one operator: the same known operator by its names and abbreviations
    ("DG" / "Deutsche Glasfaser", "DTAG" / "Telekom Deutschland GmbH", "Versatel" / "1&1 Versatel"; two different
    known ones never), else the words of one among the other's ("Glasfaser Netz" / "Glasfaser Netz GmbH"), a
    distinctive word of one found in the other ("Net Cologne" / "NetCologne"; words such as "Deutsche",
    "Glasfaser", legal forms are not distinctive), or the initials of one the other ("NGN" / "Neue Glasfaser
    Netze")."""
    ka, kb = _operator_key(written), _operator_key(given)
    if ka and kb:
        return ka == kb

    def words(t: str, shared: bool) -> list[str]:
        return [w for w in re.findall(r"\w+", _plain(t).replace("&", "")) if w not in _LEGAL_FORMS and len(w) > 1
                and (shared or w not in _SHARED_WORDS)]

    compact = [re.sub(r"\W+", "", _plain(t)) for t in (written, given)]
    full = [words(t, True) for t in (written, given)]
    if not full[0] or not full[1]:
        return True  # nothing to compare ("GmbH")
    short, long = sorted(full, key=len)  # "Glasfaser Netz" / "Glasfaser Netz GmbH": the one's words in the other's
    if any(long[i:i + len(short)] == short for i in range(len(long) - len(short) + 1)):
        return True
    a, b = words(written, False), words(given, False)
    if any(w in compact[1] for w in a) or any(w in compact[0] for w in b):
        return True
    initials = ["".join(w[0] for w in words(t, True)) for t in (written, given)]
    return (len(initials[0]) > 1 and initials[0] == compact[1]) or (len(initials[1]) > 1 and initials[1] == compact[0])


def _dates(df: pd.DataFrame, out: pd.DataFrame, rows: pd.Series, headers: dict[str, str], ref: date,
           rejects: list[Reject]) -> None:
    col = headers.get("planned_date", "planned_date")
    if "planned_date" not in df:
        out["planned_date"] = None
    else:
        dates, problems = parse_date_column(df["planned_date"])
        bad = df["planned_date"].astype(object).isin(list(problems)) if problems else pd.Series(False, index=df.index)
        rejects += [_reject(rows[i], col, df.at[i, "planned_date"], problems[df.at[i, "planned_date"]])
                    for i in df.index[bad]]
        codes, uniq = pd.factorize(dates.astype(object), use_na_sentinel=True)
        past = np.array([d is not None and d < ref for d in uniq] + [False], dtype=bool)[codes]
        rejects += [_reject(rows[i], col, df.at[i, "planned_date"], f"lies in the past (before {ref})")
                    for i in df.index[past]]
        out["planned_date"] = dates
        has_plan = out["planned_technology"].notna()
        rejects += [_reject(rows[i], col, None, "a planned technology needs a planned date")
                    for i in df.index[has_plan & out["planned_date"].isna() & ~bad]]
        return
    rejects += [_reject(rows[i], "planned_date", None, "a planned technology needs a planned date")
                for i in df.index[out["planned_technology"].notna()]]


def _duplicates(out: pd.DataFrame, rows: pd.Series, rejects: list[Reject]) -> None:
    from netzatlas.gigabit.addressmatch import normalise_street, parse_house_number

    # integer codes per column, each distinct value handled once: duplicated() over six text columns takes
    # seconds, over codes milliseconds (cells are text or None here: equal codes = equal text)
    st_codes, st_uniq = pd.factorize(out["street"].astype(object), use_na_sentinel=True)
    street = _codes(np.array([normalise_street(u) for u in st_uniq] + [""], dtype=object))[st_codes]
    hn_codes, hn_uniq = pd.factorize(out["house_number"].fillna("").astype(object))
    sf_codes, sf_uniq = pd.factorize(out["house_number_suffix"].fillna("").astype(object))
    pair_codes, pairs = pd.factorize(hn_codes.astype(np.int64) * max(len(sf_uniq), 1) + sf_codes)
    combos = [f"{hn_uniq[p // max(len(sf_uniq), 1)]}\x1f{sf_uniq[p % max(len(sf_uniq), 1)]}" for p in pairs]
    numbers = _codes(np.array([",".join(f"{n}{s}" for n, s in parse_house_number(*u.split("\x1f")).keys) or u
                               for u in combos], dtype=object))[pair_codes]
    located = "lon" in out and out["lon"].notna().any()
    xy = (out["lon"].round(7).astype(str) + "," + out["lat"].round(7).astype(str)) if located else ""
    key = pd.DataFrame({"id": _codes(out["address_id"].fillna("")), "street": street, "number": numbers,
                        "xy": pd.factorize(pd.Series(xy, index=out.index).astype(str).astype(object))[0],
                        "postcode": _codes(out["postcode"].fillna("")),
                        "technology": _codes(out["technology"].fillna("")),
                        "planned": _codes(out["planned_technology"].fillna(""))}, index=out.index)
    dup = key.duplicated(keep=False)
    if dup.any():
        first = key[dup].groupby(list(key.columns)).ngroup()
        firsts = {}
        for i, g in first.items():
            firsts.setdefault(g, rows[i])
        rejects += [_reject(rows[i], None, None, f"duplicate row (same address and technology as row {firsts[g]})")
                    for i, g in first.items() if rows[i] != firsts[g]]


def _codes(values: pd.Series | np.ndarray) -> np.ndarray:
    """Codes of text values (equal code = equal text)."""
    return pd.factorize(np.asarray(values, dtype=object))[0]


def vorvermarktung_flag(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Pre-marketing as (flag, text to keep): yes-words → true; no-words / empty → false; anything else (a quota
    "40 %", a date, a remark) → true, with the text kept as written."""
    codes, uniq = pd.factorize(text.astype(object), use_na_sentinel=True)  # each distinct text once
    low = [str(u).strip().lower() for u in uniq] + [""]  # missing (code -1) = ""
    flag = ~np.array([w in NO or w in ("nan", "none") for w in low], dtype=bool)[codes]
    show = flag & ~np.array([w in YES for w in low], dtype=bool)[codes]
    keep = text.astype(object).where(pd.Series(show, index=text.index), None)
    return pd.Series(flag, index=text.index), keep


def to_supply(answers: pd.DataFrame, matches: pd.DataFrame) -> pd.DataFrame:
    """Supply rows (current and planned) for the matched register addresses, one per (address, operator,
    technology, status); where several answer rows give the same one, the most specific match (address id, then
    street + number + postcode, …, range last) and then the first row wins, and the others are listed in
    ``attrs["overlaps"]`` (row, address_id, kept_row)."""
    return supply_rows(answers, matches)[0]


def supply_rows(answers: pd.DataFrame, matches: pd.DataFrame, positions: np.ndarray | None = None
                ) -> tuple[pd.DataFrame, np.ndarray | None]:
    """:func:`to_supply`, and for each supply row the register position of its address where ``positions`` (one
    per match, equal exactly where the address ids are: ``Matching.positions``) is given — the address part of
    the supply key without hashing the id text."""
    cols = ["address_id", "operator", "technology", "down_mbps", "up_mbps", "status", "planned_date", "binding",
            "vorvermarktung", "row", "method"]
    if matches.empty:
        empty = pd.DataFrame(columns=cols)
        empty.attrs["overlaps"] = pd.DataFrame(columns=["row", "address_id", "kept_row"])
        return empty, (None if positions is None else np.zeros(0, dtype=np.int64))
    left = matches[["row", "address_id", "method"]]
    if positions is not None:
        left = left.assign(_pos=np.asarray(positions, dtype=np.int64))
    m = left.merge(answers, left_on="row", right_index=True, suffixes=("_label", ""))
    now_m = now = m[m["technology"].notna()]
    now = pd.DataFrame({"address_id": now["address_id_label"] if "address_id_label" in now else now["address_id"],
                        "operator": now["operator"], "technology": now["technology"], "down_mbps": now["down_mbps"],
                        "up_mbps": now["up_mbps"], "status": "available", "planned_date": None, "binding": False,
                        "vorvermarktung": now["vorvermarktung"], "row": now["row"], "method": now["method"]})
    if positions is not None:
        now["_pos"] = now_m["_pos"].to_numpy()
    plan_m = plan = m[m["planned_technology"].notna()]
    plan = pd.DataFrame({"address_id": plan["address_id_label"] if "address_id_label" in plan else
                         plan["address_id"], "operator": plan["operator"], "technology": plan["planned_technology"],
                         "down_mbps": plan["planned_down_mbps"].fillna(0), "up_mbps": plan["planned_up_mbps"].fillna(0),
                         "status": "planned", "planned_date": plan["planned_date"],
                         "binding": plan["binding"].astype(bool), "vorvermarktung": plan["vorvermarktung"],
                         "row": plan["row"], "method": plan["method"]})
    if positions is not None:
        plan["_pos"] = plan_m["_pos"].to_numpy()
    s = pd.concat([now, plan], ignore_index=True)
    codes, methods = pd.factorize(s["method"].astype(object))  # each method once; missing (code -1) ranks last
    rank = np.array([METHOD_RANK.get(x, 9) for x in methods] + [9], dtype=float)[codes]
    # the order in which rows win: rank, then row (stable); the frame itself stays in its order
    order = pd.DataFrame({"rank": rank, "row": s["row"].to_numpy()}).sort_values(["rank", "row"], kind="stable"
                                                                                 ).index.to_numpy()
    # the supply key (address, operator, technology, status) as one integer: hashing four text columns takes seconds
    code = np.zeros(len(s), dtype=np.int64)
    for c in ("address_id", "operator", "technology", "status"):
        if c == "address_id" and positions is not None:  # the register position stands for the id
            codes = s["_pos"].to_numpy(dtype=np.int64)
            code = code * (int(codes.max(initial=0)) + 2) + (codes + 1)
            continue
        codes, uniques = pd.factorize(s[c].astype(object))
        code = code * (len(uniques) + 1) + (codes + 1)
    code = code[order]
    dup_sorted = pd.Series(code).duplicated(keep="first").to_numpy()
    lost = s.iloc[order[dup_sorted]]
    kept = pd.Series(s["row"].to_numpy()[order[~dup_sorted]], index=code[~dup_sorted])
    overlaps = pd.DataFrame({"row": lost["row"].to_numpy(), "address_id": lost["address_id"].to_numpy(),
                             "kept_row": kept.reindex(code[dup_sorted]).to_numpy()})
    dup = np.zeros(len(s), dtype=bool)
    dup[order[dup_sorted]] = True
    if dup.any():
        s = s[~dup].reset_index(drop=True)
    kept_pos = None
    if positions is not None:
        kept_pos = s.pop("_pos").to_numpy(dtype=np.int64)
    s.attrs["overlaps"] = overlaps
    return s, kept_pos
