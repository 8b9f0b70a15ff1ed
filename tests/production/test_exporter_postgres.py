"""The metrics exporter reads a Postgres warehouse exactly as it reads DuckDB."""

import dataclasses
import datetime as dt
import math
import urllib.request

from monitoring_assets.observability.exporter import start_metrics_server
from monitoring_assets.observability.snapshot import read_snapshot
from resources.warehouse import Warehouse, open_warehouse
from tests.observability.synthetic import write_fleet


def _comparable(snap):
    out = dataclasses.asdict(snap)
    out.pop("read_at")
    out.pop("read_seconds")
    out["last_success"] = sorted(m for m, _ in snap.last_success)  # write times differ
    return out


def _same(a, b):
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-12)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


def test_postgres_snapshot_equals_duckdb_snapshot(tmp_path, pg_warehouse_url):
    end = dt.date(2026, 9, 28)
    duck = Warehouse(tmp_path / "wh.duckdb")
    pg = open_warehouse(pg_warehouse_url)
    for warehouse in (duck, pg):
        write_fleet(warehouse, n_models=3, n_features=5, days=4, end=end, seed=1)
    left, right = read_snapshot(tmp_path / "wh.duckdb"), read_snapshot(pg_warehouse_url)
    assert len(left.samples) > 3 * 5 * 2
    assert _same(_comparable(left), _comparable(right)), "snapshots differ"
    assert {s.partition_date for s in right.samples} == {end}
    assert len(right.histograms) == 3 and len(right.requests) == 3


def test_exporter_serves_a_postgres_warehouse(pg_warehouse_url):
    write_fleet(
        open_warehouse(pg_warehouse_url),
        n_models=1,
        n_features=3,
        days=2,
        end=dt.date(2026, 9, 28),
        seed=2,
    )
    running = start_metrics_server(pg_warehouse_url, "127.0.0.1", 0)
    try:
        body = urllib.request.urlopen(running.url, timeout=10).read().decode()
    finally:
        running.close()
    assert 'ml_model_drift_score{model="model_00"' in body
    assert "driftwarden_exporter_warehouse_up 1.0" in body
