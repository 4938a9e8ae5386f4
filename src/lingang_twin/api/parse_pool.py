"""Large JSON readings bodies are read in child processes, so a big ingest never stalls the event loop.

Measured (BENCHMARKS.md, issue 10.7): reading a 24 MB JSON array of 200,000 readings holds the GIL for ≈ 1.1 s
(``orjson.loads`` alone 0.3–0.5 s in one piece), so in a worker thread it still froze ``/health`` for 0.76 s at
p99. A child process has its own GIL. The parent's share is writing the bytes down a pipe and reading the Arrow
IPC answer back (both release the GIL while they wait) and mapping it without a copy. Small bodies stay in the
worker thread, where a round trip to a child costs more than it saves.

The children are plain ``python -m lingang_twin.json_readings`` processes talking over their stdin/stdout (the
protocol is in that module), not ``multiprocessing``: its ``spawn`` re-imports the parent's main script in every
child (an embedding script without a ``__main__`` guard would start itself again), and ``fork`` would copy a
process that holds DuckDB's threads and locks. A child ends when its stdin closes — when the server stops, and
also when the server dies by SIGKILL, so nothing is left behind. They start on the first large body, or at
start-up by ``serve`` (:meth:`ParsePool.start`).
"""

from __future__ import annotations

import logging
import os
import queue
import subprocess
import sys
import threading

from starlette.concurrency import run_in_threadpool

from lingang_twin.core.observations import ObservationBatch
from lingang_twin.json_readings import HEADER, batch_of, read_outcome, readings_from_json

log = logging.getLogger(__name__)


class _Child:
    """One parsing process and its pipes."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}  # finds the same package
        self.proc = subprocess.Popen([sys.executable, "-m", "lingang_twin.json_readings"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env=env, start_new_session=True)

    def call(self, raw: bytes, max_items: int) -> tuple[str, object]:
        """Send one body, wait for its outcome (EOFError / OSError if the child died)."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(HEADER.pack(len(raw), max_items))
        self.proc.stdin.write(raw)
        self.proc.stdin.flush()
        return read_outcome(self.proc.stdout)  # type: ignore[arg-type]  # a pipe's IO[bytes] is a binary stream

    def stop(self) -> None:
        """Close its input (it exits by itself) and reap it; kill it if it does not go."""
        for pipe in (self.proc.stdin, self.proc.stdout):
            try:
                if pipe is not None:
                    pipe.close()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self.proc.pid


class ParsePool:
    """Reads JSON readings bodies: those of ``offload_bytes`` or more in one of ``workers`` child processes, the
    rest in a worker thread — the same function either way (:mod:`lingang_twin.json_readings`), so the batch and
    every error (item index, field, rule) are the same. ``workers=0`` keeps every body in the thread."""

    def __init__(self, workers: int, offload_bytes: int) -> None:
        self.workers = workers
        self.offload_bytes = offload_bytes
        self._idle: queue.Queue[_Child] = queue.Queue()
        self._children: list[_Child] = []
        self._lock = threading.Lock()
        self._closed = False

    def start(self) -> None:
        """Start the children now (they import in parallel) rather than on the first large body."""
        with self._lock:
            while len(self._children) < self.workers and not self._closed:
                child = _Child()
                self._children.append(child)
                self._idle.put(child)

    def pids(self) -> list[int]:
        """The process ids of the running children."""
        with self._lock:
            return [c.pid for c in self._children]

    def close(self) -> None:
        """Stop the children (a parse under way finishes first: its caller holds the child)."""
        with self._lock:
            self._closed = True
            children, self._children = self._children, []
        for child in children:
            child.stop()

    def _parse(self, raw: bytes, max_items: int) -> ObservationBatch:
        """In a worker thread: hand ``raw`` to an idle child (waiting for one if all are busy)."""
        while True:
            if self._closed:  # the app is stopping: no child to ask
                return readings_from_json(raw, max_items)
            self.start()
            try:
                child = self._idle.get(timeout=1.0)  # the timeout only re-checks whether the pool closed meanwhile
            except queue.Empty:
                continue
            with self._lock:
                if child in self._children:
                    break
            child.stop()  # one left from before close()
        try:
            outcome = child.call(raw, max_items)
        except (OSError, EOFError, ValueError):
            # The child died (out of memory, killed) or the pool closed: replace it, read this body here.
            log.warning("JSON parsing child %s is gone; reading this body in a thread", child.pid)
            with self._lock:
                if child in self._children:
                    self._children.remove(child)
            child.stop()
            self.start()
            return readings_from_json(raw, max_items)
        with self._lock:
            alive = child in self._children
        if alive:
            self._idle.put(child)
        else:
            child.stop()
        if outcome[0] == "thread":  # an error the child could not describe as data: raise it from here
            return readings_from_json(raw, max_items)
        return batch_of(outcome)

    async def readings(self, raw: bytes, max_items: int) -> ObservationBatch:
        """The checked readings of ``raw`` (see :func:`~lingang_twin.json_readings.readings_from_json`), read
        where it stalls no one. A child that died costs only the speed: it is replaced and this body is read in
        the thread."""
        if self.workers > 0 and len(raw) >= self.offload_bytes and not self._closed:
            return await run_in_threadpool(self._parse, raw, max_items)
        return await run_in_threadpool(readings_from_json, raw, max_items)
