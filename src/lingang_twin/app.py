"""Wiring shared by the faces: which packs a twin carries, and how a twin is opened and served."""

from __future__ import annotations

import gc
from datetime import timedelta
from pathlib import Path

from lingang_twin import energy, mobility
from lingang_twin.core.packs import Pack, install
from lingang_twin.core.twin import Twin
from lingang_twin.settings import Settings
from lingang_twin.stores import open_store

# The packs every face loads, in order. Explicit on purpose: no import-time discovery.
PACKS: list[Pack] = [energy.PACK, mobility.PACK]


def open_twin(db: str | Path | None, settings: Settings | None = None, *, compact_rows: int | None = None) -> Twin:
    """Open (or create) the twin in ``db`` with every pack's types registered (``compact_rows``: see
    :class:`~lingang_twin.stores.duckdb_store.DuckDBStore`); ``settings`` (default: from the environment) give its
    future horizon for readings."""
    horizon = timedelta(hours=(settings or Settings()).future_horizon_hours)
    twin = Twin(open_store(db, compact_rows=compact_rows), future_horizon=horizon)
    install(twin, PACKS)
    return twin


def load_energy_config(path: Path | None) -> object | None:
    """The energy pack's deployment settings from a JSON file (``LINGANG_ENERGY_CONFIG``), checked; ``None``
    when no file is named. A bad file is a ValidationError naming the setting, raised before the server starts."""
    if path is None:
        return None
    import json

    from pydantic import ValidationError as PydanticValidationError

    from lingang_twin.core.errors import ValidationError
    from lingang_twin.core.types import model_errors_to_validation
    from lingang_twin.energy.factors import EnergyConfig

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ValidationError("energy_config", "config-file", f"{path}: cannot read a JSON object: {err}") from None
    try:
        return EnergyConfig.model_validate(data)
    except PydanticValidationError as err:
        raise model_errors_to_validation(err, "energy_config") from None


def warm_up() -> None:
    """Run the ingest path once, before the server answers, on a throwaway in-memory twin: parse a one-line CSV
    and JSON body, store the reading. Writes nothing to the served twin.

    Why: the first large ingest otherwise imports what its path imports lazily — pandas (``pyarrow.compute``
    imports it on a first call with a Python scalar), ``pyarrow.acero`` (``Table.group_by``), the readers — in
    its worker thread, holding the GIL for ~1.4 s in all, and the event loop stalled: ``/health`` took up to 230 ms
    (``benchmarks/bench_health_under_ingest.py``)."""
    from lingang_twin.api import warm_up as warm_readers

    batch = warm_readers()
    scratch = open_twin(None)
    try:
        scratch.upsert([{"id": "urn:ngsi-ld:Meter:warm-up", "type": "Meter",
                         "properties": {"carrier": {"value": "electricity"}, "unit": {"value": "kWh"}}}])
        scratch.append(batch)
    finally:
        scratch.close()
    # Everything imported and built so far lives as long as the server: move it out of the collector's reach.
    # Without this a full collection scans the ~1 M objects of the imported libraries and takes 115–190 ms, and the
    # ingest thread that triggers it holds the GIL meanwhile (the event loop stalls; seen in the benchmark above).
    gc.collect()
    gc.freeze()


def exit_on_sigterm() -> None:
    """Make SIGTERM a graceful stop, as SIGINT is: raise ``SystemExit(0)`` in the main thread, so every
    ``finally`` runs (the live feed stops, the twin checkpoints and closes the DuckDB file, no ``.wal`` is left).

    Why this is needed: uvicorn handles SIGTERM by shutting the server down, and then, to let the default
    behaviour happen, re-raises the signal it captured (``signal.raise_signal`` in ``Server.capture_signals``)
    after restoring the handler it found. With Python's default SIGTERM handler that kills the process on the
    spot (exit 143) before the caller's ``twin.close()``; SIGINT survived only because its default handler
    raises KeyboardInterrupt. With this handler installed first, uvicorn restores it and re-raising reaches it.
    """
    import signal
    import threading

    def _stop(signum: int, frame: object) -> None:
        raise SystemExit(0)

    if threading.current_thread() is threading.main_thread():  # as uvicorn: signals belong to the main thread
        signal.signal(signal.SIGTERM, _stop)


def serve(twin: Twin, settings: Settings) -> None:
    """Serve the API and the operations-centre console (``/console``) for ``twin`` until interrupted (blocking).

    SIGINT and SIGTERM both stop it gracefully: uvicorn finishes, then ``SystemExit`` / ``KeyboardInterrupt``
    unwinds to the caller, whose ``finally`` closes the twin (see :func:`exit_on_sigterm`)."""
    import uvicorn

    from lingang_twin import console
    from lingang_twin.api import create_app

    app = create_app(twin, settings, PACKS)
    board = console.mount(app, twin, settings, PACKS)  # same process, same twin: one writer of the DuckDB file
    energy_config = load_energy_config(settings.energy_config)
    app.state.energy_config = energy_config  # read by the energy pack's routes …
    board.energy_config = energy_config  # … and by its console page
    exit_on_sigterm()
    app.state.parse_pool.start()  # the JSON parsing children import now, not during the first large ingest
    warm_up()  # … and so does this process (an import in a worker thread holds the GIL: the loop stalls)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning", access_log=False)
