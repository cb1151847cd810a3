"""The generated QGIS project (``netzatlas qgis project``) opened and edited in a real, headless QGIS.

An editor of STAWAG (``netzatlas users add … --org stawag --role editor``) opens the project through its
pg_service.conf entry and ~/.pgpass (both in a temporary folder: ``PGSERVICEFILE`` / ``PGPASSFILE``): every layer is
valid with the database's count and its style, the forms are as written, an edit lands in the history under the
person's name, and each bad edit is refused with a readable message and leaves the database as it was. Screenshots
of the rendered project and of a form are written to the test's temporary folder.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT_PYTHON = os.environ.get("NETZATLAS_PYTHON", str(ROOT / ".venv" / "bin" / "python"))
LOGIN = f"qgis_anna_{os.getpid()}"  # logins are per cluster: unique per run
ADMIN = f"qgis_admin_{os.getpid()}"
CONFIDENTIAL = ("broadband_supply", "candidate_site", "gigabit_result")  # not readable by viewers and editors
SERVICE = "nz_qgis_test"
ASSETS = ("fibre_address", "mobile_site", "wlan_hotspot", "streetlight", "charging_point")


def _cli(*args: str, env: dict[str, str]) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "QGIS_AUTH_DB_DIR_PATH",
                                                             "XDG_CONFIG_HOME", "PGPASSFILE")}
    res = subprocess.run([PROJECT_PYTHON, "-m", "netzatlas.cli.main", *args], cwd=ROOT, capture_output=True,
                         text=True, timeout=300, env={**clean, **env})
    assert res.returncode == 0, f"netzatlas {' '.join(args)}:\n{res.stdout[-2000:]}\n{res.stderr[-3000:]}"
    return res.stdout


class Owner:
    """SQL as the database owner beside QGIS (to check what QGIS did), through QGIS's own postgres connection."""

    def __init__(self, url: str) -> None:
        from qgis.core import QgsProviderRegistry

        u = urlparse(url)
        uri = (f"dbname='{u.path.lstrip('/')}' host={u.hostname} port={u.port} user='{unquote(u.username)}' "
               f"password='{unquote(u.password)}' sslmode=disable")
        self.conn = QgsProviderRegistry.instance().providerMetadata("postgres").createConnection(uri, {})

    def rows(self, sql: str) -> list[list]:
        return self.conn.executeSql(sql)

    def value(self, sql: str):  # noqa: ANN201
        return self.rows(sql)[0][0]


@pytest.fixture(scope="module")
def setup(registry, tmp_path_factory) -> dict:
    """An editor person, the project written for them, their service entry and password file."""
    folder = tmp_path_factory.mktemp("qgis-project")
    password = secrets.token_urlsafe(18)
    (folder / "password").write_text(password + "\n")
    env = {"NETZATLAS_DATABASE_URL": registry["url"], "PGSERVICEFILE": str(folder / "pg_service.conf")}
    _cli("users", "add", LOGIN, "--org", "stawag", "--role", "editor", "--password-file", str(folder / "password"),
         env=env)
    _cli("users", "add", ADMIN, "--org", "city", "--role", "admin", "--password-file", str(folder / "password"),
         env=env)
    out, admin = folder / "registry.qgz", folder / "admin.qgz"
    _cli("qgis", "project", str(out), "--service", SERVICE, "--user", LOGIN, env=env)
    _cli("qgis", "project", str(admin), "--service", SERVICE + "_admin", "--user", ADMIN, env=env)
    u = urlparse(registry["url"])
    pgpass = folder / "pgpass"
    pgpass.write_text("".join(f"{u.hostname}:{u.port}:{u.path.lstrip('/')}:{who}:{password}\n"
                              for who in (LOGIN, ADMIN)))
    pgpass.chmod(0o600)
    saved = {k: os.environ.get(k) for k in ("PGSERVICEFILE", "PGPASSFILE")}
    os.environ.update(PGSERVICEFILE=env["PGSERVICEFILE"], PGPASSFILE=str(pgpass))
    yield {"project": out, "admin_project": admin, "folder": folder, "password": password,
           "owner": Owner(registry["url"])}
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    _cli("users", "remove", LOGIN, env=env)
    _cli("users", "remove", ADMIN, env=env)


def _open(path: Path):  # noqa: ANN202
    from qgis.core import QgsProject

    project = QgsProject()
    assert project.read(str(path)), project.error()
    return project


@pytest.fixture(scope="module")
def project(setup):
    return _open(setup["project"])


