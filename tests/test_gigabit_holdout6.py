"""Holdout 6: the funding decision as a Projektträger reviews it (issue #12) — the rules at their boundaries (exactly
30 Mbit/s, 300/150, a plan due on the reference date, the horizon's last day, a programme's first and last valid
day, the 2015 Sonderaufruf's first day, businesses in and outside a Gewerbegebiet), the funding areas (exactly at
the split size, named by district and streets, numbers that add up across report, GeoPackage, CSV and API, a second
run replacing the first), snapshots chosen by name and date, the CSV's German numbers, the report's escaping of
street names, the GeoPackage as GDAL reads it. Each case through the CLI or HTTP on a registry of its own (scratch
databases with addresses, roads and supply built for the case) or the Aachen demo registry."""

from __future__ import annotations

import csv
import io
import re
import subprocess
from collections.abc import Iterator
from datetime import date, timedelta

import pyogrio
import pytest

from netzatlas.gigabit.classify_common import horizon_end
from tests.conftest import auth
from tests.test_gigabit_holdout import _flat, _one, _refused, base, new_registry, use  # noqa: F401 - ``base``: the module fixture
from tests.test_gigabit_journey import _cli

REF = date(2026, 11, 26)
_URLS: dict[str, str] = {}
_DBS: list[str] = []


# ------------------------------------------------------------------------------------------------ scratch registries
def _scratch(name: str, build) -> str:  # noqa: ANN001 - build(url) fills the registry
    """A fresh, migrated database per name (``new_registry``), built once per module run (dropped at the module's
    end)."""
    if name not in _URLS:
        url, db = new_registry(f"netzatlas_h6_{name}")
        _DBS.append(db)
        build(url)
        _URLS[name] = url
    return _URLS[name]


@pytest.fixture(scope="module", autouse=True)
def _drop_scratch_databases() -> Iterator[None]:
    """The scratch databases go at the module's end (a CI cluster keeps no leftovers)."""
    yield
    from tests.conftest import _cluster

    while _DBS:
        _cluster().drop_database(_DBS.pop())
    _URLS.clear()


def _row(url: str, query: str, params: list | None = None) -> list[dict]:
    from netzatlas.registry.db import connect

    with connect(url) as c:
        return list(c.execute(query, params or []).fetchall())


def _street(name: str, lat: float, n: int, lon0: float = 6.0800, **extra) -> tuple:  # noqa: ANN003
    """``n`` addresses 4.5 m north of a straight road ``name`` along ``lat``, 21 m apart (numbers 1..n)."""
    import geopandas as gpd
    from shapely.geometry import LineString, Point

    pts = [Point(lon0 + i * 0.0003, lat + 0.00004) for i in range(n)]
    addrs = gpd.GeoDataFrame({"external_id": [f"{name}-{i + 1}" for i in range(n)], "street": name,
                              "house_number": [str(i + 1) for i in range(n)], "postcode": "52066",
                              "city": "Aachen", **extra}, geometry=pts, crs=4326)
    road = gpd.GeoDataFrame({"external_id": [f"road-{name}"], "highway": ["residential"], "name": [name]},
                            geometry=[LineString([(lon0 - 0.0005, lat), (lon0 + n * 0.0003 + 0.0005, lat)])],
                            crs=4326)
    return addrs, road


BACH = "Am <Bach> & Mühle"


def _build_areas(url: str) -> None:
    """Three groups without roads between them: Lindenweg (12 addresses, 2 dwellings each, one business, district
    Burtscheid), the street ``BACH`` (6, district Frankenberg, dwellings known for one: 3) and Einzelhof (3: too
    small for an area). No supply: every address is a white spot."""
    import pandas as pd

    from netzatlas.registry.importers.load import load_layers

    a1, r1 = _street("Lindenweg", 50.7700, 12, dwellings=2, is_business=[i == 3 for i in range(12)],
                     **{"addr:suburb": "Burtscheid"})
    a2, r2 = _street(BACH, 50.7740, 6, dwellings=[3, None, None, None, None, None], **{"addr:suburb": "Frankenberg"})
    a3, r3 = _street("Einzelhof", 50.7780, 3)
    load_layers({"fibre_address": pd.concat([a1, a2, a3], ignore_index=True),
                 "road": pd.concat([r1, r2, r3], ignore_index=True)}, source="h6-areas", kind="test", url=url)


