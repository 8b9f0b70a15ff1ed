"""The exporter's exposition: values, labels and valid text in every bad situation."""

from __future__ import annotations

import argparse
import datetime as dt
import math
import urllib.request

import pandas as pd
import pytest

from monitoring_assets.core import metrics as m
from monitoring_assets.observability.exporter import (
    WarehouseCollector,
    add_cli,
    start_metrics_server,
)
from monitoring_assets.observability.snapshot import Snapshot, SnapshotUnavailable, read_snapshot
from resources.warehouse import MONITOR_METRICS, Warehouse
from tests.observability.helpers import (
    assert_valid_exposition,
    isnan,
    names,
    scrape,
    value,
    writer_holding_lock,
)
from tests.observability.synthetic import DayValues, write_day

DAY = dt.date(2026, 7, 1)
FEATURES = ["tenure", "monthly_charges", "total_charges"]


@pytest.fixture
def warehouse(tmp_path) -> Warehouse:
    wh = Warehouse(tmp_path / "warehouse.duckdb")
    for k, drift in enumerate([0.1, 0.2, 0.62]):
        write_day(
            wh,
            "churn",
            "v1" if k < 2 else "v2",
            DAY + dt.timedelta(days=k),
            DayValues(
                drift_score=drift,
                feature_drift=[0.05, 0.3 * k, 0.02],
                missing_share=[0.0, 0.01, 0.35 if k == 2 else 0.0],
                accuracy=0.9 - 0.045 * k,
                estimated_accuracy=0.88,
                label_coverage=1.0,
                rows=1000 + k,
                latency_mean_seconds=0.05,
            ),
            FEATURES,
        )
    return wh


def test_latest_partition_values_with_labels(warehouse):
    series = assert_valid_exposition(scrape(WarehouseCollector(warehouse.path)))
    # The third day is the latest: its drift score, under its model version.
    assert value(series, "ml_model_drift_score", model="churn", version="v2") == pytest.approx(0.62)
    assert (
        "ml_model_drift_score",
        frozenset({("model", "churn"), ("version", "v1")}),
    ) not in series
    assert value(series, "ml_model_drifted_features", model="churn", version="v2") == 1
    assert value(
        series, "ml_feature_drift_score", model="churn", version="v2", feature="monthly_charges"
    ) == pytest.approx(0.6)
    assert value(
        series, "ml_data_missing_share", model="churn", version="v2", feature="total_charges"
    ) == pytest.approx(0.35)
    assert value(series, "model_accuracy", model="churn", version="v2") == pytest.approx(0.81)
    assert value(series, "model_f1", model="churn", version="v2") == pytest.approx(0.735)
    assert value(series, "model_estimated_accuracy", model="churn", version="v2") == 0.88
    assert value(series, "ml_label_coverage", model="churn", version="v2") == 1.0
    assert value(series, m.EXPORTER_WAREHOUSE_UP.name) == 1.0


def test_requests_counter_and_latency_histogram(warehouse):
    series = assert_valid_exposition(scrape(WarehouseCollector(warehouse.path)))
    # Requests sum the daily rows per version: 1000 + 1001 under v1, 1002 under v2.
    assert value(series, "model_inference_requests_total", model="churn", version="v1") == 2001
    assert value(series, "model_inference_requests_total", model="churn", version="v2") == 1002
    # The histogram sums cumulative buckets over the days of each version.
    count = value(series, "model_inference_duration_seconds_count", model="churn", version="v1")
    assert count == 2001
    inf = value(
        series, "model_inference_duration_seconds_bucket", model="churn", version="v1", le="+Inf"
    )
    assert inf == count
    total = value(series, "model_inference_duration_seconds_sum", model="churn", version="v1")
    assert total == pytest.approx(2001 * 0.05)
    b05 = value(
        series, "model_inference_duration_seconds_bucket", model="churn", version="v1", le="0.05"
    )
    assert b05 == pytest.approx(2001 * (1 - math.exp(-1)), abs=2)


def test_last_run_timestamp_latest_partition_and_alerts_default_zero(warehouse):
    before = dt.datetime.now(dt.UTC).timestamp()
    series = assert_valid_exposition(scrape(WarehouseCollector(warehouse.path)))
    last = value(series, m.LAST_SUCCESS.name, model="churn")
    assert before - 120 < last <= before + 1
    latest = value(series, m.LATEST_PARTITION.name, model="churn")
    assert latest == dt.datetime(2026, 7, 3, tzinfo=dt.UTC).timestamp()
    # No alerts table yet: every tier reads 0.
    for tier in m.ALERT_TIERS:
        assert value(series, m.OPEN_ALERTS.name, model="churn", tier=tier) == 0


