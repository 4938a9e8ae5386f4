"""Governed data sharing: every export passes one guard — export:read, masking per caller, an approval (four eyes,
unexpired, matching recipient, types and grades) before personal or important data leave the district — and
every export, allowed or refused, is logged with what left. Over a real DuckDB file; the audit sink is a list
(see governance_fixtures: the accounts' hash-chained log is not in this branch)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from governance_fixtures import BUILDING, PHONE, PLATE, VEHICLE, Clock, ListAuditSink, open_governed, who
from lingang_twin.core.access import AccessDenied
from lingang_twin.core.errors import ConflictError, NotFoundError, ValidationError
from lingang_twin.core.exports import ExportCall
from lingang_twin.interchange import export_geojson, export_observations

CST = timezone(timedelta(hours=8))
PLANNER = who("alice", "planner")  # export:read, neither data:personal nor data:important
ADMIN = who("bob", "admin")  # export:approve
OPERATOR = who("olga", "operator")  # no export:read
RECIPIENT = "Acme Mobility GmbH"


@pytest.fixture
def sink() -> ListAuditSink:
    return ListAuditSink()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def twin(tmp_path: Path, sink: ListAuditSink, clock: Clock) -> Iterator[Any]:
    t = open_governed(tmp_path, sink, clock)
    yield t
    t.close()


def features(path: Path) -> dict[str, dict[str, Any]]:
    return {f["id"]: f["properties"] for f in json.loads(path.read_text(encoding="utf-8"))["features"]}


def approved(twin: Any, requester: Any = PLANNER, *, types: tuple[str, ...] = ("Vehicle",),
             grades: tuple[str, ...] = ("personal",), days: int = 30) -> str:
    gov = twin.governance
    req = gov.request(requester, reason="fleet utilisation study", recipient=RECIPIENT,
                      legal_basis="standard-contract", types=types, classifications=grades)
    return str(gov.approve(ADMIN, req.id, valid_days=days, note="contract filed").id)


def test_an_export_inside_the_district_is_masked_for_the_caller_and_logged(twin: Any, sink: ListAuditSink,
                                                                          tmp_path: Path) -> None:
    out = tmp_path / "fleet.geojson"
    m = export_geojson(twin, out, ExportCall(PLANNER), types=("Vehicle", "Building"))
    props = features(out)
    assert props[VEHICLE]["vehiclePlateIdentifier"] == "沪*******" and props[VEHICLE]["driverName"] == "张*"
    assert props[BUILDING]["contactPhone"] == "138****1234"
    assert "gridConnectionCapacity" not in props[BUILDING]
    [event] = sink.of("export")
    assert (event.actor, event.outcome, event.target) == ("alice", "ok", "fleet.geojson")
    d = event.detail
    assert d["count"] == m.count == 2 and d["types"] == ["Building", "Vehicle"]
    assert "Vehicle.vehiclePlateIdentifier" in d["attributes"] and "Building.gridConnectionCapacity" not in \
        d["attributes"]
    assert d["classifications"] == ["internal", "sensitive", "personal"]
    assert d["removed"] == ["Building.gridConnectionCapacity"]
    assert set(d["masked"]) == {"Building.contactPhone", "Vehicle.driverName", "Vehicle.vehiclePlateIdentifier"}
    assert d["recipient"] is None and d["outside_district"] is False


def test_a_caller_without_export_read_is_refused_writes_nothing_and_is_logged(twin: Any, sink: ListAuditSink,
                                                                             tmp_path: Path) -> None:
    out = tmp_path / "x.geojson"
    with pytest.raises(AccessDenied) as err:
        export_geojson(twin, out, ExportCall(OPERATOR), types=("Building",))
    assert err.value.permission == "export:read"
    assert not out.exists() and not list(tmp_path.glob(".*.part"))
    [event] = sink.of("export")
    assert (event.actor, event.outcome, event.detail["missing"]) == ("olga", "denied", "export:read")


def test_personal_data_to_a_recipient_outside_needs_an_approval_first(twin: Any, sink: ListAuditSink,
                                                                     tmp_path: Path) -> None:
    out = tmp_path / "fleet.geojson"
    with pytest.raises(AccessDenied) as err:
        export_geojson(twin, out, ExportCall(PLANNER, recipient=RECIPIENT), types=("Vehicle",))
    assert err.value.permission == "export:approval" and "personal" in str(err.value)
    assert not out.exists() and not list(tmp_path.glob(".*.part"))
    [event] = sink.of("export")
    assert event.outcome == "denied" and event.detail["recipient"] == RECIPIENT
    assert event.detail["classifications"] == ["internal", "personal"]
    # Data graded below personal leave with export:read alone, logged as going outside.
    twin.upsert([{"id": "urn:ngsi-ld:Road:s2", "type": "Road", "properties": {"name": "S2 沪芦高速"}}])
    m = export_geojson(twin, tmp_path / "roads.geojson", ExportCall(PLANNER, recipient=RECIPIENT),
                       types=("Road",))
    assert m.count == 1 and (tmp_path / "roads.geojson").exists()
    event = sink.of("export")[-1]
    assert event.outcome == "ok" and event.detail["outside_district"] is True
    assert event.detail["classifications"] == ["public"]


def test_with_an_approval_the_export_leaves_and_the_log_names_the_approval(twin: Any, sink: ListAuditSink,
                                                                         tmp_path: Path) -> None:
    approval = approved(twin)
    out = tmp_path / "fleet.geojson"
    m = export_geojson(twin, out, ExportCall(PLANNER, recipient=RECIPIENT.upper(), approval=approval),
                       types=("Vehicle",))
    assert m.count == 1 and features(out)[VEHICLE]["vehiclePlateIdentifier"] == "沪*******"  # still masked for her
    event = sink.of("export")[-1]
    assert event.outcome == "ok" and event.detail["approval"] == approval
    assert [e.action for e in sink.events] == ["export.request", "export.approve", "export"]
    req = sink.of("export.approve")[0].detail
    assert (req["requester"], req["decided_by"], req["recipient"], req["legal_basis"]) == \
        ("alice", "bob", RECIPIENT, "standard-contract")
    assert req["reason"] == "fleet utilisation study" and req["expires_at"] is not None
    # A holder of data:personal exports the values themselves under its own approval.
    hr = who("hu", "planner", grants={"planner": ["data:personal"]})
    approval2 = approved(twin, hr)
    export_geojson(twin, out, ExportCall(hr, recipient=RECIPIENT, approval=approval2), types=("Vehicle",))
    assert features(out)[VEHICLE]["vehiclePlateIdentifier"] == PLATE


def test_the_requester_cannot_approve_their_own_request(twin: Any, sink: ListAuditSink) -> None:
    gov = twin.governance
    req = gov.request(ADMIN, reason="backup abroad", recipient=RECIPIENT, legal_basis="cac-security-assessment",
                      types=("Building",), classifications=("important",))
    with pytest.raises(AccessDenied) as err:
        gov.approve(ADMIN, req.id)
    assert "own" in str(err.value)
    assert gov.get(ADMIN, req.id).status == "pending"
    assert sink.of("export.approve")[0].outcome == "denied"
    with pytest.raises(AccessDenied):
        gov.approve(PLANNER, req.id)  # no export:approve
    assert gov.approve(who("carol", "admin"), req.id).status == "approved"
    with pytest.raises(ConflictError):
        gov.reject(who("dan", "admin"), req.id)


def test_an_expired_approval_is_refused(twin: Any, sink: ListAuditSink, clock: Clock, tmp_path: Path) -> None:
    approval = approved(twin, days=7)
    call = ExportCall(PLANNER, recipient=RECIPIENT, approval=approval)
    clock.now += timedelta(days=7, seconds=1)
    out = tmp_path / "late.geojson"
    with pytest.raises(AccessDenied) as err:
        export_geojson(twin, out, call, types=("Vehicle",))
    assert "expired" in str(err.value) and not out.exists()
    clock.now -= timedelta(seconds=2)  # one second before the end it still held
    assert export_geojson(twin, out, call, types=("Vehicle",)).count == 1


@pytest.mark.parametrize(("change", "words"), [
    ({"recipient": "Other Corp"}, "is for"),
    ({"types": ("Vehicle", "Building")}, "does not cover the types Building"),
    ({"principal": who("eve", "planner")}, "was made by alice"),
    ({"approval": "exp-000000000000"}, "no export request"),
])
def test_an_approval_covers_its_recipient_types_and_requester_only(twin: Any, tmp_path: Path, change: dict,
                                                                   words: str) -> None:
    approval = approved(twin)
    call = ExportCall(change.get("principal", PLANNER), recipient=change.get("recipient", RECIPIENT),
                      approval=change.get("approval", approval))
    with pytest.raises(AccessDenied) as err:
        export_geojson(twin, tmp_path / "x.geojson", call, types=change.get("types", ("Vehicle",)))
    assert words in str(err.value)


def test_important_data_needs_an_approval_for_important(twin: Any, tmp_path: Path) -> None:
    grid = who("gina", "planner", grants={"planner": ["data:important"]})
    only_personal = approved(twin, grid, types=("Building",), grades=("personal",))
    call = ExportCall(grid, recipient=RECIPIENT, approval=only_personal)
    with pytest.raises(AccessDenied) as err:
        export_geojson(twin, tmp_path / "b.geojson", call, types=("Building",))
    assert "does not cover important" in str(err.value)
    both = approved(twin, grid, types=("Building",), grades=("personal", "important"))
    export_geojson(twin, tmp_path / "b.geojson", ExportCall(grid, recipient=RECIPIENT, approval=both),
                   types=("Building",))
    assert features(tmp_path / "b.geojson")[BUILDING]["gridConnectionCapacity"] == {"value": 10000, "unit": "kVA"}


def test_a_rejected_request_releases_nothing(twin: Any, tmp_path: Path) -> None:
    gov = twin.governance
    req = gov.request(PLANNER, reason="x", recipient=RECIPIENT, legal_basis="separate-consent",
                      types=("Vehicle",), classifications=("personal",))
    gov.reject(ADMIN, req.id, note="no consent on file")
    with pytest.raises(AccessDenied) as err:
        export_geojson(twin, tmp_path / "x.geojson", ExportCall(PLANNER, recipient=RECIPIENT, approval=req.id),
                       types=("Vehicle",))
    assert "rejected" in str(err.value)


@pytest.mark.parametrize(("kw", "field", "rule"), [
    ({"legal_basis": "because"}, "legal_basis", "legal-basis-choice"),
    ({"reason": "  "}, "reason", "required"),
    ({"recipient": ""}, "recipient", "required"),
    ({"types": ()}, "types", "required"),
    ({"types": ("Vehicel",)}, "types", "unknown-type"),
    ({"classifications": ("internal",)}, "classifications", "classification-restricted"),
])
def test_a_bad_request_names_the_field_and_rule_and_keeps_nothing(twin: Any, kw: dict, field: str,
                                                                  rule: str) -> None:
    args = {"reason": "study", "recipient": RECIPIENT, "legal_basis": "standard-contract", "types": ("Vehicle",),
            "classifications": ("personal",), **kw}
    with pytest.raises(ValidationError) as err:
        twin.governance.request(PLANNER, **args)
    assert (err.value.field, err.value.rule) == (field, rule)
    assert twin.governance.list_requests(ADMIN) == []


def test_requests_are_kept_in_the_twin_file_and_listed_by_who_may_see_them(tmp_path: Path, sink: ListAuditSink,
                                                                         clock: Clock) -> None:
    t = open_governed(tmp_path, sink, clock)
    approved(t)
    mine = t.governance.request(who("eve", "planner"), reason="y", recipient="Z", legal_basis="statutory-duty",
                                types=("Building",), classifications=("important",))
    t.close()
    from lingang_twin.app import open_twin

    t = open_twin(tmp_path / "twin.duckdb")
    try:
        gov = t.governance
        assert len(gov.list_requests(ADMIN)) == 2 and len(gov.list_requests(who("aud", "auditor"))) == 2
        assert [r.id for r in gov.list_requests(who("eve", "planner"))] == [mine.id]
        assert [r.status for r in gov.list_requests(ADMIN, status="approved")] == ["approved"]
        with pytest.raises(NotFoundError):
            gov.get(PLANNER, mine.id)  # someone else's request: not even whether it exists
        with pytest.raises(AccessDenied):
            gov.list_requests(OPERATOR)
    finally:
        t.close()


def readings(twin: Any) -> None:
    start = datetime(2026, 11, 1, tzinfo=CST)
    twin.upsert([{"id": "urn:ngsi-ld:Meter:m1", "type": "Meter",
                  "properties": {"carrier": "electricity", "unit": "kWh"}}])
    twin.append([{"entity_id": "urn:ngsi-ld:Meter:m1", "attribute": "reading", "observed_at":
                  start + timedelta(minutes=15 * i), "value": float(i)} for i in range(8)])
    twin.append([{"entity_id": VEHICLE, "attribute": "lon", "observed_at": start + timedelta(minutes=i),
                  "value": 121.9 + i / 1000} for i in range(5)])


def test_readings_exports_are_guarded_and_logged(twin: Any, sink: ListAuditSink, tmp_path: Path) -> None:
    readings(twin)
    out = tmp_path / "m.csv"
    m = export_observations(twin, out, ExportCall(PLANNER), attribute="reading", types=("Meter",))
    with out.open(encoding="utf-8") as f:
        assert len(list(csv.DictReader(f))) == m.count == 8
    d = sink.of("export")[-1].detail
    assert (d["kind"], d["format"], d["count"], d["types"], d["classifications"]) == \
        ("readings", "csv", 8, ["Meter"], ["sensitive"])
    # A personal series (a deployment with private vehicles grades their track so) is refused to a caller who
    # may not see it: a masked number is no number.
    from lingang_twin.core.classification import Grade

    twin.governance.classifier.overrides[("Vehicle", "lon")] = Grade("personal", "private cars")
    track = tmp_path / "track.parquet"
    with pytest.raises(AccessDenied) as err:
        export_observations(twin, track, ExportCall(PLANNER), attribute="lon", entity_id=VEHICLE)
    assert err.value.permission == "data:personal" and not track.exists()
    assert sink.of("export")[-1].outcome == "denied"
    hr = who("hu", "planner", grants={"planner": ["data:personal"]})
    assert export_observations(twin, track, ExportCall(hr), attribute="lon", entity_id=VEHICLE).count == 5
    with pytest.raises(AccessDenied):  # … and leaving the district it needs an approval as well
        export_observations(twin, track, ExportCall(hr, recipient=RECIPIENT), attribute="lon", entity_id=VEHICLE)


def test_a_failed_write_is_logged_as_failed(twin: Any, sink: ListAuditSink, tmp_path: Path) -> None:
    def broken(_: list) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError):
        twin.governance.export_entities(ExportCall(PLANNER), twin.query_all(types=("Building",)), broken,
                                        target="x.geojson")
    assert sink.of("export")[-1].outcome == "failed" and sink.of("export")[-1].detail["error"] == "OSError"


def test_phone_stays_masked_in_the_log_detail(twin: Any, sink: ListAuditSink, tmp_path: Path) -> None:
    export_geojson(twin, tmp_path / "b.geojson", ExportCall(PLANNER), types=("Building",))
    assert PHONE not in json.dumps([e.detail for e in sink.events], ensure_ascii=False)
