"""The console in a real browser: Debian's Chromium driven by Playwright against a real ``lingang-twin demo``
server process. Screenshots of every page go to ``artifacts/screenshots/``."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from console_fixtures import chromium

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
BUILDING = "urn:ngsi-ld:Building:hq-exhibition-centre"
ENERGY_CONFIG = {"water_kgco2_per_m3": 0.25, "hydrogen_route": "smr", "hydrogen_kgco2_per_kg": 10.0}

# No skip when Chromium is missing: scripts/test.sh installs it, and a missing browser must fail loudly.


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``lingang-twin demo --days 1 --speed 60`` on a free port; yields its base URL."""
    db = tmp_path_factory.mktemp("console-browser") / "demo.duckdb"
    port = _free_port()
    # pytest's marker variable makes NiceGUI behave as under test; the server must run as in production.
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"} | {"PYTHONUNBUFFERED": "1"}
    # The deployment's CO2 factors for water and hydrogen (placeholders), so that the energy page shows everything.
    config = db.with_name("energy.json")
    config.write_text(json.dumps(ENERGY_CONFIG), encoding="utf-8")
    env["LINGANG_ENERGY_CONFIG"] = str(config)
    log = db.with_suffix(".log")
    with log.open("wb") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "lingang_twin.cli", "demo", "--db", str(db), "--days", "1",
                                 "--speed", "60", "--port", str(port)], stdout=sink, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.2)
        printed = re.search(r"user admin, password (\S+)", log.read_text(errors="replace"))
        assert printed, log.read_text(errors="replace")[-2000:]
        PASSWORDS[url] = printed.group(1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    output = log.read_text(errors="replace")
    assert "Traceback" not in output, output[-3000:]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's Chromium, one per module."""
    with chromium() as b:
        yield b


PASSWORDS: dict[str, str] = {}  # the administrator's password each server printed, by its URL


@pytest.fixture
def page(browser: object, server: str) -> Iterator[object]:
    """A fresh browser context (its own cookies: Chinese by default) that records console errors, signed in as
    the administrator on the sign-in page, as a user does."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})  # type: ignore[attr-defined]
    context.set_default_timeout(90_000)  # waits are for conditions: generous, for a busy CI machine
    pg = context.new_page()
    pg.goto(server + "/console/sign-in")
    pg.get_by_test_id("sign-in-name").fill("admin")
    pg.get_by_test_id("sign-in-password").fill(PASSWORDS[server])
    pg.get_by_test_id("sign-in-submit").click()
    pg.get_by_test_id("signed-in-as").wait_for()
    pg.errors = []  # type: ignore[attr-defined]
    pg.on("console", lambda m: pg.errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    yield pg
    context.close()


def _shot(pg: object, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def test_every_page_loads_without_console_errors(server: str, page: object) -> None:
    pg = page
    visits = {"overview": ("/console/", "运营总览"), "entities": ("/console/entities?q=中心", "实体浏览"),
              "entity": (f"/console/entity/{BUILDING}", "科创总部湾展示中心"),
              "map": ("/console/map", "孪生地图"), "mobility": ("/console/mobility", "停车场实时空位"),
              "tenants": ("/console/energy/tenants", "按面积分摊"),
              "unknown-entity": ("/console/entity/urn:ngsi-ld:Building:nope", "找不到实体")}
    for name, (path, expected) in visits.items():
        pg.goto(server + path, wait_until="networkidle")  # type: ignore[attr-defined]
        pg.get_by_text(expected).first.wait_for(timeout=90_000)  # type: ignore[attr-defined]
        if name == "map":
            pg.wait_for_function("document.querySelector('[data-testid=map]')?.dataset.features > 0",
                                 timeout=90_000)  # type: ignore[attr-defined]
            # The point layers: seven car parks, five shuttles, nine stations, and the metered places.
            pg.wait_for_function("(document.querySelector('[data-testid=map]').dataset.overlays || '')"
                                 ".includes('parking:7')", timeout=90_000)  # type: ignore[attr-defined]
            overlays = pg.get_by_test_id("map").get_attribute("data-overlays")  # type: ignore[attr-defined]
            assert {"parking:7", "shuttles:5", "stations:9"} <= set(overlays.split(","))
        _shot(pg, name)
    assert pg.errors == []  # type: ignore[attr-defined]
    # The server's root leads to the console.
    pg.goto(server + "/")  # type: ignore[attr-defined]
    assert pg.url.endswith("/console/")  # type: ignore[attr-defined]


def test_language_switch_changes_labels(server: str, page: object) -> None:
    pg = page
    pg.goto(server + "/console/", wait_until="networkidle")  # type: ignore[attr-defined]
    pg.get_by_text("运营总览").wait_for()  # type: ignore[attr-defined]
    pg.get_by_test_id("lang-switch").click()  # type: ignore[attr-defined]
    pg.get_by_text("Operations overview").wait_for(timeout=90_000)  # type: ignore[attr-defined]
    assert pg.get_by_text("Energy today, by carrier").count() == 1  # type: ignore[attr-defined]
    assert pg.get_by_text("运营总览").count() == 0  # type: ignore[attr-defined]
    pg.goto(server + "/console/map", wait_until="networkidle")  # type: ignore[attr-defined]
    pg.get_by_text("District map").wait_for()  # type: ignore[attr-defined]  # remembered across pages
    _shot(pg, "overview-en-map")
    assert pg.errors == []  # type: ignore[attr-defined]


def test_clicking_a_building_on_the_map_opens_its_page(server: str, page: object) -> None:
    pg = page
    pg.goto(server + "/console/map", wait_until="networkidle")  # type: ignore[attr-defined]
    pg.wait_for_function("window.twinMap && document.querySelector('[data-testid=map]').dataset.features > 0")  # type: ignore[attr-defined]
    # The building's centre on screen, from the map itself.
    point = pg.evaluate("""(id) => {
        const {map, layer} = window.twinMap;
        const hit = layer.getLayers().find(l => l.feature.properties.id === id);
        map.setView(hit.getBounds().getCenter(), 18, {animate: false});
        const p = map.latLngToContainerPoint(hit.getBounds().getCenter());
        const box = map.getContainer().getBoundingClientRect();
        return [box.left + p.x, box.top + p.y];
    }""", BUILDING)  # type: ignore[attr-defined]
    pg.wait_for_timeout(300)  # type: ignore[attr-defined]
    pg.mouse.click(point[0], point[1])  # type: ignore[attr-defined]
    pg.wait_for_url("**/console/entity/**", timeout=90_000)  # type: ignore[attr-defined]
    pg.get_by_test_id("entity-name").wait_for()  # type: ignore[attr-defined]
    assert "hq-exhibition-centre" in pg.url  # type: ignore[attr-defined]
    assert pg.get_by_test_id("entity-name").inner_text() == "科创总部湾展示中心"  # type: ignore[attr-defined]


def test_history_chart_renders(server: str, page: object) -> None:
    pg = page
    token = httpx.post(f"{server}/api/v1/auth/token", data={"username": "admin", "password": PASSWORDS[server]},
                       timeout=60).json()["access_token"]  # signed in, as the README's tour reads the API
    meters = httpx.get(f"{server}/api/v1/entities", params={"type": "Meter", "under": BUILDING, "limit": 1},
                       headers={"Authorization": f"Bearer {token}"}).json()
    meter = meters["data"][0]["id"] if "data" in meters else meters[0]["id"]
    pg.goto(f"{server}/console/entity/{meter}", wait_until="networkidle")  # type: ignore[attr-defined]
    chart = pg.get_by_test_id("history-chart")  # type: ignore[attr-defined]
    chart.wait_for(timeout=90_000)
    pg.wait_for_function("document.querySelector('[data-testid=history-chart] canvas')")  # type: ignore[attr-defined]
    box = chart.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 200
    # ECharts drew something: the canvas is not blank.
    inked = pg.evaluate("""() => {
        const c = document.querySelector('[data-testid=history-chart] canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
        return n;
    }""")  # type: ignore[attr-defined]
    assert inked > 1000
    _shot(pg, "entity-meter-history")
    assert pg.errors == []  # type: ignore[attr-defined]


def test_3d_twin_renders_a_canvas(server: str, page: object) -> None:
    pg = page
    pg.goto(server + "/console/3d", wait_until="networkidle")  # type: ignore[attr-defined]
    pg.get_by_text("三维孪生").first.wait_for(timeout=90_000)  # type: ignore[attr-defined]
    pg.wait_for_function("document.querySelector('[data-testid=scene-3d] canvas')")  # type: ignore[attr-defined]
    pg.get_by_test_id("count-3d").wait_for()  # type: ignore[attr-defined]
    pg.wait_for_timeout(1500)  # type: ignore[attr-defined]  # the buildings arrive and the camera settles
    box = pg.locator("[data-testid=scene-3d] canvas").first.bounding_box()  # type: ignore[attr-defined]
    assert box is not None and box["width"] > 300 and box["height"] > 300
    assert "栋建筑" in pg.get_by_test_id("count-3d").inner_text()  # type: ignore[attr-defined]
    _shot(pg, "3d")
    assert pg.errors == []  # type: ignore[attr-defined]


def test_energy_page_draws_its_charts_and_downloads_a_report(server: str, page: object) -> None:
    """The energy page in Chromium: today's tiles, the Sankey and the trend charts drawn (canvases), the ranking,
    the forecast's place (one day of history: it says what it lacks), and an HTML report downloaded."""
    pg = page
    pg.goto(server + "/console/energy", wait_until="networkidle")  # type: ignore[attr-defined]
    pg.get_by_text("折标准煤").first.wait_for(timeout=90_000)  # type: ignore[attr-defined]
    pg.get_by_test_id("energy-today-total").wait_for(timeout=90_000)  # type: ignore[attr-defined]
    pg.get_by_test_id("energy-today-electricity").wait_for(timeout=90_000)  # type: ignore[attr-defined]
    pg.wait_for_function("document.querySelectorAll('.nicegui-echart canvas').length >= 3",
                         timeout=90_000)  # type: ignore[attr-defined]
    pg.get_by_text("暂无预测").first.wait_for(timeout=90_000)  # type: ignore[attr-defined]
    assert pg.get_by_test_id("energy-config-missing").count() == 0  # type: ignore[attr-defined]
    _shot(pg, "energy")
    with pg.expect_download(timeout=60_000) as info:  # type: ignore[attr-defined]
        pg.get_by_test_id("energy-report-html").click()  # type: ignore[attr-defined]
    download = info.value
    assert download.suggested_filename.endswith(".html")
    content = Path(download.path()).read_text(encoding="utf-8")
    assert "月度能耗报告" in content and "计量异常" in content
    assert pg.errors == []  # type: ignore[attr-defined]
