"""CRS identifiers of OGC API Features Part 2 and their axis order."""

from __future__ import annotations

import re
from dataclasses import dataclass

from netzatlas.errors import InvalidParameter

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
#: EPSG:nnnn with ASCII digits only ('²'.isdigit() is True, int('²') fails) and at most 9 of them
_EPSG_CODE = re.compile(r"EPSG:([0-9]{1,9})", re.IGNORECASE | re.ASCII)


def epsg_uri(code: int) -> str:
    return f"http://www.opengis.net/def/crs/EPSG/0/{code}"


@dataclass(frozen=True)
class Crs:
    uri: str
    srid: int
    lat_first: bool  # EPSG:4326 as defined by EPSG: latitude, longitude


def supported(storage_srid: int) -> list[Crs]:
    out = [Crs(CRS84, 4326, False), Crs(epsg_uri(4326), 4326, True), Crs(epsg_uri(3857), 3857, False),
           Crs(epsg_uri(25832), 25832, False), Crs(epsg_uri(4258), 4258, True), Crs(epsg_uri(3035), 3035, True)]
    if storage_srid not in {c.srid for c in out}:
        out.append(Crs(epsg_uri(storage_srid), storage_srid, False))
    return out


def parse(value: str | None, storage_srid: int, *, param: str = "crs") -> Crs:
    """A supported CRS from its URI (also accepts EPSG:nnnn, [EPSG:nnnn] and [OGC:CRS84] for convenience)."""
    if value is None or value == "":
        return Crs(CRS84, 4326, False)
    v = value.strip().strip("[]")
    m = _EPSG_CODE.fullmatch(v)
    if m:
        v = epsg_uri(int(m.group(1)))
    elif v.upper() == "OGC:CRS84":   # the CURIE of CRS84, as [EPSG:nnnn] is accepted for EPSG codes
        v = CRS84
    for c in supported(storage_srid):
        if c.uri == v:
            return c
    raise InvalidParameter(
        f"unsupported {param} {value!r}",
        hint="supported: " + ", ".join(c.uri for c in supported(storage_srid)),
    )
