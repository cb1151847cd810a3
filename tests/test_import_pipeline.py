"""A large layer is validated in chunks while the chunk before is written (registry/importers/load.py:
``_pipelined``): the same rows, history, fingerprint and counts as the whole-frame path; a refusal in a later chunk
(or a duplicate id across chunks) still refuses the whole run, names every bad row and leaves the database as it
was. The sizes are made small here so that a few dozen rows make several chunks."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import Point

from netzatlas.errors import ImportRejected
from netzatlas.registry import store
from netzatlas.registry.importers import load
from netzatlas.registry.importers.load import load_layers


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 10 rows from 30 rows on (the real sizes: 20,000 / 40,000)."""
    monkeypatch.setattr(load, "PIPELINE_MIN_ROWS", 30)
    monkeypatch.setattr(load, "CHUNK_MIN_ROWS", 10)
    monkeypatch.setattr(load, "CHUNKS", 100)


def _lamps(n: int) -> gpd.GeoDataFrame:
    """Lamps in a shuffled order (a file is rarely sorted by its ids)."""
    return _shuffled(n)


def _shuffled(n: int) -> gpd.GeoDataFrame:
    gdf = _ordered(n)
    return gdf.iloc[[(i * 7) % n for i in range(n)] if n % 7 else list(range(n))].reset_index(drop=True)


