"""OCPI 2.2.1: versions, credentials handshake, Locations receiver (CPOs push) and sender (public chargers).

See docs/ocpi.md. Errors answer in the OCPI envelope (``envelope.OcpiRoute``); the app-wide access rule of these
routes is ``public`` (api/authz.py) because OCPI authenticates with its own tokens, checked here."""

from netzatlas.api.ocpi.routes import router

__all__ = ["router"]
