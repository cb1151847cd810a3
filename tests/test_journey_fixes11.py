"""Session 11: what a new user following the README stumbled over (gigabit, mobile, sync, QGIS, charging), each
through the CLI on the Aachen demo registry (exit code, message, database, files):

- ``gigabit compare A B``: German / English headers, ja / nein, "1 address" / "n addresses", and ``--out FILE.csv``
  lists the changed addresses in the MEV reports' CSV form (``;``, UTF-8 with BOM, German titles);
- ``gigabit classify`` prints the classes in the report's order (weiß, hellgrau, dunkelgrau, schwarz, gigabitfähig);
- ``gigabit report`` without ``--snapshot`` takes the newest by reference date (of several with that date the one
  classified last) and says why, not the one classified last;
- ``mobile request evaluate``: labelled columns, people as whole numbers with thousands separators;
- ``mobile coverage --tiled`` prints its holes as the untiled run does (rank, name, whole people) and says why its
  people differ from the untiled run's for the same hole;
- after ``sync push`` with a key without a name, ``db history`` shows ``org:<prefix>`` as ``keys list`` lists it;
- ``qgis project --user anna``: the pgpass hint names anna; "1 relation" / "n relations";
- ``charging siting`` says which residents it counts (the 100 m cells), unlike the gigabit report's 1 km cells.
"""

from __future__ import annotations

import csv
import io
import re
import uuid

import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.conftest import netzatlas_home
from tests.test_gigabit_journey import _cli

REF = "2026-11-26"
SOURCE = "fix11-one-address"


def _flat(result) -> str:  # noqa: ANN001
    return " ".join(result.output.split())


def _run(*args: str):
    from netzatlas.cli.main import app

    res = CliRunner().invoke(app, list(args), env={"COLUMNS": "220", "NO_COLOR": "1"})
    assert "Traceback" not in res.output, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), (res.exception, res.output)
    return res


# ------------------------------------------------------------------------------------------------ gigabit
@pytest.fixture(scope="module")
def snapshots(aachen_loaded):
    """The README's simulated supply and two snapshots of one date under the 2023 and the 2024 rules."""
    assert _cli("simulate", "--source", "simulation-journey").exit_code == 0
    for prog, name in (("gigabit-rl-2.0-2023", "fix11-2023"), ("gigabit-rl-2.0-2024", "fix11-2024")):
        r = _cli("classify", "--programme", prog, "--date", REF, "--snapshot", name)
        assert r.exit_code == 0, r.output
    return aachen_loaded


def _changed(conn, a: str, b: str) -> dict[str, tuple]:  # noqa: ANN001
    rows = conn.execute(
        "SELECT x.address_id::text AS id, f.street, f.house_number, f.postcode, x.class_de AS ca, y.class_de AS cb, "
        "x.eligible AS ea, y.eligible AS eb FROM registry.gigabit_classification x JOIN "
        "registry.gigabit_classification y USING (address_id) JOIN registry.fibre_address f ON f.id = x.address_id "
        "WHERE x.snapshot_id = %s AND y.snapshot_id = %s AND (x.class_de <> y.class_de OR x.eligible <> y.eligible)",
        [a, b]).fetchall()
    conn.rollback()
    return {r["id"]: (r["street"], r["house_number"], r["postcode"], r["ca"], r["cb"], r["ea"], r["eb"]) for r in rows}


def _read_csv(path) -> list[dict[str, str]]:  # noqa: ANN001
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw  # UTF-8 with BOM, Excel's line ends
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))


