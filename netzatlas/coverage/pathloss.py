"""Path loss: 3GPP TR 38.901 (Table 7.4.1-1) UMa, UMi street canyon and RMa, LOS and NLOS, with their validity
ranges and LOS probabilities (Table 7.4.2-1), and COST-231 Hata. Vectorised over distance arrays.

Units: distances and heights in metres, frequency in GHz (38.901) or MHz (Hata). Outside a model's validity range
the functions refuse (``strict=True``, InvalidParameter) or warn (``ValidityWarning``) and clip the distance to the
range — they never silently extrapolate. Sources: DOMAIN.md §4.1–4.5 (TR 38.901 via ns-3; Hata/COST-231).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from netzatlas.errors import InvalidParameter

C = 3.0e8
Array = npt.NDArray[np.float64]


class ValidityWarning(UserWarning):
    """A model was used outside its validity range (results are clipped to the range)."""


@dataclass(frozen=True)
class Validity:
    fc_ghz: tuple[float, float]
    h_bs: tuple[float, float]
    h_ut: tuple[float, float]
    d2d_los: tuple[float, float]
    d2d_nlos: tuple[float, float]


VALIDITY = {
    "UMa": Validity((0.5, 100.0), (10.0, 150.0), (1.5, 22.5), (10.0, 5000.0), (10.0, 5000.0)),
    "UMi": Validity((0.5, 100.0), (3.0, 35.0), (1.5, 22.5), (10.0, 5000.0), (10.0, 5000.0)),
    "RMa": Validity((0.5, 30.0), (10.0, 150.0), (1.0, 10.0), (10.0, 10000.0), (10.0, 5000.0)),
}
# 38.901 states hBS = 25 m (UMa) and 10 m (UMi) as the scenario values; we accept a band around them and say so.


def _arr(d: float | Array) -> Array:
    a = np.atleast_1d(np.asarray(d, dtype=float))
    if (a < 0).any() or not np.isfinite(a).all():
        raise InvalidParameter("distances must be finite and >= 0")
    return a


def _check(model: str, fc: float, h_bs: float, h_ut: float, d2d: Array, los: bool, strict: bool) -> Array:
    v = VALIDITY[model]
    for name, value, (lo, hi), unit in (("frequency", fc, v.fc_ghz, "GHz"), ("base-station height", h_bs, v.h_bs, "m"),
                                        ("terminal height", h_ut, v.h_ut, "m")):
        if value <= 0:
            raise InvalidParameter(f"{name} must be positive, got {value}")
        if not lo <= value <= hi:
            msg = f"{model}: {name} {value:g} {unit} outside the model's range {lo:g}–{hi:g} {unit}"
            if strict:
                raise InvalidParameter(msg, hint="choose another model (see pathloss.pick_model)")
            warnings.warn(msg, ValidityWarning, stacklevel=3)
    lo, hi = v.d2d_los if los else v.d2d_nlos
    out = (d2d < lo) | (d2d > hi)
    if out.any():
        msg = f"{model} {'LOS' if los else 'NLOS'}: {int(out.sum())} distance(s) outside {lo:g}–{hi:g} m"
        if strict:
            raise InvalidParameter(msg, hint="clip the area or use strict=False (distances are clipped then)")
        warnings.warn(msg + " (clipped to the range)", ValidityWarning, stacklevel=3)
    return np.clip(d2d, lo, hi)


def d3d(d2d: Array, h_bs: float, h_ut: float) -> Array:
    return np.sqrt(d2d ** 2 + (h_bs - h_ut) ** 2)


def breakpoint_prime(h_bs: float, h_ut: float, fc_ghz: float, h_e: float = 1.0) -> float:
    """d'BP = 4 (hBS − hE)(hUT − hE) fc / c (UMa, UMi; hE = 1 m)."""
    return 4 * (h_bs - h_e) * (h_ut - h_e) * fc_ghz * 1e9 / C


def _urban(model: str, d: Array, fc_ghz: float, h_bs: float, h_ut: float) -> tuple[Array, Array]:
    """UMa or UMi path loss, (LOS, NLOS), for distances already checked: one logarithm of d3D for both."""
    lg = np.log10(d3d(d, h_bs, h_ut))
    lf = 20 * np.log10(fc_ghz)
    dbp = breakpoint_prime(h_bs, h_ut, fc_ghz)
    if model == "UMa":
        pl1 = 28.0 + 22 * lg + lf
        pl2 = 28.0 + 40 * lg + lf - 9 * np.log10(dbp ** 2 + (h_bs - h_ut) ** 2)
        nlos = 13.54 + 39.08 * lg + lf - 0.6 * (h_ut - 1.5)
    else:
        pl1 = 32.4 + 21 * lg + lf
        pl2 = 32.4 + 40 * lg + lf - 9.5 * np.log10(dbp ** 2 + (h_bs - h_ut) ** 2)
        nlos = 35.3 * lg + 22.4 + 21.3 * np.log10(fc_ghz) - 0.3 * (h_ut - 1.5)
    pl_los = np.where(d <= dbp, pl1, pl2)
    return pl_los, np.maximum(pl_los, nlos)


