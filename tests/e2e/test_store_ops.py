"""Operating the twin's file with real server processes: SIGTERM is a clean stop, backups are consistent while
the server writes, a restore never replaces a file in use, and SIGKILL during ingest or compaction loses no
acknowledged reading.

Oracles: the readings each acknowledged batch carried (counted by the test), checked per batch by its own day.

Every request is signed in: as the administrator the first start of a file printed (a later start on the same
file prints no password; the first one's token still works, since the signing key persists beside the DB).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import duckdb
import httpx
import pytest

from lingang_fixtures import DISTRICT, M_ELEC_SUB, M_WATER, lingang_layout
from lingang_twin.core.model import Entity

URL = "/api/v1/observations"


def _as_api(e: dict) -> dict:
    return Entity.model_validate(e).model_dump(mode="json", exclude_none=True)


def cli(*args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``lingang-twin``; ``token`` in ``LINGANG_TOKEN``, as an operator passes it to ``--server``."""
    env = {**os.environ, "LINGANG_TOKEN": token} if token else None
    return subprocess.run([sys.executable, "-m", "lingang_twin.cli", *args], capture_output=True, text=True,
                          timeout=300, env=env)


def day_csv(day: date, n: int) -> bytes:
    """``n`` readings of two meters on one Shanghai day (one batch per day, so a day's count identifies its batch).
    Stamped from 00:00:01 on: a meter reading closes the interval before it, so 00:00:00 would count for the
    day before."""
    lines = ["entity_id,attribute,observed_at,value"]
    per_meter = (n + 1) // 2
    for i in range(n):
        meter = M_ELEC_SUB if i % 2 else M_WATER
        second = 1 + (i // 2) * 86_000 // per_meter
        lines.append(f"{meter},reading,{day.isoformat()}T{second // 3600:02d}:{second // 60 % 60:02d}:"
                     f"{second % 60:02d}+08:00,{i % 7}")
    return ("\n".join(lines) + "\n").encode()


def day_counts(http: httpx.Client) -> dict[str, int]:
    """Readings per Shanghai day, counted by the server."""
    body = http.get(URL, params={"under": DISTRICT, "attribute": "reading", "bucket": "day", "agg": "count"})
    assert body.status_code == 200, body.text
    return {row["bucket"][:10]: int(row["value"]) for row in body.json()["data"]}


def total(http: httpx.Client) -> int:
    body = http.get(URL, params={"under": DISTRICT, "attribute": "reading", "bucket": "year", "agg": "count"})
    data = body.json()["data"]
    return int(sum(row["value"] for row in data))


def test_sigterm_stops_serve_and_demo_cleanly(server_factory: Callable, tmp_path: Path) -> None:
    db = tmp_path / "term.duckdb"
    server = server_factory(db).start()
    with httpx.Client(base_url=server.url, timeout=60, headers=server.auth()) as http:
        assert http.post("/api/v1/entities:batch", json=[_as_api(e) for e in lingang_layout()]).status_code == 200
        assert http.post(URL, content=day_csv(date(2024, 4, 1), 500),
                         headers={"content-type": "text/csv"}).json()["inserted"] == 500
    assert Path(f"{db}.wal").exists()  # the writes are in the WAL until a checkpoint
    assert server.terminate() == 0, server.output()[-2000:]
    assert not Path(f"{db}.wal").exists(), "SIGTERM left a WAL: no checkpoint on shutdown"
    con = duckdb.connect(str(db), read_only=True)  # read-only: nothing could be replayed from a WAL
    assert con.execute("SELECT count(*) FROM observations").fetchall()[0][0] == 500
    con.close()

    demo_db = tmp_path / "demo.duckdb"
    demo = server_factory(demo_db, ("demo", "--days", "0", "--speed", "60")).start(timeout=180)
    assert demo.terminate() == 0, demo.output()[-2000:]  # with the live telemetry thread running
    assert not Path(f"{demo_db}.wal").exists()


def test_backup_while_the_server_writes_and_restore_only_when_stopped(server_factory: Callable,
                                                                       tmp_path: Path) -> None:
    db = tmp_path / "live.duckdb"
    server = server_factory(db).start()
    auth = server.auth()
    token = auth["Authorization"].removeprefix("Bearer ")
    batch = 400
    acknowledged: list[int] = []
    stop = threading.Event()
    with httpx.Client(base_url=server.url, timeout=120, headers=auth) as http:
        assert http.post("/api/v1/entities:batch", json=[_as_api(e) for e in lingang_layout()]).status_code == 200

        def write() -> None:  # a steady writer while the backup is taken
            with httpx.Client(base_url=server.url, timeout=120, headers=auth) as w:
                k = 0
                while not stop.is_set() and k < 300:
                    r = w.post(URL, content=day_csv(date(2020, 1, 1) + timedelta(days=k), batch),
                               headers={"content-type": "text/csv"})
                    assert r.status_code == 200, r.text
                    acknowledged.append(k)
                    k += 1

        writer = threading.Thread(target=write)
        writer.start()
        deadline = time.monotonic() + 120
        while len(acknowledged) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        backup = tmp_path / "backup.duckdb"
        assert cli("db", "backup", str(tmp_path / "anonymous.duckdb"), "--server", server.url).returncode == 2
        proc = cli("db", "backup", str(backup), "--server", server.url, token=token)
        stop.set()
        writer.join(timeout=120)
        assert proc.returncode == 0, proc.stderr
        # The file is in use: a backup or a restore that opens it directly is refused, naming the way out.
        direct = cli("db", "backup", str(tmp_path / "direct.duckdb"), "--db", str(db))
        assert direct.returncode == 2 and "--server" in direct.stderr
        refused = cli("db", "restore", str(backup), "--db", str(db), "--replace")
        assert refused.returncode == 2 and "in use" in refused.stderr, refused.stderr
        again = cli("db", "backup", str(backup), "--server", server.url, token=token)
        assert again.returncode == 2 and "exists" in again.stderr
        live_total = total(http)
    # Consistent: batches are all or nothing, so the snapshot holds whole batches, in order, from the first.
    snap = duckdb.connect(str(backup), read_only=True)
    in_backup = snap.execute("SELECT count(*) FROM observations").fetchall()[0][0]
    entities = snap.execute("SELECT count(*) FROM entities").fetchall()[0][0]
    snap.close()
    assert in_backup % batch == 0 and 5 * batch <= in_backup <= live_total
    assert entities == len(lingang_layout())
    assert live_total == len(acknowledged) * batch

    assert server.terminate() == 0
    plain = cli("db", "restore", str(backup), "--db", str(db))
    assert plain.returncode == 2 and "--replace" in plain.stderr
    restored = cli("db", "restore", str(backup), "--db", str(db), "--replace")
    assert restored.returncode == 0, restored.stderr
    again_server = server_factory(db).start()
    # The restored file holds the accounts and the session signed in above (the backup came after the sign-in).
    with httpx.Client(base_url=again_server.url, timeout=60, headers=auth) as http:
        assert total(http) == in_backup
        assert http.get("/health").json()["entities"] == len(lingang_layout())
        # The change feed's sequence came along: a new write continues it rather than restarting at 1 (a day
        # before the batches: readings past the future horizon are refused).
        r = http.post(URL, content=day_csv(date(2019, 1, 1), 10), headers={"content-type": "text/csv"})
        assert r.json()["inserted"] == 10


def _ingest_until_killed(server: object, first_day: date, batch: int, kill_after: int,
                         acknowledged: list[date], auth: dict[str, str]) -> None:
    """Post one batch per day from a thread; SIGKILL the server while a request is in flight once
    ``kill_after`` batches were acknowledged."""
    in_flight = threading.Event()

    def post() -> None:
        with httpx.Client(base_url=server.url, timeout=120, headers=auth) as http:  # type: ignore[attr-defined]
            k = 0
            while True:
                day = first_day + timedelta(days=k)
                in_flight.set()
                try:
                    r = http.post(URL, content=day_csv(day, batch), headers={"content-type": "text/csv"})
                except httpx.TransportError:
                    return  # killed mid-request: not acknowledged
                if r.status_code != 200:
                    return
                acknowledged.append(day)
                k += 1

    thread = threading.Thread(target=post)
    thread.start()
    deadline = time.monotonic() + 120
    while len(acknowledged) < kill_after and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(acknowledged) >= kill_after, "ingest did not progress"
    server.kill9()  # type: ignore[attr-defined]
    thread.join(timeout=120)


def test_sigkill_during_ingest_and_compaction_loses_no_acknowledged_reading(server_factory: Callable,
                                                                           tmp_path: Path) -> None:
    db = tmp_path / "kill.duckdb"
    batch = 10_000
    # Round 1: compaction every 30,000 new readings, so kills land in appends and in compactions alike.
    server = server_factory(db, env={"LINGANG_COMPACT_ROWS": "30000"}).start()
    auth = server.auth()  # the first start's administrator: every later start on this file reuses it
    with httpx.Client(base_url=server.url, timeout=60, headers=auth) as http:
        assert http.post("/api/v1/entities:batch", json=[_as_api(e) for e in lingang_layout()]).status_code == 200
    acknowledged: list[date] = []
    _ingest_until_killed(server, date(2024, 1, 1), batch, 8, acknowledged, auth)

    # Round 2: a large uncompacted tail (no automatic compaction), then SIGKILL while a compaction of all of it
    # runs — requested through the admin route, killed before its answer. How long such a compaction takes on
    # this machine, now, is measured first on a tail of the same size, and the kill aimed at its middle.
    server = server_factory(db, env={"LINGANG_COMPACT_ROWS": "0"}).start()
    tail_batches, tail_batch = 4, 50_000
    with httpx.Client(base_url=server.url, timeout=120, headers=auth) as http:
        counts = day_counts(http)
        for day in acknowledged:  # every acknowledged batch, whole
            assert counts.get(day.isoformat()) == batch, (day, counts.get(day.isoformat()))
        assert sum(counts.values()) in (len(acknowledged) * batch, (len(acknowledged) + 1) * batch)
        round1 = len(acknowledged)
        sizes = dict.fromkeys((d.isoformat() for d in acknowledged), batch)
        next_day = max(date.fromisoformat(d) for d in counts) + timedelta(days=1)
        durations = []
        for _ in range(2):
            for _ in range(tail_batches):
                r = http.post(URL, content=day_csv(next_day, tail_batch), headers={"content-type": "text/csv"})
                assert r.status_code == 200
                sizes[next_day.isoformat()] = tail_batch
                next_day += timedelta(days=1)
            if not durations:
                t0 = time.monotonic()
                done = http.post("/api/v1/admin/compact")
                durations.append(time.monotonic() - t0)
                assert done.json()["compacted"] >= tail_batches * tail_batch
    answered: list[int] = []

    def compact() -> None:
        with contextlib.suppress(httpx.TransportError):  # killed before it answered
            answered.append(httpx.post(f"{server.url}/api/v1/admin/compact", timeout=120, headers=auth).status_code)

    thread = threading.Thread(target=compact)
    thread.start()
    # The kill's timing is aimed, not awaited: whatever it interrupts (the request's arrival, the rewrite, its
    # commit), every assertion below must hold.
    time.sleep(durations[0] / 2)
    server.kill9()
    thread.join(timeout=120)

    final = server_factory(db).start()
    with httpx.Client(base_url=final.url, timeout=120, headers=auth) as http:
        counts = day_counts(http)
        for day, size in sizes.items():  # every acknowledged batch, whole
            assert counts.get(day) == size, day
        expected = sum(sizes.values())
        assert sum(counts.values()) in (expected, expected + batch)  # + the one batch in flight in round 1
        # The compaction state is sound: a compaction now completes, and reads agree before and after it.
        before = total(http)
        r = http.post("/api/v1/admin/compact")
        assert r.status_code == 200
        assert total(http) == before == sum(counts.values())
        assert http.post("/api/v1/admin/compact").json()["compacted"] == 0
    assert round1 >= 8 and answered in ([], [200])


@pytest.mark.xfail(strict=False, reason=(
    "a SIGTERM sent as soon as the file exists was once lost on a quiet machine (2026-12-03): the 60-day build "
    "finished in 9.6 s and the demo went on to serve, leaving a .wal; cause not found yet (issue 10, item 8)"))
def test_sigterm_while_the_demo_builds_its_history_closes_the_file(tmp_path: Path) -> None:
    db = tmp_path / "building.duckdb"
    log = tmp_path / "building.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "lingang_twin.cli", "demo", "--db", str(db), "--days", "60",
                                 "--port", "1"], stdout=sink, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while not db.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert db.exists(), log.read_text(errors="replace")
        proc.send_signal(signal.SIGTERM)  # the file exists: the build has begun (60 days take far longer)
        assert proc.wait(timeout=120) == 0, log.read_text(errors="replace")[-2000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not Path(f"{db}.wal").exists()
    duckdb.connect(str(db), read_only=True).close()  # opens, with nothing to replay
