"""Virtual meters (formulas over meters) and unmetered loss, on real DuckDB files."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from energy_fixtures import BUILDING, DAY, M_ELEC, M_ELEC_SUB, M_GAS, M_WATER, meter
from fastapi.testclient import TestClient
from numpy.testing import assert_allclose

from lingang_twin.api import create_app
from lingang_twin.app import PACKS
from lingang_twin.core.errors import ValidationError
from lingang_twin.core.twin import Twin
from lingang_twin.energy.virtual import (
    FormulaSyntaxError,
    evaluate_virtual,
    evaluate_virtual_meter,
    parse_formula,
    register_virtual_meter_type,
    unmetered_loss,
)

END = DAY + timedelta(days=1)
DB = tuple[Path, Twin]


def test_formula_against_hand_computed_hours(energy_db: DB) -> None:
    _, twin = energy_db
    # Main (cumulative): +100 kWh in 02:00-03:00, +900 in 09:00-10:00, else 0; sub: 40 kWh every hour.
    t = evaluate_virtual(twin, f"{M_ELEC} - 0.5 * {M_ELEC_SUB}", DAY, END, "hour")
    assert t.num_rows == 24
    assert t.schema.metadata[b"unit"] == b"kWh"
    values = t["value"].to_pylist()
    expected = [-20.0] * 24
    expected[2], expected[9] = 80.0, 880.0
    assert_allclose(values, expected)
    assert t["missing"].to_pylist() == [0] * 24


def test_local_ids_parentheses_and_day_bucket(energy_db: DB) -> None:
    _, twin = energy_db
    t = evaluate_virtual(twin, "(@lab-elec-main - @lab-elec-hvac) / 2", DAY, END, "day")
    assert t.num_rows == 1
    assert_allclose(t["value"].to_pylist(), [(1000.0 - 960.0) / 2])


def test_missing_bucket_is_null_and_counted(energy_db: DB) -> None:
    _, twin = energy_db
    twin.upsert([meter("urn:ngsi-ld:Meter:lab-water-2", BUILDING, "water", "L")])
    twin.append([{"entity_id": "urn:ngsi-ld:Meter:lab-water-2", "attribute": "reading",
                  "observed_at": DAY + timedelta(hours=5), "value": 500.0}])
    t = evaluate_virtual(twin, f"{M_WATER} + @lab-water-2", DAY, END, "hour")
    rows = {r["bucket"].hour: r for r in t.to_pylist()}
    assert rows[4]["value"] == pytest.approx(2.0 + 0.5)  # 500 L → 0.5 m3, the hour closed at 05:00
    assert rows[4]["missing"] == 0
    assert rows[0]["value"] is None and rows[0]["missing"] == 1


def test_unknown_meter_and_mixed_carriers(energy_db: DB) -> None:
    _, twin = energy_db
    with pytest.raises(ValidationError) as err:
        evaluate_virtual(twin, f"{M_ELEC} + @nope", DAY, END)
    assert (err.value.field, err.value.rule) == ("formula", "meter-unknown")
    assert "@nope" in str(err.value)
    with pytest.raises(ValidationError) as err:
        evaluate_virtual(twin, "@lab-elec-main+@lab-elec-hvac", DAY, END)  # no spaces: one (unknown) id
    assert err.value.rule == "meter-unknown"
    with pytest.raises(ValidationError) as err:
        evaluate_virtual(twin, f"{M_ELEC} + {M_GAS}", DAY, END)
    assert err.value.rule == "carrier-mixed"


@pytest.mark.parametrize(("formula", "position"), [("@a + * 2", 5), ("(@a + 1", 7), ("@a $ 2", 3), ("", 0)])
def test_parse_error_position(formula: str, position: int) -> None:
    with pytest.raises(FormulaSyntaxError) as err:
        parse_formula(formula)
    assert err.value.position == position
    assert (err.value.field, err.value.rule) == ("formula", "formula-syntax")


def test_self_reference_and_cycle(energy_db: DB) -> None:
    _, twin = energy_db
    register_virtual_meter_type(twin)
    twin.upsert([
        {"id": "urn:ngsi-ld:VirtualMeter:net", "type": "VirtualMeter",
         "properties": {"formula": f"{M_ELEC} - {M_ELEC_SUB}"}},
        {"id": "urn:ngsi-ld:VirtualMeter:self", "type": "VirtualMeter",
         "properties": {"formula": f"{M_ELEC} - urn:ngsi-ld:VirtualMeter:self"}},
        {"id": "urn:ngsi-ld:VirtualMeter:a", "type": "VirtualMeter", "properties": {"formula": "@b + 1"}},
        {"id": "urn:ngsi-ld:VirtualMeter:b", "type": "VirtualMeter", "properties": {"formula": "@net + @a"}},
    ])
    t = evaluate_virtual_meter(twin, "urn:ngsi-ld:VirtualMeter:net", DAY, END, "day")
    assert_allclose(t["value"].to_pylist(), [40.0])
    t = evaluate_virtual(twin, "2 * @net", DAY, END, "day")  # a virtual meter inside a formula expands
    assert_allclose(t["value"].to_pylist(), [80.0])
    with pytest.raises(ValidationError) as err:
        evaluate_virtual_meter(twin, "urn:ngsi-ld:VirtualMeter:self", DAY, END)
    assert (err.value.field, err.value.rule) == ("formula", "formula-self-reference")
    with pytest.raises(ValidationError) as err:
        evaluate_virtual_meter(twin, "urn:ngsi-ld:VirtualMeter:a", DAY, END)
    assert err.value.rule == "formula-cycle"
    assert "VirtualMeter:a → urn:ngsi-ld:VirtualMeter:b → urn:ngsi-ld:VirtualMeter:a" in err.value.message


def test_unmetered_loss_on_hand_built_tree(energy_db: DB) -> None:
    _, twin = energy_db
    # Add a second sub-meter (in Wh) of 10 kWh in the day: loss = 1000 - 960 - 10 = 30 kWh, 3 %.
    twin.upsert([meter("urn:ngsi-ld:Meter:lab-elec-light", BUILDING, "electricity", "Wh", sub_of=M_ELEC)])
    twin.append([{"entity_id": "urn:ngsi-ld:Meter:lab-elec-light", "attribute": "reading",
                  "observed_at": DAY + timedelta(hours=h), "value": 10_000.0 / 24} for h in range(1, 25)])
    report = unmetered_loss(twin, M_ELEC, DAY, END)
    assert sorted(report.submeters) == ["urn:ngsi-ld:Meter:lab-elec-hvac", "urn:ngsi-ld:Meter:lab-elec-light"]
    assert report.unit == "kWh"
    assert_allclose([report.main_total, report.submetered_total, report.loss], [1000.0, 970.0, 30.0])
    assert report.share == pytest.approx(0.03)
    assert not report.flagged  # electricity threshold 5 %
    row = report.table.to_pylist()[0]
    assert row["loss"] == pytest.approx(30.0) and row["flagged"] is False
    tight = unmetered_loss(twin, M_ELEC, DAY, END, threshold=0.02)
    assert tight.flagged and tight.table["flagged"].to_pylist() == [True]
    assert report.findings() == []  # nothing flagged, nothing to alert
    (finding,) = tight.findings()
    assert (finding.kind, finding.entity_id, finding.start, finding.end) == ("unmetered_loss", M_ELEC, DAY, END)
    assert finding.evidence["loss"] == pytest.approx(30.0) and finding.severity == "medium"
    # Alertable: the loss becomes an open Alert on the main meter, once (a second run raises nothing new).
    with TestClient(create_app(twin, packs=PACKS)) as client:
        params = {"meter": M_ELEC, "start": DAY.isoformat(), "end": END.isoformat(), "threshold": 0.02}
        # A GET only reads, even asked for alerts the old way (issue 12: no state change through a GET).
        before = twin.latest_change()
        r = client.get("/api/v1/energy/unmetered-loss", params={**params, "alerts": "true"})
        assert r.status_code == 200 and r.json()["flagged"] and r.json().get("alerts") is None, r.text
        assert twin.latest_change() == before
        r = client.post("/api/v1/energy/unmetered-loss/alerts", params=params)
        assert r.status_code == 200, r.text
        (alert,) = r.json()["alerts"]
        assert client.post("/api/v1/energy/unmetered-loss/alerts", params=params).json()["alerts"] == [alert]
        r = client.get("/api/v1/energy/unmetered-loss", params={**params, "meter": M_WATER})
        assert r.status_code == 422 and r.json()["rule"] == "no-submeters"
    stored = twin.get(alert)
    assert stored.value("subCategory") == "unmetered_loss" and stored.target("alertSource") == M_ELEC
    assert stored.value("status") == "open"


def test_loss_needs_submeters(energy_db: DB) -> None:
    _, twin = energy_db
    with pytest.raises(ValidationError) as err:
        unmetered_loss(twin, M_WATER, DAY, END)
    assert (err.value.field, err.value.rule) == ("main_meter_id", "no-submeters")


def test_precedence_unary_minus_and_division_by_zero(energy_db: DB) -> None:
    _, twin = energy_db
    # Water: 2 m³ every hour.
    t = evaluate_virtual(twin, "@lab-water * 2 + 1 - -(@lab-water) / 4", DAY, END, "hour")
    assert_allclose(t["value"].to_pylist(), [2 * 2 + 1 + 2 / 4] * 24)
    t = evaluate_virtual(twin, "@lab-water / (@lab-water - 2)", DAY, END, "hour")
    assert t["value"].null_count == 24 and t["missing"].to_pylist() == [0] * 24
    with pytest.raises(ValidationError) as err:
        evaluate_virtual(twin, "1 + 2", DAY, END)
    assert err.value.rule == "formula-no-meter"
