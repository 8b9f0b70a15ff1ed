"""Every warehouse table, declared once: name, ordered columns (portable SQL types) and key.

The warehouses (DuckDB, Postgres) create what is missing from :data:`TABLES`; writers and
readers name a table through its constant here, never a string of their own.
"""

from monitoring_assets.core.ports import TableSpec
from monitoring_assets.core.profile_rows import PROFILE_ROW_COLUMNS

# Every run that touches a model partition leaves a row here; the demo scorecard,
# the Prometheus exporter and freshness alerts read it.
PARTITION_LOG = TableSpec(
    "partition_log",
    {
        "model": "VARCHAR",
        "asset": "VARCHAR",
        "partition_date": "DATE",
        "rows": "BIGINT",
        "run_id": "VARCHAR",
        "written_at": "TIMESTAMP",
        "detail": "VARCHAR",
    },
    key=("model", "asset", "partition_date"),
)

# The headline number of every monitor, one row per (model, partition, metric, feature):
# the Prometheus exporter, the demo scorecard and dashboards read this long table, so a
# new monitor shows up everywhere by writing here. ``feature`` is '' for model-level
# metrics. Metric names are the Prometheus family names declared in core/metrics.py.
MONITOR_METRICS = TableSpec(
    "monitor_metrics",
    {
        "model": "VARCHAR",
        "model_version": "VARCHAR",
        "partition_date": "DATE",
        "metric": "VARCHAR",
        "feature": "VARCHAR",
        "value": "DOUBLE",
        "run_id": "VARCHAR",
        "computed_at": "TIMESTAMP",
    },
    key=("model", "partition_date", "metric", "feature"),
)

# Cumulative bucket counts of logged inference latencies per model and day. ``le`` is
# the bucket's upper bound in seconds (+inf for the last bucket); ``count`` is how
# many requests of the day took at most ``le``; ``sum_seconds`` is the day's total
# latency, repeated on each bucket row (the exporter reads it from the +inf row).
LATENCY_HISTOGRAM = TableSpec(
    "latency_histogram",
    {
        "model": "VARCHAR",
        "partition_date": "DATE",
        "le": "DOUBLE",
        "count": "BIGINT",
        "sum_seconds": "DOUBLE",
    },
    key=("model", "partition_date", "le"),
)

SIMULATOR_TRUTH = TableSpec(
    "simulator_truth",
    {
        "model": "VARCHAR",
        "partition_date": "DATE",
        "events": "VARCHAR",
        "columns": "VARCHAR",
    },
    key=("model", "partition_date"),
)

FEATURE_PROFILES_TABLE = TableSpec(
    "feature_profiles",
    {"model": "VARCHAR", "partition_date": "DATE", **PROFILE_ROW_COLUMNS},
)

REFERENCE_PROFILES_TABLE = TableSpec(
    "reference_profiles",
    {
        "model": "VARCHAR",
        "model_version": "VARCHAR",
        "source_digest": "VARCHAR",
        **PROFILE_ROW_COLUMNS,
    },
)

# Calibrated drift thresholds (monitoring_assets.core.calibration): one row per column
# and window size bucket, for one model version, reference file digest and calibration
# settings digest, so a rerun reads them back instead of recomputing. ``warn``/``error``
# are in the method's own units (NULL when ``mode`` is fixed; ``source`` says why).
DRIFT_THRESHOLDS_TABLE = TableSpec(
    "drift_thresholds",
    {
        "model": "VARCHAR",
        "model_version": "VARCHAR",
        "source_digest": "VARCHAR",
        "settings": "VARCHAR",
        "window_rows": "BIGINT",
        "column_name": "VARCHAR",
        "method": "VARCHAR",
        "mode": "VARCHAR",
        "warn": "DOUBLE",
        "error": "DOUBLE",
        "chunks": "BIGINT",
        "mean": "DOUBLE",
        "std": "DOUBLE",
        "source": "VARCHAR",
        "chunk_by": "VARCHAR",
        "window_chunks": "BIGINT",
        "window_reason": "VARCHAR",
        "computed_at": "TIMESTAMP",
    },
    key=("model", "model_version", "source_digest", "settings", "window_rows", "column_name"),
)

