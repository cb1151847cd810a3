"""Demo supply, SIMULATED: operators' per-address answers are not public, so the demo invents them on the real
addresses, calibrated to the municipality's Breitbandatlas shares and spatially coherent (a whole street shares an
operator's network and its speed tier), from a seed. Every output that uses it must say so (``SIMULATED_NOTE``).

Operators and technologies (assumptions for the demo): Vodafone cable (DOCSIS 3.1: 1000/50, 400/25; DOCSIS 3.0:
200/20), NetAachen fibre (FTTB 1000/500), Telekom copper (Super-Vectoring 250/40, VDSL 100/40 and 50/10, ADSL
16/1) and Telekom FTTH build-out plans (binding within 2 years on some streets, non-binding in 4 years on others).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from netzatlas.errors import InvalidInput

SIMULATED_NOTE = ("Versorgung für die Demo SIMULIERT (die Antworten der Betreiber je Adresse sind nicht öffentlich), "
                  "Straße für Straße an die Breitbandatlas-Anteile der Gemeinde (Mitte 2021) angepasst / "
                  "Broadband supply is SIMULATED for the demo (operators' per-address answers are not public): "
                  "calibrated to the Breitbandatlas shares of the municipality (mid 2021), street by street.")


@dataclass(frozen=True)
class Tier:
    operator: str
    technology: str
    down: float
    up: float


CABLE_1000 = Tier("Vodafone", "docsis31", 1000, 50)
CABLE_400 = Tier("Vodafone", "docsis31", 400, 25)
CABLE_200 = Tier("Vodafone", "docsis30", 200, 20)
FIBRE = Tier("NetAachen", "fttb", 1000, 500)
SVDSL = Tier("Telekom", "supervectoring", 250, 40)
VDSL100 = Tier("Telekom", "fttc_vdsl", 100, 40)
VDSL50 = Tier("Telekom", "fttc_vdsl", 50, 10)
ADSL = Tier("Telekom", "adsl", 16, 1)


def _street_keys(addresses: pd.DataFrame) -> pd.Series:
    """Street (+ postcode) where known, else a 200 m block."""
    street = addresses.get("street")
    x, y = addresses.geometry.x, addresses.geometry.y
    block = "block-" + (x // 200).astype(int).astype(str) + "-" + (y // 200).astype(int).astype(str)
    if street is None:
        return block
    return street.astype(object).where(street.notna() & (street.astype(str).str.strip() != ""), block).astype(str)


def _segments(keys: pd.Series, rng: np.random.Generator, cuts: list[float]) -> pd.Series:
    """Shuffle streets, then cut the cumulative address share (percent) at ``cuts``: segment index per address."""
    counts = keys.value_counts()
    order = counts.index.to_numpy()[rng.permutation(len(counts))]
    share = counts.loc[order].cumsum() / counts.sum() * 100
    start = share - counts.loc[order] / counts.sum() * 100
    mid = (start + share) / 2  # a street belongs to the segment its middle falls into
    seg = np.searchsorted(np.asarray(cuts), mid.to_numpy(), side="right")
    return keys.map(pd.Series(seg, index=order))


def simulate_supply(addresses: pd.DataFrame, targets: dict[str, float], *, seed: int = 2021,
                    reference_date: date = date(2021, 7, 1)) -> pd.DataFrame:
    """Per-address supply rows (see the module docstring). ``addresses``: GeoDataFrame in a metric CRS with
    ``address_id`` (and ``street``); ``targets``: Breitbandatlas shares in percent (``breitbandatlas.targets``)."""
    if "address_id" not in addresses.columns or addresses.empty:
        raise InvalidInput("simulate_supply needs addresses with an address_id")
    if addresses.crs is None or addresses.crs.is_geographic:
        raise InvalidInput("simulate_supply needs addresses in a projected CRS (metres)")
    rng = np.random.default_rng(seed)
    keys = _street_keys(addresses)
    t = targets
    overlap = t["catv_1000"] + t["ftthb_1000"] - t["all_1000"]        # fibre streets that also have cable 1000
    fibre_only = t["all_1000"] - t["catv_1000"]
    cuts = [overlap, t["catv_1000"], t["catv_400"], t["catv_1"], t["catv_1"] + fibre_only, t["all_100"], t["all_30"]]
    seg = _segments(keys, rng, cuts).to_numpy()
    # seg: 0 cable1000+fibre, 1 cable1000, 2 cable400, 3 cable200, 4 fibre only, 5 VDSL100 only, 6 VDSL50, 7 ADSL
    dsl = _segments(keys, rng, [t["dsl_200"], t["dsl_100"], t["dsl_50"]]).to_numpy()   # Telekom tier on other streets
    rows: list[pd.DataFrame] = []

    def add(mask: np.ndarray, tier: Tier, status: str = "available", planned: date | None = None,
            binding: bool = False) -> None:
        if not mask.any():
            return
        rows.append(pd.DataFrame({"address_id": addresses["address_id"].to_numpy()[mask], "operator": tier.operator,
                                  "technology": tier.technology, "down_mbps": tier.down, "up_mbps": tier.up,
                                  "status": status, "planned_date": planned, "binding": binding}))

    add(seg <= 1, CABLE_1000)
    add(seg == 2, CABLE_400)
    add(seg == 3, CABLE_200)
    add((seg == 0) | (seg == 4), FIBRE)
    add(seg == 5, VDSL100)
    add(seg == 6, VDSL50)
    add(seg == 7, ADSL)
    other = seg <= 4
    add(other & (dsl == 0), SVDSL)
    add(other & (dsl == 1), VDSL100)
    add(other & (dsl == 2), VDSL50)
    add(other & (dsl == 3), ADSL)
    plans = _segments(keys, rng, [8.0, 13.0]).to_numpy()
    ftth = Tier("Telekom", "ftth", 1000, 500)
    add(plans == 0, ftth, "planned", reference_date + timedelta(days=730), True)
    add(plans == 1, ftth, "planned", reference_date + timedelta(days=1460), False)
    out = pd.concat(rows, ignore_index=True)
    out["source"] = "simulation"
    out.attrs["note"] = SIMULATED_NOTE
    out.attrs["simulated"] = True
    return out


def achieved_shares(addresses: pd.DataFrame, supply: pd.DataFrame) -> dict[str, float]:
    """Shares (percent of addresses) the simulation reached, with the same keys as the targets."""
    avail = supply[supply["status"] == "available"]
    n = addresses["address_id"].nunique()

    def share(mask: pd.Series) -> float:
        return round(avail.loc[mask, "address_id"].nunique() / n * 100, 2)

    return {
        "all_30": share(avail.down_mbps >= 30), "all_100": share(avail.down_mbps >= 100),
        "all_1000": share(avail.down_mbps >= 1000),
        "catv_1": share(avail.technology.str.startswith("docsis")),
        "catv_400": share(avail.technology.str.startswith("docsis") & (avail.down_mbps >= 400)),
        "catv_1000": share(avail.technology.str.startswith("docsis") & (avail.down_mbps >= 1000)),
        "ftthb_1000": share(avail.technology.isin(["ftth", "fttb"]) & (avail.down_mbps >= 1000)),
    }
