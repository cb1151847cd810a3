"""The change feed under load: a consumer paging ``/changes?since=<next_since>`` from the start, while long syncs
and short PATCHes commit in any order, receives every committed change exactly once, in a reproducible order.

Against a real ``netzatlas serve`` process (the live_server fixture): four syncs of 12,500 streetlights (long
transactions of seconds, two at a time) and PATCHes of single lamps (short transactions, all the time) write
>= 50,000 changes; besides them, straight in the database, single-row updates in short transactions all the time,
a transaction that takes its transaction id first
and commits late (after both syncs of the first round, with a savepoint rolled back and one released), and one
that is rolled back. Two HTTP consumers page continuously, the second from a cursor the first had reached; at the
end both are compared with audit.change.

The same run also pages the way the feed did before migration 0012 (by sequence number, straight in the database,
exactly the old query), so the test shows it would fail there: that consumer misses at least every change of the
late transaction (it is made to commit only after that consumer has paged past its numbers).
"""

from __future__ import annotations

import json
import threading
import time
import uuid

import httpx
import psycopg
import pytest

from tests.conftest import auth

SYNC_FEATURES = 12_500
SYNCS_PER_WRITER = 2
SYNC_WRITERS = 2
PATCH_WRITERS = 2
LAMPS_PER_PATCHER = 10
LATE_ROWS = 300
ABORTED_ROWS = 1_000
PAGE = 1_000


