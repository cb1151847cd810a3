"""The authorization model, in one place: who may call which route, read which collection, see which values.

Every route of the app declares a rule in :data:`ROUTE_RULES` (method + path template → :class:`Rule`); the
dependency :func:`authorize`, installed on the whole app, enforces it before the handler runs, and a test fails
when a route has no rule. Handlers add the checks only they can make (a feature's owner, a job's key).

Scopes a key can carry (``docs/security.md`` has the table):

``read``
    non-public collections (not confidential ones) and their changes in ``/changes``.
``read:confidential``
    confidential collections too (market-exploration answers and per-address results, candidate sites, municipal
    property, mast requests).
``read:staff``
    the full names of the people and keys behind changes (``changed_by``) of other organizations.
``write:<collection>`` / ``write:*``
    create, change and delete features of that collection (``write:*``: every asset collection, not results);
    a write scope also lets its key read that collection.
``write:<result collection>``
    run the analysis that replaces those results (``write:gigabit_result`` for the classification, …).
``admin``
    everything, across organizations; managing keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import Request

from netzatlas.errors import Forbidden, Unauthorized
from netzatlas.registry.db import RESULT_LAYERS

if TYPE_CHECKING:
    from netzatlas.api.auth import Principal
    from netzatlas.api.state import ApiState

#: Result collections: written only by their analysis process, with ``write:<name>``.
RESULT_COLLECTIONS = RESULT_LAYERS   # every result view (registry/db.py); writing one was a 500, even for admin
#: Records a process writes (``write:mast_request``: evaluating a mast request). Since revision 0020 the mast
#: requests are also a (confidential) collection, created with POST and decided with PATCH under the same scope.
PROCESS_RECORDS = ("mast_request",)


@dataclass(frozen=True)
class Rule:
    """What a route needs.

    ``kind``:
      ``public``      anyone, no key
      ``collection``  read the collection named by the path parameter ``collection_id`` (public ones: anyone)
      ``write``       a write scope for the collection named by ``collection_id``
      ``feed``        anyone; the change feed then filters by what the caller may read
      ``key``         any valid key (the handler checks ownership, e.g. of a job)
      ``read``        a key with ``read`` (or ``read:confidential``, admin)
      ``process``     the scope the process named by ``process_id`` declares
      ``admin``       an admin key
    """

    kind: str
    note: str = ""


PUBLIC, COLLECTION, WRITE, FEED, KEY, READ, PROCESS, ADMIN = (
    Rule("public"), Rule("collection"), Rule("write"), Rule("feed"), Rule("key"), Rule("read"), Rule("process"),
    Rule("admin"))

#: OCPI 2.2.1 routes (api/ocpi/): OCPI authenticates with its own tokens, checked by the OCPI router itself.
OCPI_TOKEN = Rule("public", "the OCPI router checks `Authorization: Token <base64 token>` (token A for the "
                            "handshake, then C); receiver: only the party's own locations")

#: Every route of the app → its rule. ``tests/test_authz_routes.py`` fails when a route is missing here.
ROUTE_RULES: dict[tuple[str, str], Rule] = {
    ("GET", "/"): PUBLIC,
    ("GET", "/conformance"): PUBLIC,
    ("GET", "/api"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/map"): PUBLIC,
    ("GET", "/favicon.ico"): PUBLIC,
    ("GET", "/static/vendor/{name}"): PUBLIC,
    ("GET", "/static/{name}"): PUBLIC,
    ("GET", "/collections"): Rule("public", "lists only the collections the caller may read"),
    ("GET", "/collections/{collection_id}"): COLLECTION,
    ("GET", "/collections/{collection_id}/queryables"): COLLECTION,
    ("GET", "/collections/{collection_id}/schema"): COLLECTION,
    ("GET", "/collections/{collection_id}/items"): COLLECTION,
    ("HEAD", "/collections/{collection_id}/items"): COLLECTION,
    ("OPTIONS", "/collections/{collection_id}/items"): COLLECTION,
    ("POST", "/collections/{collection_id}/items"): WRITE,
    ("GET", "/collections/{collection_id}/items/{feature_id}"): COLLECTION,
    ("HEAD", "/collections/{collection_id}/items/{feature_id}"): COLLECTION,
    ("OPTIONS", "/collections/{collection_id}/items/{feature_id}"): COLLECTION,
    ("PUT", "/collections/{collection_id}/items/{feature_id}"): WRITE,
    ("PATCH", "/collections/{collection_id}/items/{feature_id}"): WRITE,
    ("DELETE", "/collections/{collection_id}/items/{feature_id}"): WRITE,
    ("GET", "/collections/{collection_id}/items/{feature_id}/history"): COLLECTION,
    ("GET", "/collections/{collection_id}/tiles"): COLLECTION,
    ("GET", "/collections/{collection_id}/tiles/WebMercatorQuad"): COLLECTION,
    ("GET", "/collections/{collection_id}/tiles/WebMercatorQuad/{z}/{y}/{x}"): COLLECTION,
    ("GET", "/tileMatrixSets"): PUBLIC,
    ("GET", "/tileMatrixSets/WebMercatorQuad"): PUBLIC,
    ("POST", "/sync/{collection_id}"): WRITE,
    ("GET", "/changes"): FEED,
    ("GET", "/processes"): PUBLIC,
    ("GET", "/processes/{process_id}"): PUBLIC,
    ("POST", "/processes/{process_id}/execution"): PROCESS,
    ("GET", "/jobs"): KEY,
    ("GET", "/jobs/{job_id}"): KEY,
    ("GET", "/jobs/{job_id}/results"): KEY,
    ("DELETE", "/jobs/{job_id}"): KEY,
    ("GET", "/results/mobile/{name}"): READ,
    **{(m, p): OCPI_TOKEN for m, p in (
        ("GET", "/ocpi/versions"), ("GET", "/ocpi/2.2.1"), ("GET", "/ocpi/2.2.1/credentials"),
        ("POST", "/ocpi/2.2.1/credentials"), ("PUT", "/ocpi/2.2.1/credentials"),
        ("DELETE", "/ocpi/2.2.1/credentials"),
        *((m, "/ocpi/2.2.1/receiver/locations/{country_code}/{party_id}/{location_id}" + tail)
          for m in ("GET", "PUT", "PATCH") for tail in ("", "/{evse_uid}", "/{evse_uid}/{connector_id}")))},
    **{("GET", "/ocpi/2.2.1/sender/locations" + tail): PUBLIC
       for tail in ("", "/{location_id}", "/{location_id}/{evse_uid}", "/{location_id}/{evse_uid}/{connector_id}")},
}

_SCOPE = re.compile(r"^(read|read:confidential|read:staff|admin|write:\*|write:[a-z_][a-z0-9_]*)$")


def scope_pattern_ok(scope: str) -> bool:
    """Whether a scope string has a known form (the collection of ``write:<c>`` is checked by the caller)."""
    return bool(_SCOPE.match(scope))


# --- collections ----------------------------------------------------------------------------------------------

def can_write(principal: Principal, collection: str) -> bool:
    """Whether the key may write features of ``collection`` (results: only through their process)."""
    if principal.anonymous or collection in RESULT_COLLECTIONS:
        return False
    return principal.admin or "write:*" in principal.scopes or f"write:{collection}" in principal.scopes


def can_run_writing(principal: Principal, result: str) -> bool:
    """Whether the key may run an analysis that replaces the results in ``result``."""
    return not principal.anonymous and (principal.admin or f"write:{result}" in principal.scopes)


def can_read(state: ApiState, principal: Principal, collection: str) -> bool:
    """Whether the caller may read ``collection``: public ones anyone; non-public ones a ``read`` key or a key
    that may write it; confidential ones ``read:confidential`` or the explicit ``write:<collection>`` (a writer needs
    the ETag; not ``write:*``, not a result's scope) — never anonymous."""
    if principal.admin:
        return True
    if collection in state.confidential:
        return "read:confidential" in principal.scopes or (
            collection not in RESULT_COLLECTIONS and f"write:{collection}" in principal.scopes)
    if state.public.get(collection, True):
        return True
    if principal.anonymous:
        return False
    return ("read" in principal.scopes or "read:confidential" in principal.scopes
            or can_write(principal, collection) or f"write:{collection}" in principal.scopes)


def require_read(state: ApiState, principal: Principal, collection: str) -> None:
    """Raise Unauthorized (no key) or Forbidden (a key without the scope) unless the caller may read it."""
    if can_read(state, principal, collection):
        return
    if principal.anonymous:
        raise Unauthorized(f"the collection {collection} is not public", hint="send an API key with the 'read' scope")
    need = "read:confidential" if collection in state.confidential else "read"
    raise Forbidden(f"this key may not read {collection}", hint=f"it needs the scope {need!r}")


def readable_collections(state: ApiState, principal: Principal) -> list[str]:
    """The collections the caller may read (for ``/collections`` and the change feed)."""
    return [name for name in state.layers if can_read(state, principal, name)]


# --- values ---------------------------------------------------------------------------------------------------

def sees_sensitive(principal: Principal, owner_org: str | None) -> bool:
    """Whether the caller sees a feature's non-public attributes: admins, and keys of the owning organization."""
    return principal.admin or (not principal.anonymous and owner_org is not None and owner_org == principal.org)


def hidden_properties(state: ApiState, principal: Principal, collection: str, owner_org: str | None) -> set[str]:
    """The sensitive property names to leave out of one feature (or change) of ``collection``."""
    if sees_sensitive(principal, owner_org):
        return set()
    return state.sensitive.get("*", set()) | state.sensitive.get(collection, set())


def value_policy(state: ApiState, principal: Principal, collection: str) -> tuple[set[str], str | None]:
    """For reads of many features at once: the sensitive names, and the organization whose own features show
    them (None: shown on no feature). Admins: nothing hidden. Such names are not queryable nor sortable except
    for admins, so a filter cannot probe them."""
    if principal.admin:
        return set(), None
    names = state.sensitive.get("*", set()) | state.sensitive.get(collection, set())
    return names, (None if principal.anonymous else principal.org)


def shown_actor(principal: Principal, changed_by: str | None) -> str | None:
    """``changed_by`` as the caller may see it: in full for admins, ``read:staff`` keys and changes by the
    caller's own organization; otherwise only the organization part (``stawag``), never a person's name."""
    if changed_by is None:
        return None
    org, sep, _ = changed_by.partition(":")
    if principal.admin or "read:staff" in principal.scopes:
        return changed_by
    if not principal.anonymous and sep and org == principal.org:
        return changed_by
    if principal.anonymous:
        return None
    return org if sep else "staff"


# --- routes ---------------------------------------------------------------------------------------------------

def rule_for(method: str, path: str) -> Rule | None:
    """The declared rule of a route (HEAD falls back to GET's rule)."""
    rule = ROUTE_RULES.get((method, path))
    if rule is None and method == "HEAD":
        rule = ROUTE_RULES.get(("GET", path))
    return rule


# --- the change feed and history ------------------------------------------------------------------------------

def feed_tables(state: ApiState, principal: Principal) -> list[str]:
    """The tables whose changes the caller sees in ``/changes``: the collections it may read, and the result runs
    (``registry.result_run``: who replaced which analysis results, with their summaries) for ``read`` keys."""
    tables = [f"registry.{name}" for name in readable_collections(state, principal)]
    if principal.admin or {"read", "read:confidential"} & set(principal.scopes):
        tables.append("registry.result_run")
    return tables


def authorize(request: Request, state: ApiState, principal: Principal) -> None:
    """Enforce the route's declared rule (installed on the whole app; see :data:`ROUTE_RULES`)."""
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    rule = rule_for(request.method, path) if path else None
    if rule is None:
        # a route without a rule is a programming error: refuse rather than serve it unguarded
        raise Forbidden(f"no access rule is declared for {request.method} {path}")
    params = request.path_params
    if rule.kind in ("public", "feed"):
        return
    if rule.kind == "collection":
        if params.get("collection_id") in state.layers:
            require_read(state, principal, params["collection_id"])
        return
    if principal.anonymous:
        raise Unauthorized("this needs an API key", hint="send it as 'Authorization: Bearer <key>' or X-API-Key")
    if rule.kind == "key":
        return
    if rule.kind == "read":
        if not (principal.admin or {"read", "read:confidential"} & set(principal.scopes)):
            raise Forbidden("this key may not read results", hint="it needs the scope 'read'")
        return
    if rule.kind == "write":
        if params.get("collection_id") in state.layers:
            principal.require_write(params["collection_id"])
        return
    if rule.kind == "process":
        from netzatlas.api.processes import PROCESSES, _load_processes

        _load_processes()
        process = PROCESSES.get(params.get("process_id", ""))
        if process is not None:
            require_scope(principal, process.scope, f"running {process.id}")
        return
    if rule.kind == "admin" and not principal.admin:
        raise Forbidden("this needs an admin key")


def require_scope(principal: Principal, scope: str, what: str) -> None:
    """Raise Forbidden unless the key holds ``scope`` (``read`` is also met by ``read:confidential``; admin: all)."""
    if principal.admin or scope in principal.scopes:
        return
    if scope == "read" and "read:confidential" in principal.scopes:
        return
    raise Forbidden(f"{what} needs the scope {scope!r}",
                    hint=f"this key has {', '.join(sorted(principal.scopes)) or 'no scopes'}")


RULE_TEXT = {
    "public": "anyone",
    "collection": "public collections: anyone; non-public: `read` or a write scope for it; confidential: "
                  "`read:confidential` or `write:<collection>`",
    "write": "`write:<collection>` or `write:*` (results: never); handler: own organization's features only",
    "feed": "anyone; filtered to the collections the caller may read, values by owner (see below)",
    "key": "any valid key; handler: only the key that started the job (or admin)",
    "read": "`read` (or `read:confidential`)",
    "process": "the process's declared scope (see the process table)",
    "admin": "`admin`",
}


def route_table() -> str:
    """The route → rule table of docs/security.md, generated from :data:`ROUTE_RULES` (a test keeps them equal)."""
    lines = ["| method | path | who may call it |", "|---|---|---|"]
    for (method, path), rule in sorted(ROUTE_RULES.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        text = RULE_TEXT[rule.kind] + (f"; {rule.note}" if rule.note else "")
        lines.append(f"| {method} | `{path}` | {text} |")
    return "\n".join(lines)


def process_table() -> str:
    """The process → scope table of docs/security.md."""
    from netzatlas.api.processes import PROCESSES, _load_processes

    _load_processes()
    lines = ["| process | scope needed |", "|---|---|"]
    for pid, p in sorted(PROCESSES.items()):
        lines.append(f"| `{pid}` | `{p.scope}` |")
    return "\n".join(lines)


if __name__ == "__main__":  # python -m netzatlas.api.authz: the tables for docs/security.md
    print(route_table(), process_table(), sep="\n\n")
