"""Who may see, read and cancel a job (OGC API Processes): starting one needs a key, so watching, reading and
dismissing it must too — an anonymous caller must not list other callers' jobs, read their results (which can
hold non-public data such as city-owned candidate sites) or cancel them; another organization may not cancel
them either. Uses a small test process registered through the public ``register_process``."""

from __future__ import annotations

import threading
import time

import pytest

from tests.conftest import auth

RELEASE = threading.Event()


def _slow(inputs, progress, state):  # noqa: ANN001, ANN202 - the process function signature
    for i in range(400):
        progress(i / 4, "waiting")
        if RELEASE.is_set():
            return {"secret_sites": ["Rathaus roof"], "n": inputs["n"]}
        time.sleep(0.02)
    return {"secret_sites": [], "n": inputs["n"]}


@pytest.fixture(scope="module", autouse=True)
def test_process():
    from netzatlas.api.processes import PROCESSES, Process, _load_processes, register_process

    _load_processes()
    register_process(Process(id="test-slow", title="slow test process", description="waits, then answers",
                             inputs={"n": {"schema": {"type": "integer", "default": 1}}},
                             outputs={"secret_sites": {"schema": {"type": "array"}}}, func=_slow))
    yield
    RELEASE.set()
    PROCESSES.pop("test-slow", None)


def start(client, key: str) -> str:
    r = client.post("/processes/test-slow/execution", json={"inputs": {"n": 3}},
                    headers={**auth(key), "Prefer": "respond-async"})
    assert r.status_code == 201, r.text
    return r.json()["jobID"]


def wait_done(client, job_id: str, key: str) -> dict:
    for _ in range(400):
        st = client.get(f"/jobs/{job_id}", headers=auth(key)).json()
        if st["status"] in ("successful", "failed", "dismissed"):
            return st
        time.sleep(0.02)
    raise AssertionError("the job did not finish")


def test_anonymous_callers_do_not_see_other_callers_jobs(client, api_keys):
    RELEASE.clear()
    job = start(client, api_keys["reader"])
    listed = client.get("/jobs")
    assert listed.status_code == 401 or job not in {j["jobID"] for j in listed.json()["jobs"]}
    RELEASE.set()
    assert wait_done(client, job, api_keys["reader"])["status"] == "successful"


def test_results_need_a_key(client, api_keys):
    RELEASE.set()
    job = start(client, api_keys["reader"])
    assert wait_done(client, job, api_keys["reader"])["status"] == "successful"
    assert client.get(f"/jobs/{job}/results", headers=auth(api_keys["reader"])).json()["n"] == 3
    r = client.get(f"/jobs/{job}/results")
    assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("who,status", [("anonymous", 401), ("stawag", 404)])  # another key's job: not there
def test_only_the_starter_or_an_admin_may_dismiss(client, api_keys, who, status):
    RELEASE.clear()
    job = start(client, api_keys["reader"])
    h = {} if who == "anonymous" else auth(api_keys[who])
    r = client.delete(f"/jobs/{job}", headers=h)
    assert r.status_code == status, r.text
    assert client.get(f"/jobs/{job}", headers=auth(api_keys["reader"])).json()["status"] in ("accepted", "running")
    r = client.delete(f"/jobs/{job}", headers=auth(api_keys["reader"]))
    assert r.status_code == 200
    assert wait_done(client, job, api_keys["reader"])["status"] == "dismissed"


def test_the_job_list_filters_by_status_process_and_limit(client, api_keys):
    """Processes Part 1 job list: ``status`` / ``processID`` filter (repeated or comma-separated), ``limit`` cuts;
    a value that means nothing is a 400 naming it (was: 200 with every job, or none)."""
    RELEASE.set()
    done = [start(client, api_keys["reader"]) for _ in range(2)]
    for job in done:
        assert wait_done(client, job, api_keys["reader"])["status"] == "successful"
    h = auth(api_keys["reader"])

    def listed(query: str) -> list[dict]:
        r = client.get(f"/jobs?{query}", headers=h)
        assert r.status_code == 200, r.text
        return r.json()["jobs"]

    ok = listed("status=successful&processID=test-slow")
    assert set(done) <= {j["jobID"] for j in ok} and {j["status"] for j in ok} == {"successful"}
    assert {j["processID"] for j in ok} == {"test-slow"}
    assert not {j["jobID"] for j in listed("status=running,accepted")} & set(done)
    assert not listed("processID=no-such-process")
    assert len(listed("processID=test-slow&limit=1")) == 1
    for query, word in (("status=bogus", "bogus"), ("limit=0", "limit"), ("limit=abc", "limit"),
                        ("limit=1&limit=2", "more than once"), ("colour=red", "colour")):
        r = client.get(f"/jobs?{query}", headers=h)
        assert r.status_code == 400 and word in r.json()["detail"], (query, r.text)
