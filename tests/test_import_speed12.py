"""Session 12, the client side of ``netzatlas import file`` faster: each fast path gives what the path it replaced
gave (the old code is kept here as the reference) on tricky inputs — missing values, blanks, NUL characters, other
whitespace, mixed types, duplicates, 3D and empty geometries — and a file with all of them imports through the CLI
with the same rejects as before."""

from __future__ import annotations

import binascii
import gc

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from netzatlas.registry import validate
from netzatlas.registry.importers.files import read_any
from tests.test_inputs_holdout import _refused, _run, _src

WHITESPACE = [" ", "\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f", "\x85", "\xa0", "\u1680",
              "\u2000", "\u2007", "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000", "\u200b", "\ufeff"]


def _old_stripped_text(raw: pd.Series) -> pd.Series | None:
    """validate._stripped_text before session 12 (numpy's string routines)."""
    if raw.dtype == object or not pd.api.types.is_string_dtype(raw.dtype):
        return None
    present = raw.notna().to_numpy()
    values = raw.to_numpy(dtype=object)[present]
    if "\x00" in "".join(values):
        return None
    text = np.asarray(values, dtype=np.dtypes.StringDType())
    out = np.full(len(raw), None, dtype=object)
    out[present] = np.strings.strip(text).astype(object)
    return pd.Series(out, index=raw.index, dtype=object)


def _old_nul_rows(col: pd.Series) -> pd.Series:
    """The rows validate._nul_characters marked before session 12 (every column tested value by value)."""
    try:
        return col.str.contains("\x00", regex=False, na=False).astype(bool)
    except AttributeError:
        return col.map(lambda v: isinstance(v, str) and "\x00" in v).astype(bool)


def _text_values() -> list:
    pads = [f"{w}x{i}{w}" for i, w in enumerate(WHITESPACE)]
    return [*pads, "", " ", "  a b  ", np.nan, "Königstraße ", "\tx", "x\u00a0", "ß", "日本 ", "a\x00"[:1], "1", "1.0"]


def test_stripped_text_as_numpy_stripped_it():
    """Every kind of whitespace Python and numpy know, blanks and missing values: the same stripped values; a NUL
    anywhere still leaves the column to the slow path (None)."""
    raw = pd.Series(_text_values(), dtype="str")
    new, old = validate._stripped_text(raw), _old_stripped_text(raw)
    assert new is not None and old is not None
    assert new.tolist() == old.tolist()
    assert [type(v) for v in new] == [type(v) for v in old]
    assert validate._stripped_text(pd.Series(["a", None], dtype=object)) is None


def test_stripped_text_with_nul_left_to_the_slow_path():
    """A column with NUL characters (which numpy strips at the end, Python does not) is still left to the slow
    path, pandas' str.strip, with the same ids as before."""
    with_nul = pd.Series(["a", " b\x00 ", "\x00c\x00", None, "  "], dtype="str")
    assert validate._stripped_text(with_nul) is None and _old_stripped_text(with_nul) is None
    reasons = validate._Reasons(with_nul.index)
    ext = validate._external_ids(pd.DataFrame({"external_id": with_nul}), pd.Series(range(2, 7)), reasons)
    assert ext.tolist() == ["a", "b\x00", "\x00c\x00", None, ""]
    assert reasons.series.tolist()[3:] == ["missing external id", "missing external id"]


@pytest.mark.parametrize("values", [
    ["a", "b", np.nan, None, "c"],
    ["a\x00b", "b", np.nan],
    ["a", 1, 2.5, None, b"x\x00", ["l"], "\x00"],
    [1, 2, 3],
    ["a", b"\x00", 7],
    [np.nan, None],
    ["a", "b\x00"],
])
@pytest.mark.parametrize("dtype", [object, "str"])
def test_nul_rows_as_before(values, dtype):
    """Mixed types, bytes, lists, NaN and None, with and without a NUL: the same rows refused as before."""
    try:
        col = pd.Series(values, dtype=dtype)
    except (TypeError, ValueError):
        pytest.skip("not representable in this dtype")
    df = pd.DataFrame({"name": col, validate.ROW_COLUMN: range(1, len(col) + 1)})
    reasons = validate._Reasons(df.index)
    validate._nul_characters(df, reasons)
    if not validate._is_text(col):
        assert reasons.series.isna().all()
        return
    expected = _old_nul_rows(col)
    assert reasons.series.notna().tolist() == expected.tolist()
    assert validate._may_hold_nul(col) or not expected.any()


