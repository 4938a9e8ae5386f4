"""The twin's read methods that faces and packs use instead of reaching into ``twin.store``: they answer what the
store holds, for every store implementation (``tests/conftest.py``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from lingang_fixtures import (
    DISTRICT,
    HQ_TOWER,
    LINGANG_CENTER,
    M_ELEC_SUB,
    M_H2,
    M_WATER,
    PARCEL,
    ZONE_TSC,
    lingang_layout,
)
from lingang_twin.core.twin import Twin

CST = timezone(timedelta(hours=8))
T0 = datetime(2024, 3, 1, tzinfo=CST)
UNKNOWN = "urn:ngsi-ld:Building:nowhere"


def test_entity_reads(lingang: Twin) -> None:
    assert lingang.count() == len(lingang_layout())
    found = lingang.get_many([HQ_TOWER, UNKNOWN, M_H2])
    assert set(found) == {HQ_TOWER, M_H2} and found[HQ_TOWER].value("height") == 120
    assert lingang.get_many([]) == {}
    assert lingang.existing(iter([HQ_TOWER, UNKNOWN])) == {HQ_TOWER}
    assert lingang.ancestors(LINGANG_CENTER) == [PARCEL, ZONE_TSC, DISTRICT]
    assert lingang.ancestors(M_WATER, "containedIn")[:2] == [LINGANG_CENTER, PARCEL]
    assert lingang.ancestors(UNKNOWN) == []
    assert lingang.schema_version == lingang.store.schema_version >= 4


def test_series_reads(lingang: Twin) -> None:
    assert lingang.series_of(M_WATER) == {}
    lingang.append([{"entity_id": M_WATER, "attribute": "reading", "observed_at": T0 + timedelta(minutes=15 * i),
                     "value": float(i)} for i in range(4)])
    lingang.append([{"entity_id": M_ELEC_SUB, "attribute": "reading", "observed_at": T0, "value": 1.0}])
    assert lingang.series_of(M_WATER) == {"reading": "m3"}
    newest = lingang.last_observed(x for x in (M_WATER, M_ELEC_SUB, M_H2))
    assert newest == {M_WATER: (T0 + timedelta(minutes=45)).astimezone(UTC), M_ELEC_SUB: T0.astimezone(UTC)}
