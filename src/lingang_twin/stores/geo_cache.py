"""The store's in-memory index of entity locations (``geo=`` queries), built on first use and kept right by every
entity write and delete.

Why in memory: a district's few thousand footprints answer a ``within``/``near`` query in microseconds in a
:class:`~lingang_twin.core.geometry.GeoIndex`, where SQL over GeoJSON text would parse every row. Any store can
hold one: it hands a loader of ``(ids, GeoJSON texts)`` and calls :meth:`GeoCache.wrote` / :meth:`GeoCache.deleted`
after its commits, under its write lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from lingang_twin.core.geometry import GeoIndex
from lingang_twin.core.model import Entity


class GeoCache:
    """A lazily built :class:`GeoIndex`. ``lock``: the store's write lock; the index is built under it, from the
    committed state, so no write can slip between the load and the first update."""

    def __init__(self, load: Callable[[], tuple[list[str], list[str]]], lock: threading.RLock) -> None:
        self._load = load
        self._lock = lock
        self._index: GeoIndex | None = None

    def index(self) -> GeoIndex:
        """The index, built on first use."""
        if self._index is not None:
            return self._index
        with self._lock:
            if self._index is None:
                index = GeoIndex()
                ids, geometries = self._load()
                index.load_trusted(ids, geometries)
                self._index = index
        return self._index

    def reset(self) -> None:
        """Forget the index: the next query builds it afresh from the store (as in a store just opened)."""
        with self._lock:
            self._index = None

    def wrote(self, entities: Iterable[Entity]) -> None:
        """After a committed write (still under the write lock): locations moved, added or dropped."""
        if self._index is None:  # not built yet: it will load the committed state when first asked
            return
        for e in entities:
            if e.location is not None:
                self._index.put(e.id, e.location)
            else:
                self._index.remove(e.id)

    def deleted(self, entity_id: str) -> None:
        """After a committed delete (still under the write lock)."""
        if self._index is not None:
            self._index.remove(entity_id)
