"""Names a request may use — ``orderBy`` and an observed ``attribute`` — refused when unknown, listing the valid ones.

An unknown name used to be ignored silently (200 with the default order, or empty data), which hides a typo
(``floorarea`` for ``floorArea``). Types here are open (integrators add properties and series the registry does not
declare), so "known" means: declared by a type in play, or present on at least one entity; the refusal lists
the declared ones.
"""

from __future__ import annotations

from collections.abc import Sequence

from lingang_twin.core.errors import ValidationError
from lingang_twin.core.ids import parse_entity_id
from lingang_twin.core.q import parse_q
from lingang_twin.core.store import SeriesQuery
from lingang_twin.core.twin import Twin

#: What every entity can be ordered by, whatever its type (the store's own columns).
BUILT_IN_ORDER = ("id", "type", "phase", "createdAt", "modifiedAt")


def _types_in_play(twin: Twin, types: Sequence[str]) -> list[str]:
    return [t for t in types if t in twin.types] if types else [t.name for t in twin.types]


def declared_properties(twin: Twin, types: Sequence[str]) -> list[str]:
    """Property names the registry declares for ``types`` (every type when none is given), sorted."""
    names: set[str] = set()
    for t in _types_in_play(twin, types):
        for name, info in twin.types.get(t).properties.model_fields.items():
            names.add(info.alias or name)
    return sorted(names)


def check_order_by(twin: Twin, order_by: Sequence[str], types: Sequence[str]) -> None:
    """Refuse an ``orderBy`` name that no type in play declares and no entity of those types has."""
    declared = set(BUILT_IN_ORDER) | set(declared_properties(twin, types))
    for raw in order_by:
        name = raw[1:] if raw.startswith("-") else raw
        if name in declared:
            continue
        try:
            present = twin.query(types=tuple(types), q=parse_q(name), limit=0).total > 0
        except ValidationError:
            present = False  # not even an attribute name
        if not present:
            valid = ", ".join([*BUILT_IN_ORDER, *declared_properties(twin, types)])
            raise ValidationError("orderBy", "unknown-order-name",
                                  f"cannot order by {raw!r}: no entity has it; valid names: {valid} "
                                  f"(or any property some entity has; '-' for descending) / "
                                  f"无法按 {raw!r} 排序：没有实体具有该属性", value=raw)


def declared_series(twin: Twin, types: Sequence[str]) -> list[str]:
    """Observed attributes the registry declares for ``types`` (every type when none is given), sorted."""
    return sorted({a for t in _types_in_play(twin, types) for a in twin.types.get(t).series})


def check_attribute(twin: Twin, query: SeriesQuery) -> None:
    """Refuse a read of an attribute that no type in play declares and no entity in scope records.

    Called only when a read found nothing, so a working read pays nothing for it.
    """
    types = list(query.types)
    if query.entity_id is not None:
        types = [parse_entity_id(query.entity_id, "entity_id")[0]]
    declared = declared_series(twin, types)
    if query.attribute in declared:
        return
    recorded: list[str] = []
    if query.entity_id is not None:
        recorded = sorted(twin.series_of(query.entity_id))
        if query.attribute in recorded:
            return
    else:
        # Does any series of this attribute exist in scope, at any time? A count per year over the whole history,
        # pushed down into the store; an attribute nobody records finds no series and answers at once.
        everything = SeriesQuery(attribute=query.attribute, under=query.under, types=query.types, q=query.q,
                                 bucket="year", agg="count")
        if twin.series(everything).num_rows:
            return
    valid = ", ".join(sorted({*declared, *recorded})) or "(none)"
    raise ValidationError("attribute", "unknown-attribute",
                          f"no entity in scope records {query.attribute!r}; valid attributes: {valid} / "
                          f"范围内没有实体记录属性 {query.attribute!r}", value=query.attribute)
