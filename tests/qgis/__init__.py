"""Headless QGIS tests of the plugin (run in .venv-qgis; see conftest.py)."""
