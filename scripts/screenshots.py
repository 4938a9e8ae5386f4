"""Regenerate the README's console screenshots (docs/screenshots/*.png) from the console as it is now.

    python scripts/screenshots.py                      # starts `lingang-twin demo --days 7` on a free port
    python scripts/screenshots.py --url http://127.0.0.1:8000 --password … --out /tmp/shots   # a running demo

Drives Debian's Chromium (/usr/bin/chromium) with Playwright, waits on each page for what it must show (tiles,
rows, the map's layers, every building of the 3D scene, the energy page's charts) — never for a fixed time — and
saves one PNG per page. It signs in first as ``admin`` with the password the demo printed (``--password``, or
``LINGANG_PASSWORD``; read from the demo's own output when it starts one). Without ``--url`` it starts a demo of its
own over a throw-away database and stops it after.
Exit code 0 when every file is written; 1 with a one-line reason (中文 / English) otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1400, "height": 900}
WAIT_MS = 120_000  # a bound on waiting for a page's content, not a pause: each wait returns as soon as it holds
BUILDING = "urn:ngsi-ld:Building:hq-exhibition-centre"

# Every building the 3D page counts is in the scene, and two frames have been drawn since.
SCENE_READY_JS = """() => {
  const el = document.querySelector("[data-testid=scene-3d]");
  const label = document.querySelector("[data-testid=count-3d]");
  const m = label && /[:：]\\s*(\\d+)/.exec(label.textContent);
  const scene = el && getElement(el);
  if (!m || !scene?.scene) return false;
  let n = 0;
  scene.scene.traverse((o) => { if (String(o.name).startsWith("urn:ngsi-ld:Building:")) n += 1; });
  if (n < Number(m[1])) return false;
  if (!window.twinFrames) { window.twinFrames = 0; const tick = () => { window.twinFrames += 1;
    if (window.twinFrames < 3) requestAnimationFrame(tick); }; requestAnimationFrame(tick); }
  return window.twinFrames >= 3;
}"""

# The ECharts charts on the page have drawn something (a canvas with ink).
CHARTS_DRAWN_JS = """(least) => {
  const canvases = [...document.querySelectorAll(".nicegui-echart canvas")];
  return canvases.length >= least && canvases.every((c) => {
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    for (let i = 3; i < d.length; i += 4 * 97) if (d[i] > 0) return true;
    return false;
  });
}"""


def _token(base: str, password: str) -> str:
    """An access token of ``admin`` (the OAuth2 password flow, as the README's tour gets one)."""
    body = urllib.parse.urlencode({"username": "admin", "password": password}).encode()
    with urllib.request.urlopen(urllib.request.Request(f"{base}/api/v1/auth/token", data=body), timeout=60) as r:
        return str(json.loads(r.read())["access_token"])


def _get_json(url: str, token: str) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read())


def _meter_of(base: str, building: str, token: str) -> str:
    """A meter in ``building`` (the entity page with a history chart)."""
    query = f"{base}/api/v1/entities?type=Meter&under={building}&limit=1"
    return str(_get_json(query, token)["data"][0]["id"])


def sign_in(page: Any, base: str, password: str) -> None:
    """Sign in on the console's sign-in page, as a user does."""
    page.goto(f"{base}/console/sign-in")
    page.get_by_test_id("sign-in-name").fill("admin")
    page.get_by_test_id("sign-in-password").fill(password)
    page.get_by_test_id("sign-in-submit").click()
    page.get_by_test_id("signed-in-as").wait_for(timeout=WAIT_MS)


def _heading(page: Any) -> None:
    page.locator(".text-h5").first.wait_for(timeout=WAIT_MS)


def _shots(base: str, token: str) -> list[tuple[str, str, Callable[[Any], None], bool]]:
    """(file name, path below the server, what to wait for, full page?) of every screenshot, in README order."""
    console = f"{base}/console"

    def overview(pg: Any) -> None:
        _heading(pg)
        pg.get_by_test_id("tile-energy").wait_for(timeout=WAIT_MS)

    def entities(pg: Any) -> None:
        _heading(pg)
        pg.locator(".nicegui-content a[href*='/entity/']").first.wait_for(timeout=WAIT_MS)

    def building(pg: Any) -> None:
        pg.get_by_test_id("entity-name").wait_for(timeout=WAIT_MS)

    def meter(pg: Any) -> None:
        pg.get_by_test_id("entity-name").wait_for(timeout=WAIT_MS)
        pg.wait_for_function(CHARTS_DRAWN_JS, arg=1, timeout=WAIT_MS)

    def map_page(pg: Any) -> None:
        pg.wait_for_function("document.querySelector('[data-testid=map]')?.dataset.features > 0", timeout=WAIT_MS)
        pg.wait_for_function("(document.querySelector('[data-testid=map]').dataset.overlays || '')"
                             ".includes('parking:')", timeout=WAIT_MS)

    def scene(pg: Any) -> None:
        pg.wait_for_function(SCENE_READY_JS, timeout=WAIT_MS, polling=250)

    def energy(pg: Any) -> None:
        pg.get_by_test_id("energy-findings-count").wait_for(timeout=WAIT_MS)
        pg.wait_for_function(CHARTS_DRAWN_JS, arg=3, timeout=WAIT_MS)

    return [
        ("overview.png", f"{console}/", overview, True),
        ("entities.png", f"{console}/entities", entities, False),
        ("entity-building.png", f"{console}/entity/{BUILDING}", building, True),
        ("entity-meter-history.png", f"{console}/entity/{_meter_of(base, BUILDING, token)}", meter, True),
        ("map.png", f"{console}/map", map_page, False),
        ("3d.png", f"{console}/3d", scene, False),
        ("energy.png", f"{console}/energy", energy, True),
        ("tenants.png", f"{console}/energy/tenants", _heading, True),
        ("mobility.png", f"{console}/mobility", _heading, True),
    ]


