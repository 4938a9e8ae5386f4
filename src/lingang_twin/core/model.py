"""The twin's entity model, NGSI-LD shaped.

An :class:`Entity` has an ``id`` (URN), a ``type``, properties (value, unit, observedAt), relationships
(target ids), geo-properties (GeoJSON in lon/lat, the primary one is ``location``) and a lifecycle phase
with the dated history of its changes, so that the district can be seen as it was (or was planned to be)
on any date.

These are plain data: validation against the type registry, units and geometry happens in
:mod:`lingang_twin.core.twin`, so a model can be built freely and checked in one place.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

Phase = Literal["planned", "design", "construction", "operation", "retired"]
PHASES: tuple[Phase, ...] = ("planned", "design", "construction", "operation", "retired")

def _not_a_number(value: Any) -> Any:
    # pydantic reads 0 as 1970-01-01 (an epoch); a date someone typed as a number is a mistake, not an epoch.
    if isinstance(value, int | float):
        raise ValueError("a date is written YYYY-MM-DD, not as a number / 日期应写作 YYYY-MM-DD")
    return value


CalendarDate = Annotated[date, BeforeValidator(_not_a_number)]
"""A calendar date (Asia/Shanghai) given as a ``date`` or ``YYYY-MM-DD`` text; numbers are refused."""

# Attribute names the model uses itself; a property or relationship may not take them.
RESERVED_NAMES = frozenset({"id", "type", "phase", "lifecycle", "createdAt", "modifiedAt", "@context"})


class Property(BaseModel):
    """A property: a value with an optional unit and the instant it was observed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    value: Any
    unit: str | None = None
    observed_at: datetime | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        # Accept a bare value or a (value, unit) pair: what people type in scripts and notebooks.
        if isinstance(data, Property):
            return data
        if isinstance(data, dict) and "value" in data:
            return data
        if isinstance(data, tuple) and len(data) == 2 and isinstance(data[1], str):
            return {"value": data[0], "unit": data[1]}
        return {"value": data}


class Relationship(BaseModel):
    """A relationship to one entity (``object``) or several (``objects``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    object: str | list[str]

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, str | list):
            return {"object": data}
        return data

    @property
    def targets(self) -> list[str]:
        """Every target id, whether one or many."""
        return [self.object] if isinstance(self.object, str) else list(self.object)


class LifecycleChange(BaseModel):
    """The entity entered ``phase`` on ``since`` (a calendar date in Asia/Shanghai)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    phase: Phase
    since: CalendarDate


class Entity(BaseModel):
    """One thing in the district: a zone, parcel, building, lab, meter, parking spot, road, vehicle …

    ``phase`` is the current lifecycle phase; ``lifecycle`` the dated changes (oldest first). When an entity is
    written with no lifecycle, the store records ``phase`` as entered on ``phase_since`` (default: today in
    Asia/Shanghai).

    Entities are values: frozen, changed with ``model_copy(update=...)`` or through the twin (``patch``), so a
    store can hand the same snapshot to many readers.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    type: str
    properties: dict[str, Property] = Field(default_factory=dict)
    relationships: dict[str, Relationship] = Field(default_factory=dict)
    geo: dict[str, dict[str, Any]] = Field(default_factory=dict)
    phase: Phase = "operation"
    phase_since: CalendarDate | None = None
    lifecycle: list[LifecycleChange] = Field(default_factory=list)
    created_at: datetime | None = None
    modified_at: datetime | None = None

    @property
    def location(self) -> dict[str, Any] | None:
        """The primary geo-property (GeoJSON geometry in lon/lat), if any."""
        return self.geo.get("location")

    def value(self, name: str, default: Any = None) -> Any:
        """The value of property ``name`` (or ``default``)."""
        prop = self.properties.get(name)
        return default if prop is None else prop.value

    def display_name(self, lang: str) -> str:
        """The name in ``lang`` (``name`` is Chinese, ``nameEn`` English; either stands in for the other), else
        the local part of the id: what every face and pack shows for an entity."""
        zh, en = self.value("name"), self.value("nameEn")
        chosen = (zh or en) if lang == "zh" else (en or zh)
        return str(chosen) if chosen else self.id.rsplit(":", 1)[-1]

    def target(self, name: str) -> str | None:
        """The (first) target id of relationship ``name``, or ``None``."""
        rel = self.relationships.get(name)
        return None if rel is None else rel.targets[0]

    def phase_on(self, day: date) -> Phase | None:
        """The lifecycle phase on ``day``; ``None`` if the entity did not exist yet (not even planned)."""
        current: Phase | None = None
        for change in sorted(self.lifecycle, key=lambda c: c.since):
            if change.since <= day:
                current = change.phase
        return current

    def to_ngsi_ld(self) -> dict[str, Any]:
        """The entity in NGSI-LD normalized form (``unitCode`` carries our unit text)."""
        out: dict[str, Any] = {"id": self.id, "type": self.type}
        for name, prop in self.properties.items():
            attr: dict[str, Any] = {"type": "Property", "value": _jsonable(prop.value)}
            if prop.unit is not None:
                attr["unitCode"] = prop.unit
            if prop.observed_at is not None:
                attr["observedAt"] = prop.observed_at.isoformat()
            out[name] = attr
        for name, rel in self.relationships.items():
            out[name] = {"type": "Relationship", "object": rel.object}
        for name, geometry in self.geo.items():
            out[name] = {"type": "GeoProperty", "value": geometry}
        out["phase"] = {"type": "Property", "value": self.phase}
        out["lifecycle"] = {
            "type": "Property",
            "value": [{"phase": c.phase, "since": c.since.isoformat()} for c in self.lifecycle],
        }
        return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
