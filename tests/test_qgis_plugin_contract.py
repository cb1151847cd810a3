"""The plugin's fixed parameter set per algorithm (qgis_plugin/netzatlas_qgis/logic.py) against the server's own
process descriptions (what GET /processes/{id} serves): same process ids, every plugin parameter a server input of
the same type with the same default, every required server input offered, the programme list the shipped one.
No QGIS needed: the plugin's logic module is pure Python."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PLUGIN = Path(__file__).resolve().parent.parent / "qgis_plugin"
sys.path.insert(0, str(PLUGIN))

from netzatlas_qgis import logic  # noqa: E402

TYPES = {"number": "number", "integer": "integer", "boolean": "boolean", "string": "string", "enum": "string"}


@pytest.fixture(scope="module")
def server_processes() -> dict:
    from netzatlas.api.processes import PROCESSES, _load_processes

    _load_processes()
    return PROCESSES


def test_same_process_ids(server_processes):
    # gigabit-snapshots is not an analysis: the plugin calls it to offer the snapshot chooser (logic.SNAPSHOTS_PROCESS)
    assert logic.SNAPSHOTS_PROCESS == "/processes/gigabit-snapshots/execution"
    assert set(logic.PROCESSES) == set(server_processes) - {"gigabit-snapshots"}


@pytest.mark.parametrize("pid", sorted(logic.PROCESSES))
def test_parameters_match_the_process_description(server_processes, pid):
    server = server_processes[pid].inputs
    plugin = logic.PROCESSES[pid][3]
    for name, (kind, default, _help) in plugin.items():
        assert name in server, f"{pid}: the plugin sends {name!r}, the server has no such input"
        schema = server[name]["schema"]
        assert TYPES[kind] == schema["type"], (pid, name)
        if "default" in schema:
            assert default == schema["default"], (pid, name, default, schema["default"])
        if kind == "enum":
            assert default in schema["enum"]
    for name, spec in server.items():
        required = spec.get("minOccurs", 1) > 0 and "default" not in spec["schema"]
        if required:
            assert name in plugin, f"{pid}: required input {name!r} is not offered by the plugin"


@pytest.mark.parametrize("pid", sorted(logic.PROCESSES))
def test_layer_output_is_a_declared_output(server_processes, pid):
    key = logic.LAYER_OUTPUT[pid]
    assert key is None or key in server_processes[pid].outputs


def test_programme_choices_are_the_shipped_programmes(server_processes):
    tree = ast.parse((PLUGIN / "netzatlas_qgis" / "processing" / "algorithm.py").read_text(encoding="utf-8"))
    programmes = next(ast.literal_eval(n.value) for n in tree.body
                      if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "PROGRAMMES")
    assert sorted(programmes) == sorted(server_processes["gigabit-classify"].inputs["programme"]["schema"]["enum"])


def test_mast_request_dialog_offers_the_registry_site_types(conn):
    """The dialog's planned site types are the codes the database accepts (registry.vl_site_type)."""
    codes = {r["code"] for r in conn.execute("SELECT code FROM registry.vl_site_type")}
    assert set(logic.SITE_TYPES) == codes
