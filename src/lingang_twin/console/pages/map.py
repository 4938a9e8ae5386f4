"""The district map (孪生地图): zones, parcels and buildings as polygons coloured by lifecycle phase or by a metric
(floor area, electricity today per m²), and toggleable point layers on top: car parks labelled with their free
spots, the shuttles moving live, EV charging and hydrogen stations. Plain background (no basemap unless
``LINGANG_TILE_URL`` names one).

Why canvas and one GeoJSON layer: ten thousand DOM markers make Leaflet crawl; ten thousand circle markers on
one canvas renderer pan smoothly. The features come in one request from the console's own endpoint
(``/data/map.geojson``), not as ten thousand websocket messages; clicking a feature opens its entity page.
Recolouring by a metric restyles the same layer in the browser (the metrics ride along as feature properties).
The live layers are a few dozen points: they come from the live hub's topic (computed once per tick for every
open map) and are redrawn in place.
"""

from __future__ import annotations

import json
from typing import Any

from nicegui import events, run, ui

from lingang_twin.console import layers
from lingang_twin.console.labels import type_name
from lingang_twin.console.registry import PageContext
from lingang_twin.console.shell import message

PHASE_COLOURS = layers.PHASE_COLOURS
# The district's centre (Dishui Lake side of the IICZ), used until the features' bounds are known.
CENTRE = (30.91, 121.92)
LIVE_TOPIC = "map.live"
OVERLAYS = ("parking", "shuttles", "stations", "meters")
OVERLAY_COLOURS = {"parking": "#3949ab", "shuttles": "#d81b60", "stations": "#00897b", "meters": "#6d4c41"}

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
  for (const m of ["floorArea", "energyIntensity"]) {
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
  const map = el.map;
  const data = %(data)s, visible = %(visible)s, colours = %(colours)s, entity = %(entity)s;
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
              radius: name === "shuttles" ? 7 : name === "meters" ? 4 : 6, color: "#fff",
              fillColor: colours[name], fillOpacity: 1});
        m.on("click", () => { window.location.href = entity + encodeURIComponent(p.id); });
        m.bindTooltip(p.label, {permanent: name === "parking", direction: "top", offset: [0, -6]});
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


def parking_points(ctx: PageContext, markers: list[dict[str, Any]], names: dict[str, str]) -> list[dict[str, Any]]:
    """Car parks with their label in the user's language: name and free spots, or "not available"."""
    out = []
    for m in markers:
        name = names.get(m["id"], m["name"])
        label = ctx.text("map.free.na", name=name) if m["value"] is None else \
            ctx.text("map.free", name=name, n=f"{m['value']:,.0f}")
        out.append({**m, "label": label, "name": name})
    return out


def shuttle_points(markers: list[dict[str, Any]], names: dict[str, str]) -> list[dict[str, Any]]:
    """Shuttles with their name in the user's language as their label."""
    return [{**m, "name": names.get(m["id"], m["name"]), "label": names.get(m["id"], m["name"])} for m in markers]


async def build(ctx: PageContext) -> None:
    """The map page."""
    ui.label(ctx.text("map.title")).classes("text-h5")
    count = await run.io_bound(lambda: ctx.twin.query(limit=0).total)
    if count == 0:
        message("info", ctx.text("empty.store"))
    with ui.row().classes("w-full items-center gap-4"):
        metric = ui.select({m: ctx.text(f"metric.{m}") for m in layers.METRICS}, value="phase",
                           label=ctx.text("map.colour_by")).classes("w-56").mark("map-metric")
        ui.label(ctx.text("map.layers") + ":").classes("text-caption")
        toggles = {name: ui.checkbox(ctx.text(f"map.layer.{name}"), value=True).mark(f"layer-{name}")
                   .props(f'dense data-testid="layer-{name}"') for name in OVERLAYS}
    legend = ui.row().classes("items-center gap-4 text-caption")

    def draw_legend(chosen: str) -> None:
        legend.clear()
        with legend:
            if chosen == "phase":
                ui.label(ctx.text("map.legend"))
                items = [(colour, ctx.text(f"phase.{phase}")) for phase, colour in PHASE_COLOURS.items()]
            else:
                unit = ctx.text(f"metric.{chosen}.unit")
                items = [(layers.scale_colour(0, 0, 1), ctx.text("legend.low", unit=unit)),
                         (layers.scale_colour(1, 0, 1), ctx.text("legend.high", unit=unit)),
                         (layers.NO_DATA_COLOUR, ctx.text("tile.na"))]
            items += [(OVERLAY_COLOURS[name], ctx.text(f"map.layer.{name}")) for name in OVERLAYS]
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
                    "high": json.dumps(list(layers.SCALE_HIGH))}

    # The point layers: stations and meters are static (drawn once), car parks and shuttles follow the live hub.
    stations = await run.io_bound(layers.station_markers, ctx.twin, ctx.lang)
    metered = await run.io_bound(layers.meter_markers, ctx.twin, ctx.lang)
    parking = await run.io_bound(layers.parking_markers, ctx.twin, ctx.lang)
    shuttles = await run.io_bound(layers.shuttle_markers, ctx.twin, ctx.lang)
    names = {m.id: m.name for m in [*parking, *shuttles]}
    leaflet.visible = {name: True for name in OVERLAYS}
    leaflet.overlays = {
        "parking": parking_points(ctx, [m.as_json() for m in parking], names),
        "shuttles": shuttle_points([m.as_json() for m in shuttles], names),
        "stations": [{**m.as_json(), "label": f"{m.name} · {type_name(ctx, m.type)}"} for m in stations],
        "meters": [{**m.as_json(), "label": ctx.text("map.meters", name=m.name, n=f"{m.value:,.0f}")}
                   for m in metered],
    }
    client = ui.context.client

    def send(only: tuple[str, ...] = OVERLAYS) -> None:
        client.run_javascript(_OVERLAY % {
            "id": leaflet.id, "data": json.dumps({k: leaflet.overlays[k] for k in only}, ensure_ascii=False),
            "visible": json.dumps(leaflet.visible), "colours": json.dumps(OVERLAY_COLOURS),
            "entity": ctx.js_url("/entity/")})

    def live(value: dict[str, list[dict[str, Any]]]) -> None:
        leaflet.overlays["parking"] = parking_points(ctx, value["parking"], names)
        leaflet.overlays["shuttles"] = shuttle_points(value["shuttles"], names)
        send(("parking", "shuttles"))

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
    ctx.live(LIVE_TOPIC, layers.live_layers, live)
    await leaflet.initialized()
    ui.run_javascript(code)
    send()
