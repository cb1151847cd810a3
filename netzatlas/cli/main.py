"""The ``netzatlas`` command."""

from __future__ import annotations

import typer

from netzatlas.cli import db, importing

app = typer.Typer(
    help="netzatlas: the municipal register of digital infrastructure (fibre addresses, mobile sites, public WLAN, "
         "streetlights, charging points) with coverage-gap analyses. Start with `netzatlas demo`.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(db.app, name="db")
app.add_typer(importing.app, name="import")


def _register_optional() -> None:
    """Command groups added by the other rooms of the house, when present."""
    import importlib

    for module, name in (("netzatlas.cli.export", None), ("netzatlas.cli.demo", None),
                         ("netzatlas.cli.serve", None), ("netzatlas.cli.keys", "keys"),
                         ("netzatlas.cli.users", "users"),
                         ("netzatlas.cli.gigabit", "gigabit"), ("netzatlas.cli.mobile", "mobile"),
                         ("netzatlas.cli.wifi", "wifi"), ("netzatlas.cli.charging", "charging"),
                         ("netzatlas.cli.qgis", "qgis"), ("netzatlas.cli.sync", "sync"),
                         ("netzatlas.cli.ocpi", "ocpi")):
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name == module:
                continue
            raise
        if name:
            app.add_typer(mod.app, name=name)
        else:
            mod.register(app)


_register_optional()

if __name__ == "__main__":
    app()
