"""The overview's "energy today" counts each unit of energy once: main meters only, cumulative registers by delta."""

from __future__ import annotations

from lingang_twin.console import data
from lingang_twin.core.twin import Twin


def test_energy_today_leaves_sub_meters_out(demo_twin: Twin) -> None:
    tiles = {t.carrier: t.value for t in data.energy_today(demo_twin) or []}
    start = data.start_of_today(None)
    meters = demo_twin.query(types=["Meter"], limit=10_000).entities
    main = {m.id: m for m in meters if m.target("submeterOf") is None}
    subs = [m for m in meters if m.target("submeterOf") is not None]
    assert subs, "the demo has sub-meters, so this test can tell the difference"
    expected: dict[str, float] = {}
    for register, agg in (("interval", "sum"), ("cumulative", "delta")):
        table = demo_twin.aggregate("reading", types=["Meter"], bucket="day", agg=agg, group_by="entity", start=start,
                                    q=f'register=="{register}"')
        for row in table.to_pylist():
            meter = main.get(row["group"])
            if meter is not None and row["value"] is not None:
                carrier = meter.value("carrier")
                expected[carrier] = expected.get(carrier, 0.0) + row["value"]
    assert tiles.keys() == expected.keys()
    for carrier, value in expected.items():
        assert abs(tiles[carrier] - value) <= 1e-6 * max(1.0, abs(value)), carrier
