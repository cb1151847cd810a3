"""Helpers shared by the OCPI tests: recorded spec examples, a party of our own, the token header."""

from __future__ import annotations

import base64
import copy
import json
import secrets
import string
from pathlib import Path

OCPI_DATA = Path(__file__).parent / "data" / "ocpi"


def example(name: str) -> dict:
    """A recorded OCPI 2.2.1 example payload (tests/data/ocpi, from the ocpi/ocpi repository, tag 2.2.1)."""
    return json.loads((OCPI_DATA / name).read_text())


def token_header(token: str) -> dict[str, str]:
    """``Authorization: Token <base64>`` as OCPI 2.2.1 says."""
    return {"Authorization": "Token " + base64.b64encode(token.encode()).decode()}


def new_party(conn) -> tuple[str, str, str, str]:
    """A fresh organization and OCPI party (country BE, a random party id): (org, country, party, token A)."""
    from netzatlas.registry.ocpi_store import create_party

    org = "cpo-" + secrets.token_hex(4)
    party = "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(3))
    while conn.execute("SELECT 1 FROM registry.ocpi_party WHERE country_code = 'BE' AND party_id = %s",
                       [party]).fetchone():
        party = "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(3))
    conn.execute("INSERT INTO registry.organization (slug, name, kind) VALUES (%s, %s, 'cpo')", [org, org])
    token = create_party(conn, org, "BE", party)
    conn.commit()
    return org, "BE", party, token


def location_for(party: str, location_id: str = "LOC1", name: str = "location_example.json") -> dict:
    """The spec's example Location, re-keyed to our party (everything else as recorded)."""
    loc = copy.deepcopy(example(name))
    loc.update(country_code="BE", party_id=party, id=location_id)
    return loc
