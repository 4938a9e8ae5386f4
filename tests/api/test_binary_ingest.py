"""``POST /api/v1/observations`` with an Arrow IPC stream or a Parquet body: stored like JSON, idempotent, and a
wrong schema or type refused with a problem naming the column and the rule, nothing written."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from lingang_fixtures import M_ELEC_SUB, M_WATER

URL = "/api/v1/observations"
ARROW = "application/vnd.apache.arrow.stream"
PARQUET = "application/vnd.apache.parquet"
T0_US = int(datetime(2024, 3, 1, tzinfo=UTC).timestamp()) * 1_000_000


def readings(n: int = 4, *, level: float = 1.0, dictionary: bool = False, **override: pa.Array) -> pa.Table:
    """``n`` quarter-hour readings of each of two meters, meter by meter."""
    ids = pa.array([M_ELEC_SUB] * n + [M_WATER] * n)
    cols: dict[str, pa.Array] = {
        "entity_id": ids.dictionary_encode() if dictionary else ids,
        "attribute": pa.array(["reading"] * (2 * n)),
        "observed_at": pa.array(np.tile(T0_US + np.arange(1, n + 1) * 900_000_000, 2),
                                type=pa.timestamp("us", tz="UTC")),
        "value": pa.array(np.full(2 * n, level)),
    }
    cols.update(override)
    return pa.table(cols)


def arrow_body(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def parquet_body(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def stored(api: TestClient) -> int:
    return sum(api.twin.read(m, "reading").num_rows for m in (M_ELEC_SUB, M_WATER))  # type: ignore[attr-defined]


@pytest.mark.parametrize(("media", "encode"), [(ARROW, arrow_body), (PARQUET, parquet_body)])
def test_binary_body_is_stored_idempotently(api: TestClient, media: str, encode) -> None:
    body = encode(readings(dictionary=True))
    r = api.post(URL, content=body, headers={"content-type": media})
    assert r.status_code == 200, r.text
    assert r.json() == {"received": 8, "inserted": 8, "duplicates": 0, "replaced": 0, "kept": 0}
    again = api.post(URL, content=body, headers={"content-type": media})
    assert again.json()["duplicates"] == 8 and again.json()["inserted"] == 0
    raw = api.get(URL, params={"entity_id": M_WATER, "attribute": "reading"}).json()["data"]
    assert [d["observed_at"] for d in raw][:2] == ["2024-03-01T08:15:00+08:00", "2024-03-01T08:30:00+08:00"]
    conflict = api.post(URL, content=encode(readings(level=2.0)), headers={"content-type": media})
    assert conflict.status_code == 422 and conflict.json()["rule"] == "conflicting-value"
    assert conflict.json()["index"] == 0


def test_arrow_units_time_zones_and_integer_values(api: TestClient) -> None:
    # Milliseconds at +08:00, integer values, a unit per row (Wh converted to the meter's kWh).
    local = pa.array(np.arange(1, 3) * 900_000 + T0_US // 1000, type=pa.timestamp("ms", tz="Asia/Shanghai"))
    table = pa.table({"entity_id": [M_ELEC_SUB] * 2, "attribute": ["reading"] * 2, "observed_at": local,
                      "value": pa.array([1500, 2500], type=pa.int32()), "unit": ["Wh", None]})
    r = api.post(URL, content=arrow_body(table), headers={"content-type": ARROW})
    assert r.status_code == 200, r.text
    data = api.get(URL, params={"entity_id": M_ELEC_SUB, "attribute": "reading"}).json()["data"]
    assert [d["value"] for d in data] == pytest.approx([1.5, 2500.0])
    assert data[0]["observed_at"] == "2024-03-01T08:15:00+08:00"


BAD = [
    (readings(observed_at=pa.array(np.full(8, T0_US), type=pa.int64())), "observed_at", "timestamp-type"),
    (readings(observed_at=pa.array(np.full(8, T0_US), type=pa.timestamp("us"))), "observed_at",
     "timezone-required"),
    (readings(observed_at=pa.array(np.full(8, T0_US * 1000 + 1), type=pa.timestamp("ns", tz="UTC"))),
     "observed_at", "microseconds"),
    (readings(value=pa.array(["1.0"] * 8)), "value", "number"),
    (readings(entity_id=pa.array(np.arange(8))), "entity_id", "string"),
    (readings().drop_columns(["attribute"]), "attribute", "required"),
    (readings().append_column("quality", pa.array(["good"] * 8)), "quality", "unknown-field"),
    (readings(value=pa.array([1.0, None, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])), "value", "required"),
    (readings(value=pa.array([1.0] * 7 + [float("nan")])), "value", "finite"),
    (readings(entity_id=pa.array(["not-a-urn"] * 8)), "entity_id", "urn-format"),
]


@pytest.mark.parametrize(("table", "field", "rule"), BAD, ids=[f"{f}-{r}" for _, f, r in BAD])
@pytest.mark.parametrize("media", [ARROW, PARQUET])
def test_wrong_schema_or_type_is_a_problem_and_writes_nothing(api: TestClient, table: pa.Table, field: str,
                                                              rule: str, media: str) -> None:
    body = arrow_body(table) if media == ARROW else parquet_body(table)
    r = api.post(URL, content=body, headers={"content-type": media})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert (problem["field"], problem["rule"]) == (field, rule), problem
    assert stored(api) == 0


def test_an_unreadable_body_is_a_400(api: TestClient) -> None:
    r = api.post(URL, content=b"entity_id,attribute\n", headers={"content-type": ARROW})
    assert r.status_code == 400 and r.json()["rule"] == "arrow-format"
    r = api.post(URL, content=arrow_body(readings()), headers={"content-type": PARQUET})
    assert r.status_code == 400 and r.json()["rule"] == "parquet-format"
    assert stored(api) == 0


def test_batch_size_limit_applies(api: TestClient) -> None:
    r = api.post(URL, content=arrow_body(readings(101)), headers={"content-type": ARROW})  # limit 200
    assert r.status_code == 422 and r.json()["rule"] == "batch-size"
    assert stored(api) == 0


def test_openapi_documents_the_binary_bodies(api: TestClient) -> None:
    content = api.get("/openapi.json").json()["paths"][URL]["post"]["requestBody"]["content"]
    assert {ARROW, PARQUET} <= set(content)
    assert "timestamp with a time zone" in content[ARROW]["schema"]["description"]
