"""A new user's walk through the console, by clicking: Debian's Chromium (Playwright) against a real
``lingang-twin demo`` process started as the README says, with no energy settings of the user's own.

It starts at the server's root and never types a URL: every entry of the navigation, and on each page a link that
leads on (a tile, an entity row, a breadcrumb, a building on the map and in 3D, an anomalous meter, a car park), in
Chinese with the light theme and then in English with the dark theme (switched with the header's controls). Each
click must land on the page it promises — its heading, its tab title, the entity its link named — and nothing the
browser asks for may answer 4xx/5xx. On every page, in both themes, text must stand out from what it is drawn on
(WCAG contrast ≥ 3:1, computed from the computed colours) and chart titles must show on their canvas.

Why clicking: the console's links once all pointed at ``/console/console/…`` (NiceGUI adds its mount path itself),
and a test that opened pages by URL never noticed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest
from console_fixtures import DemoProcess, chromium

WAIT_MS = 90_000  # a generous bound on waiting for a condition (a busy CI box); a passing step returns at once
MOUNT = "/console"
BUILDING = "urn:ngsi-ld:Building:hq-exhibition-centre"  # on the map: a demo building with meters and a parcel
MIN_CONTRAST = 3.0  # WCAG's floor for large text and interface parts; body text on the console's pages clears 4.5

APP_TITLE = ("临港孪生 · 运营中心", "Lingang Twin · Operations Centre")
# The navigation, in its order: path, its entry (zh, en) and the heading of the page it opens (zh, en). Written out
# here, not read from the console's tables, so that a wrong label or a swapped page shows up.
NAV: tuple[tuple[str, tuple[str, str], tuple[str, str]], ...] = (
    ("/", ("总览", "Overview"), ("运营总览", "Operations overview")),
    ("/entities", ("实体", "Entities"), ("实体浏览", "Entity explorer")),
    ("/map", ("地图", "Map"), ("孪生地图", "District map")),
    ("/3d", ("三维", "3D"), ("三维孪生", "3D twin")),
    ("/energy", ("能源", "Energy"), ("能源", "Energy")),
    ("/energy/tenants", ("租户", "Tenants"), ("租户能耗", "Tenants' energy")),
    ("/mobility", ("出行", "Mobility"), ("停车场实时空位", "Car parks, free spots now")),
)
LANG = {"zh": 0, "en": 1}

# WCAG 2 contrast of every visible piece of text against what is really behind it (backgrounds composed up the
# tree, the element's and its ancestors' opacity applied). Left out: the map (Leaflet draws its own labels on
# white), charts (canvas: checked below), icons (aria-hidden), tooltips (transient) and disabled controls (WCAG
# exempts them).
CONTRAST_JS = """() => {
  const parse = (c) => {
    const m = /rgba?\\(([^)]+)\\)/.exec(c || "");
    if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const channel = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  const luminance = (c) => 0.2126 * channel(c[0]) + 0.7152 * channel(c[1]) + 0.0722 * channel(c[2]);
  const over = (top, bottom) => [0, 1, 2].map((i) => top[i] * top[3] + bottom[i] * (1 - top[3])).concat([1]);
  const backdrop = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
    }
    let bg = [255, 255, 255, 1];
    for (let i = layers.length - 1; i >= 0; i--) bg = over(layers[i], bg);
    return bg;
  };
  const skip = ".leaflet-container, .nicegui-echart, .q-tooltip, script, style, [aria-hidden=true], "
             + "[disabled], .disabled, [aria-disabled=true]";
  const found = [];
  for (const el of document.querySelectorAll("body *")) {
    if (![...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (!box.width || !box.height || style.visibility !== "visible" || el.closest(skip)) continue;
    let opacity = 1;
    for (let e = el; e; e = e.parentElement) opacity *= Number(getComputedStyle(e).opacity);
    if (opacity === 0) continue;
    const bg = backdrop(el);
    const c = parse(style.color);
    const fg = over([c[0], c[1], c[2], c[3] * opacity], bg);
    const [a, b] = [luminance(fg), luminance(bg)];
    found.push({text: el.textContent.trim().slice(0, 60), ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05),
                color: style.color, background: "rgb(" + bg.slice(0, 3).map(Math.round).join(",") + ")"});
  }
  return found;
}"""

# For every ECharts chart with a title: the best WCAG contrast between a pixel of its title band and the band's
# most common colour (its background), both composed over the page's background — what the eye gets of the title.
# A title drawn in the page's own colour scores ~1; a readable one 4.5 or more.
CHART_TITLE_JS = """() => {
  const channel = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  const luminance = (r, g, b) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  const parse = (c) => {
    const m = /rgba?\\(([^)]+)\\)/.exec(c || "");
    if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const backdrop = (el) => {  // what shows through a transparent canvas: the backgrounds up the tree, composed
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
    }
    let bg = [255, 255, 255];
    for (let i = layers.length - 1; i >= 0; i--) {
      bg = [0, 1, 2].map((k) => layers[i][k] * layers[i][3] + bg[k] * (1 - layers[i][3]));
    }
    return bg;
  };
  const out = [];
  for (const el of document.querySelectorAll(".nicegui-echart")) {
    const page = backdrop(el);
    const chart = getElement(el)?.chart;
    const title = chart?.getOption()?.title?.[0]?.text;
    const canvas = el.querySelector("canvas");
    if (!title || !canvas || !canvas.width) continue;
    const band = Math.min(canvas.height, Math.round(34 * (canvas.width / el.clientWidth)));
    const d = canvas.getContext("2d").getImageData(0, 0, canvas.width, band).data;
    const counts = new Map(), lums = new Float64Array(d.length / 4);
    for (let i = 0; i < d.length; i += 4) {
      const a = d[i + 3] / 255;
      const rgb = [0, 1, 2].map((k) => Math.round(d[i + k] * a + page[k] * (1 - a)));
      const key = rgb.join(",");
      counts.set(key, (counts.get(key) || 0) + 1);
      lums[i / 4] = luminance(...rgb);
    }
    const bgKey = [...counts.entries()].sort((x, y) => y[1] - x[1])[0][0];
    const bg = luminance(...bgKey.split(",").map(Number));
    let best = 1;
    for (const l of lums) best = Math.max(best, (Math.max(l, bg) + 0.05) / (Math.min(l, bg) + 0.05));
    out.push({title: title, contrast: best, background: "rgb(" + bgKey + ")"});
  }
  return out;
}"""

# A building to click in the 3D scene and where: of the buildings whose roof centre is on screen, the one nearest
# to the scene's camera (nothing can stand in front of it), its roof centre projected by that camera. Null until
# the scene holds all ``expected`` buildings (they arrive over the socket: a later one could stand in front).
BUILDING_3D_JS = """(expected) => {
  const el = document.querySelector("[data-testid=scene-3d]");
  const scene = el && getElement(el);
  if (!scene?.scene || !scene.camera) return null;
  const r = el.querySelector("canvas").getBoundingClientRect();
  let best = null, seen = 0;
  scene.scene.traverse((mesh) => {
    if (!mesh.geometry || !String(mesh.name).startsWith("urn:ngsi-ld:Building:")) return;
    seen += 1;
    mesh.updateMatrixWorld(true);
    mesh.geometry.computeBoundingBox();
    const box = mesh.geometry.boundingBox.clone().applyMatrix4(mesh.matrixWorld);
    const roof = box.max.clone();
    roof.x = (box.min.x + box.max.x) / 2;
    roof.y = (box.min.y + box.max.y) / 2;
    const distance = roof.distanceTo(scene.camera.position);
    const p = roof.clone().project(scene.camera);
    const x = r.left + (p.x + 1) / 2 * r.width, y = r.top + (1 - p.y) / 2 * r.height;
    const inside = x > r.left + 20 && x < r.right - 20 && y > r.top + 20 && y < r.bottom - 20;
    if (inside && (!best || distance < best.distance)) best = {x, y, id: mesh.name, distance};
  });
  return seen >= expected && best ? [best.x, best.y, best.id] : null;
}"""

# The on-screen point of a building on the Leaflet map, after centring the map on it.
BUILDING_MAP_JS = """(id) => {
  if (!window.twinMap) return null;
  const {map, layer} = window.twinMap;
  const hit = layer.getLayers().find((l) => l.feature.properties.id === id);
  if (!hit) return null;
  map.setView(hit.getBounds().getCenter(), 18, {animate: false});
  const p = map.latLngToContainerPoint(hit.getBounds().getCenter());
  const box = map.getContainer().getBoundingClientRect();
  return [box.left + p.x, box.top + p.y];
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, one per module."""
    with chromium() as b:
        yield b


class Walk:
    """One user in one browser context (their cookie keeps their language and theme), and what went wrong on
    the way: every answer ≥ 400 the browser received, every script error."""

    def __init__(self, browser: Any, demo: DemoProcess) -> None:
        self.demo = demo
        self.context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
        self.context.set_default_timeout(WAIT_MS)
        self.page = self.context.new_page()
        self.failed: list[str] = []
        self.errors: list[str] = []
        self.contrast: list[str] = []
        self.page.on("response", lambda r: self.failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.lang = "zh"

    def sign_in(self, user: str = "admin", password: str | None = None) -> None:
        """Sign in on the console's sign-in page, as a user does: the page every first visit lands on, the
        password the demo printed; the browser then goes on to where it was going."""
        self.page.get_by_test_id("sign-in").wait_for()
        assert "/sign-in" in self.page.url, self.page.url
        self.page.get_by_test_id("sign-in-name").fill(user)
        self.page.get_by_test_id("sign-in-password").fill(password or self.demo.admin_password())
        self.page.get_by_test_id("sign-in-submit").click()
        self.page.wait_for_url(lambda url: "/sign-in" not in url)
        self.page.get_by_test_id("signed-in-as").wait_for()

    def t(self, pair: tuple[str, str]) -> str:
        """The user's language's half of ``(zh, en)``."""
        return pair[LANG[self.lang]]

    def nav_entries(self) -> list[str]:
        """The navigation's entries as the header shows them (icon names left out)."""
        return list(self.page.locator("header a").evaluate_all(
            """els => els.map(a => [...a.querySelectorAll('.q-icon')]
                                   .reduce((t, i) => t.replace(i.textContent, ''), a.textContent).trim())"""))

    def click_nav(self, path: str, label: tuple[str, str], heading: tuple[str, str]) -> None:
        """Click the navigation entry and check where it lands."""
        self.page.get_by_role("banner").get_by_role("link", name=self.t(label), exact=True).click()
        self.lands(path, heading, label)

    def lands(self, path: str, heading: tuple[str, str], title: tuple[str, str]) -> None:
        """The browser is at ``path`` below the mount, showing ``heading`` under the tab title of ``title``."""
        from playwright.sync_api import expect

        want = MOUNT + path
        self.page.wait_for_url(lambda u: urlparse(u).path.rstrip("/") == want.rstrip("/"))
        expect(self.page.locator(".text-h5").first).to_have_text(self.t(heading))
        expect(self.page).to_have_title(f"{self.t(title)} · {self.t(APP_TITLE)}")
        self.check_contrast(path)

    def follow_entity_link(self, link: Any) -> str:
        """Click a link to an entity's page; check the page shows the entity the link named. Returns its id."""
        from playwright.sync_api import expect

        # NiceGUI puts the mount path before a link's target in the browser, once the element is drawn (a live
        # redraw makes new ones): wait for that, so a link that never gets it still fails here.
        expect(link).to_have_attribute("href", re.compile(rf"^{re.escape(MOUNT)}/entity/"), timeout=10_000)
        href = link.get_attribute("href")
        assert href and href.startswith(f"{MOUNT}/entity/"), href
        entity_id = unquote(href[len(f"{MOUNT}/entity/"):])
        link.click()
        self.on_entity_page(entity_id)
        return entity_id

    def on_entity_page(self, entity_id: str) -> None:
        """The browser shows ``entity_id``'s page (its id under its name; the Entities tab title)."""
        from playwright.sync_api import expect

        self.page.wait_for_url(lambda u: unquote(urlparse(u).path) == f"{MOUNT}/entity/{entity_id}")
        expect(self.page.get_by_test_id("entity-id")).to_have_text(entity_id)
        expect(self.page.get_by_test_id("entity-name")).not_to_be_empty()
        expect(self.page).to_have_title(f"{self.t(('实体', 'Entities'))} · {self.t(APP_TITLE)}")
        self.check_contrast(f"/entity/{entity_id}")

    def click_on_screen(self, where_js: str, leads_to: str) -> str:
        """Click the point ``where_js`` computes (``[x, y, id?]``, null until it can tell) and wait until the
        browser has gone to a path containing ``leads_to``; returns the id the script named, if any.

        The point is computed again right before each click. A click after which the browser does not even ask
        for the next page within 30 s is repeated (up to three times), as a user would: on a busy machine the
        page may still move under the pointer between the computation and the click. Once the browser has asked,
        the page is waited for (it may take long to build on a busy machine), never clicked again."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        def wanted(request: Any) -> bool:
            return bool(request.is_navigation_request() and leads_to in unquote(urlparse(request.url).path))

        for attempt in range(3):
            point = self.page.wait_for_function(where_js, timeout=WAIT_MS).json_value()
            try:
                with self.page.expect_request(wanted, timeout=30_000):
                    self.page.mouse.click(point[0], point[1])
            except PlaywrightTimeout:
                if attempt == 2:
                    raise
                continue
            self.page.wait_for_url(lambda u: leads_to in unquote(urlparse(u).path))
            return str(point[2]) if len(point) > 2 else ""
        raise AssertionError("unreachable")

    def content_links(self, pattern: str) -> Any:
        """Links in the page's content (not the header) whose target matches ``pattern``."""
        return self.page.locator(f".q-page a[href*='{pattern}'], .nicegui-content a[href*='{pattern}']")

    def check_contrast(self, where: str) -> None:
        """Every visible text on the page reads against its background (collected; asserted at the end)."""
        theme = "dark" if self.page.evaluate("document.body.classList.contains('body--dark')") else "light"
        for r in self.page.evaluate(CONTRAST_JS):
            if r["ratio"] < MIN_CONTRAST:
                self.contrast.append(f"{where} ({self.lang}, {theme}): {r['text']!r} {r['color']} on "
                                     f"{r['background']} = {r['ratio']:.2f}")

    def chart_titles_show(self) -> list[dict[str, Any]]:
        """Wait until every titled chart on the page shows its title (contrast ≥ 3 on its canvas)."""
        self.page.wait_for_function(
            f"(() => {{ const c = ({CHART_TITLE_JS})(); return c.length > 0 && c.every(x => x.contrast >= 3); }})()",
            timeout=WAIT_MS, polling=250)
        return list(self.page.evaluate(CHART_TITLE_JS))



def walk_every_page(w: Walk) -> list[str]:
    """Every navigation entry, each followed by one in-page link; returns what was clicked (for the message)."""
    pg = w.page
    steps: list[str] = []
    assert w.nav_entries() == [w.t(APP_TITLE)] + [w.t(label) for _, label, _ in NAV]

    w.click_nav(*NAV[0])  # overview → its energy tile leads to the meters in the explorer
    pg.locator(".nicegui-content a", has_text=w.t(("今日能耗（按能源品种）", "Energy today, by carrier"))).click()
    w.lands("/entities", NAV[1][2], NAV[1][1])
    assert "type=Meter" in pg.url
    steps.append("overview tile")

    w.click_nav(*NAV[1])  # the explorer → an entity row
    steps.append("entity row " + w.follow_entity_link(w.content_links("/entity/").first))

    w.click_nav(*NAV[2])  # the map → a building → its breadcrumb up the containment tree
    pg.wait_for_function("document.querySelector('[data-testid=map]')?.dataset.features > 0", timeout=WAIT_MS)
    # The point layers off first (their toggles), as a user would: a station without coordinates of its own sits
    # at its building's centre, right where the click should reach the building.
    for layer in ("parking", "shuttles", "stations", "meters"):
        pg.get_by_test_id(f"layer-{layer}").click()
    pg.wait_for_function("document.querySelectorAll('.leaflet-twinPoints-pane .leaflet-interactive').length === 0",
                         timeout=WAIT_MS)
    w.click_on_screen(f"({BUILDING_MAP_JS})({BUILDING!r})", f"/entity/{BUILDING}")
    w.on_entity_page(BUILDING)
    crumbs = w.content_links("/entity/urn:ngsi-ld:Parcel:")
    steps.append("map building, breadcrumb " + w.follow_entity_link(crumbs.first))

    w.click_nav(*NAV[3])  # 3D → the building nearest the camera
    count = pg.get_by_test_id("count-3d")
    count.filter(has_text=re.compile(r"[:：]\s*\d+")).wait_for()
    drawn = int(re.findall(r"[:：]\s*(\d+)", count.inner_text())[0])
    assert drawn > 100
    building = w.click_on_screen(f"({BUILDING_3D_JS})({drawn})", "/entity/")
    w.on_entity_page(building)
    steps.append("3D building " + building)

    w.click_nav(*NAV[4])  # energy → its charts show their titles → an anomalous meter
    titles = w.chart_titles_show()
    assert len(titles) >= 3, titles
    meters = w.content_links("/entity/urn:ngsi-ld:Meter:")
    meters.first.wait_for()
    steps.append("anomaly meter " + w.follow_entity_link(meters.first))

    w.click_nav(*NAV[5])  # tenants → a tenant, when the statement can be made (see the report test)
    tenants = w.content_links("/entity/urn:ngsi-ld:Enterprise:")
    if tenants.count():
        steps.append("tenant " + w.follow_entity_link(tenants.first))
    else:
        assert pg.get_by_test_id("tenants-unavailable").count() == 1

    w.click_nav(*NAV[6])  # mobility → a car park
    steps.append("car park " + w.follow_entity_link(w.content_links("/entity/urn:ngsi-ld:OffStreetParking:").first))
    return steps


def test_a_new_user_clicks_through_every_page_in_both_languages_and_themes(
        new_user_demo: DemoProcess, browser: Any) -> None:
    w = Walk(browser, new_user_demo)
    try:
        pg = w.page
        pg.goto(new_user_demo.url + "/")  # the one address a user types: the server's root
        w.sign_in()  # which asks who they are first
        w.lands("/", NAV[0][2], NAV[0][1])
        assert pg.evaluate("document.body.classList.contains('body--dark')") is False
        zh = walk_every_page(w)

        # English and dark, with the header's own controls; both are remembered from page to page.
        pg.get_by_test_id("lang-switch").click()
        w.lang = "en"
        pg.get_by_role("banner").get_by_role("link", name="Overview", exact=True).wait_for()
        pg.get_by_role("banner").get_by_role("switch").click()
        pg.wait_for_function("document.body.classList.contains('body--dark')")
        en = walk_every_page(w)
        assert pg.evaluate("document.body.classList.contains('body--dark')") is True
        assert pg.locator("html").get_attribute("lang") == "en"
    finally:
        w.context.close()
    assert len(zh) == len(en) >= 6
    assert w.failed == [], w.failed
    assert w.contrast == [], "\n".join(sorted(set(w.contrast)))
    assert w.errors == [], w.errors
    log = new_user_demo.output()
    assert not re.search(r"\b404\b|Traceback", log), log[-3000:]


def test_warning_banner_reads_in_both_themes(new_user_demo: DemoProcess, browser: Any) -> None:
    """The console's notices (here: an unknown entity, the one page reached by typing its address) and the energy
    page's note about missing settings, if shown, read in light and dark: text against the banner ≥ 4.5:1."""
    w = Walk(browser, new_user_demo)
    pg = w.page
    try:
        pg.goto(f"{new_user_demo.url}{MOUNT}/entity/urn:ngsi-ld:Building:nobody-built-this")
        w.sign_in()  # and back to the page asked for
        assert "nobody-built-this" in pg.url, pg.url
        banner = pg.get_by_test_id("message-warning")
        banner.wait_for()
        for dark in (False, True):
            if dark:
                pg.get_by_role("banner").get_by_role("switch").click()
                pg.wait_for_function("document.body.classList.contains('body--dark')")
            ratios = [r for r in pg.evaluate(CONTRAST_JS) if "nobody-built-this" in r["text"]]
            assert ratios and min(r["ratio"] for r in ratios) >= 4.5, (dark, ratios)
    finally:
        w.context.close()


def test_energy_report_download_from_the_energy_page(new_user_demo: DemoProcess, browser: Any) -> None:
    """Clicking the energy page's PDF button gives a real PDF file (NiceGUI hands it over as a blob: the bytes are
    the check — PDF signature and end marker, size), and the tenants page lists tenants to click."""
    w = Walk(browser, new_user_demo)
    pg = w.page
    try:
        pg.goto(new_user_demo.url + "/")
        w.sign_in()
        w.lands("/", NAV[0][2], NAV[0][1])
        w.click_nav(*NAV[4])
        button = pg.get_by_test_id("energy-report-pdf")
        button.wait_for()
        # The demo carries its own illustrative energy settings (issue 9 item 2): downloads must be enabled.
        assert not button.is_disabled(), "energy report download disabled on the demo"
        with pg.expect_download(timeout=WAIT_MS) as info:
            button.click()
        download = info.value
        data = Path(download.path()).read_bytes()
        assert download.suggested_filename.endswith(".pdf")
        assert data.startswith(b"%PDF-") and b"%%EOF" in data[-1024:]
        assert len(data) > 10_000
        w.click_nav(*NAV[5])
        w.follow_entity_link(w.content_links("/entity/urn:ngsi-ld:Enterprise:").first)
    finally:
        w.context.close()
    assert w.failed == [], w.failed