def test_compare_lists_the_changed_addresses_with_readable_headers(snapshots, conn, tmp_path):
    """compare used to print raw headers (class_a, eligible_a), 1/0, and no addresses although its --help said
    "Which addresses changed"."""
    want = _changed(conn, "fix11-2023", "fix11-2024")
    assert len(want) > 1
    out = tmp_path / "changes.csv"
    r = _cli("compare", "fix11-2023", "fix11-2024", "--out", str(out))
    assert r.exit_code == 0, r.output
    text = _flat(r)
    assert f"fix11-2023 → fix11-2024: {len(want):,} addresses changed" in text
    for header in ("Klasse vorher / class before", "Klasse nachher / class after", "förderfähig vorher / eligible "
                   "before", "förderfähig nachher / eligible after", "Adressen / addresses"):
        assert header in text, (header, r.output)
    assert not any(raw in r.output for raw in ("class_a", "eligible_a", "class_b", "eligible_b"))
    assert re.search(r"(ja / yes|nein / no)\W+(ja / yes|nein / no)\W+[\d,]+", text), r.output
    # the counts of the table add up to the addresses listed
    assert sum(int(n.replace(",", "")) for n in re.findall(r"(?:yes|no)\s+│ ([\d,]+)\s+│", r.output)) == len(want)
    assert f"CSV: {out} ({len(want):,} addresses)" in text
    rows = _read_csv(out)
    assert len(rows) == len(want)
    assert list(rows[0])[:7] == ["Adress-ID", "Straße", "Hausnummer", "Zusatz", "PLZ", "Ort", "Klasse vorher"]
    for row in rows:
        street, number, postcode, ca, cb, ea, eb = want[row["Adress-ID"]]
        assert (row["Straße"], row["Hausnummer"], row["PLZ"]) == (street or "", number or "", postcode or "")
        assert (row["Klasse vorher"], row["Klasse nachher"]) == (ca, cb)
        assert (row["förderfähig vorher"], row["förderfähig nachher"]) == ({True: "ja", False: "nein"}[ea],
                                                                           {True: "ja", False: "nein"}[eb])
    streets = [r["Straße"].lower() for r in rows]
    assert streets == sorted(streets)  # sorted by street (and number), as the MEV reports
    folder = _cli("compare", "fix11-2023", "fix11-2024", "--out", str(tmp_path))
    assert folder.exit_code == 2 and "is a folder" in _flat(folder), folder.output
    above = tmp_path / "belegt"
    above.write_text("a file, not a folder", encoding="utf-8")
    blocked = _cli("compare", "fix11-2023", "fix11-2024", "--out", str(above / "changes.csv"))
    assert blocked.exit_code == 2 and "Traceback" not in blocked.output, blocked.output   # was a NotADirectoryError
    assert str(above) in _flat(blocked), blocked.output


def test_compare_of_one_address_says_address(aachen_loaded, tmp_path):
    """One changed address was "1 addresses changed"."""
    from netzatlas.registry import gigabit_store
    from tests.test_gigabit_holdout import _street_registry, scratch_registry

    with scratch_registry() as url:
        ids = _street_registry(url, None)
        assert _cli("classify", "--date", REF, "--snapshot", "vorher").exit_code == 0
        gigabit_store.write_supply(pd.DataFrame({
            "address_id": ids[:1], "operator": "NetAachen", "technology": "ftth", "down_mbps": 1000.0,
            "up_mbps": 1000.0, "status": "available", "planned_date": None, "binding": False}), source=SOURCE,
            url=url)
        assert _cli("classify", "--date", REF, "--snapshot", "nachher").exit_code == 0
        out = tmp_path / "one.csv"
        r = _cli("compare", "vorher", "nachher", "--out", str(out))
    assert r.exit_code == 0, r.output
    assert "vorher → nachher: 1 address changed" in _flat(r) and "1 addresses" not in r.output
    assert re.search(r"weiß / white\W+gigabitfähig / gigabit\W+ja / yes\W+nein / no\W+1\b", _flat(r)), r.output
    (row,) = _read_csv(out)
    assert row["Adress-ID"] == ids[0] and (row["Klasse vorher"], row["Klasse nachher"]) == ("weiß", "gigabitfähig")
    assert (row["förderfähig vorher"], row["förderfähig nachher"]) == ("ja", "nein")


def test_classify_prints_the_classes_in_the_reports_order(snapshots):
    r = _cli("classify", "--date", REF)
    assert r.exit_code == 0, r.output
    seen = [c for c in re.findall(r"(weiß|hellgrau|dunkelgrau|schwarz|gigabitfähig) / ", r.output)]
    assert seen == [c for c in ("weiß", "hellgrau", "dunkelgrau", "schwarz", "gigabitfähig") if c in seen], seen
    assert len(seen) >= 3


