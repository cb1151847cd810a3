"""Progress on long work as a new user sees it (issue #14), round 6: each command run in a real terminal (a pty) on
the Aachen demo registry draws a rich bar with done/total, rate and ETA; the same command with its output sent to
files or pipes (a script, a log) writes no escape codes and no redrawn bar, only plain lines.

The terminal and the piped cases of ``import file`` are in tests/test_import_write_path.py and the export's
rows read/written in tests/test_export.py; these add the real pty (not TTY_COMPATIBLE), the export's phases named
by layer, the siting and classification bars, and the piped output of each."""

from __future__ import annotations

import csv
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _env(db_url: str, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("TTY_COMPATIBLE", "FORCE_COLOR", "NO_COLOR", "TTY_INTERACTIVE")}
    return env | {"NETZATLAS_DATABASE_URL": db_url, "NETZATLAS_HOME": str(home), "COLUMNS": "200",
                  "TERM": "xterm-256color"}


def _exe() -> str:
    return str(Path(sys.executable).with_name("netzatlas"))


def in_terminal(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 600) -> tuple[int, str]:
    """``netzatlas …`` with stdin, stdout and stderr on a pseudo-terminal, as a user runs it; (exit code, the
    terminal's text with escape codes removed and every redraw on a line of its own)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([_exe(), *args], stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd,
                            close_fds=True)
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the process closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(master)
    code = proc.wait(timeout=60)
    raw = b"".join(chunks).decode(errors="replace")
    text = re.sub(r"\x1b\[[0-9;?]*[A-LN-Za-z]", "\n", re.sub(r"\x1b\[[0-9;]*m", "", raw))
    return code, text.replace("\r", "\n")


def piped(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    """The same command with stdout and stderr going to pipes (a script or a log)."""
    return subprocess.run([_exe(), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=600,
                          stdin=subprocess.DEVNULL)


def bar_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if "ETA" in line]


@pytest.fixture(scope="module")
def demo(aachen_loaded, tmp_path_factory):
    """The Aachen demo registry, a home folder for the outputs and the environment to run the CLI in."""
    home = tmp_path_factory.mktemp("progress6")
    return {"env": _env(aachen_loaded, home), "dir": home, "url": aachen_loaded}


def _count(url: str, sql: str) -> int:
    import psycopg

    with psycopg.connect(url) as c:
        return c.execute(sql).fetchone()[0]


def test_export_in_a_terminal_names_both_phases_by_layer_with_rows_rate_and_eta(demo):
    """Rows read from the database and rows written, each of the total, with the layer's name; the first row of the
    display is the reading itself (it used to be an "exporting streetlight N/N" heading shown as done before a row
    was read)."""
    total = _count(demo["url"], "SELECT count(*) FROM registry.streetlight WHERE deleted_at IS NULL")
    out = demo["dir"] / "lamps_tty.csv"
    code, text = in_terminal(["export", "streetlight", str(out)], demo["env"], demo["dir"])
    assert code == 0, text
    bars = bar_lines(text)
    assert any(re.search(rf"^\W*reading streetlight\s.*\b{total}/{total}\b.*rows/s.*ETA", b) for b in bars), bars
    assert any(re.search(rf"^\W*writing streetlight\s.*\b{total}/{total}\b.*rows/s.*ETA", b) for b in bars), bars
    assert not any("exporting" in b for b in bars), bars
    assert f"wrote {total:,} streetlight features" in text
    with out.open(encoding="utf-8-sig", newline="") as f:  # records, not lines: a text value may hold a newline
        assert sum(1 for _ in csv.reader(f)) == total + 1


@pytest.mark.parametrize("suffix", [".csv", ".gpkg", ".geojson", ".xlsx"])
def test_export_to_a_file_or_pipe_writes_plain_lines_only(demo, suffix):
    """No bar, no escape code when the output is not a terminal; the file is written all the same."""
    import pyogrio

    total = _count(demo["url"], "SELECT count(*) FROM registry.charging_point WHERE deleted_at IS NULL")
    out = demo["dir"] / f"chargers_piped{suffix}"
    r = piped(["export", "charging_point", str(out)], demo["env"], demo["dir"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert not ANSI.search(r.stdout + r.stderr), repr(r.stdout + r.stderr)
    assert "ETA" not in r.stderr and "rows/s" not in r.stderr and "━" not in r.stderr, r.stderr
    assert r.stdout.startswith(f"wrote {total:,} charging_point features to "), r.stdout
    assert len(pyogrio.read_dataframe(out)) == total if suffix != ".xlsx" else out.stat().st_size > 0


def test_charging_siting_in_a_terminal_counts_its_steps_to_done(demo):
    """The siting bar: steps done of all steps (inputs, solver, writing), the rate and the time left; its files are
    written inside the bar at 11 of 12, as WLAN's (round 7: they were written after the bar said done)."""
    code, text = in_terminal(["charging", "siting", "--k", "3", "--out", str(demo["dir"] / "siting_tty")],
                             demo["env"], demo["dir"])
    assert code == 0, text[-3000:]
    bars = bar_lines(text)
    # drawn before the inputs are read
    assert re.search(r"charging siting: reading inputs\s.*\b0/12\b.*ETA", bars[0]), bars
    assert re.search(r"charging siting: done\s.*\b12/12\b.*steps/s.*ETA", bars[-1]), bars
    writing = [b for b in bars if "charging siting: writing" in b]
    assert writing and all(re.search(r"\b11/12\b", b) for b in writing), bars  # docs/siting.md
    assert (demo["dir"] / "siting_tty" / "charging_siting.csv").is_file()


