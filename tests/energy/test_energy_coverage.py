"""Coverage: every account and report states the readings it expected and found, per carrier and meter, and flags
an empty, partial or still running month. Expected counts are worked out by hand in each test (days × readings a
day), never by the module's own arithmetic; "now" is always given, never the clock."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from energy_fixtures import CONFIG

from lingang_twin.app import open_twin
from lingang_twin.core.errors import ValidationError
from lingang_twin.core.twin import Twin
from lingang_twin.energy.accounting import account, month_range
from lingang_twin.energy.coverage import percent
from lingang_twin.energy.reports import monthly_report, to_html

SH = ZoneInfo("Asia/Shanghai")
DISTRICT = "urn:ngsi-ld:District:cov"
BUILDING = "urn:ngsi-ld:Building:cov"
ELEC = "urn:ngsi-ld:Meter:cov-elec"  # interval register, 15 min, says so (readingInterval)
WATER = "urn:ngsi-ld:Meter:cov-water"  # cumulative register, hourly, interval inferred
LATE = "urn:ngsi-ld:Meter:cov-late"  # commissioned on 2026-04-20 (lifecycle)
APRIL = datetime(2026, 4, 1, tzinfo=SH)
MAY = datetime(2026, 5, 1, tzinfo=SH)
GAP = (datetime(2026, 4, 10, tzinfo=SH), datetime(2026, 4, 12, tzinfo=SH))  # two whole days without electricity


def _layout(late: bool = False) -> list[dict[str, Any]]:
    since = date(2025, 1, 1)
    out: list[dict[str, Any]] = [
        {"id": DISTRICT, "type": "District", "properties": {"name": "覆盖区"}, "phase_since": since},
        {"id": BUILDING, "type": "Building", "properties": {"name": "覆盖楼", "nameEn": "Coverage House"},
         "relationships": {"containedIn": DISTRICT}, "phase_since": since},
        {"id": ELEC, "type": "Meter", "properties": {"carrier": "electricity", "unit": "kWh", "register": "interval",
                                                     "readingInterval": (15, "min")},
         "relationships": {"containedIn": BUILDING}, "phase_since": since},
        {"id": WATER, "type": "Meter", "properties": {"carrier": "water", "unit": "m3", "register": "cumulative"},
         "relationships": {"containedIn": BUILDING}, "phase_since": since},
    ]
    if late:
        out.append({"id": LATE, "type": "Meter", "properties": {"carrier": "natural_gas", "unit": "m3"},
                    "relationships": {"containedIn": BUILDING}, "phase": "operation",
                    "lifecycle": [{"phase": "construction", "since": "2026-01-01"},
                                  {"phase": "operation", "since": "2026-04-20"}]})
    return out


def _readings(start: datetime, end: datetime, *, gap: tuple[datetime, datetime] | None = None) -> list[dict[str, Any]]:
    """Electricity 1 kWh every 15 min and the water register +1 m³ every hour, stamped in ``(start, end]`` (the
    water register also at ``start``: its anchor)."""
    out: list[dict[str, Any]] = []
    t = start + timedelta(minutes=15)
    while t <= end:
        if gap is None or not gap[0] < t <= gap[1]:
            out.append({"entity_id": ELEC, "attribute": "reading", "observed_at": t, "value": 1.0})
        t += timedelta(minutes=15)
    t = start
    while t <= end:
        out.append({"entity_id": WATER, "attribute": "reading", "observed_at": t,
                    "value": 100.0 + (t - datetime(2026, 1, 1, tzinfo=SH)) / timedelta(hours=1)})
        t += timedelta(hours=1)
    return out


@pytest.fixture
def twin(tmp_path: Path) -> Iterator[Twin]:
    t = open_twin(tmp_path / "coverage.duckdb")
    t.upsert(_layout())
    yield t
    t.close()


def _cov(acc: Any) -> dict[str, Any]:
    return acc.to_dict()["coverage"]  # type: ignore[no-any-return]


def _rules(acc: Any) -> list[tuple[str, str | None]]:
    return [(i["rule"], i["carrier"]) for i in acc.issues]


def test_a_full_month_is_complete_and_says_so(twin: Twin) -> None:
    twin.append(_readings(APRIL, MAY))
    acc = account(twin, BUILDING, APRIL, MAY, config=CONFIG, now=datetime(2026, 5, 10, tzinfo=SH))
    cov = _cov(acc)
    # April: 30 days × 96 quarter hours; the water register 30 × 24 hours (its 00:00 reading of 1 April anchors).
    assert cov["carriers"]["electricity"]["expected"] == 30 * 96 == cov["carriers"]["electricity"]["present"]
    assert cov["carriers"]["water"]["expected"] == 30 * 24 == cov["carriers"]["water"]["present"]
    assert cov["status"] == "complete" and not cov["running"] and cov["ratio"] == 1.0
    meters = {m["meter"]: m for m in cov["meters"]}
    assert (meters[ELEC]["interval_min"], meters[ELEC]["interval_source"]) == (15.0, "property")
    assert (meters[WATER]["interval_min"], meters[WATER]["interval_source"]) == (60.0, "inferred")
    assert acc.issues == []  # nothing to flag: a whole month, every reading there


def test_a_two_day_gap_is_partial_naming_carrier_and_meter(twin: Twin) -> None:
    twin.append(_readings(APRIL, MAY, gap=GAP))
    acc = account(twin, BUILDING, APRIL, MAY, config=CONFIG, now=datetime(2026, 5, 10, tzinfo=SH))
    elec = _cov(acc)["carriers"]["electricity"]
    assert (elec["expected"], elec["present"], elec["missing"]) == (2880, 2880 - 2 * 96, 192)
    assert elec["status"] == "partial" and elec["meters_short"] == [ELEC]
    assert elec["ratio"] == pytest.approx(28 / 30)
    assert _cov(acc)["carriers"]["water"]["status"] == "complete"
    assert _rules(acc) == [("coverage-partial", "electricity")]
    issue = acc.issues[0]
    assert issue["missing"] == 192 and issue["meters"] == [ELEC]
    assert "192 of 2,880" in issue["message_en"] and "缺 192 条" in issue["message_zh"]
    assert "6.67%" in issue["message_en"]  # 2 of 30 days, rounded up


def test_an_empty_month_is_flagged_per_carrier_with_what_was_expected(twin: Twin) -> None:
    twin.append(_readings(APRIL, MAY))  # April only: May has no reading at all
    june5 = datetime(2026, 6, 5, tzinfo=SH)
    acc = account(twin, BUILDING, MAY, datetime(2026, 6, 1, tzinfo=SH), config=CONFIG, now=june5)
    cov = _cov(acc)
    assert cov["status"] == "empty" and cov["present"] == 0
    # May: 31 days; the water meter's hourly cadence is known from April (the look-back).
    assert cov["carriers"]["electricity"]["expected"] == 31 * 96
    assert cov["carriers"]["water"]["expected"] == 31 * 24
    assert _rules(acc) == [("coverage-empty", "electricity"), ("coverage-empty", "water")]
    assert all(c.consumption == 0 for c in acc.carriers.values())  # the zero is now explained, not silent
    # The report says so in JSON and on the page, in both languages.
    report = monthly_report(twin, BUILDING, "2026-05", lang="en", config=CONFIG, now=june5)
    assert [i["rule"] for i in report.to_dict()["issues"]] == ["coverage-empty", "coverage-empty"]
    page = to_html(report)
    assert 'data-rule="coverage-empty"' in page and "no electricity reading in the period" in page
    zh = to_html(monthly_report(twin, BUILDING, "2026-05", lang="zh", config=CONFIG, now=june5))
    assert "本期无电读数" in zh and "数据完整度" in zh


def test_a_month_still_running_expects_readings_only_up_to_now(twin: Twin) -> None:
    now = datetime(2026, 4, 15, 10, 20, tzinfo=SH)
    twin.append(_readings(APRIL, datetime(2026, 4, 15, 10, 15, tzinfo=SH)))
    acc = account(twin, BUILDING, APRIL, MAY, config=CONFIG, now=now)
    cov = _cov(acc)
    # Expected up to one interval before now (the reading closing the interval that just ended may be in transit):
    # 14 days and 10:05 → 14 × 96 + 40 quarter hours (00:15 … 10:00); 14 days and 09:20 → 14 × 24 + 9 hours.
    # Present: everything stamped so far, 14 × 96 + 41 (… 10:15) and 14 × 24 + 10 (… 10:00).
    assert cov["carriers"]["electricity"]["expected"] == 14 * 96 + 40
    assert cov["carriers"]["electricity"]["present"] == 14 * 96 + 41
    assert cov["carriers"]["water"]["expected"] == 14 * 24 + 9
    assert cov["carriers"]["water"]["present"] == 14 * 24 + 10
    assert cov["status"] == "complete" and cov["running"]
    assert cov["until"].startswith("2026-04-15T10:20")
    assert _rules(acc) == [("coverage-running", None)]
    assert "2026-04-15T10:20" in acc.issues[0]["message_en"] and "本期尚未结束" in acc.issues[0]["message_zh"]
    # Readings late by more than an interval are missing: electricity up to 09:45 misses the one of 10:00.
    early = datetime(2026, 4, 15, 9, 45, tzinfo=SH)
    lagging = open_twin(None)
    try:
        lagging.upsert(_layout())
        lagging.append(_readings(APRIL, early))
        short = account(lagging, BUILDING, APRIL, MAY, config=CONFIG, now=now)
        elec = _cov(short)["carriers"]["electricity"]
        assert (elec["expected"], elec["present"], elec["missing"]) == (14 * 96 + 40, 14 * 96 + 39, 1)
        assert _rules(short) == [("coverage-partial", "electricity"), ("coverage-running", None)]
    finally:
        lagging.close()
    # The same month seen once it is over (now = 10 May) is partial: the rest of April never came.
    later = account(twin, BUILDING, APRIL, MAY, config=CONFIG, now=datetime(2026, 5, 10, tzinfo=SH))
    assert _rules(later) == [("coverage-partial", "electricity"), ("coverage-partial", "water")]


def test_lifecycle_clips_what_is_expected(twin: Twin) -> None:
    """A meter commissioned on 20 April is expected for 11 days; one registered after its history was imported
    (lifecycle from 1 June) is expected from its first reading on."""
    twin.upsert(_layout(late=True))
    twin.append(_readings(APRIL, MAY))
    twin.append([{"entity_id": LATE, "attribute": "reading", "value": 2.0,
                  "observed_at": datetime(2026, 4, 20, tzinfo=SH) + timedelta(minutes=15 * k)}
                 for k in range(1, 11 * 96 + 1)])
    imported = "urn:ngsi-ld:Meter:cov-imported"
    twin.upsert([{"id": imported, "type": "Meter", "properties": {"carrier": "diesel", "unit": "L"},
                  "relationships": {"containedIn": BUILDING}, "phase_since": date(2026, 6, 1)}])
    twin.append([{"entity_id": imported, "attribute": "reading", "value": 5.0,
                  "observed_at": datetime(2026, 3, 1, tzinfo=SH) + timedelta(hours=h)} for h in range(1, 61 * 24)])
    acc = account(twin, BUILDING, APRIL, MAY, config=CONFIG,
                  now=datetime(2026, 5, 10, tzinfo=SH))
    meters = {m["meter"]: m for m in _cov(acc)["meters"]}
    assert (meters[LATE]["expected"], meters[LATE]["present"], meters[LATE]["status"]) == (11 * 96, 11 * 96,
                                                                                          "complete")
    assert meters[LATE]["expected_from"].startswith("2026-04-20T00:00")
    # Readings from 1 March to 30 April 23:00: hourly, so April expects 30 × 24 and misses the last one (24:00).
    assert (meters[imported]["expected"], meters[imported]["present"]) == (30 * 24, 30 * 24 - 1)


def test_tenant_account_covers_the_meters_its_figures_draw_on(tmp_path: Path) -> None:
    """A tenant's coverage is that of its plan's meters: B (floor-area share of the main meter minus A's own
    meter) is short when A's meter is."""
    from test_energy_tenants import A_SUB, MAIN, WATER, A, B
    from test_energy_tenants import _layout as tenant_layout

    twin = open_twin(tmp_path / "t.duckdb")
    try:
        twin.upsert(tenant_layout())
        day = datetime(2026, 3, 2, tzinfo=SH)
        rows = [{"entity_id": mid, "attribute": "reading", "observed_at": day + timedelta(hours=h), "value": 1.0}
                for h in range(1, 25) for mid in (MAIN, WATER, A_SUB) if not (mid == A_SUB and 5 <= h <= 8)]
        twin.append(rows)
        now = datetime(2026, 3, 10, tzinfo=SH)
        a = account(twin, A, day, day + timedelta(days=1), config=CONFIG, now=now)
        b = account(twin, B, day, day + timedelta(days=1), config=CONFIG, now=now)
        ca, cb = _cov(a)["carriers"], _cov(b)["carriers"]
        assert (ca["electricity"]["expected"], ca["electricity"]["present"]) == (24, 20)  # A's own meter
        assert (cb["electricity"]["expected"], cb["electricity"]["present"]) == (48, 44)  # main + A's, deducted
        assert (ca["water"]["expected"], ca["water"]["present"]) == (24, 24)
        assert ("coverage-partial", "electricity") in _rules(a) and ("coverage-partial", "electricity") in _rules(b)
    finally:
        twin.close()