DRIFT_RESULTS_TABLE = TableSpec(
    "drift_results",
    {
        "model": "VARCHAR",
        "model_version": "VARCHAR",
        "partition_date": "DATE",
        "role": "VARCHAR",  # feature | prediction | target
        "column_name": "VARCHAR",
        "kind": "VARCHAR",
        "critical": "BOOLEAN",
        "method": "VARCHAR",
        "threshold": "DOUBLE",
        "score": "DOUBLE",
        "drifted": "BOOLEAN",
        "computable": "BOOLEAN",
        "reason": "VARCHAR",
        "exact": "BOOLEAN",
        "error_bound": "DOUBLE",
        "reference": "VARCHAR",
        "reference_rows": "BIGINT",
        "current_rows": "BIGINT",
        "threshold_error": "DOUBLE",
        "threshold_mode": "VARCHAR",
        "threshold_source": "VARCHAR",
        "window": "VARCHAR",
        "run_id": "VARCHAR",
        "computed_at": "TIMESTAMP",
    },
    key=("model", "partition_date", "role", "column_name"),
)

QUALITY_TABLE = TableSpec(
    "data_quality_findings",
    {
        "model": "VARCHAR",
        "model_version": "VARCHAR",
        "partition_date": "DATE",
        "rule": "VARCHAR",
        "column_name": "VARCHAR",
        "value": "DOUBLE",
        "status": "VARCHAR",
        "reason": "VARCHAR",
        "warn": "DOUBLE",
        "error": "DOUBLE",
        "run_id": "VARCHAR",
        "computed_at": "TIMESTAMP",
    },
    key=("model", "partition_date", "rule", "column_name"),
)

PERFORMANCE_TABLE = TableSpec(
    "model_performance",
    {
        "model": "VARCHAR",
        "partition_date": "DATE",
        "model_version": "VARCHAR",
        "scored_by": "VARCHAR",
        "status": "VARCHAR",
        "reason": "VARCHAR",
        "n_predictions": "BIGINT",
        "n_labeled": "BIGINT",
        "label_coverage": "DOUBLE",
        "min_label_coverage": "DOUBLE",
        "accuracy": "DOUBLE",
        "precision": "DOUBLE",
        "recall": "DOUBLE",
        "f1": "DOUBLE",
        "roc_auc": "DOUBLE",
        "log_loss": "DOUBLE",
        "calibration_error": "DOUBLE",
        "positive_rate": "DOUBLE",
        "label_positive_rate": "DOUBLE",
        "predicted_negative": "BIGINT",
        "predicted_positive": "BIGINT",
        "label_negative": "BIGINT",
        "label_positive": "BIGINT",
        "tn": "BIGINT",
        "fp": "BIGINT",
        "fn": "BIGINT",
        "tp": "BIGINT",
        "reference_accuracy": "DOUBLE",
        "reference_f1": "DOUBLE",
        "accuracy_drop": "DOUBLE",
        "f1_drop": "DOUBLE",
        "error_rate": "DOUBLE",
        "reference_error_rate": "DOUBLE",
        "z_statistic": "DOUBLE",
        "p_value": "DOUBLE",
        "cohens_h": "DOUBLE",
        "concept_drift": "BOOLEAN",
        "concept_drift_explanation": "VARCHAR",
        "issues": "VARCHAR",
        "notes": "VARCHAR",
        "run_id": "VARCHAR",
        "computed_at": "TIMESTAMP",
    },
    key=("model", "partition_date"),
)

ESTIMATED_TABLE = TableSpec(
    "estimated_performance",
    {
        "model": "VARCHAR",
        "partition_date": "DATE",
        "model_version": "VARCHAR",
        "scored_by": "VARCHAR",
        "n_predictions": "BIGINT",
        "n_estimated": "BIGINT",
        "estimated_accuracy": "DOUBLE",
        "estimated_precision": "DOUBLE",
        "estimated_recall": "DOUBLE",
        "estimated_f1": "DOUBLE",
        "estimated_accuracy_std": "DOUBLE",
        "reference_accuracy": "DOUBLE",
        "estimated_accuracy_drop": "DOUBLE",
        "notes": "VARCHAR",
        "run_id": "VARCHAR",
        "computed_at": "TIMESTAMP",
    },
    key=("model", "partition_date"),
)

RETRAINING_TABLE = TableSpec(
    "retraining_runs",
    {
        "model": "VARCHAR",
        "trigger": "VARCHAR",
        "run_id": "VARCHAR",
        "decision": "VARCHAR",
        "champion": "VARCHAR",
        "challenger": "VARCHAR",
        "metric": "VARCHAR",
        "champion_value": "DOUBLE",
        "challenger_value": "DOUBLE",
        "mcnemar_p_value": "DOUBLE",
        "n_holdout": "BIGINT",
        "training_start": "DATE",
        "training_end": "DATE",
        "holdout_start": "DATE",
        "holdout_end": "DATE",
        "effective_from": "DATE",
        "reason": "VARCHAR",
        "finished_at": "TIMESTAMP",
    },
    key=("model", "trigger"),
)