def uma(d2d: float | Array, fc_ghz: float, h_bs: float = 25.0, h_ut: float = 1.5, los: bool = True,
        strict: bool = True) -> Array:
    d = _check("UMa", fc_ghz, h_bs, h_ut, _arr(d2d), los, strict)
    return _urban("UMa", d, fc_ghz, h_bs, h_ut)[0 if los else 1]


def umi(d2d: float | Array, fc_ghz: float, h_bs: float = 10.0, h_ut: float = 1.5, los: bool = True,
        strict: bool = True) -> Array:
    d = _check("UMi", fc_ghz, h_bs, h_ut, _arr(d2d), los, strict)
    return _urban("UMi", d, fc_ghz, h_bs, h_ut)[0 if los else 1]


def rma(d2d: float | Array, fc_ghz: float, h_bs: float = 35.0, h_ut: float = 1.5, los: bool = True,
        h: float = 5.0, w: float = 20.0, strict: bool = True) -> Array:
    d = _check("RMa", fc_ghz, h_bs, h_ut, _arr(d2d), los, strict)
    d3 = d3d(d, h_bs, h_ut)
    dbp = 2 * np.pi * h_bs * h_ut * fc_ghz * 1e9 / C

    def pl1(x: Array) -> Array:
        return (20 * np.log10(40 * np.pi * x * fc_ghz / 3) + min(0.03 * h ** 1.72, 10) * np.log10(x)
                - min(0.044 * h ** 1.72, 14.77) + 0.002 * np.log10(h) * x)

    pl_los = np.where(d <= dbp, pl1(d3), pl1(np.asarray(dbp)) + 40 * np.log10(d3 / dbp))
    if los:
        return pl_los
    nlos = (161.04 - 7.1 * np.log10(w) + 7.5 * np.log10(h) - (24.37 - 3.7 * (h / h_bs) ** 2) * np.log10(h_bs)
            + (43.42 - 3.1 * np.log10(h_bs)) * (np.log10(d3) - 3) + 20 * np.log10(fc_ghz)
            - (3.2 * np.log10(11.75 * h_ut) ** 2 - 4.97))
    return np.maximum(pl_los, nlos)


def los_probability(model: str, d2d: float | Array, h_ut: float = 1.5) -> Array:
    d = _arr(d2d)
    if model == "RMa":
        return np.where(d <= 10, 1.0, np.exp(-(d - 10) / 1000))
    ds = np.maximum(d, 1e-9)
    if model == "UMi":
        return np.where(d <= 18, 1.0, 18 / ds + np.exp(-ds / 36) * (1 - 18 / ds))
    if model == "UMa":
        c = 0.0 if h_ut <= 13 else ((h_ut - 13) / 10) ** 1.5
        p = (18 / ds + np.exp(-ds / 63) * (1 - 18 / ds)) * (1 + c * 5 / 4 * (ds / 100) ** 3 * np.exp(-ds / 150))
        return np.where(d <= 18, 1.0, p)
    raise InvalidParameter(f"unknown model {model!r}", hint="UMa, UMi or RMa")


def cost231_hata(d_km: float | Array, f_mhz: float, h_b: float, h_m: float = 1.5, metropolitan: bool = False,
                 strict: bool = True) -> Array:
    """COST-231 Hata, medium/small city a(hm); Cm 3 dB for metropolitan centres. Valid 1500–2000 MHz,
    hb 30–200 m, hm 1–10 m, d 1–20 km."""
    d = _arr(d_km)
    problems = []
    if not 1500 <= f_mhz <= 2000:
        problems.append(f"frequency {f_mhz:g} MHz outside 1500–2000 MHz")
    if not 30 <= h_b <= 200:
        problems.append(f"base-station height {h_b:g} m outside 30–200 m")
    if not 1 <= h_m <= 10:
        problems.append(f"terminal height {h_m:g} m outside 1–10 m")
    if ((d < 1) | (d > 20)).any():
        problems.append("distances outside 1–20 km")
    if problems:
        msg = "COST-231 Hata: " + "; ".join(problems)
        if strict:
            raise InvalidParameter(msg, hint="use TR 38.901 (UMa/UMi/RMa) instead")
        warnings.warn(msg + " (distances clipped)", ValidityWarning, stacklevel=2)
        d = np.clip(d, 1, 20)
    a_hm = (1.1 * np.log10(f_mhz) - 0.7) * h_m - (1.56 * np.log10(f_mhz) - 0.8)
    cm = 3.0 if metropolitan else 0.0
    return (46.3 + 33.9 * np.log10(f_mhz) - 13.82 * np.log10(h_b) - a_hm
            + (44.9 - 6.55 * np.log10(h_b)) * np.log10(d) + cm)


