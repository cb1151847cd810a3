"""Screenshots of what people look at: the HTML views, /docs, the web map and two analysis reports (issue #15).

Run from the repository root::

    NETZATLAS_BENCH_HOME=/tmp/nz-bench-shots .venv/bin/python scripts/screenshots.py [--out docs/img]

What it does, reproducibly and with nothing left behind:

1. a fresh, migrated database on the benchmarks' cluster (``bench/_db.py``: ``NETZATLAS_BENCH_HOME`` /
   ``NETZATLAS_BENCH_PORT``, or an existing server named by ``NETZATLAS_BENCH_DATABASE_URL``);
2. the Aachen demo registry loaded into it by ``netzatlas.registry.demo.run_demo`` (what ``netzatlas demo`` runs);
3. ``netzatlas serve`` on a free loopback port against it, and Debian's Chromium (Playwright, software WebGL, the
   browser tests' launch arguments) at 1280×800 saving ``html-*.png`` (landing page, collections, streetlight
   items, one item, ``/docs``) and ``map-*.png`` (``/map`` default view, one popup after a click);
4. ``netzatlas wifi priority`` and ``netzatlas charging siting`` run through the CLI on the same database
   (``NETZATLAS_DATABASE_URL``) and ``report-*.png`` of each report page and its map.

Every image must be non-blank (pixel standard deviation > 10; a map at least 100 pixels off its background) or
the script exits with status 1 naming it. PNGs are re-saved by Pillow with ``optimize=True`` (as a 256-colour
palette PNG when still > 400 KB and no pixel changes much). The database, the server and a temporary
NETZATLAS_HOME are removed at the end, also on error; the cluster is stopped if this run started it.
``--database-url URL`` uses an existing database instead (the demo import skips unchanged sources; it is kept).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

VIEWPORT = {"width": 1280, "height": 800}
#: the browser tests' launch arguments (tests/conftest.py): software WebGL, no network services of its own
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--use-gl=swiftshader",
    "--enable-unsafe-swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DB_NAME = "netzatlas_screenshots"
MAX_BYTES = 400_000
#: a map counts as drawn with at least this many pixels far (> 40 in a channel) from its median colour
MIN_DRAWN = 100
#: report folder → (CLI arguments, report page, map page)
REPORTS = {
    "wifi-priority": (["wifi", "priority"], "wifi_priority.html", "wifi_priority_map.html"),
    "charging-siting": (["charging", "siting", "--k", "10"], "charging_siting.html", "charging_siting_map.html"),
}


class ShotError(RuntimeError):
    """A screenshot could not be taken or came out blank."""


def log(msg: str) -> None:
    print(f"[screenshots] {msg}", flush=True)


@contextmanager
def database() -> Iterator[str]:
    """A fresh migrated database (bench/_db.py), dropped afterwards; the cluster stopped if started here."""
    from bench._db import bench_cluster, fresh_database

    external = os.environ.get("NETZATLAS_BENCH_DATABASE_URL")
    started_here = not external and not bench_cluster().is_running()
    url = fresh_database(DB_NAME)
    cluster = None if external else bench_cluster()  # now on the port it was started on (its pid file)
    try:
        yield url
    finally:
        log(f"dropping database {DB_NAME}")
        if external:
            import psycopg

            with psycopg.connect(external, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        else:
            cluster.drop_database(DB_NAME)
            if started_here:
                log("stopping the cluster started by this run")
                cluster.stop()


@contextmanager
def server(url: str) -> Iterator[str]:
    """``netzatlas serve`` on a free port against ``url`` (the benchmarks' own starter); yields its base URL,
    terminates it afterwards."""
    from bench.bench_api import start_netzatlas

    proc, base = start_netzatlas(url)
    try:
        yield base
    finally:
        log("stopping the server")
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def chromium() -> Iterator[object]:
    """Debian's Chromium driven by Playwright."""
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(executable).exists():
        raise ShotError("Debian's chromium is missing (scripts/setup.sh --dev installs it)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def check_and_optimise(path: Path, crop: tuple[float, float, float, float] | None = None) -> str:
    """Fail unless ``path`` (and its ``crop`` box, CSS pixels) is non-blank; re-save it optimised. Returns a note."""
    import numpy as np
    from PIL import Image

    img = Image.open(path).convert("RGB")
    std = float(np.asarray(img, dtype=float).std())
    if std <= 10:
        raise ShotError(f"{path.name} is blank (pixel std {std:.1f})")
    note = f"std {std:.0f}"
    if crop is not None:
        x, y, w, h = crop
        part = np.asarray(img.crop((int(x), int(y), int(x + w), int(y + h))), dtype=float).reshape(-1, 3)
        drawn = int((np.abs(part - np.median(part, axis=0)).max(axis=1) > 40).sum()) if part.size else 0
        if drawn < MIN_DRAWN:
            raise ShotError(f"{path.name}: the map is blank ({drawn} pixels differ from its background)")
        note += f", map: {drawn} drawn pixels, std {part.std():.0f}"
    img.save(path, optimize=True)
    if path.stat().st_size > MAX_BYTES:
        # octree keeps rare saturated colours (legend swatches, symbols); median cut turned red into brown
        palette = img.quantize(colors=256, method=Image.Quantize.FASTOCTREE)
        off = float((np.abs(np.asarray(palette.convert("RGB"), dtype=int) - np.asarray(img, dtype=int)) > 30).mean())
        if off < 0.001:
            palette.save(path, optimize=True)
            note += ", 256-colour palette"
        else:
            note += f", kept full colour (a palette would change {off:.1%} of the pixels)"
    return f"{note}, {path.stat().st_size // 1024} KB"


class Shooter:
    """Takes the named screenshots into ``out``; collects page errors so that none goes unnoticed."""

    def __init__(self, browser, out: Path) -> None:  # noqa: ANN001 - a playwright browser
        self.browser = browser
        self.out = out
        self.taken: list[str] = []

    def shot(
        self, name: str, url: str, prepare: Callable[[object], object] | None = None, map_selector: str | None = None
    ) -> None:
        """Open ``url``, run ``prepare(page)``, save ``name`` and check it (the element ``map_selector`` too)."""
        page = self.browser.new_page(viewport=VIEWPORT)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        try:
            page.goto(url)
            page.wait_for_load_state("load")
            if prepare:
                prepare(page)
            page.wait_for_timeout(600)
            crop = page.locator(map_selector).first.bounding_box() if map_selector else None
            if map_selector and crop is None:
                raise ShotError(f"{name}: no {map_selector} on {url}")
            path = self.out / name
            page.screenshot(path=str(path))
            if errors:
                raise ShotError(f"{name}: errors in the page: {errors[:3]}")
            box = (crop["x"], crop["y"], crop["width"], crop["height"]) if crop else None
            log(f"{name}: {check_and_optimise(path, box)}")
            self.taken.append(name)
        finally:
            page.close()


def wait_map_ready(page) -> None:  # noqa: ANN001 - a playwright page
    page.wait_for_function("() => window.netzatlasReady === true", timeout=60_000)
    page.wait_for_function(
        "() => window.netzatlas.map.loaded() && window.netzatlas.map.areTilesLoaded()", timeout=60_000
    )


def wait_small_map(page) -> None:  # noqa: ANN001
    """The HTML views' small map: its canvas drawn (MapLibre, bundled)."""
    page.wait_for_selector("canvas", timeout=30_000)
    page.wait_for_timeout(1500)


def click_named_charger(page) -> None:  # noqa: ANN001
    """Move the named charging point drawn nearest the centre to the upper left of the view (the popup opens below
    it, the layer panel is on the right), click it and wait for its popup."""
    wait_map_ready(page)
    lonlat = page.evaluate("""() => {
        const m = window.netzatlas.map, c = m.getCanvas().getBoundingClientRect();
        const fs = m.queryRenderedFeatures({layers: ['charging_point']}).filter(f => f.properties.name);
        if (!fs.length) return null;
        const d = f => { const p = m.project(f.geometry.coordinates);
                         return Math.hypot(p.x - c.width / 2, p.y - c.height / 2); };
        fs.sort((a, b) => d(a) - d(b));
        const p = m.project(fs[0].geometry.coordinates);
        m.panBy([p.x - c.width * 0.3, p.y - c.height * 0.2], {animate: false});
        return fs[0].geometry.coordinates; }""")
    if lonlat is None:
        raise ShotError("map-popup: no named charging point drawn in the view")
    wait_map_ready(page)
    xy = page.evaluate(
        """([lon, lat]) => {
        const m = window.netzatlas.map, r = m.getCanvas().getBoundingClientRect(), p = m.project([lon, lat]);
        return [r.left + p.x, r.top + p.y]; }""",
        lonlat,
    )
    page.mouse.click(*xy)
    page.locator(".maplibregl-popup-content").wait_for(state="visible", timeout=10_000)


def web_shots(shooter: Shooter, base: str) -> None:
    """The HTML views, /docs and the web map."""
    import httpx

    lamp = httpx.get(f"{base}/collections/streetlight/items", params={"limit": 1}, timeout=30).json()["features"]
    if not lamp:
        raise ShotError("the demo registry has no streetlight")
    named = httpx.get(
        f"{base}/collections/charging_point/items",
        timeout=30,
        params={"limit": 1, "filter": "name IS NOT NULL", "filter-lang": "cql2-text"},
    ).json()
    lon, lat = named["features"][0]["geometry"]["coordinates"][:2]

    shooter.shot("html-landing.png", f"{base}/?f=html")
    shooter.shot("html-collections.png", f"{base}/collections?f=html")
    shooter.shot("html-items.png", f"{base}/collections/streetlight/items?f=html&limit=20", wait_small_map, "canvas")
    shooter.shot(
        "html-item.png", f"{base}/collections/streetlight/items/{lamp[0]['id']}?f=html", wait_small_map, "canvas"
    )
    shooter.shot("html-docs.png", f"{base}/docs", lambda p: p.wait_for_selector(".swagger-ui .opblock", timeout=30_000))
    shooter.shot("map-default.png", f"{base}/map", wait_map_ready, "canvas.maplibregl-canvas")
    shooter.shot("map-popup.png", f"{base}/map#17/{lat}/{lon}", click_named_charger, "canvas.maplibregl-canvas")


def report_shots(shooter: Shooter, url: str, home: Path) -> None:
    """Run two analyses through the CLI on ``url`` and shoot each report page and its map."""
    env = {**os.environ, "NETZATLAS_DATABASE_URL": url, "NETZATLAS_HOME": str(home), "COLUMNS": "200", "NO_COLOR": "1"}
    for name, (args, report, map_page) in REPORTS.items():
        folder = home / "reports" / name
        t0 = time.perf_counter()
        run = subprocess.run(
            [sys.executable, "-m", "netzatlas.cli.main", *args, "--out", str(folder)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if run.returncode != 0:
            raise ShotError(
                f"netzatlas {' '.join(args)} failed ({run.returncode}): {run.stdout[-1500:]}{run.stderr[-1500:]}"
            )
        log(f"netzatlas {' '.join(args)}: {time.perf_counter() - t0:.0f} s")

        def settle(page) -> None:  # noqa: ANN001
            page.wait_for_timeout(1200)

        shooter.shot(f"report-{name}.png", (folder / report).as_uri(), settle)
        shooter.shot(f"report-{name}-map.png", (folder / map_page).as_uri(), settle, ".leaflet-container")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img", help="folder for the PNGs (docs/img)")
    parser.add_argument(
        "--database-url",
        help="use this existing database instead of a fresh one (the demo import skips unchanged sources; "
        "the database is kept)",
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="netzatlas-shots-"))
    os.environ["NETZATLAS_HOME"] = str(home)  # the demo's map and the reports go here, not into the user's home
    t0 = time.perf_counter()
    try:
        with nullcontext(args.database_url) if args.database_url else database() as url:
            from netzatlas.registry.demo import run_demo

            log("loading the Aachen demo registry")
            run_demo(url=url)
            log(f"demo loaded in {time.perf_counter() - t0:.0f} s")
            with chromium() as browser:
                shooter = Shooter(browser, args.out)
                with server(url) as base:
                    web_shots(shooter, base)
                report_shots(shooter, url, home)
    except ShotError as e:
        print(f"screenshots FAILED: {e}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(home, ignore_errors=True)
    log(f"{len(shooter.taken)} screenshots in {args.out} in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
