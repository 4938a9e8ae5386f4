"""Counter-based random numbers: every simulated value is a pure function of (seed, stream, entity, instant).

A stateful generator would make the value of a reading depend on what was generated before it, so a live simulator
resuming after a backfill could not reproduce it. Hashing the coordinates instead (the splitmix64 finaliser, in
vectorised NumPy) gives the same number for the same (seed, stream, keys) in any order, any chunking and any
process: re-appending an instant reproduces its value exactly, which keeps appends idempotent.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = 0x9E3779B97F4A7C15
_MASK64 = (1 << 64) - 1
_SQRT3 = float(np.sqrt(3.0))


def entity_key(entity_id: str) -> int:
    """A stable 64-bit key for an entity id (not Python's per-process ``hash``)."""
    return int.from_bytes(hashlib.blake2b(entity_id.encode(), digest_size=8).digest(), "little")


def stream_key(name: str) -> int:
    """A stable 64-bit key for a named random stream (e.g. ``"spot-threshold"``)."""
    return entity_key("stream:" + name)


def _mix(x: np.ndarray) -> np.ndarray:
    # splitmix64 finaliser; uint64 array arithmetic wraps silently, which is what a hash wants.
    x = x ^ (x >> np.uint64(30))
    x = x * _M1
    x = x ^ (x >> np.uint64(27))
    x = x * _M2
    return x ^ (x >> np.uint64(31))


def hash64(seed: int, stream: int, *keys: Any) -> np.ndarray:
    """64-bit hashes of (seed, stream, keys…); ``keys`` are integer arrays (or ints) that broadcast together."""
    start = ((seed & _MASK64) * _GOLDEN + (stream & _MASK64)) & _MASK64
    h = _mix(np.array([start], dtype=np.uint64))
    for key in keys:
        k = np.asarray(key)
        if k.dtype != np.uint64:
            # int64 → uint64 keeps the bit pattern (negative keys are fine).
            k = k.astype(np.int64).view(np.uint64) if k.dtype.kind == "i" else k.astype(np.uint64)
        h = _mix(h ^ k)
    return h


def uniform(seed: int, stream: int, *keys: Any) -> np.ndarray:
    """Uniform numbers in [0, 1) for (seed, stream, keys…) (53-bit resolution)."""
    return (hash64(seed, stream, *keys) >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def normal(seed: int, stream: int, *keys: Any) -> np.ndarray:
    """Approximately standard-normal numbers (Irwin–Hall sum of four 16-bit uniforms), bounded to ±3.46.

    Bounded on purpose: simulated noise never produces a freak outlier that an anomaly detector would flag; the
    injected faults are the only anomalies.
    """
    h = hash64(seed, stream, *keys)
    total = np.zeros(h.shape, dtype=np.float64)
    for shift in (0, 16, 32, 48):
        total += ((h >> np.uint64(shift)) & np.uint64(0xFFFF)).astype(np.float64)
    # Four 16-bit fields uniform on [0, 65535]: sum has mean 2 × 65535 and s.d. 2 × 65536 / √12 = 65536 / √3.
    return (total - 2 * 65535.0) / (65536.0 / _SQRT3)


def smooth_noise(seed: int, stream: int, key: Any, t: Any, period: int) -> np.ndarray:
    """Smooth noise over integer time ``t`` (any unit): normal values at knots every ``period`` units, joined by
    a smoothstep curve, so consecutive instants are correlated over about one period. Pure in (key, t)."""
    t = np.asarray(t, dtype=np.int64)
    knot = t // period
    frac = (t - knot * period).astype(np.float64) / period
    a = normal(seed, stream, key, knot)
    b = normal(seed, stream, key, knot + 1)
    s = frac * frac * (3.0 - 2.0 * frac)
    return a + (b - a) * s
