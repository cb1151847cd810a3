"""The PostGIS asset registry: embedded database, schema, reads and writes, importers, exporters."""
