"""Pydantic models of the API's JSON documents (used for OpenAPI and validated in the tests)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Link(BaseModel):
    model_config = ConfigDict(extra="allow")
    href: str
    rel: str
    type: str | None = None
    title: str | None = None


class LandingPage(BaseModel):
    title: str
    description: str | None = None
    links: list[Link]


class Conformance(BaseModel):
    conformsTo: list[str]  # noqa: N815 - OGC name


class Extent(BaseModel):
    model_config = ConfigDict(extra="allow")
    spatial: dict[str, Any]
    temporal: dict[str, Any] | None = None


class Collection(BaseModel):
    id: str
    title: str
    description: str | None = None
    itemType: str = "feature"  # noqa: N815
    extent: Extent
    crs: list[str]
    storageCrs: str  # noqa: N815
    links: list[Link]


class Collections(BaseModel):
    links: list[Link]
    collections: list[Collection]


class Queryables(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    schema_: str = Field(alias="$schema")
    id_: str = Field(alias="$id")
    type: Literal["object"]
    properties: dict[str, dict[str, Any]]


class FeatureSchema(Queryables):
    """JSON Schema of a collection's GeoJSON Feature."""


class Feature(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: Literal["Feature"]
    id: str | None = None
    geometry: dict[str, Any] | None
    properties: dict[str, Any]


class FeatureCollection(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: Literal["FeatureCollection"]
    features: list[Feature]
    links: list[Link]
    numberReturned: int  # noqa: N815
    numberMatched: int | None = None  # noqa: N815
    timeStamp: str | None = None  # noqa: N815


class RejectedRow(BaseModel):
    row: int | str
    external_id: str | None = None
    reason: str


class Problem(BaseModel):
    """An error (RFC 9457 problem details, ``application/problem+json``)."""

    model_config = ConfigDict(extra="allow")
    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    hint: str | None = Field(None, description="What to do about it.")
    rejects: list[RejectedRow] | None = Field(None, description="422: each rejected feature and why.")


class SyncOutcome(BaseModel):
    external_id: str | None
    outcome: Literal["created", "updated", "unchanged", "rejected"]
    id: str | None = None
    reason: str | None = None


class SyncResult(BaseModel):
    collection: str
    source: str
    batch_id: str | None
    created: int
    updated: int
    unchanged: int
    rejected: int
    features: list[SyncOutcome]


class Change(BaseModel):
    seq: int
    position: str  # "<xact>.<seq>": where the change stands in the feed (api/changes.py)
    operation: str
    collection: str
    id: str
    version: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    changed_at: str
    changed_by: str | None = None
    batch_id: str | None = None


class ChangeFeed(BaseModel):
    changes: list[Change]
    next_since: str  # the position to continue from ("<xact>.<seq>")
    links: list[Link]


class TileSet(BaseModel):
    model_config = ConfigDict(extra="allow")
    title: str | None = None
    dataType: str  # noqa: N815
    crs: str
    tileMatrixSetURI: str | None = None  # noqa: N815
    links: list[Link]


class TileSetList(BaseModel):
    tilesets: list[TileSet]


# ---------------------------------------------------------------- request bodies (GeoJSON in, process execution)
Position = Annotated[list[float], Field(min_length=2, max_length=3, description="x, y (, z) in the Content-Crs")]
Ring = Annotated[list[Position], Field(min_length=4, description="closed: the first position again at the end")]


class PointGeometry(BaseModel):
    type: Literal["Point"]
    coordinates: Position


class MultiPointGeometry(BaseModel):
    type: Literal["MultiPoint"]
    coordinates: Annotated[list[Position], Field(min_length=1)]


class LineStringGeometry(BaseModel):
    type: Literal["LineString"]
    coordinates: Annotated[list[Position], Field(min_length=2)]


class MultiLineStringGeometry(BaseModel):
    type: Literal["MultiLineString"]
    coordinates: Annotated[list[Annotated[list[Position], Field(min_length=2)]], Field(min_length=1)]


class PolygonGeometry(BaseModel):
    type: Literal["Polygon"]
    coordinates: Annotated[list[Ring], Field(min_length=1)]


class MultiPolygonGeometry(BaseModel):
    type: Literal["MultiPolygon"]
    coordinates: Annotated[list[Annotated[list[Ring], Field(min_length=1)]], Field(min_length=1)]


Geometry = Annotated[PointGeometry | MultiPointGeometry | LineStringGeometry | MultiLineStringGeometry
                     | PolygonGeometry | MultiPolygonGeometry, Field(discriminator="type")]

FEATURE_PROPERTIES = (
    "The collection's properties (see /collections/{collection_id}/schema): typed columns such as `name`, "
    "`status` (a code of its value list) or `height_m`, `external_id` (with `source` the key of sync; default: the "
    "feature id), and `attributes` (an object of free-form values). System columns (id, version, timestamps) are "
    "ignored."
)


class FeatureInput(BaseModel):
    """A GeoJSON Feature to create (POST). Coordinates are in the Content-Crs (default CRS84: longitude,
    latitude)."""

    model_config = ConfigDict(extra="allow", title="FeatureInput")
    type: Literal["Feature"]
    id: str | int | None = Field(None, description="Becomes the external_id unless properties has one: a text or "
                                                   "a number (an object, list or boolean is refused).")
    geometry: Geometry | None
    properties: dict[str, Any] | None = Field(None, description=FEATURE_PROPERTIES)


class FeatureReplacement(FeatureInput):
    """A GeoJSON Feature that replaces a stored one (PUT): all properties not given return to their defaults."""

    model_config = ConfigDict(extra="allow", title="FeatureReplacement")
    geometry: Geometry


class FeaturePatch(BaseModel):
    """A JSON merge patch of a feature (RFC 7396, ``application/merge-patch+json``; ``type`` may be left out):
    only the members given change — a property set to null is cleared, ``attributes`` merge recursively (null
    removes a key), a geometry replaces the stored one (``"geometry": null`` is refused: every layer needs one).
    A full Feature sent as application/json or application/geo+json is taken the same way, except that its
    ``"geometry": null`` keeps the stored geometry."""

    model_config = ConfigDict(extra="allow", title="FeaturePatch")
    type: Literal["Feature"] | None = None
    geometry: Geometry | None = None
    properties: dict[str, Any] | None = Field(None, description=FEATURE_PROPERTIES)


class FeatureCollectionInput(BaseModel):
    """Features to sync (POST /sync): each needs an external_id (``properties.external_id`` or the feature id)."""

    model_config = ConfigDict(extra="allow", title="FeatureCollectionInput")
    type: Literal["FeatureCollection"]
    features: list[FeatureInput]


class Execute(BaseModel):
    """How a process is run: its inputs by name (see /processes/{process_id}); async with `Prefer:
    respond-async`."""

    model_config = ConfigDict(title="Execute")
    inputs: dict[str, Any] = Field(default_factory=dict)
