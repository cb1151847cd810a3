"""A large first load validated and written piece by piece (``importers/load._write_in_pieces``): the server copies
one piece while the next is validated. Its outcome must be the whole-file path's, row for row: every case below is
imported twice into empty registries — piece by piece and the usual way — and the two compared (the report, the
stored rows, the history, the fingerprint, the keys and indexes), or refused the same way with the database empty.

The thresholds are lowered for the tests (pieces of 4 rows from 10 rows on); the CLI journey with the real ones
(100,000 lamps) is ``tests/test_bulk_history.py``'s first test, which goes this way."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import pytest
from shapely.geometry import Point

from netzatlas.errors import ImportRejected
from netzatlas.registry import store
from netzatlas.registry.db import connect
from netzatlas.registry.importers import load
from tests.test_gigabit_holdout import new_registry

N = 30  # rows per case: 8 pieces of 4 (the last of 2)


@pytest.fixture(scope="module")
def registries(db_url: str) -> Iterator[dict[str, str]]:
    """Two empty registries: one written piece by piece, one the usual way."""
    from tests.conftest import _cluster

    made = {mode: new_registry(f"netzatlas_pieces_{mode}") for mode in ("pieces", "whole")}
    try:
        yield {mode: url for mode, (url, _) in made.items()}
    finally:
        for _, name in made.values():
            _cluster().drop_database(name)


@pytest.fixture
def small(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(load, "PIECEWISE_MIN_ROWS", 10)
    monkeypatch.setattr(load, "PIECE_ROWS", (4, 4))
    monkeypatch.setattr(store, "REBUILD_MIN_ROWS", 10)
    monkeypatch.setattr(store, "BULK_HISTORY_MIN_ROWS", 10)


def _empty(url: str) -> None:
    """The registry as new: no lamp, no history, no fingerprint."""
    with psycopg.connect(url, autocommit=True) as c:
        for (t,) in c.execute("SELECT inhrelid::regclass::text FROM pg_inherits "
                              "WHERE inhparent = 'audit.change'::regclass").fetchall():
            c.execute(f"DROP TABLE {t}")
        c.execute("TRUNCATE registry.streetlight")
        c.execute("DELETE FROM audit.change")
        c.execute("DELETE FROM audit.import_fingerprint")


def _state(url: str) -> dict[str, object]:
    """What a user and the registry see of the lamps: rows (without ids and times), history, fingerprint, keys."""
    with psycopg.connect(url) as c:
        return {
            "rows": c.execute(
                "SELECT source, external_id, owner_org, status, name, height_m, lamp_type, permanent_power, "
                "properties::text, version, ST_AsText(geom) FROM registry.streetlight ORDER BY external_id"
            ).fetchall(),
            "history": c.execute("SELECT operation, version, count(*) FROM audit.change "
                                 "GROUP BY 1, 2 ORDER BY 1, 2").fetchall(),
            "history_ids": c.execute("SELECT count(*) FROM audit.change a JOIN registry.streetlight s "
                                     "ON s.id = a.row_id").fetchone(),
            "history_tables": c.execute("SELECT count(*) FROM pg_inherits "
                                        "WHERE inhparent = 'audit.change'::regclass").fetchone(),
            "fingerprint": c.execute("SELECT layer, source, fingerprint, features FROM audit.import_fingerprint"
                                     ).fetchall(),
            "keys": c.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                              "WHERE conrelid = 'registry.streetlight'::regclass ORDER BY 1").fetchall(),
            "indexes": c.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'registry' "
                                 "AND tablename = 'streetlight' ORDER BY 1").fetchall(),
        }


def _outcome(url: str, gdf: gpd.GeoDataFrame, **kw: object) -> tuple[object, dict[str, object]]:
    """The import's report (or its refusal's rows) and the registry after it."""
    try:
        rep = load.load_layers({"streetlight": gdf.copy()}, source="lamps", kind="file", url=url, label="lamps.csv",
                               **kw)
        got: object = (rep.table(), rep.notes, rep.warnings, [(r.row, r.reason, r.external_id) for _, r in rep.rejects])
    except ImportRejected as exc:
        got = ("refused", exc.message, [(r.row, r.reason, r.external_id) for r in exc.rejects])
    return got, _state(url)


def _both(registries: dict[str, str], monkeypatch: pytest.MonkeyPatch, gdf: gpd.GeoDataFrame,
          before: Callable[[str], None] | None = None, **kw: object) -> tuple[bool, object, dict[str, object]]:
    """The case imported both ways; asserts the same outcome; whether the pieces' way wrote it, the outcome."""
    used: list[bool] = []
    real = load._write_in_pieces

    def spy(*a: object, **k: object) -> object:
        done = real(*a, **k)
        used.append(done is not None)
        return done

    outcomes = {}
    for mode, url in registries.items():
        _empty(url)
        if before:
            before(url)
        monkeypatch.setattr(load, "_write_in_pieces", spy if mode == "pieces" else (lambda *a, **k: None))
        outcomes[mode] = _outcome(url, gdf, **kw)
    assert outcomes["pieces"][0] == outcomes["whole"][0]
    assert outcomes["pieces"][1] == outcomes["whole"][1]
    return any(used), *outcomes["pieces"]


