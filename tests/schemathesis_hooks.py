"""schemathesis hooks for tests/test_api_schemathesis.py (loaded through SCHEMATHESIS_HOOKS): NDJSON request bodies.

The OpenAPI document describes an NDJSON sync body as the array of its lines (each a GeoJSON Feature); this
serializer writes such an array one JSON document per line, so the generated cases reach the streaming parser.
"""

from __future__ import annotations

import json
from typing import Any

import schemathesis


@schemathesis.serializer("application/x-ndjson", "application/geo+json-seq")
def ndjson(ctx: Any, value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    lines = value if isinstance(value, list) else [value]
    return "".join(json.dumps(line) + "\n" for line in lines).encode("utf-8", "surrogatepass")
