"""schemathesis against /api (the OpenAPI 3.0 document): at least 1,000 generated cases, no 5xx."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import auth


def test_generated_cases_never_get_a_server_error(live_server, api_keys, tmp_path):
    exe = Path(sys.executable).with_name("schemathesis")
    header = "Authorization: " + auth(api_keys["admin"])["Authorization"]
    res = subprocess.run(
        [str(exe), "run", f"{live_server}/api", "--checks", "not_a_server_error", "--max-examples", "60",
         "-w", "2", "-H", header, "--seed", "20261126", "--report", "junit",
         "--report-junit-path", str(tmp_path / "st.xml")],
        capture_output=True, text=True, timeout=900)
    out = res.stdout + res.stderr
    m = re.search(r"(\d+) generated, (\d+) passed", out)
    assert m, out[-3000:]
    generated, passed = int(m.group(1)), int(m.group(2))
    assert generated >= 1000, out[-3000:]
    assert passed == generated, out[-3000:]
    # the not_a_server_error check reports 5xx answers as "Server error"; schemathesis's own generator can fail on
    # this Python (an interpreter SystemError while building an example) — that is not an API error, so it is
    # tolerated only when every generated case passed and no server error was seen
    assert "Server error" not in out, out[-3000:]
    internal = "SystemError" in out or "while generating" in out
    assert res.returncode == 0 or internal, out[-3000:]
