"""Exporters: registry layers to GeoPackage, GeoJSON and CSV."""
