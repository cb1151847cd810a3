"""Classification at every threshold edge of every programme; grey vs black; plans; socio-economic rules."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from netzatlas.gigabit.classify import classify
from netzatlas.gigabit.classify_common import horizon_end
from netzatlas.gigabit.programmes import load_programme

REF = date(2026, 11, 26)


def run(programme: str, rows: list[tuple], socio: str | None = None, *, business_area: bool = False,
        ref: date = REF) -> pd.Series:
    """rows: (operator, technology, down, up[, status, planned_date, binding, vorvermarktung]) for one address."""
    supply = pd.DataFrame([
        {"address_id": "a", "operator": r[0], "technology": r[1], "down_mbps": r[2], "up_mbps": r[3],
         "status": r[4] if len(r) > 4 else "available", "planned_date": r[5] if len(r) > 5 else None,
         "binding": r[6] if len(r) > 6 else False, "vorvermarktung": r[7] if len(r) > 7 else False} for r in rows],
        columns=["address_id", "operator", "technology", "down_mbps", "up_mbps", "status", "planned_date", "binding",
                 "vorvermarktung"])
    addresses = pd.DataFrame({"address_id": ["a"], "socio_economic": [socio], "business_area": [business_area]})
    return classify(addresses, supply, load_programme(programme), ref).iloc[0]


@pytest.mark.parametrize("down,eligible", [(29.9, True), (30, False), (30.1, False)])
def test_2015_threshold_30(down, eligible):
    assert run("bund-2015", [("T", "adsl", down, 1)]).eligible == eligible


@pytest.mark.parametrize("down,eligible", [(99.9, True), (100, False)])
def test_rl1_threshold_100(down, eligible):
    assert run("gigabit-rl-1.0-2021", [("T", "fttc_vdsl", down, 40)]).eligible == eligible


@pytest.mark.parametrize("down,up,eligible", [
    (499, 100, True), (500, 10, False),          # 500 down
    (200, 199, True), (200, 200, False),         # 200 symmetric
    (199, 200, True), (300, 150, True),
])
def test_rl2_2023_thresholds(down, up, eligible):
    assert run("gigabit-rl-2.0-2023", [("T", "fttb", down, up)]).eligible == eligible


@pytest.mark.parametrize("down,up,eligible", [(300, 150, False), (299, 150, True), (300, 149, True),
                                              (1000, 50, True), (1000, 150, False)])
def test_rl2_2024_thresholds_300_150(down, up, eligible):
    assert run("gigabit-rl-2.0-2024", [("V", "docsis31", down, up)]).eligible == eligible


def test_one_network_must_meet_both_rates():
    # 300 down from one operator and 150 up from another do not make a 300/150 network
    r = run("gigabit-rl-2.0-2024", [("A", "docsis31", 1000, 50), ("B", "fttc_vdsl", 100, 150)])
    assert r.eligible and r.best_down_mbps == 1000


def test_classes_white_grey_black_gigabit():
    assert run("gigabit-rl-2.0-2024", []).class_de == "weiß"
    assert run("gigabit-rl-2.0-2024", [("T", "adsl", 16, 1)]).class_de == "weiß"          # ADSL is not NGA
    assert run("gigabit-rl-2.0-2024", [("T", "fttc_vdsl", 50, 10)]).class_de == "hellgrau"
    assert run("gigabit-rl-2.0-2024", [("T", "fttc_vdsl", 99.9, 40)]).class_de == "hellgrau"
    dg = run("gigabit-rl-2.0-2024", [("T", "supervectoring", 100, 40)])
    assert (dg.class_de, dg.class_en) == ("dunkelgrau", "dark grey")
    bl = run("gigabit-rl-2.0-2024", [("T", "fttc_vdsl", 100, 40), ("V", "docsis30", 400, 40)])
    assert (bl.class_de, bl.nga_networks) == ("schwarz", 2)
    same_op = run("gigabit-rl-2.0-2024", [("T", "fttc_vdsl", 100, 40), ("T", "supervectoring", 250, 40)])
    assert (same_op.class_de, same_op.nga_networks) == ("dunkelgrau", 1)               # one operator = one network
    assert run("gigabit-rl-2.0-2024", [("N", "ftth", 1000, 1000)]).class_de == "gigabitfähig"
    assert run("gigabit-rl-2.0-2024", [("F", "fwa", 25, 5)]).class_de == "weiß"           # wireless below 30
    assert run("gigabit-rl-2.0-2024", [("F", "fwa", 30, 5)]).class_de == "hellgrau"


def test_plans_inside_and_outside_the_horizon_binding_or_not():
    inside = date(2029, 11, 1)
    outside = date(2030, 2, 1)
    base = [("T", "fttc_vdsl", 50, 10)]
    r = run("gigabit-rl-2.0-2024", base + [("N", "ftth", 1000, 1000, "planned", inside, True)])
    assert not r.eligible and r.binding_plan and "binding plan within 3 years" in r.reason
    assert run("gigabit-rl-2.0-2024", base + [("N", "ftth", 1000, 1000, "planned", outside, True)]).eligible
    assert run("gigabit-rl-2.0-2024", base + [("N", "ftth", 1000, 1000, "planned", inside, False)]).eligible
    # the 2015 programme counted announced (non-binding) plans
    assert not run("bund-2015", [("T", "adsl", 16, 1), ("T", "fttc_vdsl", 50, 10, "planned", inside, False)]).eligible
    # a plan that would not meet the threshold does not count
    assert run("gigabit-rl-2.0-2024", base + [("T", "supervectoring", 250, 40, "planned", inside, True)]).eligible


def test_socio_economic_rules():
    served_100 = [("T", "fttc_vdsl", 100, 40)]
    school = run("gigabit-rl-1.0-2021", served_100, socio="school")
    assert school.eligible and "socio-economic focal point (school): eligible regardless" in school.reason
    assert not run("gigabit-rl-1.0-2021", served_100, socio=None).eligible
    assert not run("gigabit-rl-1.0-2021", [("N", "ftth", 1000, 1000)], socio="school").eligible
    # 2015 programme, Sonderaufrufe from 15.11.2018: schools, hospitals, Gewerbegebiete in GREY areas only
    grey = [("T", "fttc_vdsl", 50, 10)]
    h = run("bund-2015", grey, socio="hospital", ref=date(2019, 6, 1))
    assert h.eligible and h.class_de == "hellgrau" and "grey area (one NGA network, no gigabit)" in h.reason
    assert not run("bund-2015", grey, socio="hospital", ref=date(2018, 6, 1)).eligible      # before the Sonderaufruf
    assert not run("bund-2015", [("V", "docsis31", 1000, 50)], socio="hospital", ref=date(2019, 6, 1)).eligible
    assert not run("bund-2015", [("N", "fttb", 1000, 500)], socio="hospital", ref=date(2019, 6, 1)).eligible
    black = grey + [("V", "docsis30", 200, 20)]
    assert not run("bund-2015", black, socio="school", ref=date(2019, 6, 1)).eligible      # two NGA networks
    # RL 2.0: no special rule
    assert not run("gigabit-rl-2.0-2024", [("N", "fttb", 1000, 500)], socio="school").eligible


def test_reasons_read_well():
    assert run("gigabit-rl-2.0-2024", []).reason == "no NGA network; no binding plan within 3 years"
    r = run("gigabit-rl-2.0-2024", [("T", "fttc_vdsl", 100, 40)])
    assert r.reason == ("best 100/40 Mbit/s (fttc_vdsl) below 300 Mbit/s down and 150 up; "
                        "no binding plan within 3 years")
    r = run("gigabit-rl-2.0-2023", [("T", "fttb", 200, 200)])
    assert r.reason == "served: 200/200 Mbit/s (fttb) meets 500 Mbit/s down or 200 Mbit/s symmetric"


def test_programmes_as_data():
    from netzatlas.gigabit.programmes import list_programmes, load_programme, shipped

    assert len(shipped()) == 4 and len(list_programmes()) == 4
    p = load_programme("gigabit-rl-2.0-2024")
    assert p.horizon_years == 3 and p.served_if[0].down_mbps == 300 and p.sources
    from netzatlas.errors import NotFound

    with pytest.raises(NotFound, match="shipped"):
        load_programme("foo")


def test_business_counts_only_in_a_gewerbegebiet_rule_or_hint():
    grey = [("T", "fttc_vdsl", 50, 10)]
    on = date(2019, 6, 1)
    # bund-2015: a rule — a shop outside a Gewerbegebiet is not a focal point, one inside is
    assert not run("bund-2015", grey, socio="business", ref=on).eligible
    inside = run("bund-2015", grey, socio="business", business_area=True, ref=on)
    assert inside.eligible and "hint" not in inside.reason
    # RL 1.0 ("alle Unternehmen"): a hint — it counts, and the reason says to check it
    served = [("T", "fttc_vdsl", 100, 40)]
    r = run("gigabit-rl-1.0-2021", served, socio="business", ref=date(2022, 1, 1))
    assert r.eligible and r.reason.endswith("(hint: business outside any Gewerbegebiet, check)")
    r = run("gigabit-rl-1.0-2021", served, socio="business", business_area=True, ref=date(2022, 1, 1))
    assert r.eligible and "hint" not in r.reason
    assert run("gigabit-rl-1.0-2021", served, socio="transport_hub", ref=date(2022, 1, 1)).eligible


@pytest.mark.parametrize("technology", ["fttc_vdsl", "docsis30", "fttb", "lte"])
def test_nga_needs_30_mbit_down_for_every_technology(technology):
    slow = run("gigabit-rl-2.0-2024", [("T", technology, 16, 1)])
    assert (slow.class_de, slow.nga_networks) == ("weiß", 0)          # VDSL 16 is not NGA
    assert run("gigabit-rl-2.0-2024", [("T", technology, 30, 5)]).class_de == "hellgrau"


def test_overdue_plans_are_flagged_and_do_not_count():
    base = [("T", "fttc_vdsl", 50, 10)]
    past = date(2026, 6, 30)  # before REF
    r = run("gigabit-rl-2.0-2024", base + [("N", "ftth", 1000, 1000, "planned", past, True)])
    assert r.eligible and r.overdue_plan and not r.binding_plan
    assert "plan overdue (milestone 2026-06-30 passed): not counted" in r.reason
    on_time = run("gigabit-rl-2.0-2024", base + [("N", "ftth", 1000, 1000, "planned", REF, True)])
    assert not on_time.eligible and not on_time.overdue_plan


def test_pre_marketing_is_kept_and_shown():
    base = [("T", "fttc_vdsl", 50, 10)]
    r = run("gigabit-rl-2.0-2024", base + [("N", "ftth", 1000, 1000, "planned", date(2028, 1, 1), True, True)])
    assert r.pre_marketing and not r.eligible and r.reason.endswith("; plan in pre-marketing (Vorvermarktung)")
    # shown also where the plan does not count (not binding): the coordinator sees it
    r = run("gigabit-rl-2.0-2024", base + [("N", "ftth", 1000, 1000, "planned", date(2028, 1, 1), False, True)])
    assert r.pre_marketing and r.eligible
    assert not run("gigabit-rl-2.0-2024", base).pre_marketing


def test_validity_warning():
    p = load_programme("bund-2015")
    assert "outside the validity of bund-2015" in p.validity_warning(date(2025, 6, 1))
    assert p.validity_warning(date(2019, 1, 1)) is None
    assert load_programme("gigabit-rl-2.0-2024").validity_warning(date(2025, 6, 1)) is None
    assert load_programme("gigabit-rl-2.0-2024").validity_warning(date(2024, 1, 1)) is not None


@pytest.mark.parametrize("ref", [date(2024, 2, 29), date(2023, 12, 31), date(2026, 11, 26), date(2025, 1, 1)])
@pytest.mark.parametrize("years", [0, 0.5, 1, 1.25, 2, 2.5, 3, 3.75])
def test_horizon_end_without_pandas_equals_the_calendar_offset(ref, years):
    """``classify_common.horizon_end`` (datetime only, so the SQL path loads no pandas) equals pandas' calendar
    arithmetic: whole years (29 February to 28 February), then days for the fraction."""
    whole = int(years)
    want = (pd.Timestamp(ref) + pd.DateOffset(years=whole, days=round(365.25 * (years - whole)))).date()
    assert horizon_end(ref, years) == want
