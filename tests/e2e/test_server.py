"""End to end through a real server process: entities and readings over HTTP, durability under kill -9."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from lingang_fixtures import DISTRICT, LINGANG_CENTER, M_ELEC_SUB, M_WATER, lingang_layout
from lingang_twin.core.model import Entity


def _as_api(e: dict) -> dict:
    return Entity.model_validate(e).model_dump(mode="json", exclude_none=True)


def test_entities_and_readings_over_http_survive_kill_9(server_factory: Callable, tmp_path: Path) -> None:
    server = server_factory(tmp_path / "durable.duckdb").start()
    auth = server.auth()  # signed in as the administrator the first start printed; the token outlives the kill
    with httpx.Client(base_url=server.url, timeout=30, headers=auth) as http:
        r = http.post("/api/v1/entities:batch", json=[_as_api(e) for e in lingang_layout()])
        assert r.status_code == 200, r.text
        acknowledged = 0
        for batch in range(20):
            rows = [{"entity_id": M_ELEC_SUB if i % 2 else M_WATER, "attribute": "reading",
                     "observed_at": f"2024-04-{1 + batch:02d}T{(i // 2) // 4:02d}:{((i // 2) % 4) * 15:02d}:00+08:00",
                     "value": float(i)} for i in range(192)]
            r = http.post("/api/v1/observations", json=rows)
            assert r.status_code == 200, r.text
            acknowledged += r.json()["inserted"]
    server.kill9()  # straight after the last 2xx: no shutdown, no checkpoint

    again = server_factory(tmp_path / "durable.duckdb").start()
    with httpx.Client(base_url=again.url, timeout=30, headers=auth) as http:
        count = http.get("/api/v1/observations", params={"under": DISTRICT, "attribute": "reading", "bucket": "year",
                                                          "agg": "count"}).json()
        assert acknowledged == 20 * 192
        assert count["data"][0]["value"] == acknowledged
        assert http.get(f"/api/v1/entities/{LINGANG_CENTER}").json()["properties"]["name"]["value"] == "临港中心"
        # A batch that was (or might have been) lost in flight can be resent safely.
        resend = http.post("/api/v1/observations", json=[{"entity_id": M_WATER, "attribute": "reading",
                                                          "observed_at": "2024-04-01T00:00:00+08:00", "value": 0.0}])
        assert resend.json()["duplicates"] == 1


def test_docs_are_served_offline(server_factory: Callable) -> None:
    server = server_factory().start()
    assert httpx.get(f"{server.url}/docs").status_code == 401  # for signed-in users only
    docs = httpx.get(f"{server.url}/docs", headers=server.auth())
    assert docs.status_code == 200 and "swagger-ui-bundle.js" in docs.text
    assert "cdn." not in docs.text
    js = httpx.get(f"{server.url}/static-offline-docs/swagger-ui-bundle.js")
    assert js.status_code == 200 and len(js.content) > 100_000
    spec = httpx.get(f"{server.url}/openapi.json", headers=server.auth()).json()
    assert "/api/v1/observations" in spec["paths"] and "/api/v1/entities:batch" in spec["paths"]
