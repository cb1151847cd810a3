"""A :class:`~netzatlas.qgis_project.model.ProjectSpec` written as a QGIS project (pure: text in, text out).

The XML is QGIS's project format as QGIS 3.22 writes it (``<qgis>`` with ``<layer-tree-group>``, ``<relations>``,
``<projectlayers>`` of ``<maplayer>`` elements: datasource, symbology, ``<fieldConfiguration>``, ``<aliases>``,
``<defaults>``, ``<constraints>``, the drag-and-drop form in ``<attributeEditorForm>``); QGIS fills in everything
left out with its defaults when it opens the project. Every datasource names the ``pg_service.conf`` entry, never a
host or a password.
"""

from __future__ import annotations

import html
import io
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

from netzatlas import cartography
from netzatlas.qgis_project.model import FieldForm, LayerSpec, ProjectSpec

QGIS_VERSION = "3.22.0"
_DOCTYPE = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"


def datasource(spec: LayerSpec, service: str) -> str:
    """The postgres provider's URI of a layer: the service entry, the key, geometry and the filter."""
    parts = [f"service='{service}'", f"key='{spec.key}'", "checkPrimaryKeyUnicity='0'"]
    if spec.geometry_type:
        parts[2:2] = [f"srid={spec.srid}", f"type={spec.geometry_type}"]
    table = f'table="registry"."{spec.name}"' + (" (geom)" if spec.geometry_type else "")
    subset = f" sql={spec.subset}" if spec.subset else " sql="
    return " ".join(parts) + " " + table + subset


def _option(parent: ET.Element, name: str, kind: str, value: object) -> None:
    text = ("true" if value else "false") if kind == "bool" else f"{value:g}" if isinstance(value, float) \
        else str(value)
    ET.SubElement(parent, "Option", {"name": name, "type": kind, "value": text})


def _crs_element(srid: int, wkt: str) -> ET.Element:
    ref = ET.Element("spatialrefsys")
    ET.SubElement(ref, "wkt").text = wkt
    ET.SubElement(ref, "authid").text = f"EPSG:{srid}"
    return ref


def _renderer(style_key: str) -> ET.Element:
    """The ``<renderer-v2>`` of the cartography's QML for a layer (the same definitions as the web map)."""
    doc = ET.fromstring(cartography.qml(style_key).split("\n", 1)[1])
    renderer = doc.find("renderer-v2")
    assert renderer is not None
    return renderer


def _fields(layer: ET.Element, fields: tuple[FieldForm, ...]) -> None:
    conf = ET.SubElement(layer, "fieldConfiguration")
    for f in fields:
        fe = ET.SubElement(conf, "field", {"name": f.name, "configurationFlags": "None"})
        widget = ET.SubElement(ET.SubElement(fe, "editWidget", {"type": f.widget}), "config")
        opts = ET.SubElement(widget, "Option", {"type": "Map"})
        for name, kind, value in f.config:
            _option(opts, name, kind, value)
    aliases = ET.SubElement(layer, "aliases")
    defaults = ET.SubElement(layer, "defaults")
    constraints = ET.SubElement(layer, "constraints")
    for i, f in enumerate(fields):
        ET.SubElement(aliases, "alias", {"field": f.name, "index": str(i), "name": f.alias})
        ET.SubElement(defaults, "default", {"field": f.name, "expression": f.default_expression,
                                            "applyOnUpdate": "1" if f.apply_on_update else "0"})
        ET.SubElement(constraints, "constraint", {"field": f.name, "constraints": "1" if f.not_null else "0",
                                                  "notnull_strength": "1" if f.not_null else "0",
                                                  "unique_strength": "0", "exp_strength": "0"})
    ET.SubElement(layer, "constraintExpressions")


