"""The district map (孪生地图): zones, parcels and buildings as polygons coloured by lifecycle phase or by a metric
(floor area, and the metrics packs describe), and toggleable point layers on top — every layer a pack describes
(``Pack.layers``: car parks with their free spots, shuttles moving live, stations …), drawn the same way. Plain
background (no basemap unless ``LINGANG_TILE_URL`` names one).

Why canvas and one GeoJSON layer: ten thousand DOM markers make Leaflet crawl; ten thousand circle markers on
one canvas renderer pan smoothly. The features come in one request from the console's own endpoint
(``/data/map.geojson``), not as ten thousand websocket messages; clicking a feature opens its entity page.
Recolouring by a metric restyles the same layer in the browser (the metrics ride along as feature properties).
The live layers are a few dozen points: they come from the live hub's topic (computed once per tick for every
open map in one language) and are redrawn in place.
"""

from __future__ import annotations

import json
from typing import Any

from nicegui import events, run, ui

from lingang_twin.console import layers
from lingang_twin.console.i18n import pick
from lingang_twin.console.labels import metric_names, metric_unit
from lingang_twin.console.registry import PageContext
from lingang_twin.console.shell import message

PHASE_COLOURS = layers.PHASE_COLOURS
# The district's centre (Dishui Lake side of the IICZ), used until the features' bounds are known.
CENTRE = (30.91, 121.92)
LIVE_TOPIC = "map.live"

_DRAW = """
(async () => {
  const el = getElement(%(id)s);
  const map = el.map;
  const response = await fetch(%(url)s, {cache: "no-store"});
  const collection = await response.json();
  const colours = %(colours)s;
  const renderer = L.canvas({padding: 0.5});
  if (el.twinLayer) map.removeLayer(el.twinLayer);
  const areas = {District: 0.02, Zone: 0.05, Parcel: 0.08};
  // Building colour by the chosen metric: its phase, or its place between the lowest and highest value.
  el.twinColour = (f) => {
    const metric = el.twinMetric || "phase";
    if (metric === "phase" || f.properties.type !== "Building") return colours[f.properties.phase] || "#607d8b";
    const v = f.properties[metric];
    if (v === undefined || v === null) return %(none)s;
    const [lo, hi] = el.twinRange[metric] || [v, v];
    const t = hi > lo ? Math.min(Math.max((v - lo) / (hi - lo), 0), 1) : 0;
    const [a, b] = [%(low)s, %(high)s];
    return "#" + a.map((c, i) => Math.round(c + (b[i] - c) * t).toString(16).padStart(2, "0")).join("");
  };
  el.twinRange = {};
  for (const m of %(metrics)s) {
    const vs = collection.features.map(f => f.properties[m]).filter(v => v !== undefined && v !== null);
    if (vs.length) el.twinRange[m] = [Math.min(...vs), Math.max(...vs)];
  }
  const style = (f) => ({renderer: renderer, color: el.twinColour(f), weight: 1,
                         fillOpacity: areas[f.properties.type] ?? 0.55});
  el.twinRestyle = (metric) => { el.twinMetric = metric; el.twinLayer.setStyle(style); };
  const layer = L.geoJSON(collection, {
    renderer: renderer,
    style: style,
    pointToLayer: (f, latlng) => L.circleMarker(latlng, {renderer: renderer, radius: 4, weight: 1,
                    color: colours[f.properties.phase] || "#607d8b", fillOpacity: 0.9}),
    onEachFeature: (f, l) => {
      l.on("click", () => { window.location.href = %(entity)s + encodeURIComponent(f.properties.id); });
      // Name, type and use in the page's language (the endpoint says them in ?lang=…), never the type's code.
      const words = [f.properties.name, f.properties.typeName || f.properties.type, f.properties.use];
      l.bindTooltip(words.filter(w => w).join(" · "), {sticky: true});
    },
  }).addTo(map);
  el.twinLayer = layer;
  if (!el.twinFitted && collection.features.length) { map.fitBounds(layer.getBounds()); el.twinFitted = true; }
  el.$el.dataset.features = String(collection.features.length);
  window.twinMap = {map: map, layer: layer};
})();
"""

