"""The energy pack's faces (Web): REST routes with response schemas (:mod:`.routes`, :mod:`.schemas`, the typed
dependency :mod:`.deps`) and the console pages (:mod:`.page` the 能源 / Energy page, :mod:`.tenant_page`,
:mod:`.panel` the entity-page section, :mod:`.coverage_view` the coverage badges).

The numerics live beside this package (accounting, forecast, quality, reports …) and never import it; the
modules here read the twin, call them and draw. NiceGUI and FastAPI are imported only by these modules;
the pack's ``PACK`` (``energy/__init__.py``) names the pages and the router and imports them on call.
"""

from __future__ import annotations
