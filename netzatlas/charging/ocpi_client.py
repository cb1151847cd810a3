"""OCPI 2.2.1 pull client: a CPO's Locations into the registry (``netzatlas import ocpi URL --token T``).

versions → version details → the ``locations`` SENDER endpoint → pages followed by the ``Link: <…>; rel="next"``
header, with ``date_from`` for incremental pulls (the start of the last successful pull of the same source, kept in
its import batch). Every page is fetched and every Location validated first (pydantic models of ``ocpi_model``);
the validated pages go to a spool on disk (:class:`Spool`, pickled page by page), so the client holds one page, not
the feed. Then ``write`` reads the spool back page by page and writes each page through ``registry.ocpi_store`` —
all pages in ONE transaction, so a failed pull (HTTP error, OCPI ``status_code`` ≠ 1000, a refused write) leaves
the database as it was. Writes are idempotent: the same feed twice changes 0 rows.

A bad Location (malformed, ``last_updated`` in the future, refused by the registry): ``strict`` (the default of
``netzatlas import ocpi``) refuses the whole feed; otherwise (``netzatlas import ocpi --skip-invalid``) that Location
is left out — written not at all, each write in a savepoint — and listed in ``refused`` with its id and the reason.
"""

from __future__ import annotations

import base64
import pickle
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg

from netzatlas.charging.ocpi_model import Location, ahead_of_clock, clock_refusal, parse_model
from netzatlas.errors import InvalidInput, InvalidParameter, NetzatlasError

KIND = "ocpi"
PAGE_LIMIT = 1000
#: progress(pages, locations, total locations or None)
Progress = Callable[[int, int, int | None], None]


class OcpiFeedError(NetzatlasError):
    """The CPO's feed could not be read or is not OCPI 2.2.1: nothing was written."""


