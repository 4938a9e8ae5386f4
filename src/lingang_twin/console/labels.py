"""Names as people read them on a page: entity types from the type registry's labels, property / series /
relationship names and enumerated property values from the console's table and the words packs bring
(``Pack.words``), and building metrics (the console's own and ``Pack.metrics``)."""

from __future__ import annotations

from typing import Any

from lingang_twin.console import layers
from lingang_twin.console.i18n import pick, property_label, type_label, value_label
from lingang_twin.console.registry import PageContext


def type_name(ctx: PageContext, name: str) -> str:
    """``name`` (an entity type) in the page's language, from the type's registered label."""
    types = ctx.twin.types
    return type_label(name, types.get(name).label, ctx.lang) if name in types else name


def prop_name(ctx: PageContext, name: str) -> str:
    """A property, series or relationship ``name`` in the page's language."""
    return property_label(name, ctx.lang, ctx.console.labels)


def value_text(ctx: PageContext, name: str, value: Any) -> str:
    """The value of property ``name`` as read on the page: enumerated values (a building's ``use``, a meter's
    ``carrier``, every item of a list of them) in the page's language, anything else as stored."""
    if isinstance(value, list):
        return ", ".join(value_label(name, v, ctx.lang, ctx.console.labels) for v in value)
    return value_label(name, value, ctx.lang, ctx.console.labels)


def metric_names(ctx: PageContext) -> dict[str, str]:
    """Every metric buildings can be coloured by, name → its words in the page's language: the console's own,
    then the packs'."""
    names = {m: ctx.text(f"metric.{m}") for m in layers.METRICS}
    names.update({m.name: pick(m.title, ctx.lang) for _, m in ctx.console.metrics})
    return names


def metric_unit(ctx: PageContext, name: str) -> str:
    """The unit of metric ``name`` in the page's language."""
    found = next((m for _, m in ctx.console.metrics if m.name == name), None)
    return pick(found.unit, ctx.lang) if found is not None else ctx.text(f"metric.{name}.unit")
