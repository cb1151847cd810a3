"""Session 9 fixes of the gigabit / market-exploration defects left open, each through the CLI on the Aachen demo
registry (exit code, message, database, files):

- the answer's city (Ort / Gemeinde, also from a "PLZ/Ort" column) keeps a row without postcode off another
  municipality's same street and number ("other municipality"); "Aachen-Brand", "AACHEN", "Stadt Aachen",
  "52064 Aachen", a district the register knows, umlaut / ß spellings fit; with an agreeing postcode a district word
  does not block; a register address without a city is not kept off;
- ``--operator`` may be an abbreviation / alias of the file's operator ("DG" / "Deutsche Glasfaser"); two
  different operators sharing a word ("Deutsche Glasfaser" / "Deutsche Telekom") are a contradiction; one operator
  under two names in one run is refused; one operator spelt two ways in its own column is one operator;
- number options in German: ``--eur-per-m 85,5``, ``--max-cost 1.500.000``, ``--tolerance 12,5``; a value that
  reads two ways (``--eur-per-connection 1.000``) is refused, never read as 1 €; a tolerance that is no distance
  (-5, inf, nan) is refused;
- a snapshot keeps its own programme's definition: ``report --snapshot`` works without the YAML file, and a
  shipped id with edited rules reports the rules it was classified under.
"""

from __future__ import annotations

import pyogrio
import pytest

from tests.test_gigabit_holdout import _own, _refused, base  # noqa: F401 - ``base``: the module fixture
from tests.test_gigabit_journey import _cli
from tests.test_gigabit_mev_holdout import KOE, _text
from tests.test_gigabit_mev_journey import _run, _state, _supply, assert_refused, withdraw_afterwards

REF = "2026-11-26"
MEV = "mev-fixes9"
SPEEDS_CITY = "Straße;Hausnummer;PLZ;Ort;Download;Upload;Technologie\n"


_withdraw_afterwards = withdraw_afterwards("mev:mev-fixes9%")


def _unmatched(conn, mev: str) -> dict[int, str]:  # noqa: ANN001
    rows = conn.execute("SELECT row_no, reason FROM registry.mev_unmatched_result WHERE mev_id = %s ORDER BY row_no",
                        [mev]).fetchall()
    conn.rollback()
    return {r["row_no"]: r["reason"] for r in rows}


def _aachen_numbers(conn, street: str = KOE) -> list[str]:  # noqa: ANN001
    """House numbers (plain, no suffix) of ``street`` the register has once, in Aachen."""
    rows = conn.execute("SELECT house_number FROM registry.fibre_address WHERE street = %s AND city = 'Aachen' "
                        "AND house_number ~ '^[0-9]+$' AND house_number_suffix IS NULL AND deleted_at IS NULL "
                        "GROUP BY house_number HAVING count(*) = 1 ORDER BY house_number::int", [street]).fetchall()
    conn.rollback()
    return [r["house_number"] for r in rows]