class Spool:
    """Validated Locations on disk, page by page (a temporary file, gone when closed or collected): ``len`` and
    iteration as a list of Locations, ``pages()`` for the writer. Memory: one page, whatever the feed's size."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile(prefix="netzatlas-ocpi-")
        self._pages: list[tuple[int, int]] = []  # (offset, locations)
        self._count = 0

    def add(self, page: list[Location]) -> None:
        if not page:
            return
        self._file.seek(0, 2)
        self._pages.append((self._file.tell(), len(page)))
        pickle.dump(page, self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self._count += len(page)

    def pages(self) -> Iterator[list[Location]]:
        for offset, _ in self._pages:
            self._file.seek(offset)
            yield pickle.load(self._file)  # noqa: S301 -- our own file, written by add() in this process

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[Location]:
        for page in self.pages():
            yield from page

    def close(self) -> None:
        self._file.close()


@dataclass(frozen=True)
class Refused:
    """A Location left out of a pull: its ``CC*PTY*id`` (``#item`` when it has none), where, and why."""

    location: str
    reason: str
    page: int | None = None
    item: int | None = None


@dataclass
class Pulled:
    """What the feed held (validated Locations, spooled) and how it was read."""

    locations: Spool
    pages: int
    locations_url: str
    version: str
    date_from: datetime | None
    started_at: datetime
    seconds: float = 0.0
    skipped_parties: dict[str, int] = field(default_factory=dict)
    #: locations per registry source (``ocpi:CC*PTY``) in the spool
    sources: dict[str, int] = field(default_factory=dict)
    #: Locations left out (not ``strict``): malformed or dated in the future
    refused: list[Refused] = field(default_factory=list)


def auth_header(token: str) -> dict[str, str]:
    """OCPI 2.2.1 sends the token Base64-encoded: ``Authorization: Token <base64(token)>``."""
    return {"Authorization": "Token " + base64.b64encode(token.encode()).decode()}


def parse_party(party: str | None) -> tuple[str, str] | None:
    """``DE*ABC`` (or ``DE-ABC``, ``DEABC``) → ("DE", "ABC")."""
    if not party:
        return None
    p = party.replace("*", "").replace("-", "").strip().upper()
    if len(p) != 5 or not p[:2].isalpha() or not p[2:].isalnum():
        raise InvalidParameter(f"--party {party!r} is no OCPI party", hint="country code and party id, e.g. DE*ABC")
    return p[:2], p[2:]


def _body(resp: httpx.Response, what: str) -> Any:
    """The ``data`` of an OCPI response; OcpiFeedError on HTTP errors, non-JSON or status_code ≠ 1000."""
    if resp.status_code >= 400:
        raise OcpiFeedError(f"{what}: HTTP {resp.status_code} from {resp.request.url}",
                            hint="check the URL and the token (the CPO's token C for this platform)")
    try:
        body = resp.json()
    except ValueError as exc:
        raise OcpiFeedError(f"{what}: the answer of {resp.request.url} is no JSON") from exc
    if not isinstance(body, dict) or "status_code" not in body:
        raise OcpiFeedError(f"{what}: the answer of {resp.request.url} is no OCPI response (no status_code)")
    if body.get("status_code") != 1000:
        raise OcpiFeedError(f"{what}: OCPI status_code {body.get('status_code')} "
                            f"({body.get('status_message') or 'no message'}) from {resp.request.url}")
    return body.get("data")


def _get(client: httpx.Client, url: str, what: str, params: dict[str, Any] | None = None) -> httpx.Response:
    try:
        return client.get(url, params=params)
    except httpx.HTTPError as exc:
        raise OcpiFeedError(f"{what}: cannot reach {url} ({exc})") from exc


def locations_endpoint(client: httpx.Client, url: str) -> tuple[str, str]:
    """(locations URL, version) from a versions URL (or a version details URL)."""
    data = _body(_get(client, url, "versions"), "versions")
    details_url, version = url, None
    if isinstance(data, list) and data and all(isinstance(x, dict) and "country_code" in x for x in data):
        return url, "2.2.1"  # the URL is the locations endpoint itself (a sender's public list)
    if isinstance(data, list):
        versions = {str(v.get("version")): v.get("url") for v in data if isinstance(v, dict)}
        version = "2.2.1" if "2.2.1" in versions else next((v for v in sorted(versions, reverse=True)
                                                            if v.startswith("2.2")), None)
        if version is None:
            raise OcpiFeedError(f"versions: the CPO offers {', '.join(sorted(versions)) or 'no version'}, "
                                "not OCPI 2.2.1", hint="netzatlas speaks OCPI 2.2.1 (2.2 accepted)")
        details_url = str(versions[version])
        data = _body(_get(client, details_url, "version details"), "version details")
    if data is None and version is None:
        raise OcpiFeedError(f"versions: the answer of {url} holds no data (no list of versions)",
                            hint="give the CPO's OCPI versions URL, e.g. https://cpo.example/ocpi/versions")
    if not isinstance(data, dict) or not isinstance(data.get("endpoints"), list):
        raise OcpiFeedError(f"version details: {details_url} lists no endpoints")
    for ep in data["endpoints"]:
        if isinstance(ep, dict) and ep.get("identifier") == "locations" and ep.get("role", "SENDER") == "SENDER":
            return str(ep["url"]), str(version or data.get("version") or "2.2.1")
    raise OcpiFeedError(f"version details: {details_url} has no locations SENDER endpoint",
                        hint="the CPO must offer the Locations module (mod_locations) as Sender")


def _ref(obj: Any, i: int) -> str:
    return ("*".join(str(obj.get(k) or f"(no {k})") for k in ("country_code", "party_id", "id"))
            if isinstance(obj, dict) else f"#{i + 1}")


def _validate(obj: Any) -> Location | str:
    """The validated Location, or why it is refused: malformed, or dated ahead of our clock (its live status
    would ignore every later update)."""
    try:
        loc = parse_model(Location, obj, "Location")
    except InvalidInput as exc:
        return f"malformed: {exc.message}"
    ahead = ahead_of_clock(loc)
    return clock_refusal(ahead) if ahead else loc


def _other_party(obj: Any, party: tuple[str, str] | None) -> str | None:
    """``CC*PTY`` of a (malformed) Location of another party than ``party``, else None."""
    if party is None or not isinstance(obj, dict):
        return None
    cc, pid = str(obj.get("country_code") or ""), str(obj.get("party_id") or "")
    return f"{cc}*{pid}" if cc and pid and (cc.upper(), pid.upper()) != party else None


def pull(url: str, token: str, *, party: tuple[str, str] | None = None, date_from: datetime | None = None,
         progress: Progress | None = None, limit: int = PAGE_LIMIT, timeout: float = 60.0,
         transport: httpx.BaseTransport | None = None, strict: bool = True) -> Pulled:
    """Fetch and validate every Location of the feed (all pages), optionally only those of ``party`` and changed
    since ``date_from``. A bad Location refuses the feed (``strict``) or is left out and listed in ``refused``.
    Nothing is written here."""
    started, t0 = datetime.now(UTC), time.perf_counter()
    with httpx.Client(headers=auth_header(token), timeout=timeout, follow_redirects=True,
                      transport=transport) as client:
        loc_url, version = locations_endpoint(client, url)
        params: dict[str, Any] | None = {"limit": limit, "offset": 0}
        if date_from is not None:
            params["date_from"] = date_from.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        out = Spool()
        taker = _Taker(party, strict)
        pages, next_url, total = 0, loc_url, None
        asked: set[str] = set()
        ahead = ThreadPoolExecutor(1, thread_name_prefix="ocpi-page")
        pending = ahead.submit(_get, client, next_url, "locations", params)
        try:
            while pending is not None:
                resp = pending.result()
                asked.add(str(resp.request.url))
                nxt = resp.links.get("next", {}).get("url") if resp.status_code < 400 else None
                nxt = str(resp.url.join(nxt)) if nxt else None
                if nxt is not None and nxt in asked:
                    raise OcpiFeedError(f"locations page {pages + 1}: its Link header points to a page read "
                                        f"already ({nxt}); the feed would be read again and again",
                                        hint="the CPO's paging is broken (OCPI 2.2.1 pagination); nothing was "
                                             "written")
                # the next page is asked for before this one is decoded and validated: the CPO prepares it
                # (and the socket waits) while this process validates
                pending = ahead.submit(_get, client, nxt, "locations", None) if nxt else None
                data = _body(resp, f"locations page {pages + 1}")
                pages += 1
                if not isinstance(data, list):
                    raise OcpiFeedError(f"locations page {pages}: data is no list of Locations")
                out.add(taker.take(data, pages))
                del data
                if resp.headers.get("X-Total-Count", "").isdigit():
                    total = int(resp.headers["X-Total-Count"])
                if progress:
                    progress(pages, len(out) + sum(taker.skipped.values()) + len(taker.refused), total)
        except BaseException:
            out.close()
            raise
        finally:
            ahead.shutdown(wait=True, cancel_futures=True)
    return Pulled(out, pages, loc_url, version, date_from, started, time.perf_counter() - t0, taker.skipped,
                  taker.sources, taker.refused)


class _Taker:
    """The Locations of a feed's pages to write: validated, of ``party``, each once (the newest copy)."""

    def __init__(self, party: tuple[str, str] | None, strict: bool) -> None:
        self.party, self.strict = party, strict
        self.skipped: dict[str, int] = {}
        self.sources: dict[str, int] = {}
        self.refused: list[Refused] = []
        self.seen: dict[str, datetime] = {}  # location key → newest last_updated taken (a feed may repeat one)

    def take(self, data: list[Any], pages: int) -> list[Location]:
        page: dict[str, Location] = {}
        for i, obj in enumerate(data):
            loc = _validate(obj)
            if isinstance(loc, str):
                other = _other_party(obj, self.party)
                if other is not None:  # not asked for: left out whatever its state
                    self.skipped[other] = self.skipped.get(other, 0) + 1
                elif self.strict:
                    how = f"is {loc}" if loc.startswith("malformed") else f"is refused: {loc}"
                    raise OcpiFeedError(f"location {_ref(obj, i)} (page {pages}, item {i + 1}) {how}",
                                        hint="ask the CPO to fix the Location; nothing was written")
                else:
                    self.refused.append(Refused(_ref(obj, i), loc, pages, i + 1))
                continue
            if self.party and (loc.country_code.upper(), loc.party_id.upper()) != self.party:
                key = f"{loc.country_code}*{loc.party_id}"
                self.skipped[key] = self.skipped.get(key, 0) + 1
                continue
            key, at = _key(loc), _utc(loc.last_updated)
            if key in self.seen and at < self.seen[key]:
                continue  # an older copy of a Location already taken
            if key not in self.seen:
                src = source_name(loc.country_code, loc.party_id)
                self.sources[src] = self.sources.get(src, 0) + 1
            self.seen[key] = at
            page.pop(key, None)
            page[key] = loc  # a repeat on the same page replaces the copy before it
        return list(page.values())


def _key(loc: Location) -> str:
    return f"{loc.country_code.upper()}*{loc.party_id.upper()}*{loc.id}"


def _utc(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


@dataclass
class PullReport:
    """What a pull wrote."""

    batch_id: str
    sources: list[str]
    pulled: Pulled
    locations: int = 0
    evses: int = 0
    connectors: int = 0
    removed: int = 0
    status_changes: int = 0
    #: the Locations left out: by the pull (``pulled.refused``) and by the registry (not ``strict``)
    refused: list[Refused] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return self.locations + self.evses + self.connectors + self.removed


def source_name(country_code: str, party_id: str) -> str:
    """The registry source of a party's Locations: the same whether the CPO pushes them or we pull them."""
    return f"ocpi:{country_code.upper()}*{party_id.upper()}"


def last_pull(conn: Any, url: str) -> datetime | None:
    """When the last successful pull of ``url`` started (its batch details), for ``date_from``."""
    row = conn.execute("SELECT details->>'started_at' AS at FROM audit.batch WHERE kind = %s AND finished_at IS NOT "
                       "NULL AND details->>'url' = %s ORDER BY finished_at DESC LIMIT 1", [KIND, url]).fetchone()
    at = None if row is None else (row["at"] if isinstance(row, dict) else row[0])
    return datetime.fromisoformat(at) if at else None


def write(pulled: Pulled, *, url: str, owner: str, db_url: str | None = None, strict: bool = True) -> PullReport:
    """Write the spooled Locations page by page through ``ocpi_store``, all pages in one transaction (one source
    per party). ``strict``: a refused page rolls back every page before it; otherwise each party's part of a page
    is written in a savepoint and, when refused, Location by Location — a Location the registry refuses (its
    source held by another organization, a value it refuses) leaves nothing behind and is listed in
    ``refused``."""
    from netzatlas.registry import store
    from netzatlas.registry.db import connect

    batch_id = store.new_batch_id(KIND)
    report = PullReport(batch_id, sorted(pulled.sources), pulled, refused=list(pulled.refused))
    with connect(db_url) as conn, conn.transaction():
        org = conn.execute("SELECT slug FROM registry.organization WHERE slug = %s", [owner]).fetchone()
        if org is None:
            raise InvalidParameter(f"unknown organization {owner!r}", hint="give --owner with a known organization")
        store.begin_batch(conn, batch_id, kind=KIND, source=",".join(report.sources) or "ocpi",
                          target="charging_point,charging_evse,charging_connector")
        writer = _Writer(conn, owner, strict, report)
        for page in pulled.locations.pages():
            by_party: dict[str, list[Location]] = {}
            for loc in page:
                by_party.setdefault(source_name(loc.country_code, loc.party_id), []).append(loc)
            for source, locs in sorted(by_party.items()):
                writer.write(source, locs)
        details: dict[str, Any] = {
            "url": url, "started_at": pulled.started_at.isoformat(), "version": pulled.version,
            "pages": pulled.pages, "locations": len(pulled.locations),
            "date_from": pulled.date_from.isoformat() if pulled.date_from else None,
            "vintage": f"abgerufen / pulled {pulled.started_at:%d.%m.%Y %H:%M} UTC",
            "files": [url]}
        if report.refused:
            details["refused"] = [{"location": r.location, "reason": r.reason} for r in report.refused[:1000]]
        conn.execute(
            "UPDATE audit.batch SET finished_at = clock_timestamp(), created = %s, updated = 0, unchanged = %s, "
            "rejected = %s, details = %s WHERE id = %s",
            [report.changed, len(pulled.locations) - report.locations - writer.refused, len(report.refused),
             _json(details), batch_id])
    return report


class _Writer:
    """Writes a pull's Locations party by party into one transaction, adding up the report."""

    def __init__(self, conn: Any, owner: str, strict: bool, report: PullReport) -> None:
        self.conn, self.owner, self.strict, self.report = conn, owner, strict, report
        self.claimed: set[str] = set()
        self.barred: dict[str, str] = {}  # source → why this organization may not write it
        self.refused = 0  # Locations the registry refused

    def write(self, source: str, locs: list[Location]) -> None:
        from netzatlas.registry import sources
        from netzatlas.registry.ocpi_store import upsert_locations

        if self.strict:
            self._add(upsert_locations(self.conn, locs, org=self.owner, source=source,
                                       claim=source not in self.claimed))
            self.claimed.add(source)
            return
        if source not in self.claimed and source not in self.barred:
            try:
                with self.conn.transaction():
                    sources.claim(self.conn, source, self.owner)
                self.claimed.add(source)
            except NetzatlasError as exc:
                self.barred[source] = _reason(exc)
        if source in self.barred:
            self._refuse(locs, self.barred[source])
            return
        self._split(source, locs)

    def _split(self, source: str, locs: list[Location]) -> None:
        """Write ``locs`` in a savepoint; when the registry refuses, each half again (a refused Location among a
        thousand costs some twenty tries, not a thousand) down to the refused Location itself."""
        from netzatlas.registry.ocpi_store import upsert_locations

        try:
            with self.conn.transaction():
                self._add(upsert_locations(self.conn, locs, org=self.owner, source=source, claim=False))
        except _REFUSALS as exc:
            if len(locs) == 1:
                self._refuse(locs, _reason(exc))
                return
            half = len(locs) // 2
            self._split(source, locs[:half])
            self._split(source, locs[half:])

    def _refuse(self, locs: list[Location], reason: str) -> None:
        self.refused += len(locs)
        self.report.refused += [Refused(_key(loc), reason) for loc in locs]

    def _add(self, res: Any) -> None:
        for name in ("locations", "evses", "connectors", "removed", "status_changes"):
            setattr(self.report, name, getattr(self.report, name) + getattr(res, name))


#: what the registry refuses a Location with (anything else — a lost connection — ends the pull)
_REFUSALS = (NetzatlasError, psycopg.errors.IntegrityError, psycopg.errors.DataError)


def _reason(exc: BaseException) -> str:
    from netzatlas.registry.db import refusal

    err = exc if isinstance(exc, NetzatlasError) else refusal(exc)  # type: ignore[arg-type]
    return err.message + (f" ({err.hint})" if err.hint else "")


def _json(d: dict[str, Any]) -> str:
    import json

    return json.dumps(d)