@pytest.mark.parametrize("ids", [
    ["A", " A", "B", "B ", "C", None, "", "D"],
    ["1", "2", "3", "4"],
    ["x", "y", "x", "x"],
    [" ", "\t", "a"],
])
@pytest.mark.parametrize("dtype", [object, "str"])
def test_external_id_duplicates_as_before(ids, dtype):
    """Ids that are duplicates only once stripped, blanks and missing ids: the same reasons as pandas' duplicated
    gave for every row (the set is only a shortcut for files without duplicates)."""
    df = pd.DataFrame({"external_id": pd.Series(ids, dtype=dtype)})
    rows = pd.Series(np.arange(1, len(df) + 1), index=df.index)
    reasons = validate._Reasons(df.index)
    ext = validate._external_ids(df, rows, reasons)
    present = ext.notna()
    dup = present & ext.duplicated(keep=False)
    expected = pd.Series([None] * len(df), index=df.index, dtype=object)
    blank = ext.isna() | (ext.astype(str).str.strip() == "")
    expected[blank] = "missing external id"
    if dup.any():
        where = rows[dup].groupby(ext[dup]).agg(lambda s: ", ".join(map(str, s)))
        for i in df.index[dup & expected.isna()]:
            expected[i] = f"duplicate external id {ext[i]!r} in this file (rows {where.get(ext[i])})"
    assert reasons.series.where(reasons.series.notna(), None).tolist() == expected.tolist()


def test_point_ewkb_as_geos_writes_it():
    """2D points (negative, huge, tiny, integral coordinates) packed with numpy: the same hex EWKB as GEOS writes;
    3D points, mixed types and empty points go through shapely as before."""
    xs = np.array([0.0, -1.5, 6.08391234, 1e300, -1e-300, 353000.0, 5.7e6])
    points = shapely.points(xs, xs[::-1])
    fast = validate.ewkb_hex(points, 25832)
    assert fast.dtype == object and all(type(v) is str for v in fast)
    assert fast.tolist() == shapely.to_wkb(shapely.set_srid(points, 25832), hex=True, include_srid=True).tolist()
    line = shapely.LineString([(0, 0), (1, 1)])
    for other in (shapely.points([[1.0, 2.0, 3.0]]), np.array([shapely.Point(1, 2), line]),
                  np.array([shapely.Point(1, 2), shapely.Point()])):
        assert validate.ewkb_hex(other, 4326).tolist() == shapely.to_wkb(
            shapely.set_srid(other, 4326), hex=True, include_srid=True).tolist()
    hexed = binascii.hexlify(shapely.to_wkb(shapely.set_srid(points[:1], 25832), include_srid=True)[0]).upper()
    assert fast[0] == hexed.decode()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # (the non-finite point)
def test_check_location_with_given_bounds_as_without():
    """The bounds computed once in _geometries and passed on: the same reasons as check_location computes itself
    (inside, near, far, swapped, missing and non-finite geometries)."""
    from netzatlas.registry.importers.load import municipality_boundary_4326

    boundary = municipality_boundary_4326()
    if boundary is None:
        pytest.skip("no municipality boundary configured")
    c = shapely.centroid(boundary)
    pts = [shapely.Point(c.x, c.y), shapely.Point(c.x + 0.15, c.y), shapely.Point(c.x + 3, c.y),
           shapely.Point(c.y, c.x), None, shapely.Point(), shapely.Point(np.inf, 1.0)]
    gdf = gpd.GeoDataFrame({"a": range(len(pts))}, geometry=pts, crs="EPSG:4326")
    metric = gdf.geometry.to_crs(25832)
    bounds = shapely.bounds(np.asarray(metric.values))
    given = validate.check_location(gdf, boundary, 20_000.0, metric=metric, metric_bounds=bounds)
    own = validate.check_location(gdf, boundary, 20_000.0, metric=metric)
    assert given.tolist() == own.tolist()
    assert given.notna().sum() >= 2


def test_read_any_leaves_the_collector_as_it_was(tmp_path):
    """read_any pauses the garbage collector while it builds the frame, and enables it again — also after a
    refusal; a collector the caller had switched off stays off."""
    ok = tmp_path / "lamps.csv"
    ok.write_text("id;lon;lat\n1;6.08;50.77\n", encoding="utf-8")
    bad = tmp_path / "bad.geojson"
    bad.write_text("<html>nope</html>", encoding="utf-8")
    assert gc.isenabled()
    assert len(read_any(ok)) == 1
    assert gc.isenabled()
    with pytest.raises(Exception):  # noqa: B017, PT011 - any refusal
        read_any(bad)
    assert gc.isenabled()
    gc.disable()
    try:
        read_any(ok)
        assert not gc.isenabled()
    finally:
        gc.enable()


