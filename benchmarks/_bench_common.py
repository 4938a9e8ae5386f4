"""Small helpers shared by the benchmark scripts (machine description, peak RSS, medians, tables).

Not a benchmark itself. The scripts import it as ``_bench_common`` (their own directory is on ``sys.path``
when run as ``python benchmarks/bench_*.py``).
"""

from __future__ import annotations

import hashlib
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def machine() -> dict[str, str]:
    """What the numbers were measured on."""
    import duckdb
    import numpy
    import pyarrow

    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                    break
    except OSError:
        pass
    return {
        "date (UTC)": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "cpus (nproc)": str(os.cpu_count()),
        "memory": mem,
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "pyarrow": pyarrow.__version__,
        "numpy": numpy.__version__,
        "arch": platform.machine(),
    }


def print_machine() -> None:
    info = machine()
    print("machine: " + ", ".join(f"{k} {v}" for k, v in info.items()))
    print("code: " + code_version())


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far [MiB].

    Linux: ``VmHWM`` of /proc/self/status (the high-water mark of this process image). ``ru_maxrss`` is the
    fallback; on Linux it survives ``fork`` + ``exec``, so a child started by a big parent would report the
    parent's peak."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 1024 if sys.platform != "darwin" else kib / 1024 / 1024


def code_version() -> str:
    """Which code was measured: the git commit, and a digest of the measured packages (``core``, ``stores``),
    which identifies the code even when the tree holds uncommitted edits."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha1()
    pkg = root / "src" / "lingang_twin"
    for p in sorted([*(pkg / "core").rglob("*.py"), *(pkg / "stores").rglob("*.py")]):
        digest.update(str(p.relative_to(root)).encode())
        digest.update(p.read_bytes())
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "src/lingang_twin/core",
                                "src/lingang_twin/stores"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        head, dirty = "?", ""
    state = " + uncommitted changes in core/stores" if dirty else ""
    return f"commit {head}{state}, core+stores digest {digest.hexdigest()[:10]}"


def file_size_mib(path: str | Path) -> float:
    p = Path(path)
    total = p.stat().st_size if p.exists() else 0
    wal = Path(str(p) + ".wal")
    if wal.exists():
        total += wal.stat().st_size
    return total / 1024 / 1024


def remove_db(path: str | Path) -> None:
    for p in (Path(path), Path(str(path) + ".wal")):
        if p.exists():
            p.unlink()


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def median(xs: Sequence[float]) -> float:
    return statistics.median(xs)


def spread(xs: Sequence[float]) -> str:
    """min–max of a sample, in ms, for the tables."""
    return f"{min(xs) * 1e3:.1f}–{max(xs) * 1e3:.1f}"


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A plain fixed-width table (also valid Markdown)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(r: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"

    print(line(cells[0]))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in cells[1:]:
        print(line(r))


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


# The water and hydrogen CO₂ factors are deployment settings (REFERENCE.md gives none): placeholders so that the
# energy benchmarks can compute their figures, not figures to quote.
PLACEHOLDER_CONFIG = {"water_kgco2_per_m3": 0.25, "hydrogen_route": "renewable-electrolysis",
                      "hydrogen_kgco2_per_kg": 1.0}