def _xml(path: Path) -> ET.Element:
    with zipfile.ZipFile(path) as zf:
        return ET.fromstring(zf.read(f"{path.stem}.qgs").decode().split("\n", 1)[1])


def _layer(project, name: str):  # noqa: ANN001, ANN202
    layer = project.mapLayer(f"netzatlas_{name}")
    assert layer is not None and layer.isValid(), name
    return layer


def _charger(owner: Owner) -> dict:
    row = owner.rows("SELECT id::text, name, status, version, ST_AsText(geom) FROM registry.charging_point "
                     "WHERE source = 'qgis-test' AND external_id = 'C1'")[0]
    return dict(zip(("id", "name", "status", "version", "geom"), row, strict=True))


def _feature(layer, fid_text: str):  # noqa: ANN001, ANN202
    from qgis.core import QgsFeatureRequest

    return next(layer.getFeatures(QgsFeatureRequest().setFilterExpression(f"\"id\" = '{fid_text}'")))


# ----------------------------------------------------------------------------------------------- opening
@pytest.mark.parametrize("who", ["editor", "admin"])
def test_every_layer_valid_with_counts_and_styles(who, registry, setup):
    project = _open(setup["project" if who == "editor" else "admin_project"])
    layers = list(project.mapLayers().values())
    assert len(layers) >= 20 and all(layer.isValid() for layer in layers), [
        layer.id() for layer in layers if not layer.isValid()]
    # the editor's project holds what they may read; the confidential layers only the admin's
    present = {name for name in CONFIDENTIAL if project.mapLayer(f"netzatlas_{name}") is not None}
    assert present == (set() if who == "editor" else set(CONFIDENTIAL))
    for name, expected in registry["counts"].items():
        if name in CONFIDENTIAL and who == "editor":
            continue
        layer = _layer(project, name)
        assert sum(1 for _ in layer.getFeatures()) == layer.featureCount() == expected, name
    owner = setup["owner"]
    for layer in layers:  # every layer, results and value lists too, against the database read by its owner
        name = layer.customProperty("netzatlas/layer")
        where = f" WHERE {layer.subsetString()}" if layer.subsetString() else ""
        assert layer.featureCount() == owner.value(f'SELECT count(*) FROM registry."{name}"{where}'), name
    for name in ASSETS:
        assert _layer(project, name).renderer().type() == "categorizedSymbol", name
        assert not _layer(project, name).readOnly(), name
    for name in ("coverage_hole_result", "funding_area_result", "municipality") + (CONFIDENTIAL if who == "admin"
                                                                                    else ()):
        assert _layer(project, name).readOnly(), name
    assert _layer(project, "coverage_hole_result").renderer().type() == "categorizedSymbol"
    assert _layer(project, "municipality").renderer().type() == "singleSymbol"
    groups = [g.name() for g in project.layerTreeRoot().children()]
    assert groups == ["Assets / Anlagen", "Reference / Bezug", "Results / Ergebnisse", "Value lists / Wertelisten"]
    assert project.crs().authid() == "EPSG:25832"
    # the layers reach the database through the service only, as the person
    assert all("service='nz_qgis_test" in layer.source() and "password" not in layer.source() for layer in layers)
    assert setup["password"] not in zipfile.ZipFile(setup["project"]).read("registry.qgs").decode()
    if who == "admin":  # the relation address → supply works (the supply is confidential: admins only)
        supply = project.relationManager().relation("supply")
        assert supply.isValid()
        address = next(f for f in _layer(project, "fibre_address").getFeatures() if f["external_id"] == "A00")
        assert [f["technology"] for f in supply.getRelatedFeatures(address)] == ["fttb"]


