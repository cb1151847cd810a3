"""OGC API – Processes: the analyses as processes, run synchronously or as jobs with status and progress.

Processes register themselves with ``register_process``; each is a function ``(inputs, progress, ctx) -> dict``
where ``progress(percent, message)`` reports progress and raises ``JobDismissed`` when the job was cancelled.
Jobs run in a small thread pool and are kept in memory (a restart forgets them; the results they wrote to the
registry stay).
"""

from __future__ import annotations

import errno
import logging
import math
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse, Response

from netzatlas.api.auth import Principal
from netzatlas.api.deps import get_principal, get_state
from netzatlas.api.features import base_url
from netzatlas.api.state import CURRENT_ACTOR, CURRENT_CALLER, CURRENT_PRINCIPAL, ApiState
from netzatlas.config import get_settings
from netzatlas.errors import (
    InvalidParameter,
    NetzatlasError,
    NotFound,
    StorageUnavailable,
    TooManyRequests,
    Unauthorized,
)

_log = logging.getLogger("netzatlas.api")
#: errors of the server's disk (full, over quota, read-only): answered as such (507), not as a bug
_STORAGE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)

router = APIRouter()
Progress = Callable[[float, str], None]


class JobDismissed(Exception):
    """Raised inside a process when its job was cancelled."""


@dataclass
class Process:
    id: str
    title: str
    description: str
    inputs: dict[str, dict[str, Any]]
    outputs: dict[str, dict[str, Any]]
    func: Callable[[dict[str, Any], Progress, ApiState], dict[str, Any]]
    #: the scope a key needs to run it (``read`` for analyses that only answer; ``write:<result>`` for those that
    #: replace stored results — see netzatlas.api.authz)
    scope: str = "read"


@dataclass
class Job:
    id: str
    process_id: str
    status: str = "accepted"
    progress: float = 0.0
    message: str = ""
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    finished: str | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    org: str | None = None       # the organization of the key that started it
    key_id: str | None = None    # the key that started it: only that key (or an admin) may see and dismiss it
    actor: str | None = None     # who, for the history of the results it writes
    admin: bool = False          # started with an admin key (may change records of any organization)
    failure: NetzatlasError | None = None  # the error that failed it (a refusal is answered as such)
    fault: Exception | None = None  # an unexpected error (a server fault: answered as a 500, logged)
    principal: Principal | None = None  # the key that started it (what the process may show it)


PROCESSES: dict[str, Process] = {}
JOBS: dict[str, Job] = {}
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="netzatlas-job")


def feature_collection(gdf) -> dict[str, Any]:  # noqa: ANN001 - a GeoDataFrame
    """A process output as GeoJSON in CRS84 (infinite values become null)."""
    if not len(gdf):
        return {"type": "FeatureCollection", "features": []}
    import json

    import numpy as np

    return json.loads(gdf.replace([np.inf, -np.inf], np.nan).to_crs(4326).to_json())


def register_process(process: Process) -> None:
    PROCESSES[process.id] = process


def _summary(p: Process, b: str) -> dict[str, Any]:
    return {"id": p.id, "title": p.title, "description": p.description, "version": "1.0.0",
            "jobControlOptions": ["sync-execute", "async-execute", "dismiss"],
            "outputTransmission": ["value"],
            "links": [{"href": f"{b}/processes/{p.id}", "rel": "self", "type": "application/json"},
                      {"href": f"{b}/processes/{p.id}/execution", "rel": "http://www.opengis.net/def/rel/ogc/1.0/"
                       "execute", "type": "application/json"}]}


@router.get("/processes", summary="The analyses (OGC API Processes)")
def processes(request: Request) -> dict[str, Any]:
    _load_processes()
    b = base_url(request)
    return {"processes": [_summary(p, b) for p in PROCESSES.values()],
            "links": [{"href": f"{b}/processes", "rel": "self", "type": "application/json"}]}


