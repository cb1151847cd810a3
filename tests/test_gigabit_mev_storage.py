"""Storage of market-exploration supply as one partition per source (revision 0018, registry/mev_store.py), through
the CLI on the Aachen demo registry: a replaced batch keeps its history (the audit rows with before-images, as the
table's history triggers write them), a refusal leaves no partition behind, the same answers again change nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

DATA = Path(__file__).parent / "data" / "mev"
SOURCE = "mev:mev-store:Telekom"


@pytest.fixture(autouse=True)
def _remove_supply(aachen_loaded, conn):
    """The test's supply rows go again afterwards: other modules' imports check their answers against the supply
    of the same operator already in the register."""
    yield
    conn.rollback()
    conn.execute("DELETE FROM registry.broadband_supply WHERE source LIKE 'mev:mev-store%'")
    conn.commit()


def _run(*args: str):
    from netzatlas.cli.main import app

    result = CliRunner().invoke(app, ["gigabit", "mev-import", *args, "--date", "2026-11-30"],
                                env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), (result.exception, result.output)
    return result


def _changed_file(tmp_path: Path, name: str = "telekom_changed.csv") -> Path:
    """The Telekom answers with Königstraße 12 now at 25.5/5 Mbit/s and Königstraße 13 left out."""
    text = (DATA / "telekom_latin1.csv").read_bytes().decode("latin-1")
    assert "Königstraße;12;;52064;Aachen;16,8;2,4;" in text and "Königstraße;13;" in text
    text = text.replace("Königstraße;12;;52064;Aachen;16,8;2,4;", "Königstraße;12;;52064;Aachen;25,5;5;")
    text = "\r\n".join(line for line in text.split("\r\n") if not line.startswith("Königstraße;13;"))
    p = tmp_path / name
    p.write_bytes(text.encode("latin-1"))
    return p


def _partitions(conn) -> dict[str, int]:
    rows = conn.execute("SELECT pg_get_expr(c.relpartbound, c.oid) AS bound, c.oid::int AS oid FROM pg_inherits i "
                        "JOIN pg_class c ON c.oid = i.inhrelid "
                        "WHERE i.inhparent = 'registry.broadband_supply'::regclass").fetchall()
    conn.rollback()
    return {r["bound"]: r["oid"] for r in rows}


def _tables(conn) -> set[str]:
    rows = conn.execute("SELECT relname FROM pg_class WHERE relname LIKE 'broadband\\_supply\\_%' "
                        "AND relkind IN ('r', 'p')").fetchall()
    conn.rollback()
    return {r["relname"] for r in rows}


def _row(conn, street: str, number: str, technology: str) -> dict:
    row = conn.execute("SELECT s.id::text AS id, s.version, s.down_mbps, s.up_mbps, s.deleted_at, "
                       "s.tableoid::regclass::text AS part FROM registry.broadband_supply s "
                       "JOIN registry.fibre_address a ON a.id = s.address_id WHERE s.source = %s AND a.street = %s "
                       "AND a.house_number = %s AND a.house_number_suffix IS NULL AND s.technology = %s",
                       [SOURCE, street, number, technology]).fetchone()
    conn.rollback()
    return row


def _history(conn, row_id: str) -> list[dict]:
    rows = conn.execute("SELECT operation, version, before, batch_id FROM audit.change WHERE row_id = %s "
                        "AND table_name = 'registry.broadband_supply' ORDER BY seq", [row_id]).fetchall()
    conn.rollback()
    return rows


def _count(conn, query: str) -> int:
    n = conn.execute(query).fetchone()["n"]
    conn.rollback()
    return n


def test_a_replaced_batch_keeps_its_history_and_the_same_answers_change_nothing(aachen_loaded, conn, tmp_path):
    first = _run(str(DATA / "telekom_latin1.csv"), "--operator", "Telekom", "--mev", "mev-store",
                 "--out", str(tmp_path / "a"))
    assert first.exit_code == 0, first.output
    bound = f"FOR VALUES IN ('{SOURCE}')"
    parts = _partitions(conn)
    assert bound in parts and "DEFAULT" in parts  # the source in a partition of its own
    k12 = _row(conn, "Königstraße", "12", "fttc_vdsl")
    k13 = _row(conn, "Königstraße", "13", "docsis31")
    assert (k12["version"], k12["down_mbps"], k12["up_mbps"]) == (1, 16.8, 2.4)
    assert [h["operation"] for h in _history(conn, k12["id"])] == ["INSERT"]
    live = _count(conn, f"SELECT count(*) AS n FROM registry.broadband_supply WHERE source = '{SOURCE}' "
                        "AND deleted_at IS NULL")
    assert live == 16

    changed = _changed_file(tmp_path)
    second = _run(str(changed), "--operator", "Telekom", "--mev", "mev-store", "--out", str(tmp_path / "b"))
    assert second.exit_code == 0, second.output
    after = _partitions(conn)
    assert after[bound] != parts[bound]  # a new partition replaced the old one …
    assert len([b for b in after if SOURCE in b]) == 1
    assert _count(conn, f"SELECT count(*) AS n FROM pg_class WHERE oid = {parts[bound]}") == 0
    n12 = _row(conn, "Königstraße", "12", "fttc_vdsl")
    n13 = _row(conn, "Königstraße", "13", "docsis31")
    # … keeping the row's identity, with a new version and the before-image in the history
    assert n12["id"] == k12["id"] and (n12["version"], n12["down_mbps"], n12["up_mbps"]) == (2, 25.5, 5.0)
    h12 = _history(conn, k12["id"])
    assert [h["operation"] for h in h12] == ["INSERT", "UPDATE"]
    assert h12[1]["before"]["down_mbps"] == 16.8 and h12[1]["version"] == 2
    # the answer no longer holds Königstraße 13: withdrawn (soft-deleted), visible as a DELETE with its image
    assert n13["id"] == k13["id"] and n13["deleted_at"] is not None
    h13 = _history(conn, k13["id"])
    assert [h["operation"] for h in h13] == ["INSERT", "DELETE"] and h13[1]["before"]["down_mbps"] == 1000.0
    row = conn.execute("SELECT created, updated, unchanged, withdrawn FROM registry.mev_summary_result "
                       "WHERE mev_id = 'mev-store' AND latest").fetchone()
    conn.rollback()
    assert (row["created"], row["updated"], row["withdrawn"]) == (0, 1, 1) and row["unchanged"] == live - 2
    # the history rows belong to the second import's batch, and the current image is the new row
    batch = conn.execute("SELECT batch_id FROM registry.mev_import WHERE mev_id = 'mev-store' "
                         "ORDER BY created_at DESC LIMIT 1").fetchone()["batch_id"]
    image = conn.execute("SELECT audit.current_image('registry.broadband_supply', %s) AS i", [k12["id"]]).fetchone()
    conn.rollback()
    assert h12[1]["batch_id"] == batch == h13[1]["batch_id"] and image["i"]["down_mbps"] == 25.5

    # the same answers again: nothing changes — same partition, no history row, every row unchanged
    changes = _count(conn, "SELECT count(*) AS n FROM audit.change")
    third = _run(str(changed), "--operator", "Telekom", "--mev", "mev-store", "--out", str(tmp_path / "c"))
    assert third.exit_code == 0, third.output
    assert _partitions(conn)[bound] == after[bound]
    assert _count(conn, "SELECT count(*) AS n FROM audit.change") == changes
    assert _row(conn, "Königstraße", "12", "fttc_vdsl") == n12
    row = conn.execute("SELECT created, updated, unchanged, withdrawn FROM registry.mev_summary_result "
                       "WHERE mev_id = 'mev-store' AND latest").fetchone()
    conn.rollback()
    assert (row["created"], row["updated"], row["withdrawn"]) == (0, 0, 0) and row["unchanged"] == live - 1


def test_a_refused_replacement_leaves_the_partition_and_its_history(aachen_loaded, conn, tmp_path):
    """The supply partition is swapped before the summary row is written: a refusal there takes the swap back."""
    ok = _run(str(DATA / "telekom_latin1.csv"), "--operator", "Telekom", "--mev", "mev-store-boom",
              "--out", str(tmp_path / "a"))
    assert ok.exit_code == 0, ok.output
    before = (_partitions(conn), _tables(conn), _count(conn, "SELECT count(*) AS n FROM audit.change"),
              _count(conn, "SELECT count(*) AS n FROM registry.broadband_supply WHERE deleted_at IS NULL"))
    conn.execute("ALTER TABLE registry.mev_import ADD CONSTRAINT test_boom_store CHECK (file_name <> "
                 "'telekom_boom.csv')")
    conn.commit()
    try:
        out = tmp_path / "b"
        result = _run(str(_changed_file(tmp_path, "telekom_boom.csv")), "--operator", "Telekom",
                      "--mev", "mev-store-boom", "--out", str(out))
        assert result.exit_code == 2, result.output
        assert "test_boom_store" in " ".join(result.output.split())
        after = (_partitions(conn), _tables(conn), _count(conn, "SELECT count(*) AS n FROM audit.change"),
                 _count(conn, "SELECT count(*) AS n FROM registry.broadband_supply WHERE deleted_at IS NULL"))
        assert after == before  # no new partition, no stray table, no history row, the old rows live
        assert not out.exists() or not any(out.iterdir())
    finally:
        conn.execute("ALTER TABLE registry.mev_import DROP CONSTRAINT test_boom_store")
        conn.commit()


def _area_matches_the_live_supply(conn, mev: str) -> bool:
    """The stored covered area equals the hull of the register points of the source's live supply, as PostGIS
    computes it from the rows (the import computes it from the matched register points it holds)."""
    row = conn.execute(
        "SELECT ST_Equals(i.geom, (SELECT ST_Multi(ST_Buffer(ST_ConvexHull(ST_Collect(a.geom)), 1)) "
        "FROM registry.fibre_address a WHERE a.id IN (SELECT address_id FROM registry.broadband_supply "
        "WHERE source = i.source AND deleted_at IS NULL))) AS same, ST_NPoints(i.geom) AS points "
        "FROM registry.mev_import i WHERE i.mev_id = %s ORDER BY i.created_at DESC LIMIT 1", [mev]).fetchone()
    conn.rollback()
    return bool(row["same"]) and row["points"] > 4


def test_the_covered_area_is_the_hull_of_the_live_supply_after_each_import(aachen_loaded, conn, tmp_path):
    first = _run(str(DATA / "telekom_latin1.csv"), "--operator", "Telekom", "--mev", "mev-store",
                 "--out", str(tmp_path / "a"))
    assert first.exit_code == 0, first.output
    assert _area_matches_the_live_supply(conn, "mev-store")
    shorter = _run(str(_changed_file(tmp_path)), "--operator", "Telekom", "--mev", "mev-store",
                   "--out", str(tmp_path / "b"))  # Königstraße 13 withdrawn: the area shrinks with the live rows
    assert shorter.exit_code == 0, shorter.output
    assert _area_matches_the_live_supply(conn, "mev-store")


def test_multipoint_wkb_reads_back_in_postgis(conn):
    import numpy as np

    from netzatlas.registry.mev_store import multipoint_wkb

    xy = np.array([[295000.5, 5628000.25], [295010.0, 5628020.0], [295020.0, 5628000.0]])
    row = conn.execute("SELECT ST_AsText(ST_GeomFromWKB(%s)) AS t", [multipoint_wkb(xy)]).fetchone()
    conn.rollback()
    assert row["t"] == "MULTIPOINT((295000.5 5628000.25),(295010 5628020),(295020 5628000))"
