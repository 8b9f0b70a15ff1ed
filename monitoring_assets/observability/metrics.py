"""The metric catalogue: every Prometheus name driftwarden exposes, in one place.

Monitors write their headline numbers to the warehouse table ``monitor_metrics``
under these names; the exporter, the alerting rules and the dashboards use the same
names, so a metric keeps one name from the asset to the Grafana panel.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Labels every model-level series carries; feature-level series add ``feature``.
MODEL_LABELS: tuple[str, ...] = ("model", "version")
FEATURE_LABELS: tuple[str, ...] = ("model", "version", "feature")

ALERT_TIERS: tuple[str, ...] = ("critical", "warning", "info")

METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


@dataclass(frozen=True)
class GaugeSpec:
    """A gauge read from ``monitor_metrics``: its name, help text and whether it is per feature."""

    name: str
    documentation: str
    per_feature: bool = False

    @property
    def labels(self) -> tuple[str, ...]:
        return FEATURE_LABELS if self.per_feature else MODEL_LABELS


GAUGES: dict[str, GaugeSpec] = {
    g.name: g
    for g in (
        GaugeSpec(
            "ml_model_drift_score",
            "Share of drifted features (dataset drift score), latest partition",
        ),
        GaugeSpec("ml_model_drifted_features", "Number of drifted features, latest partition"),
        GaugeSpec(
            "ml_feature_drift_score",
            "Per-feature drift statistic of the feature's drift method, latest partition",
            per_feature=True,
        ),
        GaugeSpec(
            "ml_data_missing_share",
            "Share of missing values per feature, latest partition",
            per_feature=True,
        ),
        GaugeSpec(
            "model_accuracy", "Realized accuracy against ground truth, latest labelled partition"
        ),
        GaugeSpec("model_precision", "Realized precision, latest labelled partition"),
        GaugeSpec("model_recall", "Realized recall, latest labelled partition"),
        GaugeSpec("model_f1", "Realized F1 score, latest labelled partition"),
        GaugeSpec(
            "model_estimated_accuracy",
            "Accuracy estimated without labels (confidence-based), latest partition",
        ),
        GaugeSpec("ml_label_coverage", "Share of predictions with ground truth, latest partition"),
    )
}

# ``monitor_metrics`` rows under this name are daily row counts; they are exposed as
# the counter below (summed over partitions), never as a gauge.
INFERENCE_REQUESTS_ROWS = "model_inference_requests"
INFERENCE_REQUESTS = "model_inference_requests"  # exposed as model_inference_requests_total
INFERENCE_DURATION = "model_inference_duration_seconds"

LAST_SUCCESS = "ml_monitoring_last_success_timestamp_seconds"
LATEST_PARTITION = "ml_monitoring_latest_partition_timestamp_seconds"
OPEN_ALERTS = "ml_alerts_open"

# The exporter's own health.
EXPORTER_WAREHOUSE_UP = "driftwarden_exporter_warehouse_up"
EXPORTER_SNAPSHOT_AGE = "driftwarden_exporter_snapshot_age_seconds"
EXPORTER_SNAPSHOT_TIMESTAMP = "driftwarden_exporter_snapshot_timestamp_seconds"
EXPORTER_READ_DURATION = "driftwarden_exporter_read_duration_seconds"
EXPORTER_READ_ERRORS = "driftwarden_exporter_read_errors"  # exposed with _total

# Names that a monitor may not use for a generic gauge: they are exposed otherwise.
RESERVED: frozenset[str] = frozenset(
    {
        INFERENCE_REQUESTS_ROWS,
        INFERENCE_DURATION,
        LAST_SUCCESS,
        LATEST_PARTITION,
        OPEN_ALERTS,
        EXPORTER_WAREHOUSE_UP,
        EXPORTER_SNAPSHOT_AGE,
        EXPORTER_SNAPSHOT_TIMESTAMP,
        EXPORTER_READ_DURATION,
        EXPORTER_READ_ERRORS,
    }
)
