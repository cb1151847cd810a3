"""The web map in headless Chromium (Debian's chromium, driven by Playwright): loads with no failed request,
draws layers from the API's vector tiles, and the screenshot is not blank."""

from __future__ import annotations

import numpy as np
from PIL import Image


def test_web_map_loads_offline_and_draws(live_server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1000, "height": 700})
    problems: list[tuple[str, object]] = []
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("requestfailed", lambda r: problems.append((r.url, r.failure)))
    page.on("response", lambda r: problems.append((r.url, r.status)) if r.status >= 400 else None)
    page.goto(f"{live_server}/map#16/50.7755/6.0845")
    page.wait_for_function("() => window.netzatlasReady === true", timeout=30_000)
    page.wait_for_load_state("networkidle")
    shot = tmp_path / "map.png"
    page.screenshot(path=str(shot))
    assert problems == []
    external = [u for u in requests if u.startswith("http") and not u.startswith(live_server)]
    assert external == [], "no request may leave the server (no CDN)"
    assert any("/tiles/WebMercatorQuad/" in u for u in requests)
    labels = page.locator("#layers label").all_inner_texts()
    assert any("Streetlights" in t for t in labels) and any("Charging points" in t for t in labels)
    img = np.asarray(Image.open(shot).convert("RGB")).astype(float)
    assert img.std() > 10, "the screenshot is blank"
    # the streetlight colour (#f2b100) is drawn somewhere: the test data has 30 lamps in this view
    yellow = (np.abs(img[..., 0] - 242) < 25) & (np.abs(img[..., 1] - 177) < 25) & (img[..., 2] < 60)
    assert yellow.sum() > 20