def ndjson(source_n: int, n: int) -> bytes:
    return "".join(json.dumps({"type": "Feature", "geometry": {
        "type": "Point", "coordinates": [6.03 + (i % 400) * 0.0002, 50.75 + (i // 400) * 0.0001 + source_n * 1e-6]},
        "properties": {"external_id": f"S{i}", "height_m": 6 + i % 5, "lamp_type": "LED"}}) + "\n"
                   for i in range(n)).encode()


class Consumer(threading.Thread):
    """Pages the feed through HTTP from a cursor until the writers are done and a page comes back empty."""

    def __init__(self, url: str, key: str, since: str, done: threading.Event) -> None:
        super().__init__(daemon=True)
        self.url, self.key, self.since, self.done = url, key, since, done
        self.start_since = since
        self.received: list[tuple[int, int]] = []   # (xact, seq) of each change, in the order served
        self.cursors: list[str] = []                # next_since after each page
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with httpx.Client(base_url=self.url, headers=auth(self.key), timeout=120) as c:
                while True:
                    finished = self.done.is_set()             # read before the request: nothing is written after
                    r = c.get("/changes", params={"since": self.since, "limit": PAGE})
                    assert r.status_code == 200, r.text[:300]
                    doc = r.json()
                    for ch in doc["changes"]:
                        x, s = ch["position"].split(".")
                        self.received.append((int(x), int(s)))
                    self.since = doc["next_since"]
                    self.cursors.append(self.since)
                    if not doc["changes"]:
                        if finished:
                            return
                        time.sleep(0.05)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc


class SeqConsumer(threading.Thread):
    """The feed before migration 0012: ``WHERE seq > since ORDER BY seq`` (straight in the database)."""

    def __init__(self, db_url: str, tables: list[str], done: threading.Event) -> None:
        super().__init__(daemon=True)
        self.db_url, self.tables, self.done = db_url, tables, done
        self.since = 0
        self.received: list[int] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with psycopg.connect(self.db_url, autocommit=True) as c:
                while True:
                    finished = self.done.is_set()
                    rows = c.execute("SELECT seq FROM audit.change WHERE seq > %s AND table_name = ANY(%s) "
                                     "ORDER BY seq LIMIT %s", [self.since, self.tables, PAGE]).fetchall()
                    self.received += [r[0] for r in rows]
                    if rows:
                        self.since = rows[-1][0]
                    elif finished:
                        return
                    else:
                        time.sleep(0.05)
        except BaseException as exc:  # noqa: BLE001
            self.error = exc


def _insert_lamps(conn: psycopg.Connection, source: str, n: int, prefix: str) -> None:
    conn.execute("INSERT INTO registry.streetlight (source, external_id, owner_org, height_m, geom) "
                 "SELECT %s, %s || g, 'city', 5, ST_SetSRID(ST_MakePoint(294000 + g, 5629000), 25832) "
                 "FROM generate_series(1, %s) g", [source, prefix, n])


class Writers:
    """The writing side: long syncs and short PATCHes through HTTP; a late and an aborted transaction in SQL."""

    def __init__(self, url: str, db_url: str, key: str, lamps: list[str], old: SeqConsumer) -> None:
        self.url, self.db_url, self.key, self.old = url, db_url, key, old
        n = PATCH_WRITERS * LAMPS_PER_PATCHER
        self.lamps, self.sql_lamps = lamps[:n], lamps[n:]   # PATCHed through HTTP / updated in SQL
        self.tag = uuid.uuid4().hex[:6]
        self.errors: list[BaseException] = []
        self.late: dict[str, int] = {}
        self.first_round = threading.Barrier(SYNC_WRITERS + 1)   # the first syncs and the late transaction
        self.stop = threading.Event()
        self.patches = 0
        self.short_sql_writes = 0

    def thread(self, fn, *args) -> threading.Thread:  # noqa: ANN001, ANN002
        def run() -> None:
            try:
                fn(*args)
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                self.errors.append(exc)
                self.stop.set()
                self.first_round.abort()
        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t

    def sync(self, w: int) -> None:
        with httpx.Client(base_url=self.url, headers=auth(self.key), timeout=300) as c:
            for k in range(SYNCS_PER_WRITER):
                n = w * SYNCS_PER_WRITER + k
                r = c.post(f"/sync/streetlight?source=stress-long-{self.tag}-{n}",
                           content=ndjson(n, SYNC_FEATURES), headers={"Content-Type": "application/x-ndjson"})
                assert r.status_code == 200 and r.json()["created"] == SYNC_FEATURES, r.text[:300]
                if k == 0:
                    self.first_round.wait(timeout=300)

    def patch(self, p: int) -> None:
        mine = self.lamps[p * LAMPS_PER_PATCHER:(p + 1) * LAMPS_PER_PATCHER]
        etag = dict.fromkeys(mine, 'W/"1"')
        i = 0
        with httpx.Client(base_url=self.url, headers=auth(self.key), timeout=120) as c:
            while not self.stop.is_set():
                fid = mine[i % len(mine)]
                r = c.patch(f"/collections/streetlight/items/{fid}", headers={"If-Match": etag[fid]},
                            json={"type": "Feature", "geometry": None, "properties": {"height_m": 6 + i}})
                assert r.status_code == 204, r.text[:300]
                etag[fid] = r.headers["etag"]
                self.patches += 1
                i += 1

    def short_sql(self) -> None:
        """Short transactions straight in the database too (as an analyst's QGIS edit would be): one lamp each."""
        with psycopg.connect(self.db_url, autocommit=True) as c:
            i = 0
            while not self.stop.is_set():
                c.execute("UPDATE registry.streetlight SET height_m = %s WHERE id = %s",
                          [100 + i, self.sql_lamps[i % len(self.sql_lamps)]])
                self.short_sql_writes += 1
                i += 1
                time.sleep(0.01)

    def late_commit(self) -> None:
        """Takes its transaction id (and sequence numbers) first, commits after the first round of syncs and
        after the seq-ordered consumer has paged past its numbers; one savepoint rolled back, one released."""
        with psycopg.connect(self.db_url) as c:
            c.execute("SELECT set_config('netzatlas.user', 'city:stress-late', true)")
            _insert_lamps(c, f"stress-late-{self.tag}", LATE_ROWS, "early-")
            self.late["max_seq"] = c.execute("SELECT max(seq) FROM audit.change").fetchone()[0]
            self.late["xact"] = int(c.execute("SELECT pg_current_xact_id()::text").fetchone()[0])
            self.first_round.wait(timeout=300)
            deadline = time.monotonic() + 120
            while self.old.since <= self.late["max_seq"] and time.monotonic() < deadline:
                time.sleep(0.05)
            self.late["passed_by_old_feed"] = int(self.old.since > self.late["max_seq"])
            with pytest.raises(psycopg.errors.RaiseException), c.transaction():
                _insert_lamps(c, f"stress-late-{self.tag}", 50, "rolled-back-")
                c.execute("DO $$ BEGIN RAISE EXCEPTION 'undo'; END $$")
            with c.transaction():
                _insert_lamps(c, f"stress-late-{self.tag}", 50, "savepoint-")
            c.commit()

    def abort(self) -> None:
        with psycopg.connect(self.db_url) as c:
            _insert_lamps(c, f"stress-aborted-{self.tag}", ABORTED_ROWS, "x-")
            time.sleep(2.0)
            c.rollback()


def _setup(url: str, admin: str, writer: str) -> tuple[list[str], list[str]]:
    """The feed's tables for an admin, and the lamps the PATCH writers change."""
    with httpx.Client(base_url=url, timeout=120) as c:
        colls = c.get("/collections", headers=auth(admin)).json()["collections"]
        res = c.post(f"/sync/streetlight?source=stress-patch-{uuid.uuid4().hex[:6]}", headers=auth(writer), json={
            "type": "FeatureCollection", "features": [
                {"type": "Feature", "geometry": {"type": "Point", "coordinates": [6.08 + i * 1e-4, 50.77]},
                 "properties": {"external_id": f"P{i}", "height_m": 5}}
                for i in range((PATCH_WRITERS + 1) * LAMPS_PER_PATCHER)]})
        assert res.status_code == 200, res.text[:300]
    return [f"registry.{col['id']}" for col in colls] + ["registry.result_run"], \
        [f["id"] for f in res.json()["features"]]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_no_committed_change_is_missed_or_repeated_under_concurrent_long_and_short_writes(
        live_server, api_keys, db_url):
    t_start = time.monotonic()
    admin = api_keys["admin"]
    tables, lamps = _setup(live_server, admin, api_keys["stawag"])
    with psycopg.connect(db_url) as c:
        seq_before = c.execute("SELECT coalesce(max(seq), 0) FROM audit.change").fetchone()[0]

    done = threading.Event()           # every writer has committed or rolled back
    a = Consumer(live_server, admin, "0", done)
    old = SeqConsumer(db_url, tables, done)
    w = Writers(live_server, db_url, api_keys["stawag"], lamps, old)
    late = w.thread(w.late_commit)
    while "xact" not in w.late and late.is_alive():
        time.sleep(0.01)
    a.start()
    old.start()
    syncs = [w.thread(w.sync, i) for i in range(SYNC_WRITERS)]
    others = [w.thread(w.patch, p) for p in range(PATCH_WRITERS)] + [w.thread(w.abort), w.thread(w.short_sql)]
    while len(a.cursors) < 3 and a.is_alive():     # the second consumer starts where the first has got to
        time.sleep(0.02)
    b = Consumer(live_server, admin, a.cursors[-1] if a.cursors else "0", done)
    b.start()
    for t in [*syncs, late]:
        t.join(timeout=300)
    w.stop.set()
    for t in others:
        t.join(timeout=60)
    done.set()
    for t in (a, b, old):
        t.join(timeout=300)
    assert not w.errors, w.errors[:3]
    assert a.error is None and b.error is None and old.error is None, (a.error, b.error, old.error)

    with psycopg.connect(db_url) as c:
        # the feed order (transaction, sequence) — sorted as numbers here: ORDER BY on the text output column
        # would sort "1001" before "746"
        expected = sorted((int(x), s) for x, s in c.execute(
            "SELECT xact::text, seq FROM audit.change WHERE table_name = ANY(%s)", [tables]).fetchall())
        written = c.execute("SELECT count(*) FROM audit.change WHERE seq > %s", [seq_before]).fetchone()[0]
        ghosts = c.execute("SELECT count(*) FROM registry.streetlight WHERE source IN (%s, %s) "
                           "AND external_id NOT LIKE 'early-%%' AND external_id NOT LIKE 'savepoint-%%'",
                           [f"stress-aborted-{w.tag}", f"stress-late-{w.tag}"]).fetchone()[0]
    got = a.received
    missed, extra = set(expected) - set(got), set(got) - set(expected)
    duplicated = len(got) - len(set(got))
    old_missed = {s for _, s in expected} - set(old.received)
    late_seqs = {s for x, s in expected if x == w.late["xact"]}
    early_seqs = {s for s in late_seqs if s <= w.late["max_seq"]}
    figures = {"changes_written": written, "feed_total": len(expected), "consumer_received": len(got),
               "missed": len(missed), "duplicated": duplicated, "not_committed_but_served": len(extra),
               "patches": w.patches, "short_sql_writes": w.short_sql_writes,
               "second_consumer_received": len(b.received),
               "old_seq_feed_missed": len(old_missed), "runtime_s": round(time.monotonic() - t_start, 1)}
    print("\nchange feed stress:", json.dumps(figures))

    assert written >= 4 * SYNC_FEATURES + LATE_ROWS and w.patches > 0
    assert ghosts == 0                                             # the aborted rows and the rolled-back savepoint
    assert duplicated == 0 and not missed and not extra
    assert got == expected                                         # the order is (transaction, sequence)
    assert len(late_seqs) == LATE_ROWS + 50
    # the second consumer, started from a cursor the first had reached, saw the same changes in the same order
    bx, bs = (int(v) for v in b.start_since.split(".")) if "." in b.start_since else (0, 0)
    assert b.received == [p for p in got if p > (bx, bs)]
    # the seq-ordered feed of before lost at least the late transaction's early changes
    assert w.late["passed_by_old_feed"] == 1
    assert len(early_seqs) == LATE_ROWS and early_seqs <= old_missed
