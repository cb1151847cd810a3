"""CQL2 (text and JSON) → parameterised SQL, via pygeofilter's parsers.

Only queryable columns may appear; every literal becomes a bound parameter (``%(pN)s``), never SQL text.
Supported: comparisons, AND/OR/NOT, LIKE, BETWEEN, IN, IS NULL, and the spatial functions S_INTERSECTS,
S_WITHIN, S_CONTAINS, S_DISJOINT, S_EQUALS, S_TOUCHES, S_CROSSES, S_OVERLAPS with geometry literals in the
filter CRS (CRS84 by default), transformed to the table's CRS. ``geometry`` names the primary geometry as well as
``geom`` (the name the queryables list), as clients commonly send it. CQL2 text is read with CQL2's precedence
(NOT, then AND, then OR), quotes doubled or escaped inside text literals, LIKE's wildcards as CQL2 defines them.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from psycopg import sql
from pygeofilter import ast, values
from pygeofilter.parsers.cql2_json import parse as parse_json
from pygeofilter.parsers.cql2_text import parse as pygeofilter_parse_text

from netzatlas.errors import InvalidParameter

COMPARE = {ast.Equal: "=", ast.NotEqual: "<>", ast.LessThan: "<", ast.LessEqual: "<=", ast.GreaterThan: ">",
           ast.GreaterEqual: ">="}
SPATIAL = {ast.GeometryIntersects: "ST_Intersects", ast.GeometryWithin: "ST_Within",
           ast.GeometryContains: "ST_Contains", ast.GeometryDisjoint: "ST_Disjoint", ast.GeometryEquals: "ST_Equals",
           ast.GeometryTouches: "ST_Touches", ast.GeometryCrosses: "ST_Crosses", ast.GeometryOverlaps: "ST_Overlaps"}


log = logging.getLogger("netzatlas.api")
#: pygeofilter's CQL2 text rules for AND / OR / NOT, and the CQL2 ones (booleanExpression = booleanTerm {OR
#: booleanTerm}; booleanTerm = booleanFactor {AND booleanFactor}; booleanFactor = [NOT] booleanPrimary)
_PYGEOFILTER_CONDITION = """?condition: condition_1
          | condition "AND"i condition_1                                 -> and_
          | condition "OR"i condition_1                                   -> or_

?condition_1: predicate
            | "NOT"i predicate                                               -> not_
            | "NOT"i "(" predicate ")"                                       -> not_
            | "(" condition ")"
"""
_CQL2_CONDITION = """?condition: conjunction
          | condition "OR"i conjunction                                      -> or_

?conjunction: condition_1
            | conjunction "AND"i condition_1                                 -> and_

?condition_1: predicate
            | boolean_predicate
            | "NOT"i condition_1                                             -> not_
            | "(" condition ")"
"""
#: CQL2 booleanPrimary: a boolean literal alone is a predicate (``filter=true``: every feature). The priority
#: settles the one LALR conflict, ``(true)``: a condition, not a parenthesised value.
_BOOLEAN_PREDICATE = "\nboolean_predicate.2: BOOLEAN\n"
#: pygeofilter's boolean literal also matched the start of a name: ``trueish = 1`` was a syntax error
_PYGEOFILTER_BOOLEAN = 'BOOLEAN.2: ( "TRUE"i | "FALSE"i)'
_CQL2_BOOLEAN = r'BOOLEAN.2: /(?i:true|false)(?![A-Za-z0-9_:.])/'


@lru_cache(maxsize=1)
def _text_parser() -> Callable[[str], ast.Node]:
    """pygeofilter's CQL2 text parser with CQL2's precedence: AND binds tighter than OR, and NOT takes a
    parenthesised condition. pygeofilter reads AND and OR left to right at one level — ``a OR b AND c`` was
    ``(a OR b) AND c``, a different set of features without a word — and ``NOT (a AND b)`` was a 400. A boolean
    literal alone is a predicate (``filter=true`` was a 400)."""
    import os

    from lark import Lark, v_args
    from pygeofilter.parsers.cql2_text import parser as pgf

    path = os.path.join(os.path.dirname(pgf.__file__), "grammar.lark")
    with open(path, encoding="utf-8") as fh:
        grammar = fh.read()
    if _PYGEOFILTER_CONDITION not in grammar:
        # another pygeofilter: its own rules are used, and tests/test_api_holdout.py tells whether they are right
        log.warning("pygeofilter's CQL2 grammar changed; its AND/OR precedence is used as it is")
        return pygeofilter_parse_text

    @v_args(inline=True)
    class Transformer(pgf.CQLTransformer):
        def boolean_predicate(self, value: bool) -> bool:
            return value

    grammar = grammar.replace(_PYGEOFILTER_CONDITION, _CQL2_CONDITION).replace(_PYGEOFILTER_BOOLEAN, _CQL2_BOOLEAN)
    lark = Lark(grammar + _BOOLEAN_PREDICATE, parser="lalr", maybe_placeholders=False, transformer=Transformer(),
                import_paths=[os.path.dirname(os.path.dirname(pgf.__file__))], source_path=path)
    return lark.parse


def parse_text(text: str) -> ast.Node:
    return _text_parser()(text)


_BBOX = re.compile(r"\bBBOX\s*\(\s*([-+0-9.eE]+)\s*,\s*([-+0-9.eE]+)\s*,\s*([-+0-9.eE]+)\s*,\s*([-+0-9.eE]+)\s*\)",
                   re.IGNORECASE)


def _bbox_to_polygon(text: str) -> str:
    """CQL2's envelope literal BBOX(minx, miny, maxx, maxy) as the equivalent POLYGON (the parser lacks it)."""
    def poly(m: re.Match) -> str:
        x1, y1, x2, y2 = m.groups()
        return f"POLYGON(({x1} {y1}, {x2} {y1}, {x2} {y2}, {x1} {y2}, {x1} {y1}))"
    return _BBOX.sub(poly, text)


