"""Performance monitoring of a regression or multiclass model (the Dagster shell around
:mod:`monitoring_assets.core.performance.task_daily`).

The same assets as a binary model's, with the task's metrics:

- ``model_performance`` [daily]: realized metrics once the day's labels are in —
  regression MAE, RMSE, MAPE, R², mean error and residual drift; multiclass accuracy,
  per-class and macro/weighted precision, recall, F1 and one-vs-rest ROC AUC — in
  ``task_performance``;
- ``estimated_performance`` [daily]: the label-free estimate on the day itself — MAE/RMSE
  by Direct Loss Estimation, or accuracy/F1 by multiclass CBPE — in
  ``task_estimated_performance``;
- their checks (:mod:`monitoring_assets.core.performance.task_checks`), one evaluation per day;
- the ``retrain_<model>`` and ``review_<model>`` jobs, which decline: there is no
  built-in trainer for these tasks.
"""

import json
from typing import Any

import dagster as dg

from monitoring_assets.core.performance.task_checks import evaluate_task, task_checks
from monitoring_assets.core.performance.task_daily import (
    ESTIMATED_PERFORMANCE,
    MODEL_PERFORMANCE,
    TaskDay,
    estimate_task_range,
    measure_task_range,
)
from monitoring_assets.core.performance.tasks import TaskReference
from monitoring_assets.core.tables import TASK_ESTIMATED_TABLE, TASK_PERFORMANCE_TABLE
from monitoring_assets.monitors.daily_checks import daily_checks
from monitoring_assets.monitors.failures import input_failures
from monitoring_assets.monitors.inference import ModelGraph, MonitorDefs, partition_dates
from monitoring_assets.monitors.retraining import MODEL_TAG, retraining_jobs

_RESOURCES = {"lake", "warehouse"}

_REALIZED = {
    "regression": "MAE, RMSE, MAPE (rows with target 0 left out), R², mean error (bias) and "
    "residual drift (KS against the validation residuals)",
    "multiclass": "accuracy, per-class and macro/weighted precision, recall and F1, and "
    "one-vs-rest ROC AUC when per-class probabilities are logged",
}
_ESTIMATED = {
    "regression": "MAE and RMSE by Direct Loss Estimation (models of |error| and error² "
    "fitted on the validation split from features and prediction)",
    "multiclass": "accuracy and F1 by multiclass CBPE (per-class isotonic calibration on the "
    "validation split)",
}


def build_task_performance_monitor(graph: ModelGraph) -> MonitorDefs:
    """``model_performance``, ``estimated_performance`` and their checks for a regression
    or multiclass model."""
    model = graph.model
    thr = model.thresholds.performance
    deps = [
        dg.AssetDep(graph.key("inference_logs"), partition_mapping=dg.IdentityPartitionMapping()),
        graph.key("reference_data"),
    ]

    @dg.asset(
        key=graph.key(MODEL_PERFORMANCE),
        group_name=graph.group,
        partitions_def=graph.partitions_def,
        backfill_policy=graph.backfill_policy,
        deps=[
            *deps,
            dg.AssetDep(graph.key("ground_truth"), partition_mapping=dg.IdentityPartitionMapping()),
        ],
        description=(
            f"Realized performance of {model.name} ({model.task}) per prediction day, once its "
            f"labels are in ({model.label_delay_days} day(s) later): {_REALIZED[model.task]}. "
            "Below min_label_coverage the result is partial."
        ),
        kinds={"duckdb"},
        tags={MODEL_TAG: model.name},
        metadata={
            "task": model.task,
            "label_delay_days": model.label_delay_days,
            "min_label_coverage": thr.min_label_coverage,
            "warehouse_table": TASK_PERFORMANCE_TABLE.name,
        },
        required_resource_keys=_RESOURCES,
    )
    def model_performance(context: dg.AssetExecutionContext):
        with input_failures():
            lake = context.resources.lake.get()
            days = measure_task_range(
                model,
                partition_dates(context),
                lake,
                context.resources.warehouse.get(),
                TaskReference(model, lake),
                context.run.run_id,
            )
        counts: dict[str, int] = {}
        for day in days:
            counts[day.status] = counts.get(day.status, 0) + 1
            context.add_asset_metadata(_metadata(day), partition_key=day.date.isoformat())
        context.log.info(f"{model.name} model_performance: {counts}")
        return dg.MaterializeResult(metadata={"days_by_status": json.dumps(counts, sort_keys=True)})

    @dg.asset(
        key=graph.key(ESTIMATED_PERFORMANCE),
        group_name=graph.group,
        partitions_def=graph.partitions_def,
        backfill_policy=graph.backfill_policy,
        deps=deps,
        description=(
            f"Label-free estimate of {model.name}'s performance per day: {_ESTIMATED[model.task]}; "
            "available on the day itself, beside the realized values once labels arrive."
        ),
        kinds={"duckdb"},
        tags={MODEL_TAG: model.name},
        metadata={"task": model.task, "warehouse_table": TASK_ESTIMATED_TABLE.name},
        required_resource_keys=_RESOURCES,
    )
    def estimated_performance(context: dg.AssetExecutionContext):
        with input_failures():
            lake = context.resources.lake.get()
            days = estimate_task_range(
                model,
                partition_dates(context),
                lake,
                context.resources.warehouse.get(),
                TaskReference(model, lake),
                context.run.run_id,
            )
        for day in days:
            context.add_asset_metadata(_metadata(day), partition_key=day.date.isoformat())
        return dg.MaterializeResult()

    checks = [
        daily_checks(
            name=f"{model.name}_{'estimated_' if est else ''}performance_checks",
            asset_key=graph.key(ESTIMATED_PERFORMANCE if est else MODEL_PERFORMANCE),
            partitions_def=graph.partitions_def,
            checks=task_checks(model, est),
            evaluate=lambda ctx, keys, est=est: evaluate_task(
                ctx.resources.warehouse.get(), model, list(keys), est
            ),
            required_resource_keys={"warehouse"},
        )
        for est in (False, True)
    ]
    return MonitorDefs(
        assets=[model_performance, estimated_performance],
        checks=checks,
        jobs=retraining_jobs(model),
    )


def _metadata(day: TaskDay) -> dict[str, Any]:
    """A day's model-level values as partition metadata (plotted across partitions)."""
    meta: dict[str, Any] = {"status": day.status, "n_rows": dg.MetadataValue.int(day.n_rows)}
    prefix = "" if day.status in ("complete", "estimated") else "partial_"
    for r in day.rows:
        if r["class_label"] == "" and r["value"] is not None:
            meta[(prefix if r["metric"] != "label_coverage" else "") + r["metric"]] = (
                dg.MetadataValue.float(float(r["value"]))
            )
    return meta
