"""Default radio parameters for sites whose sectors the registry does not know (the OSM masts of the demo). Every
use is flagged as assumed in the outputs. Sources: DOMAIN.md §4.7 (3GPP link-budget defaults: 46 dBm BS power,
UMa 25 m / UMi 10 m heights), §4.9 (small cells on lighting poles at 8–10 m, UMi)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SiteDefaults:
    height_m: float
    azimuths_deg: tuple[float, ...]
    tilt_deg: float
    eirp_dbm: float          # boresight EIRP: 46 dBm transmit + 17 dBi panel − 2 dB feeder (macro)
    frequency_mhz: float
    technology: str
    n_rb: int
    max_radius_m: float


MACRO = SiteDefaults(height_m=30.0, azimuths_deg=(0.0, 120.0, 240.0), tilt_deg=6.0, eirp_dbm=61.0,
                     frequency_mhz=1800.0, technology="LTE", n_rb=100, max_radius_m=2000.0)
SMALL_CELL = SiteDefaults(height_m=8.0, azimuths_deg=(0.0, 120.0, 240.0), tilt_deg=10.0, eirp_dbm=37.0,
                          frequency_mhz=3600.0, technology="NR", n_rb=273, max_radius_m=400.0)