#: stands for a character literal with an escaped quote while pygeofilter parses the text (its grammar has none)
_HELD = "\ue000{}\ue000"


def _hold_quoted(text: str) -> tuple[str, dict[str, str]]:
    """CQL2 text with each character literal that holds an escaped quote (``''`` or ``\\'``, CQL2 1.0
    ``escapeQuote``) replaced by a placeholder literal, and the placeholders' values: pygeofilter's grammar ends a
    literal at the first quote, so ``name = 'O''Brien'`` was a 400. Other text is left exactly as it was."""
    out: list[str] = []
    held: dict[str, str] = {}
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':   # a quoted property name: copied as it is
            j = text.find('"', i + 1)
            j = n - 1 if j < 0 else j
            out.append(text[i:j + 1])
            i = j + 1
            continue
        if c != "'":
            out.append(c)
            i += 1
            continue
        j, value, escaped = i + 1, [], False
        while j < n:
            if text[j] == "'" and j + 1 < n and text[j + 1] == "'":
                value.append("'")
                escaped, j = True, j + 2
            elif text[j] == "\\" and j + 1 < n:
                if text[j + 1] == "'":
                    value.append("'")
                    escaped = True
                else:
                    value.append(text[j:j + 2])   # \% \_ \\ stay for LIKE
                j += 2
            elif text[j] == "'":
                break
            else:
                value.append(text[j])
                j += 1
        if j >= n:   # not terminated: the parser says so
            out.append(text[i:])
            break
        if escaped:
            key = _HELD.format(len(held))
            held[key] = "".join(value)
            out.append(f"'{key}'")
        else:
            out.append(text[i:j + 1])
        i = j + 1
    return "".join(out), held


_INSTANT_TEXT = re.compile(r"\b(TIMESTAMP|DATE)\s*\(\s*'([^']*)'\s*\)", re.IGNORECASE)
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})",
                        re.IGNORECASE)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _check_instant(kind: str, value: object) -> None:
    """A CQL2 TIMESTAMP / DATE literal must be an RFC 3339 instant / full date: pygeofilter guesses otherwise
    (TIMESTAMP('2025-13-01T00:00:00Z') became 13 January — a filter on the wrong day, without a word)."""
    kind = kind.lower()
    ok = isinstance(value, str) and (_TIMESTAMP if kind == "timestamp" else _DATE).fullmatch(value) is not None
    if ok:
        try:
            if kind == "timestamp":
                datetime.fromisoformat(value.upper().replace("Z", "+00:00"))   # type: ignore[union-attr]
            else:
                date.fromisoformat(value)   # type: ignore[arg-type]
        except ValueError:
            ok = False
    if not ok:
        example = "TIMESTAMP('2025-01-31T12:00:00Z')" if kind == "timestamp" else "DATE('2025-01-31')"
        raise InvalidParameter(f"{kind.upper()} {value!r} in the filter is not a valid RFC 3339 "
                               f"{'date-time' if kind == 'timestamp' else 'date'}", hint=f"e.g. {example}")


