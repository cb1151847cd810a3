"""``netzatlas users``: people who log in to the database as themselves (QGIS, psql), with a role."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from netzatlas.cli._common import console, friendly_errors

app = typer.Typer(
    help="People with their own database login: add (viewer | editor | admin), list, set-role, "
    "remove. See docs/security.md.",
    no_args_is_help=True,
)


def _password(password_file: Path | None, prompt: bool) -> tuple[str, bool]:
    """The password and whether it was generated (then it is printed once)."""
    from netzatlas.errors import InvalidParameter
    from netzatlas.registry.people import generate_password

    if password_file is not None and prompt:
        raise InvalidParameter("give either --password-file or --prompt")
    if password_file is not None:
        try:
            text = password_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise InvalidParameter(f"cannot read {password_file}: {exc.strerror}") from None
        return text, False
    if prompt:
        return typer.prompt("Password", hide_input=True, confirmation_prompt=True), False
    return generate_password(), True


@app.command("add")
@friendly_errors
def add(
    login: str = typer.Argument(..., help="The login, e.g. anna (lower-case letters, digits, _)."),
    org: str = typer.Option(..., "--org", help="The person's organization (slug), e.g. city."),
    role: str = typer.Option("viewer", "--role", help="viewer | editor | admin"),
    name: str = typer.Option(None, "--name", help="Full name, e.g. 'Anna Schmitz'."),
    password_file: Path = typer.Option(None, "--password-file", help="Read the password from this file."),
    prompt: bool = typer.Option(False, "--prompt", help="Ask for the password."),
) -> None:
    """Add a person: a database login with the role's privileges. Without --password-file / --prompt a password
    is generated and printed ONCE."""
    from netzatlas.registry import people
    from netzatlas.registry.db import session

    password, generated = _password(password_file, prompt)
    with session(user="cli") as conn:
        person = people.add(conn, login, org, role, password, name)
    console.print(
        f"{escape(person.login)} ({person.role}, {escape(person.org)}) can log in to the database now", highlight=False
    )
    if generated:
        typer.echo(password)
        console.print("[dim]the password above is shown once — hand it over now[/]", highlight=False)


@app.command("list")
@friendly_errors
def list_people() -> None:
    """Everyone with a login: organization, role, since when."""
    from netzatlas.registry import people
    from netzatlas.registry.db import connect

    with connect() as conn:
        rows = people.list_people(conn)
    t = Table(title="People")
    for col in ("login", "org", "role", "name", "added", "by"):
        t.add_column(col)
    for p in rows:
        t.add_row(
            escape(p.login),
            escape(p.org),
            p.role,
            escape(p.full_name or ""),
            f"{p.created_at:%Y-%m-%d}",
            escape(p.created_by or ""),
        )
    console.print(t)


@app.command("set-role")
@friendly_errors
def set_role(
    login: str = typer.Argument(..., help="The person's login."),
    role: str = typer.Argument(..., help="viewer | editor | admin"),
    org: str = typer.Option(None, "--org", help="Move them to another organization too."),
) -> None:
    """Change a person's role (and organization)."""
    from netzatlas.registry import people
    from netzatlas.registry.db import session

    with session(user="cli") as conn:
        person = people.set_role(conn, login, role, org)
    console.print(f"{escape(person.login)} is {person.role} of {escape(person.org)} now", highlight=False)


@app.command("remove")
@friendly_errors
def remove(login: str = typer.Argument(..., help="The person's login.")) -> None:
    """Remove a person and their login (their edits stay in the history under their name)."""
    from netzatlas.registry import people
    from netzatlas.registry.db import session

    with session(user="cli") as conn:
        people.remove(conn, login)
    console.print(f"{escape(login)} removed")
