"""Every file of the messy-input corpus (tests/data/corpus) through the CLI, as a user runs it.

Each manifest entry is imported with the stated counts (and notes / warnings), or refused with the stated message
— exit code 2, no traceback, and the database unchanged (every layer's row count and the history). The corpus is
built by ``tests/data/corpus/make_corpus.py``; entries run in manifest order against one test database (some
depend on an earlier one: a re-import, the same data under a new name).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from netzatlas.registry.db import ASSET_LAYERS, REFERENCE_LAYERS

CORPUS = Path(__file__).parent / "data" / "corpus"
FILES = CORPUS / "files"
MANIFEST = yaml.safe_load((CORPUS / "manifest.yaml").read_text())
ROOT = Path(__file__).resolve().parent.parent


def _state(conn) -> dict[str, int]:
    """Row counts of every layer (deleted rows included) and of the history."""
    parts = " UNION ALL ".join(f"SELECT '{t}' AS t, count(*) AS n FROM registry.{t}"
                               for t in ASSET_LAYERS + REFERENCE_LAYERS)
    out = {r["t"]: r["n"] for r in conn.execute(parts).fetchall()}
    out["audit.change"] = conn.execute("SELECT count(*) AS n FROM audit.change").fetchone()["n"]
    out["audit.batch"] = conn.execute("SELECT count(*) AS n FROM audit.batch").fetchone()["n"]
    return out


def _args(entry: dict) -> list[str]:
    return [a.replace("{files}", str(FILES)) for a in entry["args"]]


def _source(entry: dict) -> str:
    args = entry["args"]
    if "--source" in args:
        return args[args.index("--source") + 1]
    return Path(entry["file"]).stem


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_corpus_is_large_and_every_file_is_used():
    own = ("holdout3", "holdout4", "holdout5", "holdout6", "holdout7", "holdout8")  # own tests: test_inputs_holdout3…8
    files = {str(p.relative_to(FILES)) for p in FILES.rglob("*")
             if p.is_file() and p.relative_to(FILES).parts[0] not in own}
    used = {e["file"] for e in MANIFEST} | {a.replace("{files}/", "") for e in MANIFEST for a in e["args"]}
    assert len(files) >= 60, len(files)
    unused = {f for f in files if f not in used and not f.endswith((".shx", ".dbf", ".prj", ".cpg"))}
    assert not unused, unused


@pytest.mark.parametrize("entry", MANIFEST, ids=[f"{i:02d}-{e['file']}" for i, e in enumerate(MANIFEST)])
def test_corpus_file(db_url, conn, entry):
    from netzatlas.cli.main import app

    before = _state(conn)
    conn.rollback()
    args = ["import", entry["command"], str(FILES / entry["file"]), *_args(entry)]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "1000", "NO_COLOR": "1"})
    out = _flat(result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{entry['file']}: {type(result.exception).__name__}: {result.exception}\n{result.output}")
    assert "Traceback" not in result.output, result.output
    after = _state(conn)
    conn.rollback()
    for fragment in entry.get("message", []):
        assert _flat(fragment) in out, f"{entry['file']}: {fragment!r} not in:\n{result.output}"
    if entry["expect"] == "refused":
        assert result.exit_code == 2, f"{entry['file']} was not refused:\n{result.output}"
        assert after == before, f"{entry['file']}: a refused import changed the database"
        return
    assert result.exit_code == 0, f"{entry['file']} was refused:\n{result.output}"
    assert after["audit.batch"] == before["audit.batch"] + 1
    batch = conn.execute("SELECT created, updated, unchanged, rejected FROM audit.batch WHERE source = %s "
                         "ORDER BY started_at DESC LIMIT 1", [_source(entry)]).fetchone()
    conn.rollback()
    assert batch == entry["counts"], f"{entry['file']}: {batch} != {entry['counts']}\n{result.output}"
    if "sql" in entry:
        query, expected = entry["sql"]
        value = next(iter(conn.execute(query).fetchone().values()))
        conn.rollback()
        assert value == pytest.approx(expected) if isinstance(expected, float) else value == expected, (query, value)


@pytest.mark.parametrize("name,args,expect", [
    ("points_3d.gpkg", ["--source", "stderr-3d"], 0),
    ("shp/gk_lamps.shp", ["--encoding", "cp1252", "--source", "stderr-gk"], 0),
    ("coordinate_1e308.csv", [], 2),
    ("lamps.xlsx", ["--map", "external_id=Nr", "--source", "stderr-xlsx"], 0),
    ("holdout/phone_waypoints.gpx", ["--map", "external_id=name", "--source", "stderr-gpx"], 0),
    ("holdout/formulas_without_values.xlsx", [], 2),
])
def test_as_a_user_runs_it_no_python_noise_on_stderr(db_url, name, args, expect):
    """A real process: exit code, and stderr holds no traceback and no Python warning."""
    env = {**os.environ, "NETZATLAS_DATABASE_URL": db_url, "COLUMNS": "200"}
    proc = subprocess.run([sys.executable, "-m", "netzatlas.cli.main", "import", "file", str(FILES / name),
                           "--layer", "streetlight", *args], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == expect, proc.stdout + proc.stderr
    for noise in ("Traceback", "RuntimeWarning", "UserWarning", "DeprecationWarning", "FutureWarning", ".py:"):
        assert noise not in proc.stderr, proc.stderr
