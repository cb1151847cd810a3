"""The ``netzatlas`` command leaves without Python's teardown (``netzatlas.cli.main.main``): the exit code, the whole
output, the threads' work and the exit handlers are as with the usual exit; the objects are not freed one by one."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_main(body: str, start: str = "cli.main()") -> subprocess.CompletedProcess:
    """A process that gives ``netzatlas.cli.main`` the app ``body`` defines (as ``app``) and runs ``main()`` (or
    ``start``)."""
    script = textwrap.dedent("""
        import atexit, os, sys, threading, time
        import typer
        import netzatlas.cli.main as cli

        class Noisy:
            def __del__(self):
                os.write(2, b"torn down\\n")

        KEPT = Noisy()  # freed by Python's teardown, which the command's exit leaves out
        app = typer.Typer()
        """) + textwrap.dedent(body) + f"\ncli.app = app\n{start}\n"
    return subprocess.run([sys.executable, "-c", script], capture_output=True, cwd=ROOT, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_output_threads_and_exit_handlers_complete_and_the_teardown_is_left_out(tmp_path):
    mark = tmp_path / "thread-mark"
    res = run_main("""
        @app.command()
        def go(n: int = 200_000):
            atexit.register(lambda: sys.stdout.write("exit handler ran\\n"))
            def late():
                time.sleep(0.5)
                with open(MARK, "w") as fh:
                    fh.write("thread finished")
            threading.Thread(target=late).start()  # not a daemon: waited for, as at a usual exit
            sys.stdout.write("x" * n)  # no newline: only a flush sends it
        """.replace("MARK", repr(str(mark))))
    assert res.returncode == 0, res.stderr.decode()
    out = res.stdout.decode()
    assert out.startswith("x" * 200_000) and out.endswith("exit handler ran\n")
    assert mark.read_text() == "thread finished"
    assert b"torn down" not in res.stderr  # the objects were not freed one by one


def test_the_usual_exit_would_free_them():
    """The check above means something: with the usual exit the object is freed (and says so)."""
    res = run_main("""
        @app.command()
        def go():
            pass
        """, start="app()")
    assert res.returncode == 0 and b"torn down" in res.stderr


def test_exit_codes_are_the_commands():
    refused = run_main("""
        @app.command()
        def go():
            raise typer.Exit(code=2)
        """)
    assert refused.returncode == 2 and b"torn down" not in refused.stderr
    said = run_main("""
        @app.command()
        def go():
            sys.exit("cannot go on: no database")
        """)
    assert said.returncode == 1 and b"cannot go on: no database" in said.stderr
    usage = run_main("""
        @app.command()
        def go(n: int):
            pass
        """)
    assert usage.returncode == 2 and b"Missing argument" in usage.stderr


def test_the_installed_command_and_python_m_use_it(db_url):
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert scripts["netzatlas"] == "netzatlas.cli.main:main"
    res = subprocess.run([sys.executable, "-m", "netzatlas.cli.main", "import", "file", str(ROOT / "no-such-file.csv"),
                          "--layer", "streetlight"], capture_output=True, text=True, cwd=ROOT, timeout=120,
                         env={**os.environ, "NETZATLAS_DATABASE_URL": db_url})
    assert res.returncode == 2, res.stderr
    assert "no-such-file.csv" in res.stdout + res.stderr and "Traceback" not in res.stderr
    installed = Path(sys.executable).with_name("netzatlas")
    if installed.exists():  # the project's environment (scripts/setup.sh installs the package into it)
        shown = subprocess.run([str(installed), "--help"], capture_output=True, text=True, timeout=120)
        assert shown.returncode == 0 and "import" in shown.stdout


def test_a_database_without_the_registry_is_named_with_the_command_that_creates_it(db_url):
    """Found while testing the exit: ``import file`` against a database never migrated said "unknown layer
    'streetlight' — known layers: " (none)."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    name = "netzatlas_test_never_migrated"
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    try:
        empty = make_conninfo(**{**conninfo_to_dict(db_url), "dbname": name})
        for step in ("a new database", "PostGIS, no registry"):
            if step == "PostGIS, no registry":
                with psycopg.connect(empty, autocommit=True) as conn:
                    conn.execute("CREATE EXTENSION postgis")
            res = subprocess.run([sys.executable, "-m", "netzatlas.cli.main", "import", "file",
                                  str(ROOT / "tests/data/readme/lamps.gpkg"), "--layer", "streetlight"],
                                 capture_output=True, text=True, cwd=ROOT, timeout=120,
                                 env={**os.environ, "NETZATLAS_DATABASE_URL": empty, "COLUMNS": "200"})
            assert res.returncode == 2, (step, res.stderr)
            said = " ".join((res.stdout + res.stderr).split())
            assert f"the database '{name}' holds no netzatlas registry" in said and "netzatlas db upgrade" in said
            assert "Traceback" not in said and "known layers" not in said
    finally:
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name}")
