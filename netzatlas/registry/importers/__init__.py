"""Importers: readers turn source files into layer-shaped GeoDataFrames; load.py writes them."""
