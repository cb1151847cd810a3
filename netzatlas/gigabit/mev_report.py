"""What one MEV answer file comes to: matches, supply rows, unmatched rows, conflicts and a summary per operator;
and the report files in the form German Excel opens (pure; the database side is in registry.gigabit_store).

CSV files: ``;`` separated, decimal comma, UTF-8 with BOM, sorted by street and house number (numerically: 2 before
10, 12 before 12a); a text cell Excel would run as a formula (``=``, ``+``, ``-``, ``@``) written with a leading ``'``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from netzatlas.gigabit.addressmatch import METHODS, Matching, RegisterIndex, conflicts, index_register, match
from netzatlas.gigabit.mev import supply_rows, vorvermarktung_flag
from netzatlas.reports.outputs import inert

__all__ = ["FileOutcome", "REPORT_COLUMNS", "build_outcome", "summary_row", "write_german_csv"]

REPORT_COLUMNS = ["row_no", "reason", "detail", "address_id", "street", "house_number", "house_number_suffix",
                  "postcode", "city", "technology", "down_mbps", "up_mbps", "planned_technology",
                  "planned_down_mbps", "planned_up_mbps", "planned_date", "binding", "vorvermarktung", "x", "y"]
#: German column titles of the report files (English alongside in the summary's docs).
GERMAN = {"row_no": "Zeile", "reason": "Grund", "detail": "Detail", "address_id": "Adress-ID", "street": "Straße",
          "house_number": "Hausnummer", "house_number_suffix": "Zusatz", "postcode": "PLZ", "city": "Ort",
          "technology": "Technologie", "down_mbps": "Download (Mbit/s)", "up_mbps": "Upload (Mbit/s)",
          "planned_technology": "Technologie geplant", "planned_down_mbps": "Download geplant (Mbit/s)",
          "planned_up_mbps": "Upload geplant (Mbit/s)", "planned_date": "Datum geplant", "binding": "verbindlich",
          "vorvermarktung": "Vorvermarktung", "operator": "Betreiber", "file_name": "Datei", "rows": "Zeilen",
          "matched_address_id": "zugeordnet: Adress-ID",
          "matched_street_number_postcode": "zugeordnet: Straße+Nr.+PLZ",
          "matched_street_number": "zugeordnet: Straße+Nr.", "matched_range": "zugeordnet: Bereich",
          "matched_nearest": "zugeordnet: nächste Adresse", "unmatched": "nicht zugeordnet",
          "ambiguous": "mehrdeutig", "conflicts": "Konflikte", "supply_available": "Versorgung verfügbar",
          "supply_planned": "Versorgung geplant", "supply_binding": "davon verbindlich",
          "created": "neu", "updated": "geändert", "unchanged": "unverändert", "withdrawn": "zurückgezogen"}


@dataclass
class FileOutcome:
    """One operator's file after matching (before it is written)."""

    operator: str
    file_name: str
    source: str
    answers: pd.DataFrame
    matching: Matching
    supply: pd.DataFrame
    unmatched: pd.DataFrame
    conflicts: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    #: register x/y (storage CRS) of the addresses the supply covers, each once; None if the register has none
    covered_xy: np.ndarray | None = None


def covered_points(idx: RegisterIndex, address_ids: pd.Series, positions: np.ndarray | None = None
                   ) -> np.ndarray | None:
    """The register points (n × 2, storage CRS) of ``address_ids``, each address once; None without x/y.
    ``positions``: the register positions of ``address_ids`` where known (then the ids are not looked up)."""
    reg = idx.register
    if not {"x", "y"} <= set(reg.columns):
        return None
    if positions is not None:
        pos = pd.unique(np.asarray(positions, dtype=np.int64))
    else:
        pos = idx.positions(pd.unique(address_ids.astype(str).to_numpy()))
    xy = reg[["x", "y"]].to_numpy(dtype=float)[pos[pos >= 0]]
    return xy[np.isfinite(xy).all(axis=1)]


def _answer_part(answers: pd.DataFrame, labels: pd.Series) -> pd.DataFrame:
    a = answers.loc[labels.to_numpy()]
    out = pd.DataFrame({c: a[c].to_numpy() if c in a else None for c in REPORT_COLUMNS if c not in
                        ("row_no", "reason", "detail", "address_id")})
    out.insert(0, "row_no", a["row"].to_numpy())
    return out


