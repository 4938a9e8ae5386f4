"""Shared pieces of the classification and export tests: a twin with every pack's types over a real DuckDB file,
principals of each role, an entity with personal and important attributes, and a list-backed audit sink.

The sink: the accounts work (the hash-chained audit log) is not in this branch yet, so these tests collect the
events in a list through the core's ``AuditSink`` protocol — the same events the real log will chain."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lingang_twin.core.access import AuditEvent, principal

PLATE = "沪A·D7200"
PHONE = "13812341234"
DRIVER = "张伟"
VEHICLE = "urn:ngsi-ld:Vehicle:minibus-00"
BUILDING = "urn:ngsi-ld:Building:lingang-center"


class ListAuditSink:
    """Audit events kept in a list (``events``), in order."""

    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def record(self, event: AuditEvent) -> None:
        self.events.append(event)

    def of(self, action: str) -> list[AuditEvent]:
        return [e for e in self.events if e.action == action]


class Clock:
    """A settable clock (tests move time, no test waits)."""

    def __init__(self, now: datetime = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def entities() -> list[dict[str, Any]]:
    return [
        {"id": BUILDING, "type": "Building",
         "properties": {"name": "临港中心", "floorArea": (120000, "m2"), "occupants": 800,
                        "gridConnectionCapacity": (10000, "kVA"), "contactPhone": PHONE}},
        {"id": VEHICLE, "type": "Vehicle",
         "properties": {"name": "无人驾驶小巴 00", "vehicleType": "minibus", "vehiclePlateIdentifier": PLATE,
                        "driverName": DRIVER, "seats": 12}},
    ]


def who(name: str, *roles: str, **kw: Any) -> Any:
    return principal(name, roles, **kw)


def open_governed(folder: Path, sink: ListAuditSink, clock: Clock) -> Any:
    """A twin over ``folder/twin.duckdb`` with every pack's types, the test's audit sink and clock."""
    from lingang_twin.app import open_twin

    twin = open_twin(folder / "twin.duckdb")
    twin.audit = sink
    twin.governance.clock = clock
    twin.upsert(entities())
    return twin
