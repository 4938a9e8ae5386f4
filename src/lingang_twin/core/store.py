"""The store contract: what the twin needs from a database, as a ``typing.Protocol``.

The core owns this contract and knows no implementation; ``lingang_twin.stores`` implement it (DuckDB now,
PostgreSQL later) and the same contract tests (``tests/stores/contract.py``) run against each.

Division of labour: the core validates (types, units, geometry, ids, lifecycle) and hands the store data that is
already correct; the store persists it atomically, enforces idempotency on ``(entity, attribute, observed_at)``,
and pushes queries and aggregation down into the database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, Protocol, runtime_checkable

import pyarrow as pa

from lingang_twin.core.geometry import GeoQuery
from lingang_twin.core.model import Entity, LifecycleChange, Phase
from lingang_twin.core.observations import IngestResult, ObservationBatch, OnConflict
from lingang_twin.core.q import Expr

Bucket = Literal["15min", "hour", "day", "week", "month", "year"]
BUCKETS: tuple[str, ...] = ("15min", "hour", "day", "week", "month", "year")
Agg = Literal["sum", "mean", "min", "max", "count", "first", "last", "delta", "consumption"]
AGGS: tuple[str, ...] = ("sum", "mean", "min", "max", "count", "first", "last", "delta", "consumption")

# The calendar of the district: Asia/Shanghai keeps no daylight saving, so UTC+8 is exact for every date
# since 1992, and buckets are integer arithmetic on epoch microseconds.
SHANGHAI_OFFSET_US = 8 * 3600 * 1_000_000


@dataclass(frozen=True)
class EntityQuery:
    """Which entities: all conditions are ANDed.

    ``under``: every entity anywhere below this one along ``traverse`` (default ``containedIn``).
    ``related``: entities whose relationship ``name`` points at ``target`` (``(name, target)``).
    ``as_of``: see the district as it was (or was planned to be) on that date: only entities that existed
    (had a lifecycle phase) then, each with its phase of that date.
    ``order_by``: names, ``-`` for descending; ``id``, ``type``, ``phase`` or a property.
    ``visible``: when set, only entities among these ids match (the caller's reach, filled in by
    :meth:`~lingang_twin.core.twin.Twin.as_caller` views; ``None``: no restriction). Counts and pages are over the
    restricted set, so a page never reveals what lies outside it.
    """

    types: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()
    id_pattern: str | None = None
    q: Expr | None = None
    geo: GeoQuery | None = None
    under: str | None = None
    traverse: str = "containedIn"
    related: tuple[str, str] | None = None
    phases: tuple[Phase, ...] = ()
    as_of: date | None = None
    order_by: tuple[str, ...] = ("id",)
    limit: int = 100
    offset: int = 0
    visible: frozenset[str] | None = None


@dataclass(frozen=True)
class EntityPage:
    """One page of a query and the total number of matches."""

    entities: list[Entity]
    total: int


@dataclass(frozen=True)
class SeriesQuery:
    """A read or an aggregation of one attribute's time series over [start, end).

    Entities: one ``entity_id``, or every entity ``under`` a parent (walking ``containedIn``), optionally narrowed
    by ``types`` and ``q``. ``bucket=None`` reads raw readings. ``group_by``: ``None`` (one series for all),
    ``"entity"``, or a property name (e.g. ``"carrier"``).
    ``period_end``: readings close the period ending at their timestamp (bucket by ``(start, end]``); ``None``
    lets the twin decide from the entity types (see ``EntityType.period_series``). Raw reads are always
    ``[start, end)``. ``ordered``: aggregates come sorted by group, then bucket; ``False`` lets the store skip the
    sort for callers that scatter the rows into a matrix anyway (a month of 15-minute buckets of 900 meters is
    1.9 M rows).

    ``unit``: the unit every group is given in (``None``: the twin picks one per group, see
    :meth:`~lingang_twin.core.twin.Twin.series`). The two fields below are filled in by the twin for the store:
    ``scales``: ``(group, unit, scale, offset)``: before aggregating, readings of the series in ``group`` whose
    unit is ``unit`` become ``value * scale + offset``; series not listed are taken as they are. ``cumulative``:
    for ``agg="consumption"``, the entities whose series are cumulative registers (their ``delta`` is taken; every
    other series is summed).
    ``visible``: when set, only series of entities among these ids are read (the caller's reach; see
    :class:`EntityQuery`).
    """

    attribute: str
    entity_id: str | None = None
    under: str | None = None
    types: tuple[str, ...] = ()
    q: Expr | None = None
    start: datetime | None = None
    end: datetime | None = None
    bucket: Bucket | None = None
    agg: Agg = "sum"
    group_by: str | None = None
    period_end: bool | None = None
    ordered: bool = True
    limit: int | None = None
    after: tuple[str, int] | None = None
    unit: str | None = None
    scales: tuple[tuple[str | None, str | None, float, float], ...] = ()
    cumulative: Expr | None = None
    visible: frozenset[str] | None = None


@dataclass(frozen=True)
class SeriesGroup:
    """What a series query covers, per group: ``series`` series of entity type ``entity_type`` whose attribute is
    in ``unit`` and whose entity's ``register`` property (a meter's ``interval`` / ``cumulative``) is
    ``register`` (``None`` when the entity has none)."""

    group: str | None
    unit: str | None
    entity_type: str
    register: str | None
    series: int


@dataclass(frozen=True)
class SeriesSpec:
    """A new series to create: its attribute's unit is fixed here for good."""

    entity_id: str
    attribute: str
    unit: str | None


