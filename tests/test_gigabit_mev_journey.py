"""Journey: ``netzatlas gigabit mev-import`` through the CLI on the Aachen demo registry, with answer files in the
shapes operators send (tests/data/mev/), asserting the database, the report files, the summary and exit codes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

DATA = Path(__file__).parent / "data" / "mev"
TABLES = ("registry.broadband_supply", "audit.change", "audit.batch", "registry.mev_import",
          "registry.mev_report_row")


def withdraw_afterwards(*patterns: str):  # noqa: ANN201 - a pytest fixture
    """An autouse fixture for a module (assign it to a module-level name): the supply the module's tests imported
    under sources ``LIKE`` one of ``patterns`` is withdrawn after each test — the other modules share the database,
    and these binding plans would be conflicts there."""

    @pytest.fixture(autouse=True)
    def _withdraw_afterwards(aachen_loaded, conn):
        yield
        conn.rollback()
        conn.execute("UPDATE registry.broadband_supply SET deleted_at = now() WHERE source LIKE ANY(%s) "
                     "AND deleted_at IS NULL", [list(patterns)])
        conn.commit()

    return _withdraw_afterwards


def _state(conn) -> dict[str, int]:
    out = {t: conn.execute(f"SELECT count(*) AS n FROM {t}").fetchone()["n"] for t in TABLES}
    out["live supply"] = conn.execute("SELECT count(*) AS n FROM registry.broadband_supply "
                                      "WHERE deleted_at IS NULL").fetchone()["n"]
    conn.rollback()
    return out


def _run(*args: str):
    from netzatlas.cli.main import app

    result = CliRunner().invoke(app, ["gigabit", "mev-import", *args, "--date", "2026-11-30"],
                                env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), (result.exception, result.output)
    return result


def _supply(conn, source: str) -> dict[tuple, tuple]:
    rows = conn.execute(
        "SELECT a.street, a.house_number, coalesce(a.house_number_suffix, '') AS suf, s.technology, s.status, "
        "s.down_mbps, s.up_mbps, s.planned_date, s.binding, s.vorvermarktung FROM registry.broadband_supply s "
        "JOIN registry.fibre_address a ON a.id = s.address_id WHERE s.source = %s AND s.deleted_at IS NULL",
        [source]).fetchall()
    conn.rollback()
    return {(r["street"], r["house_number"], r["suf"], r["technology"], r["status"]):
            (r["down_mbps"], r["up_mbps"], r["planned_date"], r["binding"], r["vorvermarktung"]) for r in rows}


@pytest.mark.parametrize("name,needles", [
    ("ambiguous_1000.csv", ["download", "1.000", "reads as 1000", "--decimal"]),
    ("bad_rows.csv", ["31.02.2028", "Brieftaube", "negative speed", "01/03/2028", "vielleicht", "100 MB/s"]),
    ("broken.csv", ["cannot be read as a table"]),
    ("both_sides.csv", []),  # valid: used below; here only with a wrong forced encoding
])
def test_refused_files_leave_everything_as_before(aachen_loaded, conn, tmp_path, name, needles):
    extra = ["--encoding", "utf-16"] if name == "both_sides.csv" else []
    assert_refused(conn, tmp_path / "out", needles, str(DATA / name), "--operator", "Telekom", "--mev", "mev-refused",
                   *extra)


def assert_refused(conn, out: Path, needles, *args: str) -> None:
    """``mev-import *args --out out`` is refused (exit 2) with every needle in its message; the database and the
    output folder are as before."""
    before = _state(conn)
    result = _run(*args, "--out", str(out))
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    for n in needles:
        assert n in text, (n, result.output)
    assert _state(conn) == before
    assert not out.exists() or not any(out.iterdir())


def test_three_operators_in_three_shapes(aachen_loaded, conn, tmp_path):
    before = _state(conn)
    out = tmp_path / "out"
    result = _run(str(DATA / "telekom_latin1.csv"), str(DATA / "vodafone_utf8bom.csv"), str(DATA / "netaachen.xlsx"),
                  "--operator", "Telekom", "--operator", "Vodafone", "--operator", "NetAachen", "--mev", "mev-2026",
                  "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "Markterkundung" in result.output and "Telekom" in result.output and "NetAachen" in result.output
    tk = _supply(conn, "mev:mev-2026:Telekom")
    # German numbers: 16,8 and 1.000 (decimal comma detected in the column / the file)
    assert tk[("Königstraße", "12", "", "fttc_vdsl", "available")][:2] == (16.8, 2.4)
    assert tk[("Königstraße", "12", "", "ftth", "planned")][:4] == (1000.0, 500.0, pytest.approx(
        __import__("datetime").date(2028, 6, 1)), True)
    assert tk[("Königstraße", "13", "", "docsis31", "available")][:2] == (1000.0, 50.0)
    # "24 b" = register 24b; Q3 2028 = 30.09.2028; pre-marketing kept
    assert tk[("Jakobstraße", "24", "b", "ftth", "planned")][2:] == (__import__("datetime").date(2028, 9, 30), True,
                                                                      True)
    # ranges along one side: 51-55 → 51, 53, 55; 12-14 → 12 and 14; 82 lies in the register's 80-82, 81 does not
    assert {k[1] for k in tk if k[0] == "Großkölnstraße" and k[4] == "planned"} == {"51", "53", "55"}
    assert {k[1] for k in tk if k[0] == "Jakobstraße" and k[3] == "fttc_vdsl" and not k[2]} == {"12", "14"}
    assert ("Saarstraße", "80-82", "", "fttc_vdsl", "available") in tk
    # the answer for Südstraße 54 lands on 54 only, not on the register's 53-55 across the street
    assert [k for k in tk if k[0] == "Südstraße"] == [("Südstraße", "54", "", "supervectoring", "available")]
    vf = _supply(conn, "mev:mev-2026:Vodafone")
    assert ("Königstraße", "21¹", "", "docsis30", "available") in vf        # the OSM superscript address
    assert ("Königstraße", "12", "", "docsis31", "available") in vf         # by address id (way/83913008)
    assert vf[("Südstraße", "53", "", "adsl", "available")][:2] == (0.5, 0.1)
    na = _supply(conn, "mev:mev-2026:NetAachen")
    assert ("Südstraße", "2", "a", "fttb", "available") in na and len(na) == 5
    after = _state(conn)
    written = len(tk) + len(vf) + len(na)
    assert after["registry.broadband_supply"] - before["registry.broadband_supply"] == written == 29
    assert after["audit.change"] - before["audit.change"] == written
    assert after["audit.batch"] == before["audit.batch"] + 1
    summary = {r["operator"]: r for r in conn.execute(
        "SELECT * FROM registry.mev_summary_result WHERE mev_id = 'mev-2026' AND latest").fetchall()}
    assert summary["Telekom"]["rows"] == 10 and summary["Telekom"]["unmatched"] == 2
    assert summary["Telekom"]["matched_range"] == 3 and summary["Telekom"]["supply_binding"] == 5
    assert summary["Vodafone"]["matched_address_id"] == 1 and summary["Vodafone"]["matched_street_number"] == 2
    assert summary["Telekom"]["geom"] is not None
    unmatched = conn.execute("SELECT row_no, street, house_number, reason FROM registry.mev_unmatched_result "
                             "WHERE mev_id = 'mev-2026' AND operator = 'Telekom' ORDER BY row_no").fetchall()
    assert [(r["row_no"], r["street"], r["house_number"]) for r in unmatched] == [
        (10, "Saarstraße", "81"), (13, "Nirgendwostraße", "7")]
    conflicts = conn.execute("SELECT reason FROM registry.mev_conflict_result WHERE operator = 'Telekom'").fetchall()
    assert {r["reason"] for r in conflicts} == {"address not in the register"}
    conn.rollback()
    # the files: German Excel form, sorted by street and number
    raw = (out / "Telekom_unmatched.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Zeile;Grund;") and lines[1].startswith("13;") and lines[2].startswith("10;")
    assert ";100,0;40,0;" in lines[1]
    assert {p.name for p in out.iterdir()} == {f"{o}_{k}.csv" for o in ("Telekom", "Vodafone", "NetAachen")
                                               for k in ("summary", "unmatched", "conflicts")} | {"summary.csv"}
    # again: nothing changes, nothing is written twice
    result = _run(str(DATA / "telekom_latin1.csv"), "--operator", "Telekom", "--mev", "mev-2026", "--out", str(out))
    assert result.exit_code == 0, result.output
    again = _state(conn)
    assert again["registry.broadband_supply"] == after["registry.broadband_supply"]
    assert again["audit.change"] == after["audit.change"]


def test_a_shorter_answer_withdraws_the_rows_it_no_longer_holds(aachen_loaded, conn, tmp_path):
    short = tmp_path / "telekom_short.csv"
    lines = (DATA / "telekom_latin1.csv").read_bytes().split(b"\r\n")
    short.write_bytes(b"\r\n".join(lines[:4]) + b"\r\n")  # sep=, title, header, Königstraße 12 only
    _run(str(DATA / "telekom_latin1.csv"), "--operator", "Telekom", "--mev", "mev-short", "--out", str(tmp_path))
    assert len(_supply(conn, "mev:mev-short:Telekom")) == 16
    result = _run(str(short), "--operator", "Telekom", "--mev", "mev-short", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert set(_supply(conn, "mev:mev-short:Telekom")) == {("Königstraße", "12", "", "fttc_vdsl", "available"),
                                                          ("Königstraße", "12", "", "ftth", "planned")}
    row = conn.execute("SELECT withdrawn, unchanged FROM registry.mev_summary_result WHERE mev_id = 'mev-short' "
                       "AND latest").fetchone()
    conn.rollback()
    assert (row["withdrawn"], row["unchanged"]) == (14, 2)


def test_both_sided_ranges_need_the_flag(aachen_loaded, conn, tmp_path):
    result = _run(str(DATA / "both_sides.csv"), "--operator", "Regionetz", "--mev", "mev-sides", "--out",
                  str(tmp_path))
    assert result.exit_code == 0, result.output
    got = _supply(conn, "mev:mev-sides:Regionetz")
    assert {k[1] for k in got if k[0] == "Krefelder Straße"} == {"78", "79", "80", "81"}
    assert not [k for k in got if k[0] == "Südstraße"]
    (r,) = conn.execute("SELECT reason FROM registry.mev_unmatched_result WHERE mev_id = 'mev-sides'").fetchall()
    conn.rollback()
    assert "both sides of the street" in r["reason"]


def test_a_failure_after_the_supply_is_written_rolls_everything_back(aachen_loaded, conn, tmp_path):
    """The supply is written first, then the summary row: a refusal there must take the supply with it."""
    conn.execute("ALTER TABLE registry.mev_import ADD CONSTRAINT test_boom CHECK (operator <> 'Boom')")
    conn.commit()
    try:
        before = _state(conn)
        out = tmp_path / "out"
        result = _run(str(DATA / "telekom_latin1.csv"), "--operator", "Boom", "--mev", "mev-boom", "--out", str(out))
        assert result.exit_code == 2, result.output
        assert "test_boom" in " ".join(result.output.split())
        assert _state(conn) == before
        assert not out.exists() or not any(out.iterdir())
    finally:
        conn.execute("ALTER TABLE registry.mev_import DROP CONSTRAINT test_boom")
        conn.commit()


def test_reports_are_confidential_collections(aachen_loaded, conn, tmp_path):
    from fastapi.testclient import TestClient

    from netzatlas.api.app import create_app
    from netzatlas.api.auth import create_key

    _run(str(DATA / "netaachen.xlsx"), "--operator", "NetAachen", "--mev", "mev-api", "--out", str(tmp_path))
    policy = {r["layer"]: (r["public"], r["confidential"]) for r in conn.execute(
        "SELECT layer, public, confidential FROM registry.layer_policy WHERE layer LIKE 'mev%'")}
    assert policy == {v: (False, True) for v in ("mev_summary_result", "mev_unmatched_result", "mev_conflict_result")}
    key = create_key(conn, "city", ["read:confidential"], "mev-test")
    plain = create_key(conn, "city", ["read"], "mev-test-plain")
    conn.commit()
    with TestClient(create_app(aachen_loaded)) as client:
        url = "/collections/mev_summary_result/items"
        assert client.get(url).status_code in (401, 403)
        assert client.get(url, headers={"Authorization": f"Bearer {plain}"}).status_code in (401, 403)
        r = client.get(url, params={"mev_id": "mev-api"}, headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 200, r.text
        (feature,) = r.json()["features"]
        assert feature["properties"]["operator"] == "NetAachen" and feature["properties"]["rows"] == 4
        assert feature["geometry"]["type"] == "MultiPolygon"


def test_gpkg_with_coordinates_matches_the_nearest(aachen_loaded, conn, tmp_path):
    import geopandas as gpd

    row = conn.execute("SELECT id::text AS id, ST_X(ST_Transform(geom, 4326)) AS lon, "
                       "ST_Y(ST_Transform(geom, 4326)) AS lat FROM registry.fibre_address "
                       "WHERE street = 'Südstraße' AND house_number = '9'").fetchone()
    conn.rollback()
    gdf = gpd.GeoDataFrame({"strasse": ["Südstrasse ohne Nummer"], "hnr": ["o. Nr."], "download": ["100"],
                            "upload": ["40"], "technologie": ["VDSL"]},
                           geometry=gpd.points_from_xy([row["lon"] + 0.00005], [row["lat"]]), crs=4326)
    gdf.to_file(tmp_path / "punkte.gpkg")
    shutil.rmtree(tmp_path / "out", ignore_errors=True)
    result = _run(str(tmp_path / "punkte.gpkg"), "--operator", "Punkt", "--mev", "mev-gpkg", "--out",
                  str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    got = conn.execute("SELECT address_id::text AS a FROM registry.broadband_supply WHERE source = "
                       "'mev:mev-gpkg:Punkt'").fetchall()
    conn.rollback()
    assert [r["a"] for r in got] == [row["id"]]