# one address per case on "Randweg": (socio_economic, business_area, supply rows)
_R = {
    "vdsl30": (None, False, [("Telekom", "fttc_vdsl", 30, 5)]),
    "vdsl29": (None, False, [("Telekom", "fttc_vdsl", 29.999, 5)]),
    "lte30": (None, False, [("Vodafone", "lte", 30, 10)]),
    "cable16": (None, False, [("Vodafone", "docsis30", 16, 1)]),
    "c300_150": (None, False, [("Vodafone", "docsis31", 300, 150)]),
    "c300_149": (None, False, [("Vodafone", "docsis31", 300, 149.999)]),
    "plan_today": (None, False, [("Telekom", "fttc_vdsl", 50, 10), ("Telekom", "ftth", 1000, 1000, "today")]),
    "plan_yesterday": (None, False, [("Telekom", "fttc_vdsl", 50, 10), ("Telekom", "ftth", 1000, 1000, "yesterday")]),
    "plan_horizon": (None, False, [("Telekom", "fttc_vdsl", 50, 10), ("Telekom", "ftth", 1000, 1000, "horizon")]),
    "plan_after": (None, False, [("Telekom", "fttc_vdsl", 50, 10), ("Telekom", "ftth", 1000, 1000, "after")]),
    "premarketing": (None, False, [("Telekom", "fttc_vdsl", 50, 10), ("DG", "ftth", 1000, 1000, "premkt")]),
    "school_grey": ("school", False, [("Telekom", "fttc_vdsl", 50, 10)]),
    "school_black": ("school", False, [("Telekom", "fttc_vdsl", 50, 10), ("Vodafone", "docsis30", 100, 10)]),
    "business_in": ("business", True, [("Telekom", "supervectoring", 250, 40)]),
    "business_out": ("business", False, [("Telekom", "supervectoring", 250, 40)]),
    "slow_plan": (None, False, [("Telekom", "fttc_vdsl", 16.5, 2.5), ("Telekom", "supervectoring", 250.5, 40.5,
                                                                        "plan")]),
    "cable1000": (None, False, [("Vodafone", "docsis31", 1000, 50)]),
}


def _plan_date(kind: str) -> date:
    return {"today": REF, "yesterday": REF - timedelta(days=1), "horizon": horizon_end(REF, 3),
            "after": horizon_end(REF, 3) + timedelta(days=1), "premkt": REF + timedelta(days=365),
            "plan": REF + timedelta(days=200)}[kind]


def _build_rules(url: str) -> None:
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry import Point

    from netzatlas.registry import gigabit_store
    from netzatlas.registry.importers.load import load_layers

    names = list(_R)
    addrs = gpd.GeoDataFrame({"external_id": names, "street": "Randweg",
                              "house_number": [str(i + 1) for i in range(len(names))], "postcode": "52066",
                              "city": "Aachen", "socio_economic": [_R[n][0] for n in names],
                              "is_business": [_R[n][0] == "business" for n in names],
                              "business_area": [_R[n][1] for n in names]},
                             geometry=[Point(6.0800 + i * 0.0003, 50.7600) for i in range(len(names))], crs=4326)
    load_layers({"fibre_address": addrs}, source="h6-rules", kind="test", url=url)
    ids = {r["external_id"]: r["id"] for r in _row(url, "SELECT external_id, id::text AS id FROM "
                                                        "registry.fibre_address")}
    rows = []
    for n in names:
        for op, tech, down, up, *plan in _R[n][2]:
            rows.append({"address_id": ids[n], "operator": op, "technology": tech, "down_mbps": down, "up_mbps": up,
                         "status": "planned" if plan else "available",
                         "planned_date": _plan_date(plan[0]) if plan else None,
                         "binding": bool(plan) and plan[0] != "premkt", "vorvermarktung": plan == ["premkt"]})
    gigabit_store.write_supply(pd.DataFrame(rows), source="h6-supply", url=url)


@pytest.fixture(scope="module")
def rules(aachen_loaded) -> str:
    return _scratch("rules", _build_rules)


@pytest.fixture(scope="module")
def areas_reg(aachen_loaded) -> str:
    return _scratch("areas", _build_areas)


def _classified(url: str, snap: str) -> dict[str, dict]:
    return {r["external_id"]: r for r in _row(
        url, "SELECT a.external_id, c.* FROM registry.gigabit_classification c JOIN registry.fibre_address a "
             "ON a.id = c.address_id WHERE c.snapshot_id = %s", [snap])}


def _csv(path) -> tuple[list[str], list[list[str]]]:  # noqa: ANN001
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig")), delimiter=";"))
    return rows[0], rows[1:]


# ------------------------------------------------------------------------------------------------ 1. the rules
def test_exactly_30_mbit_is_nga_and_served_under_2015_for_wired_and_wireless(rules):
    with use(rules):
        r = _cli("classify", "--programme", "bund-2015", "--date", "2019-06-01", "--snapshot", "r-2015")
        assert r.exit_code == 0, r.output
    c = _classified(rules, "r-2015")
    assert (c["vdsl30"]["class_de"], c["vdsl30"]["eligible"], c["vdsl30"]["nga_networks"]) == ("hellgrau", False, 1)
    assert c["vdsl30"]["reason"].startswith("served: 30/5 Mbit/s (fttc_vdsl) meets 30 Mbit/s down")
    assert (c["lte30"]["class_de"], c["lte30"]["eligible"], c["lte30"]["nga_networks"]) == ("hellgrau", False, 1)
    for below in ("vdsl29", "cable16"):  # a line below 30 Mbit/s is no NGA network, whatever its technology
        assert (c[below]["class_de"], c[below]["eligible"], c[below]["nga_networks"]) == ("weiß", True, 0), below
        assert "no NGA network" in c[below]["reason"]