def test_report_without_snapshot_takes_the_newest_reference_date(aachen_loaded, tmp_path):
    """Classifying last year's state after this year's made the report show last year's."""
    from tests.test_gigabit_holdout import _street_registry, scratch_registry

    with scratch_registry() as url:
        _street_registry(url, None)
        assert _cli("classify", "--date", "2027-01-15", "--snapshot", "stand-2027").exit_code == 0
        assert _cli("classify", "--date", "2026-01-15", "--snapshot", "stand-2026").exit_code == 0  # made last
        r = _cli("report", "--out", str(tmp_path / "a"))
        assert r.exit_code == 0, r.output
        assert "snapshot 'stand-2027' (gigabit-rl-2.0-2024, reference date 2027-01-15): the newest by reference " \
               "date of 2 kept" in _flat(r), r.output
        assert "stand-2027" in (tmp_path / "a" / "report.html").read_text(encoding="utf-8")
        # two of that date: the one classified last, the other named
        assert _cli("classify", "--date", "15.01.2027", "--snapshot", "stand-2027b").exit_code == 0
        r = _cli("report", "--out", str(tmp_path / "b"))
        assert r.exit_code == 0, r.output
        assert "snapshot 'stand-2027b' (gigabit-rl-2.0-2024, reference date 2027-01-15): the newest by reference " \
               "date, of those the one classified last (also of that date: 'stand-2027'; choose with --snapshot " \
               "NAME)" in _flat(r), r.output
    helptext = _flat(_cli("report", "--help"))
    assert "default: the newest by reference date, of those the one classified last" in helptext, helptext


# ------------------------------------------------------------------------------------------------ mobile
@pytest.fixture(scope="module")
def mobile(aachen_loaded, tmp_path_factory):
    from netzatlas.cli.main import app

    with netzatlas_home(tmp_path_factory.mktemp("fix11-mobile")):
        def run(*args: str):
            res = CliRunner().invoke(app, list(args), env={"COLUMNS": "240", "NO_COLOR": "1"},
                                     catch_exceptions=False)
            assert res.exit_code == 0, res.output
            return res.output

        yield run


@pytest.fixture(scope="module")
def untiled(mobile):
    return mobile("mobile", "coverage")


def test_mast_request_evaluate_prints_labels_and_whole_people(mobile, untiled):
    created = mobile("mobile", "request", "create", "--operator", "Telekom", "--lon", "6.0839", "--lat", "50.7753",
                     "--radius", "400", "--received", "2026-11-01")
    rid = re.search(r"request ([0-9a-f-]{36}) recorded", " ".join(created.split())).group(1)
    out = mobile("mobile", "request", "evaluate", rid)
    assert "people newly covered outdoor" in out and "distance to centre (m)" in out, out
    assert "people_newly_covered" not in out and "distance_to_centre_m" not in out
    table = out.split("Candidates in the search ring")[1].split("Criteria")[0]
    people = re.findall(r"│ ([\d,]+)\s+│ ([\d,]+)\s+│ -?\d+\.\d{3}\s+│", table)
    assert people, table
    assert not re.search(r"\d\.0\s+│", table)  # no 25471.0
    assert any(int(a.replace(",", "")) >= 1000 for row in people for a in row)
    assert all(re.fullmatch(r"\d{1,3}(,\d{3})*", a) for row in people for a in row)


def test_tiled_holes_print_as_the_untiled_ones_and_say_why_people_differ(mobile, untiled, tmp_path):
    tiled = mobile("mobile", "coverage", "--tiled", "--tile-size", "4500", "--out", str(tmp_path / "tiled"))
    head = re.compile(r"┃ rank\s+┃ name\s+┃ people\s+┃")
    assert len(head.findall(untiled)) == 2 and len(head.findall(tiled)) == 2, tiled
    for out in (untiled, tiled):
        top = out.split("Largest outdoor holes")[1].split("\n")[4]   # the first row: rank 1
        m = re.match(r"│ 1\s+│ (.+?)\s+│ ([\d,]+)\s+│", top)
        assert m and m.group(1).strip() and "," in m.group(2), top   # a name; people whole, thousands separated
    text = " ".join(tiled.split())
    assert "people per hole: the population cells are resampled to 100 m cells of the run's own grid" in text
    assert "people per hole" not in " ".join(untiled.split())