# The Prometheus exporter reads open alerts by tier from here (status 'firing'/'resolved').
# One row per episode; columns added later are added to older tables by AlertStore.migrate.
ALERTS = TableSpec(
    "alerts",
    {
        "alert_id": "VARCHAR",
        "fingerprint": "VARCHAR",
        "model": "VARCHAR",
        "model_version": "VARCHAR",
        "asset_key": "VARCHAR",
        "check_name": "VARCHAR",
        "partition_key": "VARCHAR",
        "severity": "VARCHAR",
        "tier": "VARCHAR",
        "status": "VARCHAR",
        "category": "VARCHAR",
        "channels": "VARCHAR",
        "owners": "VARCHAR",
        "muted": "BOOLEAN",
        "opened_at": "TIMESTAMP",
        "last_seen_at": "TIMESTAMP",
        "trigger_event_id": "BIGINT",
        "last_event_id": "BIGINT",
        "failures": "BIGINT",
        "resolved_at": "TIMESTAMP",
        "resolve_event_id": "BIGINT",
        "notified_at": "TIMESTAMP",
        "last_notified_at": "TIMESTAMP",
        "notify_count": "BIGINT",
        "notify_group": "VARCHAR",
        "resolve_notified": "BOOLEAN",
        "summary": "VARCHAR",
        "lineage": "VARCHAR",
        "action": "VARCHAR",
        # The episode (see core/alerts/episodes.py): partition_key is its latest failing
        # partition, failures its count of failing evaluations.
        "onset_partition": "VARCHAR",
        "failing_partitions": "BIGINT",
        "resolved_partition": "VARCHAR",
        "duration_days": "BIGINT",
        # '' paged as usual; 'pending' history awaiting its backfill summary; else that
        # summary's group id.
        "backfill_group": "VARCHAR",
        # JSON list of the alert's ranked causes (core/root_cause), best first.
        "causes": "VARCHAR",
    },
    key=("alert_id",),
)

# The newest evaluation per monitored condition, so a restart re-reading events is harmless.
ALERT_CHECK_STATE = TableSpec(
    "alert_check_state",
    {
        "fingerprint": "VARCHAR",
        "partition_key": "VARCHAR",
        "last_event_id": "BIGINT",
        "passed": "BOOLEAN",
    },
    key=("fingerprint",),
)

ALERT_OUTBOX = TableSpec(
    "alert_outbox",
    {
        "delivery_id": "VARCHAR",
        "group_id": "VARCHAR",
        "channel": "VARCHAR",
        "kind": "VARCHAR",
        "payload": "VARCHAR",
        "status": "VARCHAR",  # pending | delivered | failed
        "attempts": "BIGINT",
        "next_attempt_at": "TIMESTAMP",
        "last_error": "VARCHAR",
        "created_at": "TIMESTAMP",
        "delivered_at": "TIMESTAMP",
        "external_ref": "VARCHAR",
    },
    key=("delivery_id",),
)

ALERT_ACTIONS = TableSpec(
    "alert_actions",
    {
        "run_key": "VARCHAR",
        "kind": "VARCHAR",
        "model": "VARCHAR",
        "alert_id": "VARCHAR",
        "trigger_event_id": "BIGINT",
        "requested_at": "TIMESTAMP",
        "status": "VARCHAR",  # requested | cooldown | no_job
    },
    key=("run_key",),
)

# One row per channel that has failed: the current failure episode and whether the
# delivery meta-alert for it went out (``announced_group``), so it goes out once.
ALERT_CHANNEL_HEALTH = TableSpec(
    "alert_channel_health",
    {
        "channel": "VARCHAR",
        "status": "VARCHAR",  # failing | ok
        "failing_since": "TIMESTAMP",
        "last_failure_at": "TIMESTAMP",
        "last_error": "VARCHAR",
        "failures": "BIGINT",
        "tier": "VARCHAR",
        "announced_group": "VARCHAR",
        "recovered_at": "TIMESTAMP",
    },
    key=("channel",),
)

#: Every table by name.
TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (
        PARTITION_LOG,
        MONITOR_METRICS,
        LATENCY_HISTOGRAM,
        SIMULATOR_TRUTH,
        FEATURE_PROFILES_TABLE,
        REFERENCE_PROFILES_TABLE,
        DRIFT_THRESHOLDS_TABLE,
        DRIFT_RESULTS_TABLE,
        QUALITY_TABLE,
        PERFORMANCE_TABLE,
        ESTIMATED_TABLE,
        RETRAINING_TABLE,
        ALERTS,
        ALERT_CHECK_STATE,
        ALERT_OUTBOX,
        ALERT_ACTIONS,
        ALERT_CHANNEL_HEALTH,
    )
}