def test_300_150_at_peak_is_served_and_a_kbit_less_upload_is_not(rules):
    with use(rules):
        assert _cli("classify", "--date", REF.isoformat(), "--snapshot", "r-2024").exit_code == 0
    c = _classified(rules, "r-2024")
    assert c["c300_150"]["eligible"] is False and c["c300_150"]["class_de"] == "dunkelgrau"
    assert c["c300_149"]["eligible"] is True
    assert "below 300 Mbit/s down and 150 up" in c["c300_149"]["reason"]
    # DOCSIS 3.1 at 1000/50 is gigabit-capable but does not meet 300/150: eligible, and says why
    assert (c["cable1000"]["class_de"], c["cable1000"]["eligible"]) == ("gigabitfähig", True)


def test_a_plan_due_today_counts_one_due_yesterday_is_overdue_and_the_horizon_ends_on_its_day(rules, tmp_path):
    with use(rules):
        assert _cli("classify", "--date", REF.isoformat(), "--snapshot", "r-plans").exit_code == 0
        rep = _cli("report", "--snapshot", "r-plans", "--out", str(tmp_path))
        assert rep.exit_code == 0, rep.output
    c = _classified(rules, "r-plans")
    assert (c["plan_today"]["eligible"], c["plan_today"]["overdue_plan"], c["plan_today"]["binding_plan"]) == \
        (False, False, True)
    assert (c["plan_yesterday"]["eligible"], c["plan_yesterday"]["overdue_plan"]) == (True, True)
    assert f"plan overdue (milestone {REF - timedelta(days=1)} passed): not counted" in c["plan_yesterday"]["reason"]
    assert (c["plan_horizon"]["eligible"], c["plan_after"]["eligible"]) == (False, True)
    header, body = _csv(tmp_path / "eligible_addresses.csv")
    by_no = {r[header.index("Hausnummer / house number")]: r for r in body}
    numbers = {n: str(i + 1) for i, n in enumerate(_R)}
    assert numbers["plan_today"] not in by_no and numbers["plan_horizon"] not in by_no
    assert by_no[numbers["plan_yesterday"]][header.index("Planung überfällig / plan overdue")] == "ja"
    assert by_no[numbers["plan_after"]][header.index("Planung überfällig / plan overdue")] == "nein"
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert re.search(r"<td>hellgrau / light grey</td>(<td>[\d.]+</td>){2}<td>1</td>", page)  # one overdue plan


def test_pre_marketing_is_kept_in_the_snapshot_csv_and_report(rules, tmp_path):
    with use(rules):
        assert _cli("classify", "--date", REF.isoformat(), "--snapshot", "r-premkt").exit_code == 0
        assert _cli("report", "--snapshot", "r-premkt", "--out", str(tmp_path)).exit_code == 0
    c = _classified(rules, "r-premkt")
    assert c["premarketing"]["pre_marketing"] is True and c["premarketing"]["eligible"] is True
    assert "Vorvermarktung" in c["premarketing"]["reason"]
    assert sum(r["pre_marketing"] for r in c.values()) == 1
    header, body = _csv(tmp_path / "eligible_addresses.csv")
    col = header.index("Vorvermarktung / pre-marketing")
    assert [r[col] for r in body].count("ja") == 1
    assert "Vorvermarktung / pre-marketing" in (tmp_path / "report.html").read_text(encoding="utf-8")


def test_2015_schools_from_the_sonderaufruf_day_businesses_only_in_a_gewerbegebiet(rules):
    with use(rules):
        for d in ("2018-11-14", "2018-11-15"):
            assert _cli("classify", "--programme", "bund-2015", "--date", d, "--snapshot", f"r-{d}").exit_code == 0
    before, on = _classified(rules, "r-2018-11-14"), _classified(rules, "r-2018-11-15")
    assert (before["school_grey"]["eligible"], on["school_grey"]["eligible"]) == (False, True)
    assert "socio-economic focal point (school): grey area" in on["school_grey"]["reason"]
    assert on["school_black"]["eligible"] is False          # grey only: two NGA networks are black
    assert (before["business_in"]["eligible"], on["business_in"]["eligible"]) == (False, True)
    assert on["business_out"]["eligible"] is False          # 2015: only inside a Gewerbegebiet (rule)


def test_2021_every_business_counts_and_one_outside_a_gewerbegebiet_is_flagged(rules):
    with use(rules):
        r = _cli("classify", "--programme", "gigabit-rl-1.0-2021", "--date", "2022-06-01", "--snapshot", "r-2021")
        assert r.exit_code == 0 and "outside the validity" not in _flat(r)
    c = _classified(rules, "r-2021")
    assert c["business_out"]["eligible"] is True and "hint: business outside any Gewerbegebiet" in \
        c["business_out"]["reason"]
    assert c["business_in"]["eligible"] is True and "hint" not in c["business_in"]["reason"]


