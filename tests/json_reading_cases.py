"""The table of JSON readings bodies both parsing paths must answer alike (tests/api/test_json_offload.py and
tests/e2e/test_json_offload_server.py): good bodies, every rule the JSON path applies, and a bad item at an index
other than 0."""

from __future__ import annotations

import json
from typing import Any

from lingang_fixtures import M_ELEC, M_ELEC_SUB, M_WATER

MAX_ITEMS = 200


def reading(entity: str = M_ELEC_SUB, minute: int = 15, value: Any = 1.5, **extra: Any) -> dict[str, Any]:
    """One reading of 2024-03-01, ``minute`` minutes after midnight (Shanghai)."""
    stamp = f"2024-03-01T{minute // 60:02d}:{minute % 60:02d}:00+08:00"
    return {"entity_id": entity, "attribute": "reading", "observed_at": stamp, "value": value, **extra}


def day(entity: str, n: int, value: float = 1.0) -> list[dict[str, Any]]:
    return [reading(entity, 15 * (i + 1) % 1440, value + i) for i in range(n)]


def with_item(index: int, item: Any, n: int = 8) -> list[Any]:
    """``n`` good readings with item ``index`` replaced by ``item``."""
    rows: list[Any] = day(M_WATER, n)
    rows[index] = item
    return rows


def dumps(rows: Any) -> bytes:
    return json.dumps(rows).encode()


# (name, raw body); "good …" bodies are stored, "… at item N" ones are refused naming item N.
CASES: list[tuple[str, bytes]] = [
    ("good", dumps(day(M_ELEC_SUB, 96) + day(M_WATER, 40, 0.25))),
    ("good, units converted", dumps([reading(M_ELEC, 15 * k, 1500.0 + k, unit="Wh") for k in range(1, 9)])),
    ("good, mixed int and float", dumps([reading(M_ELEC, 600, 3), reading(M_ELEC, 615, 4.25)])),
    ("empty array", b"[]"),
    ("malformed JSON", b'[{"entity_id": '),
    ("NaN literal", dumps(day(M_WATER, 3))[:-2] + b', "value": NaN}]'),
    ("Infinity literal", b'[{"entity_id": "%s", "attribute": "reading", "observed_at": '
                         b'"2024-03-01T00:15:00+08:00", "value": Infinity}]' % M_WATER.encode()),
    ("an object, not an array", dumps(reading())),
    ("too many readings", dumps(day(M_WATER, MAX_ITEMS + 1))),
    ("no time zone at item 3", dumps(with_item(3, {**reading(M_WATER, 600), "observed_at": "2024-03-01T10:00:00"}))),
    ("bad date-time at item 5", dumps(with_item(5, {**reading(M_WATER, 600), "observed_at": "yesterday"}))),
    ("text value at item 2", dumps(with_item(2, reading(M_WATER, 600, "12.5")))),
    ("boolean value at item 6", dumps(with_item(6, reading(M_WATER, 600, True)))),
    ("null value at item 4", dumps(with_item(4, reading(M_WATER, 600, None)))),
    ("unknown field at item 1", dumps(with_item(1, reading(M_WATER, 600, colour="red")))),
    ("missing attribute at item 7", dumps(with_item(7, {k: v for k, v in reading(M_WATER, 600).items()
                                                      if k != "attribute"}))),
    ("not an object at item 0", dumps(with_item(0, [1, 2, 3]))),
    ("malformed id at item 5", dumps(with_item(5, reading("meter-7", 600)))),
    ("unknown entity at item 6", dumps(with_item(6, reading("urn:ngsi-ld:Meter:nobody", 600)))),
    ("unknown unit at item 3", dumps(with_item(3, reading(M_WATER, 600, unit="furlong")))),
    ("bad attribute name at item 2", dumps(with_item(2, {**reading(M_WATER, 600), "attribute": "9lives"}))),
    ("instant out of range at item 4", dumps(with_item(4, {**reading(M_WATER, 600),
                                                         "observed_at": "2300-01-01T00:00:00Z"}))),
    ("beyond the future horizon at item 1", dumps(with_item(1, {**reading(M_WATER, 600),
                                                              "observed_at": "2199-06-01T00:00:00+08:00"}))),
    ("negative meter reading at item 5", dumps(with_item(5, reading(M_WATER, 600, -2.0)))),
    ("huge number literal (orjson: malformed)", dumps(with_item(3, reading(M_WATER, 600, 10**400)))),
]