# ------------------------------------------------------------------------------------------------ 1. the city
def test_another_municipalitys_city_without_postcode_keeps_the_row_off_aachens_address(conn, tmp_path):
    """Without a postcode, "Königstraße 12, Würselen" used to land on Aachen's Königstraße 12."""
    n = _aachen_numbers(conn)
    assert len(n) >= 8
    rows = [(n[0], "Würselen"), (n[1], "WUERSELEN"), (n[2], "Wurselen"), (n[3], "Aachen-Brand"), (n[4], "AACHEN"),
            (n[5], "Stadt Aachen"), (n[6], "Aachen (Brand)"), (n[7], "")]
    path = _text("ort.csv", SPEEDS_CITY + "".join(f"{KOE};{hn};;{city};50;10;VDSL\n" for hn, city in rows))(tmp_path)
    out = tmp_path / "out"
    result = _run(str(path), "--operator", "Fixes9-Ort", "--mev", f"{MEV}-ort", "--out", str(out))
    assert result.exit_code == 0, result.output
    got = _supply(conn, f"mev:{MEV}-ort:Fixes9-Ort")
    assert {k[1] for k in got} == set(n[3:8])
    reasons = _unmatched(conn, f"{MEV}-ort")
    assert set(reasons) == {2, 3, 4}
    assert reasons[2] == ("other municipality: the answer's city 'Würselen' is not the register's 'Aachen' at this "
                          "street and number (a district? give the postcode)")
    assert "'WUERSELEN'" in reasons[3] and "'Wurselen'" in reasons[4]
    unmatched = (out / "Fixes9-Ort_unmatched.csv").read_text(encoding="utf-8-sig")
    assert unmatched.count("other municipality") == 3 and "Würselen" in unmatched
    summary = conn.execute("SELECT rows, unmatched, matched_street_number FROM registry.mev_import WHERE mev_id = %s",
                           [f"{MEV}-ort"]).fetchone()
    conn.rollback()
    assert (summary["rows"], summary["unmatched"], summary["matched_street_number"]) == (8, 3, 5)