def test_open_alerts_by_tier_from_alerts_table(warehouse):
    warehouse.execute("CREATE TABLE alerts (model VARCHAR, tier VARCHAR, status VARCHAR)")
    warehouse.execute(
        "INSERT INTO alerts VALUES ('churn','critical','firing'), ('churn','critical','firing'),"
        " ('churn','warning','resolved'), ('churn','info','firing'), ('churn','bogus','firing')"
    )
    series = assert_valid_exposition(scrape(WarehouseCollector(warehouse.path)))
    assert value(series, m.OPEN_ALERTS.name, model="churn", tier="critical") == 2
    assert value(series, m.OPEN_ALERTS.name, model="churn", tier="warning") == 0
    assert value(series, m.OPEN_ALERTS.name, model="churn", tier="info") == 1


def test_missing_warehouse_file_is_an_empty_warehouse(tmp_path):
    path = tmp_path / "none" / "warehouse.duckdb"
    series = assert_valid_exposition(scrape(WarehouseCollector(path)))
    assert value(series, m.EXPORTER_WAREHOUSE_UP.name) == 1
    assert not any(n.startswith(("ml_", "model_")) for n in names(series))
    assert not path.exists(), "a scrape must not create the warehouse"


def test_warehouse_without_tables(tmp_path):
    import duckdb

    path = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(path)).close()
    text = scrape(WarehouseCollector(path))
    series = assert_valid_exposition(text)
    assert value(series, m.EXPORTER_WAREHOUSE_UP.name) == 1
    assert "# TYPE model_inference_duration_seconds histogram" in text


def test_model_with_no_labels_yet(warehouse):
    write_day(
        warehouse,
        "fraud",
        "v1",
        DAY,
        DayValues(accuracy=None, label_coverage=0.0, feature_drift=[0.01], missing_share=[0.0]),
        ["amount"],
    )
    series = assert_valid_exposition(scrape(WarehouseCollector(warehouse.path)))
    assert value(series, "ml_label_coverage", model="fraud", version="v1") == 0.0
    assert value(series, "model_estimated_accuracy", model="fraud", version="v1") == 0.9
    assert not any(k[0] == "model_accuracy" and ("model", "fraud") in k[1] for k in series)
    assert value(series, "model_accuracy", model="churn", version="v2") == pytest.approx(0.81)


def test_nan_and_infinite_values_stay_valid(warehouse):
    rows = pd.DataFrame(
        [
            {
                "model": "churn",
                "model_version": "v2",
                "partition_date": DAY + dt.timedelta(days=3),
                "metric": metric,
                "feature": feature,
                "value": v,
                "run_id": "r",
                "computed_at": dt.datetime(2026, 7, 4),
            }
            for metric, feature, v in [
                ("ml_model_drift_score", "", math.nan),
                ("model_accuracy", "", None),
                ("ml_feature_drift_score", "tenure", math.inf),
                ("model_inference_requests", "", math.nan),
            ]
        ]
    )
    warehouse.replace(
        MONITOR_METRICS.name, rows, {"model": "churn", "partition_date": DAY + dt.timedelta(days=3)}
    )
    text = scrape(WarehouseCollector(warehouse.path))
    series = assert_valid_exposition(text)
    assert isnan(value(series, "ml_model_drift_score", model="churn", version="v2"))
    assert isnan(value(series, "model_accuracy", model="churn", version="v2"))
    assert math.isinf(
        value(series, "ml_feature_drift_score", model="churn", version="v2", feature="tenure")
    )
    # A NaN row count does not poison the counter.
    assert value(series, "model_inference_requests_total", model="churn", version="v2") == 1002


def test_scrape_while_a_run_writes_serves_last_good_snapshot(warehouse):
    now = [1000.0]
    collector = WarehouseCollector(warehouse.path, lock_timeout=0.1, clock=lambda: now[0])
    real_read = read_snapshot

    def reader() -> Snapshot:
        snap = real_read(warehouse.path, lock_timeout=0.1)
        return Snapshot(**{**snap.__dict__, "read_at": now[0]})

    collector._reader = reader
    first = assert_valid_exposition(scrape(collector))
    assert value(first, m.EXPORTER_WAREHOUSE_UP.name) == 1
    now[0] = 1042.0
    with writer_holding_lock(warehouse.path):
        text = scrape(collector)
    stale = assert_valid_exposition(text)
    assert value(stale, m.EXPORTER_WAREHOUSE_UP.name) == 0
    assert value(stale, m.EXPORTER_SNAPSHOT_AGE.name) == pytest.approx(42.0)
    assert value(stale, m.EXPORTER_READ_ERRORS.name + "_total") == 1
    assert value(stale, "ml_model_drift_score", model="churn", version="v2") == pytest.approx(0.62)
    # Once the writer is done, the next scrape reads afresh.
    fresh = assert_valid_exposition(scrape(collector))
    assert value(fresh, m.EXPORTER_WAREHOUSE_UP.name) == 1
    assert value(fresh, m.EXPORTER_SNAPSHOT_AGE.name) == 0