# ----------------------------------------------------------------------------- performance bands
# Calibrated performance bands: per model version and chunk size (a geometric size bucket),
# each metric's values over chunks of the version's validation split (``chunk_values``, a
# JSON list). The checks derive their band edges from these with the model's calibration
# rule. Written once per (version, bucket), re-read afterwards.
PERFORMANCE_BANDS_TABLE = TableSpec(
    "performance_bands",
    {
        "model": "VARCHAR",
        "model_version": "VARCHAR",
        "chunk_rows": "BIGINT",
        "metric": "VARCHAR",
        "chunking": "VARCHAR",  # time | rows | none
        "validation_rows": "BIGINT",
        "n_chunks": "BIGINT",
        "max_chunks": "BIGINT",
        "mean": "DOUBLE",
        "std": "DOUBLE",
        "chunk_values": "VARCHAR",
        "reason": "VARCHAR",
        "computed_at": "TIMESTAMP",
    },
    key=("model", "model_version", "chunk_rows", "metric"),
)

# The concept-drift test of each day: realized errors against the errors the label-free
# estimate expects on the same rows.
CONCEPT_DRIFT_TABLE = TableSpec(
    "concept_drift_tests",
    {
        "model": "VARCHAR",
        "partition_date": "DATE",
        "model_version": "VARCHAR",
        "computable": "BOOLEAN",
        "n_rows": "BIGINT",
        "observed_errors": "BIGINT",
        "expected_errors": "DOUBLE",
        "expected_errors_std": "DOUBLE",
        "realized_accuracy": "DOUBLE",
        "estimated_accuracy": "DOUBLE",
        "z_statistic": "DOUBLE",
        "p_value": "DOUBLE",
        "detected": "BOOLEAN",
        "explanation": "VARCHAR",
        "run_id": "VARCHAR",
        "computed_at": "TIMESTAMP",
    },
    key=("model", "partition_date"),
)

TABLES.update({t.name: t for t in (PERFORMANCE_BANDS_TABLE, CONCEPT_DRIFT_TABLE)})

# ----------------------------------------------------------------------------- other tasks
# Realized (``task_performance``) and label-free estimated (``task_estimated_performance``)
# performance of regression and multiclass models, one row per (day, metric, class):
# ``class_label`` is '' for model-level metrics. Each row carries the thresholds its check
# applies (``direction``: ``lower_is_better`` for losses, ``higher_is_better`` otherwise)
# and where they came from, so the checks read nothing else.
_TASK_COLUMNS = {
    "model": "VARCHAR",
    "partition_date": "DATE",
    "model_version": "VARCHAR",
    "task": "VARCHAR",
    "status": "VARCHAR",
    "reason": "VARCHAR",
    "metric": "VARCHAR",
    "class_label": "VARCHAR",
    "value": "DOUBLE",
    "reference_value": "DOUBLE",
    "n_rows": "BIGINT",
    "label_coverage": "DOUBLE",
    "direction": "VARCHAR",
    "warn_threshold": "DOUBLE",
    "error_threshold": "DOUBLE",
    "threshold_mode": "VARCHAR",
    "threshold_source": "VARCHAR",
    "notes": "VARCHAR",
    "run_id": "VARCHAR",
    "computed_at": "TIMESTAMP",
}
TASK_PERFORMANCE_TABLE = TableSpec(
    "task_performance",
    dict(_TASK_COLUMNS),
    key=("model", "partition_date", "metric", "class_label"),
)
TASK_ESTIMATED_TABLE = TableSpec(
    "task_estimated_performance",
    dict(_TASK_COLUMNS),
    key=("model", "partition_date", "metric", "class_label"),
)
TABLES.update({t.name: t for t in (TASK_PERFORMANCE_TABLE, TASK_ESTIMATED_TABLE)})

