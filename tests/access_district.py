"""A small district with two enterprise tenants, A and B, for the access tests (core and API).

Tower X (10,000 m², the landlord's): main electricity meter MX and a water meter WX. A leases space SA in X (1,000
m²) with its own electricity meter MA (a sub-meter of MX). B leases space SB in X (2,000 m²) with its own meter MB2,
and takes the whole building Y (5,000 m²) with its main meter MY and a meter of its own MB. Every meter reads hourly
on DAY. B's ids must never reach A: :data:`B_IDS`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from lingang_twin.app import PACKS
from lingang_twin.core.access import Principal, principal
from lingang_twin.core.packs import configure

SH = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 3, 2, tzinfo=SH)
MONTH = "2026-03"

D = "urn:ngsi-ld:District:acc"
X = "urn:ngsi-ld:Building:acc-tower"
Y = "urn:ngsi-ld:Building:acc-yard"
SA = "urn:ngsi-ld:Space:acc-tower-a"
SB = "urn:ngsi-ld:Space:acc-tower-b"
MX = "urn:ngsi-ld:Meter:acc-tower-main"
WX = "urn:ngsi-ld:Meter:acc-tower-water"
MA = "urn:ngsi-ld:Meter:acc-a-own"
MB2 = "urn:ngsi-ld:Meter:acc-b-tower"
MY = "urn:ngsi-ld:Meter:acc-yard-main"
MB = "urn:ngsi-ld:Meter:acc-b-own"
A = "urn:ngsi-ld:Enterprise:acc-a"
B = "urn:ngsi-ld:Enterprise:acc-b"

A_IDS = frozenset({A, SA, MA})
B_IDS = frozenset({B, SB, Y, MY, MB, MB2})
LANDLORD_IDS = frozenset({D, X, MX, WX})
METERS = (MX, WX, MA, MB2, MY, MB)

# Water needs a CO₂ factor of the deployment's (no silent zero); stored on the District like the demo's settings.
ENERGY_CONFIG: dict[str, Any] = {"water_kgco2_per_m3": 0.25}


def _meter(mid: str, parent: str, carrier: str = "electricity", unit: str = "kWh", **rels: str) -> dict[str, Any]:
    return {"id": mid, "type": "Meter", "properties": {"carrier": carrier, "unit": unit, "register": "interval"},
            "relationships": {"containedIn": parent, **rels}}


def layout() -> list[dict[str, Any]]:
    """The entities, parents first."""
    return [
        {"id": D, "type": "District", "properties": {"name": "权限测试区", "energyConfig": ENERGY_CONFIG}},
        {"id": X, "type": "Building", "properties": {"name": "塔楼", "floorArea": 10_000.0},
         "relationships": {"containedIn": D}},
        {"id": Y, "type": "Building", "properties": {"name": "乙园", "floorArea": 5_000.0},
         "relationships": {"containedIn": D}},
        {"id": SA, "type": "Space", "properties": {"floorArea": 1_000.0}, "relationships": {"containedIn": X}},
        {"id": SB, "type": "Space", "properties": {"floorArea": 2_000.0}, "relationships": {"containedIn": X}},
        _meter(MX, X),
        _meter(WX, X, "water", "m3"),
        _meter(MY, Y),
        {"id": A, "type": "Enterprise", "properties": {"name": "甲公司"}, "relationships": {"occupies": [SA]}},
        {"id": B, "type": "Enterprise", "properties": {"name": "乙公司"}, "relationships": {"occupies": [SB, Y]}},
        _meter(MA, SA, submeterOf=MX, tenant=A),
        _meter(MB2, SB, submeterOf=MX, tenant=B),
        _meter(MB, Y, submeterOf=MY, tenant=B),
    ]


def readings() -> list[dict[str, Any]]:
    """Hourly on DAY: MX 100 kWh, WX 1 m³, MA 20, MB2 30, MY 50, MB 10."""
    values = {MX: 100.0, WX: 1.0, MA: 20.0, MB2: 30.0, MY: 50.0, MB: 10.0}
    return [{"entity_id": m, "attribute": "reading", "observed_at": DAY + timedelta(hours=h), "value": v}
            for h in range(1, 25) for m, v in values.items()]


GRANTS = configure(PACKS).grants()


def as_role(role: str, **kwargs: Any) -> Principal:
    """A principal of ``role`` with the built-in packs' grants (tenant, entity scope … as keywords)."""
    return principal(f"test-{role}", [role], grants=GRANTS, **kwargs)


def tenant_a() -> Principal:
    """A's enterprise tenant."""
    return as_role("enterprise_tenant", tenant=A)


def tenant_b() -> Principal:
    """B's enterprise tenant."""
    return as_role("enterprise_tenant", tenant=B)
