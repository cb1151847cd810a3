"""Optimistic locking under load: 20 writers update one feature with the same If-Match; exactly one wins each
round and no update is lost (real server, real connections)."""

from __future__ import annotations

import threading

import httpx

from tests.conftest import auth


def test_twenty_writers_one_winner_per_round(live_server, api_keys):
    h = auth(api_keys["city_lights"])
    with httpx.Client(base_url=live_server, timeout=30) as c:
        body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [6.0811, 50.7711]},
                "properties": {"external_id": "race-lamp", "height_m": 0}}
        r = c.post("/collections/streetlight/items", json=body, headers=h)
        assert r.status_code == 201, r.text
        url = r.headers["location"].replace(live_server, "")
    rounds, writers = 5, 20
    for rnd in range(rounds):
        with httpx.Client(base_url=live_server, timeout=30) as c:
            etag = c.get(url).headers["etag"]
        results: list[int] = []
        barrier = threading.Barrier(writers)

        def write(i: int, etag: str = etag, rnd: int = rnd, barrier: threading.Barrier = barrier,
                  results: list[int] = results) -> None:
            with httpx.Client(base_url=live_server, timeout=30) as c:
                barrier.wait()
                r = c.patch(url, json={"type": "Feature", "geometry": None,
                                       "properties": {"height_m": rnd * 100 + i + 1}},
                            headers={**h, "If-Match": etag})
                results.append(r.status_code)

        threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == [204] + [412] * (writers - 1), results
    with httpx.Client(base_url=live_server, timeout=30) as c:
        assert c.get(url).headers["etag"] == f'W/"{rounds + 1}"'
        hist = c.get(url + "/history", headers=h).json()["versions"]
    assert [v["version"] for v in hist] == list(range(1, rounds + 2))   # every winning update is in the history
