"""The caller's view of the twin (调用方视图): every read and write checks who asks, in the core.

:meth:`Twin.as_caller(principal) <lingang_twin.core.twin.Twin.as_caller>` gives a :class:`CallerTwin`: the same
store, types, lock and clock, but

* **reads** answer only what the caller may see. Its *reach* (:meth:`~lingang_twin.core.twin.Twin.reach_of`: a
  tenant's own entities, an API key's entity scope) is handed down to the store as an id restriction
  (``EntityQuery.visible``, ``SeriesQuery.visible``), so counts and pages are over the reach, never filtered after
  the fact. An entity out of reach is the same :class:`~lingang_twin.core.errors.NotFoundError` as a missing one:
  a caller cannot learn that it exists. Reading entities needs ``entities:read``, readings ``readings:read``.
* **writes** need the permission (``entities:write`` and the role's write types, ``lifecycle:write`` for a phase
  change, ``entities:delete``, ``readings:write``, ``readings:correct`` for replacing or deleting readings) and
  every entity touched — written, pointed at, or read into — inside the reach; else
  :class:`~lingang_twin.core.access.AccessDenied` (403) and nothing is written. For a restricted caller an id out
  of reach is refused the same way whether or not it exists, so a refusal reveals nothing either.
* every write (allowed or refused) and every escalation (:meth:`CallerTwin.elevated`) is recorded as an
  :class:`~lingang_twin.core.access.AuditEvent` when the twin has an audit sink (``Twin.audit``).

The work itself is done by the SYSTEM twin underneath (``self.root``), so the validation, the lock and the store
are the ones every other face uses; this class only decides whether, and narrows what comes back (each entity is
shown through :meth:`~lingang_twin.core.twin.Twin._present`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import date, datetime
from typing import Any, Literal, NoReturn

import pyarrow as pa
import pyarrow.compute as pc

from lingang_twin.core.access import SYSTEM, AccessDenied, AuditEvent, Principal
from lingang_twin.core.errors import NotFoundError, ValidationError
from lingang_twin.core.ids import parse_entity_id
from lingang_twin.core.model import Entity, Phase
from lingang_twin.core.observations import IngestResult, Observation, ObservationBatch, OnConflict
from lingang_twin.core.store import Change, EntityPage, EntityQuery, SeriesGroup, SeriesQuery, Store
from lingang_twin.core.twin import MAX_CHANGES_PAGE, ItemResult, Twin


class CallerTwin(Twin):
    """A :class:`~lingang_twin.core.twin.Twin` seen by ``principal`` (build it with ``twin.as_caller``).

    Attributes not overridden here (``types``, ``clock``, ``future_horizon`` …) are the root twin's, read live.
    ``store`` is there only for a caller holding ``store:admin``: reading the store directly would bypass every
    check below.
    """

    def __init__(self, root: Twin, who: Principal) -> None:
        # Deliberately not Twin.__init__: the view owns no state of its own beyond its caller.
        self.root = root
        self.principal = who

    def __getattr__(self, name: str) -> Any:
        # Only called for attributes the view lacks: the root's types, clock, lock, horizon …
        if name in ("root", "principal"):
            raise AttributeError(name)
        return getattr(self.root, name)

    @property  # type: ignore[override]
    def store(self) -> Store:
        """The root's store, for ``store:admin`` only (backups, compaction)."""
        self._need("store:admin")
        return self.root.store

    @store.setter
    def store(self, value: Store) -> None:  # pragma: no cover - a view never replaces the store
        raise AttributeError("a caller's view cannot replace the store")

    @property
    def audit(self) -> Any:  # type: ignore[override]
        """The root twin's audit sink (set once on the root, used by every view)."""
        return self.root.audit

    # -- helpers -------------------------------------------------------------------------------------------------
    def _need(self, permission: str) -> None:
        if not self.principal.can(permission):
            raise AccessDenied(self.principal, permission)

    def visible_ids(self) -> frozenset[str] | None:
        """The ids this caller may see (``None``: everything)."""
        return self.root.reach_of(self.principal)

    def _sees(self, entity_id: str, reach: frozenset[str] | None = None) -> bool:
        reach = self.visible_ids() if reach is None else reach
        return reach is None or entity_id in reach

    def _out_of_reach(self, permission: str, entity_id: str) -> NoReturn:
        raise AccessDenied(self.principal, permission,
                           f"{self.principal.subject} may not touch {entity_id} / 无权操作该实体: {entity_id}",
                           entity=entity_id)

    def _record(self, action: str, targets: Iterable[str], outcome: Literal["ok", "denied", "failed"] = "ok",
                **detail: Any) -> None:
        sink = self.root.audit
        if sink is None:
            return
        ids = sorted(set(targets))
        sink.record(AuditEvent(actor=self.principal.subject, action=action, target=ids[0] if len(ids) == 1 else
                               None, outcome=outcome, detail={"targets": ids[:100], "count": len(ids), **detail},
                               roles=tuple(sorted(self.principal.roles)), at=self.root.clock()))

    def _audited(self, action: str, targets: list[str], run: Any, **detail: Any) -> Any:
        """Run a write, recording its outcome (denied, failed, ok) in the audit log."""
        try:
            out = run()
        except AccessDenied:
            self._record(action, targets, "denied", **detail)
            raise
        except Exception as err:
            self._record(action, targets, "failed", error=type(err).__name__, **detail)
            raise
        self._record(action, targets, **detail)
        return out

    def elevated(self, reason: str) -> Twin:
        """The SYSTEM twin, for a derived figure the caller may have but not compute from what it may read raw
        (a tenant's bill allocates the building's meters). Recorded in the audit log with ``reason`` first. Call
        it only after checking the caller may see the figure's subject."""
        if not isinstance(reason, str) or not reason.strip():
            raise ValidationError("reason", "required", "an escalation needs a reason / 提权须说明原因")
        self._record("twin.elevate", [], reason=reason)
        return self.root

    def as_caller(self, who: Principal) -> Twin:
        """Another caller's view of the same root twin."""
        return self.root.as_caller(who)

    # -- entity reads --------------------------------------------------------------------------------------------
    def get(self, entity_id: str) -> Entity:
        """One entity in reach; NotFoundError if absent or out of reach (the same answer)."""
        self._need("entities:read")
        parse_entity_id(entity_id)
        if not self._sees(entity_id):
            raise NotFoundError("entity", entity_id)
        return self._present(self.root.get(entity_id))

    def get_many(self, ids: Iterable[str]) -> dict[str, Entity]:
        """The entities among ``ids`` that exist and are in reach."""
        self._need("entities:read")
        reach = self.visible_ids()
        wanted = [i for i in ids if reach is None or i in reach]
        return {k: self._present(e) for k, e in self.root.get_many(wanted).items()}

    def existing(self, ids: Iterable[str]) -> set[str]:
        """The subset of ``ids`` that exist and are in reach."""
        self._need("entities:read")
        reach = self.visible_ids()
        return self.root.existing(i for i in ids if reach is None or i in reach)

    def ancestors(self, entity_id: str, relationship: str = "containedIn") -> list[str]:
        """The chain from ``entity_id`` along ``relationship``, kept to the ids in reach (empty out of reach)."""
        self._need("entities:read")
        reach = self.visible_ids()
        if not self._sees(entity_id, reach):
            return []
        return [a for a in self.root.ancestors(entity_id, relationship) if reach is None or a in reach]

    def count(self) -> int:
        """How many entities this caller may see."""
        self._need("entities:read")
        reach = self.visible_ids()
        return self.root.count() if reach is None else len(reach)

    @property
    def schema_version(self) -> int:
        """The store's schema version."""
        return self.root.schema_version

    def series_of(self, entity_id: str) -> dict[str, str | None]:
        """The series of an entity in reach (empty otherwise, as for an unknown one)."""
        self._need("entities:read")
        return self.root.series_of(entity_id) if self._sees(entity_id) else {}

    def last_observed(self, entity_ids: Iterable[str]) -> dict[str, datetime]:
        """The newest reading instant of each entity in reach."""
        self._need("readings:read")
        reach = self.visible_ids()
        return self.root.last_observed(i for i in entity_ids if reach is None or i in reach)

    def query(self, query: EntityQuery | None = None, **kwargs: Any) -> EntityPage:
        """Entities matching a query, among those in reach (the count too)."""
        self._need("entities:read")
        checked = self.root._entity_query(query, kwargs)
        reach = self.visible_ids()
        if reach is not None:
            checked = replace(checked, visible=reach if checked.visible is None else checked.visible & reach)
        page = self.root.store.query_entities(checked)
        return EntityPage([self._present(e) for e in page.entities], page.total)

    def changes(self, since: int = 0, limit: int = 1000) -> list[Change]:
        """The change feed, kept to entities in reach: up to ``limit`` of them numbered above ``since`` (the feed
        is read on past others' changes, so a tenant's reader is not stalled behind them)."""
        self._need("entities:read")
        reach = self.visible_ids()
        if reach is None:
            return self.root.changes(since, limit)
        out: list[Change] = []
        seq = since
        while len(out) < limit:
            page = self.root.changes(seq, MAX_CHANGES_PAGE)
            if not page:
                break
            for c in page:
                if c.entity_id in reach:
                    out.append(c)
                    if len(out) == limit:
                        break
            seq = page[-1].seq
        return out

    def latest_change(self) -> int:
        """The ``seq`` of the newest change."""
        return self.root.latest_change()

    def validate(self, entities: Iterable[Entity | Mapping[str, Any]]) -> list[Entity]:
        """Check entities as a write would (needs ``entities:write``)."""
        self._need("entities:write")
        return self.root.validate(entities)

    # -- readings ------------------------------------------------------------------------------------------------
    def _in_reach(self, query: SeriesQuery) -> SeriesQuery:
        """``query`` narrowed to the series in reach; an entity or ``under`` out of reach is NotFound."""
        self._need("readings:read")
        reach = self.visible_ids()
        if reach is not None:
            for name in ("entity_id", "under"):
                target = getattr(query, name)
                if target is not None and target not in reach:
                    parse_entity_id(target, name)
                    raise NotFoundError("entity", target)
            query = replace(query, visible=reach if query.visible is None else query.visible & reach)
        return query

    def series(self, query: SeriesQuery) -> pa.Table:
        """A read or an aggregate over the series in reach; an entity or ``under`` out of reach is NotFound."""
        return self.root.series(self._in_reach(query))

    def series_groups(self, query: SeriesQuery) -> list[SeriesGroup]:
        """What a series query covers, counted over the series in reach."""
        return self.root.series_groups(self._in_reach(query))

    def iter_series(self, query: SeriesQuery, chunk_rows: int = 100_000) -> Iterator[pa.Table]:
        """Raw readings in chunks, of the series in reach."""
        # Twin.iter_series pages through self.series: the check above runs once per chunk.
        return Twin.iter_series(self, query, chunk_rows)

    # -- entity writes -------------------------------------------------------------------------------------------
    def _check_entities(self, items: list[Any]) -> list[str]:
        """Refuse (AccessDenied) unless this caller may write every item: ``entities:write``, its type among the
        role's write types, the entity (if it exists) and every relationship target in reach, a new id inside an
        API key's entity scope, ``lifecycle:write`` to change a stored phase. Items that do not parse are left for
        the twin's validation to report. Returns the ids."""
        self._need("entities:write")
        who = self.principal
        parsed: list[Entity] = []
        for raw in items:
            try:
                parsed.append(self.root._normalise(raw))
            except ValidationError:
                continue
        reach = self.visible_ids()
        ids = [e.id for e in parsed]
        stored = self.root.store.get_entities(ids)
        for e in parsed:
            if not who.may_write_type(e.type):
                raise AccessDenied(who, "entities:write", f"{who.subject} may not write {e.type} entities / "
                                   f"无权写入 {e.type} 类型实体", entity=e.id)
            old = stored.get(e.id)
            if old is not None and not self._sees(e.id, reach):
                self._out_of_reach("entities:write", e.id)
            if old is None and not who.in_entity_scope(e.id):
                self._out_of_reach("entities:write", e.id)
            if old is not None and old.phase != e.phase and not who.can("lifecycle:write"):
                raise AccessDenied(who, "lifecycle:write", entity=e.id)
            for rel in e.relationships.values():
                for t in rel.targets:
                    if t not in ids and not self._sees(t, reach):
                        self._out_of_reach("entities:write", t)
        return ids

    def upsert(self, entities: Iterable[Entity | Mapping[str, Any]] | Entity, *,
               phase_since: date | None = None) -> list[str]:
        """Create or replace entities the caller may write (all or nothing; AccessDenied writes nothing)."""
        items = [entities] if isinstance(entities, Entity) else list(entities)
        with self.root._lock:
            ids: list[str] = []

            def run() -> list[str]:
                ids.extend(self._check_entities(items))
                return self.root.upsert(items, phase_since=phase_since)

            return self._audited("entities.upsert", ids, run)

    def upsert_each(self, entities: Iterable[Entity | Mapping[str, Any]], *,
                    phase_since: date | None = None) -> list[ItemResult]:
        """Upsert item by item, after checking that the caller may write every item (a batch holding one it may
        not write is refused whole: nothing is written)."""
        items = list(entities)
        with self.root._lock:
            ids: list[str] = []

            def run() -> list[ItemResult]:
                ids.extend(self._check_entities(items))
                return self.root.upsert_each(items, phase_since=phase_since)

            return self._audited("entities.upsert", ids, run)

    def create(self, entity: Entity | Mapping[str, Any]) -> str:
        """Create one entity the caller may write (checked before the id is looked up)."""
        with self.root._lock:
            ids: list[str] = []

            def run() -> str:
                ids.extend(self._check_entities([entity]))
                return self.root.create(entity)

            return str(self._audited("entities.create", ids, run))

    def patch(self, entity_id: str, *, properties: Mapping[str, Any] | None = None,
              relationships: Mapping[str, Any] | None = None, geo: Mapping[str, Any] | None = None,
              remove: Iterable[str] = (), phase: Phase | None = None, phase_since: date | None = None) -> Entity:
        """Change an entity in reach: ``entities:write`` (and its type) for attributes, ``lifecycle:write`` for a
        phase; new relationship targets must be in reach."""
        remove = list(remove)
        attrs = bool(properties or relationships or geo or remove)
        action = "entities.patch" if attrs or phase is None else "lifecycle.write"

        def run() -> Entity:
            self._need("entities:write" if attrs or phase is None else "lifecycle:write")
            if phase is not None:
                self._need("lifecycle:write")
            parse_entity_id(entity_id)
            reach = self.visible_ids()
            if not self._sees(entity_id, reach):
                self._out_of_reach("entities:write", entity_id)  # missing or hidden: the same refusal
            if attrs or phase is None:
                etype = parse_entity_id(entity_id)[0]
                if not self.principal.may_write_type(etype):
                    raise AccessDenied(self.principal, "entities:write", f"{self.principal.subject} may not write "
                                       f"{etype} entities / 无权写入 {etype} 类型实体", entity=entity_id)
            for value in (relationships or {}).values():
                for t in _targets(value):
                    if not self._sees(t, reach):
                        self._out_of_reach("entities:write", t)
            return self.root.patch(entity_id, properties=properties, relationships=relationships, geo=geo,
                                   remove=remove, phase=phase, phase_since=phase_since)

        with self.root._lock:
            return self._present(self._audited(action, [entity_id], run,
                                               **({"phase": phase} if phase is not None else {})))

    def delete(self, entity_id: str) -> None:
        """Delete an entity in reach (``entities:delete``)."""
        def run() -> None:
            self._need("entities:delete")
            parse_entity_id(entity_id)
            if not self._sees(entity_id):
                self._out_of_reach("entities:delete", entity_id)
            self.root.delete(entity_id)

        with self.root._lock:
            self._audited("entities.delete", [entity_id], run)

    # -- reading writes ------------------------------------------------------------------------------------------
    def append(self, observations: ObservationBatch | Iterable[Observation | Mapping[str, Any]], *,
               on_conflict: OnConflict = "reject") -> IngestResult:
        """Store readings of entities in reach (``readings:write``; replacing stored ones, ``on_conflict=
        "replace"``, needs ``readings:correct`` too). An id out of reach is refused whether or not it exists."""
        correcting = on_conflict == "replace"
        action = "readings.correct" if correcting else "readings.append"
        ids: list[str] = []
        size: dict[str, int] = {}

        def run() -> IngestResult:
            self._need("readings:write")  # before the batch is parsed: a refusal says nothing about the data
            if correcting:
                self._need("readings:correct")
            batch = observations if isinstance(observations, ObservationBatch) else \
                ObservationBatch.from_records(observations)
            size["readings"] = len(batch)
            if len(batch) == 0:
                return IngestResult(received=0, inserted=0, duplicates=0)
            reach = self.visible_ids()
            distinct = pc.unique(batch.table["entity_id"]).to_pylist()
            ids.extend(str(i) for i in distinct)
            if reach is not None:
                outside = next((i for i in ids if i not in reach), None)
                if outside is not None:
                    self._out_of_reach("readings:write", outside)
            return self.root.append(batch, on_conflict=on_conflict)

        return self._audited(action, ids, run, readings=size)  # type: ignore[no-any-return]

    def delete_readings(self, entity_id: str | None, attribute: str | None, start: datetime | None,
                        end: datetime | None) -> int:
        """Delete readings of one series of an entity in reach (``readings:correct``)."""
        def run() -> int:
            self._need("readings:correct")
            if entity_id is not None and entity_id != "" and not self._sees(entity_id):
                parse_entity_id(entity_id, "entity_id")
                self._out_of_reach("readings:correct", entity_id)
            return self.root.delete_readings(entity_id, attribute, start, end)

        return int(self._audited("readings.delete", [entity_id] if entity_id else [], run,
                                 attribute=attribute, start=start.isoformat() if start else None,
                                 end=end.isoformat() if end else None))

    def close(self) -> None:
        """A view does not close the twin it looks at (the face that opened the twin does)."""


def _targets(value: Any) -> list[str]:
    """The target ids of a relationship as a patch gives it (an id, a list, ``{"object": …}``)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return _targets(value.get("object", value.get("targets")))
    if isinstance(value, list | tuple):
        return [t for v in value for t in _targets(v)]
    return []


__all__ = ["SYSTEM", "CallerTwin"]