def test_locked_on_the_first_scrape_serves_exporter_metrics_only(warehouse):
    collector = WarehouseCollector(warehouse.path, lock_timeout=0.1)
    with writer_holding_lock(warehouse.path):
        series = assert_valid_exposition(scrape(collector))
    assert value(series, m.EXPORTER_WAREHOUSE_UP.name) == 0
    assert "ml_model_drift_score" not in names(series)


def test_read_snapshot_raises_when_locked(warehouse):
    with writer_holding_lock(warehouse.path), pytest.raises(SnapshotUnavailable, match="lock"):
        read_snapshot(warehouse.path, lock_timeout=0.1)


def test_unknown_monitor_metric_is_exposed_as_a_gauge(warehouse):
    write_day(
        warehouse,
        "churn",
        "v2",
        DAY + dt.timedelta(days=2),
        DayValues(
            drift_score=0.62,
            extra={"ml_prediction_drift_score": 0.25, "bad name!": 1.0, "weird_total": 2.0},
        ),
        FEATURES,
    )
    series = assert_valid_exposition(scrape(WarehouseCollector(warehouse.path)))
    assert value(series, "ml_prediction_drift_score", model="churn", version="v2") == 0.25
    assert not any("weird" in n or "bad" in n for n in names(series))


def test_http_server_and_cli(warehouse):
    server = start_metrics_server(warehouse.path, "127.0.0.1", 0)
    try:
        with urllib.request.urlopen(server.url, timeout=10) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"].startswith("text/plain")
            series = assert_valid_exposition(resp.read().decode())
    finally:
        server.close()
    assert value(series, "ml_model_drift_score", model="churn", version="v2") == pytest.approx(0.62)

    parser = argparse.ArgumentParser(prog="driftwarden")
    add_cli(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["serve-metrics", "--port", "9999", "--warehouse", "w.duckdb"])
    assert (args.command, args.port, args.host, args.warehouse) == (
        "serve-metrics",
        9999,
        "127.0.0.1",
        "w.duckdb",
    )
    assert callable(args.func)


def test_unchanged_warehouse_is_not_read_again_until_it_changes(warehouse):
    reads = []

    def reader() -> Snapshot:
        reads.append(1)
        return read_snapshot(warehouse.path)

    now = [read_snapshot(warehouse.path).read_at]
    collector = WarehouseCollector(
        warehouse.path, reader=reader, clock=lambda: now[0], max_reuse_seconds=60
    )
    scrape(collector)
    now[0] += 5
    series = assert_valid_exposition(scrape(collector))
    assert len(reads) == 1
    assert value(series, m.EXPORTER_WAREHOUSE_UP.name) == 1
    assert value(series, m.EXPORTER_SNAPSHOT_AGE.name) == 0
    # A run writes: the next scrape reads the new numbers.
    write_day(warehouse, "churn", "v2", DAY + dt.timedelta(days=5), DayValues(drift_score=0.7), [])
    series = assert_valid_exposition(scrape(collector))
    assert len(reads) == 2
    assert value(series, "ml_model_drift_score", model="churn", version="v2") == 0.7
    # Reuse is bounded in time even when the files look unchanged.
    now[0] += 600
    scrape(collector)
    assert len(reads) == 3


def test_serve_metrics_process_answers_scrapes(warehouse):
    import subprocess
    import sys
    import time

    from tests.observability.servers import free_port

    port = free_port()
    code = (
        "from monitoring_assets.observability.exporter import serve_metrics\n"
        f"serve_metrics({str(warehouse.path)!r}, '127.0.0.1', {port})\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                    series = assert_valid_exposition(r.read().decode())
                break
            except OSError:
                assert proc.poll() is None, "serve_metrics exited"
                assert time.monotonic() < deadline, "serve_metrics did not answer in 60 s"
                time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert value(series, "ml_model_drift_score", model="churn", version="v2") == pytest.approx(0.62)


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["serve-metrics", "--warehouse", "/x/w.duckdb"], "/x/w.duckdb"),
        (["--home", "/h", "serve-metrics"], "/h/warehouse.duckdb"),
    ],
)
def test_cli_resolves_the_warehouse(argv, expected, monkeypatch):
    from monitoring_assets.observability import exporter

    calls = []
    monkeypatch.setattr(exporter, "serve_metrics", lambda *a: calls.append(a))
    parser = argparse.ArgumentParser(prog="driftwarden")
    parser.add_argument("--home")
    add_cli(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    assert args.func(args) == 0
    assert calls == [(expected, "127.0.0.1", 9464)]
