"""Breitbandatlas availability shares per municipality (AGS): the calibration targets and the check."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from netzatlas.config import DATA_DIR
from netzatlas.errors import NotFound

DEFAULT_FILE = DATA_DIR / "aachen" / "breitbandatlas" / "gemeinde_bezirke_privat_2021_mitte.csv"
ATTRIBUTION = "Breitbandatlas | Gigabit-Grundbuch (gigabitgrundbuch.bund.de), harmonised by hhilbig/broadband"


def shares(ags: str = "05334002", path: str | Path = DEFAULT_FILE) -> dict[str, float]:
    """Household shares in percent for one municipality, with short keys (all_30, all_100, all_1000, catv_1000 …)."""
    df = pd.read_csv(path, dtype={"AGS": str})
    row = df[df["AGS"] == ags]
    if row.empty:
        raise NotFound(f"AGS {ags} is not in {Path(path).name}")
    r = row.iloc[0]
    out = {}
    for col, value in r.items():
        if col == "AGS":
            continue
        tech, _, speed = str(col).partition(" ≥ ")
        key = {"alle Technologien": "all", "leitungsg. Technologien": "wired", "mobile Technologien": "mobile",
               "DSL": "dsl", "CATV": "catv", "FTTH/B": "ftthb"}.get(tech.strip(), tech.strip().lower())
        out[f"{key}_{speed.replace(' Mbit/s', '')}"] = float(value)
    return out


def targets(ags: str = "05334002") -> dict[str, float]:
    """The calibration targets of the demo simulation (percent of households)."""
    s = shares(ags)
    return {k: s[k] for k in ("all_30", "all_100", "all_1000", "catv_1", "catv_400", "catv_1000", "ftthb_1000",
                              "dsl_30", "dsl_50", "dsl_100", "dsl_200")}
