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
        root_path: str = typer.Option(None, "--root-path", help=(
            "Behind a reverse proxy that serves the API under a path and strips it (e.g. /netzatlas): that path, "
            "so every link and Location names the proxy's address (default NETZATLAS_API_ROOT_PATH).")),
        forwarded_allow_ips: str = typer.Option(None, "--forwarded-allow-ips", help=(
            "Proxies whose X-Forwarded-Proto/-For headers are trusted, comma-separated, '*' for any (default "
            "NETZATLAS_API_FORWARDED_ALLOW_IPS, 127.0.0.1).")),
    ) -> None:
        """Serve the OGC API (Features, Tiles, sync, web map) on the embedded database or NETZATLAS_DATABASE_URL.

        Behind nginx or Apache: pass the Host header on (proxy_set_header Host $host), X-Forwarded-Proto for https,
        and give --root-path when the API lives under a path of the proxy (docs/api.md)."""
        import os

        import uvicorn

        from netzatlas.config import get_settings
        from netzatlas.registry import migrate
        from netzatlas.registry.db import resolve_url

        s = get_settings()
        root = (root_path if root_path is not None else s.api_root_path).strip()
        if root and (not root.startswith("/") or root.endswith("/") or "//" in root):
            from netzatlas.errors import InvalidParameter

            given = "--root-path" if root_path is not None else "NETZATLAS_API_ROOT_PATH"  # who set it
            raise InvalidParameter(f"{given} {root!r} is no path prefix", hint="e.g. --root-path /netzatlas")
        url = resolve_url()
        migrate.upgrade(url)
        os.environ["NETZATLAS_DATABASE_URL"] = url  # workers and reloads use the same database
        h, p = host or s.api_host, port or s.api_port
        console.print(f"netzatlas API on http://{h}:{p}/  (OpenAPI: /api, docs: /docs, web map: /map)")
        uvicorn.run("netzatlas.api.app:create_app", factory=True, host=h, port=p, workers=workers,
                    log_level=log_level, root_path=root, proxy_headers=True,
                    forwarded_allow_ips=forwarded_allow_ips or s.api_forwarded_allow_ips)
