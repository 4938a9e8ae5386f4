"""Tariffs: the illustrative time-of-use table and its validation."""

from __future__ import annotations

from typing import Any

import pytest

from lingang_twin.core.errors import ValidationError
from lingang_twin.energy.tariffs import TARIFFS, tariff_from


def _tou(*periods: tuple[str, list[tuple[int, int]], float]) -> dict[str, Any]:
    return {"name": "t", "prices_cny": {"water": 5.0},
            "time_of_use": [{"name": n, "hours": h, "price_cny_per_kwh": p} for n, h, p in periods]}


def test_illustrative_default_is_marked_and_covers_the_day() -> None:
    t = TARIFFS["shanghai-illustrative"]
    assert t.illustrative and "ILLUSTRATIVE" in t.source
    prices = t.hourly_prices()
    assert prices is not None and len(prices) == 24
    assert prices[9] == 1.20 and prices[23] == 0.35 and prices[3] == 0.35 and prices[12] == 0.75


def test_wrapping_period() -> None:
    t = tariff_from(_tou(("valley", [(22, 6)], 0.3), ("day", [(6, 22)], 1.0)))
    assert t.hourly_prices() == [0.3] * 6 + [1.0] * 16 + [0.3] * 2


def test_overlap_names_the_hours() -> None:
    with pytest.raises(ValidationError) as err:
        tariff_from(_tou(("a", [(0, 12)], 1.0), ("b", [(10, 24)], 1.0)))
    assert err.value.rule == "tariff-invalid" and err.value.field.startswith("tariff")
    assert "[10, 11]" in str(err.value) and "overlap" in str(err.value)


def test_gap_names_the_hours() -> None:
    with pytest.raises(ValidationError) as err:
        tariff_from(_tou(("a", [(0, 12)], 1.0), ("b", [(13, 23)], 1.0)))
    assert err.value.rule == "tariff-invalid"
    assert "[12, 23]" in str(err.value) and "no period" in str(err.value)


def test_bad_tariffs() -> None:
    with pytest.raises(ValidationError) as err:
        tariff_from("nope")
    assert err.value.rule == "tariff-unknown" and "shanghai-illustrative" in str(err.value)
    with pytest.raises(ValidationError) as err:
        tariff_from({"name": "x", "prices_cny": {"coal": 1.0}})
    assert "coal" in str(err.value)
    with pytest.raises(ValidationError) as err:
        tariff_from({"name": "x", "prices_cny": {"water": -1.0}})
    assert err.value.field == "tariff.prices_cny.water"
    with pytest.raises(ValidationError) as err:
        tariff_from({"name": "x"}).price("water")
    assert err.value.rule == "price-missing"
