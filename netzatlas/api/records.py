"""Checks of a record layer's values on write, with the limits its CLI command uses (imported, not copied).

``mast_request``: a search ring is refused on POST, PUT, PATCH and sync as ``netzatlas mobile request create``
refuses it — a radius not above 0 or beyond ``mast_request.MAX_RADIUS_M`` (was: ``radius_m: 50000`` stored, and
refused only when the request was evaluated), a desired height not above 0, a coordination period under a week, a
blank operator, a site type that is none of the registry's. A value of the wrong type is left to the import
validation, which names it too.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from netzatlas.errors import InvalidParameter


def _number(value: Any) -> float | None:
    """A JSON number or numeric text as a float; None for anything else (the type check is validation's)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip().replace(",", "."))
        except ValueError:
            return None
    return None


def _mast_request(props: dict[str, Any]) -> list[str]:
    from netzatlas.mobile_sites.mast_request import STATUSES, check_radius, site_type_code

    out = []
    radius = _number(props.get("radius_m"))
    if radius is not None:
        if not math.isfinite(radius) or radius <= 0:
            out.append(f"radius_m: the search-ring radius must be positive, got {props['radius_m']!r}")
        else:
            try:
                check_radius(radius)
            except InvalidParameter as exc:
                out.append(f"radius_m: {exc.message} ({exc.hint})" if exc.hint else f"radius_m: {exc.message}")
    height = _number(props.get("desired_height_m"))
    if height is not None and (not math.isfinite(height) or height <= 0):
        out.append(f"desired_height_m: the desired height must be positive, got {props['desired_height_m']!r}")
    weeks = _number(props.get("coordination_weeks"))
    if weeks is not None and (not math.isfinite(weeks) or weeks < 1):
        out.append(f"coordination_weeks: the coordination period must be at least one week, "
                   f"got {props['coordination_weeks']!r}")
    operator = props.get("operator")
    if isinstance(operator, str) and not operator.strip():
        out.append("operator: the operator is empty (e.g. Telekom, Vodafone, Telefónica, 1&1)")
    status = props.get("status")
    if isinstance(status, str) and status not in STATUSES:
        out.append(f"status: unknown status {status!r} (one of {', '.join(STATUSES)})")
    site_type = props.get("site_type")
    if isinstance(site_type, str):
        try:
            if site_type_code(site_type) != site_type:
                out.append(f"site_type: {site_type!r} is written {site_type_code(site_type)!r}")
        except InvalidParameter as exc:
            out.append(f"site_type: {exc.message} (mast, tower, rooftop, small_cell, streetlight or other)")
    return out


#: layer → the check of a feature's properties (only the properties given are checked: PATCH sends a few)
CHECKS: dict[str, Callable[[dict[str, Any]], list[str]]] = {"mast_request": _mast_request}


def record_check(layer: str) -> Callable[[dict[str, Any]], list[str]] | None:
    """The check of ``layer``'s properties (what is wrong, empty: nothing); None for a layer without one."""
    return CHECKS.get(layer)
