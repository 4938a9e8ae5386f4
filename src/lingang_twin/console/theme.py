"""Light and dark themes (明暗主题): what the console does so that every page — its own and the packs' — stays
readable when the user turns the dark theme on.

Quasar's dark mode turns the page dark (``body.body--dark``, text white) but leaves two things behind:

* **Pale backgrounds** (``bg-amber-1``, ``bg-blue-1``, … — notices and warnings) keep their pale colour while the
  text inside turns white: white on pale yellow. In dark mode text on a pale background is made dark again.
* **Dark grey text** (``text-grey-7`` … ``text-grey-10``) stays dark grey on the dark page. In dark mode it takes
  the lighter grey that stands in the same place on a dark page (WCAG contrast ≥ 4.5 on Quasar's ``#121212``).
* **Charts**: ECharts draws titles, legends and axes on a canvas in its theme's colours (title ``#464646``),
  which vanish on a dark page. ECharts 6 (NiceGUI 3's bundle) can change a chart's theme in place
  (``chart.setTheme``), so a small script gives every chart ECharts' own ``dark`` theme while the page is dark,
  and back — also for charts created later, and without reloading the page.

Quasar loads its colour classes as ``!important`` rules in the last cascade layer NiceGUI declares
(``quasar_importants``); an ``!important`` rule in an *earlier* layer wins over them, so these rules live in the
``base`` layer. They are written for the whole palette, not for the classes the console uses today, so that a
pack's page is covered too.
"""

from __future__ import annotations

from nicegui import ui

# Quasar's palette: every hue has shades 1 (palest) … 14 (A700).
HUES: tuple[str, ...] = ("red", "pink", "purple", "deep-purple", "indigo", "blue", "light-blue", "cyan", "teal",
                         "green", "light-green", "lime", "yellow", "amber", "orange", "deep-orange", "brown", "grey",
                         "blue-grey")
PALE_SHADES: tuple[int, ...] = (1, 2, 3, 4)
# Text on a pale background in dark mode: Quasar's own light-theme text colour.
TEXT_ON_PALE = "rgba(0, 0, 0, 0.87)"
# Dark greys in dark mode → the grey that reads on ``#121212`` (contrast: 7.0, 7.0, 10.6, 10.6, 13.4, 13.4).
DARK_GREYS: dict[str, str] = {"text-grey-7": "#9e9e9e", "text-grey-8": "#9e9e9e", "text-grey-9": "#bdbdbd",
                              "text-grey-10": "#bdbdbd", "text-black": "#e0e0e0", "text-dark": "#e0e0e0"}


def pale_classes() -> list[str]:
    """Every Quasar background class pale enough that only dark text reads on it."""
    return [f"bg-{hue}-{shade}" for hue in HUES for shade in PALE_SHADES] + ["bg-white"]


def dark_css() -> str:
    """The dark-theme rules (see the module's docstring for why each exists and why in layer ``base``)."""
    pale = ":is(" + ", ".join(f".{c}" for c in pale_classes()) + ")"
    greys = "\n".join(f"  .body--dark .{c} {{ color: {colour} !important; }}" for c, colour in DARK_GREYS.items())
    any_grey = ":is(" + ", ".join(f".{c}" for c in DARK_GREYS) + ")"
    # Inside a pale background (or on the pale element itself: a notice card with ``bg-blue-1 text-grey-10``) the
    # dark greys are right as they are: the more specific rules restore them.
    return (f"@layer base {{\n  .body--dark {pale} {{ color: {TEXT_ON_PALE} !important; }}\n{greys}\n"
            f"  .body--dark {pale} {any_grey} {{ color: {TEXT_ON_PALE} !important; }}\n"
            f"  .body--dark {pale}{any_grey} {{ color: {TEXT_ON_PALE} !important; }}\n}}\n")


# Every ECharts chart on the page in the theme of the page: ECharts' built-in "dark" or "default". Runs once per
# page; a MutationObserver sees the theme switch (Quasar sets ``body--dark``) and charts that appear later; a chart
# whose instance is not created yet (NiceGUI creates it after mounting) is retried shortly.
CHART_THEME_JS = """
<script>
(() => {
  if (window.twinChartTheme) return;
  let pending = null;
  const later = (ms) => { if (!pending) pending = setTimeout(apply, ms); };
  function apply() {
    pending = null;
    const wanted = document.body.classList.contains("body--dark") ? "dark" : "light";
    for (const el of document.querySelectorAll(".nicegui-echart")) {
      if ((el.dataset.theme || "light") === wanted) continue;  // a new chart starts in ECharts' default theme
      const chart = typeof getElement === "function" ? getElement(el)?.chart : undefined;
      if (!chart) { later(100); continue; }
      chart.setTheme(wanted === "dark" ? "dark" : "default");
      el.dataset.theme = wanted;
    }
  }
  window.twinChartTheme = apply;
  const watch = () => {
    // The theme switch (Quasar's class on <body>) and charts added anywhere below it.
    new MutationObserver(() => later(0)).observe(document.body, {attributes: true, attributeFilter: ["class"]});
    new MutationObserver(() => later(30)).observe(document.body, {childList: true, subtree: true});
    apply();
  };
  if (document.body) watch(); else document.addEventListener("DOMContentLoaded", watch);
})();
</script>
"""


def install() -> None:
    """Add the dark-theme rules and the chart theme script to the page being built."""
    ui.add_css(dark_css())
    ui.add_head_html(CHART_THEME_JS)
