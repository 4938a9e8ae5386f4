"""Twin.as_caller: every read answers only what the caller may see, every write needs the permission and an entity
in reach, refusals write nothing, and writes and escalations are audited — over a real DuckDB twin."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from access_district import (
    A_IDS,
    B_IDS,
    DAY,
    ENERGY_CONFIG,
    MA,
    MB,
    MB2,
    MX,
    SA,
    SB,
    WX,
    A,
    B,
    X,
    Y,
    as_role,
    layout,
    readings,
    tenant_a,
)
from lingang_twin.app import open_twin
from lingang_twin.core.access import ANONYMOUS, SYSTEM, AccessDenied, AuditEvent
from lingang_twin.core.errors import NotFoundError
from lingang_twin.core.store import SeriesQuery
from lingang_twin.core.twin import Twin


@dataclass
class ListSink:
    """An audit sink that keeps the events in memory (the AuditSink protocol; the accounts' sink is durable)."""

    events: list[AuditEvent] = field(default_factory=list)

    def record(self, event: AuditEvent) -> None:
        self.events.append(event)


@pytest.fixture
def district(tmp_path: Path) -> Iterator[Twin]:
    twin = open_twin(tmp_path / "access.duckdb")
    twin.upsert(layout())
    twin.append(readings())
    twin.audit = ListSink()
    yield twin
    twin.close()


def _events(twin: Twin) -> list[AuditEvent]:
    assert isinstance(twin.audit, ListSink)
    return twin.audit.events


def test_system_gets_the_twin_itself(district: Twin) -> None:
    assert district.as_caller(SYSTEM) is district
    assert district.visible_ids() is None


def test_tenant_reach_is_its_enterprise_places_contents_and_meters(district: Twin) -> None:
    a = district.as_caller(tenant_a())
    assert a.visible_ids() == A_IDS
    b = district.as_caller(as_role("enterprise_tenant", tenant=B))
    assert b.visible_ids() == B_IDS


def test_reads_answer_only_the_reach(district: Twin) -> None:
    a = district.as_caller(tenant_a())
    assert a.get(MA).id == MA
    for hidden in (MB, B, X, "urn:ngsi-ld:Meter:no-such-meter"):
        with pytest.raises(NotFoundError) as err:
            a.get(hidden)
        assert err.value.args == NotFoundError("entity", hidden).args  # missing and hidden: the same answer
    assert set(a.get_many([MA, MB, SA, SB])) == {MA, SA}
    assert a.existing([MA, MB, X]) == {MA}
    assert a.ancestors(MA) == [SA]  # the tower and district are outside A's reach
    assert a.ancestors(MB) == []
    assert a.count() == len(A_IDS)
    page = a.query(types=("Meter",))
    assert [e.id for e in page.entities] == [MA] and page.total == 1
    assert {e.id for e in a.query_all()} == A_IDS
    assert a.query(types=("Meter",), under=X).total == 1  # only A's meter below the tower
    assert a.series_of(MA) == {"reading": "kWh"} and a.series_of(MB) == {}
    assert set(a.last_observed([MA, MB, MX])) == {MA}
    assert {c.entity_id for c in a.changes(0, 1000)} <= A_IDS
    assert len(a.changes(0, 2)) == 2  # paged over the others' changes, not stalled behind them


def test_readings_only_of_the_reach(district: Twin) -> None:
    a = district.as_caller(tenant_a())
    start, end = DAY, DAY + timedelta(days=1, hours=1)
    assert a.read(MA, "reading", start, end).num_rows == 24
    for hidden in (MB, MX):
        with pytest.raises(NotFoundError):
            a.read(hidden, "reading", start, end)
    with pytest.raises(NotFoundError):
        a.aggregate("reading", bucket="day", under=X, start=start, end=end)  # the tower is out of reach
    table = a.aggregate("reading", bucket="day", agg="consumption", types=("Meter",), group_by="entity",
                        start=start, end=end)
    assert set(table["group"].to_pylist()) == {MA}
    everyone = district.aggregate("reading", bucket="day", agg="consumption", types=("Meter",),
                                  group_by="entity", start=start, end=end)
    assert len(set(everyone["group"].to_pylist())) == 6  # every meter, for the admin
    raw = a.series(SeriesQuery(attribute="reading", types=("Meter",), start=start, end=end))
    assert set(raw["entity_id"].to_pylist()) == {MA}
    chunks = list(a.iter_series(SeriesQuery(attribute="reading", types=("Meter",)), chunk_rows=10))
    assert {i for c in chunks for i in c["entity_id"].to_pylist()} == {MA}


def test_permissions_gate_reads(district: Twin) -> None:
    auditor = district.as_caller(as_role("auditor"))
    assert auditor.get(MB).id == MB  # the auditor reads entities …
    with pytest.raises(AccessDenied) as err:
        auditor.read(MB, "reading")  # … but not readings
    assert err.value.permission == "readings:read"
    with pytest.raises(AccessDenied):
        auditor.last_observed([MB])
    nobody = district.as_caller(ANONYMOUS)
    for call in (lambda: nobody.get(MA), lambda: nobody.count(), lambda: nobody.query()):
        with pytest.raises(AccessDenied):
            call()


def test_entity_writes_need_permission_type_and_reach(district: Twin) -> None:
    before = district.get(X)
    operator = district.as_caller(as_role("operator"))  # writes Alerts and MaintenanceRequests only
    with pytest.raises(AccessDenied) as err:
        operator.patch(X, properties={"name": "改名"})
    assert err.value.permission == "entities:write"
    with pytest.raises(AccessDenied):
        operator.upsert([{**before.model_dump(mode="json", exclude={"created_at", "modified_at"}),
                          "properties": {"name": "x", "floorArea": 1.0}}])
    tenant = district.as_caller(tenant_a())
    with pytest.raises(AccessDenied):
        tenant.patch(MA, properties={"unit": "MWh"})
    with pytest.raises(AccessDenied):
        tenant.delete(MA)
    # A scoped property manager: writes Spaces, but only those in its key's scope.
    pm = district.as_caller(as_role("property_manager", entity_scope=[SA, "urn:ngsi-ld:Space:acc-new-*"]))
    assert pm.patch(SA, properties={"floorArea": 1_100.0}).value("floorArea") == 1_100.0
    for outside in (SB, "urn:ngsi-ld:Space:acc-missing"):  # out of reach or missing: the same refusal
        with pytest.raises(AccessDenied):
            pm.patch(outside, properties={"floorArea": 1.0})
    with pytest.raises(AccessDenied):
        pm.upsert([{"id": "urn:ngsi-ld:Space:acc-elsewhere", "type": "Space", "properties": {"floorArea": 5.0},
                    "relationships": {"containedIn": SA}}])  # a new id outside the key's scope
    with pytest.raises(AccessDenied):
        pm.create({"id": "urn:ngsi-ld:Space:acc-new-1", "type": "Space", "properties": {"floorArea": 5.0},
                   "relationships": {"containedIn": X}})  # pointing at the tower, which it cannot see
    assert pm.create({"id": "urn:ngsi-ld:Space:acc-new-2", "type": "Space", "properties": {"floorArea": 5.0},
                      "relationships": {"containedIn": SA}}) == "urn:ngsi-ld:Space:acc-new-2"
    results = pm.upsert_each([{"id": "urn:ngsi-ld:Space:acc-new-3", "type": "Space", "properties": {}}])
    assert results[0].stored
    with pytest.raises(AccessDenied):  # one item out of reach refuses the batch: nothing written
        pm.upsert_each([{"id": "urn:ngsi-ld:Space:acc-new-4", "type": "Space", "properties": {}},
                        {"id": SB, "type": "Space", "properties": {"floorArea": 3.0}}])
    assert not district.existing(["urn:ngsi-ld:Space:acc-new-4"])
    assert district.get(X).properties == before.properties
    assert district.get(SB).value("floorArea") == 2_000.0


def test_lifecycle_and_delete_permissions(district: Twin) -> None:
    pm = district.as_caller(as_role("property_manager"))  # entities:write but not lifecycle:write
    with pytest.raises(AccessDenied) as err:
        pm.set_phase(X, "retired", date(2026, 4, 1))
    assert err.value.permission == "lifecycle:write"
    with pytest.raises(AccessDenied):
        pm.retire(X)
    planner = district.as_caller(as_role("planner"))
    assert planner.set_phase(Y, "construction", date(2027, 1, 1)).phase == "construction"
    with pytest.raises(AccessDenied) as err:
        planner.delete(WX)
    assert err.value.permission == "entities:delete"
    admin = district.as_caller(as_role("admin"))
    admin.delete(WX)
    assert not district.existing([WX])


def test_reading_writes(district: Twin) -> None:
    later = DAY + timedelta(days=1, hours=1)
    integrator = district.as_caller(as_role("integrator", entity_scope=[MA]))
    got = integrator.append([{"entity_id": MA, "attribute": "reading", "observed_at": later, "value": 5.0}])
    assert got.inserted == 1
    for outside in (MB, "urn:ngsi-ld:Meter:no-such-meter"):  # out of scope or missing: the same refusal
        with pytest.raises(AccessDenied):
            integrator.append([{"entity_id": MA, "attribute": "reading", "observed_at": later, "value": 6.0},
                               {"entity_id": outside, "attribute": "reading", "observed_at": later, "value": 1.0}])
    assert district.read(MA, "reading", later, later + timedelta(seconds=1))["value"].to_pylist() == [5.0]
    with pytest.raises(AccessDenied) as err:
        integrator.correct([{"entity_id": MA, "attribute": "reading", "observed_at": later, "value": 7.0}])
    assert err.value.permission == "readings:correct"
    with pytest.raises(AccessDenied):
        integrator.delete_readings(MA, "reading", DAY, later)
    manager = district.as_caller(as_role("energy_manager", entity_scope=[MA]))
    assert manager.correct([{"entity_id": MA, "attribute": "reading", "observed_at": later,
                             "value": 7.0}]).replaced == 1
    with pytest.raises(AccessDenied):
        manager.delete_readings(MB, "reading", DAY, later)
    assert manager.delete_readings(MA, "reading", later, later + timedelta(hours=1)) == 1
    assert district.read(MB, "reading").num_rows == 24


def test_writes_and_escalations_are_audited(district: Twin) -> None:
    planner = district.as_caller(as_role("planner"))
    planner.patch(SA, properties={"floorArea": 900.0})
    with pytest.raises(AccessDenied):
        planner.delete(SA)
    tenant = district.as_caller(tenant_a())
    full = tenant.elevated("energy account of tenant A")
    assert full is district
    events = _events(district)
    assert [(e.actor, e.action, e.target, e.outcome) for e in events] == [
        ("test-planner", "entities.patch", SA, "ok"),
        ("test-planner", "entities.delete", SA, "denied"),
        ("test-enterprise_tenant", "twin.elevate", None, "ok"),
    ]
    assert events[2].detail["reason"] == "energy account of tenant A"
    assert events[0].roles == ("planner",) and events[0].at is not None


def test_reach_follows_the_change_feed(district: Twin) -> None:
    a = district.as_caller(tenant_a())
    assert MB2 not in (a.visible_ids() or set())
    district.patch(MB2, relationships={"tenant": A})  # the meter changes hands
    assert MB2 in (a.visible_ids() or set())
    assert a.get(MB2).id == MB2


def test_tenant_bill_is_elevated_and_hides_others(district: Twin) -> None:
    from lingang_twin.energy.accounting import account
    from lingang_twin.energy.reports import monthly_report

    start, end = DAY, DAY + timedelta(days=1)
    a = district.as_caller(tenant_a())
    mine = account(a, A, start, end, config=ENERGY_CONFIG)
    system = account(district, A, start, end, config=ENERGY_CONFIG)
    assert mine.carriers["electricity"].consumption == pytest.approx(system.carriers["electricity"].consumption)
    assert mine.total_cost_cny == pytest.approx(system.total_cost_cny)
    text = str(mine.to_dict())
    assert not any(i in text for i in B_IDS | {MX, WX}), "another tenant's or the landlord's meter leaked"
    assert WX in str(system.to_dict())  # what was taken out: A's water is its share of the tower's water meter
    assert mine.basis["tenant"]["allocations"][-1]["hidden_meters"] == 1
    with pytest.raises(NotFoundError):
        account(a, B, start, end, config=ENERGY_CONFIG)  # B's bill: as if B did not exist
    report = monthly_report(a, A, "2026-03", now=DAY + timedelta(days=40), config=ENERGY_CONFIG)
    assert not any(i in str(report.to_dict()) for i in B_IDS)
    assert any(e.action == "twin.elevate" for e in _events(district))


def test_views_share_the_root_state(district: Twin) -> None:
    a: Any = district.as_caller(tenant_a())
    assert a.types is district.types and a.clock is district.clock
    with pytest.raises(AccessDenied):
        _ = a.store  # the raw store would bypass every check
    assert district.as_caller(as_role("admin")).store is district.store
