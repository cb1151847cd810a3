"""The netzatlas command line (typer): one module per command group."""
