"""Property: ingestion is idempotent and order-independent — any split, order and resend of the same readings
leaves the same stored series and the same aggregates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from lingang_twin.core.twin import Twin
from lingang_twin.stores.duckdb_store import DuckDBStore

METERS = ["urn:ngsi-ld:Meter:p-a", "urn:ngsi-ld:Meter:p-b"]
T0 = datetime(2024, 3, 30, 20, tzinfo=UTC)  # crosses Shanghai midnight and a month end


def fresh_twin() -> Twin:
    twin = Twin(DuckDBStore(None))
    # One interval meter and one cumulative register, so consumption runs both of its paths (sum and delta).
    twin.upsert([{"id": m, "type": "Meter", "properties": {"carrier": "water", "unit": "m3", "register": reg}}
                 for m, reg in zip(METERS, ("interval", "cumulative"), strict=True)])
    return twin


def reading(meter: int, step: int) -> dict:
    # The value is a function of the key, so every resend of a key is identical.
    return {"entity_id": METERS[meter], "attribute": "reading",
            "observed_at": T0 + timedelta(minutes=15 * step), "value": float((step * 7 + meter * 3) % 11)}


keys = st.sets(st.tuples(st.integers(0, 1), st.integers(0, 400)), min_size=1, max_size=120)


@settings(max_examples=40, deadline=None)
@given(keys=keys, data=st.data())
def test_any_split_order_and_resend_gives_the_same_result(keys: set[tuple[int, int]], data: st.DataObject) -> None:
    rows = [reading(m, s) for m, s in sorted(keys)]
    shuffled = data.draw(st.permutations(rows))
    resent = data.draw(st.lists(st.sampled_from(rows), max_size=30))
    stream = shuffled + resent
    cuts = sorted(data.draw(st.sets(st.integers(1, max(1, len(stream) - 1)), max_size=6)))
    batches = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True) if stream[a:b]]

    twin = fresh_twin()
    inserted = duplicates = 0
    for batch in batches:
        r = twin.append(batch)
        inserted += r.inserted
        duplicates += r.duplicates
    assert inserted == len(rows)
    assert duplicates == len(stream) - len(rows)

    reference = fresh_twin()
    reference.append(rows)
    for m in METERS:
        got = twin.read(m, "reading") if "reading" in twin.store.series_of(m) else None
        want = reference.read(m, "reading") if "reading" in reference.store.series_of(m) else None
        assert (got is None and want is None) or got.equals(want)
    for bucket in ("hour", "day", "month"):
        for agg in ("first", "last", "consumption"):
            a = twin.aggregate("reading", types=["Meter"], bucket=bucket, agg=agg, group_by="entity")
            b = reference.aggregate("reading", types=["Meter"], bucket=bucket, agg=agg, group_by="entity")
            assert a.equals(b), (bucket, agg)
    twin.close()
    reference.close()
