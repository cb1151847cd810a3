"""Styles for the layers the algorithms load on completion.

Processing loads an algorithm's output after it finished; a post-processor attached to the layer's load details
applies the shipped QML then. Usage inside ``processAlgorithm``, right after
``context.addLayerToLoadOnCompletion(path, details)``::

    attach_style(context, path, self.process_id)
"""

from __future__ import annotations

import os

from qgis.core import QgsProcessingContext, QgsProcessingLayerPostProcessorInterface, QgsVectorLayer

STYLES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "styles")

#: process id → QML file in styles/ for its result layer
RESULT_STYLE = {
    "gigabit-funding-areas": "funding_area_result.qml",
    "mobile-coverage-holes": "result_gap.qml",
    "mast-request-evaluation": "result_candidate.qml",
    "small-cell-screening": "result_new_site.qml",
    "wifi-priority": "result_area.qml",
    "wifi-siting": "result_new_site.qml",
    "charging-gaps": "result_gap.qml",
    "charging-siting": "result_new_site.qml",
}


class StyleOnLoad(QgsProcessingLayerPostProcessorInterface):
    """Applies one QML file to the layer Processing has just loaded."""

    def __init__(self, qml: str) -> None:
        super().__init__()
        self.qml = qml

    def postProcessLayer(self, layer, context, feedback) -> None:  # noqa: N802, ANN001
        if isinstance(layer, QgsVectorLayer) and layer.isValid():
            _msg, ok = layer.loadNamedStyle(self.qml)
            if ok:
                layer.triggerRepaint()
            elif feedback is not None:
                feedback.reportError(f"the style {os.path.basename(self.qml)} could not be applied")


# Processing keeps only a plain pointer to a post-processor, so Python must keep it alive: one shared instance
# per QML file (they hold nothing else), kept for the session.
_KEEP: dict[str, StyleOnLoad] = {}


def style_path(process_id: str) -> str:
    """The QML file for a process's result layer (generic.qml for one without its own)."""
    return os.path.join(STYLES, RESULT_STYLE.get(process_id, "generic.qml"))


def attach_style(context: QgsProcessingContext, layer_id: str, process_id: str) -> StyleOnLoad | None:
    """Attach the result style to a layer queued with ``addLayerToLoadOnCompletion``; None if not queued."""
    if not context.willLoadLayerOnCompletion(layer_id):
        return None
    qml = style_path(process_id)
    post = _KEEP.setdefault(qml, StyleOnLoad(qml))
    details = context.layerToLoadOnCompletionDetails(layer_id)
    details.setPostProcessor(post)
    return post