def _check_instants_json(node: Any, depth: int = 0) -> None:
    """_check_instant for every ``{"timestamp": …}`` / ``{"date": …}`` of a CQL2 JSON filter."""
    if depth > 500:
        return   # the parser refuses such nesting itself
    if isinstance(node, list):
        for n in node:
            _check_instants_json(n, depth + 1)
    elif isinstance(node, dict):
        if len(node) == 1 and next(iter(node)) in ("timestamp", "date"):
            _check_instant(next(iter(node)), next(iter(node.values())))
        for v in node.values():
            _check_instants_json(v, depth + 1)


def parse(text: str, lang: str | None, held: dict[str, str] | None = None) -> ast.Node:
    """The filter's syntax tree. ``held`` (cql2-text) receives the literals with escaped quotes (_hold_quoted)."""
    lang = (lang or "cql2-text").lower()
    if len(text) > 20_000:
        raise InvalidParameter("the filter is too long (more than 20,000 characters)")
    if lang == "cql2-text":
        for m in _INSTANT_TEXT.finditer(text):
            _check_instant(m.group(1), m.group(2))
        text, quoted = _hold_quoted(_bbox_to_polygon(text))
        if held is not None:
            held.update(quoted)
    try:
        if lang == "cql2-json":
            doc = json.loads(text) if isinstance(text, str) else text
            _check_instants_json(doc)
            return parse_json(_bbox_json(doc))
        if lang == "cql2-text":
            return parse_text(text)
    except RecursionError as exc:
        raise InvalidParameter("the filter is nested too deeply to be evaluated") from exc
    except InvalidParameter:
        raise
    except Exception as exc:
        raise _not_valid(text, lang, exc) from exc
    raise InvalidParameter(f"unknown filter-lang {lang!r}", hint="use cql2-text or cql2-json")


_TEMPORAL_CALL = re.compile(r"\bT_[A-Z]+\s*\(", re.IGNORECASE)
_JSON_EXAMPLE = '{"op": ">", "args": [{"property": "height_m"}, 8]}'


def _not_valid(text: str, lang: str, exc: Exception) -> InvalidParameter:
    """The 400 for a filter the parser refused, saying what is wrong where the parser's words do not: a cql2-json
    operation without its operands (was: "'args'" or "list index out of range"), cql2-text sent as cql2-json, a
    CQL2 temporal function (not supported; was: "Unexpected token $END")."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    hint = "example: height_m > 8 AND S_INTERSECTS(geom, POINT(6.08 50.77))"
    if lang == "cql2-json":
        hint = f"example: {_JSON_EXAMPLE}"
        if isinstance(exc, json.JSONDecodeError) and text.strip()[:1] not in ("{", "[", '"'):
            hint = "this looks like cql2-text: leave filter-lang out (or send filter-lang=cql2-text)"
        elif isinstance(exc, (KeyError, IndexError, TypeError)):
            first = "an operation lacks its operands (\"args\": [...] with as many as the operator takes)"
        elif first.startswith("Unable to parse expression node"):
            first = first.replace("Unable to parse expression node", "unknown operation")
    elif _TEMPORAL_CALL.search(text):
        return InvalidParameter("temporal operators (T_AFTER, T_BEFORE, T_INTERSECTS, …) are not supported in "
                                "filters", hint=_TEMPORAL_HINT)
    return InvalidParameter(f"the filter is not valid {lang}: {first}", hint=hint)


_TEMPORAL_HINT = ("compare the instant instead, e.g. updated_at > TIMESTAMP('2025-01-01T00:00:00Z'), or use the "
                  "datetime parameter")


def _bbox_json(node: Any) -> Any:
    """CQL2 JSON's envelope ``{"bbox": [minx, miny, maxx, maxy]}`` (or 6 numbers) as the equivalent Polygon:
    pygeofilter reads the four numbers into its Envelope in the wrong order (x1, x2, y1, y2), which made such a
    filter match the wrong area."""
    if isinstance(node, list):
        return [_bbox_json(n) for n in node]
    if not isinstance(node, dict):
        return node
    box = node.get("bbox")
    if set(node) == {"bbox"} and isinstance(box, list) and len(box) in (4, 6) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in box):
        x1, y1, x2, y2 = (box[0], box[1], box[3], box[4]) if len(box) == 6 else box
        return {"type": "Polygon", "coordinates": [[[x1, y1], [x2, y1], [x2, y2], [x1, y2], [x1, y1]]]}
    return {k: _bbox_json(v) for k, v in node.items()}


def _bbox_literal(node: Any) -> Any:
    """CQL2 text's envelope literal BBOX(minx, miny, maxx, maxy) (pygeofilter reads it as a function call)."""
    if isinstance(node, ast.Function) and node.name.lower() == "bbox":
        args = node.arguments
        if len(args) == 6:
            args = [args[0], args[1], args[3], args[4]]
        if len(args) != 4 or not all(isinstance(a, (int, float)) and not isinstance(a, bool) for a in args):
            raise InvalidParameter("BBOX() needs 4 (or 6) numbers: BBOX(minx, miny, maxx, maxy)")
        return values.Envelope(args[0], args[2], args[1], args[3])   # (x1, x2, y1, y2)
    return node


