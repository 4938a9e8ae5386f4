"""The consumption grid: meters × Shanghai-time buckets in canonical units, NaN where no reading."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from energy_fixtures import BUILDING, DAY, M_ELEC, M_ELEC_SUB, M_GAS, M_WATER

from lingang_twin.core.errors import NotFoundError, ValidationError
from lingang_twin.core.twin import Twin
from lingang_twin.energy.consumption import align, consumption_grid


def test_hourly_grid_of_a_building(energy_db: tuple[Path, Twin]) -> None:
    _, twin = energy_db
    grid = consumption_grid(twin, BUILDING, DAY, DAY + timedelta(days=1), "hour")
    assert grid.n_buckets == 24
    assert M_ELEC_SUB not in grid.ids  # main meters only by default
    elec = grid.row(M_ELEC)
    assert elec[2] == pytest.approx(100.0)  # the reading stamped 03:00 closes 02:00-03:00
    assert elec[9] == pytest.approx(900.0)
    assert np.nansum(elec) == pytest.approx(1000.0)
    gas = grid.row(M_GAS)
    assert np.nansum(gas) == pytest.approx(20.0)  # across the rollover at 1,000 m³
    water = grid.row(M_WATER)
    assert np.all(water == 2.0)  # the 999 m³ of the next day is outside
    assert grid.total("electricity")[9] == pytest.approx(900.0)


def test_daily_grid_and_sub_meters(energy_db: tuple[Path, Twin]) -> None:
    _, twin = energy_db
    grid = consumption_grid(twin, BUILDING, DAY - timedelta(days=1), DAY + timedelta(days=2), "day",
                            main_only=False)
    assert grid.n_buckets == 3
    assert np.isnan(grid.row(M_ELEC_SUB)[0])  # no reading is not zero
    assert grid.row(M_ELEC_SUB)[1] == pytest.approx(40.0 * 24)
    assert grid.counts[grid.ids.index(M_WATER), 1] == 24


def test_explicit_meter_list_and_alignment(energy_db: tuple[Path, Twin]) -> None:
    _, twin = energy_db
    meters = [twin.get(M_WATER), twin.get(M_ELEC)]
    grid = consumption_grid(twin, meters, DAY + timedelta(minutes=30), DAY + timedelta(hours=23, minutes=10))
    assert grid.start == DAY and grid.end == DAY + timedelta(days=1)
    assert grid.ids == [M_WATER, M_ELEC]
    assert np.nansum(grid.row(M_WATER)) == pytest.approx(48.0)


def test_bad_input(energy_db: tuple[Path, Twin]) -> None:
    _, twin = energy_db
    with pytest.raises(ValidationError) as err:
        align(DAY, DAY + timedelta(days=1), "fortnight")
    assert err.value.field == "bucket"
    with pytest.raises(ValidationError) as err:
        align(DAY.replace(tzinfo=None), DAY + timedelta(days=1), "hour")
    assert err.value.field == "start"
    with pytest.raises(ValidationError) as err:
        consumption_grid(twin, BUILDING, DAY, DAY, "hour")
    assert err.value.field == "end"
    with pytest.raises(ValidationError) as err:
        consumption_grid(twin, [twin.get(BUILDING)], DAY, DAY + timedelta(days=1))
    assert err.value.field == "meters[0]"
    with pytest.raises(NotFoundError):
        consumption_grid(twin, "urn:ngsi-ld:Building:nowhere", DAY, DAY + timedelta(days=1))
    grid = consumption_grid(twin, BUILDING, DAY, DAY + timedelta(days=1))
    with pytest.raises(ValidationError) as err:
        grid.total("heat")
    assert err.value.field == "carrier"
