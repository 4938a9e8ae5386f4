"""``scripts/screenshots.py`` regenerates the README's console screenshots: run on the shared tiny demo into a
temporary folder, it writes every image the README shows, each a real PNG of a whole page."""

from __future__ import annotations

import re
import struct
import subprocess
import sys
from pathlib import Path

from console_fixtures import DemoProcess

ROOT = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def readme_screenshots() -> set[str]:
    """The file names of the console screenshots the README shows."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return set(re.findall(r"\(docs/screenshots/([\w.-]+\.png)\)", text))


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's header chunk (IHDR), read by hand: no imaging library is trusted here."""
    assert data[:8] == PNG_SIGNATURE, "not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def test_screenshot_script_writes_every_readme_image(new_user_demo: DemoProcess, tmp_path: Path) -> None:
    shown = readme_screenshots()
    assert {"overview.png", "map.png", "3d.png", "energy.png", "tenants.png", "mobility.png"} <= shown
    for name in shown:  # the committed images exist too
        assert (ROOT / "docs" / "screenshots" / name).is_file(), name
    out = tmp_path / "shots"
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "screenshots.py"), "--url", new_user_demo.url,
                          "--password", new_user_demo.admin_password(), "--out", str(out)],
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-2000:]
    written = {p.name for p in out.glob("*.png")}
    assert shown <= written, shown - written
    sizes = {}
    for name in written:
        data = (out / name).read_bytes()
        width, height = png_size(data)
        assert width == 1400 and height >= 900, (name, width, height)  # the viewport, or the whole page
        assert len(data) > 20_000, (name, len(data))  # a blank page compresses to a few kB
        sizes[name] = data
    assert len(set(sizes.values())) == len(sizes), "two pages gave the same picture"
