"""Journey: the README's gigabit commands in order through the CLI on the Aachen demo registry (programmes, simulate,
classify --snapshot, compare, report --snapshot), asserting the database, the report files and the exit codes; and a
programme used outside its validity warns (CLI, snapshot, report, API process result)."""

from __future__ import annotations

import csv
import io
import re

import pyogrio
import pytest
from typer.testing import CliRunner

from tests.conftest import auth


def _cli(*args: str):
    from netzatlas.cli.main import app

    result = CliRunner().invoke(app, ["gigabit", *args], env={"COLUMNS": "220", "NO_COLOR": "1"})
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), (result.exception, result.output)
    return result


@pytest.fixture(scope="module")
def journey(aachen_loaded, tmp_path_factory):
    """The commands in the README's order; returns their results and the report folder."""
    out = tmp_path_factory.mktemp("gigabit-report")
    steps = {
        "programmes": _cli("programmes"),
        "simulate": _cli("simulate", "--source", "simulation-journey"),
        "classify-2023": _cli("classify", "--programme", "gigabit-rl-2.0-2023", "--date", "2026-11-26",
                              "--snapshot", "journey-2023"),
        "classify-2024": _cli("classify", "--programme", "gigabit-rl-2.0-2024", "--date", "2026-11-26",
                              "--snapshot", "journey-2024"),
        "compare": _cli("compare", "journey-2023", "journey-2024"),
        "report": _cli("report", "--snapshot", "journey-2024", "--out", str(out), "--max-addresses", "400",
                       "--eur-per-m", "120"),
    }
    return steps, out


def test_every_step_exits_zero(journey):
    steps, _ = journey
    for name, result in steps.items():
        assert result.exit_code == 0, (name, result.output)
    text = " ".join(steps["programmes"].output.split())
    assert "bund-2015" in text and "grey area" in text and "Gewerbegebiet" in text
    assert "30 Mbit/s down" in text
    assert "journey-2024" in steps["classify-2024"].output
    assert "addresses changed" in steps["compare"].output
    assert "outside the validity" not in steps["classify-2024"].output
    assert "outside the validity" in " ".join(steps["classify-2023"].output.split())


def test_the_database_holds_both_snapshots(journey, conn):
    n_addr = conn.execute("SELECT count(*) AS n FROM registry.fibre_address WHERE deleted_at IS NULL").fetchone()["n"]
    rows = {r["id"]: r for r in conn.execute(
        "SELECT s.id, s.programme, s.reference_date, s.warning, s.created_at, count(c.*) AS n, "
        "count(*) FILTER (WHERE c.eligible) AS eligible FROM registry.gigabit_snapshot s "
        "JOIN registry.gigabit_classification c ON c.snapshot_id = s.id WHERE s.id LIKE 'journey-%%' "
        "GROUP BY s.id").fetchall()}
    assert set(rows) == {"journey-2023", "journey-2024"}
    for r in rows.values():
        assert r["n"] == n_addr and r["created_at"] is not None
    # RL 2.0 of 2023 was replaced on 30.04.2024: used at 2026-11-26 it runs, with the warning kept
    assert "outside the validity of gigabit-rl-2.0-2023" in rows["journey-2023"]["warning"]
    assert rows["journey-2024"]["warning"] is None
    # cable 1000/50 meets the 2023 rule (500 down) but not the 2024 one (300/150): more eligible in 2024
    assert rows["journey-2024"]["eligible"] > rows["journey-2023"]["eligible"]
    # each snapshot is a partition of its own, and the result collection's view reads it
    parts = conn.execute("SELECT count(*) AS n FROM pg_inherits WHERE inhparent = "
                         "'registry.gigabit_classification'::regclass").fetchone()["n"]
    assert parts >= 2
    seen = conn.execute("SELECT count(*) AS n FROM registry.gigabit_result WHERE snapshot_id = 'journey-2024'"
                        ).fetchone()["n"]
    assert seen == n_addr
    conn.rollback()


