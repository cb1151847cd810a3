"""``netzatlas gigabit mev-import`` shows its progress as a user sees it (issue #14: long work shows rows done/total,
rate and ETA): in a terminal the answer rows read, the register read and the answer rows matched and written; piped
(a script, a log) no escape codes and no bar. Run through the real CLI on the Aachen demo registry."""

from __future__ import annotations

import re
from pathlib import Path

from tests.test_gigabit_mev_journey import withdraw_afterwards
from tests.test_progress_holdout6 import ANSI, _env, in_terminal, piped

DATA = Path(__file__).parent / "data" / "mev"


_withdraw_afterwards = withdraw_afterwards("mev:mev-progress%")


def _answers(tmp_path: Path, copies: int) -> list[str]:
    """The Telekom answer file under two operators (the same addresses answered by two)."""
    paths = []
    for k in range(copies):
        p = tmp_path / f"answers_{k}.csv"
        p.write_bytes((DATA / "telekom_latin1.csv").read_bytes())
        paths.append(str(p))
    return paths


def test_mev_import_in_a_terminal_shows_each_phase_with_rows(aachen_loaded, tmp_path):
    env = _env(aachen_loaded, tmp_path)
    files = _answers(tmp_path, 2)
    code, text = in_terminal(["gigabit", "mev-import", *files, "--operator", "Telekom", "--operator", "Vodafone",
                              "--mev", "mev-progress", "--date", "2026-11-30", "--out", str(tmp_path / "out")],
                             env, tmp_path)
    assert code == 0, text
    lines = [line for line in text.splitlines() if "ETA" in line or "rows/s" in line]
    assert any(re.search(r"reading the register\s.*\b[\d,]+/[\d,]+", line) for line in lines), text
    done = [line for line in lines if "matching and writing the answers" in line]
    assert done and re.search(r"\b(\d+)/\1\b", done[-1].replace(",", "")), text  # ends at all rows
    assert "Markterkundung / market exploration mev-progress" in text


def test_mev_import_piped_writes_no_bar(aachen_loaded, tmp_path):
    env = _env(aachen_loaded, tmp_path)
    proc = piped(["gigabit", "mev-import", *_answers(tmp_path, 1), "--operator", "Telekom", "--mev",
                  "mev-progress-piped", "--date", "2026-11-30", "--out", str(tmp_path / "out")], env, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not ANSI.search(proc.stdout + proc.stderr)
    assert "matching and writing" not in proc.stdout + proc.stderr and "ETA" not in proc.stderr
