"""HTML views benchmark, in one run on one server (one uvicorn worker, the benches' own cluster):

(a) the items page with limit=100 as HTML (``?f=html``: table, paging, the page's GeoJSON embedded for its map)
    against the same page as GeoJSON — requests/s side by side, same URL otherwise, same load generator and
    concurrency, measured in back-to-back pairs (the ratio of each pair is taken under the same machine load), with
    the server process's CPU time per request (from /proc: steadier than req/s on a shared machine);
(b) the web map's first complete render in Debian's Chromium (Playwright): seconds from navigation start to the
    first MapLibre ``idle`` event after the map has added every collection (``window.netzatlasReady``) — ``idle``
    fires when every tile of the view is loaded, every layer drawn and no transition runs: the first complete
    frame. Cold (new browser context, empty cache) and warm (the same context reloaded).

Run: .venv/bin/python bench/bench_html.py   (BENCH_SECONDS, BENCH_CONCURRENCY, BENCH_ROUNDS, BENCH_LAMPS, BENCH_RENDERS;
BENCH_RENDERS=0 runs just (a))
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from bench._db import fresh_database  # noqa: E402
from bench.bench_api import load, start_netzatlas, wait  # noqa: E402

LAMPS = int(os.environ.get("BENCH_LAMPS", "5000"))
RENDERS = int(os.environ.get("BENCH_RENDERS", "5"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--use-gl=swiftshader", "--enable-unsafe-swiftshader",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run"]
ITEMS = "/collections/streetlight/items?limit=100"
#: Recorded in the page before its own scripts run: the time of every MapLibre ``idle`` event of the web map, and
#: when ``window.netzatlasReady`` was first seen (the map attaches as soon as it exists, before any tile arrives).
PROBE = """
window.__idle = []; window.__readyAt = null;
(function poll() {
  const m = window.netzatlas && window.netzatlas.map;
  if (m && !window.__hooked) { window.__hooked = true; m.on("idle", () => window.__idle.push(performance.now())); }
  if (window.netzatlasReady === true && window.__readyAt === null) { window.__readyAt = performance.now(); }
  if (window.__readyAt === null || !window.__hooked) { requestAnimationFrame(poll); }
})();
"""


def prepare_data(url: str, n: int = LAMPS) -> None:
    """``n`` streetlights around Aachen's centre, with the properties a real register has, and a few chargers."""
    import geopandas as gpd
    import numpy as np
    from shapely.geometry import Point

    from netzatlas.registry.importers.load import load_layers

    rng = np.random.default_rng(7)
    lon = 6.0839 + rng.normal(0, 0.02, n)
    lat = 50.7753 + rng.normal(0, 0.012, n)
    lamps = gpd.GeoDataFrame({
        "external_id": [f"L{i:06d}" for i in range(n)],
        "name": [f"Leuchte {i} <Theaterstraße & Co>" for i in range(n)],
        "height_m": rng.uniform(4, 12, n).round(1),
        "lamp_type": rng.choice(["LED", "NAV", "HQL"], n),
        "properties": [{"pole": "steel", "circuit": f"K{i % 40}"} for i in range(n)],
    }, geometry=[Point(x, y) for x, y in zip(lon, lat, strict=True)], crs="EPSG:4326")
    load_layers({"streetlight": lamps}, source="bench-html", kind="bench", owner_org="city", url=url)
    chargers = gpd.GeoDataFrame({"external_id": [f"C{i}" for i in range(50)], "operator": ["STAWAG"] * 50,
                                 "charge_points": [2] * 50, "power_kw": [22.0] * 50},
                                geometry=[Point(x, y) for x, y in zip(lon[:50], lat[:50], strict=True)],
                                crs="EPSG:4326")
    load_layers({"charging_point": chargers}, source="bench-html", kind="bench", owner_org="stawag", url=url)
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("VACUUM ANALYZE registry.streetlight")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def html_vs_json(base: str, pid: int, rounds: int = ROUNDS) -> dict[str, object]:
    """(a): req/s of the JSON and the HTML items page in ``rounds`` pairs of back-to-back runs (JSON first, then HTML
    first, alternately): the ratio of each pair is taken under the same load of the shared machine."""
    import httpx

    json_url, html_url = base + ITEMS, base + ITEMS + "&f=html"
    sizes = {k: len(httpx.get(u, timeout=60).content) for k, u in (("json", json_url), ("html", html_url))}
    html = httpx.get(html_url, timeout=60)
    assert html.headers["content-type"].startswith("text/html") and html.text.count("<tr>") > 100
    runs: dict[str, list[float]] = {"json": [], "html": []}
    cpu: dict[str, list[float]] = {"json": [], "html": []}
    for i in range(rounds):
        order = (("json", json_url), ("html", html_url))
        for kind, url in order if i % 2 == 0 else order[::-1]:
            before = cpu_seconds(pid)
            rps, n, errors = load(url)
            assert errors == 0, f"{kind}: {errors} failed requests"
            runs[kind].append(rps)
            cpu[kind].append((cpu_seconds(pid) - before) / max(n, 1) * 1000)
    return {"rounds": runs, "sizes": sizes, "cpu_ms": cpu}


