"""Performance monitoring of one model: the Dagster shell around ``core.performance``.

Contributes, per model (see :func:`build_performance_monitor`):

- ``model_performance`` [daily]: a day's predictions joined with that day's labels
  (``ground_truth[D]`` holds the labels *of* day D's predictions, which arrive on
  D + ``label_delay_days``; the ``labels_<model>`` job re-materializes this asset when
  they are in, so the dependency is the same partition). Realized metrics when label
  coverage reaches ``min_label_coverage``, a labelled partial result otherwise, and the
  concept-drift test: realized errors against the label-free estimate's on the same rows
  (:func:`~monitoring_assets.core.performance.daily.measure_range`). It also makes sure
  the version's calibrated bands for the day's size are in ``performance_bands``.
- ``estimated_performance`` [daily]: CBPE from the day's probabilities, available on
  day D itself; once labels arrive, estimate and realized value sit side by side
  (:func:`~monitoring_assets.core.performance.daily.estimate_range`).
- Checks, one evaluation per day even in a single-run range backfill
  (:mod:`monitoring_assets.core.performance.checks`): ``accuracy_above_floor`` (ERROR),
  ``accuracy_drop_within_limit``, ``label_coverage_sufficient``,
  ``calibration_error_within_limit``, ``concept_drift``,
  ``estimated_accuracy_drop_within_limit`` (WARN). Accuracy and drop checks compare with
  bands calibrated on the version's validation split (or fixed thresholds, per
  ``thresholds.mode``); every result's metadata names its ``threshold``,
  ``threshold_mode`` and ``threshold_source``.
- The ``retrain_<model>`` and ``review_<model>`` jobs (:mod:`.retraining`).
- The scorecard's ``accuracy (est)``, ``concept drift`` and ``retraining`` columns.

Which version a day is measured against comes from the model registry
(:class:`~monitoring_assets.core.performance.references.VersionReferences`). Resources
come from the context: ``lake``, ``warehouse`` and ``model_registry`` (chosen in
``monitoring_assets.definitions``).
"""

# No ``from __future__ import annotations`` here: Dagster reads the context annotations
# of asset functions at definition time.

import json
from typing import Any

import dagster as dg

from monitoring_assets.core.performance.checks import (
    estimated_checks,
    evaluate_estimated,
    evaluate_performance,
    performance_checks,
)
from monitoring_assets.core.performance.daily import (
    ESTIMATED_PERFORMANCE,
    METRIC_COLUMNS,
    MODEL_PERFORMANCE,
    EstimatedDay,
    RealizedDay,
    estimate_range,
    measure_range,
)
from monitoring_assets.core.performance.references import VersionReferences
from monitoring_assets.core.performance.scorecard import (
    accuracy_cells,
    concept_drift_cells,
    retraining_cells,
)
from monitoring_assets.core.tables import (
    CONCEPT_DRIFT_TABLE,
    ESTIMATED_TABLE,
    PERFORMANCE_BANDS_TABLE,
    PERFORMANCE_TABLE,
)
from monitoring_assets.monitors.daily_checks import daily_checks
from monitoring_assets.monitors.failures import input_failures
from monitoring_assets.monitors.inference import ModelGraph, MonitorDefs, partition_dates
from monitoring_assets.monitors.retraining import (
    MODEL_TAG,
    retraining_jobs,
    served_estimator,
)
from monitoring_assets.monitors.task_performance import build_task_performance_monitor
from monitoring_assets.scorecard import ScorecardColumn, register_column

_RESOURCES = {"lake", "warehouse", "model_registry"}


