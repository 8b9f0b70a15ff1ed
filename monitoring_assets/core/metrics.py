"""The metric catalogue: every Prometheus family driftwarden exposes, declared once.

Each :class:`MetricFamily` carries its name, type, help text and labels. Monitors (batch
and stream) write their headline numbers to the warehouse table ``monitor_metrics``
under a family's :attr:`~MetricFamily.name`; the exporter exposes them with that type,
help and labels; the Grafana generator and the alerting rules under ``deploy/`` name
them through the same constants. So a metric keeps one name from the asset to the
Grafana panel, and a writer never spells a metric name of its own.

It lives in the core because writers on every level use it: the monitors, the stream
consumer and the exporter, and core modules that name their headline numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from monitoring_assets.core.alerts.policy import TIERS

MetricType = Literal["gauge", "counter", "histogram"]

# Labels every model-level series carries; feature-level series add ``feature``, the
# stream's live-window series add ``window`` (``count_10000``, ``time_300s``).
MODEL_LABELS: tuple[str, ...] = ("model", "version")
FEATURE_LABELS: tuple[str, ...] = ("model", "version", "feature")
WINDOW_LABELS: tuple[str, ...] = ("model", "version", "window")
#: Per-segment series (core/segments.py): ``segment`` is ``country=DE``.
SEGMENT_LABELS: tuple[str, ...] = ("model", "version", "segment")

#: The ``tier`` label values of :data:`OPEN_ALERTS`: the alert policy's tiers.
ALERT_TIERS: tuple[str, ...] = tuple(TIERS)

#: What Prometheus accepts as a metric name.
METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


@dataclass(frozen=True)
class MetricFamily:
    """One Prometheus metric family.

    ``name`` is the family name (a counter is exposed with ``_total`` appended by the
    client library); ``monitor_metric`` says that monitors write it to ``monitor_metrics``
    under ``name`` and the exporter serves each series' latest partition. The third label
    of a monitor gauge (:attr:`detail_label`: ``feature`` or ``window``) is read from the
    ``feature`` column of ``monitor_metrics``.
    """

    name: str
    type: MetricType
    help: str
    labels: tuple[str, ...] = MODEL_LABELS
    monitor_metric: bool = False

    def __post_init__(self) -> None:
        if not METRIC_NAME.match(self.name):
            raise ValueError(f"metric name {self.name!r} is not a valid Prometheus name")

    @property
    def per_feature(self) -> bool:
        return "feature" in self.labels

    @property
    def detail_label(self) -> str | None:
        """The label after ``model`` and ``version``, if any (``feature`` or ``window``)."""
        return self.labels[2] if len(self.labels) == 3 and self.labels[:2] == MODEL_LABELS else None

    @property
    def documentation(self) -> str:
        """The help text (prometheus-client's word for it)."""
        return self.help


def _monitor_gauge(name: str, help: str, per_feature: bool = False) -> MetricFamily:
    labels = FEATURE_LABELS if per_feature else MODEL_LABELS
    return MetricFamily(name, "gauge", help, labels, monitor_metric=True)


# ----------------------------------------------------------------- written by the monitors

# Drift (batch).
DRIFT_SCORE = _monitor_gauge(
    "ml_model_drift_score", "Share of drifted features (dataset drift score), latest partition"
)
DRIFTED_FEATURES = _monitor_gauge(
    "ml_model_drifted_features", "Number of drifted features, latest partition"
)
FEATURE_DRIFT_SCORE = _monitor_gauge(
    "ml_feature_drift_score",
    "Per-feature drift statistic of the feature's drift method, latest partition",
    per_feature=True,
)
PREDICTION_DRIFT_SCORE = _monitor_gauge(
    "ml_prediction_drift_score",
    "Drift statistic of the prediction (or probability) column, latest partition",
)
TARGET_DRIFT_SCORE = _monitor_gauge(
    "ml_target_drift_score", "Drift statistic of the target column, latest labelled partition"
)

# Multivariate drift (opt-in: the model file's ``multivariate`` section).
RECONSTRUCTION_ERROR = _monitor_gauge(
    "ml_reconstruction_error",
    "Mean PCA reconstruction error of the day's rows (multivariate drift), latest partition",
)
RECONSTRUCTION_ERROR_THRESHOLD = _monitor_gauge(
    "ml_reconstruction_error_threshold",
    "WARN level of the mean reconstruction error for the day's size, latest partition",
)
DOMAIN_CLASSIFIER_AUC = _monitor_gauge(
    "ml_domain_classifier_auc",
    "ROC AUC of a classifier telling the day's rows from the reference's, latest partition",
)

# Data quality.
MISSING_SHARE = _monitor_gauge(
    "ml_data_missing_share", "Share of missing values per feature, latest partition", True
)

# Performance (realized against ground truth, and estimated without it).
ACCURACY = _monitor_gauge(
    "model_accuracy", "Realized accuracy against ground truth, latest labelled partition"
)
PRECISION = _monitor_gauge("model_precision", "Realized precision, latest labelled partition")
RECALL = _monitor_gauge("model_recall", "Realized recall, latest labelled partition")
F1 = _monitor_gauge("model_f1", "Realized F1 score, latest labelled partition")
ROC_AUC = _monitor_gauge("model_roc_auc", "Realized ROC AUC, latest labelled partition")
CALIBRATION_ERROR = _monitor_gauge(
    "model_calibration_error",
    "Expected calibration error of the probabilities, latest labelled partition",
)
ESTIMATED_ACCURACY = _monitor_gauge(
    "model_estimated_accuracy",
    "Accuracy estimated without labels (confidence-based), latest partition",
)
MAE = _monitor_gauge(
    "model_mae", "Realized mean absolute error (regression), latest labelled partition"
)
RMSE = _monitor_gauge(
    "model_rmse", "Realized root mean squared error (regression), latest labelled partition"
)
ESTIMATED_MAE = _monitor_gauge(
    "model_estimated_mae", "MAE estimated without labels (direct loss estimation), latest partition"
)
ESTIMATED_RMSE = _monitor_gauge(
    "model_estimated_rmse",
    "RMSE estimated without labels (direct loss estimation), latest partition",
)
LABEL_COVERAGE = _monitor_gauge(
    "ml_label_coverage", "Share of predictions with ground truth, latest partition"
)


# Segments (one series per segment, ``country=DE``; the ``feature`` column of
# monitor_metrics holds the segment).
def _segment_gauge(name: str, help: str) -> MetricFamily:
    return MetricFamily(name, "gauge", help, SEGMENT_LABELS, monitor_metric=True)


SEGMENT_DRIFT_SHARE = _segment_gauge(
    "ml_segment_drift_share", "Share of a segment's features drifted, latest partition"
)
SEGMENT_PREDICTION_DRIFT_SCORE = _segment_gauge(
    "ml_segment_prediction_drift_score",
    "Drift statistic of a segment's prediction (or probability) column, latest partition",
)
SEGMENT_TRAFFIC_SHARE = _segment_gauge(
    "ml_segment_traffic_share", "A segment's share of the day's rows, latest partition"
)
SEGMENT_MISSING_SHARE = _segment_gauge(
    "ml_segment_missing_share", "Largest missing share of a feature in a segment, latest partition"
)
SEGMENT_FAMILIES = (
    SEGMENT_DRIFT_SHARE,
    SEGMENT_PREDICTION_DRIFT_SCORE,
    SEGMENT_TRAFFIC_SHARE,
    SEGMENT_MISSING_SHARE,
)


# Streaming (live windows, one series per window; the partition is the day of the
# window's newest event; the ``feature`` column of monitor_metrics holds the window).
def _stream_gauge(name: str, help: str) -> MetricFamily:
    return MetricFamily(name, "gauge", help, WINDOW_LABELS, monitor_metric=True)


STREAM_DRIFT_SCORE = _stream_gauge(
    "ml_stream_drift_score", "Share of drifted features in the live window, latest evaluation"
)
STREAM_DRIFTED_FEATURES = _stream_gauge(
    "ml_stream_drifted_features", "Number of drifted features in the live window"
)
STREAM_WINDOW_EVENTS = _stream_gauge(
    "ml_stream_window_events", "Events in the live window at its latest evaluation"
)
STREAM_PREDICTION_DRIFT_SCORE = _stream_gauge(
    "ml_stream_prediction_drift_score", "Prediction drift statistic of the live window"
)

# Inference volume: ``monitor_metrics`` rows under this name are daily row counts; the
# exporter sums them into a counter (exposed as ``model_inference_requests_total``).
INFERENCE_REQUESTS = MetricFamily(
    "model_inference_requests",
    "counter",
    "Inference requests logged (rows of the daily inference partitions, summed)",
)

# ----------------------------------------------------------------- derived by the exporter

INFERENCE_DURATION = MetricFamily(
    "model_inference_duration_seconds",
    "histogram",
    "Logged inference latency in seconds, over all monitored partitions",
)
LAST_SUCCESS = MetricFamily(
    "ml_monitoring_last_success_timestamp_seconds",
    "gauge",
    "Unix time of the last successful monitoring write for the model (partition_log)",
    ("model",),
)
LATEST_PARTITION = MetricFamily(
    "ml_monitoring_latest_partition_timestamp_seconds",
    "gauge",
    "Unix time (midnight UTC) of the newest partition with batch monitoring metrics "
    "(stream series are not counted)",
    ("model",),
)
STREAM_LATEST_PARTITION = MetricFamily(
    "ml_stream_latest_partition_timestamp_seconds",
    "gauge",
    "Unix time (midnight UTC) of the newest event day the stream consumer evaluated",
    ("model",),
)
OPEN_ALERTS = MetricFamily(
    "ml_alerts_open",
    "gauge",
    "Open (firing) driftwarden alerts by tier; 0 when none or no alert table yet",
    ("model", "tier"),
)

# The exporter's own health.
EXPORTER_WAREHOUSE_UP = MetricFamily(
    "driftwarden_exporter_warehouse_up",
    "gauge",
    "1 if this scrape read the warehouse, 0 if it served the last good snapshot",
    (),
)
EXPORTER_READ_ERRORS = MetricFamily(
    "driftwarden_exporter_read_errors",
    "counter",
    "Scrapes that could not read the warehouse (locked by a writer, or failing)",
    (),
)
EXPORTER_SNAPSHOT_AGE = MetricFamily(
    "driftwarden_exporter_snapshot_age_seconds",
    "gauge",
    "Seconds since the served numbers were last known to match the warehouse "
    "(grows while a writer holds the warehouse)",
    (),
)
EXPORTER_SNAPSHOT_TIMESTAMP = MetricFamily(
    "driftwarden_exporter_snapshot_timestamp_seconds",
    "gauge",
    "Unix time at which the served snapshot was read from the warehouse",
    (),
)
EXPORTER_READ_DURATION = MetricFamily(
    "driftwarden_exporter_read_duration_seconds",
    "gauge",
    "Seconds the served snapshot took to read from the warehouse",
    (),
)

#: Every family, by name.
FAMILIES: dict[str, MetricFamily] = {
    f.name: f
    for f in (
        DRIFT_SCORE,
        DRIFTED_FEATURES,
        FEATURE_DRIFT_SCORE,
        PREDICTION_DRIFT_SCORE,
        TARGET_DRIFT_SCORE,
        RECONSTRUCTION_ERROR,
        RECONSTRUCTION_ERROR_THRESHOLD,
        DOMAIN_CLASSIFIER_AUC,
        MISSING_SHARE,
        ACCURACY,
        PRECISION,
        RECALL,
        F1,
        ROC_AUC,
        CALIBRATION_ERROR,
        ESTIMATED_ACCURACY,
        MAE,
        RMSE,
        ESTIMATED_MAE,
        ESTIMATED_RMSE,
        LABEL_COVERAGE,
        *SEGMENT_FAMILIES,
        STREAM_DRIFT_SCORE,
        STREAM_DRIFTED_FEATURES,
        STREAM_WINDOW_EVENTS,
        STREAM_PREDICTION_DRIFT_SCORE,
        INFERENCE_REQUESTS,
        INFERENCE_DURATION,
        LAST_SUCCESS,
        LATEST_PARTITION,
        STREAM_LATEST_PARTITION,
        OPEN_ALERTS,
        EXPORTER_WAREHOUSE_UP,
        EXPORTER_READ_ERRORS,
        EXPORTER_SNAPSHOT_AGE,
        EXPORTER_SNAPSHOT_TIMESTAMP,
        EXPORTER_READ_DURATION,
    )
}

#: The gauges monitors write to ``monitor_metrics`` (the exporter serves the latest value).
MONITOR_GAUGES: dict[str, MetricFamily] = {
    name: f for name, f in FAMILIES.items() if f.monitor_metric
}

#: The stream consumer's gauges: kept out of the batch freshness series.
STREAM_GAUGES: frozenset[str] = frozenset(
    f.name
    for f in (
        STREAM_DRIFT_SCORE,
        STREAM_DRIFTED_FEATURES,
        STREAM_WINDOW_EVENTS,
        STREAM_PREDICTION_DRIFT_SCORE,
    )
)

#: Names a monitor may not use for an undeclared gauge: they are exposed otherwise.
RESERVED: frozenset[str] = frozenset(name for name, f in FAMILIES.items() if not f.monitor_metric)
