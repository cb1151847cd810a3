"""One cartography for every map: classes, colours and labels (German / English) per layer and result.

The definitions live in ``cartography.json`` beside this module. From them come

- the web map's ``api/static/cartography.js`` (:func:`web_js`, served from the package like ``map.js``),
- the report maps' colours and legends (``reports/maps.py``, the gigabit, mast, WLAN and charging reports),
- the QGIS plugin's QML styles (:func:`qml`, written into ``qgis_plugin/netzatlas_qgis/styles``).

The generated files are checked in; ``tests/test_cartography.py`` fails when one differs from what this module
generates. After editing the JSON, regenerate them::

    python -m netzatlas.cartography --write
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path

SOURCE = Path(__file__).with_name("cartography.json")
WEB_JS = Path(__file__).parent / "api" / "static" / "cartography.js"
QGIS_STYLES = Path(__file__).resolve().parent.parent / "qgis_plugin" / "netzatlas_qgis" / "styles"


@dataclass(frozen=True)
class MapClass:
    """One category of a layer: the attribute value, its labels and colour."""

    value: str
    de: str
    en: str
    color: str
    marker: str | None = None

    @property
    def label(self) -> str:
        return f"{self.de} / {self.en}"


@dataclass(frozen=True)
class Style:
    """How one layer or result is drawn everywhere."""

    key: str
    de: str
    en: str
    geometry: str
    color: str
    outline: str | None = None
    fill_opacity: float = 0.6
    marker: str = "circle"
    size: float = 2.0
    width: float = 0.26
    attribute: str | None = None
    classes: tuple[MapClass, ...] = field(default_factory=tuple)
    result: bool = False
    basemap: bool = False

    @property
    def label(self) -> str:
        return f"{self.de} / {self.en}"

    def color_of(self, value: object) -> str:
        """The colour of a category value (the layer colour for a value without a class)."""
        for c in self.classes:
            if c.value == value:
                return c.color
        return self.color


@lru_cache(maxsize=1)
def definitions() -> dict:
    """The parsed ``cartography.json``."""
    return json.loads(SOURCE.read_text(encoding="utf-8"))


def _style(key: str, d: dict) -> Style:
    classes = d.get("classes") or ()
    attribute = d.get("attribute")
    if classes == "status":
        status = definitions()["status"]
        attribute = status["attribute"]
        classes = [{**c, "color": c["color"] or d["color"]} for c in status["classes"]]
    return Style(key=key, de=d["de"], en=d["en"], geometry=d["geometry"], color=d["color"],
                 outline=d.get("outline"), fill_opacity=float(d.get("fill_opacity", 0.6)),
                 marker=d.get("marker", "circle"), size=float(d.get("size", 2.0)), width=float(d.get("width", 0.26)),
                 attribute=attribute, result=bool(d.get("result")), basemap=bool(d.get("basemap")),
                 classes=tuple(MapClass(c["value"], c["de"], c["en"], c["color"], c.get("marker")) for c in classes))


@cache
def style(key: str) -> Style:
    """The style of a registry layer (``streetlight``, ``gigabit_result`` …) or a report result
    (``wifi_priority``, ``charging_gap``, ``new_site`` …); KeyError for an unknown key."""
    d = definitions()
    if key in d["layers"]:
        return _style(key, d["layers"][key])
    return _style(key, d["results"][key])


def keys() -> list[str]:
    d = definitions()
    return [*d["layers"], *d["results"]]


def priority_class(rank: int) -> str:
    """The WLAN priority class (``hoch``/``mittel``/``niedrig``) of a priority rank (1 = first)."""
    for c in definitions()["results"]["wifi_priority"]["classes"]:
        if c["max_rank"] is None or rank <= c["max_rank"]:
            return c["value"]
    raise ValueError("the last priority class must have no max_rank")


# ------------------------------------------------------------------------------------------------ web map
def web_definition() -> dict:
    """What the web map needs per collection: colour, outline, opacity, the class attribute and classes."""
    out = {}
    for key in definitions()["layers"]:
        s = style(key)
        out[key] = {"title": s.label, "geometry": s.geometry, "color": s.color, "outline": s.outline or s.color,
                    "fill_opacity": s.fill_opacity, "result": s.result, "basemap": s.basemap,
                    "attribute": s.attribute if s.attribute != "status" else None,
                    "classes": [{"value": c.value, "label": c.label, "color": c.color} for c in s.classes]
                    if s.attribute != "status" else []}
    return out


def web_js() -> str:
    """``api/static/cartography.js``: the definitions as a global the web map's ``map.js`` reads."""
    body = json.dumps(web_definition(), ensure_ascii=False, indent=1, sort_keys=True)
    return ("// Generated by `python -m netzatlas.cartography --write` from netzatlas/cartography.json: do not edit.\n"
            f'"use strict";\nwindow.NETZATLAS_CARTOGRAPHY = {body};\n')