def build_performance_monitor(graph: ModelGraph) -> MonitorDefs:
    """``model_performance``, ``estimated_performance``, their checks, and the
    ``retrain_<model>`` / ``review_<model>`` jobs for one model."""
    model = graph.model
    if not model.is_binary:
        return build_task_performance_monitor(graph)
    thr = model.thresholds.performance

    def references(context: dg.AssetExecutionContext) -> VersionReferences:
        res = context.resources
        return VersionReferences(
            model, res.model_registry.get(), res.lake.get(), served_estimator(model)
        )

    @dg.asset(
        key=graph.key(MODEL_PERFORMANCE),
        group_name=graph.group,
        partitions_def=graph.partitions_def,
        backfill_policy=graph.backfill_policy,
        deps=[
            dg.AssetDep(
                graph.key("inference_logs"), partition_mapping=dg.IdentityPartitionMapping()
            ),
            # ground_truth[D] holds the labels of D's predictions, arriving on D + delay.
            dg.AssetDep(graph.key("ground_truth"), partition_mapping=dg.IdentityPartitionMapping()),
            graph.key("reference_data"),
        ],
        description=(
            f"Realized performance of {model.name} per prediction day, once its labels are in "
            f"({model.label_delay_days} day(s) later): accuracy, precision, recall, F1, ROC AUC, "
            "log loss, calibration error, per-class counts, label coverage, and the concept-drift "
            "test (realized vs label-free estimated errors on the same rows). Below "
            "min_label_coverage the result is partial."
        ),
        kinds={"duckdb"},
        tags={MODEL_TAG: model.name},
        metadata={
            "label_delay_days": model.label_delay_days,
            "min_label_coverage": thr.min_label_coverage,
            "warehouse_table": PERFORMANCE_TABLE.name,
            "bands_table": PERFORMANCE_BANDS_TABLE.name,
            "concept_drift_table": CONCEPT_DRIFT_TABLE.name,
        },
        required_resource_keys=_RESOURCES,
    )
    def model_performance(context: dg.AssetExecutionContext):
        with input_failures():
            days = measure_range(
                model,
                partition_dates(context),
                context.resources.lake.get(),
                context.resources.warehouse.get(),
                references(context),
                context.run.run_id,
            )
        counts: dict[str, int] = {}
        for day in days:
            counts[day.status] = counts.get(day.status, 0) + 1
            context.add_asset_metadata(_realized_metadata(day), partition_key=day.date.isoformat())
        context.log.info(f"{model.name} model_performance: {counts}")
        return dg.MaterializeResult(metadata={"days_by_status": json.dumps(counts, sort_keys=True)})

    @dg.asset(
        key=graph.key(ESTIMATED_PERFORMANCE),
        group_name=graph.group,
        partitions_def=graph.partitions_def,
        backfill_policy=graph.backfill_policy,
        deps=[
            dg.AssetDep(
                graph.key("inference_logs"), partition_mapping=dg.IdentityPartitionMapping()
            ),
            graph.key("reference_data"),
        ],
        description=(
            f"Label-free estimate of {model.name}'s accuracy, precision, recall and F1 per day "
            "(confidence-based performance estimation from probabilities calibrated on the "
            "reference version's validation set); available on the day itself."
        ),
        kinds={"duckdb"},
        tags={MODEL_TAG: model.name},
        metadata={"warehouse_table": ESTIMATED_TABLE.name, "method": "CBPE (isotonic calibration)"},
        required_resource_keys=_RESOURCES,
    )
    def estimated_performance(context: dg.AssetExecutionContext):
        with input_failures():
            days = estimate_range(
                model,
                partition_dates(context),
                context.resources.lake.get(),
                context.resources.warehouse.get(),
                references(context),
                context.run.run_id,
            )
        for day in days:
            context.add_asset_metadata(_estimated_metadata(day), partition_key=day.date.isoformat())
        return dg.MaterializeResult()

    perf_checks = daily_checks(
        name=f"{model.name}_performance_checks",
        asset_key=graph.key(MODEL_PERFORMANCE),
        partitions_def=graph.partitions_def,
        checks=performance_checks(model),
        evaluate=lambda ctx, keys: evaluate_performance(ctx.resources.warehouse.get(), model, keys),
        required_resource_keys={"warehouse"},
    )
    est_checks = daily_checks(
        name=f"{model.name}_estimated_performance_checks",
        asset_key=graph.key(ESTIMATED_PERFORMANCE),
        partitions_def=graph.partitions_def,
        checks=estimated_checks(model),
        evaluate=lambda ctx, keys: evaluate_estimated(ctx.resources.warehouse.get(), model, keys),
        required_resource_keys={"warehouse"},
    )

    register_column(ScorecardColumn("accuracy (est)", accuracy_cells))
    register_column(ScorecardColumn("concept drift", concept_drift_cells))
    register_column(ScorecardColumn("retraining", retraining_cells))

    return MonitorDefs(
        assets=[model_performance, estimated_performance],
        checks=[perf_checks, est_checks],
        jobs=retraining_jobs(model),
    )


# ----------------------------------------------------------------------------- UI metadata


def _number(v: Any) -> dg.MetadataValue | str:
    return dg.MetadataValue.float(float(v)) if v is not None else "n/a"


def _realized_metadata(day: RealizedDay) -> dict[str, Any]:
    """A day's realized performance as partition metadata (plotted across partitions);
    below full coverage the metrics are named ``partial_<metric>``."""
    report, drift = day.report, day.drift
    meta: dict[str, Any] = {
        "status": day.status,
        "model_version": day.reference.version,
        "scored_by": day.scored_by,
        "label_coverage": dg.MetadataValue.float(report.coverage),
        "n_labeled": dg.MetadataValue.int(report.n_labeled),
        "n_predictions": dg.MetadataValue.int(report.n_predictions),
        "reference_accuracy": _number(day.reference.performance.accuracy),
    }
    for k in METRIC_COLUMNS:
        meta[k if report.metrics else f"partial_{k}"] = _number(day.row[k])
    if drift is not None:
        meta["concept_drift"] = drift.detected
        meta["concept_drift_p_value"] = _number(drift.p_value)
        meta["estimated_accuracy_same_rows"] = _number(drift.estimated_accuracy)
        meta["cohens_h"] = _number(drift.cohens_h)
    if report.issues:
        meta["issues"] = dg.MetadataValue.md("\n".join(f"- {i.describe()}" for i in report.issues))
    return meta


def _estimated_metadata(day: EstimatedDay) -> dict[str, Any]:
    """A day's CBPE estimate as partition metadata."""
    est = day.estimate
    return {
        "estimated_accuracy": _number(est.accuracy),
        "estimated_accuracy_std": _number(est.accuracy_std),
        "estimated_f1": _number(est.f1),
        "estimated_precision": _number(est.precision),
        "estimated_recall": _number(est.recall),
        "reference_accuracy": _number(day.reference.performance.accuracy),
        "model_version": day.reference.version,
        "scored_by": day.scored_by,
        "n_estimated": dg.MetadataValue.int(est.n_estimated),
    }
