"""Types read the way the file means them (numbers, dates; pandas 2 object and pandas 3 str columns alike), geometry
as delivered (Z/M, multi-part), exact CRS transforms, and the import run's own checks (fingerprints, progress)."""

from __future__ import annotations

from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import MultiPoint, Point

from netzatlas.registry import textvalues as tv
from netzatlas.registry.db import Column, Layer
from netzatlas.registry.importers.load import fingerprint, load_layers
from netzatlas.registry.transforms import describe_transform
from netzatlas.registry.validate import _coerce, prepare

AACHEN = [(6.0839, 50.7753), (6.0901, 50.7761), (6.0952, 50.7702)]


@pytest.mark.parametrize("text,decimal,expected", [
    ("6,0839", None, 6.0839), ("6.0839", None, 6.0839), ("1.234,5", None, 1234.5), ("1,234.5", None, 1234.5),
    ("1.000", ",", 1000.0), ("1.000", ".", 1.0), ("1,000", ",", 1.0), ("1,000", ".", 1000.0),
    ("1.000.000", ",", 1e6), ("1 000", None, 1000.0), ("-0,5", None, -0.5), ("0,500", None, 0.5),
    ("1234,567", None, 1234.567), ("12", ",", 12.0), ("\u22124,5", None, -4.5), ("1e3", None, 1000.0),
])
def test_numbers_read_by_the_decimal_mark(text, decimal, expected):
    assert tv.parse_number(text, decimal) == pytest.approx(expected)


@pytest.mark.parametrize("text,decimal,fragment", [
    ("1.000", None, "ambiguous"), ("1,000", None, "ambiguous"), ("6,5", ".", "decimal comma"),
    ("1.234,5", ".", "decimal mark here is ','"), ("6.08O1", None, "not a number"), ("inf", None, "not a finite"),
    ("1,2,3", None, "not a number"), ("ca. 8", None, "not a number"), ("1.000.000", ".", "not a number"),
])
def test_numbers_that_cannot_be_read_one_way_are_refused(text, decimal, fragment):
    with pytest.raises(tv.ValueProblem, match=fragment):
        tv.parse_number(text, decimal)


def test_units_are_accepted_only_where_they_fit_the_column():
    assert tv.parse_number("22 kW", None, "power_kw") == 22.0
    assert tv.parse_number("1 Gbit/s", None, "down_mbps") == 1000.0
    assert tv.parse_number("8,5 m", None, "height_m") == 8.5
    with pytest.raises(tv.ValueProblem, match="unit 'kW' not accepted"):
        tv.parse_number("22 kW", None, "height_m")


def test_decimal_detection():
    assert tv.detect_decimal(["6,0839", "1.000"]) == ","
    assert tv.detect_decimal(["6.0839", "1,000"]) == "."
    assert tv.detect_decimal(["1.000", "12"]) is None
    assert tv.detect_decimal(["6.08", "6,08"]) is None  # both habits: nothing assumed


@pytest.mark.parametrize("text,expected", [
    ("2021-03-04", date(2021, 3, 4)), ("04.03.2021", date(2021, 3, 4)), ("4.3.21", date(2021, 3, 4)),
    ("4.3.98", date(1998, 3, 4)), ("2021-03-04T10:11:12Z", date(2021, 3, 4)), ("04.03.2021 10:00", date(2021, 3, 4)),
    (pd.Timestamp("2021-03-04"), date(2021, 3, 4)),
])
def test_dates_by_one_explicit_rule(text, expected):
    assert tv.parse_date(text) == expected


@pytest.mark.parametrize("text,fragment", [
    ("12.13.2020", "not a valid date"), ("2021-02-30", "not a valid date"), ("03/04/2021", "ambiguous"),
    ("Q3/2028", "not a date"), ("2028", "not a date"), ("evtl.", "not a date"),
])
def test_impossible_and_ambiguous_dates_are_refused(text, fragment):
    with pytest.raises(tv.ValueProblem, match=fragment):
        tv.parse_date(text)


@pytest.mark.parametrize("dtype", [object, "string", "str"])
def test_decimal_commas_under_pandas_2_and_3_dtypes(dtype):
    """pandas 2 reads CSV text as object, pandas 3 as str: both go through the same parser."""
    s = pd.Series(["6,0", "1.234,5", None, "x"], dtype=dtype)
    values, why = _coerce(s, "float8", ",")
    assert values.iloc[0] == 6.0 and values.iloc[1] == 1234.5 and pd.isna(values.iloc[2])
    assert why.tolist()[:3] == [None, None, None] and why.iloc[3] == "not a number"
    days, why = _coerce(pd.Series(["2021-03-04", "04.03.2021"], dtype=dtype), "date")
    assert days.tolist() == [date(2021, 3, 4)] * 2 and why.isna().all()


def test_large_numeric_columns_are_fast():
    s = pd.Series([f"{6 + i * 1e-6:.6f}" for i in range(200_000)], dtype="str")
    values, why = tv.numbers(s, None)
    assert why.isna().all() and values.iloc[-1] == pytest.approx(6.199999)


LAYER = Layer("streetlight", "registry", (Column("external_id", "text", False, False),
                                          Column("height_m", "float8", True, False),
                                          Column("geom", "geometry", False, False)), "POINT", 25832, "asset")


