"""``netzatlas ocpi``: the OCPI 2.2.1 parties (CPOs) that may push their chargers (docs/ocpi.md)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.table import Table

from netzatlas.cli._common import console, err_console, friendly_errors
from netzatlas.errors import InvalidParameter

if TYPE_CHECKING:
    from netzatlas.charging.ocpi_client import Refused

app = typer.Typer(help="OCPI 2.2.1: registration tokens for charge point operators, their parties (a CPO's "
                       "Locations are pulled with `netzatlas import ocpi`).",
                  no_args_is_help=True)


@app.command("token")
@friendly_errors
def token(
    org: str = typer.Option(..., "--org", help="The operator's organization slug, e.g. stawag."),
    country_code: str = typer.Option(..., "--country-code", help="The CPO's OCPI country code, e.g. DE."),
    party_id: str = typer.Option(..., "--party-id", help="The CPO's OCPI party id (3 characters), e.g. STW."),
) -> None:
    """A registration token (token A) for a CPO: printed ONCE, only its hash is stored. The CPO calls
    /ocpi/versions with it and runs the credentials handshake; it may then push the locations of this party."""
    import re

    from netzatlas.registry.db import session
    from netzatlas.registry.ocpi_store import create_party

    if not re.fullmatch(r"[A-Za-z]{2}", country_code) or not re.fullmatch(r"[A-Za-z0-9]{3}", party_id):
        raise InvalidParameter("an OCPI party is a 2-letter country code and a 3-character party id",
                               hint="e.g. --country-code DE --party-id STW")
    with session(user="cli") as conn:
        if conn.execute("SELECT 1 FROM registry.organization WHERE slug = %s", [org]).fetchone() is None:
            raise InvalidParameter(f"unknown organization {org!r}", hint="add it with `netzatlas keys org-add`")
        tok = create_party(conn, org, country_code, party_id)
    typer.echo(tok)
    console.print(f"[dim]token A for {escape(org)} as {country_code.upper()}*{party_id.upper()} — give it to the "
                  "CPO with the URL of /ocpi/versions; it cannot be shown again[/]", highlight=False)


@app.command("parties")
@friendly_errors
def parties() -> None:
    """The OCPI parties, their organization and whether the handshake is done."""
    from netzatlas.registry.db import session

    with session(user="cli") as conn:
        rows = conn.execute("SELECT org, country_code, party_id, business_name, versions_url, registered_at, "
                            "revoked_at FROM registry.ocpi_party ORDER BY org, country_code, party_id").fetchall()
    table = Table("organization", "party", "name", "versions URL", "registered", "revoked")
    for r in rows:
        table.add_row(escape(r["org"]), f"{r['country_code']}*{r['party_id']}", escape(r["business_name"] or ""),
                      escape(r["versions_url"] or ""), f"{r['registered_at']:%Y-%m-%d}" if r["registered_at"] else "",
                      f"{r['revoked_at']:%Y-%m-%d}" if r["revoked_at"] else "")
    console.print(table)


#: refused Locations listed on the terminal (all of them go to the CSV)
SHOWN = 50


def print_refused(refused: list[Refused], batch_id: str, folder: Path) -> None:
    """The refused Locations: a table (the first ``SHOWN``) and a CSV of all (German Excel: BOM, ';')."""
    import csv

    path: Path | None = folder / f"ocpi_refused_{batch_id}.csv"
    try:  # the pull is written already: a folder that cannot be written costs the list, not the pull
        folder.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8-sig", newline="") as fh:
            w = csv.writer(fh, delimiter=";")
            w.writerow(["location", "page", "item", "reason"])
            w.writerows([r.location, r.page or "", r.item or "", r.reason] for r in refused)
    except OSError as exc:
        err_console.print(f"[bold yellow]Warning[/]: cannot write the list of refused Locations to "
                          f"{escape(str(folder))}: {escape(exc.strerror or str(exc))}", highlight=False)
        path = None
    table = Table("location", "page", "item", "reason",
                  title=f"{len(refused)} refused Location(s): nothing of them written; the others are")
    for r in refused[:SHOWN]:
        table.add_row(escape(r.location), str(r.page or ""), str(r.item or ""), escape(r.reason))
    err_console.print(table)
    more = f"… and {len(refused) - SHOWN} more; " if len(refused) > SHOWN else ""
    if path is not None:
        err_console.print(f"{more}all refused Locations: {escape(str(path))}", highlight=False)
    else:
        err_console.print(f"{more}the refused Locations (the first 1,000): audit.batch {batch_id}, details → "
                          "refused", highlight=False)
    err_console.print("[dim]note: the next pull asks only for Locations changed since this one: a refused Location "
                      "comes again when the CPO changes it, or with --since all[/]", highlight=False)
