"""The 3GPP sector antenna (TR 38.901 Table 7.3-1): horizontal and vertical pattern with azimuth and downtilt,
and received power (RSRP) from EIRP. Sources: DOMAIN.md §4.6–4.7."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from netzatlas.coverage._jit import compiled
from netzatlas.errors import InvalidParameter

Array = npt.NDArray[np.float64]
PHI_3DB, THETA_3DB, A_MAX, SLA_V, G_MAX_DBI = 65.0, 65.0, 30.0, 30.0, 8.0


def check_azimuth(azimuth_deg: float) -> float:
    if not 0 <= azimuth_deg < 360:
        raise InvalidParameter(f"azimuth must be in [0, 360) degrees (compass, clockwise from north), "
                               f"got {azimuth_deg:g}")
    return azimuth_deg


def check_tilt(tilt_deg: float) -> float:
    if not -90 <= tilt_deg <= 90:
        raise InvalidParameter(f"tilt must be within ±90 degrees (positive = down), got {tilt_deg:g}")
    return tilt_deg


def horizontal(phi_deg: Array) -> Array:
    """A_H(φ) = −min(12 (φ/φ3dB)², A_max), φ relative to boresight in [−180, 180]."""
    phi = (np.asarray(phi_deg, dtype=float) + 180) % 360 - 180
    return -np.minimum(12 * (phi / PHI_3DB) ** 2, A_MAX)


def vertical(theta_deg: Array, tilt_deg: float = 0.0) -> Array:
    """A_V(θ) = −min(12 ((θ − 90° − tilt)/θ3dB)², SLA_V); θ is the zenith angle (90° = horizon)."""
    theta = np.asarray(theta_deg, dtype=float)
    return -np.minimum(12 * ((theta - 90 - tilt_deg) / THETA_3DB) ** 2, SLA_V)


def gain(phi_deg: Array, theta_deg: Array, tilt_deg: float = 0.0, g_max: float = G_MAX_DBI) -> Array:
    """G = G_max − min(−(A_H + A_V), A_max) in dBi."""
    return g_max - np.minimum(-(horizontal(phi_deg) + vertical(theta_deg, tilt_deg)), A_MAX)


def angles(dx: Array, dy: Array, dz: Array) -> tuple[Array, Array]:
    """(bearing from north in [0, 360), zenith angle) in degrees towards points at offsets dx (east), dy (north),
    dz (up) from the antenna; the zenith angle is > 90° below the antenna. The same for every sector of a site."""
    bearing = np.degrees(np.arctan2(dx, dy)) % 360
    theta = 90 - np.degrees(np.arctan2(dz, np.hypot(dx, dy)))
    return bearing, theta


def grid_angles(dx: Array, dy: Array, dz: Array, max_distance: float = math.inf) -> tuple[Array, Array, Array]:
    """(horizontal distance, bearing, zenith angle) over a grid whose columns lie at east offsets ``dx`` (1-D) and
    rows at north offsets ``dy`` (1-D) from the antenna, ``dz`` (rows × columns) up: ``angles`` and the distance in
    one compiled pass, without the grids of offsets. Beyond ``max_distance`` the angles are NaN (not computed)."""
    dz = np.ascontiguousarray(dz, dtype=np.float64)
    if dz.shape != (len(dy), len(dx)):
        raise InvalidParameter("dz must have one row per dy and one column per dx")
    d2d, bearing, theta = (np.empty(dz.shape) for _ in range(3))
    _angles_kernel(np.asarray(dx, dtype=np.float64), np.asarray(dy, dtype=np.float64), dz, float(max_distance),
                   d2d, bearing, theta)
    return d2d, bearing, theta


@compiled
def _angles_kernel(dx: Array, dy: Array, dz: Array, max_distance: float, d2d: Array, bearing: Array,
                   theta: Array) -> None:  # pragma: no cover (compiled)
    to_deg = 180.0 / math.pi
    for i in range(dy.size):
        for j in range(dx.size):
            d = math.sqrt(dx[j] * dx[j] + dy[i] * dy[i])
            d2d[i, j] = d
            if d > max_distance:
                bearing[i, j] = theta[i, j] = math.nan
                continue
            b = math.atan2(dx[j], dy[i]) * to_deg
            bearing[i, j] = b + 360.0 if b < 0 else b
            theta[i, j] = 90.0 - math.atan2(dz[i, j], d) * to_deg


def attenuation_at(bearing_deg: Array, theta_deg: Array, azimuth_deg: float, tilt_deg: float) -> Array:
    """Pattern attenuation (dB ≤ 0, relative to boresight) towards the directions of ``angles``."""
    return -np.minimum(-(horizontal(bearing_deg - azimuth_deg) + vertical(theta_deg, tilt_deg)), A_MAX)


def sector_rsrp_window(bearing_deg: Array, theta_deg: Array, path_loss_db: Array, reach: npt.NDArray[np.bool_],
                       azimuth_deg: float, tilt_deg: float, eirp_dbm: float, n_rb: int,
                       nodata: float) -> Array:
    """``rsrp_dbm(eirp, n_rb, path loss, attenuation_at(...))`` where ``reach``, else ``nodata``: the same formulas in
    one compiled pass over a sector's window (the per-sector part of a coverage run)."""
    check_azimuth(azimuth_deg)
    check_tilt(tilt_deg)
    if n_rb <= 0:
        raise InvalidParameter("the number of resource blocks must be positive")
    out = np.empty(np.shape(path_loss_db))
    _rsrp_kernel(np.ravel(bearing_deg), np.ravel(theta_deg), np.ravel(path_loss_db), np.ravel(reach),
                 float(azimuth_deg), float(tilt_deg), eirp_dbm - 10 * math.log10(12 * n_rb), float(nodata),
                 out.reshape(-1))
    return out


