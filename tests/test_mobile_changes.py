"""The incremental coverage run finds the sites whose site row or sectors changed since its last run, from the
change table — also for inserted sectors, whose change rows carry no image (revision 0010), and for a transaction
that wrote before the run's mark but committed after it (its sequence numbers are smaller than the mark's)."""

from __future__ import annotations

import psycopg

from netzatlas.registry.mobile_io import ChangeMark, change_mark, changed_sites_since


def _site(conn, source: str, ext: str) -> str:
    return str(conn.execute("INSERT INTO registry.mobile_site (source, external_id, geom) VALUES "
                            "(%s, %s, ST_SetSRID(ST_MakePoint(294000, 5629000), 25832)) RETURNING id",
                            [source, ext]).fetchone()["id"])


def test_inserted_updated_and_deleted_sectors_mark_their_site(conn, unique_source):
    site_a, site_b = _site(conn, unique_source, "A"), _site(conn, unique_source, "B")
    mark = change_mark(conn)
    sector = str(conn.execute("INSERT INTO registry.mobile_sector (source, external_id, site_id, azimuth_deg) "
                              "VALUES (%s, 'A-1', %s, 120) RETURNING id", [unique_source, site_a]).fetchone()["id"])
    assert changed_sites_since(conn, mark) == {site_a}
    mark = change_mark(conn)
    conn.execute("UPDATE registry.mobile_sector SET azimuth_deg = 130 WHERE id = %s", [sector])
    assert changed_sites_since(conn, mark) == {site_a}
    mark = change_mark(conn)
    conn.execute("UPDATE registry.mobile_sector SET site_id = %s WHERE id = %s", [site_b, sector])
    assert changed_sites_since(conn, mark) == {site_a, site_b}  # moved: both sites lose / gain a sector
    mark = change_mark(conn)
    conn.execute("UPDATE registry.mobile_sector SET deleted_at = now() WHERE id = %s", [sector])
    conn.execute("UPDATE registry.mobile_site SET name = 'renamed' WHERE id = %s", [site_a])
    assert changed_sites_since(conn, mark) == {site_a, site_b}


def test_a_change_that_commits_after_the_mark_is_not_lost(db_url, unique_source):
    """The bug of a sequence watermark: a long transaction writes first, the run takes its mark (a larger
    sequence number, from a short transaction that committed), then the long one commits."""
    from netzatlas.registry.db import connect

    with connect(db_url) as setup:
        site_long, site_short = _site(setup, unique_source, "L"), _site(setup, unique_source, "S")
        setup.commit()
    with connect(db_url) as long_tx, connect(db_url) as short_tx, connect(db_url) as run:
        long_tx.execute("UPDATE registry.mobile_site SET name = 'long' WHERE id = %s", [site_long])
        short_tx.execute("UPDATE registry.mobile_site SET name = 'short' WHERE id = %s", [site_short])
        short_tx.commit()
        mark = change_mark(run)
        run.rollback()
        assert mark.seq >= int(run.execute("SELECT max(seq) AS s FROM audit.change WHERE row_id = %s",
                                           [site_short]).fetchone()["s"])
        long_tx.commit()
        long_seq = run.execute("SELECT max(seq) AS s FROM audit.change WHERE row_id = %s",
                               [site_long]).fetchone()["s"]
        assert long_seq < mark.seq                     # a sequence watermark would have passed it
        assert changed_sites_since(run, mark) == {site_long}
        run.rollback()
    with psycopg.connect(db_url) as c:
        c.execute("UPDATE registry.mobile_site SET deleted_at = now() WHERE source = %s", [unique_source])


def test_a_stored_mark_of_an_older_version_means_a_full_run():
    assert ChangeMark.from_json(None) is None
    assert ChangeMark.from_json(1234) is None                          # {"last_seq": 1234} of older versions
    assert ChangeMark.from_json({"snapshot": "1:2:; DROP TABLE x", "seq": 1}) is None
    for mark in (ChangeMark("740:745:741,743", 99), ChangeMark("740:745:", 99, 744)):
        assert ChangeMark.from_json(mark.to_json()) == mark
