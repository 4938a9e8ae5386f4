"""Live updates: one server-side timer reads the store's change feed and the newest readings, and fans them out to
the open pages.

Why one timer: a page that polls the store on its own costs one query per open browser per second, and a busy
operations centre keeps dozens open. Here each answer (the overview's tiles, the parking list …) is computed once
per tick, only while some page listens for it, and handed to every listener.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nicegui import run

from lingang_twin.core.twin import SHANGHAI, Twin

log = logging.getLogger(__name__)

Listener = Callable[[Any], Awaitable[None] | None]
EntityListener = Callable[[set[str]], Awaitable[None] | None]
TickListener = Callable[[datetime], Awaitable[None] | None]

# Changes are read in pages of this size; a burst bigger than that is caught up over several ticks.
CHANGES_PAGE = 5_000


@dataclass
class Topic:
    """A shared answer: ``compute(twin)`` runs once per tick while anyone listens."""

    compute: Callable[[Twin], Any]
    listeners: list[Listener] = field(default_factory=list)
    last: Any = None


class LiveHub:
    """Reads ``twin.changes(seq)`` and the registered topics every ``interval`` seconds; calls listeners."""

    def __init__(self, twin: Twin, interval: float = 1.0) -> None:
        self.twin = twin
        self.interval = interval
        # Pages open on the present: history before the console started is not news.
        self.seq = twin.latest_change()
        self.topics: dict[str, Topic] = {}
        self.entity_listeners: list[EntityListener] = []
        self.tick_listeners: list[TickListener] = []
        self.ticks = 0
        self.last_tick: datetime | None = None

    def start(self) -> None:
        """Start the timer (call once, at app start-up or inside a page context)."""
        from nicegui import app

        app.timer(self.interval, self.tick, immediate=False)

    def add_topic(self, name: str, compute: Callable[[Twin], Any]) -> None:
        """Declare a shared answer ``name`` (idempotent: the first declaration wins)."""
        self.topics.setdefault(name, Topic(compute))

    def subscribe(self, name: str, listener: Listener) -> Callable[[], None]:
        """Call ``listener(value)`` after every tick with topic ``name``'s new value; returns an unsubscribe."""
        topic = self.topics[name]
        topic.listeners.append(listener)
        return lambda: _remove(topic.listeners, listener)

    def on_entities(self, listener: EntityListener) -> Callable[[], None]:
        """Call ``listener(ids)`` with the ids of entities created, changed or deleted since the last tick."""
        self.entity_listeners.append(listener)
        return lambda: _remove(self.entity_listeners, listener)

    def on_tick(self, listener: TickListener) -> Callable[[], None]:
        """Call ``listener(now)`` after every tick (the header clock)."""
        self.tick_listeners.append(listener)
        return lambda: _remove(self.tick_listeners, listener)

    async def compute(self, name: str) -> Any:
        """Compute topic ``name`` now (off the event loop) and remember it: a page's first paint."""
        topic = self.topics[name]
        topic.last = await run.io_bound(topic.compute, self.twin)
        return topic.last

    async def tick(self) -> None:
        """One round: changed entities, then every listened-to topic, then the tick listeners."""
        self.ticks += 1
        self.last_tick = now = self.twin.clock().astimezone(SHANGHAI)  # the twin's "now", as the pages read it
        try:
            changes = await run.io_bound(self.twin.changes, self.seq, CHANGES_PAGE) or []
        except Exception:  # a closed or busy store must not stop the timer; the next tick tries again
            log.exception("console live hub: reading the change feed failed")
            changes = []
        if changes:
            self.seq = changes[-1].seq
            ids = {c.entity_id for c in changes}
            await _fan_out(self.entity_listeners, ids)
        # A copy: a page opening during the awaits below may declare a new topic.
        for name, topic in list(self.topics.items()):
            if not topic.listeners:
                continue
            try:
                value = await run.io_bound(topic.compute, self.twin)
            except Exception:
                log.exception("console live hub: topic %s failed", name)
                continue
            if value is None:  # NiceGUI's io_bound answers None while the server shuts down: nothing to show
                continue
            topic.last = value
            await _fan_out(topic.listeners, value)
        await _fan_out(self.tick_listeners, now)


def _remove(listeners: list[Any], listener: Any) -> None:
    if listener in listeners:
        listeners.remove(listener)


async def _fan_out(listeners: list[Any], value: Any) -> None:
    # A copy: a listener may unsubscribe itself (its page closed) while we walk the list.
    for listener in list(listeners):
        try:
            result = listener(value)
            if inspect.isawaitable(result):
                await result
        except Exception:  # one broken page must not starve the others
            log.exception("console live hub: a listener failed; dropping it")
            _remove(listeners, listener)
