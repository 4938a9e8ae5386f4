"""The entity-type registry.

Packs describe their entity types once, with a pydantic model for the properties, and register them through
one small function, :func:`register_type`. The twin then refuses entities of unknown types and properties that
fail the type's model. Units live with the number: a property field declared as
``Annotated[float, Unit("m2")]`` has the canonical unit m²; a value sent in another unit is converted, and one
whose unit does not convert is refused.

Time series (observed attributes) are declared in ``series``: attribute name → unit, or ``"@<property>"`` to take
the unit from that property of each entity (a meter's ``reading`` is in the meter's own ``unit``)::

    class MeterProperties(BaseModel):
        carrier: Carrier
        unit: str
        register: Literal["interval", "cumulative"]

    register_type(registry, "Meter", MeterProperties, series={"reading": "@unit"})
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field

from lingang_twin.core.classification import Grade, check_declaration
from lingang_twin.core.errors import ValidationError
from lingang_twin.core.ids import TYPE_NAME
from lingang_twin.core.pydantic_messages import bilingual


@dataclass(frozen=True)
class Unit:
    """Field metadata: the canonical unit of a property, e.g. ``Annotated[float, Unit("m2")]``."""

    symbol: str


class OpenProperties(BaseModel):
    """The open property base model every type's properties derive from: it accepts attributes nobody has
    foreseen (integrators add their own) and checks the declared ones; fields may be filled by name or alias. On its
    own, the model of types that declare no properties yet."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class NamedProperties(OpenProperties):
    """:class:`OpenProperties` with the two names every thing in the district may carry: ``name`` (中文) and
    ``nameEn`` (English)."""

    name: str | None = None
    name_en: str | None = Field(default=None, alias="nameEn")


@dataclass(frozen=True)
class EntityType:
    """What the twin knows about one entity type.

    ``properties``: pydantic model validating ``{property name: value}``.
    ``series``: observed attribute → unit (or ``"@prop"``: the unit is the entity's property ``prop``).
    ``period_series``: observed attributes whose reading is the quantity over the period *ending* at its
    timestamp (a meter's interval reading, or the register value closing the interval): buckets hold readings
    with ``start < observed_at ≤ end``, so the reading stamped 00:00 counts for the day before. Other series
    are instants, bucketed with ``start ≤ observed_at < end``.
    ``nonnegative_series``: observed attributes that can never be below zero (a meter's consumption or register):
    a batch with a negative value for one of them is refused whole.
    ``register_series``: observed attributes that are meter registers: the entity's ``register`` property says
    whether a reading is the consumption of its interval (``interval``, the default) or a register value
    (``cumulative``), which decides how ``sum``, ``delta`` and ``consumption`` may aggregate them.
    ``relationships``: relationship names this type may have, or ``None`` for any.
    ``label``: (中文, English) for the console.
    ``smart_data_model``: the FIWARE Smart Data Model this type follows, if any.
    ``classification``: the grade of the type (``"*"``) and of its attributes, each with its reason (see
    :mod:`lingang_twin.core.classification`; what is not declared here falls back to the core's table).
    """

    name: str
    properties: type[BaseModel] = OpenProperties
    series: Mapping[str, str] = field(default_factory=dict)
    period_series: tuple[str, ...] = ()
    relationships: tuple[str, ...] | None = None
    label: tuple[str, str] = ("", "")
    smart_data_model: str | None = None
    nonnegative_series: tuple[str, ...] = ()
    register_series: tuple[str, ...] = ()
    classification: Mapping[str, Grade] = field(default_factory=dict)

    def property_units(self) -> dict[str, str]:
        """Canonical unit of each property that declares one (from ``Unit`` metadata)."""
        units: dict[str, str] = {}
        for name, info in self.properties.model_fields.items():
            unit = _find_unit(info.metadata, info.annotation)
            if unit is not None:
                units[info.alias or name] = unit
        return units


def _find_unit(metadata: Any, annotation: Any) -> str | None:
    """The ``Unit`` marker on a field, also when it sits inside ``Annotated[...] | None``."""
    for meta in metadata or ():
        if isinstance(meta, Unit):
            return meta.symbol
    if get_origin(annotation) is Annotated:
        args = get_args(annotation)
        return _find_unit(args[1:], args[0])
    for arg in get_args(annotation):
        found = _find_unit((), arg)
        if found is not None:
            return found
    return None


class TypeRegistry:
    """The entity types a twin accepts, by name."""

    def __init__(self) -> None:
        self._types: dict[str, EntityType] = {}

    def add(self, entity_type: EntityType) -> EntityType:
        """Register ``entity_type``; registering the same name twice with a different definition is an error."""
        if not TYPE_NAME.match(entity_type.name):
            raise ValidationError("type", "type-name", f"type names are CamelCase ASCII: {entity_type.name!r}")
        existing = self._types.get(entity_type.name)
        if existing is not None and existing != entity_type:
            raise ValidationError("type", "type-redefined", f"type {entity_type.name!r} is already registered")
        self._types[entity_type.name] = entity_type
        return entity_type

    def get(self, name: str, field: str = "type") -> EntityType:
        """The registered type ``name``; raises ValidationError (rule ``unknown-type``) listing the known ones."""
        try:
            return self._types[name]
        except KeyError:
            known = ", ".join(sorted(self._types)) or "(none registered)"
            raise ValidationError(
                field, "unknown-type", f"unknown entity type {name!r}; known types: {known} / 未知实体类型",
                value=name,
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._types

    def __iter__(self) -> Iterator[EntityType]:
        return iter(sorted(self._types.values(), key=lambda t: t.name))

    def __len__(self) -> int:
        return len(self._types)


def register_type(
    registry: TypeRegistry,
    name: str,
    properties: type[BaseModel] = OpenProperties,
    *,
    series: Mapping[str, str] | None = None,
    period_series: tuple[str, ...] = (),
    relationships: tuple[str, ...] | None = None,
    label: tuple[str, str] = ("", ""),
    smart_data_model: str | None = None,
    nonnegative_series: tuple[str, ...] = (),
    register_series: tuple[str, ...] = (),
    classification: Mapping[str, Any] | None = None,
) -> EntityType:
    """Register an entity type: the one function a pack calls for each type it brings.

    Returns the :class:`EntityType`. ``label`` is (中文, English). ``classification``: attribute (or ``"*"`` for
    the type) → ``(grade, reason)``, e.g. ``{"vehiclePlateIdentifier": ("personal", "PIPL art. 4: …")}``; a bad
    grade is a ValidationError naming ``classification.<attribute>``.
    """
    return registry.add(
        EntityType(
            name=name,
            properties=properties,
            series=dict(series or {}),
            period_series=tuple(period_series),
            relationships=relationships,
            label=label,
            smart_data_model=smart_data_model,
            nonnegative_series=tuple(nonnegative_series),
            register_series=tuple(register_series),
            classification=check_declaration(classification or {}, "classification"),
        )
    )


def model_errors_to_validation(err: Any, prefix: str) -> ValidationError:
    """Turn the first error of a pydantic ``ValidationError`` into ours, with a dotted field path."""
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first["loc"])
    field = f"{prefix}.{loc}" if loc else prefix
    ours = (first.get("ctx") or {}).get("error")
    if isinstance(ours, ValidationError):  # raised by one of our validators inside the model: keep its rule
        return ValidationError(field, ours.rule, ours.message, value=ours.value)
    return ValidationError(field, first["type"], bilingual(first, field), value=first.get("input"))
