"""A quiet, friendly set-up: no deprecation wall when the package is built, the demo ends with the next commands
to try, ``db url`` prints a usable URL when asked for one, ``gigabit programmes`` never cuts an id."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]


def netzatlas(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "netzatlas.cli.main", *args], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, **(env or {})}, timeout=300)


def test_db_url_show_password_prints_a_url_that_connects(db_url):
    res = netzatlas("db", "url", "--show-password", env={"NETZATLAS_DATABASE_URL": db_url})
    assert res.returncode == 0, res.stderr
    url = res.stdout.strip()
    assert url == db_url
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_db_url_hides_a_password_and_says_how_to_see_it():
    secret = "postgresql://netzatlas:s3cr3t@127.0.0.1:5432/netzatlas"
    res = netzatlas("db", "url", env={"NETZATLAS_DATABASE_URL": secret})
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "postgresql://netzatlas:***@127.0.0.1:5432/netzatlas"
    assert "s3cr3t" not in res.stdout + res.stderr and "--show-password" in res.stderr
    shown = netzatlas("db", "url", "--show-password", env={"NETZATLAS_DATABASE_URL": secret})
    assert shown.returncode == 0 and shown.stdout.strip() == secret and shown.stderr == ""


def test_readme_names_show_password():
    assert "netzatlas db url --show-password" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_gigabit_programmes_plain_when_piped_with_whole_ids():
    from netzatlas.gigabit.programmes import shipped

    res = netzatlas("gigabit", "programmes", env={"COLUMNS": "80"})
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].split("\t")[0] == "id" and len(lines) == len(shipped()) + 1
    assert [line.split("\t")[0] for line in lines[1:]] == [p.id for p in shipped()]
    assert all(len(line.split("\t")) == 7 for line in lines)


def test_gigabit_programmes_table_at_80_columns_keeps_ids(monkeypatch):
    from rich.console import Console

    import netzatlas.cli.gigabit as gigabit
    from netzatlas.cli.main import app
    from netzatlas.gigabit.programmes import shipped

    term = Console(width=80, force_terminal=True, record=True)
    monkeypatch.setattr(gigabit, "console", term)
    res = CliRunner().invoke(app, ["gigabit", "programmes"])
    assert res.exit_code == 0, res.output
    text = term.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    for p in shipped():
        assert f" {p.id} " in text   # whole, on one line
    assert "…" not in text   # no cell is cut either: long texts fold


def test_demo_ends_with_the_next_commands(monkeypatch, tmp_path):
    from netzatlas.cli.main import app
    from netzatlas.registry import demo

    page = tmp_path / "netzatlas-map.html"
    page.write_text("<html></html>", encoding="utf-8")

    def run_demo(*, force: bool = False, step=None, url=None) -> demo.DemoResult:   # noqa: ANN001
        step("import", 1, 1)
        return demo.DemoResult(summary=[{"layer": "streetlight", "source": "osm", "features": 3}], links=0,
                               map_path=page, basemap="registry")

    monkeypatch.setattr(demo, "run_demo", run_demo)
    res = CliRunner().invoke(app, ["demo"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    tail = res.output[res.output.index("Next"):]
    for cmd in ("netzatlas serve", "/map", "netzatlas charging gaps", "netzatlas gigabit classify",
                "netzatlas keys create", str(page)):
        assert cmd in tail, tail


@pytest.mark.timeout(600)
def test_building_the_package_prints_no_deprecation(tmp_path):
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "-w", str(tmp_path), str(ROOT)],
                         capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    out = res.stdout + res.stderr
    assert "Deprecat" not in out and "deprecat" not in out, [line for line in out.splitlines()
                                                            if "eprecat" in line][:10]
    wheel = next(tmp_path.glob("netzatlas-*.whl"))
    with zipfile.ZipFile(wheel) as z:
        meta = z.read(next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))).decode()
        assert any(n.endswith(".dist-info/licenses/LICENSE") for n in z.namelist())
    assert "License-Expression: EUPL-1.2" in meta and "License-File: LICENSE" in meta
