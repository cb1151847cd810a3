"""``netzatlas import ocpi`` against a small OCPI 2.2.1 CPO run in the test (tests/ocpi_cpo.py): all pages by the
Link header, idempotent, incremental by date_from (the last pull's start), --party, and bad feeds refused with the
database unchanged."""

from __future__ import annotations

import json
import random
import string
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.ocpi_cpo import Feed, make_location, serving

SPEC_EXAMPLE = Path(__file__).parent / "data" / "ocpi" / "location_example.json"


def _party() -> str:
    return "Z" + "".join(random.choices(string.ascii_uppercase + string.digits, k=2))


def _run(*args: str):
    from netzatlas.cli.main import app

    result = CliRunner().invoke(app, ["import", "ocpi", *args], env={"COLUMNS": "220", "NO_COLOR": "1"})
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), (result.exception, result.output)
    return result


def _state(conn, party: str) -> dict[str, object]:
    src = f"ocpi:DE*{party}"
    out = {
        "locations": conn.execute("SELECT count(*) AS n FROM registry.charging_point WHERE source = %s "
                                  "AND deleted_at IS NULL", [src]).fetchone()["n"],
        "evses": conn.execute("SELECT count(*) AS n FROM registry.charging_evse WHERE source = %s "
                              "AND deleted_at IS NULL", [src]).fetchone()["n"],
        "connectors": conn.execute("SELECT count(*) AS n FROM registry.charging_connector WHERE source = %s "
                                   "AND deleted_at IS NULL", [src]).fetchone()["n"],
        "history": conn.execute("SELECT count(*) AS n FROM audit.change c JOIN registry.charging_point p "
                                "ON p.id = c.row_id WHERE p.source = %s", [src]).fetchone()["n"],
        "names": {r["ocpi_id"]: (r["name"], r["version"]) for r in conn.execute(
            "SELECT ocpi_id, name, version FROM registry.charging_point WHERE source = %s", [src]).fetchall()},
    }
    conn.rollback()
    return out


def test_pull_pages_is_idempotent_and_incremental(db_url, conn):
    party = _party()
    feed = Feed([make_location(i, party=party) for i in range(23)])
    with serving(feed) as url:
        r = _run(url, "--token", feed.token, "--since", "all", "--page-size", "10")
        assert r.exit_code == 0, r.output
        assert [q["offset"] for q in feed.requests] == [0, 10, 20]  # three pages, followed by the Link header
        s1 = _state(conn, party)
        assert s1["locations"] == 23 and s1["evses"] == sum(1 + i % 4 for i in range(23))
        assert s1["connectors"] == s1["evses"]
        assert "23 locations" in r.output and f"ocpi:DE*{party}" in r.output
        # the same feed again (full pull): nothing changes
        again = _run(url, "--token", feed.token, "--since", "all", "--page-size", "10")
        assert again.exit_code == 0 and "nothing changed" in again.output
        assert _state(conn, party) == s1
        # two locations change; the next pull asks only for what changed since the last pull started
        later = datetime.now(UTC) + timedelta(minutes=5)
        for i in (3, 17):
            feed.locations[i] = {**feed.locations[i], "name": f"Umbenannt {i}",
                                 "last_updated": later.strftime("%Y-%m-%dT%H:%M:%SZ")}
        feed.requests.clear()
        inc = _run(url, "--token", feed.token, "--page-size", "10")
        assert inc.exit_code == 0, inc.output
        assert feed.requests[0]["date_from"] is not None and "2 locations" in inc.output
    s2 = _state(conn, party)
    assert s2["locations"] == 23
    assert s2["names"]["LOC-000003"] == ("Umbenannt 3", 2) and s2["names"]["LOC-000005"] == ("Ladepunkt 5", 1)


def test_the_spec_example_and_party_filter(db_url, conn):
    party = _party()
    example = json.loads(SPEC_EXAMPLE.read_text())  # the OCPI 2.2.1 specification's Location example (BE*BEC)
    feed = Feed([make_location(i, party=party) for i in range(4)] + [example])
    with serving(feed) as url:
        r = _run(url, "--token", feed.token, "--since", "all", "--party", f"DE*{party}")
        assert r.exit_code == 0, r.output
        assert "1 location(s) of party BE*BEC left out" in r.output
    assert _state(conn, party)["locations"] == 4


@pytest.mark.parametrize("fault, needle", [
    ({"malformed_page": 2}, "location DE*{party}*LOC-000019 (page 2, item 10) is malformed"),
    ({"status_page": 3}, "OCPI status_code 2001"),
    ({"http500_page": 2}, "HTTP 500"),
    ({"token": "wrong"}, "HTTP 401"),
])
def test_bad_feeds_are_refused_and_nothing_is_written(db_url, conn, fault, needle):
    party = _party()
    feed = Feed([make_location(i, party=party) for i in range(25)])
    with serving(feed) as url:
        assert _run(url, "--token", feed.token, "--since", "all", "--page-size", "10").exit_code == 0
        before = _state(conn, party)
        for i in range(25):  # every location changed: a partial write would show
            feed.locations[i] = {**feed.locations[i], "name": f"Neu {i}"}
        token = fault.pop("token", feed.token)
        feed.faults.update(fault)
        r = _run(url, "--token", token, "--since", "all", "--page-size", "10")
    assert r.exit_code == 2, r.output
    assert needle.format(party=party) in " ".join(r.output.split()), r.output
    assert _state(conn, party) == before


def test_a_page_the_registry_refuses_rolls_back_every_page_written_before(db_url, conn):
    """Pages are written one by one in ONE transaction: page 1 (party A) is written, page 2 (party B, whose source
    another organization holds) is refused — the pull ends with exit 2 and page 1 is not in the registry either."""
    from netzatlas.registry import sources
    from netzatlas.registry.db import connect

    party, other = _party(), _party()
    while other == party:
        other = _party()
    with connect(db_url) as c:
        sources.claim(c, f"ocpi:DE*{other}", "stawag")
        c.commit()
    feed = Feed([make_location(i, party=party) for i in range(10)]
                + [make_location(i, party=other) for i in range(10, 15)])
    with serving(feed) as url:
        r = _run(url, "--token", feed.token, "--since", "all", "--page-size", "10")
        assert [q["offset"] for q in feed.requests] == [0, 10]                   # both pages were fetched
    assert r.exit_code == 2, r.output
    assert "stawag" in r.output and f"ocpi:DE*{other}" in " ".join(r.output.split()), r.output
    assert _state(conn, party)["locations"] == 0 and _state(conn, other)["locations"] == 0
    unfinished = conn.execute("SELECT count(*) AS n FROM audit.batch WHERE kind = 'ocpi' AND details->>'url' = %s",
                              [url]).fetchone()
    assert unfinished["n"] == 0                                               # no batch recorded either


def test_the_spool_holds_pages_on_disk_not_in_memory():
    from netzatlas.charging.ocpi_client import Spool
    from netzatlas.charging.ocpi_model import Location

    spool = Spool()
    pages = [[Location.model_validate(make_location(i, party="SPL")) for i in range(p * 3, p * 3 + 3)]
             for p in range(4)]
    for page in pages:
        spool.add(page)
    spool.add([])                                                             # an empty page adds nothing
    assert len(spool) == 12 and spool._file.tell() > 0
    assert [[loc.id for loc in page] for page in spool.pages()] == [[loc.id for loc in page] for page in pages]
    assert [loc.model_dump() for loc in spool] == [loc.model_dump() for page in pages for loc in page]
    spool.close()
