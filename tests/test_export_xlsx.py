"""`netzatlas export LAYER FILE.xlsx`, opened the way the city's colleagues open it: with Excel (read here with
openpyxl, which reads the cells' stored types as Excel does).

Charging points with what real data has (ids with leading zeros, text Excel would run as a formula, text with
``;``/quotes/newlines/tabs/umlauts/emoji, a control character, NULL beside empty text, NaN, booleans, arrays, JSON)
are exported through the CLI; every cell must be what the registry holds, text as text, numbers as numbers."""

from __future__ import annotations

import json
import math
import uuid

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from tests import test_export_holdout

cli = test_export_holdout.cli  # the CLI runner fixture

NAME = 'a;b "q"\nzweite\ttab Straße 😀'


@pytest.fixture(scope="module")
def chargers(db_url):
    """Four charging points of their own source; removed afterwards."""
    from netzatlas.registry.db import connect

    src = f"xlsx-{uuid.uuid4().hex[:8]}"
    pt = "ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), 4326), 25832)"
    rows = [  # external_id, name, operator, charge_points, power_kw, properties, publish, facilities, lon, lat
        ("007", NAME, '=HYPERLINK("http://x")', 2, 22.125, '{"ü": "ö", "n": [1, 2]}', True, ["PARKING_LOT", "CAFE"],
         6.0839, 50.7753),
        ("008", "", "+49 241 123", 0, 1e-7, "{}", False, [], 6.08, 50.77),
        ("009", None, "-1+2", 2147483647, float("nan"), "{}", True, [], 6.09, 50.78),
        ("1.000", "Steuer\x0bzeichen", "@SUM(A1)", 1, 11.0, "{}", True, ["a;b"], 6.07, 50.76),
    ]
    with connect(db_url) as c:
        for r in rows:
            c.execute(
                "INSERT INTO registry.charging_point (source, external_id, owner_org, name, operator, charge_points, "
                f"power_kw, properties, publish, facilities, geom) VALUES (%s, %s, 'city', %s, %s, %s, %s, %s, %s, "
                f"%s, {pt})", (src, *r))
        c.commit()
    yield src
    with connect(db_url) as c:
        c.execute("DELETE FROM registry.charging_point WHERE source = %s", (src,))
        c.commit()


def _sheet(path):
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    rows = {}
    for cells in ws.iter_rows(min_row=2):
        rec = {h: c for h, c in zip(header, cells, strict=True)}
        rows.setdefault(rec["source"].value, {})[rec["external_id"].value] = rec
    return ws, header, rows


def test_every_cell_is_what_the_registry_holds_text_as_text(cli, chargers, tmp_path):
    res = cli("export", "charging_point", tmp_path / "ladepunkte.xlsx", "--quiet")
    assert res.exit_code == 0, res.output
    assert "wrote" in res.output and "ladepunkte.xlsx" in res.output
    ws, header, rows = _sheet(tmp_path / "ladepunkte.xlsx")
    assert ws.title == "charging_point"
    assert {"external_id", "name", "operator", "power_kw", "lon", "lat"} <= set(header)
    ours = rows[chargers]
    assert sorted(ours) == ["007", "008", "009", "1.000"]  # leading zeros and a "thousand" kept as written
    assert all(ours[k]["external_id"].data_type == "s" for k in ours)
    # text that Excel would run as a formula is a text cell with the text unchanged
    for ext, text in (("007", '=HYPERLINK("http://x")'), ("008", "+49 241 123"), ("009", "-1+2"),
                      ("1.000", "@SUM(A1)")):
        cell = ours[ext]["operator"]
        assert (cell.value, cell.data_type) == (text, "s")
    assert ours["007"]["name"].value == NAME  # ; quotes newline tab umlaut emoji, whole
    assert ours["008"]["name"].value is None and ours["009"]["name"].value is None  # '' and NULL: empty cells
    # numbers are numbers, NaN an empty cell, the largest int4 exact
    assert ours["007"]["power_kw"].data_type == "n" and ours["007"]["power_kw"].value == 22.125
    assert ours["008"]["power_kw"].value == pytest.approx(1e-7)
    assert ours["009"]["power_kw"].value is None
    assert ours["009"]["charge_points"].value == 2147483647
    assert ours["007"]["publish"].value is True and ours["008"]["publish"].value is False
    assert ours["1.000"]["charging_when_closed"].value is None  # a boolean NULL: an empty cell
    assert json.loads(ours["007"]["facilities"].value) == ["PARKING_LOT", "CAFE"]
    assert json.loads(ours["007"]["properties"].value) == {"ü": "ö", "n": [1, 2]}
    assert math.isclose(ours["007"]["lon"].value, 6.0839, abs_tol=1e-7)
    assert math.isclose(ours["007"]["lat"].value, 50.7753, abs_tol=1e-7)


