"""Store contract: ``last_observed`` — the newest reading of any series of each entity, in one call (the entity
list's "last seen" column), run against every store implementation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from lingang_fixtures import HQ_TOWER, LINGANG_CENTER, M_ELEC, M_WATER
from lingang_twin.core.twin import Twin

CST = timezone(timedelta(hours=8))


def test_newest_reading_of_any_series_per_entity(lingang: Twin) -> None:
    t0 = datetime(2024, 5, 1, 8, tzinfo=CST)
    # Written out of order, the newest first, so that "the last row written" would be the wrong answer.
    lingang.append([{"entity_id": M_ELEC, "attribute": "reading", "observed_at": t0 + timedelta(hours=5), "value": 9.0},
                    {"entity_id": M_ELEC, "attribute": "reading", "observed_at": t0, "value": 1.0},
                    {"entity_id": M_WATER, "attribute": "reading", "observed_at": t0 + timedelta(minutes=15),
                     "value": 2.0}])
    # A building with two series: the later of the two counts.
    lingang.append([{"entity_id": LINGANG_CENTER, "attribute": "visitors", "observed_at": t0 + timedelta(days=1),
                     "value": 100.0},
                    {"entity_id": LINGANG_CENTER, "attribute": "occupancy", "observed_at": t0 + timedelta(days=2),
                     "value": 0.4}])
    seen = lingang.store.last_observed([M_ELEC, M_WATER, LINGANG_CENTER, HQ_TOWER, "urn:ngsi-ld:Meter:unknown"])
    assert seen == {
        M_ELEC: datetime(2024, 5, 1, 5, tzinfo=UTC),  # 13:00 +08:00
        M_WATER: datetime(2024, 5, 1, 0, 15, tzinfo=UTC),
        LINGANG_CENTER: datetime(2024, 5, 3, 0, tzinfo=UTC),
    }
    assert all(v.tzinfo is not None for v in seen.values())
    # HQ_TOWER has no series and the unknown id no entity: both absent, not a made-up instant.
    assert lingang.store.last_observed([HQ_TOWER]) == {}
    assert lingang.store.last_observed([]) == {}
    # A late reading older than the newest changes nothing; a newer one moves it.
    lingang.append([{"entity_id": M_WATER, "attribute": "reading", "observed_at": t0 - timedelta(days=3),
                     "value": 1.0}])
    assert lingang.store.last_observed([M_WATER])[M_WATER] == datetime(2024, 5, 1, 0, 15, tzinfo=UTC)
    lingang.append([{"entity_id": M_WATER, "attribute": "reading", "observed_at": t0 + timedelta(days=9),
                     "value": 1.0}])
    assert lingang.store.last_observed([M_WATER])[M_WATER] == datetime(2024, 5, 10, 0, tzinfo=UTC)
