"""The stream's Prometheus series: one per window (``window`` label), and a freshness
series of their own, so stream writes never move the batch freshness series."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from monitoring_assets.core import metrics as m
from monitoring_assets.core.tables import MONITOR_METRICS
from monitoring_assets.observability.exporter import snapshot_metrics
from monitoring_assets.observability.snapshot import read_snapshot
from monitoring_assets.streaming.findings import FindingsSink
from monitoring_assets.streaming.processor import StreamProcessor
from monitoring_assets.streaming.producer import event_messages, simulated_frame
from monitoring_assets.streaming.settings import StreamSettings
from monitoring_assets.streaming.windows import WindowSpec, window_monitor
from resources.warehouse import open_warehouse


def _midnight(day: dt.date) -> float:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()


def _series(snap) -> dict[str, list]:
    return {f.name: f.samples for f in snapshot_metrics(snap)}


def test_every_window_is_a_series_and_stream_days_do_not_move_batch_freshness(
    tmp_path, model, reference, day0
):
    wh = open_warehouse(tmp_path / "warehouse.duckdb")
    wh.migrate()
    # The batch monitors last wrote day0; the stream then evaluates events of day0 + 2.
    batch = pd.DataFrame(
        [
            {
                "model": model.name,
                "model_version": model.version,
                "partition_date": day0,
                "metric": m.DRIFT_SCORE.name,
                "feature": "",
                "value": 0.1,
                "run_id": "batch",
                "computed_at": pd.Timestamp("2026-01-01"),
            }
        ],
        columns=list(MONITOR_METRICS.columns),
    )
    wh.replace(MONITOR_METRICS.name, batch, {"model": model.name, "partition_date": day0})
    stream_day = day0 + dt.timedelta(days=2)
    settings = StreamSettings(
        windows=[WindowSpec(kind="count", size=300), WindowSpec(kind="count", size=800)],
        evaluate_every_events=800,
        evaluate_every_seconds=0,
    )
    proc = StreamProcessor(model, window_monitor(model, reference), settings)
    frame = simulated_frame(model, [stream_day]).iloc[:800]
    msgs = list(event_messages(model, frame))
    _, results = proc.ingest(
        [(v, k, 0, i) for i, (k, v, _) in enumerate(msgs)],
        [(o, k, 0, i) for i, (k, _, o) in enumerate(msgs)],
    )
    assert [r.window for r in results] == ["count_300", "count_800"]
    FindingsSink(model, wh, alerts=False).publish(results, {})

    snap = read_snapshot(tmp_path / "warehouse.duckdb")
    series = _series(snap)
    events = {s.labels["window"]: s.value for s in series[m.STREAM_WINDOW_EVENTS.name]}
    assert events == {"count_300": 300.0, "count_800": 800.0}
    for name in m.STREAM_GAUGES:
        assert {s.labels["window"] for s in series[name]} == {"count_300", "count_800"}, name
        assert all(set(s.labels) == {"model", "version", "window"} for s in series[name])
    (batch_fresh,) = series[m.LATEST_PARTITION.name]
    assert batch_fresh.value == _midnight(day0)  # not moved by the stream's day
    (stream_fresh,) = series[m.STREAM_LATEST_PARTITION.name]
    assert stream_fresh.value == _midnight(stream_day)


def test_unlabelled_stream_rows_of_an_older_version_are_removed(tmp_path, model, reference, day0):
    wh = open_warehouse(tmp_path / "warehouse.duckdb")
    wh.migrate()
    old = pd.DataFrame(
        [
            {
                "model": model.name,
                "model_version": model.version,
                "partition_date": day0,
                "metric": m.STREAM_DRIFT_SCORE.name,
                "feature": "",
                "value": 0.9,
                "run_id": "stream:driftwarden-churn:count_10000",
                "computed_at": pd.Timestamp("2026-01-01"),
            }
        ],
        columns=list(MONITOR_METRICS.columns),
    )
    wh.replace(MONITOR_METRICS.name, old, {"model": model.name, "partition_date": day0})
    settings = StreamSettings(
        windows=[WindowSpec(kind="count", size=100)],
        evaluate_every_events=100,
        evaluate_every_seconds=0,
    )
    proc = StreamProcessor(model, window_monitor(model, reference), settings)
    msgs = list(event_messages(model, simulated_frame(model, [day0]).iloc[:100]))
    _, results = proc.ingest(
        [(v, k, 0, i) for i, (k, v, _) in enumerate(msgs)],
        [(o, k, 0, i) for i, (k, _, o) in enumerate(msgs)],
    )
    FindingsSink(model, wh, alerts=False).publish(results, {})
    series = _series(read_snapshot(tmp_path / "warehouse.duckdb"))
    assert [s.labels["window"] for s in series[m.STREAM_DRIFT_SCORE.name]] == ["count_100"]


def test_the_drift_dashboard_shows_each_stream_window():
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "deploy/grafana/dashboards/drift-analysis.json"
    panels = json.loads(path.read_text())["panels"]
    targets = [t for p in panels for t in p.get("targets", [])]
    stream = [t for t in targets if m.STREAM_DRIFT_SCORE.name in t.get("expr", "")]
    assert stream and all("{{window}}" in t["legendFormat"] for t in stream)
