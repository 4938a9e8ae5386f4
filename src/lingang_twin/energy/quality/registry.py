"""The registry of data-quality detectors (检测器登记): each detector is one function registered by name.

A *grid* detector runs once per register kind (interval meters, cumulative registers) over the dense 15-minute
matrix of the meters below the scope (:class:`GridContext`); a *scope* detector runs once per check
(:class:`ScopeContext`: e.g. hydrogen stations, which are not meters). Detectors run in the order they were
registered, and a grid detector sees what the detectors before it found on the same grid (``found``), so that one
can stand back for another (a leaking meter is not also reported for night base-load creep). A new detector is a
function and a decorator: :func:`check_meters <lingang_twin.energy.quality.check.check_meters>` needs no change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from lingang_twin.core.findings import Finding
    from lingang_twin.core.model import Entity
    from lingang_twin.core.twin import Twin


@dataclass(frozen=True)
class GridContext:
    """What a grid detector sees: the ``grid`` of one register kind (``cumulative`` or not), the meters ``by_id``,
    the grid's first bucket ``start_us``, the thresholds ``th``, the meters that read before the window
    (``reporting``) and the findings of earlier detectors on this grid (``found``)."""

    twin: Twin
    scope: Entity
    grid: Any
    cumulative: bool
    by_id: dict[str, Entity]
    start_us: int
    th: dict[str, float]
    reporting: set[str]
    found: list[Finding] = field(default_factory=list)


@dataclass(frozen=True)
class ScopeContext:
    """What a scope detector sees: the scope, the window (``start`` … ``end``; ``n_slots`` quarter-hours from
    ``start_us``) and the thresholds ``th``."""

    twin: Twin
    scope: Entity
    start_us: int
    n_slots: int
    start: datetime
    end: datetime
    th: dict[str, float]


@dataclass(frozen=True)
class Detector:
    """A registered detector: its ``name``, the finding ``kinds`` it produces, whether it runs per ``grid`` or per
    ``scope``, the ``registers`` a grid detector judges, and the function."""

    name: str
    kinds: tuple[str, ...]
    per: Literal["grid", "scope"]
    registers: tuple[str, ...]
    run: Callable[[Any], list[Finding]]


DETECTORS: dict[str, Detector] = {}
"""The registered detectors by name, in the order they run."""


def detector(name: str, *, kinds: tuple[str, ...], per: Literal["grid", "scope"] = "grid",
             registers: tuple[str, ...] = ("interval", "cumulative")) -> Callable[[Callable[[Any], list[Finding]]],
                                                                                Callable[[Any], list[Finding]]]:
    """Register the decorated function as the detector ``name`` (a name registered twice is an error: two
    detectors would report the same kind)."""
    def register(run: Callable[[Any], list[Finding]]) -> Callable[[Any], list[Finding]]:
        if name in DETECTORS:
            raise ValueError(f"detector {name!r} is registered already")
        DETECTORS[name] = Detector(name, kinds, per, registers, run)
        return run
    return register


__all__ = ["DETECTORS", "Detector", "GridContext", "ScopeContext", "detector"]
