"""Pydantic models of the API's JSON documents (used for OpenAPI and validated in the tests)."""

from __future__ import annotations

from typing import Any, Literal

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


class Problem(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None


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
    next_since: int
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
