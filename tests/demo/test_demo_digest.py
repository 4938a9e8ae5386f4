"""A guard on the demo's output: the layout and a few hours of readings, entity for entity and reading for reading.

The district plan is driven by one random generator, so moving code around (e.g. handing each pack its part of
the demo) can change every later position, size and date without any other test noticing. The digests below were
taken on the code before the demo was split per pack; a change here must be deliberate — if the demo is meant to
change, update the constants in the same commit and say why.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
from demo_fixtures import WINDOW_END

from lingang_twin.core.twin import Twin
from lingang_twin.demo import build_demo, build_layout
from lingang_twin.stores.duckdb_store import DuckDBStore

SEED = 2022
HOURS = 6
LAYOUT_SHA256 = "45fa3e3b2dc1df2e50a62f1fc55c84454240d85338612ee46c970173f6b7eb75"
STORED_SHA256 = "b48a83064fac55b1724b00e275ea98da731b4b125d53d0e5b08cba17160cdafe"
READINGS_SHA256 = "bdaf51ce50e756b5cda630922afc9f7922a9ecb49f70b1f7eb326599c12223f2"


def _sha(obj: Any) -> str:
    text = json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def test_the_layout_is_unchanged_entity_for_entity() -> None:
    layout = build_layout(SEED)
    assert len({e["id"] for e in layout}) == len(layout)
    assert _sha(sorted(layout, key=lambda e: e["id"])) == LAYOUT_SHA256


def test_the_demo_twin_and_its_readings_are_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "digest.duckdb"
    twin = Twin(DuckDBStore(path))
    report = build_demo(twin, days=HOURS / 24, seed=SEED, end=WINDOW_END)
    twin.close()
    assert report.backfill.inserted > 10_000  # a few hours of every series: a digest of something
    con = duckdb.connect(str(path), read_only=True)
    try:
        # What the twin holds of each entity (not when it was written), and every reading by entity and attribute.
        stored = con.execute("SELECT id, type, phase, props::VARCHAR, rels::VARCHAR, geo::VARCHAR FROM entities "
                             "ORDER BY id").fetchall()
        lifecycle = con.execute("SELECT entity_id, phase, since::VARCHAR FROM lifecycle "
                                "ORDER BY entity_id, since, phase").fetchall()
        readings = con.execute(
            "SELECT s.entity_id, s.attribute, coalesce(s.unit, ''), o.ts, o.value FROM observations o "
            "JOIN series s USING (series_id) ORDER BY s.entity_id, s.attribute, o.ts").fetchall()
    finally:
        con.close()
    assert len(readings) == report.backfill.inserted
    assert readings[0][3] > int((WINDOW_END - timedelta(hours=HOURS + 1)).timestamp() * 1_000_000)
    # JSON columns parsed, so that the digest does not depend on the order keys were written in.
    entities = [[*r[:3], *(json.loads(c) for c in r[3:])] for r in stored]
    assert _sha([entities, [list(r) for r in lifecycle]]) == STORED_SHA256
    assert _sha([list(r) for r in readings]) == READINGS_SHA256