def test_report_files_a_council_can_read(journey):
    steps, out = journey
    assert "snapshot 'journey-2024'" in steps["report"].output
    page = (out / "report.html").read_text(encoding="utf-8")
    for label in ("Klassen / classes", "förderfähig / eligible", "Fördergebiete / funding areas",
                  "Kosten je Anschluss (€) / cost per connection (€)",
                  "Annahmen der Kostenschätzung / cost assumptions",
                  "Datenquellen und Namensnennung / data sources and attribution", "Stand / snapshot", "journey-2024",
                  "erstellt am / created at", "das Register deckt rechnerisch etwa"):
        assert label in page, label
    assert "OpenStreetMap" in page and "ODbL" in page and "Zensus 2011" in page and "GeoBasis-DE / BKG" in page
    assert "120 €/m" in page                                  # the cost assumption as given
    assert "aachen-2021-08-01.osm.pbf" in page or "importiert / imported" in page
    assert not re.search(r"\[(verified|secondary|unverified|derived)\]", page)
    for raw in ("cost_per_connection_eur", "trench_m", "class_de", "share_ge_30", "netzatlas (addresses)"):
        assert raw not in page, raw
    map_page = (out / "map.html").read_text(encoding="utf-8")
    assert "imperial: false" in map_page and "L.control.scale()" not in map_page
    # the GeoPackage: funding areas within the limit, with their assumptions
    areas = pyogrio.read_dataframe(out / "gigabit.gpkg", layer="funding_areas")
    assert len(areas) > 1 and areas["addresses"].max() <= 400 and (areas["eur_per_m"] == 120).all()
    assert areas["name"].str.len().min() > 0
    assumptions = pyogrio.read_dataframe(out / "gigabit.gpkg", layer="assumptions", read_geometry=False)
    assert set(assumptions["parameter"]) >= {"eur_per_m", "eur_per_connection", "max_addresses", "link_distance_m"}
    # the CSV as German Excel opens it
    raw = (out / "eligible_addresses.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    header, body = rows[0], rows[1:]
    assert "Straße / street" in header and "förderfähig / eligible" in header and len(body) > 100
    lon = header.index("Länge (WGS84) / longitude")
    assert all("," in r[lon] and "." not in r[lon] for r in body[:50])
    streets = [r[header.index("Straße / street")].casefold() for r in body]
    assert streets == sorted(streets)


def test_the_report_speaks_german_and_english_alike(journey):
    """A new user found the German rule sentence half English ("wenn kein Netz 1000 Mbit/s down and 200 up
    liefert"), the SIMULATED banner in English only and the Stichtag in ISO beside a German "erstellt am"."""
    import html

    steps, out = journey
    page = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", (out / "report.html").read_text(encoding="utf-8"))).split())
    german = page[page.index("Förderfähig ist eine Adresse"):page.index(" / an address is eligible")]
    assert "Mbit/s im Download" in german and " down" not in german and " and " not in german, german
    assert "Versorgung für die Demo SIMULIERT" in page and "Broadband supply is SIMULATED" in page
    assert re.search(r"Stichtag / reference date \d\d\.\d\d\.\d{4}", page), page[:800]


def test_report_defaults_to_the_newest_snapshot(journey, tmp_path):
    result = _cli("report", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert re.search(r"snapshot '[^']+'", result.output)
    assert (tmp_path / "report.html").exists()
    assert _cli("report", "--snapshot", "no-such-snapshot", "--out", str(tmp_path)).exit_code != 0


def test_a_programme_outside_its_validity_warns(journey, conn, tmp_path, client, api_keys):
    result = _cli("classify", "--programme", "bund-2015", "--date", "2025-06-01", "--snapshot", "journey-old")
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "outside the validity of bund-2015" in text
    warning = conn.execute("SELECT warning FROM registry.gigabit_snapshot WHERE id = 'journey-old'").fetchone()
    assert "outside the validity" in warning["warning"]
    conn.rollback()
    rep = _cli("report", "--snapshot", "journey-old", "--out", str(tmp_path))
    assert rep.exit_code == 0 and "outside the validity" in " ".join(rep.output.split())
    assert "outside the validity of bund-2015" in (tmp_path / "report.html").read_text(encoding="utf-8")
    # the API process says it too; the result collection is read per snapshot with ?snapshot_id=
    r = client.post("/processes/gigabit-classify/execution", headers=auth(api_keys["analyst"]),
                    json={"inputs": {"programme": "bund-2015", "reference_date": "2025-06-01",
                                     "snapshot": "journey-api-old"}})
    assert r.status_code == 200, r.text
    assert any("outside the validity" in w for w in r.json()["warnings"])
    ok = client.post("/processes/gigabit-classify/execution", headers=auth(api_keys["analyst"]),
                     json={"inputs": {"programme": "bund-2015", "reference_date": "2019-06-01",
                                      "snapshot": "journey-api-2019"}}).json()
    assert ok["warnings"] == []
    items = client.get("/collections/gigabit_result/items", headers=auth(api_keys["analyst"]),
                       params={"snapshot_id": "journey-api-2019", "limit": 50}).json()
    assert items["features"] and {f["properties"]["snapshot_id"] for f in items["features"]} == {"journey-api-2019"}
    cql = client.get("/collections/gigabit_result/items", headers=auth(api_keys["analyst"]),
                     params={"filter": "snapshot_id = 'journey-api-old'", "limit": 5}).json()
    assert {f["properties"]["snapshot_id"] for f in cql["features"]} == {"journey-api-old"}
    snaps = client.post("/processes/gigabit-snapshots/execution", headers=auth(api_keys["reader"]),
                        json={"inputs": {}}).json()
    ids = [s["id"] for s in snaps["snapshots"]]
    assert {"journey-2024", "journey-api-old"} <= set(ids) and snaps["newest"] == ids[0]


def test_snapshot_counts_printed_and_recorded_equal_the_partition(journey, conn):
    """Issue #12: the snapshot is counted in one pass; what the command prints and what result_run records (who,
    when, counts per class) equal a fresh count of the snapshot's rows."""
    steps, _ = journey
    fresh = {r["class_de"]: r for r in conn.execute(
        "SELECT class_de, count(*) AS n, count(*) FILTER (WHERE eligible) AS eligible "
        "FROM registry.gigabit_classification WHERE snapshot_id = 'journey-2024' GROUP BY 1").fetchall()}
    run = conn.execute("SELECT summary, created_by, created_at FROM registry.result_run "
                       "WHERE kind = 'gigabit_snapshot' AND key = 'journey-2024'").fetchone()
    summary = run["summary"]
    assert run["created_by"] and run["created_at"] is not None
    assert summary["classes"] == {k: r["n"] for k, r in fresh.items()}
    assert summary["addresses"] == sum(r["n"] for r in fresh.values())
    assert summary["eligible"] == sum(r["eligible"] for r in fresh.values())
    assert summary["programme"] == "gigabit-rl-2.0-2024" and summary["reference_date"] == "2026-11-26"
    text = " ".join(steps["classify-2024"].output.split())
    assert f"eligible addresses: {summary['eligible']:,} of {summary['addresses']:,}" in text
    for klass, r in fresh.items():
        assert f"{klass} /" in text and f"{r['n']:,}" in text
    conn.rollback()