MODELS = {"UMa": uma, "UMi": umi, "RMa": rma}


def pick_model(environment: str, fc_ghz: float, h_bs: float) -> str:
    """The 38.901 scenario for an environment (urban/rural) and a mast: small cells below 15 m → UMi."""
    if fc_ghz <= 0 or not 0.5 <= fc_ghz <= 100:
        raise InvalidParameter(f"frequency {fc_ghz:g} GHz is outside every model (0.5–100 GHz)")
    if h_bs <= 0:
        raise InvalidParameter(f"antenna height must be positive, got {h_bs:g} m")
    if environment == "rural":
        return "RMa"
    return "UMi" if h_bs < 15 else "UMa"


def path_loss(model: str, d2d: float | Array, fc_ghz: float, h_bs: float, h_ut: float = 1.5,
              los: bool | npt.NDArray[np.bool_] | None = None, strict: bool = False) -> Array:
    """Path loss for an actual LOS mask (``los`` array), a fixed condition, or (``None``) the expected value
    weighted by the LOS probability."""
    if model not in MODELS:
        raise InvalidParameter(f"unknown model {model!r}", hint="UMa, UMi or RMa")
    f = MODELS[model]
    d = _arr(d2d)
    with warnings.catch_warnings():
        if not strict:
            warnings.simplefilter("ignore", ValidityWarning)  # distances below 10 m / beyond range are clipped
        v = VALIDITY[model]
        if model in ("UMa", "UMi") and v.d2d_los == v.d2d_nlos:    # one pass for both conditions
            pl_los, pl_nlos = _urban(model, _check(model, fc_ghz, h_bs, h_ut, d, True, strict), fc_ghz, h_bs, h_ut)
        else:
            pl_los = f(d, fc_ghz, h_bs=h_bs, h_ut=h_ut, los=True, strict=strict)
            pl_nlos = f(d, fc_ghz, h_bs=h_bs, h_ut=h_ut, los=False, strict=strict)
    if los is None:
        p = los_probability(model, d, h_ut)
        return -10 * np.log10(p * 10 ** (-pl_los / 10) + (1 - p) * 10 ** (-pl_nlos / 10))
    if isinstance(los, (bool, np.bool_)):
        return pl_los if los else pl_nlos
    return np.where(np.asarray(los, dtype=bool), pl_los, pl_nlos)


# ---------------------------------------------------------------- outdoor-to-indoor (TR 38.901 § 7.4.3)
#: the mean indoor distance: d2D-in is the minimum of two U(0, 25 m) draws for UMa/UMi → E = 25/3 m
MEAN_INDOOR_DISTANCE_M = 25.0 / 3.0
#: share of high-loss buildings (IRR glass) assumed where the city does not know its building stock (the 20 %
#: high-loss / 80 % low-loss mix of the 3GPP UMa/UMi calibration); configurable
HIGH_LOSS_SHARE = 0.2


def o2i_loss_db(fc_ghz: float, model: str = "low", d_in_m: float = MEAN_INDOOR_DISTANCE_M) -> float:
    """Building-entry loss of TR 38.901 § 7.4.3 (median, without its standard deviation) + indoor loss 0.5·d_in.

    low-loss:  PL_tw = 5 − 10·log10(0.3·10^(−L_glass/10) + 0.7·10^(−L_concrete/10))
    high-loss: PL_tw = 5 − 10·log10(0.7·10^(−L_IRRglass/10) + 0.3·10^(−L_concrete/10))
    with L_glass = 2 + 0.2·fc, L_IRRglass = 23 + 0.3·fc, L_concrete = 5 + 4·fc (fc in GHz)."""
    if fc_ghz <= 0:
        raise InvalidParameter("the frequency must be positive")
    if d_in_m < 0:
        raise InvalidParameter("the indoor distance must be >= 0")
    l_conc = 5 + 4 * fc_ghz
    if model == "low":
        tw = 5 - 10 * np.log10(0.3 * 10 ** (-(2 + 0.2 * fc_ghz) / 10) + 0.7 * 10 ** (-l_conc / 10))
    elif model == "high":
        tw = 5 - 10 * np.log10(0.7 * 10 ** (-(23 + 0.3 * fc_ghz) / 10) + 0.3 * 10 ** (-l_conc / 10))
    else:
        raise InvalidParameter(f"unknown O2I model {model!r}", hint="'low' or 'high' (TR 38.901 § 7.4.3)")
    return float(tw + 0.5 * d_in_m)
