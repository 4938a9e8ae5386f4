"""The server's warm-up leaves nothing for the first ingest to import (issue 10, item 7).

An import inside the ingest's worker thread holds the GIL for its whole duration (pandas through
``pyarrow.compute``, ``pyarrow.acero`` through ``Table.group_by``: 1.4 s in all), and the event loop cannot answer
meanwhile. So: in a fresh interpreter, after :func:`lingang_twin.app.warm_up`, a first CSV and a first JSON ingest
into a real DuckDB file, creating new series, import no module at all; and the warm-up froze the objects it made.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = r"""
import gc, json, sys
from lingang_twin.app import open_twin, warm_up
from lingang_twin.api.observations import batch_from_csv
from lingang_twin.json_readings import readings_from_json

warm_up()
frozen = gc.get_freeze_count()
twin = open_twin(sys.argv[1])
twin.upsert([{"id": f"urn:ngsi-ld:Meter:m{i}", "type": "Meter",
              "properties": {"carrier": {"value": "electricity"}, "unit": {"value": "kWh"}}} for i in range(3)])
before = set(sys.modules)
csv = "entity_id,attribute,observed_at,value\n" + "".join(
    f"urn:ngsi-ld:Meter:m{i},reading,2025-01-01T00:{m:02d}:00+08:00,{i + m}\n" for i in range(3) for m in range(4))
first = twin.append(batch_from_csv(csv.encode()))
body = json.dumps([{"entity_id": "urn:ngsi-ld:Meter:m0", "attribute": "reading",
                    "observed_at": "2025-01-02T00:00:00+08:00", "value": 7.5}]).encode()
second = twin.append(readings_from_json(body, 10))
twin.close()
print(json.dumps({"imported": sorted(set(sys.modules) - before), "frozen": frozen,
                  "inserted": [first.inserted, second.inserted]}))
"""


def test_first_ingest_after_warm_up_imports_nothing(tmp_path: Path) -> None:
    import json

    out = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "warm.duckdb")], capture_output=True,
                         text=True, timeout=300, check=True).stdout
    answer = json.loads(out.strip().splitlines()[-1])
    assert answer["inserted"] == [12, 1]
    assert answer["imported"] == [], f"the first ingest imported {answer['imported']} in its thread"
    assert answer["frozen"] > 100_000, "warm_up() should move the start-up heap out of the collector's reach"


def test_warm_up_writes_nothing_to_the_served_file(tmp_path: Path) -> None:
    import gc

    from lingang_twin.app import open_twin, warm_up
    from lingang_twin.core.errors import NotFoundError

    db = tmp_path / "served.duckdb"
    twin = open_twin(db)
    before = twin.store.count_entities()
    try:
        warm_up()
    finally:
        gc.unfreeze()  # this is the test process, not a server: give its heap back to the collector
    assert twin.store.count_entities() == before == 0
    with pytest.raises(NotFoundError):
        twin.get("urn:ngsi-ld:Meter:warm-up")
    twin.close()
