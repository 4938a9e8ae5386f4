"""Every pack's checks through the generic faces: the energy pack's ``meter_quality`` finds a gap written into a
real twin file (its kind, meter and start read off the readings by hand), through ``/api/v1/checks`` and
``lingang-twin checks``; every bad input is refused naming its field; raising alerts twice adds none the second
time; the default windows and the contract's refusals (duplicate names) hold."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from lingang_twin import cli
from lingang_twin.api import create_app
from lingang_twin.app import PACKS
from lingang_twin.core.errors import ValidationError
from lingang_twin.core.findings import register_alert_type
from lingang_twin.core.packs import (
    LAST_24_HOURS,
    LAST_FULL_DAY,
    Check,
    CheckWindow,
    Pack,
    check_window,
    configure,
    install,
)
from lingang_twin.core.twin import Twin
from lingang_twin.stores.duckdb_store import DuckDBStore

SH = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 3, 10, tzinfo=SH)  # a Tuesday, clear of the Spring Festival
DISTRICT = "urn:ngsi-ld:District:checks"
BUILDING = "urn:ngsi-ld:Building:checks-lab"
METER = "urn:ngsi-ld:Meter:checks-lab-elec"
START, END = DAY.isoformat(), (DAY + timedelta(days=1)).isoformat()
# The readings stamped 03:15 … 06:00 on DAY are missing: the first missing stamp opens the gap, the next reading
# (06:15) closes it (a reading closes the quarter-hour before its stamp).
GAP_FROM, GAP_TO = DAY + timedelta(hours=3, minutes=15), DAY + timedelta(hours=6, minutes=15)


@pytest.fixture
def gap_db(tmp_path: Path) -> Path:
    """A district, a building, one interval electricity meter reading every 15 min for two days, with a 3-hour
    silence on DAY."""
    path = tmp_path / "checks.duckdb"
    twin = Twin(DuckDBStore(path))
    install(twin, PACKS)
    twin.upsert([
        {"id": DISTRICT, "type": "District", "properties": {"name": "检查区"}},
        {"id": BUILDING, "type": "Building", "properties": {"name": "实验楼"},
         "relationships": {"containedIn": DISTRICT}},
        {"id": METER, "type": "Meter", "properties": {"carrier": "electricity", "unit": "kWh",
                                                      "register": "interval"},
         "relationships": {"containedIn": BUILDING}},
    ])
    rows: list[dict[str, Any]] = []
    at = DAY - timedelta(days=1) + timedelta(minutes=15)
    k = 0
    while at <= DAY + timedelta(days=1):
        if not GAP_FROM <= at < GAP_TO:
            rows.append({"entity_id": METER, "attribute": "reading", "observed_at": at, "value": 5.0 + k % 3})
        at += timedelta(minutes=15)
        k += 1
    twin.append(rows)
    twin.close()
    return path


@pytest.fixture
def api(gap_db: Path) -> Iterator[TestClient]:
    twin = Twin(DuckDBStore(gap_db))
    with TestClient(create_app(twin, packs=PACKS)) as client:
        client.twin = twin  # type: ignore[attr-defined]
        yield client
    twin.close()


def test_the_energy_check_is_listed(api: TestClient) -> None:
    r = api.get("/api/v1/checks")
    assert r.status_code == 200
    (quality,) = [d for d in r.json()["data"] if d["name"] == "meter_quality"]
    assert quality["pack"] == "energy"
    assert quality["label"] == {"zh": "计量数据质量", "en": "Meter data quality"}
    assert quality["window"] == {"hours": 24, "wholeDays": True,
                                 "label": {"zh": "前一整天", "en": "the last full day"}}
    assert quality["maxDays"] == 92
    paths = api.get("/openapi.json").json()["paths"]
    assert "/api/v1/checks" in paths and "/api/v1/checks/{name}:run" in paths


def test_the_energy_check_finds_the_gap_and_raises_its_alert_once(api: TestClient) -> None:
    r = api.post("/api/v1/checks/meter_quality:run", params={"start": START, "end": END})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["check"] == "meter_quality" and body["pack"] == "energy" and body["alerts"] is None
    assert (body["start"], body["end"]) == (START, END)
    assert [(f["kind"], f["entity_id"], f["start"], f["end"]) for f in body["findings"]] == [
        ("gap", METER, GAP_FROM.isoformat(), GAP_TO.isoformat())]
    assert body["count"] == 1
    twin: Twin = api.twin  # type: ignore[attr-defined]
    assert "Alert" not in twin.types or twin.query(types=["Alert"]).total == 0  # not asked: nothing stored

    first = api.post("/api/v1/checks/meter_quality:run", params={"start": START, "end": END, "raiseAlerts": "true"})
    assert first.status_code == 200
    ids = first.json()["alerts"]
    assert len(ids) == 1
    alert = twin.get(ids[0])
    assert alert.value("subCategory") == "gap" and alert.target("alertSource") == METER
    assert alert.value("validFrom") == GAP_FROM.isoformat()
    again = api.post("/api/v1/checks/meter_quality:run", params={"start": START, "end": END, "raiseAlerts": "true"})
    assert again.json()["alerts"] == ids  # the same alert …
    assert twin.query(types=["Alert"]).total == 1  # … and none added


def test_without_a_window_the_check_runs_over_its_default(api: TestClient) -> None:
    before = LAST_FULL_DAY.at(datetime.now(SH))
    r = api.post("/api/v1/checks/meter_quality:run")
    after = LAST_FULL_DAY.at(datetime.now(SH))
    assert r.status_code == 200, r.text
    got = (datetime.fromisoformat(r.json()["start"]), datetime.fromisoformat(r.json()["end"]))
    assert got in (before, after)  # the request may straddle midnight
    assert got[1] - got[0] == timedelta(days=1) and got[1].astimezone(SH).hour == 0


@pytest.mark.parametrize(("params", "field", "rule"), [
    ({"start": "2026-03-10T00:00", "end": END}, "start", "timezone-required"),
    ({"start": START, "end": "2026-03-11T00:00"}, "end", "timezone-required"),
    ({"start": "yesterday", "end": END}, "start", "datetime-format"),
    ({"start": END, "end": START}, "end", "range-order"),
    ({"start": START, "end": START}, "end", "range-order"),
    ({"start": START, "end": (DAY + timedelta(days=93)).isoformat()}, "end", "window-too-long"),
    ({"start": START}, "end", "required"),
    ({"end": END}, "start", "required"),
])
def test_bad_windows_are_refused_naming_the_field(api: TestClient, params: dict[str, str], field: str,
                                                  rule: str) -> None:
    r = api.post("/api/v1/checks/meter_quality:run", params=params)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["field"] == field and r.json()["rule"] == rule


def test_an_unknown_check_is_404(api: TestClient) -> None:
    r = api.post("/api/v1/checks/nosuch:run", params={"start": START, "end": END})
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "nosuch" in r.json()["detail"] and "meter_quality" in r.json()["detail"]  # and what there is


def test_a_92_day_window_is_accepted(api: TestClient) -> None:
    start = DAY - timedelta(days=91)
    r = api.post("/api/v1/checks/meter_quality:run",
                 params={"start": start.isoformat(), "end": (start + timedelta(days=92)).isoformat()})
    assert r.status_code == 200, r.text
    assert ("gap", METER, GAP_FROM.isoformat()) in [(f["kind"], f["entity_id"], f["start"])
                                                   for f in r.json()["findings"]]


# -- the CLI ----------------------------------------------------------------------------------------------------
def test_cli_lists_and_runs_the_check_and_raises_alerts_once(gap_db: Path) -> None:
    runner = CliRunner()
    listed = runner.invoke(cli.app, ["checks", "list"])
    assert listed.exit_code == 0, listed.output
    assert "meter_quality\tenergy\t计量数据质量 / Meter data quality\t前一整天 / the last full day" in listed.output

    args = ["checks", "run", "meter_quality", "--db", str(gap_db), "--start", START, "--end", END]
    ran = runner.invoke(cli.app, args)
    assert ran.exit_code == 0, ran.output
    body = json.loads(ran.output)
    assert [(f["kind"], f["entity_id"], f["start"]) for f in body["findings"]] == [
        ("gap", METER, GAP_FROM.isoformat())]
    assert body["alerts"] is None
    first = json.loads(runner.invoke(cli.app, [*args, "--raise-alerts"]).output)["alerts"]
    second = json.loads(runner.invoke(cli.app, [*args, "--raise-alerts"]).output)["alerts"]
    assert len(first) == 1 and second == first
    twin = Twin(DuckDBStore(gap_db))
    register_alert_type(twin)  # a fresh twin knows the type only once something raised an alert in it
    try:
        assert twin.query(types=["Alert"]).total == 1
    finally:
        twin.close()


@pytest.mark.parametrize(("args", "words"), [
    (["nosuch"], "nosuch"),
    (["meter_quality", "--start", "2026-03-10T00:00", "--end", END], "--start"),
    (["meter_quality", "--start", END, "--end", START], "end"),
    (["meter_quality", "--start", START, "--end", (DAY + timedelta(days=93)).isoformat()], "92 days"),
    (["meter_quality", "--start", START], "end"),
])
def test_cli_refuses_bad_input_with_exit_code_2(gap_db: Path, args: list[str], words: str) -> None:
    result = CliRunner().invoke(cli.app, ["checks", "run", *args, "--db", str(gap_db)])
    assert result.exit_code == 2, result.output
    assert words in result.output


def test_cli_refuses_a_missing_twin_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli.app, ["checks", "run", "meter_quality", "--db", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 2 and "no such twin file" in result.output
    assert not (tmp_path / "none.duckdb").exists()  # nothing created


# -- the contract -----------------------------------------------------------------------------------------------
def test_default_windows() -> None:
    now = datetime(2026, 3, 10, 0, 30, tzinfo=SH)
    assert LAST_24_HOURS.at(now) == (now - timedelta(hours=24), now)
    # Half past midnight: the last *full* day is the one before, ending at this midnight.
    assert LAST_FULL_DAY.at(now) == (datetime(2026, 3, 9, tzinfo=SH), datetime(2026, 3, 10, tzinfo=SH))
    # An instant in UTC is placed on the Shanghai calendar: 2026-03-09 17:00 UTC is 03-10 01:00 in Shanghai.
    utc = datetime(2026, 3, 9, 17, 0, tzinfo=ZoneInfo("UTC"))
    assert LAST_FULL_DAY.at(utc)[1] == datetime(2026, 3, 10, tzinfo=SH)
    assert CheckWindow(timedelta(days=3), whole_days=True).label == ("前 3 个整天", "the last 3 full days")


def test_the_contract_refuses_duplicate_names_bad_names_and_naive_instants() -> None:
    def nothing(twin: Twin, config: Any, start: datetime, end: datetime) -> list[Any]:
        return []

    a = Pack("a", ("a", "a"), lambda twin: None, checks=(Check("same", ("甲", "A"), nothing),))
    b = Pack("b", ("b", "b"), lambda twin: None, checks=(Check("same", ("乙", "B"), nothing),))
    with pytest.raises(ValidationError, match="both declare a check named 'same'"):
        configure([a, b])
    with pytest.raises(ValueError, match="lower-case"):
        Check("Bad Name", ("坏", "bad"), nothing)
    check = a.checks[0]
    with pytest.raises(ValidationError) as naive:
        check_window(check, datetime(2026, 3, 10), DAY)  # naive: the point of the test
    assert naive.value.field == "start"