# ------------------------------------------------------------------------------------------------ QGIS
def rgba(color: str, alpha: float = 1.0) -> str:
    """'#rrggbb' → 'r,g,b,a' as QML writes colours."""
    h = color.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"{r},{g},{b},{round(alpha * 255)}"


def _xml(v: str) -> str:
    return v.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")


def _symbol(s: Style, name: str, color: str, marker: str | None = None) -> str:
    head = f'   <symbol type="{ {"point": "marker", "line": "line", "polygon": "fill"}[s.geometry]}" name="{name}" ' \
           'alpha="1" clip_to_extent="1" force_rhr="0">\n'
    if s.geometry == "point":
        outline = rgba(s.outline) if s.outline else "255,255,255,255"
        props = (f'     <prop k="color" v="{rgba(color)}"/><prop k="name" v="{marker or s.marker}"/>'
                 f'<prop k="size" v="{s.size:g}"/>\n'
                 f'     <prop k="outline_color" v="{outline}"/><prop k="outline_width" v="0.2"/>\n')
        cls = "SimpleMarker"
    elif s.geometry == "line":
        props = f'     <prop k="line_color" v="{rgba(color)}"/><prop k="line_width" v="{s.width:g}"/>\n'
        cls = "SimpleLine"
    else:
        props = (f'     <prop k="color" v="{rgba(color, s.fill_opacity)}"/>'
                 f'<prop k="outline_color" v="{rgba(s.outline or color)}"/>'
                 f'<prop k="outline_width" v="{s.width:g}"/>\n     <prop k="style" v="solid"/>\n')
        cls = "SimpleFill"
    return f'{head}    <layer class="{cls}" enabled="1" pass="0" locked="0">\n{props}    </layer>\n   </symbol>\n'


def qml(key: str) -> str:
    """A QGIS QML style (symbology) for a layer or result: categorized when it has classes."""
    s = style(key)
    start = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" \
            '<qgis version="3.22.0" styleCategories="Symbology">\n'
    if s.classes:
        cats = "".join(f'   <category render="true" value="{_xml(c.value)}" label="{_xml(c.label)}" symbol="{i}"/>\n'
                       for i, c in enumerate(s.classes))
        syms = "".join(_symbol(s, str(i), c.color, c.marker) for i, c in enumerate(s.classes))
        renderer = (f' <renderer-v2 type="categorizedSymbol" attr="{_xml(s.attribute or "")}" symbollevels="0" '
                    f'enableorderby="0" forceraster="0">\n  <categories>\n{cats}  </categories>\n'
                    f'  <symbols>\n{syms}  </symbols>\n </renderer-v2>\n')
    else:
        renderer = (' <renderer-v2 type="singleSymbol" symbollevels="0" enableorderby="0" forceraster="0">\n'
                    f'  <symbols>\n{_symbol(s, "0", s.color)}  </symbols>\n </renderer-v2>\n')
    return start + renderer + "</qgis>\n"


def qgis_styles() -> dict[str, str]:
    """File name → QML text of every style the QGIS plugin ships."""
    q = definitions()["qgis"]
    out = {f"{k}.qml": qml(k) for k in q["layer_styles"]}
    out.update({name: qml(k) for name, k in q["result_styles"].items()})
    return out


# ------------------------------------------------------------------------------------------------ files
def generated_files() -> dict[Path, str]:
    """Every file generated from the definitions, with its content."""
    return {WEB_JS: web_js(), **{QGIS_STYLES / n: t for n, t in qgis_styles().items()}}


def stale_files() -> list[Path]:
    """Generated files whose checked-in content differs from the definitions (empty when all are current)."""
    return [p for p, t in generated_files().items() if not p.exists() or p.read_text(encoding="utf-8") != t]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Write (or check) the files generated from cartography.json.")
    ap.add_argument("--write", action="store_true", help="write the web map's JS and the QGIS styles")
    args = ap.parse_args(argv)
    if args.write:
        for p, t in generated_files().items():
            if not p.parent.exists():  # an installed package without the QGIS plugin's sources
                continue
            p.write_text(t, encoding="utf-8")
            print(p)
        return 0
    stale = stale_files()
    for p in stale:
        print(f"stale: {p}")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
