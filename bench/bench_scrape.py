"""Scrape latency of the driftwarden exporter: 10 models x 50 features (target < 100 ms).

    python bench/bench_scrape.py [--models 10] [--features 50] [--days 30 365] [--scrapes 50]

For each history length, writes a synthetic fleet into a fresh DuckDB warehouse,
starts the HTTP exporter on a free port and times full HTTP scrapes the way
Prometheus does them, in two modes:

- ``read``: every scrape opens the warehouse and reads it (as after each write);
- ``unchanged``: the warehouse files did not change since the last scrape, so the
  exporter serves its last read (the usual case between daily runs).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitoring_assets.observability.exporter import start_metrics_server  # noqa: E402
from resources.warehouse import Warehouse  # noqa: E402
from tests.observability.synthetic import write_fleet  # noqa: E402

TARGET_MS = 100.0


def bench(models: int, features: int, days: int, scrapes: int, reuse: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        warehouse = Warehouse(Path(tmp) / "warehouse.duckdb")
        t0 = time.perf_counter()
        write_fleet(warehouse, models, features, days, dt.date(2026, 6, 30))
        write_s = time.perf_counter() - t0
        rows = int(warehouse.query("SELECT count(*) AS n FROM monitor_metrics").n[0])
        server = start_metrics_server(
            warehouse.path, "127.0.0.1", 0, max_reuse_seconds=60.0 if reuse else 0.0
        )
        try:
            body = b""
            for _ in range(3):  # warm-up
                body = urllib.request.urlopen(server.url, timeout=30).read()
            times = []
            for _ in range(scrapes):
                t = time.perf_counter()
                with urllib.request.urlopen(server.url, timeout=30) as resp:
                    body = resp.read()
                times.append((time.perf_counter() - t) * 1000)
        finally:
            server.close()
    samples = sum(1 for line in body.decode().splitlines() if line and not line.startswith("#"))
    times.sort()
    return {
        "mode": "unchanged" if reuse else "read",
        "days": days,
        "rows": rows,
        "samples": samples,
        "bytes": len(body),
        "write_s": write_s,
        "p50": statistics.median(times),
        "p95": times[int(0.95 * (len(times) - 1))],
        "max": times[-1],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=10)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--days", type=int, nargs="+", default=[30, 365])
    parser.add_argument("--scrapes", type=int, default=50)
    args = parser.parse_args(argv)

    print(
        f"exporter scrape latency, {args.models} models x {args.features} features, "
        f"{args.scrapes} scrapes each (target p95 < {TARGET_MS:.0f} ms)"
    )
    header = (
        f"{'mode':>9} {'days':>5} {'metric rows':>12} {'samples':>8} {'bytes':>9} "
        f"{'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'target':>7}"
    )
    print(header)
    print("-" * len(header))
    ok = True
    for days in args.days:
        for reuse in (False, True):
            r = bench(args.models, args.features, days, args.scrapes, reuse)
            met = r["p95"] < TARGET_MS
            ok &= met
            print(
                f"{r['mode']:>9} {r['days']:>5} {r['rows']:>12} {r['samples']:>8} {r['bytes']:>9} "
                f"{r['p50']:>8.1f} {r['p95']:>8.1f} {r['max']:>8.1f} {'met' if met else 'MISSED':>7}"
            )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
