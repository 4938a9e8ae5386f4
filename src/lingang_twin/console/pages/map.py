"""The district map (孪生地图): zones, parcels and buildings as polygons coloured by lifecycle phase, parking and
stations as points, on a plain background (no basemap unless ``LINGANG_TILE_URL`` names one).

Why canvas and one GeoJSON layer: ten thousand DOM markers make Leaflet crawl; ten thousand circle markers on
one canvas renderer pan smoothly. The features come in one request from the console's own endpoint
(``/data/map.geojson``), not as ten thousand websocket messages; clicking a feature opens its entity page.
"""

from __future__ import annotations

import json

from nicegui import run, ui

from lingang_twin.console.registry import PageContext
from lingang_twin.console.shell import message

PHASE_COLOURS = {"planned": "#9e9e9e", "design": "#1e88e5", "construction": "#fb8c00", "operation": "#43a047",
                 "retired": "#6d4c41"}
# The district's centre (Dishui Lake side of the IICZ), used until the features' bounds are known.
CENTRE = (30.91, 121.92)

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
  const layer = L.geoJSON(collection, {
    renderer: renderer,
    style: (f) => ({renderer: renderer, color: colours[f.properties.phase] || "#607d8b", weight: 1,
                    fillOpacity: areas[f.properties.type] ?? 0.55}),
    pointToLayer: (f, latlng) => L.circleMarker(latlng, {renderer: renderer, radius: 4, weight: 1,
                    color: colours[f.properties.phase] || "#607d8b", fillOpacity: 0.9}),
    onEachFeature: (f, l) => {
      l.on("click", () => { window.location.href = %(entity)s + encodeURIComponent(f.properties.id); });
      l.bindTooltip(f.properties.name + " · " + f.properties.type, {sticky: true});
    },
  }).addTo(map);
  el.twinLayer = layer;
  if (!el.twinFitted && collection.features.length) { map.fitBounds(layer.getBounds()); el.twinFitted = true; }
  el.$el.dataset.features = String(collection.features.length);
  window.twinMap = {map: map, layer: layer};
})();
"""


async def build(ctx: PageContext) -> None:
    """The map page."""
    ui.label(ctx.text("map.title")).classes("text-h5")
    count = await run.io_bound(lambda: ctx.twin.query(limit=0).total)
    if count == 0:
        message("info", ctx.text("empty.store"))
    with ui.row().classes("items-center gap-4 text-caption"):
        ui.label(ctx.text("map.legend"))
        for phase, colour in PHASE_COLOURS.items():
            with ui.row().classes("items-center gap-1"):
                ui.element("span").style(f"display:inline-block;width:12px;height:12px;background:{colour}")
                ui.label(ctx.text(f"phase.{phase}"))
    leaflet = ui.leaflet(center=CENTRE, zoom=14, options={"preferCanvas": True, "attributionControl": False,
                                                          "zoomSnap": 0.25}) \
        .classes("w-full").style("height: 70vh; background: #eef1f4").props('data-testid="map"')
    leaflet.clear_layers()  # NiceGUI adds an OpenStreetMap layer by default: no tile downloads unless configured
    tile_url = getattr(ctx.console.settings, "tile_url", None)
    if tile_url:
        leaflet.tile_layer(url_template=tile_url)
    code = _DRAW % {"id": leaflet.id, "url": json.dumps(ctx.url("/data/map.geojson") + f"?lang={ctx.lang}"),
                    "colours": json.dumps(PHASE_COLOURS), "entity": json.dumps(ctx.url("/entity/"))}

    async def draw() -> None:
        await leaflet.initialized()
        ui.run_javascript(code)

    client = ui.context.client

    def changed(ids: set[str]) -> None:
        # An entity was added, moved or changed phase: redraw from the endpoint (one request, not one per entity).
        client.run_javascript(code)

    ctx.on_entities(changed)
    await draw()