# The point layers: one layer group each, markers kept by id so that a tick moves them instead of rebuilding.
_OVERLAY = """
(() => {
  const el = getElement(%(id)s);
  const map = el && el.map;
  // A live tick can arrive before Leaflet has built the map: skip it, the page sends every layer once it has.
  if (!map) return;
  const data = %(data)s, visible = %(visible)s, styles = %(styles)s, entity = %(entity)s;
  el.twinOverlays = el.twinOverlays || {};
  // Their own pane above the areas' canvas (whichever is drawn first), so points stay on top. SVG, not canvas:
  // a second canvas on top would swallow the clicks meant for the buildings below it (Leaflet hit-tests only
  // the topmost canvas), while SVG lets clicks through everywhere but on its few dozen circles.
  if (!map.getPane("twinPoints")) map.createPane("twinPoints").style.zIndex = 450;
  el.twinPointRenderer = el.twinPointRenderer || L.svg({pane: "twinPoints"});
  el.twinMarkers = el.twinMarkers || {};
  for (const [name, points] of Object.entries(data)) {
    const group = el.twinOverlays[name] = el.twinOverlays[name] || L.featureGroup();
    const markers = el.twinMarkers[name] = el.twinMarkers[name] || {};
    const seen = new Set();
    for (const p of points) {
      seen.add(p.id);
      let m = markers[p.id];
      if (!m) {
        m = markers[p.id] = L.circleMarker([p.lat, p.lon], {pane: "twinPoints", weight: 2,
              renderer: el.twinPointRenderer,
              radius: styles[name].radius, color: "#fff", fillColor: styles[name].colour, fillOpacity: 1});
        m.on("click", () => { window.location.href = entity + encodeURIComponent(p.id); });
        m.bindTooltip(p.label, {permanent: styles[name].permanent, direction: "top", offset: [0, -6]});
        group.addLayer(m);
      } else {
        m.setLatLng([p.lat, p.lon]);
        m.setTooltipContent(p.label);
      }
    }
    for (const id of Object.keys(markers)) if (!seen.has(id)) { group.removeLayer(markers[id]); delete markers[id]; }
  }
  for (const [name, group] of Object.entries(el.twinOverlays)) {
    if (visible[name] && !map.hasLayer(group)) group.addTo(map);
    if (!visible[name] && map.hasLayer(group)) map.removeLayer(group);
  }
  el.$el.dataset.overlays = Object.entries(el.twinMarkers).map(([k, v]) => k + ":" + Object.keys(v).length).join(",");
})();
"""


class TwinMap(ui.leaflet):
    """The map element, holding what its point layers show (what the browser was last sent), so that a test —
    or a pack — can read the layers without a browser."""

    overlays: dict[str, list[dict[str, Any]]]
    visible: dict[str, bool]


