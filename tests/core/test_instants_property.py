"""Any instant thrown at the door is either refused with a clear rule, or stored and readable afterwards —
never stored in a form that breaks a later read (issue 10.1). Real DuckDB store; the clock is injected."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from lingang_twin.core.errors import ValidationError
from lingang_twin.core.twin import Twin
from lingang_twin.stores.duckdb_store import DuckDBStore

NOW = datetime(2026, 6, 1, tzinfo=UTC)
METER = "urn:ngsi-ld:Meter:prop"
OFFSETS = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
INSTANTS = st.datetimes(datetime(1, 1, 2), datetime(9999, 12, 30), timezones=OFFSETS) | st.sampled_from([
    datetime(1900, 1, 1, tzinfo=UTC), datetime(1899, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    NOW + timedelta(days=1), NOW + timedelta(days=1, microseconds=1)])


@settings(max_examples=60, deadline=None)
@given(at=INSTANTS, as_text=st.booleans())
def test_an_instant_is_refused_clearly_or_stored_readably(at: datetime, as_text: bool) -> None:
    twin = Twin(DuckDBStore(None), clock=lambda: NOW)
    twin.upsert([{"id": METER, "type": "Meter", "properties": {"carrier": "water", "unit": "m3"}}])
    # The oracle: the range and the horizon, computed here from the naive UTC wall time of the datetime itself.
    utc = at.replace(tzinfo=None) - at.utcoffset()  # type: ignore[operator]
    accepted = datetime(1900, 1, 1) <= utc <= (NOW + timedelta(days=1)).replace(tzinfo=None)
    try:
        twin.append([{"entity_id": METER, "attribute": "reading", "value": 1.0,
                      "observed_at": at.isoformat() if as_text else at}])
    except ValidationError as err:
        assert (err.field, err.rule) in {("observed_at", "instant-range"), ("observed_at", "future-horizon")}
        assert not accepted
        assert twin.store.series_of(METER) == {}
        twin.close()
        return
    assert accepted
    raw = twin.read(METER, "reading")
    assert raw.num_rows == 1 and raw["observed_at"][0].as_py() == at
    for bucket in ("15min", "week", "month", "year"):
        rows = twin.aggregate("reading", entity_id=METER, bucket=bucket, agg="sum").to_pylist()
        assert [r["value"] for r in rows] == [1.0]
        orjson.dumps(rows)  # every bucket start is a representable date-time
    twin.close()