def first_render(base: str, renders: int = RENDERS) -> dict[str, list[float]]:
    """(b): seconds to the first complete frame of /map, cold and warm, ``renders`` times each."""
    from playwright.sync_api import sync_playwright

    out: dict[str, list[float]] = {"cold": [], "warm": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for _ in range(renders):
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            context.add_init_script(PROBE)
            page = context.new_page()
            for kind in ("cold", "warm"):
                if kind == "cold":
                    page.goto(base + "/map")
                else:
                    page.reload()
                page.wait_for_function("() => window.__readyAt !== null && window.__idle.some(t => t >= "
                                       "window.__readyAt) && window.netzatlas.map.areTilesLoaded()", timeout=60_000)
                t = page.evaluate("() => window.__idle.find(t => t >= window.__readyAt)")
                out[kind].append(t / 1000)
            context.close()
        browser.close()
    return out


def main() -> None:
    url = fresh_database("netzatlas_bench_html")
    prepare_data(url)
    proc, base = start_netzatlas(url)
    try:
        wait(base + "/conformance", proc)
        a = html_vs_json(base, proc.pid)
        b = first_render(base) if RENDERS else {}
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    rounds, sizes = a["rounds"], a["sizes"]
    med = {k: statistics.median(v) for k, v in rounds.items()}
    ratios = [h / j for h, j in zip(rounds["html"], rounds["json"], strict=True)]
    print(f"\n(a) {ITEMS} ({LAMPS:,} streetlights), one uvicorn worker, {os.environ.get('BENCH_CONCURRENCY', '8')} "
          f"concurrent keep-alive clients, {ROUNDS} pairs of {os.environ.get('BENCH_SECONDS', '10')} s runs")
    cpu = {k: statistics.median(v) for k, v in a["cpu_ms"].items()}
    print(f"{'':<6}{'req/s (median)':>16}{'server CPU ms/request':>23}{'bytes':>10}   runs (req/s)")
    for k in ("json", "html"):
        print(f"{k.upper():<6}{med[k]:>16.1f}{cpu[k]:>23.1f}{sizes[k]:>10,}   "
              f"{' / '.join(f'{r:.1f}' for r in rounds[k])}")
    print(f"HTML ÷ JSON per pair: {' / '.join(f'{r:.2f}' for r in ratios)}; median {statistics.median(ratios):.2f} "
          f"(goal ≥ 0.5); server CPU per request JSON ÷ HTML {cpu['json'] / cpu['html']:.2f}")
    print(f"\n(b) /map first complete frame in Chromium (navigation start → first MapLibre idle after every "
          f"collection is added), {RENDERS} renders, 1280×800, SwiftShader")
    for k in b:
        v = b[k]
        print(f"{k:<6} median {statistics.median(v):.2f} s   min {min(v):.2f}   max {max(v):.2f}   "
              f"({', '.join(f'{x:.2f}' for x in v)})")


if __name__ == "__main__":
    main()
