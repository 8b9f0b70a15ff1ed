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

from typing import Any

import dagster as dg

from monitoring_assets.core.performance.scorecard import accuracy_cells, mae_cells
from monitoring_assets.core.performance.task_checks import evaluate_task, task_checks
from monitoring_assets.core.performance.task_daily import (
    TaskDay,
    estimate_task_range,
    measure_task_range,
)
from monitoring_assets.core.performance.tasks import TaskReference, task_reference
from monitoring_assets.core.tables import TASK_ESTIMATED_TABLE, TASK_PERFORMANCE_TABLE
from monitoring_assets.monitors.inference import ModelGraph, MonitorDefs
from monitoring_assets.monitors.performance_assets import (
    PerformanceAsset,
    performance_assets,
    performance_check_defs,
)
from monitoring_assets.monitors.retraining import retraining_jobs, served_estimator
from monitoring_assets.scorecard import ScorecardColumn, register_column

_RESOURCES = {"lake", "warehouse", "model_registry"}

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
    or multiclass model; adds the scorecard's column of the task's headline metric."""
    model = graph.model
    thr = model.thresholds.performance
    if model.task == "regression":
        register_column(ScorecardColumn("MAE (est)", mae_cells))
    else:
        register_column(ScorecardColumn("accuracy (est)", accuracy_cells))

    def reference(context: dg.AssetExecutionContext) -> TaskReference:
        res = context.resources
        return task_reference(
            model, res.lake.get(), res.model_registry.get(), served_estimator(model)
        )

    realized = PerformanceAsset(
        measure_task_range,
        f"Realized performance of {model.name} ({model.task}) per prediction day, once its "
        f"labels are in ({model.label_delay_days} day(s) later): {_REALIZED[model.task]}. "
        "Below min_label_coverage the result is partial.",
        {
            "task": model.task,
            "label_delay_days": model.label_delay_days,
            "min_label_coverage": thr.min_label_coverage,
            "warehouse_table": TASK_PERFORMANCE_TABLE.name,
        },
        _metadata,
    )
    estimated = PerformanceAsset(
        estimate_task_range,
        f"Label-free estimate of {model.name}'s performance per day: {_ESTIMATED[model.task]}; "
        "available on the day itself, beside the realized values once labels arrive.",
        {"task": model.task, "warehouse_table": TASK_ESTIMATED_TABLE.name},
        _metadata,
    )
    return MonitorDefs(
        assets=performance_assets(graph, realized, estimated, reference, _RESOURCES),
        checks=performance_check_defs(
            graph,
            (task_checks(model, False), lambda wh, keys: evaluate_task(wh, model, keys, False)),
            (task_checks(model, True), lambda wh, keys: evaluate_task(wh, model, keys, True)),
        ),
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