def test_z_is_dropped_with_a_note_and_single_part_multipoints_become_points():
    gdf = gpd.GeoDataFrame({"external_id": ["a", "b", "c"]},
                           geometry=[Point(6.0839, 50.7753, 180.0), MultiPoint([AACHEN[1]]), MultiPoint(AACHEN[:2])],
                           crs="EPSG:4326")
    prep = prepare(gdf, LAYER, srid=25832)
    assert [r.row for r in prep.rejects] == [3] and "MultiPoint with 2 parts" in prep.rejects[0].reason
    assert len(prep.frame) == 2 and any("heights (Z)" in n for n in prep.notes)
    assert any("EPSG:4326 → EPSG:25832" in n for n in prep.notes)


def test_non_finite_and_out_of_range_coordinates_say_so():
    gdf = gpd.GeoDataFrame({"external_id": ["a", "b"]}, geometry=[Point(np.inf, 50.0), Point(1e308, 50.0)],
                           crs="EPSG:4326")
    reasons = [r.reason for r in prepare(gdf, LAYER, srid=25832).rejects]
    assert "not finite" in reasons[0] and "outside the CRS's range" in reasons[1]
    assert not any("wrong CRS" in r for r in reasons)


def test_gauss_krueger_uses_the_beta2007_grid():
    """Debian's proj-data (scripts/setup.sh) holds BETA2007: the grid-based DHDN → ETRS89 operation is used."""
    how = describe_transform("EPSG:31466", "EPSG:25832", (6.0, 50.7, 6.2, 50.8))
    assert "DHDN to ETRS89 (8)" in how and "0.9 m" in how, how
    x, y = gpd.GeoSeries([Point(2505960.21, 5626652.80)], crs=31466).to_crs(25832).iloc[0].coords[0]
    # GDAL's gdaltransform with Debian's PROJ and the grid: 294407.550 5628892.375 (the Helmert fallback is ~0.5 m off)
    assert abs(x - 294407.550) < 0.01 and abs(y - 5628892.375) < 0.01


def test_fingerprint_is_order_independent():
    a = pd.DataFrame({"external_id": ["1", "2"], "geom": ["AA", "BB"]})
    assert fingerprint(a) == fingerprint(a.iloc[::-1]) != fingerprint(a.assign(geom=["AA", "BC"]))


def test_same_features_under_a_new_source_warn_and_progress_counts_rows(db_url, unique_source):
    ids = [f"{unique_source}-{i}" for i in range(3)]  # features no other test imports
    gdf = gpd.GeoDataFrame({"external_id": ids}, geometry=[Point(p) for p in AACHEN], crs="EPSG:4326")
    calls: list[tuple[str, int, int]] = []
    first = load_layers({"streetlight": gdf}, source=unique_source, kind="test",
                        progress=lambda *a: calls.append(a))
    assert first.warnings == []
    assert ("validating streetlight", 0, 3) in calls and ("writing streetlight", 0, 3) in calls
    assert calls[-1] == ("done", 3, 3)
    again = load_layers({"streetlight": gdf}, source=unique_source, kind="test")
    assert again.warnings == [] and again.changed == 0
    other = load_layers({"streetlight": gdf}, source=unique_source + "-renamed", kind="test")
    assert len(other.warnings) == 1 and f"under source '{unique_source}'" in other.warnings[0]
    assert f"--source {unique_source}" in other.warnings[0]


def test_text_ids_are_stripped_in_numpy_exactly_as_python_strips_them():
    """The fast path for text ids (pandas' str dtype) strips what str.strip strips, keeps blanks blank and missing
    missing, and leaves a value with a NUL character to the Python path."""
    from netzatlas.registry import validate

    values = [" a", None, "b\t", " ", "\u00a0x\u2003", "\u3000y\u3000", "", "z\n", "\u200bq"]
    fast = validate._stripped_text(pd.Series(values, dtype="str"))
    assert fast.tolist() == [None if v is None else v.strip() for v in values]
    assert validate._stripped_text(pd.Series(["a\x00 "], dtype="str")) is None
    assert validate._stripped_text(pd.Series([" a", 1], dtype=object)) is None
    reasons = validate._Reasons(pd.RangeIndex(4))
    ext = validate._external_ids(pd.DataFrame({"external_id": pd.Series([" 7", "", None, "7 "], dtype="str")}),
                                 pd.Series([2, 3, 4, 5]), reasons)
    assert ext.tolist() == ["7", "", None, "7"]
    assert reasons.series.tolist() == ["duplicate external id '7' in this file (rows 2, 5)", "missing external id",
                                       "missing external id", "duplicate external id '7' in this file (rows 2, 5)"]


def test_fingerprint_is_the_one_recorded_by_earlier_releases():
    """The digest is computed without categorising first, but is the same value (fingerprints stored before still
    match the same data)."""
    import hashlib

    frame = pd.DataFrame({"external_id": ["b", "a", "a2"], "geom": ["0101", "0102", "0101"], "height_m": [1, 2, 3]})
    old = np.sort(pd.util.hash_pandas_object(frame[["external_id", "geom"]], index=False).to_numpy())
    assert fingerprint(frame) == hashlib.sha256(old.tobytes()).hexdigest()
    assert fingerprint(frame.iloc[::-1]) == fingerprint(frame)