def test_a_scope_without_meters_is_empty() -> None:
    twin = open_twin(None)
    try:
        twin.upsert([{"id": "urn:ngsi-ld:Building:bare", "type": "Building", "properties": {"name": "空楼"}}])
        acc = account(twin, "urn:ngsi-ld:Building:bare", APRIL, MAY, now=datetime(2026, 5, 10, tzinfo=SH))
        assert _rules(acc) == [("coverage-empty", None)] and _cov(acc)["status"] == "empty"
    finally:
        twin.close()


def test_bad_now_and_bad_interval_are_named(twin: Twin) -> None:
    with pytest.raises(ValidationError) as err:
        account(twin, BUILDING, APRIL, MAY, config=CONFIG, now=datetime(2026, 5, 10))
    assert (err.value.field, err.value.rule) == ("now", "timezone-required")
    with pytest.raises(ValidationError) as err:
        twin.upsert([{"id": "urn:ngsi-ld:Meter:bad", "type": "Meter", "relationships": {"containedIn": BUILDING},
                      "properties": {"carrier": "water", "unit": "m3", "readingInterval": -5}}])
    assert "readingInterval" in err.value.field


def test_percent_never_rounds_to_the_comforting_side() -> None:
    assert percent(38215 / 38226) == "99.97%" and percent(0.999999) == "99.99%" and percent(1.0) == "100.00%"
    assert percent(11 / 38226, up=True) == "0.03%" and percent(1e-7, up=True) == "0.01%"