def build_outcome(answers: pd.DataFrame, register: pd.DataFrame | RegisterIndex, *, operator: str, file_name: str,
                  source: str, tolerance_m: float = 25.0, existing: pd.DataFrame | None = None) -> FileOutcome:
    """Match, build the supply rows, and list unmatched rows and conflicts.

    ``existing``: supply already in the register from other sources (address_id, operator, status, binding) —
    for the "two binding plans" and "supply unknown to the register" conflicts."""
    register = register if isinstance(register, RegisterIndex) else index_register(register)
    m = match(answers, register, tolerance_m=tolerance_m)
    supply, supply_pos = supply_rows(answers, m.matches, m.positions)
    lost = pd.Series(answers.index[~answers.index.isin(m.matches["row"].to_numpy())].to_numpy(), dtype=object)
    unmatched = _answer_part(answers, lost)
    unmatched.insert(1, "reason", [m.notes.get(i, "not matched") for i in lost])
    unmatched.insert(2, "detail", None)
    unmatched.insert(3, "address_id", None)
    conf = conflicts(answers, m.matches, existing, notes=m.notes)
    overlaps = supply.attrs.get("overlaps")
    parts = []
    if len(conf):
        label_of = pd.Series(answers.index, index=answers["row"].to_numpy())
        c = _answer_part(answers, label_of.loc[conf["row"].to_numpy()])
        c.insert(1, "reason", conf["kind"].to_numpy())
        c.insert(2, "detail", conf["detail"].to_numpy())
        c.insert(3, "address_id", conf["address_id"].to_numpy())
        parts.append(c)
    if overlaps is not None and len(overlaps):
        label_of = pd.Series(answers.index, index=answers["row"].to_numpy())
        c = _answer_part(answers, label_of.loc[overlaps["row"].to_numpy()])
        c.insert(1, "reason", "overlapping answer rows")
        c.insert(2, "detail", [f"row {k} already answers this address (kept)" for k in overlaps["kept_row"]])
        c.insert(3, "address_id", overlaps["address_id"].to_numpy())
        parts.append(c)
    conf_rows = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=REPORT_COLUMNS)
    return FileOutcome(operator, file_name, source, answers, m, supply, unmatched[REPORT_COLUMNS],
                       conf_rows[REPORT_COLUMNS], list(answers.attrs.get("read_notes", [])),
                       covered_points(register, supply["address_id"], supply_pos) if len(supply) else None)


def summary_row(o: FileOutcome) -> dict[str, object]:
    """Counts per operator: rows, rows matched by each rule, unmatched, ambiguous, conflicts, supply rows."""
    per = o.matching.matches.groupby("method")["row"].nunique() if len(o.matching.matches) else pd.Series(dtype=int)
    row: dict[str, object] = {"operator": o.operator, "file_name": o.file_name, "rows": len(o.answers)}
    for method in METHODS:
        row["matched_" + method.replace("+", "_")] = int(per.get(method, 0))
    row["unmatched"] = len(o.unmatched)
    row["ambiguous"] = int(o.unmatched["reason"].astype(str).str.startswith("ambiguous").sum())
    row["conflicts"] = len(o.conflicts)
    s = o.supply
    row["supply_available"] = int((s["status"] == "available").sum()) if len(s) else 0
    row["supply_planned"] = int((s["status"] == "planned").sum()) if len(s) else 0
    row["supply_binding"] = int(((s["status"] == "planned") & s["binding"].astype(bool)).sum()) if len(s) else 0
    row["vorvermarktung"] = int(vorvermarktung_flag(o.answers["vorvermarktung"])[0].sum())
    return row


_NUM = re.compile(r"^\D*(\d+)")


def _sort_key(df: pd.DataFrame) -> pd.DataFrame:
    street = df["street"].fillna("").astype(str).str.lower() if "street" in df else pd.Series("", index=df.index)
    hn = df["house_number"].fillna("").astype(str) if "house_number" in df else pd.Series("", index=df.index)
    num = hn.str.extract(_NUM, expand=False).fillna("-1").astype(np.int64)
    return pd.DataFrame({"s": street, "n": num, "h": hn.str.lower()}, index=df.index)


def write_german_csv(df: pd.DataFrame, path: Path, *, sort: bool = True) -> Path:
    """``;``, decimal comma, UTF-8 with BOM; sorted by street and number; German column titles; formula-like text
    made inert (:func:`netzatlas.reports.outputs.inert`)."""
    out = df.drop(columns=[c for c in ("x", "y") if c in df.columns])
    if sort and len(out) and "street" in out:
        k = _sort_key(out)
        out = out.loc[k.sort_values(["s", "n", "h"], kind="stable").index]
    out = out.rename(columns={c: GERMAN.get(c, c) for c in out.columns})
    for c in out.columns:
        if out[c].dtype == bool:
            out[c] = out[c].map({True: "ja", False: "nein"})
        elif out[c].dtype == object or pd.api.types.is_string_dtype(out[c]):
            out[c] = out[c].map(inert)  # an operator's "=HYPERLINK(…)" or "@…" stays text in Excel
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, sep=";", decimal=",", index=False, encoding="utf-8-sig", lineterminator="\r\n")
    return path