# ----------------------------------------------------------------------------- segments
# Per (day, segment) profiles of the inference logs (core/segments.py): the day profiles'
# rows with a ``segment`` key (``country=DE``), merged into a small segment's window.
SEGMENT_PROFILES_TABLE = TableSpec(
    "segment_profiles",
    {"model": "VARCHAR", "partition_date": "DATE", "segment": "VARCHAR", **PROFILE_ROW_COLUMNS},
)
# One row per (day, segment): its traffic share against the reference's, what judged it
# (the day or a window of days), drift (drifted share of features at the error level,
# prediction drift), worst missing share, the mix-shift test and the verdict.
SEGMENT_RESULTS_TABLE = TableSpec(
    "segment_results",
    {
        "model": "VARCHAR",
        "model_version": "VARCHAR",
        "partition_date": "DATE",
        "segment": "VARCHAR",
        "segment_column": "VARCHAR",
        "rows": "BIGINT",
        "window_rows": "BIGINT",
        "window": "VARCHAR",
        "share": "DOUBLE",
        "reference_share": "DOUBLE",
        "mix_z": "DOUBLE",
        "mix_shift": "BOOLEAN",
        "tested_features": "BIGINT",
        "drifted_features": "VARCHAR",
        "drift_share": "DOUBLE",
        "prediction_score": "DOUBLE",
        "prediction_threshold": "DOUBLE",
        "prediction_drifted": "BOOLEAN",
        "missing_share": "DOUBLE",
        "threshold_mode": "VARCHAR",
        "judged": "BOOLEAN",
        "drifted": "BOOLEAN",
        "reason": "VARCHAR",
        "run_id": "VARCHAR",
        "computed_at": "TIMESTAMP",
    },
    key=("model", "partition_date", "segment"),
)
TABLES.update({t.name: t for t in (SEGMENT_PROFILES_TABLE, SEGMENT_RESULTS_TABLE)})
# The segment root cause of each day's drift and accuracy change (core/segment_causes.py):
# the top segments with their share of the change, as JSON; that day's alerts carry them.
SEGMENT_CAUSES_TABLE = TableSpec(
    "segment_causes",
    {
        "model": "VARCHAR",
        "partition_date": "DATE",
        "kind": "VARCHAR",  # drift | performance
        "causes": "VARCHAR",
        "run_id": "VARCHAR",
    },
    key=("model", "partition_date", "kind"),
)
# Accuracy per (labelled day, segment) against the segment's reference accuracy
# (core/segment_performance.py): ``z`` is the drop in standard errors.
SEGMENT_PERFORMANCE_TABLE = TableSpec(
    "segment_performance",
    {
        "model": "VARCHAR",
        "partition_date": "DATE",
        "segment": "VARCHAR",
        "rows": "BIGINT",
        "accuracy": "DOUBLE",
        "reference_rows": "BIGINT",
        "reference_accuracy": "DOUBLE",
        "z": "DOUBLE",
        "dropped": "BOOLEAN",
        "run_id": "VARCHAR",
    },
    key=("model", "partition_date", "segment"),
)
TABLES.update({t.name: t for t in (SEGMENT_CAUSES_TABLE, SEGMENT_PERFORMANCE_TABLE)})

# ----------------------------------------------------------------------------- multivariate
# What the multivariate methods fitted on a model version's reference, kept so a rerun
# does not refit: per (model, version, reference file digest, settings digest, method),
# ``window_rows`` 0 holds the fit (JSON) and each day-size bucket its thresholds (JSON).
MULTIVARIATE_FITS_TABLE = TableSpec(
    "multivariate_fits",
    {
        "model": "VARCHAR",
        "model_version": "VARCHAR",
        "source_digest": "VARCHAR",
        "settings": "VARCHAR",
        "method": "VARCHAR",
        "window_rows": "BIGINT",
        "payload": "VARCHAR",
        "computed_at": "TIMESTAMP",
    },
    key=("model", "model_version", "source_digest", "settings", "method", "window_rows"),
)
# One row per (model, day, method): the statistic (mean reconstruction error, or the
# domain classifier's ROC AUC), its WARN/ERROR thresholds and where they came from.
# ``status``: computed | insufficient_data | not_computable (``reason`` says why).
MULTIVARIATE_RESULTS_TABLE = TableSpec(
    "multivariate_results",
    {
        "model": "VARCHAR",
        "model_version": "VARCHAR",
        "partition_date": "DATE",
        "method": "VARCHAR",
        "status": "VARCHAR",
        "rows": "BIGINT",
        "value": "DOUBLE",
        "reference_value": "DOUBLE",
        "threshold": "DOUBLE",
        "threshold_error": "DOUBLE",
        "threshold_mode": "VARCHAR",
        "threshold_source": "VARCHAR",
        "reason": "VARCHAR",
        "details": "VARCHAR",
        "reference": "VARCHAR",
        "run_id": "VARCHAR",
        "computed_at": "TIMESTAMP",
    },
    key=("model", "partition_date", "method"),
)
TABLES.update({t.name: t for t in (MULTIVARIATE_FITS_TABLE, MULTIVARIATE_RESULTS_TABLE)})
