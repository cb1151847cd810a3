"""A Processing algorithm that runs one server process as a job: progress through the feedback, cancel through
DELETE /jobs/{id}, results written to a GeoJSON file and loaded as a layer styled from the cartography (the
gigabit classification: its snapshot of ``gigabit_result``, loaded through OAPIF with the server's filter)."""

from __future__ import annotations

import json
import time

from qgis.core import (
    QgsProcessingAlgorithm,
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
    QgsProcessingUtils,
)

from ..client import ApiError, Client
from ..logic import LAYER_OUTPUT, PROCESSES, api_message, job_path, oapif_uri, process_inputs, snapshot_params
from .result_styles import attach_style

PROGRAMMES = ["bund-2015", "gigabit-rl-1.0-2021", "gigabit-rl-2.0-2023", "gigabit-rl-2.0-2024"]


class ServerProcessAlgorithm(QgsProcessingAlgorithm):
    process_id = ""

    def name(self) -> str:
        return PROCESSES[self.process_id][0]

    def displayName(self) -> str:  # noqa: N802
        return PROCESSES[self.process_id][1]

    def group(self) -> str:
        return PROCESSES[self.process_id][2]

    def groupId(self) -> str:  # noqa: N802
        return PROCESSES[self.process_id][2].lower()

    def shortHelpString(self) -> str:  # noqa: N802
        return f"Runs the netzatlas server process '{self.process_id}' (OGC API Processes) and loads its result."

    def createInstance(self):  # noqa: N802, ANN201
        return type(self)()

    def initAlgorithm(self, config=None) -> None:  # noqa: N802, ANN001
        for name, (kind, default, help_) in PROCESSES[self.process_id][3].items():
            if kind == "enum":
                self.addParameter(QgsProcessingParameterEnum(name, help_, PROGRAMMES,
                                                             defaultValue=PROGRAMMES.index(default)))
            elif kind == "number":
                self.addParameter(QgsProcessingParameterNumber(name, help_, QgsProcessingParameterNumber.Double,
                                                               defaultValue=default))
            elif kind == "integer":
                self.addParameter(QgsProcessingParameterNumber(name, help_, QgsProcessingParameterNumber.Integer,
                                                               defaultValue=default))
            elif kind == "boolean":
                self.addParameter(QgsProcessingParameterBoolean(name, help_, defaultValue=default))
            else:
                self.addParameter(QgsProcessingParameterString(name, help_, defaultValue=default, optional=True))
        if LAYER_OUTPUT[self.process_id]:
            self.addParameter(QgsProcessingParameterFileDestination("OUTPUT", "result layer", "GeoJSON (*.geojson)"))
        self.addOutput(QgsProcessingOutputNumber("FEATURES", "number of result features"))

    def _values(self, parameters, context) -> dict:  # noqa: ANN001
        """The algorithm's parameters as the process's input values."""
        values = {}
        for name, (kind, _d, _h) in PROCESSES[self.process_id][3].items():
            if kind == "enum":
                values[name] = PROGRAMMES[self.parameterAsEnum(parameters, name, context)]
            elif kind == "number":
                values[name] = self.parameterAsDouble(parameters, name, context)
            elif kind == "integer":
                values[name] = self.parameterAsInt(parameters, name, context)
            elif kind == "boolean":
                values[name] = self.parameterAsBool(parameters, name, context)
            else:
                values[name] = self.parameterAsString(parameters, name, context)
        return values

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802, ANN001, ANN201
        values = self._values(parameters, context)
        client = Client()
        try:
            status, body, headers = client.call("POST", f"/processes/{self.process_id}/execution",
                                                process_inputs(self.process_id, values),
                                                {"Prefer": "respond-async"})
            if status >= 400:
                raise QgsProcessingException(f"the server refused: {api_message(status, body)}")
            try:
                job = job_path(client.url, headers.get("location", ""), body)
            except ValueError as exc:
                raise QgsProcessingException(str(exc)) from exc
            while True:
                if feedback.isCanceled():
                    client.call("DELETE", job)
                    raise QgsProcessingException("cancelled; the server job was dismissed")
                st = client.json("GET", job)
                feedback.setProgress(st.get("progress", 0))
                if st.get("message"):
                    feedback.pushInfo(st["message"])
                if st["status"] in ("successful", "failed", "dismissed"):
                    break
                time.sleep(0.3)
            if feedback.isCanceled():  # pressed while the last poll ran: no result is written or loaded
                client.call("DELETE", job)
                raise QgsProcessingException("cancelled; the server job was dismissed")
            if st["status"] != "successful":
                raise QgsProcessingException(f"the analysis failed: {st.get('message')}")
            result = client.json("GET", job + "/results")
        except ApiError as exc:
            raise QgsProcessingException(str(exc)) from exc
        out = {"FEATURES": 0}
        key = LAYER_OUTPUT[self.process_id]
        if key:
            fc = result.get(key) or {"type": "FeatureCollection", "features": []}
            path = self.parameterAsFileOutput(parameters, "OUTPUT", context)
            with open(path, "w", encoding="utf-8") as fh:
                json.dump(fc, fh)
            out["OUTPUT"] = path
            out["FEATURES"] = len(fc.get("features", []))
            context.addLayerToLoadOnCompletion(path, context.LayerDetails(self.displayName(), context.project(),
                                                                          "OUTPUT"))
            attach_style(context, path, self.process_id)
        else:
            out["FEATURES"] = int(result.get("addresses", 0))
            feedback.pushInfo(json.dumps({k: v for k, v in result.items() if k != "classes"}, default=str))
            if result.get("snapshot"):
                self._load_snapshot(client, str(result["snapshot"]), context)
        return out

    def _load_snapshot(self, client: Client, snapshot: str, context) -> None:  # noqa: ANN001
        """The classification's result is a snapshot of the ``gigabit_result`` collection: queue it for loading
        as an OAPIF layer the server filters to that snapshot, styled by class."""
        source = QgsProcessingUtils.encodeProviderKeyAndUri(
            "OAPIF", oapif_uri(client.url, "gigabit_result", client.authcfg, snapshot_params(snapshot)))
        details = context.LayerDetails(f"Gigabit-Klassen / gigabit classes — {snapshot}", context.project(), "")
        context.addLayerToLoadOnCompletion(source, details)
        attach_style(context, source, self.process_id)


def make_algorithm(process_id: str) -> ServerProcessAlgorithm:
    cls = type(f"Alg_{process_id.replace('-', '_')}", (ServerProcessAlgorithm,), {"process_id": process_id})
    return cls()
