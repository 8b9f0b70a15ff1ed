"""Test fixture: a synthetic fleet of monitored models written straight into the warehouse.

For the exporter's tests, ``bench/bench_scrape.py`` and trying the dashboards locally
without running the monitors: the rows have the shapes and value ranges the monitors
write (drift shares in [0, 1], accuracies near 0.9, daily row counts, cumulative
latency buckets), and are deterministic for a given ``seed``.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from monitoring_assets.core import metrics as m
from monitoring_assets.core.ports import Warehouse
from monitoring_assets.core.tables import LATENCY_HISTOGRAM, MONITOR_METRICS, PARTITION_LOG

LATENCY_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, math.inf)


@dataclass(frozen=True)
class DayValues:
    """Headline numbers of one model on one day; ``None`` leaves a metric unwritten."""

    drift_score: float = 0.1
    feature_drift: Sequence[float] = ()
    missing_share: Sequence[float] = ()
    accuracy: float | None = 0.9
    estimated_accuracy: float | None = 0.9
    label_coverage: float | None = 1.0
    rows: int = 2000
    latency_mean_seconds: float = 0.04
    extra: dict[str, float] = field(default_factory=dict)


#: The live stream window the synthetic fleet reports besides its batch days.
STREAM_WINDOW = "1h"


def feature_names(n: int) -> list[str]:
    return [f"f{i:02d}" for i in range(n)]


def write_day(
    warehouse: Warehouse,
    model: str,
    version: str,
    day: dt.date,
    values: DayValues,
    features: Sequence[str],
    run_id: str = "synthetic",
    written_at: dt.datetime | None = None,
    drift_threshold: float = 0.1,
) -> None:
    """Write one day of one model to ``monitor_metrics``, ``latency_histogram`` and
    ``partition_log`` (each with delete-then-insert, like the monitors)."""
    frames = day_frames(model, version, day, values, features, run_id, written_at, drift_threshold)
    where = {"model": model, "partition_date": day}
    for table, frame in frames.items():
        warehouse.replace(table, frame, where)


def day_frames(
    model: str,
    version: str,
    day: dt.date,
    values: DayValues,
    features: Sequence[str],
    run_id: str = "synthetic",
    written_at: dt.datetime | None = None,
    drift_threshold: float = 0.1,
) -> dict[str, pd.DataFrame]:
    """The rows :func:`write_day` writes, by table name."""
    computed = (written_at or dt.datetime.now(dt.UTC)).replace(tzinfo=None)
    rows: list[dict] = []

    def put(metric: str, value: float, feature: str = "") -> None:
        rows.append(
            {
                "model": model,
                "model_version": version,
                "partition_date": day,
                "metric": metric,
                "feature": feature,
                "value": float(value),
                "run_id": run_id,
                "computed_at": computed,
            }
        )

    drifted = sum(1 for v in values.feature_drift if v >= drift_threshold)
    put(m.DRIFT_SCORE.name, values.drift_score)
    put(m.DRIFTED_FEATURES.name, float(drifted))
    for name, v in zip(features, values.feature_drift, strict=False):
        put(m.FEATURE_DRIFT_SCORE.name, v, name)
    for name, v in zip(features, values.missing_share, strict=False):
        put(m.MISSING_SHARE.name, v, name)
    if values.accuracy is not None:
        put(m.ACCURACY.name, values.accuracy)
        put(m.PRECISION.name, values.accuracy - 0.05)
        put(m.RECALL.name, values.accuracy - 0.1)
        put(m.F1.name, values.accuracy - 0.075)
    if values.estimated_accuracy is not None:
        put(m.ESTIMATED_ACCURACY.name, values.estimated_accuracy)
    if values.label_coverage is not None:
        put(m.LABEL_COVERAGE.name, values.label_coverage)
    put(m.INFERENCE_REQUESTS.name, float(values.rows))
    # a live stream window beside the batch day (the window's name in ``feature``)
    put(m.STREAM_DRIFT_SCORE.name, values.drift_score, STREAM_WINDOW)
    put(m.STREAM_DRIFTED_FEATURES.name, float(drifted), STREAM_WINDOW)
    put(m.STREAM_WINDOW_EVENTS.name, float(values.rows), STREAM_WINDOW)
    # two segments of the day (the segment in ``feature``), for the segment panels
    for segment, share in (("country=DE", 0.6), ("country=FR", 0.4)):
        put(m.SEGMENT_TRAFFIC_SHARE.name, share, segment)
        put(m.SEGMENT_DRIFT_SHARE.name, values.drift_score * share, segment)
        put(m.SEGMENT_PREDICTION_DRIFT_SCORE.name, values.drift_score, segment)
        put(m.SEGMENT_MISSING_SHARE.name, max(values.missing_share, default=0.0), segment)
    # the multivariate methods (models with a ``multivariate`` section)
    put(m.RECONSTRUCTION_ERROR.name, 4.0 + 10 * values.drift_score)
    put(m.RECONSTRUCTION_ERROR_THRESHOLD.name, 4.5)
    put(m.DOMAIN_CLASSIFIER_AUC.name, 0.5 + values.drift_score / 2)
    for metric, v in values.extra.items():
        put(metric, v)
    log = pd.DataFrame(
        [
            {
                "model": model,
                "asset": asset,
                "partition_date": day,
                "rows": values.rows,
                "run_id": run_id,
                "written_at": computed,
                "detail": "",
            }
            for asset in ("inference_logs", "data_drift", "model_performance")
        ]
    )
    return {
        MONITOR_METRICS.name: pd.DataFrame(rows),
        LATENCY_HISTOGRAM.name: latency_histogram(
            model, day, values.rows, values.latency_mean_seconds
        ),
        PARTITION_LOG.name: log,
    }


def latency_histogram(model: str, day: dt.date, rows: int, mean_seconds: float) -> pd.DataFrame:
    """Cumulative buckets of ``rows`` exponential latencies with mean ``mean_seconds``."""
    out = []
    for le in LATENCY_BUCKETS:
        share = 1.0 if math.isinf(le) else 1.0 - math.exp(-le / mean_seconds)
        out.append(
            {
                "model": model,
                "partition_date": day,
                "le": le,
                "count": int(round(rows * share)),
                "sum_seconds": rows * mean_seconds,
            }
        )
    return pd.DataFrame(out)


def write_fleet(
    warehouse: Warehouse,
    n_models: int,
    n_features: int,
    days: int,
    end: dt.date,
    seed: int = 0,
) -> list[str]:
    """Write ``days`` days (ending at ``end``) for ``n_models`` healthy-ish models with
    ``n_features`` features each, one transaction per model and table; returns the
    model names."""
    rng = random.Random(seed)
    features = feature_names(n_features)
    models = [f"model_{i:02d}" for i in range(n_models)]
    start = end - dt.timedelta(days=days - 1)
    for model in models:
        per_table: dict[str, list[pd.DataFrame]] = {}
        for k in range(days):
            values = DayValues(
                drift_score=rng.uniform(0.0, 0.3),
                feature_drift=[rng.uniform(0.0, 0.15) for _ in features],
                missing_share=[rng.uniform(0.0, 0.02) for _ in features],
                accuracy=rng.uniform(0.86, 0.93),
                estimated_accuracy=rng.uniform(0.86, 0.93),
                label_coverage=1.0,
                rows=rng.randint(1500, 2500),
                latency_mean_seconds=rng.uniform(0.02, 0.08),
            )
            day = start + dt.timedelta(days=k)
            for table, frame in day_frames(model, "v1", day, values, features).items():
                per_table.setdefault(table, []).append(frame)
        for table, frames in per_table.items():
            warehouse.replace(
                table,
                pd.concat(frames, ignore_index=True),
                {"model": model, "partition_date": (start, end)},
            )
    return models
