"""The incremental coverage run finds the sites whose site row or sectors changed since its last run, from the
change table — also for inserted sectors, whose change rows carry no image (revision 0010)."""

from __future__ import annotations

from netzatlas.registry.mobile_io import changed_sites_since, max_seq


def _site(conn, source: str, ext: str) -> str:
    return str(conn.execute("INSERT INTO registry.mobile_site (source, external_id, geom) VALUES "
                            "(%s, %s, ST_SetSRID(ST_MakePoint(294000, 5629000), 25832)) RETURNING id",
                            [source, ext]).fetchone()["id"])


def test_inserted_updated_and_deleted_sectors_mark_their_site(conn, unique_source):
    site_a, site_b = _site(conn, unique_source, "A"), _site(conn, unique_source, "B")
    seq = max_seq(conn)
    sector = str(conn.execute("INSERT INTO registry.mobile_sector (source, external_id, site_id, azimuth_deg) "
                              "VALUES (%s, 'A-1', %s, 120) RETURNING id", [unique_source, site_a]).fetchone()["id"])
    assert changed_sites_since(conn, seq) == {site_a}
    seq = max_seq(conn)
    conn.execute("UPDATE registry.mobile_sector SET azimuth_deg = 130 WHERE id = %s", [sector])
    assert changed_sites_since(conn, seq) == {site_a}
    seq = max_seq(conn)
    conn.execute("UPDATE registry.mobile_sector SET site_id = %s WHERE id = %s", [site_b, sector])
    assert changed_sites_since(conn, seq) == {site_a, site_b}  # moved: both sites lose / gain a sector
    seq = max_seq(conn)
    conn.execute("UPDATE registry.mobile_sector SET deleted_at = now() WHERE id = %s", [sector])
    conn.execute("UPDATE registry.mobile_site SET name = 'renamed' WHERE id = %s", [site_a])
    assert changed_sites_since(conn, seq) == {site_a, site_b}
