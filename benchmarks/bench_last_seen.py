"""The entity list's "last seen" column: one ``Store.last_observed`` call per page against one call per entity.

Scenario: a demo twin (``--days`` of history, built into ``--db`` unless the file exists), pages of ``--page``
entities of the explorer's order (type, id) at several offsets — meters, buildings, car parks, vehicles, so pages
with many series and with none. Baseline in the same run: the same answer asked entity by entity (what a page
would cost with N queries). Target: one page's column ≤ 100 ms on the demo, and fewer round trips than N.

Run: ``.venv/bin/python benchmarks/bench_last_seen.py [--db PATH] [--days N] [--page N] [--runs N]``
"""

from __future__ import annotations

import argparse
from pathlib import Path

from _bench_common import median, peak_rss_mib, print_machine, print_table, spread, timed, verdict
from lingang_twin.app import open_twin
from lingang_twin.demo import build_demo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", default="/tmp/bench-last-seen.duckdb")
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--page", type=int, default=50)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    print_machine()
    if not Path(args.db).exists():
        twin = open_twin(args.db)
        build_demo(twin, days=args.days)
        twin.close()
    twin = open_twin(args.db)
    store = twin.store
    ordered = twin.query(limit=10_000, order_by=["type", "id"]).entities
    rows = []
    ok = True
    for offset in range(0, len(ordered), max(1, len(ordered) // 6)):
        ids = [e.id for e in ordered[offset:offset + args.page]]
        kinds = sorted({e.type for e in ordered[offset:offset + args.page]})
        store.last_observed(ids)  # warm the file's pages once, for both
        one, each = [], []
        for _ in range(args.runs):
            t, answer = timed(lambda ids=ids: store.last_observed(ids))
            one.append(t)
            t, per = timed(lambda ids=ids: {k: v for i in ids for k, v in store.last_observed([i]).items()})
            each.append(t)
            assert answer == per  # the same column either way
        ok = ok and median(one) <= 0.1
        rows.append([offset, ",".join(kinds)[:40], f"{median(one) * 1e3:.1f} ({spread(one)})",
                     f"{median(each) * 1e3:.1f} ({spread(each)})", f"{median(each) / median(one):.1f}×"])
    print_table(["offset", "types on the page", "one call, ms", f"{args.page} calls, ms", "ratio"], rows)
    observations = store._reader().execute("SELECT count(*) FROM observations").fetchone()[0]
    print(f"\n{len(ordered)} entities, {observations:,} readings; peak RSS {peak_rss_mib():.0f} MiB; "
          f"target one page ≤ 100 ms: {verdict(ok)}")
    twin.close()


if __name__ == "__main__":
    main()
