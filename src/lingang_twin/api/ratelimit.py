"""Rate limits (限流): token buckets in memory, one per (limit, key), answered 429 problem+json with Retry-After.

Two limits, their rates in :class:`~lingang_twin.settings.Settings`:

* ``sign-in``: per client address and per user name (``sign_in_per_minute``, ``sign_in_burst``). The accounts face
  calls :func:`check_sign_in` before it checks a password, so a guesser is slowed whether it varies the name or
  the address (the account lock after 20 wrong passwords is the accounts' own, beside this).
* ``ingest``: per API key or user (the principal's subject; ``ingest_per_second``, ``ingest_burst``), checked by
  ``POST /api/v1/observations`` through the dependency :func:`check_ingest`, which takes the caller from the one
  principal source (:func:`lingang_twin.core.guard.caller`, so a test's override applies too). The platform itself
  (``SYSTEM``, an app without accounts) is not limited.

In memory, per process: the server is one process (one DuckDB writer). A bucket holds ``burst`` tokens and
refills at ``rate`` per second; a request takes one. At most :data:`MAX_KEYS` buckets per limit are kept, the
least recently used dropped first (a dropped bucket is a full one again: a bound on memory, not on an attacker
with more addresses than that).

Use from a route: ``limit(request, "sign-in", key)`` raises :class:`RateLimited`, answered 429 by the handler
:func:`install` registers.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Depends, FastAPI, Request
from starlette.responses import Response

from lingang_twin.api.problems import problem
from lingang_twin.core.access import Principal
from lingang_twin.core.guard import caller
from lingang_twin.settings import Settings

MAX_KEYS = 100_000


@dataclass(frozen=True)
class Rate:
    """``per_second`` tokens added each second, at most ``burst`` held; ``per_second == 0``: unlimited."""

    per_second: float
    burst: int


class RateLimited(Exception):
    """Too many requests for ``limit`` from ``key``; retry after ``retry_after`` seconds."""

    def __init__(self, limit: str, key: str, retry_after: float) -> None:
        self.limit = limit
        self.key = key
        self.retry_after = retry_after
        super().__init__(f"rate limit {limit} exceeded for {key}")


class Buckets:
    """The token buckets of one limit, keyed by client address, user name or principal (thread-safe: sync
    routes run in worker threads)."""

    def __init__(self, name: str, rate: Rate, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = MAX_KEYS) -> None:
        self.name = name
        self.rate = rate
        self.clock = clock
        self.max_keys = max_keys
        self._state: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key → (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Take one token for ``key``: 0.0 when granted, else the seconds until one will be there."""
        rate = self.rate
        if rate.per_second <= 0:
            return 0.0
        now = self.clock()
        with self._lock:
            tokens, at = self._state.pop(key, (float(rate.burst), now))
            tokens = min(float(rate.burst), tokens + (now - at) * rate.per_second)
            if tokens >= 1.0:
                self._state[key] = (tokens - 1.0, now)
                wait = 0.0
            else:
                self._state[key] = (tokens, now)
                wait = (1.0 - tokens) / rate.per_second
            while len(self._state) > self.max_keys:
                self._state.popitem(last=False)
        return wait

    def check(self, key: str) -> None:
        """Raise :class:`RateLimited` unless ``key`` may go on."""
        wait = self.take(key)
        if wait > 0:
            raise RateLimited(self.name, key, wait)


class RateLimits:
    """The app's limits by name (``app.state.rate_limits``)."""

    def __init__(self, rates: dict[str, Rate], clock: Callable[[], float] = time.monotonic) -> None:
        self.buckets = {name: Buckets(name, rate, clock) for name, rate in rates.items()}

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimits:
        """``sign-in`` and ``ingest`` at the settings' rates."""
        return cls({"sign-in": Rate(settings.sign_in_per_minute / 60.0, settings.sign_in_burst),
                    "ingest": Rate(settings.ingest_per_second, settings.ingest_burst)})

    def check(self, name: str, key: str) -> None:
        """Raise :class:`RateLimited` unless ``key`` may go on under limit ``name``."""
        self.buckets[name].check(key)


def client_address(request: Request) -> str:
    """The client's address (behind a trusted proxy, the one it forwarded: ``Settings.forwarded_allow_ips``)."""
    return request.client.host if request.client is not None else "unknown"


def limit(request: Request, name: str, key: str) -> None:
    """Take one request of ``key`` under limit ``name`` (``sign-in``, ``ingest``) of the app serving
    ``request``; raise :class:`RateLimited` (answered 429 with Retry-After) when it has none left."""
    limits: RateLimits = request.app.state.rate_limits
    limits.check(name, key)


def check_sign_in(request: Request, username: str) -> None:
    """Before a password is checked: one attempt from this client address and one for this user name (both must
    have room). Raises :class:`RateLimited`."""
    limit(request, "sign-in", f"address:{client_address(request)}")
    limit(request, "sign-in", f"user:{username.strip().lower()}")


async def check_ingest(request: Request, who: Principal = Depends(caller)) -> None:  # noqa: B008 - FastAPI's idiom
    """A route dependency: one readings batch of the caller (:func:`~lingang_twin.core.guard.caller`), keyed by its
    subject (an API key's is ``key:<id>``), by client address when anonymous; the platform itself is not limited.
    Raises :class:`RateLimited`. Async: a lock and some arithmetic, not worth a worker thread per batch."""
    if who.kind == "system":
        return
    key = f"address:{client_address(request)}" if who.kind == "anonymous" else f"subject:{who.subject}"
    limit(request, "ingest", key)


def install(app: FastAPI, settings: Settings, clock: Callable[[], float] = time.monotonic) -> RateLimits:
    """Put the limits on ``app.state.rate_limits`` and answer :class:`RateLimited` with 429 problem+json."""
    limits = RateLimits.from_settings(settings)
    if clock is not time.monotonic:
        limits = RateLimits({n: b.rate for n, b in limits.buckets.items()}, clock)
    app.state.rate_limits = limits

    @app.exception_handler(RateLimited)
    async def _limited(_: Request, err: RateLimited) -> Response:
        seconds = max(1, math.ceil(err.retry_after))
        response = problem(429, "Too many requests / 请求过于频繁",
                           f"too many {err.limit} requests; retry after {seconds} s / "
                           f"{err.limit} 请求过多，请 {seconds} 秒后重试", rule="rate-limit",
                           extra={"quota": err.limit, "retryAfter": seconds})
        response.headers["Retry-After"] = str(seconds)
        return response

    return limits