async def build(ctx: PageContext) -> None:
    """The map page."""
    ui.label(ctx.text("map.title")).classes("text-h5")
    count = await run.io_bound(lambda: ctx.twin.query(limit=0).total)
    if count == 0:
        message("info", ctx.text("empty.store"))
    described = [layer for _, layer in ctx.console.layers]
    names = [layer.name for layer in described]
    with ui.row().classes("w-full items-center gap-4"):
        metric = ui.select(metric_names(ctx), value="phase",
                           label=ctx.text("map.colour_by")).classes("w-56").mark("map-metric")
        ui.label(ctx.text("map.layers") + ":").classes("text-caption")
        toggles = {layer.name: ui.checkbox(pick(layer.title, ctx.lang), value=True).mark(f"layer-{layer.name}")
                   .props(f'dense data-testid="layer-{layer.name}"') for layer in described}
    legend = ui.row().classes("items-center gap-4 text-caption")

    def draw_legend(chosen: str) -> None:
        legend.clear()
        with legend:
            if chosen == "phase":
                ui.label(ctx.text("map.legend"))
                items = [(colour, ctx.text(f"phase.{phase}")) for phase, colour in PHASE_COLOURS.items()]
            else:
                unit = metric_unit(ctx, chosen)
                items = [(layers.scale_colour(0, 0, 1), ctx.text("legend.low", unit=unit)),
                         (layers.scale_colour(1, 0, 1), ctx.text("legend.high", unit=unit)),
                         (layers.NO_DATA_COLOUR, ctx.text("tile.na"))]
            items += [(layer.colour, pick(layer.title, ctx.lang)) for layer in described]
            for colour, label in items:
                with ui.row().classes("items-center gap-1"):
                    ui.element("span").style(f"display:inline-block;width:12px;height:12px;background:{colour}")
                    ui.label(label)

    draw_legend("phase")
    leaflet = TwinMap(center=CENTRE, zoom=14, options={"preferCanvas": True, "attributionControl": False,
                                                       "zoomSnap": 0.25}) \
        .classes("w-full").style("height: 70vh; background: #eef1f4").props('data-testid="map"')
    leaflet.clear_layers()  # NiceGUI adds an OpenStreetMap layer by default: no tile downloads unless configured
    tile_url = getattr(ctx.console.settings, "tile_url", None)
    if tile_url:
        leaflet.tile_layer(url_template=tile_url)
    code = _DRAW % {"id": leaflet.id, "url": ctx.js_url(f"/data/map.geojson?lang={ctx.lang}"),
                    "colours": json.dumps(PHASE_COLOURS), "entity": ctx.js_url("/entity/"),
                    "none": json.dumps(layers.NO_DATA_COLOUR), "low": json.dumps(list(layers.SCALE_LOW)),
                    "high": json.dumps(list(layers.SCALE_HIGH)),
                    "metrics": json.dumps([m for m in metric_names(ctx) if m != "phase"])}

    # The point layers: static ones are drawn once, live ones follow the live hub (one topic per language).
    leaflet.visible = {name: True for name in names}
    leaflet.overlays = await run.io_bound(layers.layer_points, ctx.console, ctx.lang, None, None, ctx.twin) or {}
    styles = {layer.name: {"colour": layer.colour, "radius": layer.radius, "permanent": layer.permanent_labels}
              for layer in described}
    live_names = tuple(layer.name for layer in described if layer.live)
    client = ui.context.client

    def send(only: tuple[str, ...] = tuple(names)) -> None:
        client.run_javascript(_OVERLAY % {
            "id": leaflet.id, "data": json.dumps({k: leaflet.overlays[k] for k in only}, ensure_ascii=False),
            "visible": json.dumps(leaflet.visible), "styles": json.dumps(styles),
            "entity": ctx.js_url("/entity/")})

    def live(value: dict[str, list[dict[str, Any]]]) -> None:
        leaflet.overlays.update(value)
        send(live_names)

    def toggle(name: str, e: events.ValueChangeEventArguments) -> None:
        leaflet.visible[name] = bool(e.value)
        send(())

    for name, box in toggles.items():
        box.on_value_change(lambda e, name=name: toggle(name, e))  # type: ignore[misc]

    def recolour(e: events.ValueChangeEventArguments) -> None:
        draw_legend(str(e.value))
        client.run_javascript(f"getElement({leaflet.id}).twinRestyle?.({json.dumps(e.value)})")

    metric.on_value_change(recolour)

    def changed(ids: set[str]) -> None:
        # An entity was added, moved or changed phase: redraw from the endpoint (one request, not one per entity).
        client.run_javascript(code + f";getElement({leaflet.id}).twinMetric = {json.dumps(metric.value)};")

    ctx.on_entities(changed)
    if live_names:
        ctx.live(f"{LIVE_TOPIC}.{ctx.lang}", layers.live_layers(ctx.console, ctx.lang), live)
    await leaflet.initialized()
    ui.run_javascript(code)
    send()