@pytest.mark.parametrize("programme,day,warns", [
    ("gigabit-rl-2.0-2023", "2023-04-02", True), ("gigabit-rl-2.0-2023", "2023-04-03", False),
    ("gigabit-rl-2.0-2023", "2024-04-29", False), ("gigabit-rl-2.0-2023", "30.04.2024", True),
    ("gigabit-rl-2.0-2024", "2024-04-30", False), ("bund-2015", "2021-04-25", False),
    ("bund-2015", "2021-04-26", True)])
def test_a_programmes_first_and_last_valid_day_do_not_warn_the_day_outside_does(rules, tmp_path, programme, day,
                                                                                 warns):
    snap = f"r-valid-{programme}-{day}"
    with use(rules):
        r = _cli("classify", "--programme", programme, "--date", day, "--snapshot", snap)
        assert r.exit_code == 0, r.output
        assert ("outside the validity" in _flat(r)) is warns
        stored = _row(rules, "SELECT warning FROM registry.gigabit_snapshot WHERE id = %s", [snap])[0]["warning"]
        assert (stored is not None) is warns
        rep = _cli("report", "--snapshot", snap, "--out", str(tmp_path))
        assert rep.exit_code == 0 and ("outside the validity" in _flat(rep)) is warns
        assert ("outside the validity" in (tmp_path / "report.html").read_text(encoding="utf-8")) is warns


def test_api_warns_the_day_after_the_last_valid_day_only(base, client, api_keys):  # noqa: F811
    h = auth(api_keys["analyst"])
    last = client.post("/processes/gigabit-classify/execution", headers=h, json={"inputs": {
        "programme": "gigabit-rl-2.0-2023", "reference_date": "2024-04-29", "snapshot": "h6-api-last"}})
    after = client.post("/processes/gigabit-classify/execution", headers=h, json={"inputs": {
        "programme": "gigabit-rl-2.0-2023", "reference_date": "2024-04-30", "snapshot": "h6-api-after"}})
    assert last.status_code == after.status_code == 200, (last.text, after.text)
    assert last.json()["warnings"] == []
    assert len(after.json()["warnings"]) == 1 and "2023-04-03 – 2024-04-29" in after.json()["warnings"][0]


def test_api_funding_areas_of_a_snapshot_outside_its_programme_warn_and_state_the_routing(base, client,  # noqa: F811
                                                                                          api_keys):
    h = auth(api_keys["analyst"])
    assert client.post("/processes/gigabit-classify/execution", headers=h, json={"inputs": {
        "programme": "gigabit-rl-2.0-2023", "reference_date": "2024-04-30", "snapshot": "h6-api-outside"}}
                       ).status_code == 200
    r = client.post("/processes/gigabit-funding-areas/execution", headers=h, json={"inputs": {
        "snapshot": "h6-api-outside", "link_distance_m": 150, "min_addresses": 5, "max_addresses": 400,
        "eur_per_m": 100, "eur_per_connection": 800}})
    assert r.status_code == 200, r.text
    assert r.json()["assumptions"].get("method") == "along the roads"
    assert any("outside the validity" in w for w in r.json().get("warnings", []))


def test_programme_rules_carry_their_sources_and_the_listing_states_them():
    import yaml

    from netzatlas.gigabit.programmes import DIR

    for f in sorted(DIR.glob("*.yaml")):
        data = yaml.safe_load(f.read_text(encoding="utf-8"))
        assert data["sources"] and all(re.search(r"\[(verified|secondary)\]$", s) for s in data["sources"]), f.name
        se = data.get("socio_economic", {})
        if se.get("rule", "same") != "same":
            assert re.search(r"\[(verified|secondary)\]$", se["source"]), f.name
        assert data["nga_min_down_mbps"] == 30, f.name
    r = _cli("programmes")
    assert r.exit_code == 0
    text = _flat(r)
    assert "(from 2018-11-15); business only in a Gewerbegebiet" in text
    assert "a business outside a Gewerbegebiet counts, flagged" in text
    assert "[secondary]" not in text and "[verified]" not in text