def _tricky_csv(path) -> None:
    rows = ["id;name;lon;lat", "A ;Markt;6.0839;50.7753", " B;Dom;6.0840;50.7754", "C\u00a0;Tor;6.0841;50.7755",
            "D;Ka\x00pelle;6.0842;50.7756", "A;Rathaus;6.0843;50.7757", ";leer;6.0844;50.7758",
            "E;weit;9.5;52.0", "F;Brunnen;6.0845;50.7759"]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def test_tricky_file_refused_with_every_reason(db_url, conn, tmp_path):
    """Ids with surrounding (also non-breaking) spaces, a duplicate once stripped, a missing id, a NUL in a text,
    a point far away: refused naming each row as before; the database unchanged."""
    f = tmp_path / "tricky.csv"
    _tricky_csv(f)
    _refused(conn, ["import", "file", str(f), "--layer", "streetlight", "--source", _src()],
             "5 row(s) rejected",
             "2 │ A │ [streetlight] duplicate external id 'A' in this file (rows 2, 6)",
             "6 │ A │ [streetlight] duplicate external id 'A' in this file (rows 2, 6)",
             "5 │ D │ [streetlight] column name: the text holds a NUL character",
             "7 │ │ [streetlight] missing external id",
             "8 │ E │ [streetlight] lies")


def test_tricky_file_with_skip_invalid_stores_the_rest(db_url, conn, tmp_path):
    """The same file with --skip-invalid: the three good rows stored with their stripped ids and names."""
    f = tmp_path / "tricky.csv"
    _tricky_csv(f)
    source = _src()
    code, out, before, after = _run(conn, ["import", "file", str(f), "--layer", "streetlight", "--source", source,
                                           "--skip-invalid"])
    assert code == 0, out
    assert after["streetlight"] == before["streetlight"] + 3
    rows = conn.execute("SELECT external_id, name FROM registry.streetlight WHERE source = %s ORDER BY external_id",
                        [source]).fetchall()
    conn.rollback()
    assert [(r["external_id"], r["name"]) for r in rows] == [("B", "Dom"), ("C", "Tor"), ("F", "Brunnen")]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_check_location_near_test_as_the_distances(monkeypatch):
    """Points all around the municipality, many close to the allowed distance (20 km ± a few metres): the prepared
    test of the buffered boundary marks the same rows as the exact distances alone."""
    from netzatlas.registry.importers.load import municipality_boundary_4326

    boundary = municipality_boundary_4326()
    if boundary is None:
        pytest.skip("no municipality boundary configured")
    bnd = gpd.GeoSeries([boundary], crs="EPSG:4326").to_crs(25832).iloc[0]
    rng = np.random.default_rng(12)
    edge = shapely.line_interpolate_point(bnd.exterior if hasattr(bnd, "exterior") else shapely.boundary(bnd),
                                          rng.uniform(0, 1, 6_000), normalized=True)
    centre = shapely.centroid(bnd)
    ex, ey = shapely.get_x(edge), shapely.get_y(edge)
    dx, dy = ex - centre.x, ey - centre.y
    norm = np.hypot(dx, dy)
    out = np.concatenate([rng.uniform(19_990, 20_010, 4_000), rng.uniform(0, 40_000, 2_000)])
    pts = shapely.points(ex + dx / norm * out, ey + dy / norm * out)
    gdf = gpd.GeoDataFrame({"a": range(len(pts))}, geometry=pts, crs="EPSG:25832")
    fast = validate.check_location(gdf, boundary, 20_000.0)
    monkeypatch.setattr(validate, "_surely_near", lambda g, b, d: np.zeros(len(g), dtype=bool))
    exact = validate.check_location(gdf, boundary, 20_000.0)
    assert fast.tolist() == exact.tolist()
    assert 0 < fast.notna().sum() < len(gdf)


def test_bulk_steps_switch_numpy_huge_page_advice_off_and_back():
    """gc_paused (reading a file, validating, writing) switches numpy's huge-page advice off (system time spent on
    compacting memory for each large temporary array) and back to what it was once the last bulk step ends, also
    nested and after an error; the collector likewise."""
    from numpy._core.multiarray import _set_madvise_hugepage

    from netzatlas.bulk import gc_paused

    first = _set_madvise_hugepage(True)
    for before in (True, False):
        _set_madvise_hugepage(before)
        try:
            with pytest.raises(RuntimeError), gc_paused():
                assert _set_madvise_hugepage(False) is False and not gc.isenabled()
                with gc_paused():
                    assert _set_madvise_hugepage(False) is False
                assert _set_madvise_hugepage(False) is False
                raise RuntimeError("stop")
            assert _set_madvise_hugepage(before) is before and gc.isenabled()
        finally:
            _set_madvise_hugepage(first)
