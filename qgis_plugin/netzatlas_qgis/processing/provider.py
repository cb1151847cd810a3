"""Processing provider "netzatlas": one algorithm per server analysis (OGC API Processes)."""

from __future__ import annotations

from qgis.core import QgsProcessingProvider

from ..logic import PROCESSES
from .algorithm import make_algorithm


class NetzatlasProvider(QgsProcessingProvider):
    def id(self) -> str:
        return "netzatlas"

    def name(self) -> str:
        return "netzatlas"

    def longName(self) -> str:  # noqa: N802
        return "netzatlas – municipal digital infrastructure"

    def loadAlgorithms(self) -> None:  # noqa: N802
        for pid in PROCESSES:
            self.addAlgorithm(make_algorithm(pid))
