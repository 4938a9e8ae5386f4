"""Store contract: the change feed (``Store.changes_since``, read through ``Twin.changes``), the one stream the
console's live hub — and next the rules engine and subscriptions — follow.

Runs against every store factory (``tests/conftest.py``). The oracle is the list of writes the test made, in the
order it made them.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from lingang_fixtures import HQ_TOWER, JOINT_LAB, M_ELEC, M_H2, M_WATER, lingang_layout
from lingang_twin.core.errors import ValidationError
from lingang_twin.core.store import CHANGE_OPS, Change, Store
from lingang_twin.core.twin import Twin

CST = timezone(timedelta(hours=8))
T0 = datetime(2024, 3, 1, tzinfo=CST)


def _rows(entity: str, n: int, base: float = 0.0) -> list[dict]:
    return [{"entity_id": entity, "attribute": "reading", "observed_at": T0 + timedelta(minutes=15 * i),
             "value": base + i} for i in range(n)]


def _read_all(twin: Twin, since: int = 0, page: int = 3) -> list[Change]:
    """The whole feed after ``since``, read the way a follower reads it: small pages, resuming from the last seq."""
    out: list[Change] = []
    while batch := twin.changes(since, page):
        out.extend(batch)
        since = batch[-1].seq
    return out


def test_the_store_protocol_includes_the_change_feed(twin: Twin) -> None:
    assert isinstance(twin.store, Store)
    assert "changes_since" in dir(Store)
    assert twin.changes() == [] and twin.latest_change() == 0


def test_every_kind_of_change_is_in_the_feed_in_the_order_written(lingang: Twin) -> None:
    start = lingang.latest_change()
    lingang.append(_rows(M_WATER, 8))  # new readings are not entity changes: nothing in the feed
    assert lingang.changes(start) == []
    lingang.patch(JOINT_LAB, properties={"occupants": 10})
    lingang.retire(M_ELEC)  # from today, whatever day the test runs
    lingang.correct([{**_rows(M_WATER, 8)[2], "value": 99.0}, {**_rows(M_WATER, 8)[5], "value": 98.0}])
    removed = lingang.delete_readings(M_WATER, "reading", T0, T0 + timedelta(hours=1))
    lingang.delete(M_H2)
    lingang.upsert([{"id": "urn:ngsi-ld:Zone:new", "type": "Zone", "properties": {}}])
    feed = _read_all(lingang, start)
    assert [(c.entity_id, c.op) for c in feed] == [
        (JOINT_LAB, "update"), (M_ELEC, "update"), (M_WATER, "readings-replace"), (M_WATER, "readings-delete"),
        (M_H2, "delete"), ("urn:ngsi-ld:Zone:new", "create")]
    assert all(c.op in CHANGE_OPS for c in feed)
    # Order: numbered in the order written, stamped with time zones, never going back in time.
    seqs = [c.seq for c in feed]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs) and seqs[0] > start
    assert all(c.changed_at.tzinfo is not None for c in feed)
    assert [c.changed_at for c in feed] == sorted(c.changed_at for c in feed)
    # The retirement: the entity behind that update is retired now.
    assert lingang.get(M_ELEC).phase == "retired"
    # What a readings change touched is in its detail; entity changes carry none.
    replaced, deleted = feed[2].detail, feed[3].detail
    assert replaced is not None and (replaced["attribute"], replaced["count"]) == ("reading", 2)
    assert deleted is not None and (deleted["attribute"], deleted["count"]) == ("reading", removed) == (
        "reading", 4)
    assert datetime.fromisoformat(deleted["start"]) == T0
    assert datetime.fromisoformat(deleted["end"]) == T0 + timedelta(hours=1)
    assert feed[0].detail is None and feed[4].detail is None
    assert lingang.latest_change() == feed[-1].seq


def test_a_follower_sees_everything_once_across_calls(lingang: Twin) -> None:
    created = [c.entity_id for c in lingang.changes(0, 10_000)]
    assert created == [e["id"] for e in lingang_layout()]  # the layout, entity by entity, in upsert order
    # Pages of any size add up to the same feed, nothing twice.
    for page in (1, 2, 5, 1000):
        assert _read_all(lingang, 0, page) == lingang.changes(0, 10_000)
    # A follower that reads, then writes happen, then it reads on from where it stopped, gets only the new ones.
    seen = lingang.changes(0, 4)
    cursor = seen[-1].seq
    lingang.patch(HQ_TOWER, properties={"height": (181.0, "m")})
    lingang.patch(HQ_TOWER, properties={"height": (182.0, "m")})  # the same entity twice: two entries
    rest = _read_all(lingang, cursor)
    assert [c.seq for c in seen + rest] == [c.seq for c in lingang.changes(0, 10_000)]
    assert [(c.entity_id, c.op) for c in rest[-2:]] == [(HQ_TOWER, "update"), (HQ_TOWER, "update")]
    # At the head: nothing, however often asked.
    head = lingang.latest_change()
    assert lingang.changes(head) == [] and lingang.changes(head + 1000) == []


def test_a_follower_reading_while_writes_go_on_misses_nothing(lingang: Twin) -> None:
    start = lingang.latest_change()
    n = 40
    done = threading.Event()

    def write() -> None:
        try:
            for i in range(n):
                lingang.patch(JOINT_LAB, properties={"occupants": i})
        finally:
            done.set()

    writer = threading.Thread(target=write)
    writer.start()
    got: list[Change] = []
    cursor = start
    while True:
        finished = done.is_set()  # read once more after the writer is done: then everything is committed
        while batch := lingang.changes(cursor, 7):
            got.extend(batch)
            cursor = batch[-1].seq
        if finished:
            break
    writer.join()
    assert len(got) == n and all(c.entity_id == JOINT_LAB for c in got)
    assert [c.seq for c in got] == [c.seq for c in lingang.changes(start, 10_000)]


@pytest.mark.parametrize(("since", "limit", "field"), [(-1, 10, "since"), (0, 0, "limit"), (0, 100_001, "limit"),
                                                       ("3", 10, "since"), (0, True, "limit")])
def test_changes_refuses_a_bad_cursor_or_limit(twin: Twin, since: object, limit: object, field: str) -> None:
    with pytest.raises(ValidationError) as err:
        twin.changes(since, limit)  # type: ignore[arg-type]
    assert err.value.field == field


def test_changes_version_grows_with_the_feed_and_only_with_it(lingang: Twin) -> None:
    store = lingang.store
    v0 = store.changes_version()
    lingang.append(_rows(M_ELEC, 4))  # new readings are not in the feed
    assert store.changes_version() == v0
    with pytest.raises(ValidationError):
        lingang.upsert([{"id": "urn:ngsi-ld:Space:x", "type": "Space", "relationships": {"containedIn": "urn:nope"}}])
    assert store.changes_version() == v0  # refused: nothing committed
    lingang.patch(HQ_TOWER, properties={"name": "v"})
    v1 = store.changes_version()
    assert v1 > v0
    lingang.correct([{**_rows(M_ELEC, 1)[0], "value": 99.0}])
    v2 = store.changes_version()
    assert v2 > v1
    lingang.delete_readings(M_ELEC, "reading", T0, T0 + timedelta(hours=1))
    assert store.changes_version() > v2
