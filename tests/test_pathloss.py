"""Path loss against values computed by hand from the TR 38.901 / COST-231 formulas (0.01 dB)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from netzatlas.coverage import pathloss as pl
from netzatlas.errors import InvalidParameter


def d3(d, hb, hu):
    return math.sqrt(d * d + (hb - hu) ** 2)


@pytest.mark.parametrize("d,fc,hb,hu", [(100, 3.5, 25, 1.5), (400, 1.8, 25, 1.5), (1200, 0.8, 25, 1.5),
                                        (3000, 3.5, 25, 1.5)])
def test_uma_by_hand(d, fc, hb, hu):
    x = d3(d, hb, hu)
    dbp = 4 * (hb - 1) * (hu - 1) * fc * 1e9 / 3e8
    los = 28 + 22 * math.log10(x) + 20 * math.log10(fc) if d <= dbp else \
        28 + 40 * math.log10(x) + 20 * math.log10(fc) - 9 * math.log10(dbp ** 2 + (hb - hu) ** 2)
    nlos = max(los, 13.54 + 39.08 * math.log10(x) + 20 * math.log10(fc) - 0.6 * (hu - 1.5))
    assert pl.uma(d, fc, hb, hu, los=True)[0] == pytest.approx(los, abs=0.01)
    assert pl.uma(d, fc, hb, hu, los=False)[0] == pytest.approx(nlos, abs=0.01)


@pytest.mark.parametrize("d,fc,hb,hu", [(50, 3.5, 10, 1.5), (250, 2.6, 10, 1.5), (800, 3.5, 10, 1.5)])
def test_umi_by_hand(d, fc, hb, hu):
    x = d3(d, hb, hu)
    dbp = 4 * (hb - 1) * (hu - 1) * fc * 1e9 / 3e8
    los = 32.4 + 21 * math.log10(x) + 20 * math.log10(fc) if d <= dbp else \
        32.4 + 40 * math.log10(x) + 20 * math.log10(fc) - 9.5 * math.log10(dbp ** 2 + (hb - hu) ** 2)
    nlos = max(los, 35.3 * math.log10(x) + 22.4 + 21.3 * math.log10(fc) - 0.3 * (hu - 1.5))
    assert pl.umi(d, fc, hb, hu, los=True)[0] == pytest.approx(los, abs=0.01)
    assert pl.umi(d, fc, hb, hu, los=False)[0] == pytest.approx(nlos, abs=0.01)


@pytest.mark.parametrize("d,fc,hb,hu", [(500, 0.8, 35, 1.5), (4000, 1.8, 35, 1.5)])
def test_rma_by_hand(d, fc, hb, hu):
    h, w = 5.0, 20.0
    x = d3(d, hb, hu)
    dbp = 2 * math.pi * hb * hu * fc * 1e9 / 3e8

    def pl1(v):
        return (20 * math.log10(40 * math.pi * v * fc / 3) + min(0.03 * h ** 1.72, 10) * math.log10(v)
                - min(0.044 * h ** 1.72, 14.77) + 0.002 * math.log10(h) * v)
    los = pl1(x) if d <= dbp else pl1(dbp) + 40 * math.log10(x / dbp)
    nlos = (161.04 - 7.1 * math.log10(w) + 7.5 * math.log10(h) - (24.37 - 3.7 * (h / hb) ** 2) * math.log10(hb)
            + (43.42 - 3.1 * math.log10(hb)) * (math.log10(x) - 3) + 20 * math.log10(fc)
            - (3.2 * math.log10(11.75 * hu) ** 2 - 4.97))
    assert pl.rma(d, fc, hb, hu, los=True)[0] == pytest.approx(los, abs=0.01)
    assert pl.rma(d, fc, hb, hu, los=False)[0] == pytest.approx(max(los, nlos), abs=0.01)


def test_cost231_by_hand():
    f, hb, hm, d = 1800.0, 35.0, 1.5, 2.0
    a = (1.1 * math.log10(f) - 0.7) * hm - (1.56 * math.log10(f) - 0.8)
    exp = 46.3 + 33.9 * math.log10(f) - 13.82 * math.log10(hb) - a + (44.9 - 6.55 * math.log10(hb)) * math.log10(d)
    assert pl.cost231_hata(d, f, hb, hm)[0] == pytest.approx(exp, abs=0.01)
    assert pl.cost231_hata(d, f, hb, hm, metropolitan=True)[0] == pytest.approx(exp + 3, abs=0.01)


@pytest.mark.parametrize("fn", [pl.uma, pl.umi, pl.rma])
def test_monotonic_in_distance(fn):
    d = np.linspace(10, 4900, 500)
    for los in (True, False):
        v = fn(d, 1.8, los=los)
        assert (np.diff(v) >= -1e-9).all()


def test_los_probability():
    assert pl.los_probability("UMi", [10, 18])[0] == 1.0
    assert pl.los_probability("UMi", 100)[0] == pytest.approx(18 / 100 + math.exp(-100 / 36) * (1 - 18 / 100))
    assert pl.los_probability("RMa", 1010)[0] == pytest.approx(math.exp(-1))


def test_validity_refused_or_warned():
    with pytest.raises(InvalidParameter, match="frequency"):
        pl.uma(100, 200.0)                                  # 200 GHz: outside every model
    with pytest.raises(InvalidParameter, match="outside"):
        pl.uma(6000, 3.5)                                   # beyond 5 km
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        v = pl.uma(6000, 3.5, strict=False)
    assert any(issubclass(x.category, pl.ValidityWarning) for x in w)
    assert v[0] == pytest.approx(pl.uma(5000, 3.5)[0])      # clipped, not extrapolated
    with pytest.raises(InvalidParameter):
        pl.cost231_hata(2, 3500, 35)                         # Hata is not valid at 3.5 GHz
    with pytest.raises(InvalidParameter, match="positive"):
        pl.uma(100, 3.5, h_bs=-5)
    with pytest.raises(InvalidParameter, match="outside every model"):
        pl.pick_model("urban", 150.0, 25)
    with pytest.raises(InvalidParameter, match=">= 0"):
        pl.uma(-1, 3.5)