# ------------------------------------------------------------------------------------------------ 2. the CSV
def test_csv_numbers_in_german_excel_format(rules, tmp_path):
    with use(rules):
        assert _cli("classify", "--date", REF.isoformat(), "--snapshot", "r-csv").exit_code == 0
        assert _cli("report", "--snapshot", "r-csv", "--out", str(tmp_path)).exit_code == 0
    header, body = _csv(tmp_path / "eligible_addresses.csv")
    no = header.index("Hausnummer / house number")
    numbers = {n: str(i + 1) for i, n in enumerate(_R)}
    row = {r[no]: r for r in body}
    slow = row[numbers["slow_plan"]]
    assert slow[header.index("Download heute (Mbit/s) / download today")] == "16,5"
    assert slow[header.index("Upload heute (Mbit/s) / upload today")] == "2,5"
    assert slow[header.index("geplant Download (Mbit/s) / planned download")] == "250,5"
    assert slow[header.index("geplant Upload (Mbit/s) / planned upload")] == "40,5"
    # a binding plan below the thresholds is named as such (it used to read "no binding plan within 3 years" beside
    # its own planned rates and date), and the flag says what it means
    assert slow[header.index("Begründung / reason")] == (
        "no NGA network; binding plan within 3 years below 300 Mbit/s down and 150 up: 250.5/40.5 Mbit/s "
        "(supervectoring) by 2027-06-14")
    assert slow[header.index("Planung erreicht die Schwelle / plan meets the threshold")] == "nein"
    assert row[numbers["c300_149"]][header.index("Upload heute (Mbit/s) / upload today")] == "149,999"
    down = row[numbers["cable1000"]][header.index("Download heute (Mbit/s) / download today")]
    assert float(down.replace(".", "").replace(",", ".")) == 1000  # German Excel reads 1000 / 1.000 / 1000,0 alike
    numeric = [header.index(h) for h in header if "Mbit/s" in h or "WGS84" in h or h.startswith("NGA-Netze")]
    for r in body:  # never an English decimal point in a number cell (Excel would read 16.5 as a date or 165)
        for i in numeric:
            assert not re.fullmatch(r"-?\d+\.\d+", r[i]), (header[i], r[i])
    # sorted by street and house number as a number (2 before 10)
    nos = [int(r[no]) for r in body]
    assert nos == sorted(nos)
    # the pure path (files) words every reason as the database did
    from netzatlas.gigabit.classify import classify
    from netzatlas.gigabit.classify_sql import compare_results
    from netzatlas.gigabit.programmes import load_programme
    from netzatlas.registry import gigabit_store
    from netzatlas.registry.db import connect

    with connect(rules) as c:
        addrs, supply = gigabit_store.read_addresses(c), gigabit_store.read_supply(c)
        stored = gigabit_store.read_snapshot(c, "r-csv")
    pure = classify(addrs, supply, load_programme("gigabit-rl-2.0-2024"), REF)
    assert compare_results(pure, stored).empty


# ------------------------------------------------------------------------------------------------ 3. funding areas
def _report(url: str, out, *args: str):  # noqa: ANN001, ANN202
    with use(url):
        r = _cli("report", "--snapshot", "a-base", "--out", str(out), *args)
    assert r.exit_code == 0, r.output
    return r


@pytest.fixture(scope="module")
def areas_snap(areas_reg) -> str:
    with use(areas_reg):
        assert _cli("classify", "--date", REF.isoformat(), "--snapshot", "a-base").exit_code == 0
    return areas_reg


def test_areas_named_by_district_and_main_streets_with_counts_and_costs(areas_snap, tmp_path):
    _report(areas_snap, tmp_path)
    areas = pyogrio.read_dataframe(tmp_path / "gigabit.gpkg", layer="funding_areas", read_geometry=False)
    by = {r["main_streets"]: r for r in areas.to_dict("records")}
    assert set(by) == {"Lindenweg", BACH}
    lw = by["Lindenweg"]
    assert (lw["name"], lw["district"]) == ("Burtscheid, Lindenweg", "Burtscheid")
    assert by[BACH]["name"] == f"Frankenberg, {BACH}"
    # an address whose dwellings are not recorded counts as one, as in an area where none is (it counted 0: 3)
    assert by[BACH]["dwellings"] == 3 + 5
    assert (lw["addresses"], lw["dwellings"], lw["businesses"], lw["schools"], lw["hospitals"]) == (12, 24, 1, 0, 0)
    for a in areas.to_dict("records"):
        assert a["trench_m"] == pytest.approx(a["street_m"] + a["lead_in_m"], abs=0.11)
        assert a["lead_in_m"] == pytest.approx(4.45 * a["addresses"], rel=0.05)
        assert a["cost_eur"] == pytest.approx(a["trench_m"] * 100 + a["addresses"] * 800, abs=11)
        assert a["cost_per_connection_eur"] == pytest.approx(a["cost_eur"] / a["addresses"], abs=1)
    # 11 road gaps of 21 m join the twelve Lindenweg addresses
    assert lw["street_m"] == pytest.approx(11 * 21.1, rel=0.05)
    assert list(areas.sort_values("cost_per_connection_eur")["rank"]) == [1, 2]


