"""The twin: the one object the faces and packs talk to.

It validates everything at the edge — ids, types, property models, units, geometry, relationships, lifecycle,
readings — and hands a :class:`~lingang_twin.core.store.Store` only data that is already correct. Any bad input
raises a :class:`~lingang_twin.core.errors.ValidationError` naming the field and the rule, before anything is
written.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from lingang_twin.core.access import SYSTEM, AuditSink, Principal
from lingang_twin.core.base_types import register_base_types
from lingang_twin.core.calendar import SHANGHAI
from lingang_twin.core.errors import ConflictError, NotFoundError, ValidationError
from lingang_twin.core.geometry import validate_geometry
from lingang_twin.core.ids import parse_entity_id
from lingang_twin.core.model import PHASES, RESERVED_NAMES, Entity, LifecycleChange, Phase, Property
from lingang_twin.core.observations import (
    ATTRIBUTE_NAME,
    IngestResult,
    Observation,
    ObservationBatch,
    OnConflict,
    check_date,
    check_instant,
    check_text,
    micros_iso,
)
from lingang_twin.core.q import Expr, parse_q
from lingang_twin.core.store import (
    AGGS,
    BUCKETS,
    Change,
    Conversion,
    EntityPage,
    EntityQuery,
    EntityWrite,
    SeriesGroup,
    SeriesQuery,
    SeriesSpec,
    Store,
)
from lingang_twin.core.types import EntityType, TypeRegistry, model_errors_to_validation, register_type
from lingang_twin.core.units import check_unit, conversion
from lingang_twin.core.values import check_json_value

MAX_CHANGES_PAGE = 100_000  # changes read at once; a reader that is further behind pages through
MAX_PAGE_ROWS = 1_000_000  # a raw-read page the store builds at once; faces set their own, smaller, limits
ON_CONFLICT = ("reject", "replace", "keep")
FUTURE_HORIZON = timedelta(days=1)
"""How far past now a reading may be stamped by default: a meter's clock may run ahead, a reading from 2099 is a
typo that would stretch every chart. A deployment that stores forecasts as readings widens it."""


@dataclass(frozen=True)
class ItemResult:
    """The fate of one item of a batch: ``stored``, or the ``error`` that kept it out."""

    index: int
    id: str | None
    stored: bool
    error: ValidationError | None = None


def today_in_shanghai() -> date:
    """Today's date in the district's calendar."""
    return datetime.now(SHANGHAI).date()


def _check_value(value: Any, field: str) -> None:
    """Refuse what a property value must not hold, anywhere inside it: NaN and infinities, control characters in
    text and keys (tab and line breaks are allowed in text), and date-times or dates outside 1900–2200."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationError(field, "finite", f"{value} is not a finite number / 数值不能为 NaN 或无穷",
                              value=str(value))
    if isinstance(value, str):
        check_text(value, field, allow_layout=True)
    elif isinstance(value, datetime):
        if value.tzinfo is not None and value.utcoffset() is not None:
            check_instant(value, field)
        else:
            check_date(value.date(), field)
    elif isinstance(value, date):
        check_date(value, field)
    elif isinstance(value, Mapping):
        for k, v in value.items():
            if isinstance(k, str):
                check_text(k, f"{field}.{k!r}")
            _check_value(v, f"{field}.{k}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _check_value(v, f"{field}[{i}]")


def _check_name(name: str, field: str) -> None:
    if not isinstance(name, str) or not ATTRIBUTE_NAME.match(name):
        raise ValidationError(field, "attribute-name",
                              f"{name!r} is not an attribute name (letters, digits and _) / 属性名无效")
    if name in RESERVED_NAMES:
        raise ValidationError(field, "attribute-reserved", f"{name!r} is reserved / {name!r} 为保留名称")


def _aware(value: datetime | None, field: str) -> datetime | None:
    """``value`` if it is time-zone aware and within 1900–2200 (or ``None``); else a ValidationError."""
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(field, "timezone-required",
                              f"{value.isoformat()} has no time zone / 时间必须带时区", value=value.isoformat())
    return check_instant(value, field)


def _choose(name: str, value: Any, valid: Sequence[str], field: str) -> None:
    if value not in valid:
        raise ValidationError(field, f"{field}-choice",
                              f"{value!r} is not a valid {name}; choose one of {', '.join(valid)}", value=value)


class Twin:
    """The district twin over one store. Thread-safe: writes are serialised.

    ``future_horizon``: how far past ``clock()`` a reading may be stamped (default one day); ``clock``: the time
    now, time-zone aware (tests inject a fixed one, so no check depends on the real date).

    This object acts as :data:`~lingang_twin.core.access.SYSTEM` (the platform itself). Faces hand packs and routes
    :meth:`as_caller` views instead, whose every read and write checks the caller. ``audit``: where those views
    record operator writes and escalations (``None``: not recorded; the accounts face sets one).
    """

    principal: Principal = SYSTEM
    audit: AuditSink | None = None

    def __init__(self, store: Store, types: TypeRegistry | None = None, *,
                 future_horizon: timedelta = FUTURE_HORIZON,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.store = store
        self.types = types if types is not None else TypeRegistry()
        register_base_types(self.types)
        self._lock = threading.RLock()
        self.future_horizon = future_horizon
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.audit = None
        # The callers' reach, by (tenant, entity scope): (Store.changes_version it was computed at, ids).
        self._reach: dict[tuple[str | None, tuple[str, ...] | None], tuple[int, frozenset[str]]] = {}

    # -- who is asking -----------------------------------------------------------------------------------------
    def as_caller(self, who: Principal) -> Twin:
        """A view of this twin (same store, types, lock and clock) whose every read and write checks ``who``:
        reads answer only what it may see (an entity out of its reach is the same NotFoundError as a missing
        one), writes need the permission and an entity in reach (else :class:`~lingang_twin.core.access.
        AccessDenied`), and operator writes are audited. :data:`~lingang_twin.core.access.SYSTEM` gets this twin
        itself. See :class:`lingang_twin.core.caller.CallerTwin`."""
        if who is SYSTEM or (who.kind == "system" and who.unrestricted and who.can("*")):
            return self
        from lingang_twin.core.caller import CallerTwin

        return CallerTwin(self, who)

    def elevated(self, reason: str) -> Twin:
        """The SYSTEM twin, for a derived figure that needs what the caller may not read raw (a tenant's bill
        allocates the building's meters). This twin is SYSTEM already: it answers itself; a caller's view records
        the escalation in the audit log first."""
        if not isinstance(reason, str) or not reason.strip():
            raise ValidationError("reason", "required", "an escalation needs a reason / 提权须说明原因")
        return self

    def visible_ids(self) -> frozenset[str] | None:
        """The ids this twin's caller may see (``None``: everything)."""
        return None

    def reach_of(self, who: Principal) -> frozenset[str] | None:
        """The ids ``who`` may see (``None``: no restriction): for a ``tenant``, its Enterprise, what it
        ``occupies`` and everything contained in that, the meters whose ``tenant`` it is (and what they contain);
        for an ``entity_scope``, the matching ids (both: the intersection). Computed once per state of the change
        feed (``Store.changes_version``: entity writes are in the feed; readings are not, and change no one's
        reach) and cached, so a read pays a set look-up."""
        if who.unrestricted:
            return None
        key = (who.tenant, who.entity_scope)
        head = self.store.changes_version()
        hit = self._reach.get(key)
        if hit is not None and hit[0] == head:
            return hit[1]
        ids = self._compute_reach(who)
        if len(self._reach) > 1024:  # one entry per tenant and key scope: bounded, never a leak of memory
            self._reach.clear()
        self._reach[key] = (head, ids)
        return ids

    def _ids_where(self, **kwargs: Any) -> set[str]:
        """Every id matching an entity query (fields of :class:`EntityQuery`), page by page, straight from the
        store."""
        out: set[str] = set()
        offset = 0
        while True:
            page = self.store.query_entities(EntityQuery(limit=10_000, offset=offset, **kwargs))
            out.update(e.id for e in page.entities)
            offset += len(page.entities)
            if not page.entities or offset >= page.total:
                return out

    def _compute_reach(self, who: Principal) -> frozenset[str]:
        reach: set[str] | None = None
        if who.tenant is not None:
            tenant = self.store.get_entities([who.tenant]).get(who.tenant)
            reach = set()
            if tenant is not None and tenant.type == "Enterprise":
                rel = tenant.relationships.get("occupies")
                places = self.store.existing_ids(list(rel.targets)) if rel is not None else set()
                meters = self._ids_where(types=("Meter",), related=("tenant", tenant.id))
                reach = {tenant.id} | places | meters
                for root in sorted(places | meters):
                    reach |= self._ids_where(under=root)
        if who.entity_scope is not None:
            exact = [p for p in who.entity_scope if "*" not in p]
            scoped = self.store.existing_ids(exact) if exact else set()
            for pattern in (p for p in who.entity_scope if "*" in p):
                scoped |= self._ids_where(id_pattern=_glob_regex(pattern))
            reach = scoped if reach is None else reach & scoped
        return frozenset(reach or ())

    def _present(self, entity: Entity) -> Entity:
        """The entity as it is shown to this twin's caller (``self.principal``): the ONE place every entity read
        through a caller's view passes (:class:`~lingang_twin.core.caller.CallerTwin`): personal data masked for a
        caller without ``data:personal``, important data removed without ``data:important``
        (:func:`lingang_twin.core.classification.mask`, by the root twin's classifier)."""
        from lingang_twin.core.classification import classifier_for, mask

        who = self.principal
        if who.can("data:personal") and who.can("data:important"):
            return entity
        return mask(entity, who, classifier_for(getattr(self, "root", self)))

    def close(self) -> None:
        """Close the store."""
        self.store.close()

    def __enter__(self) -> Twin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def register_type(self, name: str, properties: type[BaseModel] | None = None, **kwargs: Any) -> EntityType:
        """Register an entity type on this twin (see :func:`lingang_twin.core.types.register_type`)."""
        if properties is None:
            return register_type(self.types, name, **kwargs)
        return register_type(self.types, name, properties, **kwargs)

    # -- entities ---------------------------------------------------------------------------------------------
    def _normalise(self, raw: Entity | Mapping[str, Any]) -> Entity:
        """Check one entity on its own (no store look-ups) and return it normalised."""
        if isinstance(raw, Entity):
            entity = raw
        else:
            if not isinstance(raw, Mapping):
                raise ValidationError("entity", "object", "an entity must be an object")
            try:
                entity = Entity.model_validate(dict(raw))
            except PydanticValidationError as err:
                raise model_errors_to_validation(err, "entity") from None
        type_from_id, _ = parse_entity_id(entity.id, "id")
        spec = self.types.get(entity.type, "type")
        if type_from_id != entity.type:
            raise ValidationError("id", "id-type-mismatch",
                                  f"id {entity.id!r} names type {type_from_id!r} but type is {entity.type!r}")
        seen: set[str] = set()
        for kind, names in (("properties", entity.properties), ("relationships", entity.relationships),
                            ("geo", entity.geo)):
            for name in names:
                _check_name(name, f"{kind}.{name}")
                if name in seen:
                    raise ValidationError(f"{kind}.{name}", "attribute-duplicate",
                                          f"{name!r} is used by more than one kind of attribute")
                seen.add(name)
        props = self._check_properties(spec, entity.properties)
        if spec.relationships is not None:
            for name in entity.relationships:
                if name not in spec.relationships:
                    raise ValidationError(f"relationships.{name}", "relationship-unknown",
                                          f"type {spec.name} has no relationship {name!r}; allowed: "
                                          f"{', '.join(spec.relationships)}")
        for name, rel in entity.relationships.items():
            if not rel.targets:
                raise ValidationError(f"relationships.{name}", "required", "a relationship needs a target")
            for t in rel.targets:
                parse_entity_id(t, f"relationships.{name}.object")
                if t == entity.id:
                    raise ValidationError(f"relationships.{name}.object", "self-reference",
                                          "an entity cannot point at itself / 实体不能引用自身")
        geo = {name: validate_geometry(g, f"geo.{name}") for name, g in entity.geo.items()}
        for k, change in enumerate(entity.lifecycle):
            check_date(change.since, f"lifecycle[{k}].since")
        if entity.phase_since is not None:
            check_date(entity.phase_since, "phase_since")
        lifecycle = sorted({c.since: c for c in entity.lifecycle}.values(), key=lambda c: c.since)
        phase = entity.phase
        if lifecycle and "phase" not in entity.model_fields_set:
            phase = lifecycle[-1].phase
        elif lifecycle and lifecycle[-1].phase != phase:
            raise ValidationError("phase", "phase-lifecycle-mismatch",
                                  f"phase {phase!r} differs from the latest lifecycle change "
                                  f"({lifecycle[-1].phase!r} since {lifecycle[-1].since})")
        return entity.model_copy(update={"properties": props, "geo": geo, "lifecycle": lifecycle,
                                         "phase": phase})

    def _check_properties(self, spec: EntityType, properties: Mapping[str, Property]) -> dict[str, Property]:
        units = spec.property_units()
        out: dict[str, Property] = {}
        for name, prop in properties.items():
            check_json_value(prop.value, f"properties.{name}.value")  # first: bounds the recursive checks below
            _check_value(prop.value, f"properties.{name}.value")
            _aware(prop.observed_at, f"properties.{name}.observed_at")
            value, unit = prop.value, prop.unit
            if unit is not None:
                check_unit(unit, f"properties.{name}.unit")
            canonical = units.get(name)
            if canonical is not None and unit is not None and unit != canonical:
                if not isinstance(value, int | float) or isinstance(value, bool):
                    raise ValidationError(f"properties.{name}.value", "number",
                                          "a value with a unit must be a number")
                try:
                    scale, offset = conversion(unit, canonical)
                except ValidationError as err:
                    raise ValidationError(f"properties.{name}.unit", err.rule, err.message, value=unit) from None
                value = value * scale + offset
            out[name] = Property(value=value, unit=canonical or unit, observed_at=prop.observed_at)
        try:
            model = spec.properties.model_validate({k: p.value for k, p in out.items()})
        except PydanticValidationError as err:
            raise model_errors_to_validation(err, "properties") from None
        dumped = model.model_dump(by_alias=True, exclude_unset=True)
        for k, v in dumped.items():  # what a type's model made of the values (a parsed date, say) is checked too
            _check_value(v, f"properties.{k}.value")
        return {k: p.model_copy(update={"value": dumped.get(k, p.value)}) for k, p in out.items()}

    def validate(self, entities: Iterable[Entity | Mapping[str, Any]]) -> list[Entity]:
        """Check entities against the registry, units, geometry and the store (relationship targets exist,
        containment has no cycle). Raises the first error with the item's ``index``; returns them normalised."""
        checked: list[Entity] = []
        for i, raw in enumerate(entities):
            try:
                checked.append(self._normalise(raw))
            except ValidationError as err:
                raise err.at(i) from None
        ids = [e.id for e in checked]
        if len(set(ids)) != len(ids):
            dup = next(x for i, x in enumerate(ids) if x in ids[:i])
            raise ValidationError("id", "id-duplicate", f"{dup} appears twice in one batch",
                                  index=ids.index(dup, ids.index(dup) + 1))
        in_batch = {e.id: e for e in checked}
        targets = {t for e in checked for r in e.relationships.values() for t in r.targets}
        known = self.store.existing_ids(sorted(targets - set(in_batch))) | set(in_batch)
        for i, e in enumerate(checked):
            for name, rel in e.relationships.items():
                for t in rel.targets:
                    if t not in known:
                        raise ValidationError(f"relationships.{name}.object", "unknown-target",
                                              f"{t} does not exist / 目标实体不存在", value=t, index=i)
        self._check_containment(checked)
        return checked

    def _check_containment(self, entities: list[Entity]) -> None:
        parent: dict[str, str | None] = {e.id: e.target("containedIn") for e in entities}
        # Stored ancestor chains, looked up once per distinct parent outside the batch (10,000 buildings in one
        # district are one query, not 10,000).
        chains: dict[str, list[str]] = {}
        for i, e in enumerate(entities):
            seen = {e.id}
            node = parent[e.id]
            while node is not None:
                if node in seen:
                    raise ValidationError("relationships.containedIn.object", "containment-cycle",
                                          f"{e.id} would end up inside itself / 包含关系成环", index=i)
                seen.add(node)
                if node in parent:
                    node = parent[node]
                else:
                    if node not in chains:
                        chains[node] = self.store.ancestors(node, "containedIn")
                    hit = next((a for a in chains[node] if a in seen or a in parent), None)
                    if hit is None:
                        break
                    node = hit

    def upsert(self, entities: Iterable[Entity | Mapping[str, Any]] | Entity, *,
               phase_since: date | None = None) -> list[str]:
        """Create or replace entities, all or nothing. A phase that differs from the stored one is recorded as a
        lifecycle change dated ``phase_since`` (or the entity's ``phase_since``, or today). Returns the ids."""
        if phase_since is not None:
            check_date(phase_since, "phase_since")
        items = [entities] if isinstance(entities, Entity) else list(entities)
        with self._lock:
            return self._write(self.validate(items), phase_since)

    def upsert_each(self, entities: Iterable[Entity | Mapping[str, Any]], *,
                    phase_since: date | None = None) -> list[ItemResult]:
        """Create or replace entities item by item: every valid item is stored (in one transaction), every
        invalid one is reported with its error — including items whose relationship target failed."""
        items = list(entities)
        results: dict[int, ValidationError] = {}
        good: dict[int, Entity] = {}
        with self._lock:
            for i, raw in enumerate(items):
                try:
                    good[i] = self._normalise(raw)
                except ValidationError as err:
                    results[i] = err.at(i)
            first_of: dict[str, int] = {}
            for i, e in list(good.items()):
                if e.id in first_of:
                    results[i] = ValidationError("id", "id-duplicate", f"{e.id} appears twice in one batch", index=i)
                    del good[i]
                else:
                    first_of[e.id] = i
            changed = True
            while changed:  # a failed item fails the items that point at it, and so on
                changed = False
                batch_ids = {e.id for e in good.values()}
                targets = {t for e in good.values() for r in e.relationships.values() for t in r.targets}
                known = self.store.existing_ids(sorted(targets - batch_ids)) | batch_ids
                for i, e in list(good.items()):
                    missing = next(((n, t) for n, r in e.relationships.items() for t in r.targets
                                    if t not in known), None)
                    if missing is not None:
                        results[i] = ValidationError(f"relationships.{missing[0]}.object", "unknown-target",
                                                     f"{missing[1]} does not exist / 目标实体不存在",
                                                     value=missing[1], index=i)
                        del good[i]
                        changed = True
            while good:
                order = list(good)
                try:
                    self._check_containment([good[i] for i in order])
                    break
                except ValidationError as err:
                    bad = order[err.index or 0]
                    results[bad] = err.at(bad)
                    del good[bad]
            stored = set(self._write(list(good.values()), phase_since)) if good else set()
        out = []
        for i, raw in enumerate(items):
            eid = raw.id if isinstance(raw, Entity) else raw.get("id") if isinstance(raw, Mapping) else None
            out.append(ItemResult(index=i, id=eid if isinstance(eid, str) else None,
                                  stored=i in good and good[i].id in stored, error=results.get(i)))
        return out

    def _write(self, checked: list[Entity], phase_since: date | None) -> list[str]:
        stored = self.store.get_entities([e.id for e in checked])
        changes: list[tuple[str, LifecycleChange]] = []
        out: list[Entity] = []
        for e in checked:
            old = stored.get(e.id)
            history = {c.since: c for c in (old.lifecycle if old else [])}
            for c in e.lifecycle:
                history[c.since] = c
            if not e.lifecycle and (old is None or old.phase != e.phase):
                since = e.phase_since or phase_since or today_in_shanghai()
                history[since] = LifecycleChange(phase=e.phase, since=since)
            merged = sorted(history.values(), key=lambda c: c.since)
            new_changes = [c for c in merged if old is None or c not in old.lifecycle]
            changes.extend((e.id, c) for c in new_changes)
            current = merged[-1].phase if merged else e.phase
            out.append(e.model_copy(update={"lifecycle": merged, "phase": current}))
        self.store.write_entities(EntityWrite(entities=out, lifecycle=changes))
        return [e.id for e in out]

    def create(self, entity: Entity | Mapping[str, Any]) -> str:
        """Create one entity; ConflictError if its id exists."""
        with self._lock:
            eid = entity.id if isinstance(entity, Entity) else entity.get("id")
            if isinstance(eid, str) and self.store.existing_ids([eid]):
                raise ConflictError(f"entity exists already: {eid} / 实体已存在")
            return self.upsert([entity])[0]

    def get(self, entity_id: str) -> Entity:
        """One entity by id; NotFoundError if absent."""
        parse_entity_id(entity_id)
        found = self.store.get_entities([entity_id])
        if entity_id not in found:
            raise NotFoundError("entity", entity_id)
        return found[entity_id]

    # -- reads: every face and pack reads through these, never through ``self.store`` ---------------------------
    # Bulk look-ups take ids as they come (an unknown or malformed id is simply absent from the answer): the map
    # asks for thousands at a time and would pay for checking each.
    def get_many(self, ids: Iterable[str]) -> dict[str, Entity]:
        """The entities among ``ids`` that exist, by id (with their lifecycle history); absent ids are left out."""
        return self.store.get_entities(list(ids))

    def existing(self, ids: Iterable[str]) -> set[str]:
        """The subset of ``ids`` that exist (an id look-up: no entity is read)."""
        return self.store.existing_ids(list(ids))

    def ancestors(self, entity_id: str, relationship: str = "containedIn") -> list[str]:
        """The ids reached from ``entity_id`` along ``relationship``, nearest first (a building's parcel, zone,
        district); empty for an unknown entity."""
        return self.store.ancestors(entity_id, relationship)

    def count(self) -> int:
        """How many entities the twin holds."""
        return self.store.count_entities()

    @property
    def schema_version(self) -> int:
        """The store's schema version (``/health`` reports it)."""
        return self.store.schema_version

    def series_of(self, entity_id: str) -> dict[str, str | None]:
        """The attributes with a time series on ``entity_id`` and their fixed units (empty for an unknown
        entity)."""
        return dict(self.store.series_of(entity_id))

    def last_observed(self, entity_ids: Iterable[str]) -> dict[str, datetime]:
        """The newest reading instant (UTC) of any series of each entity, in one query; entities without a
        reading are absent."""
        return self.store.last_observed(list(entity_ids))

    # -- the change feed ---------------------------------------------------------------------------------------
    def changes(self, since: int = 0, limit: int = 1000) -> list[Change]:
        """The ONE stream of what changed, oldest first: up to ``limit`` changes numbered above ``since``.

        Readers keep the ``seq`` of the last change they handled and ask again from it; the store guarantees that
        nothing is skipped or repeated that way (see :meth:`~lingang_twin.core.store.Store.changes_since`). The
        console's live hub reads it; rules and subscriptions are to read it the same way."""
        if isinstance(since, bool) or not isinstance(since, int) or since < 0:
            raise ValidationError("since", "range", "since must be an integer ≥ 0 / since 须为非负整数", value=since)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_CHANGES_PAGE:
            raise ValidationError("limit", "limit-range", f"limit must be between 1 and {MAX_CHANGES_PAGE} / "
                                  f"limit 须在 1 到 {MAX_CHANGES_PAGE} 之间", value=limit)
        return self.store.changes_since(since, limit)

    def latest_change(self) -> int:
        """The ``seq`` of the newest change (0 for none): where a reader starts that wants only news."""
        seq = 0
        while page := self.store.changes_since(seq, MAX_CHANGES_PAGE):
            seq = page[-1].seq
        return seq

    def patch(self, entity_id: str, *, properties: Mapping[str, Any] | None = None,
              relationships: Mapping[str, Any] | None = None, geo: Mapping[str, Any] | None = None,
              remove: Iterable[str] = (), phase: Phase | None = None, phase_since: date | None = None) -> Entity:
        """Change some attributes of an entity (names in ``remove`` are dropped) and optionally move it to
        lifecycle ``phase`` from ``phase_since`` (default today); the whole entity is revalidated and written in
        one transaction."""
        if phase_since is not None:
            check_date(phase_since, "phase_since")
        if phase is not None:
            _choose("phase", phase, PHASES, "phase")
        elif phase_since is not None:
            raise ValidationError("phase_since", "phase-required", "phase_since needs phase")
        with self._lock:
            current = self.get(entity_id)
            data = current.model_dump(exclude={"created_at", "modified_at", "phase", "phase_since"})
            for key, changes in (("properties", properties), ("relationships", relationships), ("geo", geo)):
                if changes:
                    data[key] = {**data[key], **dict(changes)}
            for name in remove:
                found = False
                for key in ("properties", "relationships", "geo"):
                    found = data[key].pop(name, None) is not None or found
                if not found:
                    raise ValidationError(f"remove.{name}", "attribute-missing", f"{entity_id} has no {name!r}")
            if phase is not None:
                when = phase_since or today_in_shanghai()
                lifecycle = [c for c in current.lifecycle if c.since != when]
                lifecycle.append(LifecycleChange(phase=phase, since=when))
                data["lifecycle"] = sorted(lifecycle, key=lambda c: c.since)
            self.upsert([data])
            return self.get(entity_id)

    def set_phase(self, entity_id: str, phase: Phase, since: date | None = None) -> Entity:
        """Move an entity to lifecycle ``phase`` from ``since`` (default today, Asia/Shanghai)."""
        return self.patch(entity_id, phase=phase, phase_since=since)

    def delete(self, entity_id: str) -> None:
        """Delete an entity with its time series. Refused (ConflictError) while other entities point at it."""
        with self._lock:
            self.get(entity_id)
            refs = self.store.referrers(entity_id)
            if refs:
                shown = ", ".join(f"{e} ({r})" for e, r in refs[:5])
                raise ConflictError(
                    f"{entity_id} is still referenced by {len(refs)} entities: {shown}. To take it out of service "
                    "and keep its history, retire it instead: PATCH it with {\"phase\": \"retired\", "
                    "\"phaseSince\": \"YYYY-MM-DD\"} (Twin.retire) / 仍被其他实体引用，无法删除；"
                    "如需停用并保留历史，请将其生命周期阶段设为 retired（退役）")
            self.store.delete_entity(entity_id)

    def retire(self, entity_id: str, since: date | None = None) -> Entity:
        """Take an entity out of service from ``since`` (default today, Asia/Shanghai) and keep it, its
        relationships and its readings for history: lifecycle phase ``retired``. The way to end a meter or a
        building that others still point at, which :meth:`delete` refuses."""
        return self.set_phase(entity_id, "retired", since)

    def query(self, query: EntityQuery | None = None, **kwargs: Any) -> EntityPage:
        """Entities matching a query (an :class:`EntityQuery`, or its fields as keywords; ``q`` may be text)."""
        return self.store.query_entities(self._entity_query(query, kwargs))

    def _entity_query(self, query: EntityQuery | None, kwargs: dict[str, Any]) -> EntityQuery:
        """``query``, or one built from keywords, checked (limit, offset, types, phases, date, order names)."""
        if query is None:
            if isinstance(kwargs.get("q"), str):
                kwargs["q"] = parse_q(kwargs["q"])
            for key in ("types", "ids", "phases", "order_by"):
                if isinstance(kwargs.get(key), str):
                    kwargs[key] = (kwargs[key],)
                elif key in kwargs:
                    kwargs[key] = tuple(kwargs[key])
            query = EntityQuery(**kwargs)
        if query.limit < 0 or query.limit > 10_000:
            raise ValidationError("limit", "limit-range", "limit must be between 0 and 10000")
        if query.offset < 0:
            raise ValidationError("offset", "offset-range", "offset must be ≥ 0")
        for t in query.types:
            self.types.get(t, "types")
        for p in query.phases:
            _choose("phase", p, PHASES, "phases")
        if query.as_of is not None:
            check_date(query.as_of, "asOf")
        for name in query.order_by:
            _check_order_name(name)
        return query

    def query_all(self, **kwargs: Any) -> list[Entity]:
        """Every entity matching a query (the fields of :class:`EntityQuery` as keywords), page by page."""
        kwargs.pop("limit", None)
        kwargs.pop("offset", None)
        found: list[Entity] = []
        while True:
            page = self.query(limit=10_000, offset=len(found), **kwargs)
            found.extend(page.entities)
            if not page.entities or len(found) >= page.total:
                return found

    # -- time series ------------------------------------------------------------------------------------------
    def append(self, observations: ObservationBatch | Iterable[Observation | Mapping[str, Any]], *,
               on_conflict: OnConflict = "reject") -> IngestResult:
        """Store readings: idempotent (a resent batch changes nothing), atomic, late data welcome.

        Readings sent in another unit than the attribute's are converted; one that differs from a stored reading
        of the same instant is refused unless ``on_conflict`` is ``"replace"`` (corrections) or ``"keep"``.
        """
        _choose("on_conflict policy", on_conflict, ON_CONFLICT, "on_conflict")
        batch = observations if isinstance(observations, ObservationBatch) else \
            ObservationBatch.from_records(observations)
        if len(batch) == 0:
            return IngestResult(received=0, inserted=0, duplicates=0)
        self._check_horizon(batch)
        with self._lock:
            new_series, conversions = self._plan_series(batch)
            self._check_nonnegative(batch)
            return self.store.append_observations(batch, new_series, conversions, on_conflict)

    def _check_horizon(self, batch: ObservationBatch) -> None:
        """Refuse the batch if a reading is stamped more than ``future_horizon`` past ``clock()`` (rule
        ``future-horizon``), naming the first such item."""
        limit = self.clock() + self.future_horizon
        delta = limit.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
        limit_us = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        ts = batch.table["ts"]
        late = pc.greater(ts, limit_us)
        if not pc.any(late).as_py():
            return
        i = pc.indices_nonzero(pc.fill_null(late, False)).to_pylist()[0]
        hours = self.future_horizon.total_seconds() / 3600
        raise ValidationError("observed_at", "future-horizon",
                              f"{micros_iso(ts[i].as_py(), 8)} is more than {hours:g} h after now "
                              f"({limit.astimezone(SHANGHAI).isoformat()} is the latest accepted); a deployment "
                              "that stores forecasts widens LINGANG_FUTURE_HORIZON_HOURS / 读数时间超出允许的未来范围",
                              value=micros_iso(ts[i].as_py(), 8), index=i)

    def _check_nonnegative(self, batch: ObservationBatch) -> None:
        """Refuse the batch if a series that cannot be negative (a meter's reading) gets a value below zero.
        One vectorised test over the values; entity types are looked up only when something is negative."""
        values = batch.table["value"]
        negative = pc.less(values, 0)
        if not pc.any(negative).as_py():
            return
        rows = pc.indices_nonzero(pc.fill_null(negative, False)).to_pylist()
        ids = batch.table["entity_id"].to_pylist()
        attrs = batch.table["attribute"].to_pylist()
        entities = self.store.get_entities(sorted({ids[i] for i in rows}))
        for i in rows:
            entity = entities.get(ids[i])
            if entity is not None and attrs[i] in self.types.get(entity.type).nonnegative_series:
                raise ValidationError("value", "negative-reading",
                                      f"{attrs[i]} of {ids[i]} is {values[i].as_py():g}; a {entity.type} "
                                      f"{attrs[i]} is never negative / 读数不能为负", value=values[i].as_py(),
                                      index=i)

    def _plan_series(self, batch: ObservationBatch) -> tuple[list[SeriesSpec], list[Conversion]]:
        # From the batch's dictionary codes (a counting pass over integers), not a group-by over its strings.
        combos = batch.keys().combos()
        pairs = sorted({(e, a) for e, a, _ in combos})
        units: dict[tuple[str, str], str | None] = dict(self.store.series_units(pairs))
        missing = [p for p in pairs if p not in units]
        new_series: list[SeriesSpec] = []
        if missing:
            entities = self.store.get_entities(sorted({e for e, _ in missing}))
            sent_units: dict[tuple[str, str], list[str]] = {}
            for e, a, u in combos:
                if u is not None:
                    sent_units.setdefault((e, a), []).append(u)
            for eid, attr in missing:
                entity = entities.get(eid)
                if entity is None:
                    raise ValidationError("entity_id", "unknown-entity", f"{eid} does not exist / 实体不存在",
                                          value=eid, index=_row_of(batch, eid))
                if attr in entity.relationships or attr in entity.geo:
                    raise ValidationError("attribute", "attribute-kind",
                                          f"{attr!r} is a relationship or geo-property of {eid}, not a series",
                                          value=attr, index=_row_of(batch, eid, attr))
                unit = self._series_unit(entity, attr, sorted(sent_units.get((eid, attr), [])))
                units[(eid, attr)] = unit
                new_series.append(SeriesSpec(eid, attr, unit))
        conversions: list[Conversion] = []
        for eid, attr, sent in combos:
            if sent is None:
                continue
            target = units[(eid, attr)]
            if sent == target:
                continue
            idx = _row_of(batch, eid, attr, sent)
            if target is None:
                raise ValidationError("unit", "unit-incompatible",
                                      f"{attr} of {eid} has no unit; got {sent!r}",
                                      value=sent, index=idx)
            try:
                scale, offset = conversion(sent, target)
            except ValidationError as err:
                raise ValidationError("unit", err.rule, err.message, value=sent, index=idx) from None
            conversions.append(Conversion(eid, attr, sent, scale, offset))
        return new_series, conversions

    def _series_unit(self, entity: Entity, attribute: str, sent: list[str]) -> str | None:
        spec = self.types.get(entity.type)
        declared = spec.series.get(attribute)
        if declared is not None:
            if declared.startswith("@"):
                unit = entity.value(declared[1:])
                return str(unit) if unit is not None else None
            return declared
        prop = entity.properties.get(attribute)
        if prop is not None and prop.unit is not None:
            return prop.unit
        return sent[0] if sent else None

    def delete_readings(self, entity_id: str | None, attribute: str | None, start: datetime | None,
                        end: datetime | None) -> int:
        """Delete the readings of ONE series in the closed range ``[start, end)``; returns how many were removed.

        Bounded on purpose: the entity, the attribute and both ends of the range are required, so no call can
        wipe more than one series' stretch of time. The store records it in the change feed (``readings-delete``
        with attribute, range and count) in the same transaction. To correct readings instead, resend them with
        ``append(..., on_conflict="replace")``.
        """
        # Once accounts exist the audit hooks in here: the caller's identity joins the change-feed entry.
        for name, value in (("entity_id", entity_id), ("attribute", attribute), ("start", start), ("end", end)):
            if value is None or value == "":
                raise ValidationError(name, "required",
                                      f"deleting readings needs entity_id, attribute, start and end (a closed "
                                      f"range of one series); {name} is missing / 删除读数须指定实体、属性及起止时间")
        assert entity_id is not None and attribute is not None and start is not None and end is not None
        parse_entity_id(entity_id, "entity_id")
        if not ATTRIBUTE_NAME.match(attribute):
            raise ValidationError("attribute", "attribute-name", f"{attribute!r} is not an attribute name")
        _aware(start, "start")
        _aware(end, "end")
        if start >= end:
            raise ValidationError("end", "range-order", "end must be after start / 结束时间须晚于开始时间")
        with self._lock:
            if not self.store.existing_ids([entity_id]):
                raise NotFoundError("entity", entity_id)
            if attribute not in self.store.series_of(entity_id):
                raise NotFoundError("series", f"{entity_id} {attribute}")
            return self.store.delete_observations(entity_id, attribute, start, end)

    def correct(self, observations: ObservationBatch | Iterable[Observation | Mapping[str, Any]]) -> IngestResult:
        """Store corrected readings: a reading that differs from the stored one of the same instant replaces it
        (``replaced`` counts them; each corrected series gets a ``readings-replace`` change-feed entry)."""
        return self.append(observations, on_conflict="replace")

    def iter_series(self, query: SeriesQuery, chunk_rows: int = 100_000) -> Iterator[pa.Table]:
        """Raw readings of ``query`` (``bucket=None``) in chunks of at most ``chunk_rows``, by keyset pages, so an
        export of any size holds one chunk in memory. Every reading present from the first chunk to the last is
        yielded exactly once."""
        if query.bucket is not None:
            raise ValidationError("bucket", "raw-only", "only raw readings are read in chunks")
        after = query.after
        while True:
            table = self.series(replace(query, limit=chunk_rows, after=after))
            if table.num_rows:
                yield table
            if table.num_rows < chunk_rows:
                return
            after = page_cursor(table)

    def read(self, entity_id: str, attribute: str, start: datetime | None = None,
             end: datetime | None = None) -> pa.Table:
        """Raw readings of one series in [start, end): columns ``observed_at`` (UTC) and ``value``."""
        return self.series(SeriesQuery(attribute=attribute, entity_id=entity_id, start=start, end=end))

    def aggregate(self, attribute: str, *, bucket: str, agg: str = "sum", entity_id: str | None = None,
                  under: str | None = None, types: Sequence[str] = (), q: str | Expr | None = None,
                  start: datetime | None = None, end: datetime | None = None,
                  group_by: str | None = None, ordered: bool = True, unit: str | None = None) -> pa.Table:
        """Aggregate one attribute over calendar buckets in Asia/Shanghai time, in the store.

        Columns: ``bucket`` (start of the bucket, Asia/Shanghai), ``group`` (when grouped), ``value``,
        ``count`` (readings in the bucket), ``unit`` (of ``value``; see :meth:`series`) and, for ``delta`` and
        ``consumption``, ``resets`` and ``rollovers`` (flags). Rows come sorted by group and bucket unless
        ``ordered=False``. ``agg="consumption"`` is what meters consumed: per meter, the ``delta`` of a cumulative
        register and the ``sum`` of an interval one, in one unit per group.
        """
        qexpr = parse_q(q) if isinstance(q, str) else q
        return self.series(SeriesQuery(attribute=attribute, entity_id=entity_id, under=under, types=tuple(types),
                                       q=qexpr, start=start, end=end, bucket=bucket,  # type: ignore[arg-type]
                                       agg=agg, group_by=group_by, ordered=ordered,  # type: ignore[arg-type]
                                       unit=unit))

    def series_groups(self, query: SeriesQuery) -> list[SeriesGroup]:
        """What ``query`` covers, per group: how many series, of which entity type, unit and register (what an
        export states before it reads a reading)."""
        return self.store.series_groups(query)

    def series(self, query: SeriesQuery) -> pa.Table:
        """Run a :class:`SeriesQuery` after checking it.

        Aggregates never add readings of different units: each group is given in one unit — ``query.unit`` if
        set, else the unit most of its series use (on a tie the smaller one, so no meter's resolution is lost) —
        and the other series of the group are converted to it in the store. A group whose units do not convert
        (kWh and m³ without ``group_by="carrier"``) is refused (rule ``unit-mixed``), as are ``delta`` over
        interval meters and ``sum`` over cumulative registers (rule ``agg-register``; ``consumption`` does both
        right). ``count`` has no unit.
        """
        if not ATTRIBUTE_NAME.match(query.attribute or ""):
            raise ValidationError("attribute", "attribute-name", f"{query.attribute!r} is not an attribute name")
        if query.bucket is not None:
            _choose("bucket", query.bucket, BUCKETS, "bucket")
            _choose("aggregate", query.agg, AGGS, "agg")
        _aware(query.start, "start")
        _aware(query.end, "end")
        if query.start and query.end and query.start >= query.end:
            raise ValidationError("end", "range-order", "end must be after start / 结束时间须晚于开始时间")
        if (query.entity_id is None) == (query.under is None and not query.types):
            raise ValidationError("entity_id", "scope",
                                  "give either entity_id, or under and/or types to choose the entities")
        entity: Entity | None = None
        if query.entity_id is not None:
            parse_entity_id(query.entity_id, "entity_id")
            # The entity itself (cached after its first read): its register and properties plan the aggregate.
            entity = self.store.get_entities([query.entity_id]).get(query.entity_id)
            if entity is None:
                raise NotFoundError("entity", query.entity_id)
        if query.under is not None:
            parse_entity_id(query.under, "under")
            if not self.store.existing_ids([query.under]):  # an id look-up, not a full entity read: a hot path
                raise NotFoundError("entity", query.under)
        for t in query.types:
            self.types.get(t, "types")
        if query.group_by is not None and query.group_by != "entity":
            _check_name(query.group_by, "group_by")
        if (query.limit is not None or query.after is not None) and query.bucket is not None:
            raise ValidationError("limit", "raw-only", "limit and a cursor page raw readings, not aggregates")
        if query.limit is not None and not 1 <= query.limit <= MAX_PAGE_ROWS:
            raise ValidationError("limit", "limit-range", f"limit must be between 1 and {MAX_PAGE_ROWS}",
                                  value=query.limit)
        if query.unit is not None:
            check_unit(query.unit, "unit")
        if query.period_end is None:
            query = replace(query, period_end=self._period_end(query))
        if query.bucket is None:
            return self.store.read_series(query)
        if query.agg == "consumption":
            query = replace(query, cumulative=CUMULATIVE_REGISTER)
        groups = self._series_groups(query, entity)
        self._check_registers(query, groups)
        units: dict[str | None, str | None] = {}
        if query.agg != "count":
            scales, units = _unit_plan(query, groups)
            query = replace(query, scales=scales)
        table = self.store.read_series(query)
        return _with_unit(table, units, query.group_by is not None)

    def _series_groups(self, query: SeriesQuery, entity: Entity | None) -> list[SeriesGroup]:
        """What the query covers. One entity's series is answered from the series' unit and the (cached) entity,
        without a grouped store query: a single meter's chart is the console's most frequent read."""
        if entity is None:
            return self.store.series_groups(query)
        units = self.store.series_of(entity.id)  # one narrow look-up (series_units registers a table: 3x slower)
        if query.attribute not in units:
            return []
        group = None if query.group_by is None else query.entity_id if query.group_by == "entity" else \
            _group_text(entity.value(query.group_by))
        register = entity.value("register")
        return [SeriesGroup(group, units[query.attribute], entity.type,
                            None if register is None else str(register), 1)]

    def _register_of(self, group: SeriesGroup, attribute: str) -> str | None:
        """``interval`` / ``cumulative`` for series whose type says their entity's ``register`` decides
        (``EntityType.register_series``; a meter without one is an interval meter), else ``None``."""
        spec = self.types.get(group.entity_type) if group.entity_type in self.types else None
        if spec is None or attribute not in spec.register_series:
            return None
        return group.register or "interval"

    def _check_registers(self, query: SeriesQuery, groups: list[SeriesGroup]) -> None:
        """Refuse ``delta`` over interval meters and ``sum`` over cumulative registers, naming what to use; refuse
        ``consumption`` over series that have no register."""
        kinds: dict[str | None, int] = {}
        for g in groups:
            kind = self._register_of(g, query.attribute)
            kinds[kind] = kinds.get(kind, 0) + g.series
        if query.agg == "delta" and kinds.get("interval"):
            raise ValidationError(
                "agg", "agg-register",
                f"agg=delta over {kinds['interval']} interval meters: their readings are already consumption, a "
                "delta of them is meaningless; use agg=consumption (delta for cumulative registers, sum for "
                "interval ones), or narrow to q=register==\"cumulative\" / 区间表不能取差值，请用 consumption",
                value="delta")
        if query.agg == "sum" and kinds.get("cumulative"):
            raise ValidationError(
                "agg", "agg-register",
                f"agg=sum over {kinds['cumulative']} cumulative registers adds up meter positions, not "
                "consumption; use agg=consumption (or delta for the registers alone) / "
                "累计表不能求和，请用 consumption",
                value="sum")
        if query.agg == "consumption" and kinds.get(None):
            raise ValidationError(
                "agg", "agg-register",
                f"agg=consumption needs meters (a register, interval or cumulative); {kinds[None]} of the series of "
                f"{query.attribute!r} have none; use sum or delta / consumption 仅适用于计量表", value="consumption")

    def _period_end(self, query: SeriesQuery) -> bool:
        """Whether the attribute closes periods for the types in play (the entity's, the query's, or any)."""
        if query.entity_id is not None:
            names: Iterable[str] = [parse_entity_id(query.entity_id)[0]]
        elif query.types:
            names = query.types
        else:
            names = [t.name for t in self.types]
        return any(query.attribute in self.types.get(n).period_series for n in names if n in self.types)


def _glob_regex(pattern: str) -> str:
    """An entity-scope pattern (``*`` any run of characters) as an anchored regular expression that Python and
    DuckDB (RE2) read alike."""
    import re

    return "^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$"


def page_cursor(table: pa.Table) -> tuple[str, int]:
    """The keyset cursor after the last row of a raw-read page: ``(entity_id, epoch µs UTC)``."""
    last = table.num_rows - 1
    ts = pc.cast(table["observed_at"].cast(pa.timestamp("us", tz="UTC")), pa.int64())
    return str(table["entity_id"][last].as_py()), int(ts[last].as_py())


CUMULATIVE_REGISTER: Expr = parse_q('register=="cumulative"')
"""The entities whose register series are cumulative (DESIGN.md's meter convention)."""


def _group_text(value: Any) -> str | None:
    """A property value as the store's group key (the JSON value's text), for one entity's query."""
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _unit_rank(unit: str | None, other: str | None) -> float:
    """How many ``other`` one ``unit`` is (1.0 when either has no unit or they do not convert)."""
    if unit is None or other is None:
        return 1.0
    try:
        return conversion(unit, other)[0]
    except ValidationError:
        return 1.0


def _unit_plan(query: SeriesQuery, groups: list[SeriesGroup]
               ) -> tuple[tuple[tuple[str | None, str | None, float, float], ...], dict[str | None, str | None]]:
    """Per group: the unit its values are given in, and the conversions of its other series into it."""
    by_group: dict[str | None, dict[str | None, int]] = {}
    for g in groups:
        counts = by_group.setdefault(g.group, {})
        counts[g.unit] = counts.get(g.unit, 0) + g.series
    scales: list[tuple[str | None, str | None, float, float]] = []
    chosen: dict[str | None, str | None] = {}
    for group, counts in by_group.items():
        if query.unit is not None:
            target: str | None = query.unit
        elif len(counts) == 1:
            chosen[group] = next(iter(counts))
            continue
        else:
            # Most series first; on a tie the smaller unit (kWh before MWh), then the name, so the choice is stable.
            ranked = sorted(counts, key=lambda u: (-counts[u], _unit_rank(u, next(iter(counts))), str(u)))
            target = ranked[0]
        where = f"group {group!r}" if query.group_by is not None else "the selection"
        for unit in counts:
            if unit == target:
                continue
            if unit is None or target is None:
                raise ValidationError(
                    "unit" if query.unit is not None else "group_by", "unit-mixed",
                    f"{where} mixes series with and without a unit ({unit or target!r}); narrow it with q or "
                    "group_by / 分组内单位不一致", value=unit or target)
            try:
                scale, offset = conversion(unit, target)
            except ValidationError:
                field = "unit" if query.unit is not None else "group_by"
                hint = "choose a unit that converts" if query.unit is not None else \
                    "group by carrier (or entity), or narrow the entities with q"
                raise ValidationError(
                    field, "unit-mixed",
                    f"{where} holds readings in {unit!r} and {target!r}, which do not convert; {hint} / "
                    f"分组内单位 {unit!r} 与 {target!r} 无法换算", value=unit) from None
            scales.append((group, unit, scale, offset))
        chosen[group] = target
    return tuple(scales), chosen


def _with_unit(table: pa.Table, units: Mapping[str | None, str | None], grouped: bool) -> pa.Table:
    """``table`` with a ``unit`` column after ``value``: the unit of each row's group."""
    if not units:
        col = pa.nulls(table.num_rows, pa.string())
    elif not grouped or len(set(units.values())) == 1:
        col = pa.array([next(iter(units.values()))] * table.num_rows, pa.string())
    else:
        keys = [k for k in units if k is not None]
        pos = pc.index_in(table["group"], value_set=pa.array(keys, pa.string()))
        col = pc.take(pa.array([units[k] for k in keys], pa.string()), pos)
    return table.add_column(table.column_names.index("value") + 1, "unit", col)


def _check_order_name(name: str) -> None:
    bare = name[1:] if name.startswith("-") else name
    if bare in ("id", "type", "phase", "createdAt", "modifiedAt"):
        return
    if not ATTRIBUTE_NAME.match(bare):
        raise ValidationError("order_by", "attribute-name", f"cannot order by {name!r}")


def _row_of(batch: ObservationBatch, entity_id: str, attribute: str | None = None,
            unit: str | None = None) -> int:
    """Index of the first reading in ``batch`` matching the given keys (for error messages)."""
    t = batch.table
    mask = pc.equal(t["entity_id"], entity_id)
    if attribute is not None:
        mask = pc.and_(mask, pc.equal(t["attribute"], attribute))
    if unit is not None:
        mask = pc.and_(mask, pc.equal(t["unit"], unit))
    hits = np.flatnonzero(np.asarray(mask.combine_chunks() if hasattr(mask, "combine_chunks") else mask))
    return int(hits[0]) if len(hits) else 0