def test_form_configuration_as_written(project, setup):
    from qgis.core import QgsEditFormConfig

    root = _xml(setup["project"])
    written = {m.findtext("id"): m for m in root.iter("maplayer")}
    for name in ASSETS + ("mobile_sector",):
        layer = _layer(project, name)
        xml_widgets = {f.get("name"): f.find("editWidget").get("type")
                       for f in written[layer.id()].find("fieldConfiguration")}
        loaded = {f.name(): layer.editorWidgetSetup(i).type() for i, f in enumerate(layer.fields())}
        assert loaded == xml_widgets, name
        config = layer.editFormConfig()
        assert config.layout() == QgsEditFormConfig.TabLayout
        for system in ("id", "version", "created_at", "updated_at", "updated_by", "source", "external_id"):
            assert config.readOnly(layer.fields().indexOf(system)), (name, system)
        assert not config.readOnly(layer.fields().indexOf("owner_org"))
        version = layer.defaultValueDefinition(layer.fields().indexOf("version"))
        assert version.applyOnUpdate() and version.expression()
    site = _layer(project, "mobile_site")
    assert site.editorWidgetSetup(site.fields().indexOf("status")).config()["Layer"] == "netzatlas_vl_status"
    assert site.editorWidgetSetup(site.fields().indexOf("height_m")).type() == "Range"
    assert site.editorWidgetSetup(site.fields().indexOf("is_mobile")).type() == "CheckBox"
    assert site.editorWidgetSetup(site.fields().indexOf("created_at")).type() == "DateTime"
    relations = project.relationManager().relations()
    assert {r.id() for r in relations.values() if r.isValid()} == {"sectors"}  # supply: not readable by editors
    assert relations["sectors"].referencedLayer().id() == "netzatlas_mobile_site"
    tabs = [t.name() for t in site.editFormConfig().tabs()]
    assert tabs == ["Objekt / feature", "System", "Sektoren / sectors", "Hilfe / help"]
    from qgis.core import QgsAttributeEditorElement

    sectors = _layer(project, "mobile_sector")
    assert sectors.editorWidgetSetup(sectors.fields().indexOf("site_id")).type() == "RelationReference"
    sector_help = sectors.editFormConfig().tabs()[-1]
    assert sector_help.name() == "Hilfe / help"
    assert [e.type() for e in sector_help.children()] == [QgsAttributeEditorElement.AeTypeHtmlElement]


# ----------------------------------------------------------------------------------------------- editing
def test_edit_as_editor_is_in_the_history_under_their_name(setup, project, registry):
    owner = setup["owner"]
    before = _charger(owner)
    layer = _layer(project, "charging_point")
    feature = _feature(layer, before["id"])
    assert layer.startEditing()
    assert layer.changeAttributeValue(feature.id(), layer.fields().indexOf("name"), "Ladepunkt Rathaus")
    assert layer.commitChanges(), layer.commitErrors()
    after = _charger(owner)
    assert (after["name"], after["version"], after["geom"]) == ("Ladepunkt Rathaus", before["version"] + 1,
                                                                before["geom"])
    who = owner.rows(f"SELECT changed_by, operation, version FROM audit.change WHERE row_id = '{before['id']}' "
                     "ORDER BY seq DESC LIMIT 1")[0]
    assert who[0] == LOGIN and who[1] == "UPDATE"
    history = _cli("db", "history", "charging_point", before["id"], env={"NETZATLAS_DATABASE_URL": registry["url"],
                                                                          "COLUMNS": "200"})
    assert LOGIN in history


def _refused(layer, change, expected: tuple[str, ...]) -> str:  # noqa: ANN001
    assert layer.startEditing()
    change()
    assert layer.commitChanges() is False
    errors = "\n".join(layer.commitErrors())
    layer.rollBack()
    for text in expected:
        assert text in errors, errors
    return errors


def test_unknown_code_refused_readably(setup, project):
    owner = setup["owner"]
    before = _charger(owner)
    layer = _layer(project, "charging_point")
    feature = _feature(layer, before["id"])
    _refused(layer, lambda: layer.changeAttributeValue(feature.id(), layer.fields().indexOf("status"), "kaputt"),
             ("Unbekannter Code", "not in the value list", "kaputt"))
    assert _charger(owner) == before


def test_geometry_outside_the_municipality_refused(setup, project):
    from qgis.core import QgsGeometry, QgsPointXY

    owner = setup["owner"]
    before = _charger(owner)
    layer = _layer(project, "charging_point")
    feature = _feature(layer, before["id"])
    far = QgsGeometry.fromPointXY(QgsPointXY(feature.geometry().asPoint().x() + 40000,
                                             feature.geometry().asPoint().y()))
    _refused(layer, lambda: layer.changeGeometry(feature.id(), far), ("außerhalb des Gemeindegebiets",
                                                                       "outside the municipality"))
    assert _charger(owner) == before


def test_another_organizations_feature_refused(setup, project):
    owner = setup["owner"]
    lamp_id, lamp_name, lamp_version = owner.rows(
        "SELECT id::text, name, version FROM registry.streetlight WHERE source = 'qgis-test' AND external_id = 'L0'")[0]
    layer = _layer(project, "streetlight")
    feature = _feature(layer, lamp_id)
    errors = _refused(layer, lambda: layer.changeAttributeValue(feature.id(), layer.fields().indexOf("name"), "x"),
                      ("gehört Organisation city", "belongs to city"))
    assert LOGIN in errors
    assert owner.rows(f"SELECT name, version FROM registry.streetlight WHERE id = '{lamp_id}'")[0] == [lamp_name,
                                                                                                      lamp_version]


