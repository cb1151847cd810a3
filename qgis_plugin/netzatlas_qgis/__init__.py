"""netzatlas QGIS plugin. QGIS calls ``classFactory``; everything heavy is imported lazily."""


def classFactory(iface):  # noqa: N802 - the name QGIS looks for
    from .plugin import NetzatlasPlugin

    return NetzatlasPlugin(iface)
