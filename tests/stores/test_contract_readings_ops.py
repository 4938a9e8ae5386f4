"""Store contract: deleting and correcting readings, retiring what others point at, keyset paging of raw reads.

Runs against every store factory (``tests/conftest.py``). Oracles are plain Python sets and counts built from
the rows the test wrote, not from the store's code.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from lingang_fixtures import M_ELEC, M_ELEC_SUB, M_H2, M_WATER
from lingang_twin.core.errors import ConflictError, NotFoundError, ValidationError
from lingang_twin.core.store import Change, SeriesQuery
from lingang_twin.core.twin import Twin, page_cursor

CST = timezone(timedelta(hours=8))
T0 = datetime(2024, 3, 1, tzinfo=CST)


def _rows(entity: str, n: int, start: datetime = T0, step_min: int = 15, base: float = 0.0) -> list[dict]:
    return [{"entity_id": entity, "attribute": "reading", "observed_at": start + timedelta(minutes=step_min * i),
             "value": base + i} for i in range(n)]


def _changes(twin: Twin) -> list[Change]:
    return twin.changes(0, 100_000)


def test_delete_readings_removes_exactly_the_range_of_one_series(lingang: Twin) -> None:
    lingang.append(_rows(M_WATER, 96) + _rows(M_ELEC_SUB, 96))
    start, end = T0 + timedelta(hours=2), T0 + timedelta(hours=5)
    # The oracle: readings stamped in [start, end) of M_WATER, counted from what was written.
    expected = sum(1 for r in _rows(M_WATER, 96) if start <= r["observed_at"] < end)
    assert expected == 12
    assert lingang.delete_readings(M_WATER, "reading", start, end) == expected
    left = lingang.read(M_WATER, "reading").column("value").to_pylist()
    assert left == [float(i) for i in range(96) if not 8 <= i < 20]
    assert lingang.read(M_ELEC_SUB, "reading").num_rows == 96  # the other series is untouched
    assert lingang.delete_readings(M_WATER, "reading", start, end) == 0  # a repeat removes nothing
    feed = [c for c in _changes(lingang) if c.op == "readings-delete"]
    assert len(feed) == 1 and feed[0].entity_id == M_WATER
    assert feed[0].detail is not None
    assert feed[0].detail["count"] == 12 and feed[0].detail["attribute"] == "reading"
    # Deleted instants can be written again (a bad reading replaced by a good one).
    r = lingang.append([{**_rows(M_WATER, 96)[10], "value": 1000.0}])
    assert r.inserted == 1


@pytest.mark.parametrize("missing", ["entity_id", "attribute", "start", "end"])
def test_delete_readings_is_refused_without_one_series_and_a_closed_range(lingang: Twin, missing: str) -> None:
    lingang.append(_rows(M_WATER, 8))
    args = {"entity_id": M_WATER, "attribute": "reading", "start": T0, "end": T0 + timedelta(days=1)}
    args[missing] = None
    with pytest.raises(ValidationError) as err:
        lingang.delete_readings(**args)
    assert err.value.field == missing and err.value.rule == "required"
    assert lingang.read(M_WATER, "reading").num_rows == 8


def test_delete_readings_refuses_bad_ranges_and_unknown_series(lingang: Twin) -> None:
    lingang.append(_rows(M_WATER, 8))
    with pytest.raises(ValidationError) as err:
        lingang.delete_readings(M_WATER, "reading", T0 + timedelta(hours=1), T0)
    assert err.value.rule == "range-order"
    with pytest.raises(ValidationError) as err:
        lingang.delete_readings(M_WATER, "reading", datetime(2024, 3, 1), T0 + timedelta(hours=1))
    assert err.value.rule == "timezone-required"
    with pytest.raises(NotFoundError):
        lingang.delete_readings(M_WATER, "flow", T0, T0 + timedelta(hours=1))
    with pytest.raises(NotFoundError):
        lingang.delete_readings("urn:ngsi-ld:Meter:nowhere", "reading", T0, T0 + timedelta(hours=1))
    assert lingang.read(M_WATER, "reading").num_rows == 8


def test_delete_after_compaction_keeps_reads_and_aggregates_right(lingang: Twin) -> None:
    compact = getattr(lingang.store, "compact", None)
    lingang.append(_rows(M_ELEC_SUB, 96 * 3))
    if compact is not None:
        compact()
    lingang.append(_rows(M_ELEC_SUB, 96, start=T0 + timedelta(days=3), base=1000.0))  # after the watermark
    day2 = T0 + timedelta(days=1)
    removed = lingang.delete_readings(M_ELEC_SUB, "reading", day2, day2 + timedelta(days=3))
    assert removed == 96 * 2 + 96  # two compacted days and the whole uncompacted day
    if compact is not None:
        compact()
    assert lingang.read(M_ELEC_SUB, "reading").num_rows == 96  # day 1 alone is left
    counts = lingang.aggregate("reading", entity_id=M_ELEC_SUB, bucket="day", agg="count", start=T0,
                               end=T0 + timedelta(days=5))
    # Meter readings close the interval they are stamped at, so the range is (T0, end]: day 1's 00:15 … 23:45.
    assert counts.column("value").to_pylist() == [95.0]
    total = lingang.aggregate("reading", entity_id=M_ELEC_SUB, bucket="day", agg="sum", start=T0,
                              end=T0 + timedelta(days=5))
    assert total.column("value").to_pylist() == [float(sum(range(1, 96)))]


def test_correction_replaces_the_value_and_is_in_the_change_feed(lingang: Twin) -> None:
    lingang.append(_rows(M_WATER, 4))
    fixed = [{**r, "value": r["value"] + 0.5} for r in _rows(M_WATER, 4)[1:3]]
    result = lingang.correct(fixed)
    assert (result.replaced, result.inserted) == (2, 0)
    assert lingang.read(M_WATER, "reading").column("value").to_pylist() == [0.0, 1.5, 2.5, 3.0]
    feed = [c for c in _changes(lingang) if c.op == "readings-replace"]
    assert [(c.entity_id, (c.detail or {})["count"]) for c in feed] == [(M_WATER, 2)]


def test_an_entity_others_point_at_is_retired_not_deleted(lingang: Twin) -> None:
    lingang.append(_rows(M_ELEC, 4))
    with pytest.raises(ConflictError) as err:
        lingang.delete(M_ELEC)  # the HVAC submeter points at it
    assert "retire" in str(err.value) and "退役" in str(err.value)
    since: date = lingang.get(M_ELEC).lifecycle[-1].since + timedelta(days=30)  # after its last change
    retired = lingang.retire(M_ELEC, since)
    assert retired.phase == "retired"
    assert retired.lifecycle[-1].since == since
    # Kept for history: its readings and the pointer to it stay.
    assert lingang.read(M_ELEC, "reading").num_rows == 4
    assert lingang.get(M_ELEC_SUB).target("submeterOf") == M_ELEC


# -- keyset paging of raw reads ----------------------------------------------------------------------------------
def _page_all(twin: Twin, query: SeriesQuery, limit: int, between: object = None) -> list[tuple[str, int]]:
    seen: list[tuple[str, int]] = []
    after = None
    pages = 0
    while True:
        page = twin.series(SeriesQuery(**{**query.__dict__, "limit": limit, "after": after}))
        seen.extend(zip(page.column("entity_id").to_pylist(),
                        [int(t.timestamp() * 1_000_000) for t in page.column("observed_at").to_pylist()],
                        strict=True))
        pages += 1
        if callable(between) and pages == 2:
            between()
        if page.num_rows < limit:
            return seen
        after = page_cursor(page)


def test_keyset_paging_with_ties_and_late_inserts_returns_every_row_once(lingang: Twin) -> None:
    # Ties: four meters share every instant; the page size (7) splits them mid-instant and mid-entity.
    meters = (M_ELEC_SUB, M_WATER, M_H2, M_ELEC)
    for m in meters:
        lingang.append(_rows(m, 20))
    # Keyset order is by id: hq-h2 < lc-elec-hvac < lc-elec-main < lc-water; two pages of 7 end inside hq-h2.
    late_before = [{**r, "observed_at": r["observed_at"] - timedelta(days=1)} for r in _rows(M_H2, 3)]
    late_after = [{**r, "observed_at": r["observed_at"] + timedelta(days=1)} for r in _rows(M_WATER, 3)]

    def insert_late() -> None:
        # One batch lands before the cursor (in an entity already paged past), one after it.
        lingang.append(late_before + late_after)

    query = SeriesQuery(attribute="reading", types=("Meter",))
    seen = _page_all(lingang, query, limit=7, between=insert_late)
    assert len(seen) == len(set(seen))  # nothing twice
    written = {(m, int(r["observed_at"].timestamp() * 1_000_000)) for m in meters for r in _rows(m, 20)}
    late_new = {(M_WATER, int(r["observed_at"].timestamp() * 1_000_000)) for r in late_after}
    assert written <= set(seen)  # every row present from start to end, exactly once
    ordered = sorted(seen)
    assert seen == ordered  # keyset order (entity, time)
    # The late readings before the cursor are not returned (their entity was paged past), those after are.
    assert late_new <= set(seen)
    assert set(seen) == written | late_new


def test_iter_series_chunks_cover_the_read_exactly(lingang: Twin) -> None:
    for m in (M_ELEC_SUB, M_WATER):
        lingang.append(_rows(m, 50))
    query = SeriesQuery(attribute="reading", types=("Meter",), start=T0 + timedelta(hours=1))
    whole = lingang.series(query)
    chunks = list(lingang.iter_series(query, chunk_rows=9))
    assert [c.num_rows for c in chunks] == [9] * 10 + [2]  # 2 × 46 = 92 readings from 01:00
    joined = [row for c in chunks for row in zip(c.column("entity_id").to_pylist(),
                                                c.column("observed_at").to_pylist(), strict=True)]
    assert joined == list(zip(whole.column("entity_id").to_pylist(), whole.column("observed_at").to_pylist(),
                              strict=True))


def test_limit_is_checked(lingang: Twin) -> None:
    with pytest.raises(ValidationError) as err:
        lingang.series(SeriesQuery(attribute="reading", entity_id=M_WATER, limit=0))
    assert err.value.field == "limit"
    with pytest.raises(ValidationError) as err:
        lingang.series(SeriesQuery(attribute="reading", entity_id=M_WATER, limit=5, bucket="day"))
    assert err.value.rule == "raw-only"