def help_html(fields: tuple[FieldForm, ...]) -> str:
    """The form's help tab: every field with its label and help text (escaped)."""
    rows = "".join(f"<tr><td><b>{html.escape(f.alias or f.name)}</b> <code>{html.escape(f.name)}</code></td>"
                   f"<td>{html.escape(f.help)}</td></tr>" for f in fields if f.help)
    return f"<table cellpadding='3'>{rows}</table>"


def _form(layer: ET.Element, spec: LayerSpec, relation_names: dict[str, str]) -> None:
    ET.SubElement(layer, "editform", {"tolerant": "1"})
    ET.SubElement(layer, "editorlayout").text = "tablayout"
    form = ET.SubElement(layer, "attributeEditorForm")
    index = {f.name: i for i, f in enumerate(spec.fields)}

    def tab(name: str) -> ET.Element:
        return ET.SubElement(form, "attributeEditorContainer", {
            "name": name, "showLabel": "1", "groupBox": "0", "columnCount": "1", "visibilityExpression": "",
            "visibilityExpressionEnabled": "0"})

    def add(container: ET.Element, f: FieldForm) -> None:
        ET.SubElement(container, "attributeEditorField", {"name": f.name, "index": str(index[f.name]),
                                                          "showLabel": "1"})

    data = tab("Objekt / feature")
    system = tab("System")
    for f in spec.fields:
        add(system if f.read_only and not spec.read_only else data, f)
    if not len(system):
        form.remove(system)
    for rel in spec.relations:
        container = tab(relation_names[rel])
        ET.SubElement(container, "attributeEditorRelation", {
            "name": rel, "relation": rel, "showLabel": "0", "label": relation_names[rel],
            "relationWidgetTypeId": "relation_editor", "nmRelationId": "", "forceSuppressFormPopup": "0"})
    helptab = tab("Hilfe / help")
    ET.SubElement(helptab, "attributeEditorHtmlElement", {"name": "help", "showLabel": "0"}).text = \
        help_html(spec.fields)
    editable = ET.SubElement(layer, "editable")
    for f in spec.fields:
        ET.SubElement(editable, "field", {"name": f.name, "editable": "0" if f.read_only else "1"})


def map_layer(spec: LayerSpec, project: ProjectSpec) -> ET.Element:
    """One ``<maplayer>``: datasource, CRS, symbology and the form."""
    attrs = {"type": "vector", "readOnly": "1" if spec.read_only else "0", "styleCategories": "AllStyleCategories",
             "hasScaleBasedVisibilityFlag": "0", "minScale": "100000000", "maxScale": "0"}
    if spec.geometry_type:
        attrs.update(geometry={"Point": "Point", "MultiPoint": "Point", "LineString": "Line",
                               "MultiLineString": "Line"}.get(spec.geometry_type, "Polygon"),
                     wkbType=spec.geometry_type)
    else:
        attrs.update(geometry="No geometry", wkbType="NoGeometry")
    layer = ET.Element("maplayer", attrs)
    ET.SubElement(layer, "id").text = spec.layer_id
    ET.SubElement(layer, "datasource").text = datasource(spec, project.service)
    ET.SubElement(layer, "layername").text = spec.title
    if spec.srid:
        ET.SubElement(layer, "srs").append(_crs_element(spec.srid, project.crs_wkt if spec.srid == project.srid
                                                        else ""))
    ET.SubElement(layer, "provider", {"encoding": "UTF-8"}).text = "postgres"
    flags = ET.SubElement(layer, "flags")
    for flag, on in (("Identifiable", 1), ("Removable", 1), ("Searchable", 1), ("Private", 0)):
        ET.SubElement(flags, flag).text = str(on)
    if spec.style:
        layer.append(_renderer(spec.style))
    custom = ET.SubElement(ET.SubElement(layer, "customproperties"), "Option", {"type": "Map"})
    _option(custom, "netzatlas/layer", "QString", spec.name)
    snapshot = project.snapshots.get(spec.layer_id)
    if snapshot:
        _option(custom, "netzatlas/snapshot", "QString", snapshot)
    _fields(layer, spec.fields)
    names = {r.relation_id: r.name for r in project.relations}
    _form(layer, spec, names)
    return layer