@dataclass(frozen=True)
class Conversion:
    """Readings of ``(entity_id, attribute)`` sent in ``unit`` are stored as ``value * scale + offset``."""

    entity_id: str
    attribute: str
    unit: str
    scale: float
    offset: float


@dataclass
class EntityWrite:
    """Entities to upsert in one transaction, with lifecycle changes to record."""

    entities: list[Entity]
    lifecycle: list[tuple[str, LifecycleChange]] = field(default_factory=list)


ChangeOp = Literal["create", "update", "delete", "readings-delete", "readings-replace"]
CHANGE_OPS: tuple[str, ...] = ("create", "update", "delete", "readings-delete", "readings-replace")


@dataclass(frozen=True)
class Change:
    """One entry of the change feed: what happened to which entity, numbered in commit order.

    ``op``: ``create`` / ``update`` (any entity write, a lifecycle change such as a retirement included) /
    ``delete`` of an entity; ``readings-delete`` (a range of one series deleted: ``detail`` holds ``attribute``,
    ``start``, ``end``, ``count``) and ``readings-replace`` (readings corrected: ``attribute``, ``count``,
    ``first``, ``last``). New readings are not in the feed (a district writes millions a day): readers that follow
    readings ask the series. ``changed_at``: the commit's time (timezone-aware).
    """

    seq: int
    changed_at: datetime
    entity_id: str
    op: ChangeOp
    detail: Mapping[str, Any] | None = None


@runtime_checkable
class Store(Protocol):
    """What every store implements. All writes are atomic: a failed call leaves nothing behind."""

    schema_version: int

    def close(self) -> None:
        """Release the database."""

    # -- entities ---------------------------------------------------------------------------------------------
    def get_entities(self, ids: Sequence[str]) -> dict[str, Entity]:
        """The entities among ``ids`` that exist, with their lifecycle history."""

    def existing_ids(self, ids: Sequence[str]) -> set[str]:
        """The subset of ``ids`` that exist."""

    def write_entities(self, write: EntityWrite) -> None:
        """Upsert entities (replacing their properties, relationships and geometry) and record lifecycle
        changes, atomically."""

    def delete_entity(self, entity_id: str) -> None:
        """Delete an entity with its lifecycle and its time series."""

    def referrers(self, entity_id: str) -> list[tuple[str, str]]:
        """``(entity id, relationship name)`` of every entity pointing at ``entity_id``."""

    def ancestors(self, entity_id: str, relationship: str = "containedIn") -> list[str]:
        """The chain of targets followed from ``entity_id`` along ``relationship`` (nearest first)."""

    def query_entities(self, query: EntityQuery) -> EntityPage:
        """One page of entities matching ``query`` and the total count."""

    def count_entities(self) -> int:
        """How many entities the store holds."""

    # -- time series ------------------------------------------------------------------------------------------
    def series_units(self, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str | None]:
        """The fixed unit of each existing series among ``(entity_id, attribute)`` pairs."""

    def append_observations(
        self,
        batch: ObservationBatch,
        new_series: Sequence[SeriesSpec],
        conversions: Sequence[Conversion],
        on_conflict: OnConflict = "reject",
    ) -> IngestResult:
        """Store a validated batch, idempotently, atomically. Creates ``new_series`` first; converts values
        sent in another unit by ``conversions``. With ``on_conflict="reject"`` a reading that differs from a
        stored one (same entity, attribute, instant) fails the whole batch with a ValidationError."""

    def read_series(self, query: SeriesQuery) -> pa.Table:
        """Raw readings (``bucket is None``) or aggregated buckets, as an Arrow table."""

    def series_groups(self, query: SeriesQuery) -> list[SeriesGroup]:
        """The series a query covers, counted by group, unit, entity type and register (no readings are read)."""

    def series_of(self, entity_id: str) -> Mapping[str, str | None]:
        """The attributes with a time series on ``entity_id`` and their units."""

    def delete_observations(self, entity_id: str, attribute: str, start: datetime, end: datetime) -> int:
        """Delete the readings of one series in ``[start, end)``, atomically; returns how many were removed.

        The store records the deletion in its change feed (op ``readings-delete``) in the same transaction and
        keeps its own derived state (compaction, roll-ups) right. The twin has checked the arguments."""

    def last_observed(self, entity_ids: Sequence[str]) -> dict[str, datetime]:
        """The newest ``observed_at`` (UTC) of any series of each of ``entity_ids``, in one query; entities with
        no reading (or unknown) are absent from the answer."""

    # -- change feed -------------------------------------------------------------------------------------------
    def changes_version(self) -> int:
        """A number that grows whenever a transaction that wrote change-feed entries commits, and never
        otherwise: "has anything changed since I last looked?" without reading the feed (the twin caches each
        caller's reach by it). A store that is its file's only writer keeps it in memory; a store shared by
        several processes answers its feed's newest ``seq``."""

    def changes_since(self, seq: int = 0, limit: int = 1000) -> list[Change]:
        """Up to ``limit`` changes with a sequence number above ``seq``, oldest first.

        The cursor contract every reader relies on (the console's live hub, rules, subscriptions): sequence
        numbers grow with commit order (gaps allowed), and a change is visible before any change numbered after
        it, so a reader that resumes from the last ``seq`` it saw misses nothing and sees nothing twice. The
        change is written in the same transaction as what it records."""
