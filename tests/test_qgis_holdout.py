"""The city's GIS analyst in a real, headless QGIS (Debian's python3-qgis) against a live netzatlas API, with the
plugin installed from its zip into a fresh profile: odd connection URLs (trailing slash, https, a path prefix
behind a reverse proxy), an expired key and a server that is down (clear messages, no traceback), every collection
(results, an empty layer, 100,000 streetlights: paging and counts right), the same layers added twice, a CQL2
filter, the snapshot chooser with an umlaut snapshot, odd algorithm parameters, a run cancelled mid-way, reload
and unload. One QGIS process (tests/qgis_scripts/holdout_check.py) runs every case; the tests check its record
against the database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from netzatlas.api.auth import create_key

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(__file__).with_name("qgis_scripts") / "holdout_check.py"
BULK_SOURCE = "qgis-holdout-bulk"
BULK = 100_000


@pytest.fixture(scope="module")
def bulk_lights(aachen_loaded):
    """100,000 more streetlights (and one named with umlauts), removed again after the module."""
    from netzatlas.registry.db import connect

    with connect(aachen_loaded) as c:
        c.execute("INSERT INTO registry.streetlight (source, external_id, owner_org, name, geom) "
                  "SELECT %s, 'H9-' || i, 'city', 'Leuchte ' || i, ST_Transform(ST_SetSRID(ST_MakePoint("
                  "6.05 + (i %% 400) * 0.0002, 50.75 + (i / 400) * 0.0002), 4326), 25832) "
                  "FROM generate_series(1, %s) AS i", [BULK_SOURCE, BULK - 1])
        c.execute("INSERT INTO registry.streetlight (source, external_id, owner_org, name, geom) VALUES (%s, "
                  "'H9-UML', 'city', 'Leuchte Königstraße', ST_Transform(ST_SetSRID(ST_MakePoint(6.083, 50.776), "
                  "4326), 25832))", [BULK_SOURCE])
        c.execute("ANALYZE registry.streetlight")
        c.commit()
    yield BULK
    with connect(aachen_loaded) as c:
        c.execute("SET session_replication_role = replica")  # no history rows for the cleanup
        c.execute("DELETE FROM registry.streetlight WHERE source = %s", [BULK_SOURCE])
        c.execute("SET session_replication_role = origin")
        c.execute("ANALYZE registry.streetlight")
        c.commit()


@pytest.fixture(scope="module")
def record(aachen_loaded, bulk_lights, live_server, tmp_path_factory):
    from netzatlas.registry.db import connect

    scopes = ["read", "read:confidential", "write:gigabit_result", "write:funding_area_result",
              "write:coverage_hole_result", "write:mast_request"]
    with connect(aachen_loaded) as c:
        key = create_key(c, "city", scopes, "qgis-holdout")
        expired = create_key(c, "city", ["read"], "qgis-holdout-expired",
                             expires_at=datetime.now(UTC) + timedelta(days=1))
        c.execute("UPDATE registry.api_key SET expires_at = now() - interval '1 hour' WHERE name = %s",
                  ["qgis-holdout-expired"])
        c.commit()
    out = tmp_path_factory.mktemp("qgis-holdout")
    sys.path.insert(0, str(ROOT / "qgis_plugin"))
    import build_zip

    plugin_zip = build_zip.build(out / "dist")
    try:
        res = subprocess.run(["/usr/bin/python3", str(SCRIPT), live_server, key, expired, str(plugin_zip), str(out)],
                             capture_output=True, text=True, timeout=1200,
                             env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": "", "HOME": str(out)})
    except subprocess.TimeoutExpired as exc:
        err = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        pytest.fail(f"the QGIS check ran out of time; its last steps:\n{err[-3000:]}")
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("{")]
    assert lines, res.stderr[-3000:]
    doc = json.loads(lines[-1])
    (out / "record.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False), encoding="utf-8")  # to read
    return doc


def _case(record: dict, name: str) -> dict:
    assert name not in record["errors"], record["errors"][name]
    assert name in record, record["errors"]
    return record[name]


def test_zip_installs_into_a_fresh_profile_with_the_metadata_qgis_checks(record):
    r = _case(record, "install")
    assert r["available"] and r["started"] and r["from_profile"] and r["provider"], r
    meta = r["metadata"]
    assert meta["qgisMinimumVersion"] == "3.22" and meta["version"] == "0.1.0" and meta["name"] == "netzatlas"
    for field in ("about", "description", "repository", "tracker", "author", "email"):
        assert meta[field] not in ("", "__error__"), field
    assert meta["icon"] == "icon.png" and r["icon_file"] and r["icon_ok"], r
    assert len(r["menu"]) == 3


def test_connection_urls_a_demanding_user_types(record):
    r = _case(record, "urls")
    assert r["trailing_slash"] == r["two_slashes"] == r["no_scheme"] == "ok", r
    assert r["https"].startswith("unreachable") and "Check the URL" in r["https"], r["https"]
    assert r["wrong_prefix"] == "not a netzatlas API: the server answered HTTP 404.", r["wrong_prefix"]
    assert r["proxied"] == r["proxied_slash"] == "ok", r  # served under /netzatlas by a reverse proxy


def test_algorithm_through_a_path_prefix_proxy(record, conn):
    r = _case(record, "proxied_algorithm")
    assert r["file"] and r["features"] >= 1, r


def test_expired_key_says_so(record):
    r = _case(record, "expired_key")
    assert r["test"].startswith("bad key") and "expired on" in r["test"], r["test"]
    (shown,) = r["shown"]
    assert "expired on" in shown and "Traceback" not in shown, shown


def test_server_down_clear_message_nothing_added(record):
    r = _case(record, "server_down")
    assert r["message"].startswith("unreachable") and r["status"].startswith("Server nicht erreichbar – unreachable")
    assert r["accepted"] == 0  # the dialog stays open
    (shown,) = r["shown"]
    assert shown.startswith("unreachable") and "Traceback" not in shown, shown
    assert r["added"] == 0


def test_every_collection_with_exact_counts_by_paging(record, conn, bulk_lights):
    r = _case(record, "all_layers")
    listed = {k for k in r if not k.startswith("_")}
    assert {"gigabit_result", "funding_area_result", "coverage_hole_result", "mast_request", "streetlight",
            "wlan_hotspot", "candidate_site"} <= listed, sorted(listed)
    for cid in listed:
        info = r[cid]
        assert info["valid"], cid
        if cid in ("gigabit_result", "funding_area_result"):
            assert info["snapshot"] == "h9 Stand Süd", (cid, info)  # the newest
            where = "snapshot_id = 'h9 Stand Süd'"
        else:
            where = "deleted_at IS NULL"
        n = conn.execute(f"SELECT count(*) AS n FROM registry.{cid} WHERE {where}").fetchone()["n"]
        if info["count"] is not None:
            assert info["count"] == n, (cid, info, n)
        if n < 100_000:
            assert info["featureCount"] == n, (cid, info, n)
    assert r["streetlight"]["count"] >= bulk_lights  # 100,000 streetlights read page by page
    empty = [cid for cid in listed if r[cid]["count"] == 0]
    assert empty, "an empty collection (e.g. coverage_hole_result) loads as a valid layer"


def test_same_layers_added_twice_are_not_duplicated(record):
    r = _case(record, "all_layers")
    twice = r["_twice"]
    assert twice["second"] == 0 and twice["in_project"] == twice["first"], twice
    assert len(twice["groups"]) == len(set(twice["groups"])) == 4, twice
    assert r["_other_snapshot"] == ["funding_area_result", "gigabit_result"]  # another snapshot is added
    assert r["_other_server"] == {"added": twice["first"], "groups": 4}  # the same collections of another server


def test_snapshot_chooser_loads_only_the_picked_snapshot(record, conn):
    r = _case(record, "chooser")
    assert r["offered"][0].startswith("h9 Stand Süd — "), r["offered"]  # newest first
    n = conn.execute("SELECT count(*) AS n FROM registry.gigabit_result WHERE snapshot_id = 'h9-alt'").fetchone()["n"]
    assert n > 0 and r["snapshot"] == "h9-alt" and r["snapshots_seen"] == ["h9-alt"]
    assert r["rows"] == r["featureCount"] == n
    assert r["after_cancel"] == 0


def test_umlaut_snapshot_filtered_by_the_server(record, conn):
    r = _case(record, "umlaut_snapshot")
    n = conn.execute("SELECT count(*) AS n FROM registry.gigabit_result WHERE snapshot_id = 'h9 Stand Süd'"
                     ).fetchone()["n"]
    assert r["valid"] and r["name"] == "Gigabit-Ergebnis — h9 Stand Süd"
    assert r["snapshots_seen"] == ["h9 Stand Süd"] and r["rows"] == r["featureCount"] == n > 0
    assert record["classify"]["h9 Stand Süd"] == n


def test_cql2_filter_from_the_plugin(record):
    r = _case(record, "filter")
    assert r["valid"] and r["names"] == ["Leuchte Königstraße"] and r["featureCount"] == 1, r
    assert r["name"] == "Straßenleuchten" and r["filter"] == "name = 'Leuchte Königstraße'"
    assert r["bad"] and r["bad"].startswith("HTTP 400") and "Traceback" not in r["bad"], r["bad"]


def test_odd_algorithm_parameters(record):
    r = _case(record, "odd_parameters")
    assert r["k0"]["ok"] and r["k0"]["features"] == 0 and r["k0"]["file_features"] == 0, r["k0"]
    bad = r["radius0"]
    assert not bad["ok"] and bad["type"] == "QgsProcessingException", bad
    assert bad["error"].startswith("the server refused: HTTP 400: ") and "radius_m" in bad["error"], bad
    assert "{" not in bad["error"], bad  # the problem's detail, not its raw JSON
    umlaut = r["umlaut_folder"]
    assert umlaut["ok"] and umlaut["features"] == umlaut["file_features"] >= 1, umlaut
    assert umlaut["path"].endswith(os.path.join("Ergebnisse Müller & Söhne", "Straßen Ü", "Lücken – Süd.geojson"))
    ((name, count, source),) = r["loaded"]
    assert count == umlaut["features"] and source == umlaut["path"]


def test_cancel_mid_run_leaves_no_half_result(record):
    r = _case(record, "cancel_mid_run")
    assert r["progress_seen"], r  # cancelled after the job reported
    assert not r["result"]["ok"] and "cancel" in r["result"]["error"], r
    assert not r["file"] and r["layers"] == 0, r
    assert r["job_status"] == "dismissed", r


def test_reload_and_unload_leave_nothing_behind(record):
    r = _case(record, "reload")
    assert r["reload"] and r["providers"] == 1 and r["algorithms"] == 9, r
    assert len(r["menu_after_reload"]) == 3, r
    assert r["unload"] and r["second_unload"] == "ok", r
    assert r["menu_after_unload"] == [] and not r["provider_after_unload"] and not r["algorithm_after_unload"], r
    assert r["modules_left"] == [], r


def test_no_case_crashed(record):
    assert record["errors"] == {}, record["errors"]


# ------------------------------------------------------------------ the plugin's logic for these cases, without QGIS
def _logic():
    sys.path.insert(0, str(ROOT / "qgis_plugin"))
    from netzatlas_qgis import logic

    return logic


def test_job_path_behind_a_path_prefix():
    logic = _logic()
    assert logic.job_path("http://h:8080", "http://h:8080/jobs/abc") == "/jobs/abc"
    # the server names its own address; the plugin talks to it through https://gis.example/netzatlas
    assert logic.job_path("https://gis.example/netzatlas", "http://127.0.0.1:8080/jobs/abc") == "/jobs/abc"
    assert logic.job_path("https://gis.example/netzatlas", "", b'{"jobID": "j1"}') == "/jobs/j1"
    with pytest.raises(ValueError, match="no job"):
        logic.job_path("http://h", "", b"{}")


def test_refusals_carry_the_servers_reason():
    logic = _logic()
    body = json.dumps({"title": "Unauthorized", "detail": "the API key expired on 2026-11-30 10:00 UTC"})
    msg = logic.classify_connection(401, body.encode())
    assert msg.startswith("bad key") and "expired on 2026-11-30" in msg and "netzatlas keys create" in msg
    assert "unknown, revoked or expired" in logic.classify_connection(401, b"")
    assert logic.filter_params(" name = 'Königstraße' ") == {"filter": "name = 'Königstraße'",
                                                             "filter-lang": "cql2-text"}
