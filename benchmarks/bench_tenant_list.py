"""A tenant's entity list against an admin's (issue 12: ≤ 1.2×), through the real API, in the same run.

A synthetic district: ``--buildings`` buildings, each with ``--spaces`` spaces and ``--meters`` meters (one of them a
tenant's own), one enterprise per building occupying its spaces. The same requests — ``GET /api/v1/entities``
(first page of 100), the same filtered to ``type=Meter``, and one entity by id — are timed as the district's
admin and as one enterprise's tenant (whose reach the twin computes once per change-feed sequence and hands to the
store as an id restriction). Reported: medians of ``--runs`` and the tenant/admin ratio; the tenant's first
request (the reach computed) separately.

    PYTHONPATH=src python benchmarks/bench_tenant_list.py --buildings 400 --runs 41
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from _bench_common import machine
from lingang_twin.api import create_app
from lingang_twin.app import PACKS, open_twin
from lingang_twin.core.access import principal
from lingang_twin.core.guard import caller
from lingang_twin.core.packs import configure
from lingang_twin.settings import Settings


def district(buildings: int, spaces: int, meters: int) -> list[dict[str, Any]]:
    """The entities, parents first."""
    out: list[dict[str, Any]] = [{"id": "urn:ngsi-ld:District:b", "type": "District", "properties": {}}]
    for b in range(buildings):
        bid = f"urn:ngsi-ld:Building:b{b:04d}"
        out.append({"id": bid, "type": "Building", "properties": {"floorArea": 10_000.0},
                    "relationships": {"containedIn": "urn:ngsi-ld:District:b"}})
        sids = [f"urn:ngsi-ld:Space:b{b:04d}-s{s:02d}" for s in range(spaces)]
        out += [{"id": s, "type": "Space", "properties": {"floorArea": 100.0}, "relationships": {"containedIn": bid}}
                for s in sids]
        ent = f"urn:ngsi-ld:Enterprise:e{b:04d}"
        out.append({"id": ent, "type": "Enterprise", "properties": {"name": f"e{b}"},
                    "relationships": {"occupies": sids}})
        for m in range(meters):
            rels = {"containedIn": sids[m % spaces] if m else bid}
            if m == 1:
                rels["tenant"] = ent
            out.append({"id": f"urn:ngsi-ld:Meter:b{b:04d}-m{m:02d}", "type": "Meter",
                        "properties": {"carrier": "electricity", "unit": "kWh", "register": "interval"},
                        "relationships": rels})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--buildings", type=int, default=400)
    ap.add_argument("--spaces", type=int, default=10)
    ap.add_argument("--meters", type=int, default=10)
    ap.add_argument("--runs", type=int, default=41)
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-tenant-"))
    twin = open_twin(folder / "t.duckdb")
    entities = district(args.buildings, args.spaces, args.meters)
    twin.upsert(entities)
    installed = configure(PACKS)
    grants = installed.grants()
    admin = principal("admin", ["admin"], grants=grants)
    tenant = principal("tenant", ["enterprise_tenant"], tenant="urn:ngsi-ld:Enterprise:e0123", grants=grants)
    app = create_app(twin, Settings(db=folder / "t.duckdb"), installed)
    app.state.authenticator = object()
    http = TestClient(app)
    print({**machine(), "entities": len(entities)}, file=sys.stderr)

    def as_(who: Any) -> None:
        app.dependency_overrides[caller] = lambda: who

    as_(tenant)
    t0 = time.perf_counter()
    first = http.get("/api/v1/entities")
    cold_ms = (time.perf_counter() - t0) * 1000
    assert first.status_code == 200, first.text
    requests = {"list (first 100)": ("/api/v1/entities", {}),
                "list type=Meter": ("/api/v1/entities", {"type": "Meter"}),
                "one entity": ("/api/v1/entities/urn:ngsi-ld:Meter:b0123-m01", {})}
    rows = []
    for name, (url, params) in requests.items():
        times: dict[str, list[float]] = {"admin": [], "tenant": []}
        counts = {}
        for _ in range(args.runs):  # interleaved, so drift in the machine's load hits both alike
            for who, p in (("admin", admin), ("tenant", tenant)):
                as_(p)
                t0 = time.perf_counter()
                r = http.get(url, params=params)
                times[who].append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 200, r.text
                counts[who] = r.json().get("count", 1)
        med = {k: statistics.median(v) for k, v in times.items()}
        rows.append((name, med["admin"], counts["admin"], med["tenant"], counts["tenant"],
                     med["tenant"] / med["admin"]))
    print(f"tenant's first request (reach computed): {cold_ms:.1f} ms")
    print("| request | admin ms (matches) | tenant ms (matches) | tenant / admin |")
    print("|---|---|---|---|")
    for name, a, ac, t, tc, ratio in rows:
        print(f"| {name} | {a:.2f} ({ac}) | {t:.2f} ({tc}) | **{ratio:.2f}×** |")
    twin.close()


if __name__ == "__main__":
    main()
