"""netzatlas: the register and planning tool for a municipality's digital infrastructure."""

__version__ = "0.1.0"
