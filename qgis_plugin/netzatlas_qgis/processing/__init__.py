"""The netzatlas Processing provider."""