def test_the_header_is_bold_frozen_and_filterable(cli, chargers, tmp_path):
    assert cli("export", "charging_point", tmp_path / "l.xlsx", "--quiet").exit_code == 0
    ws, header, _ = _sheet(tmp_path / "l.xlsx")
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref.startswith("A1:")
    assert all(c.font.bold for c in ws[1])
    assert ws.auto_filter.ref == f"A1:{get_column_letter(len(header))}{ws.max_row}"


def test_a_control_character_is_replaced_and_said(cli, chargers, tmp_path):
    res = cli("export", "charging_point", tmp_path / "l.xlsx", "--quiet")
    assert res.exit_code == 0, res.output
    assert "control character" in res.output and "�" in res.output
    _, _, rows = _sheet(tmp_path / "l.xlsx")
    assert rows[chargers]["1.000"]["name"].value == "Steuer\ufffdzeichen"


def test_a_projected_crs_gives_x_and_y(cli, chargers, tmp_path):
    res = cli("export", "charging_point", tmp_path / "utm.xlsx", "--crs", "EPSG:25832", "--quiet")
    assert res.exit_code == 0, res.output
    _, header, rows = _sheet(tmp_path / "utm.xlsx")
    assert "x" in header and "y" in header and "lon" not in header
    assert 290_000 < rows[chargers]["007"]["x"].value < 300_000


def test_polygons_are_wkt(cli, aachen_loaded, tmp_path):
    res = cli("export", "municipality", tmp_path / "gemeinde.xlsx", "--quiet")
    assert res.exit_code == 0, res.output
    _, header, rows = _sheet(tmp_path / "gemeinde.xlsx")
    assert "wkt" in header and "lon" not in header
    cells = [r["wkt"] for by_id in rows.values() for r in by_id.values()]
    assert cells and all(c.data_type == "s" and c.value.startswith(("POLYGON", "MULTIPOLYGON")) for c in cells)


def test_a_cell_longer_than_excel_keeps_is_refused_and_an_older_file_kept(cli, chargers, db_url, tmp_path):
    """A value longer than an Excel cell keeps (32,767 characters): refused with column, row and advice; an existing
    file of that name is left as it was, and no partial workbook is left beside it."""
    from netzatlas.registry.db import connect

    with connect(db_url) as c:
        c.execute("UPDATE registry.charging_point SET name = repeat('x', 40000) WHERE source = %s "
                  "AND external_id = '008'", (chargers,))
        c.commit()
    try:
        target = tmp_path / "ladepunkte.xlsx"
        target.write_bytes(b"older file")
        res = cli("export", "charging_point", target, "--quiet")
        assert res.exit_code == 2, res.output
        assert "Traceback" not in res.output
        assert "column 'name'" in res.output and "40,000 characters" in res.output and "32,767" in res.output
        assert ".gpkg" in res.output
        assert target.read_bytes() == b"older file"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["ladepunkte.xlsx"]
    finally:
        with connect(db_url) as c:
            c.execute("UPDATE registry.charging_point SET name = '' WHERE source = %s AND external_id = '008'",
                      (chargers,))
            c.commit()


def test_points_of_another_layer_and_a_new_folder(cli, aachen_loaded, tmp_path):
    target = tmp_path / "neuer Ordner Ü" / "lampen.xlsx"
    res = cli("export", "streetlight", target, "--source", "osm", "--quiet")  # the demo's (other tests add odd ones)
    assert res.exit_code == 0, res.output
    ws, header, _ = _sheet(target)
    assert ws.title == "streetlight" and "lon" in header and "lat" in header


def test_limits_are_checked_before_writing(tmp_path, monkeypatch):
    import pandas as pd

    from netzatlas.errors import InvalidParameter
    from netzatlas.registry.exporters import xlsx

    monkeypatch.setattr(xlsx, "MAX_ROWS", 3)
    with pytest.raises(InvalidParameter, match="do not fit on an Excel sheet"):
        xlsx.write_xlsx(pd.DataFrame({"a": [1, 2, 3]}), tmp_path / "x.xlsx", "s", lambda *a: None)
    assert not (tmp_path / "x.xlsx").exists()


def test_sheet_names_excel_accepts():
    from netzatlas.registry.exporters.xlsx import _sheet_title

    assert _sheet_title("a/b:c*d?e[f]g\\h") == "a_b_c_d_e_f_g_h"
    assert len(_sheet_title("x" * 50)) == 31
    assert _sheet_title("") == "export"