def _ordered(n: int) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"external_id": [f"P{i:04d}" for i in range(n)], "height_m": [4.0 + i % 8 for i in range(n)],
         "lamp_type": ["LED"] * n},
        geometry=[Point(6.06 + (i % 50) * 1e-4, 50.76 + (i // 50) * 1e-4) for i in range(n)], crs="EPSG:4326")


def _counts(conn, source: str) -> tuple[int, int]:
    row = conn.execute(
        "SELECT (SELECT count(*) FROM registry.streetlight WHERE source = %(s)s) AS rows, "
        "(SELECT count(*) FROM audit.change c JOIN audit.batch b ON b.id = c.batch_id WHERE b.source = %(s)s) "
        "AS history", {"s": source}).fetchone()
    conn.commit()
    return row["rows"], row["history"]


def test_pipelined_first_load_writes_every_chunk_with_history_fingerprint_and_reimport_changes_nothing(
        conn, unique_source, small_chunks, monkeypatch):
    calls: list[tuple[str, int, int]] = []
    writes: list[int] = []
    real_write = store.ChunkedUpsert.write
    monkeypatch.setattr(store.ChunkedUpsert, "write", lambda self, f: writes.append(len(f)) or real_write(self, f))
    rep = load_layers({"streetlight": _lamps(45)}, source=unique_source, kind="test",
                      progress=lambda *a: calls.append(a))
    assert rep.table() == [{"layer": "streetlight", "created": 45, "updated": 0, "unchanged": 0, "rejected": 0}]
    assert writes == [10, 10, 10, 10, 5], "five chunks, each written"
    assert ("importing streetlight", 0, 45) in calls and ("importing streetlight", 45, 45) in calls
    assert _counts(conn, unique_source) == (45, 45)
    rows = conn.execute("SELECT external_id, height_m, lamp_type, version FROM registry.streetlight "
                        "WHERE source = %s ORDER BY external_id", [unique_source]).fetchall()
    assert [(r["external_id"], r["height_m"], r["lamp_type"], r["version"]) for r in rows] == [
        (f"P{i:04d}", 4.0 + i % 8, "LED", 1) for i in range(45)]
    ids = [r["id"] for r in conn.execute("SELECT id::text AS id FROM registry.streetlight WHERE source = %s "
                                         "ORDER BY external_id", [unique_source]).fetchall()]
    assert ids == sorted(ids), "ids ascend in external-id order over all chunks (the keys grow at their end)"
    # the fingerprint of the chunks is the one of the whole file (a whole-frame import finds it again)
    stored = conn.execute("SELECT fingerprint, features FROM audit.import_fingerprint WHERE source = %s",
                          [unique_source]).fetchall()
    conn.commit()
    assert len(stored) == 1 and stored[0]["features"] == 45
    again = load_layers({"streetlight": _lamps(45)}, source=f"{unique_source}-copy", kind="test")
    assert any(unique_source in w for w in again.warnings), again.warnings
    prepared_whole = conn.execute("SELECT fingerprint FROM audit.import_fingerprint WHERE source = %s",
                                  [f"{unique_source}-copy"]).fetchone()["fingerprint"]
    conn.commit()
    assert prepared_whole == stored[0]["fingerprint"]
    # re-import through the chunks: nothing changes, no history row
    rep2 = load_layers({"streetlight": _lamps(45)}, source=unique_source, kind="test")
    assert (rep2.results[0].created, rep2.results[0].updated, rep2.results[0].unchanged) == (0, 0, 45)
    changed = _lamps(47)
    changed.loc[33, "height_m"] = 11.5
    rep3 = load_layers({"streetlight": changed}, source=unique_source, kind="test")
    assert (rep3.results[0].created, rep3.results[0].updated, rep3.results[0].unchanged) == (2, 1, 44)
    assert _counts(conn, unique_source) == (47, 48)


def test_refusal_in_a_later_chunk_and_a_duplicate_across_chunks_refuse_the_run_and_name_every_row(
        conn, unique_source, small_chunks):
    gdf = _ordered(50)
    gdf.loc[42, "height_m"] = -3.0  # chunk 5
    gdf.loc[35, "external_id"] = "P0002"  # the same id as a row of chunk 1
    with pytest.raises(ImportRejected) as exc:
        load_layers({"streetlight": gdf}, source=unique_source, kind="test")
    reasons = {r.row: r.reason for r in exc.value.rejects}
    assert set(reasons) == {3, 36, 43}, reasons
    assert "duplicate external id 'P0002'" in reasons[3] and "rows 3, 36" in reasons[36]
    assert "negative" in reasons[43]
    assert _counts(conn, unique_source) == (0, 0), "nothing of the chunks written before stays"
    assert conn.execute("SELECT count(*) AS n FROM audit.batch WHERE source = %s", [unique_source]
                        ).fetchone()["n"] == 0
    conn.commit()


def test_skip_invalid_writes_the_good_rows_of_every_chunk(conn, unique_source, small_chunks):
    gdf = _lamps(40)
    gdf.loc[[5, 25], "height_m"] = -1.0
    rep = load_layers({"streetlight": gdf}, source=unique_source, kind="test", skip_invalid=True)
    assert rep.table()[0]["created"] == 38 and [r.row for _, r in rep.rejects] == [6, 26]
    assert _counts(conn, unique_source) == (38, 38)


def test_pipelined_large_first_load_drops_the_spatial_index_once_and_builds_it_after(
        conn, unique_source, small_chunks, monkeypatch):
    monkeypatch.setattr(store, "REBUILD_MIN_ROWS", 1)
    size = conn.execute("SELECT greatest(c.reltuples::bigint, (SELECT count(*) FROM registry.streetlight)) AS n "
                        "FROM pg_class c WHERE c.oid = 'registry.streetlight'::regclass").fetchone()["n"]
    index_def = "SELECT indexdef FROM pg_indexes WHERE schemaname = 'registry' AND indexname = 'streetlight_geom_idx'"
    before = conn.execute(index_def).fetchone()["indexdef"]
    conn.commit()
    monkeypatch.setattr(load, "CHUNK_MIN_ROWS", max(10, (size + 40) // 4))
    seen: list[list[str]] = []
    real = store._drop_secondary_indexes
    monkeypatch.setattr(store, "_drop_secondary_indexes", lambda *a: seen.append(real(*a)) or seen[-1])
    gdf = _lamps(size + 40)
    gdf["geometry"] = [Point(6.06 + (i % 500) * 1e-4, 50.76 + (i // 500) * 1e-4) for i in range(len(gdf))]
    rep = load_layers({"streetlight": gdf}, source=unique_source, kind="test")
    assert rep.results[0].created == size + 40
    assert seen == [[before]], "dropped once for all chunks"
    assert conn.execute(index_def).fetchone()["indexdef"] == before
    conn.commit()
    assert _counts(conn, unique_source) == (size + 40, size + 40)
