"""The PDF reports' font (报告字体): one embedded TrueType font that draws Chinese, "m³", "10⁴" and "CO₂".

reportlab's own CID font STSong-Light covers Chinese but not superscripts or subscripts (they came out as boxes),
and the PDF standard fonts cover neither. :func:`report_font` registers the first TrueType-outlined font it finds
that has every glyph in :data:`REQUIRED_GLYPHS` — ``LINGANG_PDF_FONT`` (a path, ``path.ttc#index`` for one face of
a collection), then the Debian fonts below, then whatever ``fc-list :lang=zh`` offers — and embeds a subset of it,
so a report looks the same on every reader. OpenType-CFF fonts (Noto CJK) are skipped: reportlab draws TrueType
outlines only.

Without one it falls back to STSong-Light and writes the symbols it lacks in ASCII (``m3``, ``10^4``, ``CO2``),
with a warning that says which package to install; a report is never printed with boxes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import warnings
from dataclasses import dataclass
from functools import lru_cache

REQUIRED_GLYPHS = "电水天然气柴油氢能耗报告³⁴₂²·×–"
"""Glyphs every report needs: Chinese labels, m³/Nm³, 10⁴ kWh, CO₂, m², separators."""

CANDIDATES: tuple[str, ...] = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc#0",  # Debian fonts-wqy-microhei (scripts/test.sh installs it)
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc#0",  # fonts-wqy-zenhei
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",  # fonts-droid-fallback
    "/usr/share/fonts/truetype/arphic/uming.ttc#0",  # fonts-arphic-uming
)
FALLBACK_FONT = "STSong-Light"
_ASCII = str.maketrans({"³": "3", "²": "2", "⁴": "^4", "₂": "2"})


@dataclass(frozen=True)
class ReportFont:
    """The registered font's reportlab ``name``, the file it came from (``None``: the CID fallback) and whether it
    draws every required glyph (else :meth:`text` spells them in ASCII)."""

    name: str
    path: str | None
    complete: bool

    def text(self, s: str) -> str:
        """``s`` as this font can draw it."""
        return s if self.complete else s.translate(_ASCII)


def _load(spec: str) -> tuple[str, str] | None:
    """Register ``path[#index]`` if it is a TrueType font with every required glyph; returns (name, spec)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    path, _, index = spec.partition("#")
    if not os.path.isfile(path):
        return None
    name = "LingangReport-" + os.path.basename(path).split(".")[0] + (f"-{index}" if index else "")
    try:
        font = TTFont(name, path, subfontIndex=int(index or 0))
    except Exception:  # any font reportlab cannot read (CFF outlines, a broken file) is skipped
        return None
    cmap = font.face.charToGlyph
    if not all(ord(ch) in cmap for ch in REQUIRED_GLYPHS):
        return None
    pdfmetrics.registerFont(font)
    return name, spec


def _fontconfig() -> list[str]:
    """Files fontconfig knows for Chinese, TrueType first."""
    if shutil.which("fc-list") is None:
        return []
    try:
        out = subprocess.run(["fc-list", ":lang=zh", "-f", "%{file}#%{index}\n"], capture_output=True, text=True,
                             timeout=30, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    found = {line.strip() for line in out.splitlines() if line.strip()}
    return sorted(found, key=lambda s: (not s.split("#")[0].endswith((".ttf", ".ttc")), s))


@lru_cache(maxsize=1)
def report_font() -> ReportFont:
    """The font of the PDF reports, registered with reportlab once per process (see the module docstring)."""
    env = os.environ.get("LINGANG_PDF_FONT")
    specs = ([env] if env else []) + list(CANDIDATES)
    for spec in specs:
        found = _load(spec)
        if found:
            return ReportFont(found[0], found[1].split("#")[0], True)
    for spec in _fontconfig():
        found = _load(spec)
        if found:
            return ReportFont(found[0], found[1].split("#")[0], True)
    if env:
        warnings.warn(f"LINGANG_PDF_FONT={env!r} is not a TrueType font with Chinese, ³ and ⁴; falling back",
                      stacklevel=2)
    warnings.warn("no TrueType font with Chinese, superscripts and subscripts found (install Debian's "
                  "fonts-wqy-microhei or set LINGANG_PDF_FONT): PDF reports use STSong-Light and write m³ as m3, "
                  "10⁴ as 10^4 / 未找到含中文与上下标的字体，PDF 报告以 ASCII 书写单位", stacklevel=2)
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if FALLBACK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK_FONT))
    return ReportFont(FALLBACK_FONT, None, False)


__all__ = ["CANDIDATES", "REQUIRED_GLYPHS", "ReportFont", "report_font"]
