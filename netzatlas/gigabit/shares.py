"""Breitbandatlas-style shares (≥ 30 / ≥ 100 / ≥ 1000 Mbit/s) per grid cell and for the whole municipality."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

SPEEDS = (30, 100, 1000)


def shares_per_cell(addresses: gpd.GeoDataFrame, cells: gpd.GeoDataFrame, cell_id: str = "cell_id"
                    ) -> gpd.GeoDataFrame:
    """Per cell: addresses, share (percent) with best download ≥ 30/100/1000, counts per class, eligible."""
    j = gpd.sjoin(addresses[["best_down_mbps", "class_de", "eligible", addresses.geometry.name]],
                  cells[[cell_id, cells.geometry.name]].to_crs(addresses.crs), predicate="intersects", how="inner")
    j = j[~j.index.duplicated()]  # a point on a cell edge counts once
    down = pd.to_numeric(j["best_down_mbps"]).fillna(0)
    agg = pd.DataFrame({cell_id: j[cell_id], **{f"ge_{s}": down >= s for s in SPEEDS},
                        "eligible": j["eligible"].astype(bool)}).groupby(cell_id)
    out = agg.size().rename("addresses").to_frame()
    for s in SPEEDS:
        out[f"share_ge_{s}"] = (agg[f"ge_{s}"].mean() * 100).round(1)
    out["eligible"] = agg["eligible"].sum()
    classes = pd.crosstab(j[cell_id], j["class_de"])
    out = out.join(classes).fillna(0)
    return cells[[cell_id, cells.geometry.name]].merge(out.reset_index(), on=cell_id)


def municipality_shares(classified: pd.DataFrame) -> dict[str, float]:
    down = pd.to_numeric(classified["best_down_mbps"]).fillna(0)
    return {f"all_{s}": round(float((down >= s).mean() * 100), 2) for s in SPEEDS}


def compare_with_atlas(classified: pd.DataFrame, atlas: dict[str, float]) -> pd.DataFrame:
    """The registry's shares beside the Breitbandatlas (labels in German with English alongside)."""
    ours = municipality_shares(classified)
    return pd.DataFrame([{"Kennzahl / measure": f"≥ {s} Mbit/s",
                          "Register, Anteil der Adressen (%) / registry, share of addresses": ours[f"all_{s}"],
                          "Breitbandatlas Mitte 2021, Anteil der Haushalte (%) / share of households":
                              atlas.get(f"all_{s}"),
                          "Differenz (Prozentpunkte) / difference (percentage points)":
                              round(ours[f"all_{s}"] - atlas.get(f"all_{s}", float("nan")), 2)}
                         for s in SPEEDS])