def test_wlan_siting_in_a_terminal_guesses_no_eta_for_the_milp_and_shows_the_writing_step(demo):
    """The exact MILP's step shows no time left (an ETA from the quick steps before it read 0:00:36 and stood for
    minutes on a large registry); while the report, map and files are written the solver's steps are done: the bar
    stands at 11 of 12 (it stayed where the exact MILP began, 6 of 12, until the end), then done 12/12."""
    code, text = in_terminal(["wifi", "siting", "--k", "5", "--out", str(demo["dir"] / "wifi_tty")], demo["env"],
                             demo["dir"])
    assert code == 0, text[-3000:]
    bars = bar_lines(text)
    milp = [b for b in bars if "exact MILP" in b]  # one call that tells nothing until it ends: no ETA guessed
    assert all(re.search(r"\b6/12\b.*ETA -:--:--", b) for b in milp), bars  # (drawn only when it lasts a redraw)
    writing = [b for b in bars if "WLAN siting: writing" in b]
    assert writing and all(re.search(r"\b11/12\b", b) for b in writing), bars
    assert re.search(r"WLAN siting: done\s.*\b12/12\b.*steps/s.*ETA", bars[-1]), bars
    assert (demo["dir"] / "wifi_tty" / "wifi_new_access_points.csv").is_file()


def test_a_step_of_unknown_length_shows_its_time_left_as_unknown():
    """The column behind the MILP step's "-:--:--" (the terminal test sees that step only when the MILP lasts a
    redraw): the quick steps before it give rich a speed and an estimate; during the MILP the time left is unknown."""
    import time

    from rich.progress import Progress

    from netzatlas.cli._siting_progress import StepTimeRemaining

    column = StepTimeRemaining()
    with Progress(column, auto_refresh=False, disable=True) as p:
        task = p.add_task("greedy", total=12, unmeasured=False)
        for _ in range(5):
            time.sleep(0.01)
            p.advance(task)
        assert column.render(p.tasks[task]).plain != "-:--:--"  # rich's guess from the quick steps
        p.update(task, description="exact MILP", unmeasured=True)
        assert column.render(p.tasks[task]).plain == "-:--:--"


@pytest.mark.parametrize("args", [["charging", "siting", "--k", "3"], ["gigabit", "classify"]],
                         ids=["charging-siting", "gigabit-classify"])
def test_analyses_to_a_file_or_pipe_write_no_escape_codes(demo, args):
    """A log of an analysis run holds the results and at most the bar's last state as one plain line (how far the
    run got), never the redrawn bar's escape codes."""
    if args[0] == "charging":
        args = [*args, "--out", str(demo["dir"] / "siting_piped")]
    r = piped(args, demo["env"], demo["dir"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert not ANSI.search(r.stdout + r.stderr), repr((r.stdout + r.stderr)[:2000])
    bars = bar_lines(r.stderr)
    assert len(bars) <= 1, bars  # the final state once, not one line per redraw