def test_numbers_add_up_across_database_report_geopackage_csv_and_api(areas_snap, tmp_path):
    _report(areas_snap, tmp_path)
    eligible = _row(areas_snap, "SELECT count(*) AS n FROM registry.gigabit_classification WHERE snapshot_id = "
                                "'a-base' AND eligible")[0]["n"]
    assert eligible == 21
    areas = pyogrio.read_dataframe(tmp_path / "gigabit.gpkg", layer="funding_areas", read_geometry=False)
    addrs = pyogrio.read_dataframe(tmp_path / "gigabit.gpkg", layer="addresses", read_geometry=False)
    _, body = _csv(tmp_path / "eligible_addresses.csv")
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert int(addrs["eligible"].sum()) == len(body) == eligible
    assert int(areas["addresses"].sum()) == 18
    assert "eligible addresses in no area (groups too small): 3" in page
    assert "Fördergebiete / funding areas (2)" in page
    for a in areas.to_dict("records"):  # each area's row in the page, numbers in German
        cost = f"{int(a['cost_eur']):,}".replace(",", ".")
        assert re.search(rf"<td>{a['rank']}</td><td>[^<]*</td><td>{a['addresses']}</td>.*?<td>{re.escape(cost)}</td>",
                         page), a
    # the API's funding areas of the same snapshot with the same assumptions: the same areas
    from fastapi.testclient import TestClient

    from netzatlas.api.app import create_app

    with use(areas_snap):
        with TestClient(create_app(areas_snap)) as c2:
            keys = _api_keys(areas_snap)
            r = c2.post("/processes/gigabit-funding-areas/execution", headers=auth(keys), json={"inputs": {
                "snapshot": "a-base", "link_distance_m": 150, "min_addresses": 5, "eur_per_m": 100,
                "eur_per_connection": 800}})
            assert r.status_code == 200, r.text
            res = r.json()
            assert res["areas"] == 2 and res["unassigned_addresses"] == 3
            api = sorted((f["properties"]["addresses"], f["properties"]["cost_eur"])
                         for f in res["funding_areas"]["features"])
            assert api == sorted(zip(areas["addresses"], areas["cost_eur"], strict=True))
            items = c2.get(res["collection"] + "&limit=100", headers=auth(keys)).json()["features"]
            assert sorted(f["properties"]["cost_eur"] for f in items) == sorted(areas["cost_eur"])


def _api_keys(url: str) -> str:
    from netzatlas.api.auth import create_key
    from netzatlas.registry.db import connect

    with connect(url) as c:
        key = create_key(c, "city", ["read", "write:gigabit_result", "write:funding_area_result"], "h6-analyst")
        c.commit()
    return key


def test_an_area_exactly_at_the_split_size_stays_whole_one_more_is_split_along_the_road(areas_snap, tmp_path):
    _report(areas_snap, tmp_path / "12", "--max-addresses", "12")
    whole = pyogrio.read_dataframe(tmp_path / "12" / "gigabit.gpkg", layer="funding_areas", read_geometry=False)
    assert sorted(whole["addresses"]) == [6, 12]
    _report(areas_snap, tmp_path / "11", "--max-addresses", "11")
    split = pyogrio.read_dataframe(tmp_path / "11" / "gigabit.gpkg", layer="funding_areas", read_geometry=False)
    lw = split[split["main_streets"] == "Lindenweg"]
    assert len(lw) == 2 and (lw["addresses"] <= 11).all()
    # the split loses no eligible address: both pieces are areas (none below the smallest size of 5)
    assert int(lw["addresses"].sum()) == 12, list(lw["addresses"])
    page = (tmp_path / "11" / "report.html").read_text(encoding="utf-8")
    assert "eligible addresses in no area (groups too small): 3" in page


def test_an_area_exactly_at_the_cost_limit_stays_whole(areas_snap, tmp_path):
    _report(areas_snap, tmp_path / "free")
    free = pyogrio.read_dataframe(tmp_path / "free" / "gigabit.gpkg", layer="funding_areas", read_geometry=False)
    cost = float(free.loc[free["main_streets"] == "Lindenweg", "cost_eur"].iloc[0])  # as the report prints it
    _report(areas_snap, tmp_path / "at", "--max-cost", f"{cost:.0f}")
    at = pyogrio.read_dataframe(tmp_path / "at" / "gigabit.gpkg", layer="funding_areas", read_geometry=False)
    assert sorted(at["addresses"]) == [6, 12] and (at["cost_eur"] <= cost).all()
    _report(areas_snap, tmp_path / "below", "--max-cost", f"{cost - 100:.0f}")
    below = pyogrio.read_dataframe(tmp_path / "below" / "gigabit.gpkg", layer="funding_areas", read_geometry=False)
    lw = below[below["main_streets"] == "Lindenweg"]
    assert sorted(lw["addresses"]) == [6, 6] and (lw["cost_eur"] <= cost - 100).all()


def _build_block(url: str) -> None:
    """A block of flats: 21 address points on one spot beside one road, no supply."""
    import geopandas as gpd
    from shapely.geometry import Point

    from netzatlas.registry.importers.load import load_layers

    _, road = _street("Hochhausring", 50.7700, 3)
    addrs = gpd.GeoDataFrame({"external_id": [f"B{i}" for i in range(21)], "street": "Hochhausring",
                              "house_number": "1", "house_number_suffix": [chr(97 + i) for i in range(21)],
                              "postcode": "52066", "city": "Aachen"},
                             geometry=[Point(6.0803, 50.77004)] * 21, crs=4326)
    load_layers({"fibre_address": addrs, "road": road}, source="h6-block", kind="test", url=url)


