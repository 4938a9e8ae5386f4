"""The one hook through which a pack joins a twin.

A pack (energy, operations, mobility, innovation …) is a folder with one small entry point: a module-level
``PACK = Pack(...)``. Its ``setup(twin)`` registers the pack's entity types; its ``hooks`` hand faces what they
need (``"api"``: a factory returning a FastAPI router, ``"console"``: a page registration function), by name, so
the core never imports a face and no face imports a pack's insides. Faces decide which packs to load, explicitly:
no import-time discovery.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lingang_twin.core.twin import Twin


@dataclass(frozen=True)
class Pack:
    """A pack's description: ``name`` (a Python identifier), ``label`` (中文, English), ``setup(twin)`` registering
    its types, and ``hooks`` for the faces."""

    name: str
    label: tuple[str, str]
    setup: Callable[[Twin], None]
    hooks: Mapping[str, Callable[..., Any]] = field(default_factory=dict)


def install(twin: Twin, packs: list[Pack]) -> None:
    """Set up ``packs`` on ``twin`` in order (each pack's ``setup`` must be idempotent)."""
    for pack in packs:
        pack.setup(twin)
