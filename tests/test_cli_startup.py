"""Start-up of the CLI: a command group's command loads only that group (``netzatlas import file`` does not import
the analyses or the web server); the overview, a mistyped command and top-level commands still see every group."""

from __future__ import annotations

import os
import subprocess
import sys


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "netzatlas.cli.main", *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "COLUMNS": "120"})


def test_import_file_loads_only_the_import_group():
    probe = ("import sys; sys.argv = ['netzatlas', 'import', 'file', '--help']; import netzatlas.cli.main as m; "
             "print(' '.join(sorted(k for k in sys.modules if k.startswith('netzatlas.cli.'))))")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    loaded = set(proc.stdout.split())
    assert "netzatlas.cli.importing" in loaded
    assert not loaded & {"netzatlas.cli.gigabit", "netzatlas.cli.mobile", "netzatlas.cli.serve", "netzatlas.cli.sync",
                         "netzatlas.cli.db"}, sorted(loaded)
    run = _run("import", "file", "--help")
    assert run.returncode == 0 and "--skip-invalid" in run.stdout


def test_overview_and_a_typo_still_see_every_group():
    overview = _run("--help")
    assert overview.returncode == 0
    for name in ("import", "db", "gigabit", "serve", "demo"):
        assert f" {name} " in overview.stdout, name
    typo = _run("imprt")
    assert typo.returncode == 2 and "Did you mean 'import'" in typo.stdout + typo.stderr
    serve = _run("serve", "--help")
    assert serve.returncode == 0 and "--port" in serve.stdout
