"""Every route of the app declares who may call it (api/authz.py), and docs/security.md shows exactly that."""

from __future__ import annotations

import re

from fastapi.routing import APIRoute
from starlette.routing import Route

from tests.conftest import ROOT


def _app_routes() -> set[tuple[str, str]]:
    from netzatlas.api.app import create_app

    app = create_app("postgresql://unused/never", migrate=False)  # routes only; the lifespan is not run
    found: set[tuple[str, str]] = set()

    def walk(routes: list, prefix: str) -> None:
        for route in routes:
            if isinstance(route, (APIRoute, Route)):
                for method in route.methods or ():
                    found.add((method, prefix + route.path))
            elif hasattr(route, "original_router"):  # FastAPI >= 0.16x keeps included routers as such
                walk(route.original_router.routes, prefix + getattr(route.include_context, "prefix", ""))
            elif hasattr(route, "routes"):
                walk(route.routes, prefix + getattr(route, "path", ""))

    walk(app.routes, "")
    assert len(found) > 30
    return found


def test_every_route_has_a_declared_rule():
    from netzatlas.api.authz import rule_for

    missing = sorted(f"{m} {p}" for m, p in _app_routes() if rule_for(m, p) is None)
    assert not missing, f"routes without an access rule in netzatlas/api/authz.py ROUTE_RULES: {missing}"


def test_no_rule_for_a_route_that_does_not_exist():
    from netzatlas.api.authz import ROUTE_RULES

    routes = _app_routes()
    stale = sorted(f"{m} {p}" for m, p in ROUTE_RULES if (m, p) not in routes)
    assert not stale, f"rules for routes the app does not have: {stale}"


def test_every_process_declares_a_known_scope():
    from netzatlas.api.authz import scope_pattern_ok
    from netzatlas.api.processes import PROCESSES, _load_processes

    _load_processes()
    assert PROCESSES
    for pid, p in PROCESSES.items():
        assert scope_pattern_ok(p.scope), (pid, p.scope)
    writers = {pid: p.scope for pid, p in PROCESSES.items() if p.scope.startswith("write:")}
    assert writers == {"gigabit-classify": "write:gigabit_result", "gigabit-funding-areas": "write:funding_area_result",
                       "mobile-coverage-holes": "write:coverage_hole_result",
                       "mast-request-evaluation": "write:mast_request"}


def _block(text: str, name: str) -> str:
    m = re.search(rf"<!-- {name}:begin -->\n(.*?)\n<!-- {name}:end -->", text, re.S)
    assert m, f"docs/security.md has no generated {name} table"
    return m.group(1).strip()


def test_the_security_docs_show_the_rules_the_code_enforces():
    from netzatlas.api.authz import process_table, route_table

    doc = (ROOT / "docs" / "security.md").read_text()
    assert _block(doc, "routes") == route_table(), "regenerate: python -m netzatlas.api.authz > table"
    assert _block(doc, "processes") == process_table()