class Translator:
    """Turns a pygeofilter AST into an SQL condition with bound parameters."""

    def __init__(self, queryables: dict[str, str], table_srid: int, filter_srid: int = 4326,
                 filter_lat_first: bool = False, alias: str = "t") -> None:
        self.queryables = queryables  # name → udt type; "geom" for the geometry
        self.table_srid = table_srid
        self.filter_srid = filter_srid
        self.lat_first = filter_lat_first
        self.alias = alias
        self.params: dict[str, Any] = {}
        self.held: dict[str, str] = {}   # placeholder → character literal with an escaped quote (cql2-text)

    def _param(self, value: Any) -> sql.Composable:
        name = f"p{len(self.params)}"
        if isinstance(value, (datetime, date)):
            value = value.isoformat()
        elif isinstance(value, str) and value in self.held:
            value = self.held[value]
        self.params[name] = value
        return sql.Placeholder(name)

    def _attr(self, node: Any, role: str = "the left side of this comparison") -> sql.Composable:
        if not isinstance(node, ast.Attribute) or not isinstance(node.name, str):
            raise InvalidParameter(f"{role} must be a queryable property, got {_shown(node)}",
                                   hint='in cql2-json: {"property": "name"}')
        name = self._name(node.name)
        if name not in self.queryables:
            same = [q for q in self.queryables if q.lower() == name.lower()]
            if same:   # property names are case-sensitive (CQL2); say which one was meant
                raise InvalidParameter(f"{name!r} is not queryable here; did you mean {same[0]!r}?",
                                       hint="property names are case-sensitive")
            raise InvalidParameter(f"{name!r} is not queryable here",
                                   hint="see /collections/{id}/queryables: " + ", ".join(sorted(self.queryables)))
        return sql.SQL("{}.{}").format(sql.Identifier(self.alias), sql.Identifier(name))

    def _name(self, name: str) -> str:
        """The column a property name refers to: ``geometry`` is an alias of the primary geometry ``geom`` (clients
        commonly send it) unless a layer has a column of that name."""
        return "geom" if name == "geometry" and "geometry" not in self.queryables else name

    def _is_geometry(self, node: Any) -> bool:
        return isinstance(node, ast.Attribute) and isinstance(node.name, str) and \
            self.queryables.get(self._name(node.name)) == "geometry"

    def _geom_literal(self, node: Any) -> sql.Composable:
        node = _bbox_literal(node)
        if isinstance(node, values.Geometry):
            gj = dict(node.geometry)
            if not isinstance(gj.get("coordinates", gj.get("geometries")), (list, tuple)):
                raise InvalidParameter(f"the {gj.get('type')} literal in the filter has no coordinates list")
        elif isinstance(node, values.Envelope):
            gj = {"type": "Polygon", "coordinates": [[(node.x1, node.y1), (node.x2, node.y1), (node.x2, node.y2),
                                                      (node.x1, node.y2), (node.x1, node.y1)]]}
        else:
            raise InvalidParameter("a spatial function needs a geometry literal, e.g. POINT(6.08 50.77)")
        gj.pop("crs", None)
        _check_coordinates(gj.get("coordinates"), self.filter_srid in (4326, 4258), self.lat_first)
        geom = sql.SQL("ST_SetSRID(ST_GeomFromGeoJSON({}), {})").format(self._param(json.dumps(gj)),
                                                                        sql.Literal(self.filter_srid))
        if self.lat_first:
            geom = sql.SQL("ST_FlipCoordinates({})").format(geom)
        return sql.SQL("ST_Transform({}, {})").format(geom, sql.Literal(self.table_srid))

    def _value(self, node: Any) -> sql.Composable:
        node = _bbox_literal(node)
        if isinstance(node, ast.Attribute):
            return self._attr(node, "a property reference")
        if isinstance(node, (values.Geometry, values.Envelope)):
            return self._geom_literal(node)
        if isinstance(node, (str, int, float, bool, date, datetime)) or node is None:
            return self._param(node)
        if isinstance(node, values.Timestamp if hasattr(values, "Timestamp") else ()):  # pragma: no cover
            return self._param(node.value)
        if isinstance(node, ast.Arithmetic):   # a conformance class not declared (was: "…expression: Add")
            raise InvalidParameter("arithmetic (+, -, *, /) is not supported in filters",
                                   hint="compare a property with a value, e.g. height_m > 7")
        if isinstance(node, ast.Function):   # CASEI, ACCENTI, UPPER, …: conformance classes not declared
            shown = "CASEI" if str(node.name).lower() == "lower" else str(node.name).upper()   # pygeofilter's name
            raise InvalidParameter(f"the function {shown}() is not supported in filters",
                                   hint="this server declares basic CQL2 and basic spatial functions only "
                                        "(see /conformance); compare values as stored, e.g. name LIKE 'Leuchte%'")
        raise InvalidParameter(f"unsupported expression in the filter: {type(node).__name__}")

    def _scalar(self, node: Any) -> sql.Composable:
        """A value that is compared (=, <, BETWEEN, IN): anything but a geometry."""
        node = _bbox_literal(node)
        if isinstance(node, (values.Geometry, values.Envelope)) or self._is_geometry(node):
            raise InvalidParameter("geometries cannot be compared with =, <, BETWEEN or IN",
                                   hint="use a spatial function, e.g. S_EQUALS(geom, POINT(6.08 50.77)) or "
                                        "S_INTERSECTS(geom, BBOX(6.0, 50.7, 6.2, 50.8))")
        return self._value(node)

    def __call__(self, node: Any) -> sql.Composable:  # noqa: C901 - one branch per operator family
        if isinstance(node, ast.And):
            return sql.SQL("({} AND {})").format(self(node.lhs), self(node.rhs))
        if isinstance(node, ast.Or):
            return sql.SQL("({} OR {})").format(self(node.lhs), self(node.rhs))
        if isinstance(node, ast.Not):
            return sql.SQL("(NOT {})").format(self(node.sub_node))
        if type(node) in COMPARE:
            return sql.SQL("({} {} {})").format(self._scalar(node.lhs), sql.SQL(COMPARE[type(node)]),
                                                self._scalar(node.rhs))
        if isinstance(node, ast.Like):
            if not isinstance(node.pattern, str):
                raise InvalidParameter(f"LIKE needs a text pattern, got {_shown(node.pattern)}",
                                       hint='e.g. name LIKE \'Leuchte%\', in cql2-json {"op": "like", '
                                            '"args": [{"property": "name"}, "Leuchte%"]}')
            op = "ILIKE" if node.nocase else "LIKE"
            # CQL2 (/req/basic-cql2/like-predicate): '%' any characters, '_' one, '\\' escapes them — PostgreSQL's
            # LIKE as it is. pygeofilter names '.' as the single-character wildcard; turning '.' into '_' made
            # street LIKE 'St.%' match 'Stolberger Straße' too.
            pattern = node.pattern
            expr = sql.SQL("({}::text {} {})").format(self._attr(node.lhs, "the left side of LIKE"), sql.SQL(op),
                                                    self._param(pattern))
            return sql.SQL("(NOT {})").format(expr) if node.not_ else expr
        if isinstance(node, ast.Between):
            expr = sql.SQL("({} BETWEEN {} AND {})").format(self._scalar(node.lhs), self._scalar(node.low),
                                                           self._scalar(node.high))
            return sql.SQL("(NOT {})").format(expr) if node.not_ else expr
        if isinstance(node, ast.In):
            if not isinstance(node.sub_nodes, (list, tuple)) or not node.sub_nodes:
                raise InvalidParameter(f"IN needs a non-empty list of values, got {_shown(node.sub_nodes)}",
                                       hint='e.g. lamp_type IN (\'LED\', \'NAV\'), in cql2-json {"op": "in", '
                                            '"args": [{"property": "lamp_type"}, ["LED", "NAV"]]}')
            items = sql.SQL(", ").join(self._scalar(v) for v in node.sub_nodes)
            return sql.SQL("({} {} ({}))").format(self._scalar(node.lhs), sql.SQL("NOT IN" if node.not_ else "IN"),
                                                  items)
        if isinstance(node, ast.IsNull):
            return sql.SQL("({} IS {}NULL)").format(self._value(node.lhs), sql.SQL("NOT " if node.not_ else ""))
        if type(node) in SPATIAL:
            for side in (_bbox_literal(node.lhs), _bbox_literal(node.rhs)):
                if not isinstance(side, (values.Geometry, values.Envelope)) and not self._is_geometry(side):
                    raise InvalidParameter(f"{SPATIAL[type(node)].replace('ST_', 'S_').upper()} compares geometries: "
                                           f"{side!r} is not one", hint="e.g. S_INTERSECTS(geom, POINT(6.08 50.77))")
            lhs = self._value(node.lhs)
            rhs = self._value(node.rhs)
            return sql.SQL("{}({}, {})").format(sql.SQL(SPATIAL[type(node)]), lhs, rhs)
        if isinstance(node, bool):   # CQL2 booleanPrimary: true (every feature) or false (none)
            return sql.SQL("TRUE" if node else "FALSE")
        if isinstance(node, ast.Include):   # ECQL's INCLUDE / EXCLUDE, as GeoServer users write them
            return sql.SQL("FALSE" if node.not_ else "TRUE")
        if isinstance(node, ast.TemporalPredicate):
            raise InvalidParameter("temporal operators (T_AFTER, T_BEFORE, T_INTERSECTS, …) are not supported in "
                                   "filters", hint=_TEMPORAL_HINT)
        raise InvalidParameter(f"the filter uses {type(node).__name__}, which is not supported",
                               hint="supported: comparisons, AND/OR/NOT, LIKE, BETWEEN, IN, IS NULL, S_INTERSECTS…")


