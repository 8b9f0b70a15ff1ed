"""One day of a regression or multiclass model: realized and estimated rows (see :mod:`.tasks`).

:func:`measure_task_range` writes ``task_performance`` (the ``model_performance`` asset of
these tasks), :func:`estimate_task_range` writes ``task_estimated_performance`` (their
``estimated_performance`` asset); both replace the run's days, with their headline
metrics in ``monitor_metrics`` and the partition log, through one
:class:`~monitoring_assets.core.performance.store.RangeWriter` each.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from monitoring_assets.core import metrics as families
from monitoring_assets.core.config import ModelConfig
from monitoring_assets.core.performance.daily import ESTIMATED_PERFORMANCE, MODEL_PERFORMANCE
from monitoring_assets.core.performance.multiclass import multiclass_metrics
from monitoring_assets.core.performance.regression import regression_metrics, residual_drift
from monitoring_assets.core.performance.store import (
    RangeWriter,
    days_to_estimate,
    days_to_measure,
    now,
)
from monitoring_assets.core.performance.tasks import (
    Checked,
    TaskReference,
    checked_metrics,
    task_threshold,
)
from monitoring_assets.core.ports import Lake, Warehouse
from monitoring_assets.core.tables import TASK_ESTIMATED_TABLE, TASK_PERFORMANCE_TABLE


@dataclass
class TaskDay:
    """A day's rows, status and headline numbers (one asset)."""

    date: dt.date
    status: str
    reason: str
    n_rows: int
    rows: list[dict[str, Any]] = field(default_factory=list)
    headline: dict[str, float | None] = field(default_factory=dict)

    def value(self, metric: str, class_label: str = "") -> float | None:
        for r in self.rows:
            if r["metric"] == metric and r["class_label"] == class_label:
                return r["value"]
        return None


class _Rows:
    """Builds a day's rows, attaching the thresholds of checked metrics."""

    def __init__(
        self,
        model: ModelConfig,
        ref: TaskReference,
        day: TaskDay,
        coverage: float | None,
        run_id: str,
    ):
        self.model, self.ref, self.day, self.coverage, self.run_id = (
            model,
            ref,
            day,
            coverage,
            run_id,
        )
        self.checks = {(c.metric, c.class_label): c for c in checked_metrics(model)}

    def add(
        self,
        metric: str,
        value: Any,
        class_label: str = "",
        notes: str = "",
        reference: float | None = None,
    ) -> None:
        v = (
            None
            if value is None or (isinstance(value, float) and np.isnan(value))
            else float(value)
        )
        check: Checked | None = self.checks.get((metric, class_label))
        row: dict[str, Any] = {
            "model": self.model.name,
            "partition_date": self.day.date,
            "model_version": self.ref.version,
            "task": self.model.task,
            "status": self.day.status,
            "reason": self.day.reason,
            "metric": metric,
            "class_label": class_label,
            "value": v,
            "reference_value": reference,
            "n_rows": self.day.n_rows,
            "label_coverage": self.coverage,
            "direction": check.direction if check else "",
            "warn_threshold": None,
            "error_threshold": None,
            "threshold_mode": "",
            "threshold_source": "",
            "notes": notes,
            "run_id": self.run_id,
            "computed_at": now(),
        }
        if check is not None:
            ref_value = self.ref.reference_value(check.band_metric)
            row["reference_value"] = ref_value
            if self.day.n_rows:
                band = self.ref.bands(self.day.n_rows).get(check.band_metric)
                warn = task_threshold(self.model, check, band, ref_value, "warn")
                err = task_threshold(self.model, check, band, ref_value, "error")
                row.update(
                    warn_threshold=warn.value,
                    error_threshold=err.value,
                    threshold_mode=warn.mode,
                    threshold_source=warn.source
                    if warn.mode == "fixed"
                    else f"{warn.source} (warn); {err.source} (error)",
                )
        self.day.rows.append(row)


