"""Tenants: own sub-meters where they have them, else the floor-area share of what no tenant meter measures."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from energy_fixtures import CONFIG, DAY, DISTRICT, meter

from lingang_twin.app import open_twin
from lingang_twin.core.errors import ValidationError
from lingang_twin.core.twin import Twin
from lingang_twin.energy.accounting import account
from lingang_twin.energy.reports import monthly_report
from lingang_twin.energy.tenants import tenant_plan

TOWER = "urn:ngsi-ld:Building:tower"
ANNEX = "urn:ngsi-ld:Building:annex"
MAIN = "urn:ngsi-ld:Meter:tower-main"
WATER = "urn:ngsi-ld:Meter:tower-water"
A_SUB = "urn:ngsi-ld:Meter:tower-a"
ANNEX_MAIN = "urn:ngsi-ld:Meter:annex-main"
A = "urn:ngsi-ld:Enterprise:a"
B = "urn:ngsi-ld:Enterprise:b"
C = "urn:ngsi-ld:Enterprise:c"


def _layout() -> list[dict[str, Any]]:
    """Tower 10,000 m²: main electricity (interval), water. Tenant A has its own electricity sub-meter and leases
    floor 3 (1,000 m²); B leases floor 5 (2,500 m²) and has no meter; C takes the whole annex (4,000 m²)."""
    space = lambda sid, area: {"id": sid, "type": "Space",  # noqa: E731
                               "properties": {"floorArea": area}, "relationships": {"containedIn": TOWER}}
    return [
        {"id": DISTRICT, "type": "District", "properties": {"name": "测试区"}},
        {"id": TOWER, "type": "Building", "properties": {"name": "总部大楼", "floorArea": 10_000.0},
         "relationships": {"containedIn": DISTRICT}},
        {"id": ANNEX, "type": "Building", "properties": {"name": "附楼", "floorArea": 4_000.0},
         "relationships": {"containedIn": DISTRICT}},
        space("urn:ngsi-ld:Space:tower-f3", 1_000.0), space("urn:ngsi-ld:Space:tower-f5", 2_500.0),
        meter(MAIN, TOWER, "electricity", "kWh"),
        meter(WATER, TOWER, "water", "m3"),
        {**meter(A_SUB, TOWER, "electricity", "kWh", sub_of=MAIN), "relationships": {
            "containedIn": TOWER, "submeterOf": MAIN, "tenant": A}},
        meter(ANNEX_MAIN, ANNEX, "electricity", "kWh", "cumulative"),
        {"id": A, "type": "Enterprise", "properties": {"name": "甲公司", "industry": "AI"},
         "relationships": {"occupies": ["urn:ngsi-ld:Space:tower-f3"], "containedIn": DISTRICT}},
        {"id": B, "type": "Enterprise", "properties": {"name": "乙研究院"},
         "relationships": {"occupies": "urn:ngsi-ld:Space:tower-f5"}},
        {"id": C, "type": "Enterprise", "properties": {"name": "丙公司"}, "relationships": {"occupies": ANNEX}},
    ]


def _readings() -> list[dict[str, Any]]:
    """Hourly on DAY: tower main 100 kWh/h, A's meter 20 kWh/h, water 1 m³/h; annex register +50 kWh/h."""
    out = []
    for h in range(25):
        t = DAY + timedelta(hours=h)
        out.append({"entity_id": ANNEX_MAIN, "attribute": "reading", "observed_at": t, "value": 1000.0 + 50.0 * h})
        if h:
            for mid, v in ((MAIN, 100.0), (A_SUB, 20.0), (WATER, 1.0)):
                out.append({"entity_id": mid, "attribute": "reading", "observed_at": t, "value": v})
    return out


@pytest.fixture
def tenants(tmp_path: Path) -> Any:
    twin = open_twin(tmp_path / "tenants.duckdb")
    twin.upsert(_layout())
    twin.append(_readings())
    yield twin
    twin.close()


def _acc(twin: Twin, scope: str) -> Any:
    return account(twin, scope, DAY, DAY + timedelta(days=1), config=CONFIG)


def test_own_submeter_and_floor_area_share(tenants: Twin) -> None:
    a = _acc(tenants, A)
    assert a.carriers["electricity"].consumption == pytest.approx(480.0)  # 24 h × 20 kWh, its own meter
    # Water has no tenant meter: A's 1,000 m² of the tower's 10,000 m² → 10 % of 24 m³.
    assert a.carriers["water"].consumption == pytest.approx(2.4)
    methods = {(x["carrier"], x["method"]) for x in a.basis["tenant"]["allocations"]}
    assert methods == {("electricity", "submeter"), ("water", "floor-area")}

    b = _acc(tenants, B)
    # B: 25 % of what no tenant meter measures: (2,400 − 480) kWh × 0.25.
    assert b.carriers["electricity"].consumption == pytest.approx((2400.0 - 480.0) * 0.25)
    alloc = next(x for x in b.basis["tenant"]["allocations"] if x["carrier"] == "electricity")
    assert alloc["method"] == "floor-area" and alloc["share"] == pytest.approx(0.25)
    assert alloc["deducted"] == [A_SUB] and alloc["leased_m2"] == 2500.0 and alloc["floor_area_m2"] == 10_000.0
    # Standard coal, CO2 and the time-of-use cost scale with the share like the consumption.
    tower = _acc(tenants, TOWER)
    assert b.carriers["electricity"].kgco2 == pytest.approx(1920.0 * 0.25 * 0.42)
    assert tower.carriers["electricity"].cost_cny > b.carriers["electricity"].cost_cny > 0

    c = _acc(tenants, C)  # the whole annex, a cumulative register
    assert c.carriers["electricity"].consumption == pytest.approx(1200.0)
    assert c.basis["tenant"]["allocations"][0]["share"] == pytest.approx(1.0)