def to_sql(text: str, lang: str | None, queryables: dict[str, str], table_srid: int, filter_srid: int = 4326,
           filter_lat_first: bool = False) -> tuple[sql.Composable, dict[str, Any]]:
    tr = Translator(queryables, table_srid, filter_srid, filter_lat_first)
    try:
        cond = tr(parse(text, lang, tr.held))
        cond.as_string(None)   # composing the SQL recurses as deep as the filter
    except RecursionError:
        raise InvalidParameter("the filter is nested too deeply to evaluate",
                               hint="use IN (…) instead of long chains of OR") from None
    return cond, tr.params


def _shown(value: Any) -> str:
    """A filter operand as a user wrote it, for a message (short)."""
    if isinstance(value, ast.Attribute):
        text = f"the property {value.name!r}"
    elif isinstance(value, (list, tuple)):
        text = "a list"
    elif isinstance(value, (values.Geometry, values.Envelope)):
        text = "a geometry"
    elif isinstance(value, ast.Node):
        text = f"an expression ({type(value).__name__})"
    else:
        text = f"{type(value).__name__} {value!r}"
    return text if len(text) <= 80 else text[:77] + "…"


def _check_coordinates(coords: Any, geographic: bool, lat_first: bool) -> None:
    """Numbers only, and inside the world for geographic CRSs (else a 400, not a database error)."""
    def walk(c: Any) -> None:
        if isinstance(c, (list, tuple)) and c and not isinstance(c[0], (list, tuple)):
            if len(c) < 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in c):
                raise InvalidParameter(f"geometry coordinates must be numbers, got {c!r}")
            if not all(math.isfinite(v) for v in c):
                raise InvalidParameter("geometry coordinates must be finite")
            lon, lat = (c[1], c[0]) if lat_first else (c[0], c[1])
            if geographic and not (-180 <= lon <= 180 and -90 <= lat <= 90):
                raise InvalidParameter(f"coordinate {c!r} lies outside the world (longitude ±180, latitude ±90)")
        elif isinstance(c, (list, tuple)):
            for x in c:
                walk(x)
        else:
            raise InvalidParameter("a geometry literal needs coordinates")
    walk(coords)
