"""The overview's "energy today" (the energy pack's tile) counts each unit of energy once: main meters only,
cumulative registers by delta, in the carrier's one unit."""

from __future__ import annotations

from datetime import timedelta

from lingang_twin.console import data
from lingang_twin.core.twin import Twin
from lingang_twin.energy.carriers import to_canonical_scale
from lingang_twin.energy.settings import config_in_force
from lingang_twin.energy.web.page import energy_today


def test_energy_today_leaves_sub_meters_out(demo_twin: Twin) -> None:
    start = data.start_of_today(None)
    end = start + timedelta(days=1)
    config = config_in_force(demo_twin, None)
    tiles = {c: v for c, v, _ in energy_today(demo_twin, config, end - timedelta(microseconds=1)) or []}
    meters = demo_twin.query(types=["Meter"], limit=10_000).entities
    main = {m.id: m for m in meters if m.target("submeterOf") is None}
    subs = [m for m in meters if m.target("submeterOf") is not None]
    assert subs, "the demo has sub-meters, so this test can tell the difference"
    expected: dict[str, float] = {}
    for register, agg in (("interval", "sum"), ("cumulative", "delta")):
        table = demo_twin.aggregate("reading", types=["Meter"], bucket="day", agg=agg, group_by="entity", start=start,
                                    end=end, q=f'register=="{register}"')
        for row in table.to_pylist():
            meter = main.get(row["group"])
            if meter is not None and row["value"] is not None:
                carrier = meter.value("carrier")
                # The pack shows each carrier in its one unit (litres of diesel become kg by the fuel's density).
                scale = to_canonical_scale(carrier, meter.value("unit"), config)
                expected[carrier] = expected.get(carrier, 0.0) + row["value"] * scale
    assert tiles.keys() == expected.keys()
    for carrier, value in expected.items():
        assert abs(tiles[carrier] - value) <= 1e-6 * max(1.0, abs(value)), carrier