def labelled_rows(
    model: ModelConfig, inference: pd.DataFrame, labels: pd.DataFrame | None
) -> tuple[pd.DataFrame, list[str]]:
    """The day's predictions with a valid label. As for binary models: labels of unknown
    ids are dropped, an id with conflicting labels stays unlabelled, and a label that is
    not a number (or, multiclass, not one of ``classes``) is left out."""
    cols = model.columns
    notes: list[str] = []
    if labels is None or len(labels) == 0:
        return inference.iloc[0:0].assign(_y=pd.Series(dtype=float)), notes
    lab = labels[[cols.id, cols.target]].drop_duplicates()
    conflicting = lab[cols.id].duplicated(keep=False)
    if conflicting.any():
        n_ids = lab.loc[conflicting, cols.id].nunique()
        notes.append(f"{n_ids} request(s) with conflicting labels left unlabelled")
        lab = lab[~conflicting]
    y = pd.to_numeric(lab[cols.target], errors="coerce")
    bad = y.isna() & lab[cols.target].notna()
    if model.task == "multiclass":
        bad |= y.notna() & ~y.isin(model.classes)
    if bad.any():
        notes.append(f"{int(bad.sum())} label(s) not valid for task {model.task} left out")
    lab = lab.assign(_y=y.where(~bad)).dropna(subset=["_y"])[[cols.id, "_y"]]
    merged = inference.merge(lab, on=cols.id, how="inner")
    return merged, notes


def measure_task_day(
    model: ModelConfig,
    date: dt.date,
    inference: pd.DataFrame,
    labels: pd.DataFrame | None,
    label_state: str,
    ref: TaskReference,
    run_id: str,
) -> TaskDay:
    """Realized rows of ``date`` (see :mod:`.tasks` for metrics and statuses)."""
    thr = model.thresholds.performance
    cols = model.columns
    lab, notes = labelled_rows(model, inference, labels)
    n_pred, n_lab = len(inference), len(lab)
    coverage = n_lab / n_pred if n_pred else 0.0
    if n_pred == 0:
        status, reason = "no_predictions", "no predictions on this day"
    elif n_lab == 0:
        pending = (labels is None or len(labels) == 0) and label_state == "pending"
        status = "labels_pending" if pending else "no_labels"
        reason = f"none of {n_pred} predictions has a valid label yet"
    elif coverage + 1e-12 < thr.min_label_coverage:
        status = "partial"
        reason = (
            f"label coverage {coverage:.3f} is below min_label_coverage "
            f"{thr.min_label_coverage:.3f}: metrics over the {n_lab} labelled rows only"
        )
    else:
        status, reason = "complete", f"label coverage {coverage:.3f}"
    day = TaskDay(date, status, reason, n_lab)
    rows = _Rows(model, ref, day, coverage, run_id)
    rows.add(
        "label_coverage", None if status == "labels_pending" else coverage, notes="; ".join(notes)
    )
    if n_lab:
        y = lab["_y"].to_numpy(dtype=float)
        pred = lab[cols.prediction].to_numpy(dtype=float)
        if model.task == "regression":
            _regression_rows(rows, model, ref, y, pred)
        else:
            _multiclass_rows(rows, model, ref, lab, y, pred)
    if status == "complete":
        day.headline = _headline(model, day)
    day.headline[families.LABEL_COVERAGE.name] = None if status == "labels_pending" else coverage
    return day


def _regression_rows(
    rows: _Rows, model: ModelConfig, ref: TaskReference, y: np.ndarray, pred: np.ndarray
) -> None:
    m = regression_metrics(y, pred)
    p = ref.performance
    notes = "; ".join(m.notes)
    for k in ("mae", "rmse", "mape", "r2", "mean_error"):
        rows.add(k, getattr(m, k), notes=notes, reference=getattr(p, k))
    d = residual_drift(pred - y, ref.residuals, model.thresholds.performance.significance)
    rows.add("residual_drift", d.statistic, notes=d.explanation)
    rows.add("residual_drift_p_value", d.p_value, notes=d.explanation)


def _multiclass_rows(
    rows: _Rows,
    model: ModelConfig,
    ref: TaskReference,
    lab: pd.DataFrame,
    y: np.ndarray,
    pred: np.ndarray,
) -> None:
    classes = list(model.classes or ())
    m = multiclass_metrics(y.astype("int64"), pred.astype("int64"), classes, ref.probabilities(lab))
    p = ref.performance
    notes = "; ".join(m.notes)
    for k in (
        "accuracy",
        "macro_precision",
        "macro_recall",
        "macro_f1",
        "weighted_precision",
        "weighted_recall",
        "weighted_f1",
        "macro_roc_auc",
    ):
        rows.add(k, getattr(m, k), notes=notes, reference=getattr(p, k))
    for c in classes:
        cm, pc = m.per_class[c], p.per_class[c]
        for k in ("precision", "recall", "f1", "roc_auc"):
            rows.add(k, getattr(cm, k), class_label=str(c), reference=getattr(pc, k))
        rows.add("support", cm.support, class_label=str(c))