@router.get("/processes/{process_id}", summary="One process with its inputs and outputs")
def process(process_id: str, request: Request) -> dict[str, Any]:
    p = _get(process_id)
    return {**_summary(p, base_url(request)), "inputs": p.inputs, "outputs": p.outputs}


def _get(process_id: str) -> Process:
    _load_processes()
    if process_id not in PROCESSES:
        raise NotFound(f"there is no process {process_id!r}", hint="see /processes")
    return PROCESSES[process_id]


def _finite(v: float) -> bool:
    """Whether a number is finite as a float (an integer too large for one is not)."""
    try:
        return math.isfinite(v)
    except OverflowError:
        return False


def _validate_inputs(p: Process, given: dict[str, Any]) -> dict[str, Any]:
    unknown = set(given) - set(p.inputs)
    if unknown:
        raise InvalidParameter(f"unknown input(s) {sorted(unknown)} for {p.id}", hint=f"inputs: {sorted(p.inputs)}")
    out = {}
    for name, spec in p.inputs.items():
        schema = spec.get("schema", {})
        if name not in given:
            if "default" in schema:
                out[name] = schema["default"]
            elif spec.get("minOccurs", 1) > 0:
                raise InvalidParameter(f"input {name!r} is required for {p.id}")
            continue
        v = given[name]
        t = schema.get("type")
        ok = {"string": isinstance(v, str), "number": isinstance(v, (int, float)) and not isinstance(v, bool),
              "integer": isinstance(v, int) and not isinstance(v, bool), "boolean": isinstance(v, bool)}.get(t, True)
        if not ok:
            raise InvalidParameter(f"input {name!r} must be a {t}, got {v!r}")
        if isinstance(v, str) and "\x00" in v:  # no text in PostgreSQL holds one (was "failed: DataError: …")
            raise InvalidParameter(f"input {name!r} holds a NUL character (\\x00)")
        if t in ("number", "integer") and not _finite(v):  # Python's JSON takes NaN, Infinity and 10**4000
            raise InvalidParameter(f"input {name!r} must be a finite number, got {str(v)[:40]}")
        if "enum" in schema and v not in schema["enum"]:
            raise InvalidParameter(f"input {name!r} must be one of {schema['enum']}, got {v!r}")
        if "minimum" in schema and v < schema["minimum"]:
            raise InvalidParameter(f"input {name!r} must be >= {schema['minimum']}, got {v!r}")
        if "maximum" in schema and v > schema["maximum"]:
            raise InvalidParameter(f"input {name!r} must be <= {schema['maximum']}, got {v!r}")
        if "maxLength" in schema and isinstance(v, str) and len(v) > schema["maxLength"]:
            raise InvalidParameter(f"input {name!r} is longer than {schema['maxLength']} characters")
        out[name] = v
    return out


def _run(job: Job, p: Process, inputs: dict[str, Any], state: ApiState) -> None:
    def progress(pct: float, msg: str = "") -> None:
        if job.cancel.is_set():
            raise JobDismissed()
        job.progress, job.message = round(min(max(pct, 0), 100), 1), msg

    job.status = "running"
    try:
        caller = CURRENT_CALLER.set((job.org, job.admin))
        who = CURRENT_PRINCIPAL.set(job.principal)
        try:
            with actor(job.actor):
                job.result = p.func(inputs, progress, state)
        finally:
            CURRENT_PRINCIPAL.reset(who)
            CURRENT_CALLER.reset(caller)
        job.status, job.progress = "successful", 100.0
    except JobDismissed:
        job.status = "dismissed"
    except NetzatlasError as exc:
        job.status, job.error, job.failure = "failed", str(exc), exc
    except Exception as exc:  # a fault of the server: logged; the caller learns no internal message
        _log.exception("process %s (job %s) failed", p.id, job.id)
        if isinstance(exc, OSError) and exc.errno in _STORAGE_ERRNOS:  # the server's disk: said, worth a retry
            job.failure = StorageUnavailable(f"{p.id} failed: the server cannot write its files "
                                             f"({exc.strerror or exc}); nothing of this run was kept",
                                             hint="try again later, or ask the administrator to free disk space")
            job.status, job.error = "failed", str(job.failure)
        else:  # kept without its traceback (whose frames would keep the process's data alive in JOBS)
            job.status, job.error = "failed", "an unexpected error occurred; it has been logged"
            job.fault = exc.with_traceback(None)
    job.finished = datetime.now(UTC).isoformat(timespec="seconds")


