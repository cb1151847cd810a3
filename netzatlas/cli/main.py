"""The ``netzatlas`` command."""

from __future__ import annotations

import atexit
import os
import sys
import threading

import typer

app = typer.Typer(
    help="netzatlas: the municipal register of digital infrastructure (fibre addresses, mobile sites, public WLAN, "
         "streetlights, charging points) with coverage-gap analyses. Start with `netzatlas demo`.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

#: the command groups: module, the group's name (None: the module registers top-level commands) and the command
#: names on the command line that need it
GROUPS: tuple[tuple[str, str | None, tuple[str, ...]], ...] = (
    ("netzatlas.cli.db", "db", ("db",)), ("netzatlas.cli.importing", "import", ("import",)),
    ("netzatlas.cli.export", None, ("export",)), ("netzatlas.cli.demo", None, ("demo",)),
    ("netzatlas.cli.serve", None, ("serve",)), ("netzatlas.cli.keys", "keys", ("keys",)),
    ("netzatlas.cli.users", "users", ("users",)),
    ("netzatlas.cli.gigabit", "gigabit", ("gigabit",)), ("netzatlas.cli.mobile", "mobile", ("mobile",)),
    ("netzatlas.cli.wifi", "wifi", ("wifi",)), ("netzatlas.cli.charging", "charging", ("charging",)),
    ("netzatlas.cli.qgis", "qgis", ("qgis",)), ("netzatlas.cli.sync", "sync", ("sync",)),
    ("netzatlas.cli.ocpi", "ocpi", ("ocpi",)),
)


def _wanted(argv: list[str]) -> str | None:
    """The command a ``netzatlas`` process was started for, when it names a known one: only its group is loaded
    (``netzatlas import file`` does not import the analyses, the web server, …). None — no command, an option
    first, an unknown name (for click's suggestion), shell completion, or this module imported by another
    program (tests), a top-level command such as ``serve`` — loads every group."""
    if any(k.endswith("_COMPLETE") for k in os.environ) or len(argv) < 2:
        return None
    prog = os.path.basename(argv[0])
    if prog not in ("netzatlas", "main.py", "__main__.py", "-m"):
        return None
    first = argv[1]
    # a command group only: an app with one plain command would run it without its name (typer's single command)
    return first if any(first in names and name for _, name, names in GROUPS) else None


def _register(wanted: str | None = None) -> None:
    """Add the command groups (only the one ``wanted`` names, when given); groups of rooms not installed are
    left out."""
    import importlib

    for module, name, names in GROUPS:
        if wanted is not None and wanted not in names:
            continue
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


_register(_wanted(sys.argv))


def main() -> None:
    """The ``netzatlas`` command: the command line run, then the process left without the interpreter's teardown.

    A finished command has written its output, committed its transaction and closed its connections; what Python's
    teardown would add is freeing every object one by one (a large import's frames, GDAL's and PROJ's caches): a
    third of a second and more that changes nothing. So, as that teardown begins, the threads still running are
    waited for and the exit handlers run (the same first steps), the output is flushed, and the process ends with
    the command's exit code."""
    try:
        app()
        code: object = 0
    except SystemExit as done:
        code = done.code
    if code is not None and not isinstance(code, int):  # sys.exit("message"), as Python would show it
        print(code, file=sys.stderr)
        code = 1
    _leave(code or 0)


def _leave(code: int) -> None:
    """End the process with ``code`` after the steps of Python's own exit that matter: threads joined (and
    ``concurrent.futures``' workers told to stop), exit handlers run, standard output and error flushed."""
    shutdown = getattr(threading, "_shutdown", None)
    exit_handlers = getattr(atexit, "_run_exitfuncs", None)
    if shutdown is None or exit_handlers is None:  # (an interpreter without them: the usual exit)
        sys.exit(code)
    shutdown()
    exit_handlers()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be said
            pass
    os._exit(code)


if __name__ == "__main__":
    main()