def test_cli_json_states_coverage_of_an_empty_month(tmp_path: Path) -> None:
    """``lingang-twin energy report --format json`` (a real process) for a month without readings: the issues
    say it, where they used to say nothing."""
    path = tmp_path / "cli.duckdb"
    twin = open_twin(path)
    try:
        twin.upsert(_layout())
        twin.append(_readings(APRIL, MAY))
    finally:
        twin.close()
    config = tmp_path / "energy.json"
    config.write_text(json.dumps(CONFIG), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "lingang_twin.cli", "energy", "report", "--db", str(path),
                           "--scope", BUILDING, "--month", "2026-02", "--config", str(config)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert {(i["rule"], i["carrier"]) for i in out["issues"]} == {("coverage-empty", "electricity"),
                                                                 ("coverage-empty", "water")}
    assert out["coverage"]["present"] == 0 and out["coverage"]["status"] == "empty"
    start, _ = month_range("2026-02")
    assert out["start"] == start.isoformat()


def test_report_flags_a_comparison_month_that_is_itself_partial(twin: Twin) -> None:
    """April is whole, March holds its second half only: April's month-on-month change is not comparable, and the
    report says so (it used to print the change as if March were whole)."""
    twin.append(_readings(datetime(2026, 3, 16, tzinfo=SH), MAY))
    report = monthly_report(twin, BUILDING, "2026-04", lang="en", config=CONFIG, now=datetime(2026, 5, 10, tzinfo=SH))
    assert report.previous is not None and report.comparison()["kgce"]["mom"] is not None
    (flag,) = [i for i in report.issues if i["rule"] == "coverage-comparison"]
    # March: electricity 16 of 31 days × 96; water 16 × 24 hourly steps plus the anchor of 16 March 00:00, which
    # closes 15 March's last hour — of 31 × 24.
    share = (16 * 96 + 16 * 24 + 1) / (31 * 96 + 31 * 24)
    assert flag["month"] == "2026-03" and flag["ratio"] == pytest.approx(share)
    assert f"{math.floor(share * 10_000) / 100:.2f}%" in flag["message_en"] and "环比不可比" in flag["message_zh"]
    assert [i["rule"] for i in report.issues] == ["coverage-comparison"]  # April itself is complete
    assert "month-on-month change is not comparable" in to_html(report)


def test_api_account_and_report_state_coverage(twin: Twin) -> None:
    """``/api/v1/energy/account`` and ``/report`` (TestClient over the app on the real file): a month without
    readings answers with its coverage and the ``coverage-empty`` issues."""
    from fastapi.testclient import TestClient

    from lingang_twin.api import create_app
    from lingang_twin.app import PACKS

    twin.append(_readings(APRIL, MAY))
    app = create_app(twin, packs=PACKS, configs={"energy": CONFIG})
    with TestClient(app) as client:
        r = client.get("/api/v1/energy/account", params={"scope": BUILDING, "month": "2026-02"})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["coverage"]["status"] == "empty" and body["coverage"]["carriers"]["electricity"]["expected"] == (
            28 * 96)  # February 2026: 28 days of the declared 15-minute interval
        assert [i["rule"] for i in body["issues"]] == ["coverage-empty", "coverage-empty"]
        r = client.get("/api/v1/energy/report", params={"scope": BUILDING, "month": "2026-04", "lang": "en"})
        assert r.status_code == 200, r.text
        report = r.json()
        assert report["coverage"]["status"] == "complete" and report["coverage"]["present"] == 30 * 96 + 30 * 24
        assert report["issues"] == []


def test_a_period_not_begun_says_so(twin: Twin) -> None:
    acc = account(twin, BUILDING, MAY, datetime(2026, 6, 1, tzinfo=SH), config=CONFIG,
                  now=datetime(2026, 4, 20, tzinfo=SH))
    assert _rules(acc) == [("coverage-empty", "electricity"), ("coverage-empty", "water")]
    assert all("has not begun" in i["message_en"] and "尚未开始" in i["message_zh"] for i in acc.issues)
    assert _cov(acc)["expected"] == 0 and _cov(acc)["status"] == "empty"