def test_stale_version_second_save_refused(setup, project):
    """Two analysts edit the same feature at the same time: the first save wins, the second is refused."""
    owner = setup["owner"]
    before = _charger(owner)
    first, second = _open(setup["project"]), _open(setup["project"])
    a, b = _layer(first, "charging_point"), _layer(second, "charging_point")
    fa, fb = _feature(a, before["id"]), _feature(b, before["id"])
    assert a.startEditing() and b.startEditing()
    a.changeAttributeValue(fa.id(), a.fields().indexOf("name"), "Analystin A")
    b.changeAttributeValue(fb.id(), b.fields().indexOf("name"), "Analyst B")
    assert a.commitChanges(), a.commitErrors()
    saved = _charger(owner)
    assert saved["name"] == "Analystin A" and saved["version"] == before["version"] + 1
    assert b.commitChanges() is False
    errors = "\n".join(b.commitErrors())
    b.rollBack()
    assert "Veraltete Version" in errors and "stale version" in errors and "reload the layer" in errors, errors
    assert _charger(owner) == saved


# ----------------------------------------------------------------------------------------------- screenshots
def _layer_tools_class():  # noqa: ANN202
    from qgis.core import QgsVectorLayerTools

    class LayerTools(QgsVectorLayerTools):
        """What QGIS's main window gives a form (start / stop editing a related layer); nothing is added here."""

        def addFeature(self, layer, defaultValues=None, defaultGeometry=None, feature=None):  # noqa: N802, ANN001, ANN201
            return False

        def startEditing(self, layer):  # noqa: N802, ANN001, ANN201
            return layer.startEditing()

        def stopEditing(self, layer, allowCancel=True):  # noqa: N802, N803, ANN001, ANN201
            return layer.commitChanges()

        def saveEdits(self, layer):  # noqa: N802, ANN001, ANN201
            return layer.commitChanges(False)

        def copyMoveFeatures(self, layer, request, dx=0, dy=0, errorMsg=None, topologicalEditing=False,  # noqa: N802, N803, ANN001, ANN201
                             topologicalLayer=None):  # noqa: N803
            return False

    return LayerTools


def test_screenshots_of_the_project_and_a_form(setup, project):
    from qgis.core import QgsMapRendererParallelJob, QgsMapSettings, QgsRectangle
    from qgis.gui import QgsAttributeEditorContext, QgsAttributeForm, QgsGui
    from qgis.PyQt.QtCore import QSize
    from qgis.PyQt.QtGui import QColor

    settings = QgsMapSettings()
    settings.setLayers(project.layerTreeRoot().checkedLayers())
    settings.setDestinationCrs(project.crs())
    settings.setOutputSize(QSize(1600, 1000))
    settings.setBackgroundColor(QColor("white"))
    extent = QgsRectangle(_layer(project, "municipality").extent())
    extent.scale(1.05)
    settings.setExtent(extent)
    job = QgsMapRendererParallelJob(settings)
    job.start()
    job.waitForFinished()
    image = job.renderedImage()
    map_png = setup["folder"] / "project.png"
    assert image.save(str(map_png))
    colours = {image.pixel(x, y) for x in range(0, 1600, 8) for y in range(0, 1000, 8)}
    assert len(colours) > 5  # drawn layers, not a blank canvas

    # a form looks up its value lists and relations in the application's project, as in QGIS itself
    from qgis.core import QgsProject

    QgsGui.editorWidgetRegistry().initEditors()
    shown = QgsProject.instance()
    shown.clear()
    assert shown.read(str(setup["project"]))
    try:
        site = shown.mapLayer("netzatlas_mobile_site")
        site.startEditing()
        context = QgsAttributeEditorContext()
        tools = _layer_tools_class()()
        context.setVectorLayerTools(tools)  # in QGIS the application provides these; the relation editor needs them
        form = QgsAttributeForm(site, next(site.getFeatures()), context)
        form.resize(900, 700)
        form_png = setup["folder"] / "form.png"
        assert form.grab().save(str(form_png))
        site.rollBack()
    finally:
        shown.clear()
    assert map_png.stat().st_size > 5000 and form_png.stat().st_size > 5000
    print(f"screenshots: {map_png} {form_png}")