def _lamps(n: int = N, **columns: object) -> gpd.GeoDataFrame:
    i = np.arange(n)
    return gpd.GeoDataFrame({"external_id": [f" SL-{k:03d}" for k in i], **columns},
                            geometry=[Point(6.08 + k * 1e-4, 50.77 + (k % 7) * 1e-4) for k in i], crs=4326)


def test_clean_lamps_go_piece_by_piece_with_the_whole_files_outcome(registries, small, monkeypatch):
    """German numbers (the decimal mark decided on the whole file: only piece 6 shows it), a file column kept in
    properties, the transformation's note for the whole extent: the same rows, history (one INSERT row per lamp,
    in a history table of the load's own), fingerprint, keys and indexes as the usual path."""
    heights = ["1.000"] * N
    heights[21] = "6,5"  # "1.000" is a thousand once the file shows a decimal comma elsewhere
    used, got, state = _both(registries, monkeypatch, _lamps(height_m=heights, typ=["LED", "NAV"] * (N // 2)))
    assert used
    table, notes, warnings, rejects = got
    assert table == [{"layer": "streetlight", "created": N, "updated": 0, "unchanged": 0, "rejected": 0}]
    assert notes and "EPSG:4326" in notes[0] and rejects == [] and warnings == []
    assert [r[5] for r in state["rows"]].count(1000.0) == N - 1
    assert state["history"] == [("INSERT", 1, N)] and state["history_ids"] == (N,)
    assert state["history_tables"] == (1,)


def test_a_rejected_row_in_a_late_piece_refuses_the_file_as_before_and_writes_nothing(registries, small,
                                                                                     monkeypatch):
    lamps = _lamps()
    lamps.loc[25, "geometry"] = Point(13.4, 52.5)  # Berlin: far outside Aachen
    used, got, state = _both(registries, monkeypatch, lamps)
    assert not used
    assert got[0] == "refused" and got[2][0][0] == 26 and "outside the municipality" in got[2][0][1]
    assert state["rows"] == [] and state["history"] == [] and state["history_tables"] == (0,)
    assert len(state["keys"]) >= 2 and state["indexes"]  # the keys and the spatial index as they were


def test_with_skip_invalid_the_valid_rows_of_every_piece_are_written_as_before(registries, small, monkeypatch):
    lamps = _lamps()
    lamps.loc[[3, 25], "geometry"] = None
    used, got, state = _both(registries, monkeypatch, lamps, skip_invalid=True)
    assert not used
    assert got[0][0]["created"] == N - 2 and [r[0] for r in got[3]] == [4, 26]


def test_an_id_repeated_across_pieces_is_refused_with_both_rows_named(registries, small, monkeypatch):
    """Each piece holds it once: the keys, added again after the COPY, refuse it; the usual path names the rows."""
    lamps = _lamps()
    lamps.loc[27, "external_id"] = "SL-002 "  # the same id as row 3 once stripped
    used, got, state = _both(registries, monkeypatch, lamps)
    assert not used
    assert got[0] == "refused" and {r[0] for r in got[2]} == {3, 28} and "duplicate external id" in got[2][0][1]
    assert state["rows"] == [] and state["history_tables"] == (0,)


def test_a_minus_after_the_number_is_judged_on_the_whole_column(registries, small, monkeypatch):
    """`7,5-` in piece 7 and `-3` in piece 1: the column follows no one habit, so the usual path refuses it — a
    piece alone would not see that; such files go the usual way."""
    heights = ["6,0"] * N
    heights[1], heights[26] = "-3", "7,5-"
    pieces: list[int] = []
    real = load.prepare
    monkeypatch.setattr(load, "prepare", lambda gdf, *a, **k: pieces.append(len(gdf)) or real(gdf, *a, **k))
    used, got, _ = _both(registries, monkeypatch, _lamps(height_m=heights))
    assert pieces == [N, N]  # the whole file, both times: no piece was validated on its own
    assert not used and got[0] == "refused" and any("minus after the number" in r[1] for r in got[2] if r[0] == 27)


def test_heights_dropped_in_one_piece_give_the_whole_files_note(registries, small, monkeypatch):
    lamps = _lamps()
    lamps.loc[9, "geometry"] = Point(6.0809, 50.7702, 181.0)
    used, got, state = _both(registries, monkeypatch, lamps)
    assert not used
    assert any(n.startswith("1 geometries had heights (Z)") for n in got[1]) and len(state["rows"]) == N


def test_a_required_value_left_to_its_default_and_float_ids_go_the_usual_way(registries, small, monkeypatch):
    status = ["planned"] * N
    status[17] = None  # NOT NULL with a default: the usual path writes the default
    used, got, state = _both(registries, monkeypatch, _lamps(status=status))
    assert not used and got[0][0]["created"] == N and {r[3] for r in state["rows"]} == {"planned", "active"}
    lamps = _lamps().assign(external_id=np.arange(N, dtype=float) + 1)
    used, got, state = _both(registries, monkeypatch, lamps)
    assert not used and state["rows"][0][1] == "1"


def test_a_table_with_rows_of_another_source_keeps_its_keys_and_gets_the_same_rows(registries, small, monkeypatch):
    """Not emptied (another source's rows): the keys stay while the pieces are copied — a repeated id then fails
    the COPY itself, and the usual path names the rows; a source that has rows goes the usual way (the update)."""
    def other(url: str) -> None:
        load.load_layers({"streetlight": _lamps(3).assign(external_id=["A", "B", "C"])}, source="other",
                         kind="file", url=url)

    used, got, state = _both(registries, monkeypatch, _lamps(), before=other)
    assert used and got[0][0]["created"] == N and len(state["rows"]) == N + 3
    assert state["history_tables"] == (1,)
    lamps = _lamps()
    lamps.loc[29, "external_id"] = "SL-000"
    used, got, state = _both(registries, monkeypatch, lamps, before=other)
    assert not used and got[0] == "refused" and {r[0] for r in got[2]} == {1, 30}
    assert len(state["rows"]) == 3 and state["history_tables"] == (0,)
    used, got, state = _both(registries, monkeypatch, _lamps(),
                              before=lambda url: load.load_layers({"streetlight": _lamps(2)}, source="lamps",
                                                                  kind="file", url=url))
    assert not used and got[0][0]["created"] == N - 2 and got[0][0]["unchanged"] == 2


def test_the_same_features_under_a_new_source_are_still_named(registries, small, monkeypatch):
    """The fingerprint of the pieces is the whole file's: a second import of the same lamps under another source
    warns as before."""
    lamps, url = _lamps(), registries["pieces"]
    _empty(url)
    load.load_layers({"streetlight": lamps.copy()}, source="lamps", kind="file", url=url)
    with connect(url) as c:
        c.execute("TRUNCATE registry.streetlight")  # (empty again, the fingerprint kept)
        c.commit()
    done: list[object] = []
    real = load._write_in_pieces
    monkeypatch.setattr(load, "_write_in_pieces", lambda *a, **k: done.append(got := real(*a, **k)) or got)
    rep = load.load_layers({"streetlight": lamps.copy()}, source="lamps-2024", kind="file", url=url)
    assert done and done[0] is not None and rep.results[0].created == N  # written in pieces
    assert any("were imported on" in w and "'lamps'" in w for w in rep.warnings)


def test_an_error_in_a_piece_is_raised_and_leaves_nothing(registries, small, monkeypatch):
    """Anything else going wrong while the pieces are written (here: a piece that cannot be made) is the import's
    error, as on the usual path, and the transaction leaves nothing."""
    url = registries["pieces"]
    _empty(url)
    calls = {"n": 0}
    real = load.prepare

    def failing(*a: object, **k: object) -> object:
        calls["n"] += 1
        if calls["n"] == 3:
            raise MemoryError("no memory left")
        return real(*a, **k)

    monkeypatch.setattr(load, "prepare", failing)
    with pytest.raises(MemoryError):
        load.load_layers({"streetlight": _lamps()}, source="lamps", kind="file", url=url)
    state = _state(url)
    assert state["rows"] == [] and state["history"] == [] and state["history_tables"] == (0,)
    assert len(state["keys"]) >= 2


def test_pieces_are_sent_while_the_next_is_validated(registries, small, monkeypatch):
    """The point of it: the COPY has taken piece k before piece k + 2 is validated (the sender holds one piece)."""
    url = registries["pieces"]
    _empty(url)
    seen: list[tuple[str, int]] = []
    real_prepare, real_copy = load.prepare, store._copy_pieces

    def prepare(gdf: pd.DataFrame, *a: object, **k: object) -> object:
        seen.append(("validated", len(gdf)))
        return real_prepare(gdf, *a, **k)

    def copy_pieces(conn, table, pieces, columns, types, sent, binary):  # noqa: ANN001
        def counted(rows: int) -> None:
            seen.append(("sent", rows))
            if sent:
                sent(rows)

        return real_copy(conn, table, pieces, columns, types, counted, binary)

    monkeypatch.setattr(load, "prepare", prepare)
    monkeypatch.setattr(store, "_copy_pieces", copy_pieces)
    load.load_layers({"streetlight": _lamps()}, source="lamps", kind="file", url=url)
    assert seen[:3] == [("validated", 4), ("validated", 4), ("sent", 4)]
    assert [k for k, _ in seen].count("validated") == 8 and seen[-1] == ("sent", 28)
