"""``netzatlas qgis project``: the generated QGIS project and its pg_service.conf entry (no QGIS needed here; the
project is opened and edited in a real QGIS by tests/qgis/test_project_editing.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict

from netzatlas.qgis_project import pgservice
from netzatlas.qgis_project.model import VERSION_DEFAULT, bounds_from_checks, plan_project
from netzatlas.registry.db import Column, Layer

ROOT = Path(__file__).resolve().parent.parent


def _cli(args: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "netzatlas.cli.main", *args], cwd=ROOT, env={**os.environ, **env},
                          input=stdin, capture_output=True, text=True, timeout=180)


def _qgs(path: Path) -> ET.Element:
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        assert names == [f"{path.stem}.qgs"]
        return ET.fromstring(zf.read(names[0]).decode("utf-8").split("\n", 1)[1])


# ------------------------------------------------------------------------------------------- pure parts
def test_service_entry_has_no_password_and_keeps_other_sections():
    url = "postgresql://netzatlas:s3cret@db.example.org:5433/registry"
    entry = pgservice.entry_from_url(url, "anna")
    assert entry == {"host": "db.example.org", "port": "5433", "dbname": "registry", "sslmode": "require",
                     "user": "anna"}
    assert pgservice.entry_from_url("postgresql://u:p@127.0.0.1:54329/x")["sslmode"] == "disable"
    text = "# my services\n[other]\nhost=h\nport=1\n\n[netzatlas]\nhost=old\n\n[last]\ndbname=z\n"
    new = pgservice.upsert(text, "netzatlas", entry)
    parsed = pgservice.parse(new)
    assert parsed["netzatlas"] == entry and parsed["other"] == {"host": "h", "port": "1"}
    assert parsed["last"] == {"dbname": "z"} and new.startswith("# my services\n[other]")
    assert "s3cret" not in new
    assert pgservice.parse(pgservice.upsert("", "nz", entry)) == {"nz": entry}
    assert pgservice.differs({"host": "old"}, entry) and not pgservice.differs(None, entry)


def test_range_bounds_come_from_the_checks():
    checks = ["CHECK (((azimuth_deg >= (0)::double precision) AND (azimuth_deg < (360)::double precision)))",
              "CHECK (((tilt_deg >= ('-90'::integer)::double precision) AND (tilt_deg <= (90)::double precision)))",
              "CHECK ((height_m >= (0)::double precision))"]
    assert bounds_from_checks(checks) == {"azimuth_deg": (0.0, 360.0), "tilt_deg": (-90.0, 90.0),
                                          "height_m": (0.0, None)}


def test_plan_widgets_read_only_and_version_default():
    cols = (Column("id", "uuid", False, True), Column("status", "text", False, True),
            Column("height_m", "float8", True, False), Column("lit", "bool", True, False),
            Column("built_on", "date", True, False), Column("version", "int4", False, True),
            Column("updated_at", "timestamptz", False, True), Column("geom", "geometry", True, False))
    lamps = Layer("streetlight", "registry", cols, "POINT", 25832, "asset")
    result = Layer("gigabit_result", "registry", (Column("id", "uuid", True, False),
                                                  Column("snapshot_id", "text", True, False),
                                                  Column("version", "int4", True, False),
                                                  Column("geom", "geometry", True, False)), "POINT", 25832, "result")
    from netzatlas.qgis_project.model import ValueRef

    spec = plan_project({"streetlight": lamps, "gigabit_result": result},
                        {"streetlight": [ValueRef("status", "vl_status", "code", "label_de")]},
                        {"streetlight": {"height_m": "Lichtpunkthöhe"}}, {"streetlight": ["CHECK ((height_m >= 0))"]},
                        {"gigabit_result": "mev-2026's"}, service="nz", srid=25832, titles={})
    lamp = spec.layer("netzatlas_streetlight")
    widgets = {f.name: (f.widget, f.read_only) for f in lamp.fields}
    assert widgets == {"id": ("TextEdit", True), "status": ("ValueRelation", False), "height_m": ("Range", False),
                       "lit": ("CheckBox", False), "built_on": ("DateTime", False), "version": ("TextEdit", True),
                       "updated_at": ("DateTime", True)}
    by_name = {f.name: f for f in lamp.fields}
    assert by_name["height_m"].help == "Lichtpunkthöhe" and dict(
        (k, v) for k, _, v in by_name["height_m"].config)["Min"] == 0.0
    assert (by_name["version"].default_expression, by_name["version"].apply_on_update) == (VERSION_DEFAULT, True)
    assert dict((k, v) for k, _, v in by_name["status"].config)["Layer"] == "netzatlas_vl_status"
    gig = spec.layer("netzatlas_gigabit_result")
    assert gig.read_only and gig.subset == "\"snapshot_id\" = 'mev-2026''s'"
    assert not any(f.default_expression for f in gig.fields)
    assert spec.layer("netzatlas_vl_status").group.startswith("Value lists")


# ------------------------------------------------------------------------------------------- the command
@pytest.fixture
def service_env(tmp_path, db_url):
    return {"PGSERVICEFILE": str(tmp_path / "pg_service.conf"), "NETZATLAS_DATABASE_URL": db_url}


def test_project_command_writes_service_and_project(tmp_path, db_url, service_env):
    out = tmp_path / "registry.qgz"
    login = f"nobody_{uuid.uuid4().hex[:8]}"  # no such role: the project holds every layer
    res = _cli(["qgis", "project", str(out), "--service", "nz_test", "--user", login], service_env)
    assert res.returncode == 0, res.stdout + res.stderr
    db = conninfo_to_dict(db_url)
    service = pgservice.parse(Path(service_env["PGSERVICEFILE"]).read_text())
    assert service == {"nz_test": {"host": db["host"], "port": str(db["port"]), "dbname": db["dbname"],
                                   "sslmode": "disable", "user": login}}
    raw = zipfile.ZipFile(out).read("registry.qgs").decode()
    assert db["password"] not in raw and "password" not in raw.lower()
    assert db["password"] not in Path(service_env["PGSERVICEFILE"]).read_text()
    root = _qgs(out)
    layers = {m.findtext("id"): m for m in root.iter("maplayer")}
    for m in layers.values():
        src = m.findtext("datasource")
        assert src.startswith("service='nz_test' ") and "host=" not in src and "user=" not in src
        assert m.findtext("provider") == "postgres"
    groups = [g.get("name") for g in root.find("layer-tree-group").findall("layer-tree-group")]
    assert groups == ["Assets / Anlagen", "Reference / Bezug", "Results / Ergebnisse", "Value lists / Wertelisten"]
    assets = {"fibre_address", "mobile_site", "wlan_hotspot", "streetlight", "charging_point", "mobile_sector"}
    for name in assets:
        assert layers[f"netzatlas_{name}"].get("readOnly") == "0", name
    for name in ("gigabit_result", "funding_area_result", "coverage_hole_result", "municipality", "broadband_supply"):
        assert layers[f"netzatlas_{name}"].get("readOnly") == "1", name
    site = layers["netzatlas_mobile_site"]
    widgets = {f.get("name"): f.find("editWidget").get("type") for f in site.iter("field") if f.find("editWidget")
               is not None}
    assert widgets["status"] == widgets["site_type"] == widgets["owner_org"] == "ValueRelation"
    assert (widgets["height_m"], widgets["is_mobile"], widgets["created_at"]) == ("Range", "CheckBox", "DateTime")
    editable = {f.get("name"): f.get("editable") for f in site.find("editable")}
    assert all(editable[c] == "0" for c in ("id", "version", "created_at", "updated_at", "updated_by",
                                            "deleted_at", "source", "external_id"))
    assert editable["name"] == editable["status"] == "1"
    version = next(d for d in site.find("defaults") if d.get("field") == "version")
    assert (version.get("expression"), version.get("applyOnUpdate")) == (VERSION_DEFAULT, "1")
    assert site.find("renderer-v2").get("type") == "categorizedSymbol"
    relations = {r.get("id"): (r.get("referencingLayer"), r.get("referencedLayer"), r.find("fieldRef").attrib)
                 for r in root.find("relations")}
    assert relations == {
        "sectors": ("netzatlas_mobile_sector", "netzatlas_mobile_site",
                    {"referencingField": "site_id", "referencedField": "id"}),
        "supply": ("netzatlas_broadband_supply", "netzatlas_fibre_address",
                   {"referencingField": "address_id", "referencedField": "id"})}
    form_relations = [e.get("relation") for e in site.iter("attributeEditorRelation")]
    assert form_relations == ["sectors"]
    # help texts: the database's column comment wins over the docs map
    help_html = next(site.iter("attributeEditorHtmlElement")).text
    assert "antenna height above ground" in help_html and "Hauptstrahlrichtung" not in help_html


def test_project_command_asks_before_replacing_another_entry(tmp_path, service_env):
    path = Path(service_env["PGSERVICEFILE"])
    path.write_text("[keep]\nhost=a\n\n[nz_test]\nhost=elsewhere.example.org\nport=5432\ndbname=other\n")
    before = path.read_text()
    out = tmp_path / "p.qgz"
    refused = _cli(["qgis", "project", str(out), "--service", "nz_test"], service_env, stdin="n\n")
    assert refused.returncode != 0 and "Traceback" not in refused.stdout + refused.stderr
    assert "left as it is" in refused.stdout + refused.stderr
    assert path.read_text() == before and not out.exists()
    replaced = _cli(["qgis", "project", str(out), "--service", "nz_test"], service_env, stdin="y\n")
    assert replaced.returncode == 0, replaced.stdout + replaced.stderr
    parsed = pgservice.parse(path.read_text())
    assert parsed["keep"] == {"host": "a"} and parsed["nz_test"]["host"] != "elsewhere.example.org"
    assert out.exists()
    again = _cli(["qgis", "project", str(tmp_path / "p2.qgs"), "--service", "nz_test"], service_env)
    assert again.returncode == 0 and (tmp_path / "p2.qgs").read_text().startswith("<!DOCTYPE qgis")


def test_project_command_refuses_a_wrong_file_name(tmp_path, service_env):
    res = _cli(["qgis", "project", str(tmp_path / "p.zip")], service_env)
    assert res.returncode != 0 and ".qgz" in res.stdout + res.stderr and "Traceback" not in res.stderr
    assert not Path(service_env["PGSERVICEFILE"]).exists()
