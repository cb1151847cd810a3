"""``netzatlas serve``: the API with uvicorn."""

from __future__ import annotations

import typer

from netzatlas.cli._common import console, friendly_errors


def register(app: typer.Typer) -> None:
    @app.command("serve")
    @friendly_errors
    def serve(
        host: str = typer.Option(None, "--host", help="Interface (default NETZATLAS_API_HOST, 127.0.0.1)."),
        port: int = typer.Option(None, "--port", help="Port (default NETZATLAS_API_PORT, 8080)."),
        workers: int = typer.Option(1, "--workers", help="uvicorn worker processes."),
        log_level: str = typer.Option("info", "--log-level", help="uvicorn log level."),
    ) -> None:
        """Serve the OGC API (Features, Tiles, sync, web map) on the embedded database or NETZATLAS_DATABASE_URL."""
        import os

        import uvicorn

        from netzatlas.config import get_settings
        from netzatlas.registry import migrate
        from netzatlas.registry.db import resolve_url

        s = get_settings()
        url = resolve_url()
        migrate.upgrade(url)
        os.environ["NETZATLAS_DATABASE_URL"] = url  # workers and reloads use the same database
        h, p = host or s.api_host, port or s.api_port
        console.print(f"netzatlas API on http://{h}:{p}/  (OpenAPI: /api, docs: /docs, web map: /map)")
        uvicorn.run("netzatlas.api.app:create_app", factory=True, host=h, port=p, workers=workers,
                    log_level=log_level)