def test_a_district_the_register_knows_fits_an_unknown_one_is_reported(conn, tmp_path):
    """A district alone in the Ort column: one the register's addresses carry (addr:suburb) fits; one it does not
    know is not guessed — unless the postcode agrees (then the Ort is taken for a district)."""
    n = _aachen_numbers(conn)
    district = conn.execute("SELECT properties->>'addr:suburb' AS d FROM registry.fibre_address WHERE "
                            "properties ? 'addr:suburb' AND city = 'Aachen' LIMIT 1").fetchone()["d"]
    conn.rollback()
    path = _text("ortsteil.csv", SPEEDS_CITY + f"{KOE};{n[0]};;{district.upper()};50;10;VDSL\n"
                 f"{KOE};{n[1]};;Brand;50;10;VDSL\n{KOE};{n[2]};52064;Brand;50;10;VDSL\n")(tmp_path)
    result = _run(str(path), "--operator", "Fixes9-Ortsteil", "--mev", f"{MEV}-ortsteil", "--out", str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    assert {k[1] for k in _supply(conn, f"mev:{MEV}-ortsteil:Fixes9-Ortsteil")} == {n[0], n[2]}
    reasons = _unmatched(conn, f"{MEV}-ortsteil")
    assert list(reasons) == [3] and reasons[3].startswith("other municipality: the answer's city 'Brand'")


def test_a_plz_ort_column_with_the_city_only_keeps_the_row_off(conn, tmp_path):
    """A "PLZ/Ort" cell without a postcode ("Würselen") is the city: the row stays unmatched, with the reason."""
    n = _aachen_numbers(conn)
    path = _text("plz_ort.csv", "Straße;Hausnummer;PLZ/Ort;Download;Upload;Technologie\n"
                 f"{KOE};{n[0]};Würselen;50;10;VDSL\n{KOE};{n[1]};52064 Aachen;50;10;VDSL\n")(tmp_path)
    result = _run(str(path), "--operator", "Fixes9-PlzOrt", "--mev", f"{MEV}-plzort", "--out", str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    assert {k[1] for k in _supply(conn, f"mev:{MEV}-plzort:Fixes9-PlzOrt")} == {n[1]}
    assert _unmatched(conn, f"{MEV}-plzort")[2].startswith("other municipality: the answer's city 'Würselen'")


def test_a_file_of_another_municipality_by_its_city_only_is_refused_whole(conn, tmp_path):
    """Every row in Würselen (no postcodes): nothing matches, so the file is refused and nothing is withdrawn."""
    n = _aachen_numbers(conn)
    path = _text("wuerselen.csv", SPEEDS_CITY + "".join(f"{KOE};{hn};;Würselen;50;10;VDSL\n" for hn in n[:3])
                 )(tmp_path)
    assert_refused(conn, tmp_path / "out", ["not in the register", "other municipality", "Würselen",
                                            "another municipality"],
                   str(path), "--operator", "Fixes9-Wue", "--mev", f"{MEV}-wue")


def test_a_postcode_in_the_ort_column_and_a_register_address_without_city(conn, tmp_path):
    """"52064 Aachen" written into the Ort column (no PLZ column value) fits Aachen; a register address that has no
    city is not kept off by the answer's (nothing to contradict)."""
    n = _aachen_numbers(conn)
    bare = conn.execute("SELECT street, house_number FROM registry.fibre_address a WHERE city IS NULL AND "
                        "house_number ~ '^[0-9]+$' AND house_number_suffix IS NULL AND deleted_at IS NULL AND "
                        "street IS NOT NULL AND (SELECT count(*) FROM registry.fibre_address b WHERE b.street = "
                        "a.street AND b.house_number = a.house_number AND b.deleted_at IS NULL) = 1 "
                        "ORDER BY street, house_number LIMIT 1").fetchone()
    conn.rollback()
    path = _text("ort_plz.csv", SPEEDS_CITY + f"{KOE};{n[0]};;52064 Aachen;50;10;VDSL\n"
                 f"{bare['street']};{bare['house_number']};;Würselen;50;10;VDSL\n")(tmp_path)
    result = _run(str(path), "--operator", "Fixes9-OrtPlz", "--mev", f"{MEV}-ortplz", "--out", str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    assert set(_supply(conn, f"mev:{MEV}-ortplz:Fixes9-OrtPlz")) == {
        (KOE, n[0], "", "fttc_vdsl", "available"), (bare["street"], bare["house_number"], "", "fttc_vdsl",
                                                    "available")}
    assert _unmatched(conn, f"{MEV}-ortplz") == {}


# ------------------------------------------------------------------------------------------------ 2. operators
@pytest.mark.parametrize("written,given", [("Deutsche Glasfaser Wholesale GmbH", "DG"), ("DTAG", "Telekom"),
                                           ("Glasfaser Netz GmbH", "Glasfaser Netz")])
def test_an_abbreviation_of_the_files_operator_is_accepted(conn, tmp_path, written, given):
    """"--operator DG" for a file whose Betreiber column says "Deutsche Glasfaser …" used to be refused."""
    n = _aachen_numbers(conn)
    path = _text("dg.csv", "Betreiber;Straße;Hausnummer;PLZ;Download;Upload;Technologie\n"
                 f"{written};{KOE};{n[0]};52064;1000;500;FTTH\n")(tmp_path)
    result = _run(str(path), "--operator", given, "--mev", f"{MEV}-dg", "--out", str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    assert list(_supply(conn, f"mev:{MEV}-dg:{given}")) == [(KOE, n[0], "", "ftth", "available")]


@pytest.mark.parametrize("written,given", [("Deutsche Glasfaser", "Deutsche Telekom"),
                                           ("Glasfaser Nordwest", "Deutsche Glasfaser"), ("DTAG", "Vodafone")])
def test_two_operators_sharing_a_word_are_a_contradiction(conn, tmp_path, written, given):
    """"Deutsche Glasfaser" and "Deutsche Telekom" share "Deutsche" only: refused (it used to be accepted)."""
    path = _text("betreiber.csv", "Betreiber;Straße;Hausnummer;PLZ;Download;Upload;Technologie\n"
                 f"{written};{KOE};12;52064;1000;500;FTTH\n")(tmp_path)
    assert_refused(conn, tmp_path / "out", [f"names {written!r}", f"--operator says {given!r}"], str(path),
                   "--operator", given, "--mev", f"{MEV}-contra")


def test_one_operator_under_two_names_in_one_run_is_refused(conn, tmp_path):
    """Two files for "Telekom" and "DTAG" would be two operators' answers at the same addresses."""
    n = _aachen_numbers(conn)
    a = _text("a.csv", f"Straße;Hausnummer;PLZ;Download;Upload;Technologie\n{KOE};{n[0]};52064;50;10;VDSL\n")(
        tmp_path)
    b = _text("b.csv", f"Straße;Hausnummer;PLZ;Download;Upload;Technologie\n{KOE};{n[1]};52064;50;10;VDSL\n")(
        tmp_path)
    before = _state(conn)
    result = _run(str(a), str(b), "--operator", "Telekom", "--operator", "DTAG", "--mev", f"{MEV}-twice", "--out",
                  str(tmp_path / "out"))
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "Telekom and DTAG name one operator" in text and "one file per operator" in text
    assert _state(conn) == before and not (tmp_path / "out").exists()


def test_one_operator_spelt_two_ways_in_its_column_is_one_operator(conn, tmp_path):
    """"Telekom Deutschland GmbH" and "Telekom" in one file's Betreiber column: one operator (the usual spelling),
    not "names 2 operators"."""
    n = _aachen_numbers(conn)
    path = _text("spellings.csv", "Betreiber;Straße;Hausnummer;PLZ;Download;Upload;Technologie\n"
                 f"Telekom Deutschland GmbH;{KOE};{n[0]};52064;50;10;VDSL\nTelekom;{KOE};{n[1]};52064;50;10;VDSL\n"
                 f"Telekom Deutschland GmbH;{KOE};{n[2]};52064;50;10;VDSL\n")(tmp_path)
    result = _run(str(path), "--mev", f"{MEV}-spell", "--out", str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    assert {k[1] for k in _supply(conn, f"mev:{MEV}-spell:Telekom Deutschland GmbH")} == set(n[:3])
    assert (tmp_path / "o" / "Telekom_Deutschland_GmbH_summary.csv").exists()


# ------------------------------------------------------------------------------------------------ 3. numbers
def test_tolerance_with_a_decimal_comma(conn, tmp_path):
    n = _aachen_numbers(conn)
    path = _text("t.csv", f"Straße;Hausnummer;PLZ;Download;Upload;Technologie\n{KOE};{n[0]};52064;50;10;VDSL\n")(
        tmp_path)
    result = _run(str(path), "--operator", "Fixes9-Tol", "--mev", f"{MEV}-tol", "--tolerance", "12,5", "--out",
                  str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    assert len(_supply(conn, f"mev:{MEV}-tol:Fixes9-Tol")) == 1
    assert_refused(conn, tmp_path / "out2", ["Invalid value for '--tolerance'", "'zwölf' is not a number",
                                             "write e.g. 85.5"],
                   str(path), "--operator", "Fixes9-Tol", "--mev", f"{MEV}-tol", "--tolerance", "zwölf")


@pytest.mark.parametrize("value", ["-5", "nan", "inf"])
def test_a_tolerance_that_is_no_distance_is_refused(conn, tmp_path, value):
    """"--tolerance -5" (and inf) used to place a point at the nearest address however far away; nan matched none."""
    path = _text("t.csv", "Längengrad;Breitengrad;Download;Upload;Technologie\n6,0839;50,7753;50;10;VDSL\n")(tmp_path)
    assert_refused(conn, tmp_path / "out", ["the nearest-match tolerance must be a finite number of metres",
                                            f"--tolerance {float(value):g}"],
                   str(path), "--operator", "Fixes9-Tol", "--mev", f"{MEV}-tol", "--tolerance", value)


@pytest.mark.parametrize("args,needles", [
    (["--eur-per-connection", "1.000"], ["Invalid value for '--eur-per-connection'", "reads as 1000", "(1000)",
                                         "(1.0)"]),
    (["--link-distance", "2,500"], ["Invalid value for '--link-distance'", "reads as 2500", "(2.5)"]),
    (["--max-cost", "viel"], ["Invalid value for '--max-cost'", "'viel' is not a number"]),
])
def test_number_options_that_read_two_ways_are_refused_before_any_file(base, tmp_path, args, needles):  # noqa: F811
    """"1.000" € per connection used to be read as 1 €, silently."""
    out = tmp_path / "out"
    _refused(_cli("report", "--snapshot", "holdout-base", "--out", str(out), *args), *needles)
    assert not out.exists()


# ------------------------------------------------------------------------------------------------ 4. own programmes
def _aachen_programme(d: dict) -> None:
    d.update(id="stadt-aachen-fixes9", title="Aachener Sonderprogramm Fixes9", title_en="Aachen programme fixes9")
    d["served_if"] = [{"down_mbps": 500, "up_mbps": 200}]


def test_own_programme_is_kept_with_the_snapshot_and_german_numbers_are_read(base, conn, tmp_path):  # noqa: F811
    """The snapshot holds its programme's definition: the report needs no file (the file is gone), German numbers
    for the costs (85,5 €/m; 1.500.000 € per area) are read as such."""
    f = _own(tmp_path, _aachen_programme, name="aachen fixes9.yaml")
    r = _cli("classify", "--programme", str(f), "--date", REF, "--snapshot", "fixes9-own")
    assert r.exit_code == 0, r.output
    kept = conn.execute("SELECT summary FROM registry.result_run WHERE kind = 'gigabit_snapshot' AND key = "
                        "'fixes9-own'").fetchone()["summary"]
    conn.rollback()
    assert kept["programme"] == "stadt-aachen-fixes9"
    assert kept["programme_definition"]["served_if"] == [{"down_mbps": 500.0, "up_mbps": 200.0}]
    from netzatlas.registry import result_runs

    result_runs.record_snapshot(conn, "fixes9-own")  # counted again (no writer's counts): the definition is kept
    recounted = conn.execute("SELECT summary FROM registry.result_run WHERE kind = 'gigabit_snapshot' AND key = "
                             "'fixes9-own'").fetchone()["summary"]
    conn.commit()
    assert recounted == kept
    f.unlink()
    out = tmp_path / "out"
    ok = _cli("report", "--snapshot", "fixes9-own", "--out", str(out), "--eur-per-m", "85,5", "--max-cost",
              "1.500.000")
    assert ok.exit_code == 0, ok.output
    assert "snapshot 'fixes9-own' (stadt-aachen-fixes9, reference date 2026-11-26)" in " ".join(ok.output.split())
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "Aachener Sonderprogramm Fixes9" in page and "500 Mbit/s down and 200 up" in page
    areas = pyogrio.read_dataframe(out / "gigabit.gpkg", layer="funding_areas", read_geometry=False)
    assert len(areas) and (areas["eur_per_m"] == 85.5).all() and (areas["max_cost_eur"] == 1_500_000).all()


def test_a_programme_file_edited_after_the_snapshot_is_refused_for_its_report(base, conn, tmp_path):  # noqa: F811
    """The own programme's file changed after classifying (other thresholds, same id): reporting the snapshot with
    it would print rules the classes were not made with; refused, the kept definition named as the way."""
    f = _own(tmp_path, _aachen_programme, name="geaendert.yaml")
    assert _cli("classify", "--programme", str(f), "--date", REF, "--snapshot", "fixes9-edited").exit_code == 0
    def stricter(d: dict) -> None:
        _aachen_programme(d)
        d["served_if"] = [{"down_mbps": 600}]

    _own(tmp_path, stricter, name="geaendert.yaml")
    out = tmp_path / "out"
    _refused(_cli("report", "--snapshot", "fixes9-edited", "--programme", str(f), "--out", str(out)),
             "is not the definition of 'stadt-aachen-fixes9'", "(the file was changed since)",
             "leave out --programme")
    assert not out.exists()


def test_a_shipped_id_with_edited_rules_reports_the_rules_it_was_classified_under(base, conn, tmp_path):  # noqa: F811
    """A copy of gigabit-rl-2.0-2024 with other thresholds but the shipped id: the report used to show (and the
    snapshot to be read with) the shipped rules; the snapshot keeps the edited ones. Classified again under the
    shipped programme, the kept definition is gone and the shipped rules are reported."""
    f = _own(tmp_path, lambda d: d.__setitem__("served_if", [{"down_mbps": 777, "up_mbps": 77}]), name="kopie.yaml")
    assert _cli("classify", "--programme", str(f), "--date", REF, "--snapshot", "fixes9-copy").exit_code == 0
    out = tmp_path / "out"
    ok = _cli("report", "--snapshot", "fixes9-copy", "--out", str(out))
    assert ok.exit_code == 0, ok.output
    assert "777 Mbit/s down and 77 up" in (out / "report.html").read_text(encoding="utf-8")
    assert _cli("classify", "--date", REF, "--snapshot", "fixes9-copy").exit_code == 0
    summary = conn.execute("SELECT summary FROM registry.result_run WHERE kind = 'gigabit_snapshot' AND key = "
                           "'fixes9-copy'").fetchone()["summary"]
    shipped = conn.execute("SELECT summary FROM registry.result_run WHERE kind = 'gigabit_snapshot' AND key = "
                           "'holdout-base'").fetchone()["summary"]
    conn.rollback()
    assert "programme_definition" not in summary and "programme_definition" not in shipped
    again = _cli("report", "--snapshot", "fixes9-copy", "--out", str(tmp_path / "again"))
    assert again.exit_code == 0, again.output
    page = (tmp_path / "again" / "report.html").read_text(encoding="utf-8")
    assert "777 Mbit/s" not in page and "300 Mbit/s down and 150 up" in page


def test_a_snapshot_made_before_definitions_were_kept_still_asks_for_its_file(base, conn, tmp_path):  # noqa: F811
    """A snapshot of an own programme whose summary holds no definition (made by an earlier version): refused with
    the hint to give the file, as before."""
    f = _own(tmp_path, _aachen_programme, name="alt.yaml")
    assert _cli("classify", "--programme", str(f), "--date", REF, "--snapshot", "fixes9-old").exit_code == 0
    conn.execute("UPDATE registry.result_run SET summary = summary - 'programme_definition' WHERE kind = "
                 "'gigabit_snapshot' AND key = 'fixes9-old'")
    conn.commit()
    out = tmp_path / "out"
    _refused(_cli("report", "--snapshot", "fixes9-old", "--out", str(out)), "which is not shipped",
             "does not hold its definition", "--programme path/to/programme.yaml")
    assert not out.exists()
    ok = _cli("report", "--snapshot", "fixes9-old", "--programme", str(f), "--out", str(out))
    assert ok.exit_code == 0, ok.output
    assert "Aachener Sonderprogramm Fixes9" in (out / "report.html").read_text(encoding="utf-8")


def test_shipped_programme_snapshot_summary_is_unchanged(base, conn):  # noqa: F811
    """Outputs of shipped programmes stay as they were: the summary's keys are the ones recorded before."""
    summary = conn.execute("SELECT summary FROM registry.result_run WHERE kind = 'gigabit_snapshot' AND key = "
                           "'holdout-base'").fetchone()["summary"]
    conn.rollback()
    assert set(summary) == {"programme", "reference_date", "title", "simulated", "note", "addresses", "eligible",
                            "classes"}


def test_cli_number_option_parser_readings():
    from netzatlas.cli.gigabit import _number

    assert [_number(v) for v in ("85,5", "85.5", "1.500.000", "1,500,000", "1.000,5", "0,125", "0.500", "-1,5",
                                 "100", 12.5)] == [85.5, 85.5, 1.5e6, 1.5e6, 1000.5, 0.125, 0.5, -1.5, 100.0, 12.5]
    assert _number("1e9") == 1e9 and str(_number("nan")) == "nan"