def test_a_block_above_the_largest_area_is_cut_into_equal_areas_none_left_out(aachen_loaded, tmp_path):
    url = _scratch("block", _build_block)
    with use(url):
        assert _cli("classify", "--date", REF.isoformat(), "--snapshot", "block").exit_code == 0
        r = _cli("report", "--snapshot", "block", "--out", str(tmp_path), "--max-addresses", "10")
        assert r.exit_code == 0, r.output
    areas = pyogrio.read_dataframe(tmp_path / "gigabit.gpkg", layer="funding_areas", read_geometry=False)
    # 10 + 10 + a lone flat below the smallest area (5) before: one eligible address in no area
    assert sorted(areas["addresses"]) == [7, 7, 7]
    assert "eligible addresses in no area (groups too small): 0" in (tmp_path / "report.html").read_text(
        encoding="utf-8")


def test_a_second_funding_run_replaces_the_first_and_reclassifying_removes_it(areas_snap):
    from fastapi.testclient import TestClient

    from netzatlas.api.app import create_app

    with TestClient(create_app(areas_snap)) as c:
        h = auth(_api_keys(areas_snap))
        body = {"snapshot": "a-base", "link_distance_m": 150, "min_addresses": 5, "eur_per_m": 100,
                "eur_per_connection": 800}
        assert c.post("/processes/gigabit-funding-areas/execution", headers=h, json={"inputs": body}).json()[
            "areas"] == 2
        second = c.post("/processes/gigabit-funding-areas/execution", headers=h,
                        json={"inputs": {**body, "min_addresses": 3, "eur_per_m": 90}})
        assert second.status_code == 200 and second.json()["areas"] == 3
        rows = _row(areas_snap, "SELECT count(*) AS n, sum(addresses) AS a, min(eur_per_m) AS lo, max(eur_per_m) AS "
                                "hi FROM registry.funding_area WHERE snapshot_id = 'a-base'")[0]
        assert (rows["n"], rows["a"], rows["lo"], rows["hi"]) == (3, 21, 90, 90)
        with use(areas_snap):
            r = _cli("classify", "--date", REF.isoformat(), "--snapshot", "a-base")
        assert r.exit_code == 0 and "its funding areas removed" in _flat(r)
        assert _row(areas_snap, "SELECT count(*) AS n FROM registry.funding_area WHERE snapshot_id = 'a-base'"
                    )[0]["n"] == 0
        assert _row(areas_snap, "SELECT count(*) AS n FROM registry.gigabit_classification WHERE snapshot_id = "
                                "'a-base'")[0]["n"] == 21


def test_street_names_with_angle_brackets_and_ampersand_are_escaped_in_the_report(areas_snap, tmp_path):
    _report(areas_snap, tmp_path)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Frankenberg, Am &lt;Bach&gt; &amp; Mühle" in page
    assert "<Bach>" not in page and "& Mühle" not in page
    map_page = (tmp_path / "map.html").read_text(encoding="utf-8")
    assert "<Bach>" not in map_page
    # the CSV and the GeoPackage keep the name as written
    header, body = _csv(tmp_path / "eligible_addresses.csv")
    assert BACH in {r[header.index("Straße / street")] for r in body}


def test_geopackage_as_gdal_reads_it_fields_crs_and_assumptions(areas_snap, tmp_path):
    _report(areas_snap, tmp_path, "--max-cost", "50.000,5")
    gpkg = str(tmp_path / "gigabit.gpkg")
    listing = subprocess.run(["ogrinfo", "-ro", "-q", gpkg], capture_output=True, text=True, check=True).stdout
    for layer in ("addresses", "funding_areas", "cells_100m", "assumptions"):
        assert layer in listing, listing
    info = _ogrinfo("-so", gpkg, "funding_areas")
    assert "Geometry: Multi Polygon" in info and re.search(r"Feature Count: [2-9]", info)
    assert "ETRS89 / UTM zone 32N" in info and 'ID["EPSG",25832]' in info
    fields = dict(re.findall(r"^(\w+): (\w+) \(", info, re.M))
    for name, kind in {"name": "String", "district": "String", "main_streets": "String", "addresses": "Integer",
                       "dwellings": "Real", "trench_m": "Real", "cost_eur": "Real",
                       "cost_per_connection_eur": "Real", "rank": "Integer", "eur_per_m": "Real",
                       "max_cost_eur": "Real"}.items():
        assert fields.get(name, "").startswith(kind), (name, fields.get(name))
    rows = _ogrinfo("-q", "-al", gpkg, "assumptions")
    assert "value (String) = 50000.5" in rows and "Tiefbau je Trassenmeter" in rows
    addr = _ogrinfo("-so", gpkg, "addresses")
    assert "Feature Count: 21" in addr and 'ID["EPSG",25832]' in addr
    types = dict(re.findall(r"^(\w+): (\w+)", addr, re.M))
    assert {"eligible", "class_de", "reason", "street"} <= set(types)
    # rates are numbers for GIS even where no address has any supply (they were String fields then)
    assert [types[c] for c in ("best_down_mbps", "best_up_mbps", "planned_down_mbps", "planned_up_mbps")] == \
        ["Real"] * 4


