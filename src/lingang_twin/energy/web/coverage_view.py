"""Coverage on the console (数据完整度): how complete a figure on screen is, as an energy manager reads it.

One description for the three places that show energy figures (the Energy page, the Tenants page and the energy
panel of an entity page): a percentage of the expected readings that are there (:func:`.coverage.percent`, never
rounded up to 100 % while a reading is missing) and flags — ``empty`` (no reading at all: the figures are not
zeros, there is nothing), ``partial`` (readings missing) and ``running`` (the period is not over: the figures and
the percentage run up to now). Labels are (中文, English) pairs handed to the page's ``tr``, like every other word
the pack draws; NiceGUI is imported by the callers, never here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lingang_twin.energy.carriers import CARRIER_LABELS
from lingang_twin.energy.coverage import STATUS_LABELS, CarrierCoverage, Coverage, percent

FLAG_LABELS: dict[str, tuple[str, str]] = {
    "empty": ("无读数", "no data"),
    "partial": ("数据不全", "partial"),
    "running": ("本期未结束", "running"),
    "complete": STATUS_LABELS["complete"],
    "unknown": STATUS_LABELS["unknown"],
    "not-expected": STATUS_LABELS["not-expected"],
}
"""Flag → (中文, English): what the console prints beside a coverage percentage."""
FLAG_COLOURS: dict[str, tuple[str, str]] = {
    "empty": ("negative", "white"), "partial": ("warning", "black"), "running": ("info", "black"),
    "complete": ("positive", "black"), "unknown": ("grey-4", "black"), "not-expected": ("grey-4", "black"),
}
"""Flag → (badge colour, text colour): filled chips whose text keeps a WCAG contrast ≥ 3:1 in both themes (outlined
Quasar chips in warning / info colours read at 1.7–1.9:1 on white; the browser walkthrough checks it)."""
COVERAGE_HEAD = ("数据完整度", "Coverage")


@dataclass(frozen=True)
class CoverageBadge:
    """What to print for one coverage: ``share`` of the expected readings present (``None``: none were
    expected), its text (``—`` when ``None``), the flags in the order they are read, and the counts behind it."""

    share: float | None
    text: str
    flags: tuple[str, ...]
    expected: int
    present: int
    missing: int

    @property
    def empty(self) -> bool:
        """No reading at all: figures must say "no data", not 0."""
        return "empty" in self.flags

    def label(self, tr: Callable[[str, str], str]) -> str:
        """``93.33% 数据不全 · 本期未结束`` in the page's language."""
        words = " · ".join(tr(*FLAG_LABELS[f]) for f in self.flags)
        return f"{self.text} {words}".strip()


def badge(c: Coverage | CarrierCoverage, running: bool) -> CoverageBadge:
    """The badge of a whole coverage or of one carrier's; ``running``: the period is not over at the coverage's
    ``now`` (a carrier does not know its period, so the caller says)."""
    status = c.status
    expected, missing = c.expected, c.missing
    share = None if expected == 0 else (expected - missing) / expected
    flags: list[str] = []
    if status in ("empty", "partial", "unknown", "not-expected"):
        flags.append(status)
    if running:
        flags.append("running")
    if not flags:
        flags.append("complete")
    return CoverageBadge(share, "—" if share is None else percent(share), tuple(flags), expected, c.present, missing)


def carrier_badges(cov: Coverage) -> dict[str, CoverageBadge]:
    """Carrier → badge of ``cov``."""
    return {carrier: badge(c, cov.running) for carrier, c in cov.carriers.items()}


def draw_badge(ui: Any, tr: Callable[[str, str], str], b: CoverageBadge, marker: str) -> None:
    """The badge as a row: the percentage (monospace) and one coloured chip per flag, wrapping inside a narrow cell
    (a grid column of equal width: unwrapped, the chips ran over the next column); ``marker`` names the row
    (``{marker}`` for the percentage label, ``{marker}-{flag}`` for each chip) so that tests find them."""
    with ui.row().classes("gap-1 items-center").mark(marker):
        ui.label(b.text).classes("font-mono").mark(f"{marker}-share")
        for flag in b.flags:
            colour, text_colour = FLAG_COLOURS[flag]
            ui.badge(tr(*FLAG_LABELS[flag]), color=colour, text_color=text_colour).mark(f"{marker}-{flag}")


def notices(cov: Coverage, lang: str, *, prefix: tuple[str, str] = ("", "")) -> list[str]:
    """The coverage's warnings (an empty or partial carrier, a scope without meters) in ``lang``, each with the
    ``prefix`` pair (e.g. ``("上期：", "Previous period: ")``); the ``running`` note is left to the flags."""
    out = []
    for issue in cov.issues():
        if issue["rule"] == "coverage-running":
            continue
        zh, en = issue["message_zh"], issue["message_en"]
        carrier = issue["carrier"]
        if issue["rule"] == "coverage-empty" and carrier is not None and cov.carriers[carrier].status == "empty":
            # The issue says "in the period" (本期), which misreads under a "previous period" prefix: say it plainly.
            name_zh, name_en = CARRIER_LABELS.get(carrier, (carrier, carrier))
            expected = issue["expected"]
            zh = f"{name_zh}：无读数" + (f"（应有 {expected:,} 条）" if expected else "")
            en = f"{name_en}: no reading" + (f" ({expected:,} expected)" if expected else "")
        out.append(prefix[0] + zh if lang == "zh" else prefix[1] + en)
    return out


__all__ = ["COVERAGE_HEAD", "FLAG_LABELS", "CoverageBadge", "badge", "carrier_badges", "draw_badge", "notices"]
