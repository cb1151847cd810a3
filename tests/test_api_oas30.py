"""Conformance class OpenAPI 3.0: the definition at /api is OpenAPI 3.0 and describes the endpoints."""

from __future__ import annotations


def test_openapi_30(client):
    r = client.get("/api")
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.0")
    paths = doc["paths"]
    for p in ("/", "/conformance", "/collections", "/collections/{collection_id}/items",
              "/collections/{collection_id}/items/{feature_id}", "/collections/{collection_id}/queryables",
              "/collections/{collection_id}/tiles/WebMercatorQuad/{z}/{y}/{x}", "/sync/{collection_id}", "/changes"):
        assert p in paths, p
    assert {"post"} <= set(paths["/collections/{collection_id}/items"])
    assert {"get", "put", "patch", "delete"} <= set(paths["/collections/{collection_id}/items/{feature_id}"])
    text = r.text
    assert '"type": "null"' not in text and '"type":"null"' not in text   # 3.1-only construct rewritten
