"""The headless QGIS suite (tests/qgis) from the main test run: QGIS's Python is Debian's system python, so the
suite runs in its own virtual environment (made by qgis_plugin/setup_qgis_venv.sh) as a subprocess, and this
test passes when every test there passed."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("NETZATLAS_QGIS_VENV", ROOT / ".venv-qgis"))


@pytest.mark.qgis
def test_headless_qgis_suite():
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    setup = subprocess.run(["sh", str(ROOT / "qgis_plugin" / "setup_qgis_venv.sh")], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=300)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    res = subprocess.run([str(VENV / "bin" / "python"), "-m", "pytest", "tests/qgis", "-q", "-p", "no:cacheprovider"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    report = res.stdout[-6000:] + res.stderr[-2000:]
    assert res.returncode == 0, report
    summary = re.search(r"(\d+) passed", res.stdout)
    assert summary and int(summary.group(1)) >= 40, report
    assert not re.search(r"\d+ (failed|error|skipped)", res.stdout), report
