"""Wiring shared by the faces: which packs a twin carries, and how a twin is opened and served."""

from __future__ import annotations

from pathlib import Path

from lingang_twin import energy, mobility
from lingang_twin.core.packs import Pack, install
from lingang_twin.core.twin import Twin
from lingang_twin.settings import Settings
from lingang_twin.stores import open_store

# The packs every face loads, in order. Explicit on purpose: no import-time discovery.
PACKS: list[Pack] = [energy.PACK, mobility.PACK]


def open_twin(db: str | Path | None) -> Twin:
    """Open (or create) the twin in ``db`` with every pack's types registered."""
    twin = Twin(open_store(db))
    install(twin, PACKS)
    return twin


def serve(twin: Twin, settings: Settings) -> None:
    """Serve the API and the operations-centre console (``/console``) for ``twin`` until interrupted (blocking)."""
    import uvicorn

    from lingang_twin import console
    from lingang_twin.api import create_app

    app = create_app(twin, settings, PACKS)
    console.mount(app, twin, settings, PACKS)  # same process, same twin: one writer of the DuckDB file
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning", access_log=False)
