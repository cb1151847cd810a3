"""Styles for the layers the algorithms load on completion.

Processing loads an algorithm's output after it finished (``handleAlgorithmResults``); a post-processor attached to
the layer's load details applies the result's QML then — the QML generated from ``netzatlas/cartography.json``,
the definitions the web map and the reports draw with (``logic.RESULT_STYLE``: process → QML). Inside
``processAlgorithm``, right after ``context.addLayerToLoadOnCompletion(source, details)``::

    attach_style(context, source, self.process_id)
"""

from __future__ import annotations

import os
from collections import deque

from qgis.core import QgsProcessingContext, QgsProcessingLayerPostProcessorInterface, QgsVectorLayer

from ..logic import result_style

STYLES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "styles")


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


# The load details take ownership of their post-processor and delete it with the context, so every queued layer
# gets its own instance; Python keeps a reference to the recent ones as well (the QGIS docs' advice: a Python
# post-processor referenced by C++ alone may be collected before Processing calls it).
_KEEP: deque[StyleOnLoad] = deque(maxlen=64)


def style_path(process_id: str) -> str:
    """The QML file for a process's result layer (generic.qml for one without its own)."""
    return os.path.join(STYLES, result_style(process_id))


def attach_style(context: QgsProcessingContext, source: str, process_id: str) -> StyleOnLoad | None:
    """Attach the result style to a layer queued with ``addLayerToLoadOnCompletion``; None if not queued."""
    if not context.willLoadLayerOnCompletion(source):
        return None
    post = StyleOnLoad(style_path(process_id))
    _KEEP.append(post)
    details = context.layerToLoadOnCompletionDetails(source)
    details.setPostProcessor(post)
    return post
