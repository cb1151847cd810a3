"""Market-exploration procedure (Markterkundungsverfahren, MEV): one operator's answer file → validated rows.

Accepted: CSV (``;`` or ``,``; UTF-8 or Latin-1), xlsx, GeoPackage. Columns (German or English names):
address id (optional), street, house number, suffix, postcode, city, current download / upload (reliably
available, Mbit/s), current technology, planned technology, planned download / upload, planned date (the
milestone), binding (yes/no), pre-marketing (optional), lon/lat or x/y (optional). Every problem is reported with
its row; one bad row rejects the file (nothing is written).
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pandas as pd

from netzatlas.errors import FileFormatError, ImportRejected, Reject

ALIASES = {
    "address_id": ["address_id", "adress_id", "adressid", "alkis_id", "hauskoordinate_id", "id"],
    "street": ["street", "strasse", "straße", "str"],
    "house_number": ["house_number", "hnr", "hausnummer", "hausnr"],
    "house_number_suffix": ["house_number_suffix", "hnr_z", "hnr_zusatz", "zusatz"],
    "postcode": ["postcode", "plz", "postleitzahl"],
    "city": ["city", "ort"],
    "down_mbps": ["dl_mbps_now", "download", "down_mbps", "download_mbit"],
    "up_mbps": ["ul_mbps_now", "upload", "up_mbps", "upload_mbit"],
    "technology": ["technology_now", "technologie", "technology"],
    "planned_technology": ["planned_technology", "technologie_geplant", "geplante_technologie"],
    "planned_down_mbps": ["planned_dl_mbps", "download_geplant", "planned_down_mbps"],
    "planned_up_mbps": ["planned_ul_mbps", "upload_geplant", "planned_up_mbps"],
    "planned_date": ["planned_date", "datum_geplant", "inbetriebnahme", "meilenstein"],
    "binding": ["binding_commitment", "verbindlich", "binding"],
    "vorvermarktung": ["vorvermarktung", "pre_marketing"],
    "lon": ["lon", "laengengrad", "längengrad"],
    "lat": ["lat", "breitengrad"],
}
REQUIRED = ["street", "house_number", "down_mbps", "up_mbps", "technology"]
TECHNOLOGIES = {
    "ftth": "ftth", "fttb": "fttb", "ftth/b": "fttb", "glasfaser": "ftth",
    "fttc": "fttc_vdsl", "vdsl": "fttc_vdsl", "vdsl2": "fttc_vdsl", "vectoring": "fttc_vdsl", "fttc_vdsl": "fttc_vdsl",
    "super-vectoring": "supervectoring", "supervectoring": "supervectoring",
    "adsl": "adsl", "dsl": "adsl",
    "hfc-d3.1": "docsis31", "docsis 3.1": "docsis31", "docsis31": "docsis31", "kabel 3.1": "docsis31",
    "hfc-d3.0": "docsis30", "docsis 3.0": "docsis30", "docsis30": "docsis30", "kabel": "docsis30", "hfc": "docsis30",
    "fwa": "fwa", "richtfunk": "fwa", "lte": "lte", "5g": "5g", "satellit": "satellite", "satellite": "satellite",
}
_TECH_KEY = {re.sub(r"[\s\-_.()]", "", k): v for k, v in TECHNOLOGIES.items()}
KNOWN_TECHNOLOGIES = ", ".join(sorted({"FTTH", "FTTB", "FTTH/B", "Glasfaser", "FTTC", "VDSL", "VDSL2", "Vectoring",
                                       "Super-Vectoring", "ADSL", "DSL", "HFC", "HFC-D3.0", "HFC-D3.1", "DOCSIS 3.0",
                                       "DOCSIS 3.1", "Kabel", "Kabel 3.1", "FWA", "Richtfunk", "LTE", "5G",
                                       "Satellit"}))
YES = {"ja", "j", "yes", "y", "true", "1", "x", "wahr"}
NO = {"nein", "n", "no", "false", "0", "", "falsch"}


def _read(p: Path) -> pd.DataFrame:
    if not p.exists() or p.stat().st_size == 0:
        raise FileFormatError(f"{p.name}: the file is empty or missing")
    suffix = p.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm"):
            return pd.read_excel(p, dtype=object)
        if suffix == ".gpkg":
            import pyogrio

            gdf = pyogrio.read_dataframe(p)
            if gdf.crs is not None and len(gdf):
                g = gdf.to_crs(4326)
                gdf["lon"], gdf["lat"] = g.geometry.x, g.geometry.y
            return pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
        raw = p.read_bytes()
        for enc in ("utf-8-sig", "cp1252", "latin-1"):
            try:
                text = raw.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        sep = ";" if text.splitlines()[0].count(";") >= text.splitlines()[0].count(",") else ","
        import io

        return pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)
    except FileFormatError:
        raise
    except Exception as exc:
        raise FileFormatError(f"{p.name}: cannot be read ({exc})") from exc


def _rename(df: pd.DataFrame, name: str) -> pd.DataFrame:
    lower = {str(c).strip().lower(): c for c in df.columns}
    mapping = {}
    for target, names in ALIASES.items():
        for n in names:
            if n in lower:
                mapping[lower[n]] = target
                break
    df = df.rename(columns=mapping)
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise FileFormatError(f"{name}: missing column(s) {', '.join(missing)}",
                              hint="expected e.g. strasse, hnr, plz, download, upload, technologie")
    return df


def _num(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s.astype(str).str.strip().str.replace(",", ".", regex=False).replace({"": None}),
                         errors="coerce")


def parse_dates(raw: pd.Series) -> pd.Series:
    """Dates as operators write them: ISO ``2028-03-01`` (and Excel date cells) year-first, everything else
    (``01.03.2028``, ``1.3.28``, ``01/03/2028``) day-first, as in Germany. Unreadable → NaT."""
    txt = raw.astype(str).str.strip().where(raw.notna(), "")
    txt = txt.where(~txt.isin(["nan", "None", "NaT"]), "")
    iso = txt.str.match(r"^\d{4}-\d{1,2}-\d{1,2}")
    out = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
    if iso.any():
        out[iso] = pd.to_datetime(txt[iso], errors="coerce", format="ISO8601")
    rest = ~iso & (txt != "")
    if rest.any():
        out[rest] = pd.to_datetime(txt[rest], errors="coerce", dayfirst=True, format="mixed")
    return out


def read_answers(path: str | Path, operator: str, *, reference_date: date | None = None) -> pd.DataFrame:
    """A validated answer table; raises ImportRejected listing every bad row (nothing is written)."""
    p = Path(path)
    df = _rename(_read(p), p.name).reset_index(drop=True)
    if df.empty:
        raise FileFormatError(f"{p.name}: the file has no rows")
    ref = reference_date or date.today()
    rows = df.index + 2  # header = line 1
    rejects: list[Reject] = []
    out = pd.DataFrame(index=df.index)
    for c in ("address_id", "street", "house_number", "house_number_suffix", "postcode", "city"):
        out[c] = df[c].fillna("").astype(str).str.strip().replace({"": None, "nan": None, "None": None}) \
            if c in df else None
    out["operator"] = operator
    for c in ("down_mbps", "up_mbps", "planned_down_mbps", "planned_up_mbps", "lon", "lat"):
        raw = df[c] if c in df else pd.Series([None] * len(df), index=df.index)
        vals = _num(raw.fillna(""))
        bad = vals.isna() & raw.notna() & (raw.astype(str).str.strip() != "")
        rejects += [Reject(int(rows[i]), f"{c}: {raw[i]!r} is not a number") for i in df.index[bad]]
        if c.endswith("mbps"):
            rejects += [Reject(int(rows[i]), f"{c}: negative speed {vals[i]:g}") for i in df.index[vals < 0]]
        out[c] = vals
    for c, target in (("technology", "technology"), ("planned_technology", "planned_technology")):
        raw = df[c].fillna("").astype(str).str.strip().str.lower() if c in df else \
            pd.Series([""] * len(df), index=df.index)
        mapped = raw.str.replace(r"[\s\-_.()]", "", regex=True).map(_TECH_KEY)
        bad = mapped.isna() & (raw != "") & (raw != "nan")
        rejects += [Reject(int(rows[i]), f"{c}: unknown technology {df.at[i, c]!r} (known: {KNOWN_TECHNOLOGIES})")
                    for i in df.index[bad]]
        out[target] = mapped
    missing_now = out["technology"].isna() & out["down_mbps"].notna()
    rejects += [Reject(int(rows[i]), "technology is required where a current speed is given")
                for i in df.index[missing_now & ~df.index.isin([r.row - 2 for r in rejects])]]
    no_speed = out["technology"].notna() & (out["down_mbps"].isna() | out["up_mbps"].isna())
    rejects += [Reject(int(rows[i]), "a current technology needs the current download and upload speeds")
                for i in df.index[no_speed]]
    orphan = out["planned_technology"].isna() & (out["planned_down_mbps"].notna() | out["planned_up_mbps"].notna())
    rejects += [Reject(int(rows[i]), "planned speeds are given without a planned technology")
                for i in df.index[orphan]]
    no_pspeed = out["planned_technology"].notna() & (out["planned_down_mbps"].isna() | out["planned_up_mbps"].isna())
    rejects += [Reject(int(rows[i]), "a planned technology needs the planned download and upload speeds")
                for i in df.index[no_pspeed]]
    raw_date = df["planned_date"] if "planned_date" in df else pd.Series([None] * len(df), index=df.index)
    dates = parse_dates(raw_date)
    txt = raw_date.astype(str).str.strip()
    bad = dates.isna() & raw_date.notna() & ~txt.isin(["", "nan", "None", "NaT"])
    rejects += [Reject(int(rows[i]), f"planned_date: {raw_date[i]!r} is not a date") for i in df.index[bad]]
    past = dates.notna() & (dates < pd.Timestamp(ref))
    rejects += [Reject(int(rows[i]), f"planned_date {dates[i].date()} lies in the past (before {ref})")
                for i in df.index[past]]
    out["planned_date"] = dates.dt.date.astype(object).where(dates.notna(), None)
    has_plan = out["planned_technology"].notna()
    rejects += [Reject(int(rows[i]), "a planned technology needs a planned date")
                for i in df.index[has_plan & out["planned_date"].isna() & ~bad]]
    bind = df["binding"].fillna("").astype(str).str.strip().str.lower() if "binding" in df else \
        pd.Series("", index=df.index)
    badb = ~bind.isin(YES | NO | {"nan", "none"})
    rejects += [Reject(int(rows[i]), f"binding: {df.at[i, 'binding']!r} is not yes/no") for i in df.index[badb]]
    out["binding"] = bind.isin(YES)
    from netzatlas.gigabit.addressmatch import normalise_street, split_number

    number = [",".join(n + x for n, x in split_number(h, z)) or str(h).strip().lower()
              for h, z in zip(out["house_number"], out["house_number_suffix"], strict=True)]
    key = pd.DataFrame({"id": out["address_id"].astype(str), "street": out["street"].map(normalise_street),
                        "number": number, "postcode": out["postcode"].astype(str),
                        "technology": out["technology"].astype(str)}, index=out.index)
    dup = key.duplicated(keep=False)
    rejects += [Reject(int(rows[i]), "duplicate row (same address and technology appears twice)")
                for i in df.index[dup]]
    if rejects:
        rejects.sort(key=lambda r: (r.row, r.reason))
        raise ImportRejected(p.name, rejects, hint="correct the operator's file and import it again")
    out["row"] = rows
    return out


def to_supply(answers: pd.DataFrame, matches: pd.DataFrame) -> pd.DataFrame:
    """Supply rows (current and planned) for the matched register addresses."""
    m = matches.merge(answers, left_on="row", right_index=True, suffixes=("", "_answer"))
    now = m[m["technology"].notna()].assign(status="available", planned_date=None, binding=False)
    now = now[["address_id", "operator", "technology", "down_mbps", "up_mbps", "status", "planned_date", "binding"]]
    plan = m[m["planned_technology"].notna()].assign(status="planned")
    plan = pd.DataFrame({"address_id": plan["address_id"], "operator": plan["operator"],
                         "technology": plan["planned_technology"], "down_mbps": plan["planned_down_mbps"].fillna(0),
                         "up_mbps": plan["planned_up_mbps"].fillna(0), "status": "planned",
                         "planned_date": plan["planned_date"], "binding": plan["binding"]})
    return pd.concat([now, plan], ignore_index=True)