def _ogrinfo(*args: str) -> str:
    """ogrinfo's output; a warning (e.g. a GeoPackage version this GDAL only partly supports) fails the case."""
    r = subprocess.run(["ogrinfo", "-ro", *args], capture_output=True, text=True, check=True)
    assert "Warning" not in r.stderr and "ERROR" not in r.stderr, r.stderr
    return r.stdout


def test_the_report_states_how_trenches_were_routed(rules, areas_snap, tmp_path):
    with use(rules):  # the rules registry has no roads: straight lines between the addresses stand in
        assert _cli("classify", "--date", REF.isoformat(), "--snapshot", "r-noroads").exit_code == 0
        r = _cli("report", "--snapshot", "r-noroads", "--out", str(tmp_path / "none"), "--min-addresses", "2")
        assert r.exit_code == 0, r.output
    page = (tmp_path / "none" / "report.html").read_text(encoding="utf-8")
    assert "Luftlinie zwischen den Adressen (das Register enthält keine Straßen) / straight lines between " \
           "addresses (the registry has no roads)" in page
    kept = pyogrio.read_dataframe(tmp_path / "none" / "gigabit.gpkg", layer="assumptions", read_geometry=False)
    assert kept.set_index("parameter").loc["method", "value"] == "straight lines between addresses (the registry " \
                                                                 "has no roads)"
    _report(areas_snap, tmp_path / "roads")
    page = (tmp_path / "roads" / "report.html").read_text(encoding="utf-8")
    assert "entlang der Straßen / along the roads" in page and "Luftlinie" not in page
    assert "nicht erfasst: 1 je Adresse" in page and "not recorded: 1 per address" in page


def test_every_funding_area_is_listed_with_a_total(base, conn, tmp_path):  # noqa: F811
    out = tmp_path / "many"
    r = _cli("report", "--snapshot", "holdout-base", "--out", str(out), "--max-addresses", "40")
    assert r.exit_code == 0, r.output
    areas = pyogrio.read_dataframe(out / "gigabit.gpkg", layer="funding_areas", read_geometry=False)
    assert len(areas) > 40  # the page listed the first 40 and said nothing of the rest
    page = (out / "report.html").read_text(encoding="utf-8")
    section = page[page.index("<h2>Fördergebiete / funding areas"):page.index("<h2>Je Postleitzahl")]
    table = section[section.index("<table class='t'>"):]
    rows = re.findall(r"<tr>(.*?)</tr>", table[table.index("<tbody>"):])
    assert len(rows) == len(areas) + 1
    total = re.findall(r"<td>([^<]*)</td>", rows[-1])
    assert total[1] == "Summe / total"

    def german(v: float) -> str:
        return f"{round(v):,}".replace(",", ".")

    assert total[2] == german(areas["addresses"].sum()) and total[3] == german(areas["dwellings"].sum())
    assert total[10] == german(areas["cost_eur"].sum())
    assert total[11] == german(areas["cost_eur"].sum() / areas["addresses"].sum())


# ------------------------------------------------------------------------------------------------ 4. snapshots
def test_a_snapshot_chosen_by_name_with_its_date_in_german_form(areas_snap, tmp_path):
    with use(areas_snap):
        assert _cli("classify", "--programme", "gigabit-rl-2.0-2023", "--date", "2024-01-15", "--snapshot",
                    "a-older").exit_code == 0
        assert _cli("classify", "--date", REF.isoformat(), "--snapshot", "a-newer").exit_code == 0
        r = _cli("report", "--snapshot", "a-older", "--date", "15.01.2024", "--out", str(tmp_path))
        assert r.exit_code == 0, r.output
        assert "snapshot 'a-older' (gigabit-rl-2.0-2023, reference date 2024-01-15)" in _flat(r)
        page = (tmp_path / "report.html").read_text(encoding="utf-8")
        assert "<td>a-older</td>" in page and "Gigabit-Richtlinie des Bundes 2.0 (31.03.2023)" in page
        assert "<td>15.01.2024</td>" in page   # the Stichtag as German dates read (as "erstellt am")
        who = _row(areas_snap, "SELECT created_by, created_at FROM registry.gigabit_snapshot WHERE id = 'a-older'")[0]
        if who["created_by"]:
            assert f"<td>{who['created_by']}</td>" in page
        assert f"<td>{who['created_at'].astimezone():%d.%m.%Y %H:%M}</td>" in page or \
            f"<td>{who['created_at']:%d.%m.%Y %H:%M}</td>" in page
        _refused(_cli("report", "--snapshot", "a-older", "--date", "16.01.2024", "--out", str(tmp_path / "x")),
                 "has the reference date 2024-01-15")
        assert not (tmp_path / "x").exists()
        newest = _cli("report", "--out", str(tmp_path / "n"))
        assert newest.exit_code == 0 and "snapshot 'a-newer'" in _flat(newest)