def _status(job: Job, b: str) -> dict[str, Any]:
    doc = {"jobID": job.id, "processID": job.process_id, "type": "process", "status": job.status,
           "progress": int(job.progress), "message": job.error or job.message, "created": job.created,
           "finished": job.finished,
           "links": [{"href": f"{b}/jobs/{job.id}", "rel": "self", "type": "application/json"}]}
    if job.status == "successful":
        doc["links"].append({"href": f"{b}/jobs/{job.id}/results", "rel": "http://www.opengis.net/def/rel/ogc/1.0/"
                             "results", "type": "application/json"})
    return doc


@router.post("/processes/{process_id}/execution", summary="Execute a process (sync, or async with Prefer)")
async def execute(process_id: str, request: Request, prefer: str | None = Header(None),
                  state: ApiState = Depends(get_state), principal: Principal = Depends(get_principal)) -> Response:
    p = _get(process_id)  # the key's scope for it was checked by the app-wide guard (api/authz.py)
    try:
        body = await request.json()
    except Exception as exc:
        raise InvalidParameter("the body must be JSON: {\"inputs\": {...}}") from exc
    if not isinstance(body, dict) or not isinstance(body.get("inputs", {}), dict):
        raise InvalidParameter("the body must look like {\"inputs\": {...}}")
    inputs = _validate_inputs(p, body.get("inputs", {}))
    job = Job(id=uuid.uuid4().hex, process_id=p.id, org=principal.org, key_id=principal.key_id,
              actor=principal.actor, admin=principal.admin, principal=principal)
    _admit(job)
    b = base_url(request)
    if prefer and "respond-async" in prefer:
        _POOL.submit(_run, job, p, inputs, state)
        return JSONResponse(_status(job, b), status_code=201, headers={"Location": f"{b}/jobs/{job.id}",
                                                                      "Preference-Applied": "respond-async"})
    import anyio

    await anyio.to_thread.run_sync(_run, job, p, inputs, state)
    if isinstance(job.failure, NetzatlasError):  # its own status: 403, 404 (an unknown request), 409, 503, …
        raise job.failure
    if job.fault is not None:  # a 500 (problems.CatchUnexpected), not a 400 that blames the caller
        fault, job.fault = job.fault, None
        raise fault
    if job.status != "successful":
        raise InvalidParameter(f"{p.id} failed: {job.error}")
    return JSONResponse(job.result, headers={"Location": f"{b}/jobs/{job.id}"})


def _visible(job: Job, principal: Principal) -> bool:
    """Only the key that started a job (or an admin) sees, fetches and dismisses it."""
    return principal.admin or (not principal.anonymous and job.key_id == principal.key_id)


_ADMIT = threading.Lock()
ACTIVE = ("accepted", "running")


def _admit(job: Job) -> None:
    """Register a job unless its organization already has as many running as allowed (429)."""
    limit = get_settings().limit_jobs_per_org
    with _ADMIT:
        busy = sum(1 for j in JOBS.values() if j.org == job.org and j.status in ACTIVE)
        if busy >= limit:
            raise TooManyRequests(f"{job.org} already has {busy} analysis job(s) running (at most {limit})",
                                  hint="wait for them to finish (GET /jobs) or dismiss one")
        JOBS[job.id] = job


@contextmanager
def actor(name: str | None) -> Iterator[None]:
    """Writes of the process run under ``name`` in the registry's history (``netzatlas.user`` on every pool
    connection the process takes, see ``api/state.py::ActorPool``)."""
    token = CURRENT_ACTOR.set(name)
    try:
        yield
    finally:
        CURRENT_ACTOR.reset(token)