def test_tenants_never_exceed_the_building(tenants: Twin) -> None:
    tower = _acc(tenants, TOWER).carriers["electricity"].consumption
    tenants_total = sum(_acc(tenants, e).carriers["electricity"].consumption for e in (A, B))
    assert tenants_total <= tower
    assert tower - tenants_total == pytest.approx((2400.0 - 480.0) * 0.75)  # common areas and empty floors


def test_tenant_monthly_report(tenants: Twin) -> None:
    report = monthly_report(tenants, B, "2026-03", lang="en", config=CONFIG)
    assert report.scope_type == "Enterprise"
    assert report.account.carriers["electricity"].consumption == pytest.approx(480.0)
    assert sum(report.daily["electricity"]) == pytest.approx(480.0)
    assert report.daily["electricity"][1] == pytest.approx(480.0)  # 2 March
    assert report.to_dict()["basis"]["tenant"]["allocations"]


def _broken(twin: Twin, entity: dict[str, Any]) -> tuple[str, str]:
    twin.upsert([entity])
    with pytest.raises(ValidationError) as err:
        _acc(twin, entity["id"])
    return err.value.field, err.value.rule


def test_bad_tenancies(tenants: Twin) -> None:
    e = "urn:ngsi-ld:Enterprise:bad"
    assert _broken(tenants, {"id": e, "type": "Enterprise", "properties": {}}) == (
        "relationships.occupies", "no-tenancy")
    assert _broken(tenants, {"id": e, "type": "Enterprise", "relationships": {"occupies": MAIN}}) == (
        "relationships.occupies", "space-or-building")
    with pytest.raises(ValidationError) as err:  # the twin itself refuses a lease of a space it does not know
        tenants.upsert([{"id": e, "type": "Enterprise", "relationships": {"occupies": "urn:ngsi-ld:Space:nowhere"}}])
    assert (err.value.field, err.value.rule) == ("relationships.occupies.object", "unknown-target")
    tenants.upsert([{"id": "urn:ngsi-ld:Space:big", "type": "Space", "properties": {"floorArea": 20_000.0},
                     "relationships": {"containedIn": TOWER}}])
    assert _broken(tenants, {"id": e, "type": "Enterprise", "relationships": {
        "occupies": "urn:ngsi-ld:Space:big"}}) == ("relationships.occupies", "leased-area-exceeds-floor-area")
    tenants.upsert([{"id": "urn:ngsi-ld:Space:bare", "type": "Space", "relationships": {"containedIn": TOWER}}])
    assert _broken(tenants, {"id": e, "type": "Enterprise", "relationships": {
        "occupies": "urn:ngsi-ld:Space:bare"}}) == ("floorArea", "required-for-allocation")
    with pytest.raises(ValidationError) as err:
        tenant_plan(tenants, TOWER)
    assert (err.value.field, err.value.rule) == ("scope", "not-enterprise")
    with pytest.raises(ValidationError) as err:
        tenants.upsert([{"id": e, "type": "Enterprise", "properties": {"creditCode": "not-a-code"}}])
    assert err.value.field.endswith("creditCode")


def test_tenants_route_and_cli_report(tenants: Twin, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from lingang_twin.api import create_app
    from lingang_twin.app import PACKS

    app = create_app(tenants, packs=PACKS, configs={"energy": CONFIG})
    with TestClient(app) as client:
        r = client.get("/api/v1/energy/tenants", params={"month": "2026-03", "lang": "zh"})
        assert r.status_code == 200, r.text
        data = r.json()
        assert [t["scope"] for t in data["tenants"]] == [C, B, A]  # by standard coal, largest first
        b = next(t for t in data["tenants"] if t["scope"] == B)
        assert b["carriers"]["electricity"]["consumption"] == pytest.approx(480.0)
        alloc = b["basis"]["tenant"]["allocations"][0]
        assert alloc["method_label"] == {"zh": "按面积分摊", "en": "allocated by floor area"}
        r = client.get("/api/v1/energy/tenants", params={"month": "2026-3"})
        assert r.status_code == 422 and r.json()["field"] == "month"
        r = client.get("/api/v1/energy/tenants", params={"month": "2026-03", "under": "urn:ngsi-ld:Zone:none"})
        assert r.status_code == 404
        r = client.get("/api/v1/energy/report", params={"scope": A, "month": "2026-03", "format": "json"})
        assert r.status_code == 200
        assert r.json()["account"]["carriers"]["electricity"]["consumption"] == pytest.approx(480.0)


def test_tenant_report_states_the_method(tenants: Twin, tmp_path: Path) -> None:
    from lingang_twin.energy.reports import render, to_html

    report = monthly_report(tenants, B, "2026-03", lang="zh", config=CONFIG)
    rows = [r for r in report.basis_rows() if r["section"] == "tenant"]
    assert {r["item"] for r in rows} == {"tower · electricity", "tower · water"}
    elec = next(r for r in rows if r["item"] == "tower · electricity")
    assert elec["value"] == "按面积分摊 × 0.2500 (2500 / 10000 m²)" and elec["note"] == "− tower-a"
    assert "按面积分摊 × 0.2500" in to_html(report)
    render(report, "xlsx", tmp_path / "b.xlsx")
    assert (tmp_path / "b.xlsx").stat().st_size > 0
