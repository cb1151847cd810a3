"""The plugin in a real QGIS: loads and unloads cleanly, registers its provider with every algorithm, and the
algorithms are usable from processing.run and the graphical modeler (defaults, help, flags)."""

from __future__ import annotations

import configparser

from qgis.core import QgsApplication, QgsProcessingAlgorithm, QgsProcessingModelAlgorithm

from .conftest import ALGORITHMS, PLUGIN_DIR, FakeIface


def _provider():
    return QgsApplication.processingRegistry().providerById("netzatlas")


def test_metadata_as_qgis_reads_it():
    cfg = configparser.ConfigParser()
    cfg.read(PLUGIN_DIR / "netzatlas_qgis" / "metadata.txt", encoding="utf-8")
    g = cfg["general"]
    assert g["qgisMinimumVersion"] == "3.22" and g["hasProcessingProvider"] == "yes"
    assert g["name"] == "netzatlas" and g["version"]


def test_load_unload_reload_cycle(plugin):
    import netzatlas_qgis

    assert _provider() is not None  # the session's plugin
    plugin.unload()
    assert _provider() is None
    for _ in range(2):  # QGIS reloads plugins (Plugin Reloader, updates): twice in a row must work
        iface = FakeIface()
        p = netzatlas_qgis.classFactory(iface)
        p.initGui()
        prov = _provider()
        assert prov is not None and prov.name() == "netzatlas"
        assert {a.name() for a in prov.algorithms()} == ALGORITHMS
        assert [m for m, _ in iface.menu] == ["netzatlas"] * 3  # connect, add layers, new mast request
        p.unload()
        assert _provider() is None
        assert iface.menu == []  # every menu entry removed again
    plugin.initGui()  # give the session its plugin back
    assert _provider() is not None


def test_processing_only_start(plugin):
    """Without a GUI (qgis_process) QGIS calls initProcessing() only, because hasProcessingProvider=yes."""
    import netzatlas_qgis

    plugin.unload()
    p = netzatlas_qgis.classFactory(FakeIface())
    p.initProcessing()
    assert {a.name() for a in _provider().algorithms()} == ALGORITHMS
    p.unload()
    assert _provider() is None
    plugin.initGui()


def test_algorithms_registered_with_defaults_and_help(plugin):
    reg = QgsApplication.processingRegistry()
    for name in ALGORITHMS:
        alg = reg.algorithmById(f"netzatlas:{name}")
        assert alg is not None, name
        assert alg.displayName() and alg.group() and alg.shortHelpString(), name
        assert not alg.flags() & QgsProcessingAlgorithm.FlagHideFromModeler, name
        assert not alg.flags() & QgsProcessingAlgorithm.FlagHideFromToolbox, name
        for p in alg.parameterDefinitions():
            if p.name() in ("OUTPUT", "request_id"):
                continue
            assert p.defaultValue() is not None or p.flags() & p.FlagOptional, (name, p.name())
        fresh = alg.create()
        assert fresh is not None and fresh.id() == alg.id()


def test_every_algorithm_can_be_placed_in_a_model(plugin):
    """The graphical modeler: each algorithm as a child of a model, which then validates its inputs."""
    from qgis.core import QgsProcessingModelChildAlgorithm, QgsProcessingModelChildParameterSource

    model = QgsProcessingModelAlgorithm("all netzatlas analyses", "tests")
    for name in sorted(ALGORITHMS):
        child = QgsProcessingModelChildAlgorithm(f"netzatlas:{name}")
        child.generateChildId(model)
        alg = QgsApplication.processingRegistry().algorithmById(f"netzatlas:{name}")
        for p in alg.parameterDefinitions():
            if p.name() == "request_id":
                child.addParameterSources(p.name(), [QgsProcessingModelChildParameterSource.fromStaticValue("x")])
            elif p.name() != "OUTPUT" and p.defaultValue() is not None:
                child.addParameterSources(
                    p.name(), [QgsProcessingModelChildParameterSource.fromStaticValue(p.defaultValue())])
        model.addChildAlgorithm(child)
        assert child.algorithm() is not None, name
    assert len(model.childAlgorithms()) == len(ALGORITHMS)
    for cid in model.childAlgorithms():
        ok, errors = model.validateChildAlgorithm(cid)
        assert ok, (cid, errors)