#: the job states of OGC API – Processes (statusCode)
JOB_STATES = ("accepted", "running", "successful", "failed", "dismissed")


def _job_filters(request: Request) -> tuple[set[str] | None, set[str] | None, int | None]:
    """``status``, ``processID`` (each repeatable or comma-separated) and ``limit`` of a job list (Processes Part 1,
    /req/job-list/…); a value that is none of these is a 400 naming it."""
    q = request.query_params
    unknown = sorted(set(q) - {"status", "processID", "limit", "f"})
    if unknown:
        raise InvalidParameter(f"unknown parameter {unknown[0]!r} for the job list",
                               hint="status, processID and limit filter it")
    status = {v.strip() for raw in q.getlist("status") for v in raw.split(",") if v.strip()} or None
    bad = sorted((status or set()) - set(JOB_STATES))
    if bad:
        raise InvalidParameter(f"status {bad[0]!r} is no job state", hint="one of " + ", ".join(JOB_STATES))
    processes = {v.strip() for raw in q.getlist("processID") for v in raw.split(",") if v.strip()} or None
    limit = None
    if "limit" in q:
        if len(q.getlist("limit")) > 1:
            raise InvalidParameter("limit is given more than once")
        text = q["limit"].strip()
        if not (text.isascii() and text.isdigit() and 1 <= int(text) <= 10_000):
            raise InvalidParameter(f"limit {q['limit']!r} must be a whole number from 1 to 10000")
        limit = int(text)
    return status, processes, limit


@router.get("/jobs", summary="Jobs (status=, processID=, limit=)")
def jobs(request: Request, principal: Principal = Depends(get_principal)) -> dict[str, Any]:
    b = base_url(request)
    status, processes, limit = _job_filters(request)
    found = [j for j in JOBS.values() if _visible(j, principal) and (status is None or j.status in status)
             and (processes is None or j.process_id in processes)]
    return {"jobs": [_status(j, b) for j in found[:limit]],
            "links": [{"href": f"{b}/jobs", "rel": "self", "type": "application/json"}]}


def _job(job_id: str, principal: Principal) -> Job:
    if principal.anonymous:
        raise Unauthorized("jobs are visible to the key that started them", hint="send your API key")
    job = JOBS.get(job_id)
    if job is None or not _visible(job, principal):  # another key's job: as if it did not exist
        raise NotFound(f"there is no job {job_id} of this key")
    return job


@router.get("/jobs/{job_id}", summary="A job's status and progress")
def job_status(job_id: str, request: Request, principal: Principal = Depends(get_principal)) -> dict[str, Any]:
    return _status(_job(job_id, principal), base_url(request))


@router.get("/jobs/{job_id}/results", summary="A job's results")
def job_results(job_id: str, principal: Principal = Depends(get_principal)) -> JSONResponse:
    job = _job(job_id, principal)
    if job.status != "successful":
        raise NotFound(f"job {job_id} has no results ({job.status}{': ' + job.error if job.error else ''})")
    return JSONResponse(job.result)


@router.delete("/jobs/{job_id}", summary="Dismiss (cancel) a job")
def dismiss(job_id: str, request: Request, principal: Principal = Depends(get_principal)) -> dict[str, Any]:
    job = _job(job_id, principal)
    job.cancel.set()
    if job.status in ("accepted",):
        job.status = "dismissed"
    return _status(job, base_url(request))


_LOADED = False


def _load_processes() -> None:
    """Import the modules that register processes (once)."""
    global _LOADED
    if _LOADED:
        return
    import importlib

    for module in ("netzatlas.api.processes_gigabit", "netzatlas.api.processes_charging",
                   "netzatlas.api.processes_siting", "netzatlas.api.processes_mobile"):
        importlib.import_module(module)
    _LOADED = True
