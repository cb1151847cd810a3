"""The netzatlas API (FastAPI): OGC API Features Parts 1–4, vector tiles, sync for utilities, keys and scopes."""