@compiled
def _rsrp_kernel(bearing: Array, theta: Array, pl: Array, reach: npt.NDArray[np.bool_], azimuth: float, tilt: float,
                 eirp_re: float, nodata: float, out: Array) -> None:  # pragma: no cover (compiled)
    for i in range(pl.size):
        if not reach[i]:
            out[i] = nodata
            continue
        phi = bearing[i] - azimuth                   # both in [0, 360): one turn brings it to [−180, 180)
        if phi >= 180.0:
            phi -= 360.0
        elif phi < -180.0:
            phi += 360.0
        h = phi / PHI_3DB
        v = (theta[i] - 90 - tilt) / THETA_3DB
        a_h = -min(12 * h * h, A_MAX)
        a_v = -min(12 * v * v, SLA_V)
        out[i] = eirp_re + -min(-(a_h + a_v), A_MAX) - pl[i]


def attenuation(dx: Array, dy: Array, dz: Array, azimuth_deg: float, tilt_deg: float) -> Array:
    """Pattern attenuation (dB ≤ 0, relative to boresight) towards points at offsets dx (east), dy (north),
    dz (up) from the antenna."""
    check_azimuth(azimuth_deg)
    check_tilt(tilt_deg)
    return attenuation_at(*angles(dx, dy, dz), azimuth_deg, tilt_deg)


def rsrp_dbm(eirp_dbm: float, n_rb: int, path_loss_db: Array, pattern_db: Array | float = 0.0,
             other_losses_db: float = 0.0) -> Array:
    """RSRP ≈ EIRP per resource element + pattern − path loss − losses; EIRP_RE = EIRP − 10 log10(12 N_RB).
    ``eirp_dbm`` is the boresight EIRP (transmit power + G_max − cable losses)."""
    if n_rb <= 0:
        raise InvalidParameter("the number of resource blocks must be positive")
    return eirp_dbm - 10 * np.log10(12 * n_rb) + pattern_db - path_loss_db - other_losses_db