def _headline(model: ModelConfig, day: TaskDay) -> dict[str, float | None]:
    if model.task == "regression":
        return {families.MAE.name: day.value("mae"), families.RMSE.name: day.value("rmse")}
    return {
        families.ACCURACY.name: day.value("accuracy"),
        families.PRECISION.name: day.value("macro_precision"),
        families.RECALL.name: day.value("macro_recall"),
        families.F1.name: day.value("macro_f1"),
        families.ROC_AUC.name: day.value("macro_roc_auc"),
    }


def estimate_task_day(
    model: ModelConfig, date: dt.date, inference: pd.DataFrame, ref: TaskReference, run_id: str
) -> TaskDay:
    """Label-free rows of ``date``: DLE (regression) or multiclass CBPE."""
    n = len(inference)
    if model.task == "multiclass" and ref.cbpe is None:
        day = TaskDay(
            date, "not_estimable", "the model logs no probability per class: no CBPE estimate", 0
        )
        _Rows(model, ref, day, None, run_id).add("estimated_accuracy", None)
        return day
    if n == 0:
        day = TaskDay(date, "no_predictions", "no predictions on this day", 0)
        _Rows(model, ref, day, None, run_id).add(
            "estimated_mae" if model.task == "regression" else "estimated_accuracy", None
        )
        return day
    if model.task == "regression":
        est = ref.dle.estimate(inference)
        day = TaskDay(
            date, "estimated", f"direct loss estimation on {est.n_estimated} rows", est.n_estimated
        )
        rows = _Rows(model, ref, day, None, run_id)
        rows.add("estimated_mae", est.mae, notes="; ".join(est.notes))
        rows.add("estimated_rmse", est.rmse, notes="; ".join(est.notes))
        day.headline = {
            families.ESTIMATED_MAE.name: est.mae,
            families.ESTIMATED_RMSE.name: est.rmse,
        }
        return day
    assert ref.cbpe is not None
    probs = ref.probabilities(inference)
    e = ref.cbpe.estimate(probs, inference[model.columns.prediction].to_numpy())
    day = TaskDay(date, "estimated", f"multiclass CBPE on {e.n_estimated} rows", e.n_estimated)
    rows = _Rows(model, ref, day, None, run_id)
    note = "; ".join(e.notes)
    rows.add("estimated_accuracy", e.accuracy, notes=note)
    rows.add("estimated_accuracy_std", e.accuracy_std, notes=note)
    rows.add("estimated_macro_f1", e.macro_f1, notes=note)
    for c, (prec, rec, f1) in e.per_class.items():
        rows.add("estimated_precision", prec, class_label=str(c))
        rows.add("estimated_recall", rec, class_label=str(c))
        rows.add("estimated_f1", f1, class_label=str(c))
    day.headline = {families.ESTIMATED_ACCURACY.name: e.accuracy}
    return day


def _write(writer: RangeWriter, ref: TaskReference, days: list[TaskDay]) -> list[TaskDay]:
    for day in days:
        for i, row in enumerate(day.rows):
            writer.add(
                day.date, row, ref.version, day.headline if i == 0 else {}, day.n_rows, day.status
            )
    writer.flush()
    return days


def measure_task_range(
    model: ModelConfig,
    dates: Sequence[dt.date],
    lake: Lake,
    wh: Warehouse,
    ref: TaskReference,
    run_id: str,
) -> list[TaskDay]:
    """Measure every day of a run and write ``task_performance``, replacing those days."""
    days = [
        measure_task_day(model, date, inference, labels, label_state, ref, run_id)
        for date, inference, labels, label_state in days_to_measure(lake, wh, model, dates)
    ]
    writer = RangeWriter(wh, model, MODEL_PERFORMANCE, TASK_PERFORMANCE_TABLE, run_id)
    return _write(writer, ref, days)


def estimate_task_range(
    model: ModelConfig,
    dates: Sequence[dt.date],
    lake: Lake,
    wh: Warehouse,
    ref: TaskReference,
    run_id: str,
) -> list[TaskDay]:
    """Estimate every day of a run and write ``task_estimated_performance``."""
    days = [
        estimate_task_day(model, date, inference, ref, run_id)
        for date, inference in days_to_estimate(lake, model, dates)
    ]
    writer = RangeWriter(wh, model, ESTIMATED_PERFORMANCE, TASK_ESTIMATED_TABLE, run_id)
    return _write(writer, ref, days)