def _tree(root: ET.Element, project: ProjectSpec) -> None:
    tree = ET.SubElement(root, "layer-tree-group")
    ET.SubElement(ET.SubElement(tree, "customproperties"), "Option")
    for group in project.groups:
        members = [s for s in project.layers if s.group == group]
        if not members:
            continue
        shown = any(s.visible for s in members)
        g = ET.SubElement(tree, "layer-tree-group", {"name": group, "checked": "Qt::Checked" if shown
                                                     else "Qt::Unchecked", "expanded": "1" if shown else "0"})
        ET.SubElement(ET.SubElement(g, "customproperties"), "Option")
        for s in members:
            ET.SubElement(g, "layer-tree-layer", {
                "id": s.layer_id, "name": s.title, "providerKey": "postgres", "source": datasource(s, project.service),
                "checked": "Qt::Checked" if s.visible else "Qt::Unchecked", "expanded": "0"})


def project_xml(project: ProjectSpec) -> str:
    """The whole ``.qgs`` document."""
    root = ET.Element("qgis", {"version": QGIS_VERSION, "projectname": project.title})
    ET.SubElement(root, "homePath", {"path": ""})
    ET.SubElement(root, "title").text = project.title
    ET.SubElement(root, "autotransaction", {"active": "0"})
    ET.SubElement(root, "evaluateDefaultValues", {"active": "0"})
    ET.SubElement(root, "trust", {"active": "0"})
    ET.SubElement(root, "projectCrs").append(_crs_element(project.srid, project.crs_wkt))
    _tree(root, project)
    rels = ET.SubElement(root, "relations")
    for r in project.relations:
        rel = ET.SubElement(rels, "relation", {"id": r.relation_id, "name": r.name, "strength": "Association",
                                               "referencingLayer": r.referencing, "referencedLayer": r.referenced})
        ET.SubElement(rel, "fieldRef", {"referencingField": r.referencing_field,
                                        "referencedField": r.referenced_field})
    layers = ET.SubElement(root, "projectlayers")
    for spec in project.layers:
        layers.append(map_layer(spec, project))
    props = ET.SubElement(ET.SubElement(root, "properties"), "SpatialRefSys")
    ET.SubElement(props, "ProjectionsEnabled", {"type": "int"}).text = "1"  # else QGIS ignores <projectCrs>
    order = ET.SubElement(root, "layerorder")
    for spec in project.layers:
        ET.SubElement(order, "layer", {"id": spec.layer_id})
    if project.extent:
        view = ET.SubElement(root, "ProjectViewSettings", {"UseProjectScales": "0", "rotation": "0"})
        xmin, ymin, xmax, ymax = project.extent
        ET.SubElement(view, "DefaultViewExtent", {"xmin": f"{xmin:.2f}", "ymin": f"{ymin:.2f}",
                                                  "xmax": f"{xmax:.2f}", "ymax": f"{ymax:.2f}"}).append(
            _crs_element(project.srid, project.crs_wkt))
    ET.indent(root, space=" ")
    return _DOCTYPE + ET.tostring(root, encoding="unicode") + "\n"


def qgz_bytes(xml: str, name: str = "netzatlas") -> bytes:
    """A ``.qgz``: the zip QGIS saves by default, holding the ``.qgs`` document."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{name}.qgs", xml)
    return buf.getvalue()


def write_project(path: Path, xml: str) -> Path:
    """Write ``xml`` as ``path`` (.qgz zipped, .qgs as text), replacing it atomically."""
    tmp = path.with_name(path.name + ".tmp")
    if path.suffix.lower() == ".qgs":
        tmp.write_text(xml, encoding="utf-8")
    else:
        tmp.write_bytes(qgz_bytes(xml, path.stem))
    tmp.replace(path)
    return path