# ------------------------------------------------------------------------------------------------ sync history
def test_history_after_sync_push_names_the_key_as_keys_list_does(live_server, api_keys, db_url, tmp_path):
    from tests.test_sync_cli import ROWS
    from tests.test_sync_cli import _run as run_netzatlas

    created = _run("keys", "create", "--org", "stawag", "--scope", "read", "--scope", "write:streetlight")
    assert created.exit_code == 0, created.output
    key = created.output.splitlines()[0].strip()
    prefix = key.split("_")[1]
    listed = _run("keys", "list")
    assert prefix in listed.output
    (tmp_path / "key.txt").write_text(key + "\n")
    (tmp_path / "l.csv").write_bytes(ROWS.replace("SL-3;abc", "SL-3;9,0").encode("cp1252"))
    source = f"fix11-push-{uuid.uuid4().hex[:6]}"
    push = run_netzatlas(["sync", "push", str(tmp_path / "l.csv"), "--collection", "streetlight", "--source", source,
                          "--api", live_server, "--key-file", str(tmp_path / "key.txt"), "--crs", "EPSG:25832",
                          "--x-column", "Rechtswert", "--y-column", "Hochwert", "--map", "external_id=Leuchten-Nr",
                          "--map", "height_m=Höhe (m)", "--encoding", "cp1252"], {})
    assert push.returncode == 0, push.stdout + push.stderr
    import psycopg

    with psycopg.connect(db_url) as c:
        fid, by = c.execute("SELECT s.id::text, ch.changed_by FROM registry.streetlight s JOIN audit.change ch ON "
                            "ch.row_id = s.id WHERE s.source = %s AND s.external_id = 'SL-1'", [source]).fetchone()
    assert by == f"stawag:{prefix}", by
    hist = _run("db", "history", "streetlight", fid)
    assert hist.exit_code == 0 and f"stawag:{prefix}" in hist.output, hist.output


# ------------------------------------------------------------------------------------------------ QGIS, charging
def test_qgis_project_hint_names_the_user(aachen_loaded, tmp_path, monkeypatch):
    monkeypatch.setenv("PGSERVICEFILE", str(tmp_path / "pg_service.conf"))
    r = _run("qgis", "project", str(tmp_path / "netzatlas.qgz"), "--user", "anna", "--yes")
    assert r.exit_code == 0, r.output
    text = _flat(r)
    assert ":anna:PASSWORD" in text and ":LOGIN:PASSWORD" not in text, text
    m = re.search(r"(\d+) relations?\b", text)
    assert m and (m.group(0).endswith("relations") == (int(m.group(1)) != 1)), text
    assert not re.search(r"\b1 relations\b|\b1 layers\b", text)
    anonymous = _flat(_run("qgis", "project", str(tmp_path / "b.qgz"), "--yes"))
    assert ":LOGIN:PASSWORD" in anonymous


def test_charging_siting_says_which_residents_it_counts(aachen_loaded, conn, tmp_path):
    total = conn.execute("SELECT round(sum(population_estimate)) AS n FROM registry.population_grid WHERE "
                         "deleted_at IS NULL AND resolution_m = 100").fetchone()["n"]
    conn.rollback()
    with netzatlas_home(tmp_path):
        r = _run("charging", "siting", "--k", "3", "--no-certify", "--out", str(tmp_path / "c"))
    assert r.exit_code == 0, r.output
    text = _flat(r)
    assert f"of {int(total):,} (" in text, text
    assert "residents: Zensus 2011 estimate of the 100 m cells whose centre lies inside the municipal boundary" \
        in text and "the gigabit report's inhabitants are the counts of the 1 km cells" in text, text