def take(base: str, out: Path, password: str) -> list[Path]:
    """Save every screenshot of the console served at ``base`` into ``out``, signed in as ``admin`` with
    ``password``; returns the files written."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport=VIEWPORT)
            page = context.new_page()
            sign_in(page, base, password)
            for name, url, ready, full in _shots(base, _token(base, password)):
                page.goto(url)
                ready(page)
                page.screenshot(path=str(out / name), full_page=full)
                written.append(out / name)
            # The same console in English with the dark theme, switched with the header's own controls.
            page.goto(f"{base}/console/energy")
            page.get_by_test_id("lang-switch").click()
            page.get_by_role("banner").get_by_role("link", name="Overview", exact=True).wait_for(timeout=WAIT_MS)
            page.get_by_role("banner").get_by_role("switch").click()
            page.wait_for_function("document.body.classList.contains('body--dark')", timeout=WAIT_MS)
            page.get_by_test_id("energy-findings-count").wait_for(timeout=WAIT_MS)
            page.wait_for_function(
                "[...document.querySelectorAll('.nicegui-echart')].every(e => e.dataset.theme === 'dark')",
                timeout=WAIT_MS)
            page.wait_for_function(CHARTS_DRAWN_JS, arg=3, timeout=WAIT_MS)
            page.mouse.move(5, VIEWPORT["height"] - 5)  # away from the switch: its tooltip is not part of the page
            page.screenshot(path=str(out / "energy-en-dark.png"), full_page=True)
            written.append(out / "energy-en-dark.png")
            context.close()
        finally:
            browser.close()
    return written


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_demo(workdir: Path, days: int) -> tuple[subprocess.Popen[bytes], str, str]:
    """``lingang-twin demo`` over a fresh database in ``workdir`` on a free port; returns it, its URL and the
    administrator's password it printed, once it answers."""
    port = _free_port()
    log = (workdir / "demo.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "lingang_twin.cli", "demo", "--db", str(workdir / "demo.duckdb"),
                             "--days", str(days), "--port", str(port)], stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the demo exited with {proc.returncode} / 示范进程退出: see {workdir / 'demo.log'}")
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=5):
                printed = re.search(r"user admin, password (\S+)", (workdir / "demo.log").read_text(errors="replace"))
                if printed is None:
                    raise RuntimeError("the demo printed no administrator password / 示范未打印管理员密码")
                return proc, base, printed.group(1)
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("the demo did not answer within 600 s / 示范进程 600 秒内未响应")


def main(argv: list[str] | None = None) -> int:
    """The command line (see the module's docstring)."""
    parser = argparse.ArgumentParser(description="Regenerate the console screenshots / 重新生成控制台截图")
    parser.add_argument("--url", help="a running demo's base URL (default: start one)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots", help="where the PNGs go")
    parser.add_argument("--days", type=int, default=7, help="days of history of the demo started here")
    parser.add_argument("--password", default=os.environ.get("LINGANG_PASSWORD"),
                        help="the running demo's admin password (with --url; default $LINGANG_PASSWORD)")
    args = parser.parse_args(argv)
    try:
        if args.url:
            if not args.password:
                print("screenshots failed / 截图失败: --url needs --password (or LINGANG_PASSWORD) / 须提供管理员密码",
                      file=sys.stderr)
                return 1
            files = take(args.url.rstrip("/"), args.out, args.password)
        else:
            with tempfile.TemporaryDirectory(prefix="lingang-shots-") as tmp:
                proc, base, password = start_demo(Path(tmp), args.days)
                try:
                    files = take(base, args.out, password)
                finally:
                    proc.terminate()
                    try:
                        proc.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        proc.kill()
    except Exception as err:  # one line for the user, whatever went wrong
        print(f"screenshots failed / 截图失败: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}",
              file=sys.stderr)
        return 1
    for f in files:
        print(f"{f} ({f.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
