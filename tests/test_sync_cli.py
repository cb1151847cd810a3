"""A utility's journey with ``netzatlas sync push`` (issue #14: syncs via the CLI, with progress): a German CSV of
streetlights sent to a real server with the utility's key — written under the utility's organization, an invalid
row answered with its reason (exit 1), the same file again replayed without a change, a read-only key and an
unreachable server refused with a message (exit 2) and nothing written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest

ROWS = """Leuchten-Nr;Höhe (m);Rechtswert;Hochwert
SL-1;8,0;294500,0;5628300,0
SL-2;10,5;294520,0;5628310,0
SL-3;abc;294540,0;5628320,0
"""


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("netzatlas")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COLUMNS": "200", **env})


@pytest.fixture
def lamps_csv(tmp_path: Path) -> Path:
    p = tmp_path / "leuchten.csv"
    p.write_bytes(ROWS.encode("cp1252"))
    return p


def _row(table: str, numbers: str) -> bool:
    """Whether a row of a rich table holds exactly these numbers."""
    return any(re.sub(r"[^0-9,]+", " ", line).strip() == numbers for line in table.splitlines())


def _count(db_url: str, source: str) -> tuple[int, set[str]]:
    with psycopg.connect(db_url) as c:
        rows = c.execute("SELECT external_id, owner_org FROM registry.streetlight WHERE source = %s",
                         [source]).fetchall()
        changes = c.execute("SELECT count(*) FROM audit.change ch JOIN registry.streetlight s ON s.id = ch.row_id "
                            "WHERE s.source = %s", [source]).fetchone()[0]
    return changes, {f"{e}@{o}" for e, o in rows}


def test_a_utility_pushes_its_lamps_with_reasons_and_a_replay(live_server, api_keys, db_url, lamps_csv, tmp_path):
    source = f"stawag-push-{uuid.uuid4().hex[:6]}"
    key = tmp_path / "key.txt"
    key.write_text(api_keys["stawag"] + "\n")
    args = ["sync", "push", str(lamps_csv), "--collection", "streetlight", "--source", source, "--api", live_server,
            "--key-file", str(key), "--crs", "EPSG:25832", "--x-column", "Rechtswert", "--y-column", "Hochwert",
            "--map", "external_id=Leuchten-Nr", "--map", "height_m=Höhe (m)", "--encoding", "cp1252"]
    first = _run(args, {})
    assert first.returncode == 1, first.stdout + first.stderr  # one row rejected: the caller must notice
    assert "Traceback" not in first.stderr
    # the summary table: features 3, created 2, updated 0, unchanged 0, rejected 1
    assert "created" in first.stdout and _row(first.stdout, "3 2 0 0 1"), first.stdout
    assert "SL-3" in first.stderr and "not a number" in first.stderr, first.stderr
    changes, rows = _count(db_url, source)
    assert rows == {"SL-1@stawag", "SL-2@stawag"} and changes == 2  # written as the utility, in the history
    with psycopg.connect(db_url) as c:
        h = c.execute("SELECT height_m FROM registry.streetlight WHERE source = %s AND external_id = 'SL-2'",
                      [source]).fetchone()[0]
    assert h == pytest.approx(10.5)  # the German decimal comma

    again = _run(args, {})
    assert again.returncode == 1 and "replayed" in again.stdout and _row(again.stdout, "3 2 0 0 1"), again.stdout
    assert _count(db_url, source) == (changes, rows)  # nothing written twice


def test_a_read_only_key_and_a_missing_server_are_refused_cleanly(live_server, api_keys, db_url, lamps_csv):
    source = f"reader-push-{uuid.uuid4().hex[:6]}"
    base = ["sync", "push", str(lamps_csv), "--collection", "streetlight", "--source", source, "--crs", "EPSG:25832",
            "--x-column", "Rechtswert", "--y-column", "Hochwert", "--map", "external_id=Leuchten-Nr",
            "--encoding", "cp1252"]
    refused = _run([*base, "--api", live_server], {"NETZATLAS_API_KEY": api_keys["reader"]})
    assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr
    assert "403" in refused.stderr, refused.stderr
    unreachable = _run([*base, "--api", "http://127.0.0.1:9"], {"NETZATLAS_API_KEY": api_keys["stawag"]})
    assert unreachable.returncode == 2 and "cannot reach" in unreachable.stderr, unreachable.stderr
    assert "Traceback" not in unreachable.stderr
    assert _count(db_url, source) == (0, set())
