"""What every analysis writes beside its map: a CSV as German Excel opens it, the data sources with their vintage
for the report's header, and the people counted — one function for the population, whole numbers."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

#: what each kind of import is (with its licence) and the vintage of the data when its file name has no date
SOURCE_KINDS = {
    "osm": ("OpenStreetMap — © OpenStreetMap-Mitwirkende / contributors, ODbL 1.0", None),
    "zensus": ("Zensus 2011 — © Statistische Ämter des Bundes und der Länder, dl-de/by-2-0",
               "Stichtag / reference date 09.05.2011"),
    "boundary": ("Verwaltungsgrenzen VG250 — © GeoBasis-DE / BKG, dl-de/by-2-0", None),
    "charging-register": ("Ladesäulenregister — © Bundesnetzagentur, CC BY 4.0", None),
    "vehicles": ("Kfz-Bestand nach Kraftstoffart (Tabelle im Aufbau KBA FZ1/FZ3) / registered cars", None),
    "ocpi": ("OCPI 2.2.1 Locations eines Ladepunktbetreibers / a CPO's OCPI feed", None),
}
_DATE = re.compile(r"(?<!\d)((?:19|20)\d{2})(?:[-_.]?(\d{2})[-_.]?(\d{2}))?(?!\d)")


@dataclass(frozen=True)
class DataSource:
    """One imported source as a report names it."""

    label: str
    vintage: str
    files: tuple[str, ...] = ()

    def line(self) -> str:
        files = f" ({', '.join(self.files)})" if self.files else ""
        return f"{self.label} — Stand / vintage: {self.vintage}{files}"


def vintage(kind: str, files: Iterable[str], source: str = "") -> str:
    """The data's date: the kind's fixed vintage (Zensus), else a date in a file or source name
    ('aachen-2021-08-01.osm.pbf' → '01.08.2021'), else 'nicht angegeben / not stated'."""
    fixed = SOURCE_KINDS.get(kind, ("", None))[1]
    if fixed:
        return fixed
    for name in (*files, source):
        m = _DATE.search(Path(str(name)).name)
        if m:
            y, mo, d = m.groups()
            return f"{d}.{mo}.{y}" if mo and d and 1 <= int(mo) <= 12 and 1 <= int(d) <= 31 else y
    return "nicht angegeben / not stated"


def data_sources(batches: Iterable[Mapping], kinds: Iterable[str] | None = None) -> list[DataSource]:
    """Sources from the import batches (``source``, ``kind``, ``details`` with ``files``), the latest per source,
    restricted to ``kinds``."""
    want = set(kinds) if kinds is not None else None
    out: dict[str, DataSource] = {}
    for b in batches:
        kind = str(b.get("kind") or "")
        if want is not None and kind not in want:
            continue
        files = tuple(str(f) for f in ((b.get("details") or {}).get("files") or ()))
        label = SOURCE_KINDS.get(kind, (f"{kind}: {b.get('source')}", None))[0]
        stated = (b.get("details") or {}).get("vintage")  # the import knew the date (Stichtag, pull time)
        out[str(b.get("source"))] = DataSource(label, str(stated) if stated else
                                               vintage(kind, files, str(b.get("source") or "")), files)
    return list(out.values())


def read_batches(conn) -> list[dict]:  # noqa: ANN001 - a psycopg connection
    """The latest finished import batch of each source, oldest first."""
    return list(conn.execute(
        "SELECT DISTINCT ON (source) source, kind, details, finished_at FROM audit.batch "
        "WHERE finished_at IS NOT NULL ORDER BY source, finished_at DESC").fetchall())


def inhabitants(cells: pd.DataFrame, column: str = "population_estimate") -> int:
    """The inhabitants of population cells as a whole number: the one function every report counts people with
    (Zensus 2011 100 m estimate by default)."""
    if cells is None or len(cells) == 0 or column not in cells.columns:
        return 0
    return int(round(float(pd.to_numeric(cells[column], errors="coerce").fillna(0).sum())))


def people(values: pd.Series) -> pd.Series:
    """People per row as whole numbers (nullable integers: missing stays missing)."""
    return pd.to_numeric(values, errors="coerce").replace([np.inf, -np.inf], np.nan).round(0).astype("Int64")


def write_excel_csv(df: pd.DataFrame, path: Path, labels: Mapping[str, str] | None = None) -> Path:
    """``df`` as German Excel opens it: ``;`` separated, decimal comma, UTF-8 with BOM, labelled columns;
    booleans as ja/nein, infinite distances empty, text starting like a formula (``=``, ``+``, ``-``, ``@``)
    prefixed with ``'`` so Excel shows it instead of running it."""
    out = pd.DataFrame(df.drop(columns=[c for c in df.columns if c == "geometry"])).copy()
    for c in out.columns:
        if pd.api.types.is_bool_dtype(out[c]) or _only_booleans(out[c]):
            out[c] = out[c].map({True: "ja", False: "nein"}).astype(object)
        elif pd.api.types.is_float_dtype(out[c]):
            out[c] = out[c].replace([np.inf, -np.inf], np.nan)
        elif out[c].dtype == object or pd.api.types.is_string_dtype(out[c]):
            out[c] = out[c].map(inert)
    out = out.rename(columns={c: (labels or {}).get(c, c) for c in out.columns})
    out.to_csv(path, sep=";", decimal=",", index=False, encoding="utf-8-sig")
    return path


#: a cell starting with one of these is a formula to Excel (OWASP "CSV injection": prefix it with ')
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


_SIGNED_NUMBER = re.compile(r"[+-]\d+(?:[.,]\d+)?")


def inert(value: object) -> object:
    """Text Excel would run as a formula, made plain text with a leading ``'``; everything else (also a signed
    number written as text, '-95') as it is."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _SIGNED_NUMBER.fullmatch(value):
        return "'" + value
    return value


def _only_booleans(values: pd.Series) -> bool:
    """An object column of booleans with gaps (True / False / None)."""
    vals = values.dropna() if values.dtype == object else ()
    return len(vals) > 0 and all(isinstance(v, (bool, np.bool_)) for v in vals)


def files_note(gpkg: Path, csv: Path) -> str:
    """The report note naming the files written beside it (the CSV in German Excel form)."""
    return (f"Dateien / files: {gpkg.name}, {csv.name} (Excel: Semikolon, Dezimalkomma / semicolon, "
            "decimal comma).")


def source_lines(conn, kinds: Iterable[str]) -> list[str]:  # noqa: ANN001 - a psycopg connection
    """The header lines of a report: each imported source of ``kinds`` with its vintage and files."""
    return [s.line() for s in data_sources(read_batches(conn), kinds)]
