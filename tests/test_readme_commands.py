"""Every command of the README (its ```bash blocks) and of the docs' ```bash run blocks, run as a user runs it.

Convention: in README.md every ```bash block is run; in docs/*.md only blocks fenced ```bash run are (other
```bash blocks there are illustrations, e.g. with placeholders for the reader's own files). Each command runs in
its own process in a temporary folder that holds the sample inputs from tests/data/readme/ (lamps.gpkg,
hotspots.csv + columns.yaml, masts.csv, answer.csv), with a temporary NETZATLAS_HOME and NETZATLAS_DATABASE_URL
pointing at a fresh test database loaded with the Aachen demo (``netzatlas demo``). A command fails on a non-zero
exit code or a traceback in its output.

Handled explicitly, never silently (see SKIPPED, PREPARE and the special cases in ``run``):
- ``netzatlas gigabit compare mev-2025 mev-2026``: ``gigabit classify --snapshot mev-2025`` runs first (BEFORE).
- ``bash scripts/demo.sh`` / ``bash scripts/test.sh`` are not run (the machine setup is what CI itself runs first,
  and test.sh is this very suite); their ``netzatlas demo`` part is run as the first step here.
- ``source .venv/bin/activate`` is emulated: .venv/bin comes first on PATH.
- ``netzatlas serve`` is started on a free port (``--port`` added), asked for /conformance and /map, and stopped.
- ``netzatlas db reset`` is answered "y": it deletes the (unused) embedded cluster of the temporary NETZATLAS_HOME.
- Placeholders are filled in: ``<id>`` after a layer name with a feature of that layer (the lamp the README
  imports, given two more versions first so that ``--version 2`` exists), after ``mobile request <verb>`` with the
  id ``mobile request create`` printed; ``<prefix>`` with the prefix ``keys create`` printed.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
INPUTS = Path(__file__).parent / "data" / "readme"
TIMEOUT_S = 1200

SKIPPED = {
    "bash scripts/demo.sh": "machine setup (apt-get, venv: what CI runs first) + `netzatlas demo`, which runs here "
                            "as the first step",
    "bash scripts/test.sh": "runs the whole test suite, this test included (it is CI's own entry point)",
}
#: run before the documented commands, with the reason
PREPARE = [("netzatlas demo", "the demo registry the README's analyses run on")]
#: run right before one documented command, with the reason
BEFORE = {
    "netzatlas gigabit compare mev-2025 mev-2026": [
        ("netzatlas gigabit classify --snapshot mev-2025",
         "compare needs last year's snapshot, which a city has and a fresh registry has not")],
}


def fenced_commands(text: str, run_only: bool) -> list[str]:
    """Commands of the ```bash blocks (with ``run_only``: only ```bash run blocks), comments removed."""
    out: list[str] = []
    for m in re.finditer(r"^```bash([^\n]*)\n(.*?)^```", text, flags=re.M | re.S):
        info = m.group(1).split()
        if run_only and "run" not in info:
            continue
        for line in m.group(2).splitlines():
            line = re.split(r"\s{2,}#|^#", line)[0].strip()
            if line:
                out.append(line)
    return out


def documented_commands() -> list[tuple[str, str]]:
    cmds = [("README.md", c) for c in fenced_commands((ROOT / "README.md").read_text(), run_only=False)]
    for doc in sorted((ROOT / "docs").glob("*.md")):
        cmds += [(f"docs/{doc.name}", c) for c in fenced_commands(doc.read_text(), run_only=True)]
    return cmds


COMMANDS = documented_commands()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A folder with the sample inputs, the environment, a fresh database with the demo, and filled-in ids."""
    import psycopg

    from netzatlas.registry import migrate
    from tests.conftest import _cluster

    name = f"netzatlas_readme_{uuid.uuid4().hex[:8]}"
    external = os.environ.get("NETZATLAS_TEST_DATABASE_URL")
    if external:
        with psycopg.connect(external, autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        base = psycopg.conninfo.conninfo_to_dict(external)
        url = psycopg.conninfo.make_conninfo(**{**base, "dbname": name})
    else:
        cluster = _cluster()
        cluster.start()
        cluster.ensure_database(name)
        url = cluster.url(name)
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    migrate.upgrade(url)
    work = tmp_path_factory.mktemp("readme")
    for f in INPUTS.iterdir():
        shutil.copy(f, work / f.name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NETZATLAS_")}
    env.update({"NETZATLAS_HOME": str(work / "home"), "NETZATLAS_DATABASE_URL": url, "COLUMNS": "160",
                "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}", "NO_COLOR": "1"})
    ws = {"dir": work, "env": env, "url": url, "ids": {}, "prepared": []}
    for cmd, why in PREPARE:
        res = _run(cmd, ws)
        assert res.returncode == 0, f"preparing ({why}): {cmd}\n{res.stdout[-4000:]}"
        ws["prepared"].append((cmd, why))
    yield ws
    if external:
        with psycopg.connect(external, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        cluster.drop_database(name)


def _run(cmd: str, ws: dict, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, shell=True, cwd=ws["dir"], env=ws["env"], capture_output=False, text=True,
                          input=stdin, timeout=TIMEOUT_S, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          executable="/bin/bash")


def _query(ws: dict, sql: str, params: list | None = None):
    import psycopg

    with psycopg.connect(ws["url"]) as c:
        row = c.execute(sql, params or []).fetchone()
        c.commit()
        return row[0] if row else None


def _fill_placeholders(cmd: str, ws: dict) -> str:
    m = re.search(r"netzatlas db (?:history|restore) (\w+) <id>", cmd)
    if m:
        layer = m.group(1)
        if layer not in ws["ids"]:  # the README's own import, given versions 2 and 3
            fid = _query(ws, f"SELECT id::text FROM registry.{layer} WHERE source = 'lamps' ORDER BY external_id "
                             "LIMIT 1")
            assert fid, f"no {layer} from the README's import to show"
            for h in (9.0, 9.5):
                _query(ws, f"UPDATE registry.{layer} SET height_m = %s WHERE id = %s RETURNING id", [h, fid])
            ws["ids"][layer] = fid
        cmd = cmd.replace("<id>", ws["ids"][layer])
    if re.search(r"netzatlas mobile request \w+ <id>", cmd):
        assert "mast_request" in ws["ids"], "`mobile request create` printed no id"
        cmd = cmd.replace("<id>", ws["ids"]["mast_request"])
    if "<prefix>" in cmd:
        assert "key_prefix" in ws["ids"], "`keys create` printed no prefix"
        cmd = cmd.replace("<prefix>", ws["ids"]["key_prefix"])
    return cmd


def _remember(cmd: str, output: str, ws: dict) -> None:
    if "mobile request create" in cmd:
        m = re.search(r"\b([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b", output) or \
            re.search(r"\b(?:request|id)\W+(\S+)", output, flags=re.I)
        if m:
            ws["ids"]["mast_request"] = m.group(1)
    if "keys create" in cmd:
        m = re.search(r"\bna_([A-Za-z0-9]+)_", output)
        if m:
            ws["ids"]["key_prefix"] = m.group(1)


def _serve(cmd: str, ws: dict) -> str:
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = shlex.split(cmd) + ["--port", str(port)]
    proc = subprocess.Popen(args, cwd=ws["dir"], env=ws["env"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/conformance", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
            assert proc.poll() is None, f"`{cmd}` exited: {proc.stdout.read() if proc.stdout else ''}"
        else:
            pytest.fail(f"`{cmd}` did not answer within 90 s")
        for path in ("/conformance", "/map", "/collections"):
            r = httpx.get(f"http://127.0.0.1:{port}{path}", timeout=30)
            assert r.status_code == 200, f"{path}: {r.status_code}"
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert "Traceback" not in out, out
    return out


def test_the_readme_has_commands_and_the_inputs_they_need():
    readme = [c for f, c in COMMANDS if f == "README.md"]
    assert len(readme) >= 25, readme
    needed = {w for c in readme for w in shlex.split(c) if re.fullmatch(r"[\w.-]+\.(csv|gpkg|yaml)", w)}
    needed -= {"chargers.gpkg"}  # written by `netzatlas export`
    assert needed <= {f.name for f in INPUTS.iterdir()}, needed


@pytest.mark.parametrize("where,cmd", COMMANDS, ids=[f"{i:02d}-{c[:60]}" for i, (_, c) in enumerate(COMMANDS)])
def test_documented_command_runs(workspace, where, cmd):
    if cmd in SKIPPED:
        pytest.skip(f"{where}: `{cmd}` not run here: {SKIPPED[cmd]}")
    if cmd == "source .venv/bin/activate":
        assert (ROOT / ".venv" / "bin" / "activate").is_file()
        assert workspace["env"]["PATH"].startswith(str(ROOT / ".venv" / "bin"))
        return
    cmd = _fill_placeholders(cmd, workspace)
    if cmd.split()[:2] == ["netzatlas", "serve"]:
        _serve(cmd, workspace)
        return
    if cmd.startswith(".venv/"):
        cmd = str(ROOT / cmd.split()[0]) + cmd[len(cmd.split()[0]):]
    for before, why in BEFORE.get(cmd, []):
        res = _run(before, workspace)
        assert res.returncode == 0 and "Traceback" not in res.stdout, (
            f"{where}: preparing `{cmd}` ({why}): `{before}` exited {res.returncode}:\n{res.stdout[-6000:]}")
    stdin = "y\n" if cmd.startswith("netzatlas db reset") else None
    res = _run(cmd, workspace, stdin)
    assert res.returncode == 0 and "Traceback" not in res.stdout, (
        f"{where}: `{cmd}` exited {res.returncode}:\n{res.stdout[-6000:]}")
    _remember(cmd, res.stdout, workspace)


def test_every_skip_and_preparation_is_named():
    """The commands not run as written are listed with their reason (this test prints them)."""
    for cmd, why in SKIPPED.items():
        assert any(c == cmd for _, c in COMMANDS), f"{cmd} is no longer in the docs: drop it from SKIPPED"
        print(f"not run: {cmd} — {why}")
    for cmd, why in PREPARE:
        print(f"run first: {cmd} — {why}")
    for cmd, steps in BEFORE.items():
        assert any(c == cmd for _, c in COMMANDS), f"{cmd} is no longer in the docs: drop it from BEFORE"
        for before, why in steps:
            print(f"run before `{cmd}`: {before} — {why}")
