"""One day's performance, realized and estimated, as warehouse rows and headline metrics.

- :func:`measure_day`: a day's predictions (scored by the day's champion, see
  :func:`~monitoring_assets.core.performance.references.scored_day`) joined with that
  day's labels; realized metrics when label coverage reaches ``min_label_coverage``, a
  labelled partial result otherwise, and the concept-drift test (realized errors against
  the label-free estimate's on the same rows, see
  :func:`~monitoring_assets.core.performance.concept_drift.realized_vs_estimated`).
  ``labels_pending`` when no labels are in and none are due.
- :func:`estimate_day`: CBPE from the day's probabilities, available on the day itself.

:func:`measure_range` / :func:`estimate_range` run a (backfill) range and write it with
one :class:`~monitoring_assets.core.performance.store.RangeWriter`, and make sure the
version's calibrated bands for each day's size are in ``performance_bands``
(:class:`~monitoring_assets.core.performance.bands.BandStore`) for the checks to read.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from monitoring_assets.core import metrics as families
from monitoring_assets.core.config import ModelConfig
from monitoring_assets.core.day_profiles import MonitorInputError
from monitoring_assets.core.performance.cbpe import EstimatedPerformance
from monitoring_assets.core.performance.concept_drift import (
    ConceptDriftResult,
    realized_vs_estimated,
)
from monitoring_assets.core.performance.labels import (
    LABEL,
    PREDICTION,
    PROBABILITY,
    join_model_labels,
)
from monitoring_assets.core.performance.metrics import PerformanceReport, evaluate_day
from monitoring_assets.core.performance.references import (
    VersionReference,
    VersionReferences,
    scored_day,
)
from monitoring_assets.core.performance.store import (
    RangeWriter,
    days_to_estimate,
    days_to_measure,
    now,
)
from monitoring_assets.core.performance.windows import calibrate_window_bands
from monitoring_assets.core.ports import Lake, Warehouse
from monitoring_assets.core.tables import CONCEPT_DRIFT_TABLE, ESTIMATED_TABLE, PERFORMANCE_TABLE

MODEL_PERFORMANCE = "model_performance"
ESTIMATED_PERFORMANCE = "estimated_performance"

#: Headline metric (the Prometheus family in ``monitor_metrics``) -> attribute of Metrics.
REALIZED_METRICS = {
    families.ACCURACY.name: "accuracy",
    families.PRECISION.name: "precision",
    families.RECALL.name: "recall",
    families.F1.name: "f1",
    families.ROC_AUC.name: "roc_auc",
    families.CALIBRATION_ERROR.name: "calibration_error",
}

#: The realized metrics stored per day (``model_performance`` columns and UI metadata).
METRIC_COLUMNS = (
    "accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "log_loss",
    "calibration_error",
)


@dataclass(frozen=True)
class RealizedDay:
    """A day's realized performance: its ``model_performance`` row and what produced it."""

    date: dt.date
    status: str
    scored_by: str
    reference: VersionReference
    report: PerformanceReport
    drift: ConceptDriftResult | None
    row: dict[str, Any]
    headline: dict[str, float | None]


@dataclass(frozen=True)
class EstimatedDay:
    """A day's label-free estimate: its ``estimated_performance`` row."""

    date: dt.date
    scored_by: str
    reference: VersionReference
    estimate: EstimatedPerformance
    row: dict[str, Any]
    headline: dict[str, float | None]


def performance_row(
    model: ModelConfig,
    date: dt.date,
    ref: VersionReference,
    scored_by: str,
    report: PerformanceReport,
    drift: ConceptDriftResult | None,
    status: str,
    run_id: str,
) -> dict[str, Any]:
    """One ``model_performance`` row (partial metrics are stored, labelled by ``status``)."""
    m = report.metrics or report.partial_metrics
    neg, pos = model.classes
    row: dict[str, Any] = {
        "model": model.name,
        "partition_date": date,
        "model_version": ref.version,
        "scored_by": scored_by,
        "status": status,
        "reason": report.reason,
        "n_predictions": report.n_predictions,
        "n_labeled": report.n_labeled,
        "label_coverage": report.coverage,
        "min_label_coverage": report.min_label_coverage,
        "predicted_negative": report.predicted_counts.get(neg, 0),
        "predicted_positive": report.predicted_counts.get(pos, 0),
        "label_negative": report.label_counts.get(neg, 0),
        "label_positive": report.label_counts.get(pos, 0),
        "reference_accuracy": ref.performance.accuracy,
        "reference_f1": ref.performance.f1,
        "issues": json.dumps([i.describe() for i in report.issues]),
        "notes": "; ".join(m.notes) if m else "",
        "run_id": run_id,
        "computed_at": now(),
    }
    for k in METRIC_COLUMNS:
        row[k] = getattr(m, k) if m else None
    row["positive_rate"] = report.predicted_positive_rate
    row["label_positive_rate"] = m.label_positive_rate if m else None
    for k in ("tn", "fp", "fn", "tp"):
        row[k] = getattr(m, k) if m else None
    ref_m = ref.performance
    full = report.metrics
    d = drift
    row.update(
        accuracy_drop=_diff(ref_m.accuracy, full.accuracy) if full else None,
        f1_drop=_diff(ref_m.f1, full.f1) if full else None,
        error_rate=full.error_rate if full else None,
        reference_error_rate=ref_m.error_rate,
        z_statistic=d.z_statistic if d else None,
        p_value=d.p_value if d else None,
        cohens_h=d.cohens_h if d else None,
        concept_drift=d.detected if d and d.computable else None,
        concept_drift_explanation=d.explanation if d else "not evaluated: metrics incomplete",
    )
    return row


def _diff(a: float | None, b: float | None) -> float | None:
    return a - b if a is not None and b is not None else None


def concept_drift_row(
    model: ModelConfig, date: dt.date, ref: VersionReference, d: ConceptDriftResult, run_id: str
) -> dict[str, Any]:
    """One ``concept_drift_tests`` row."""
    return {
        "model": model.name,
        "partition_date": date,
        "model_version": ref.version,
        "computable": d.computable,
        "n_rows": d.n,
        "observed_errors": d.observed_errors,
        "expected_errors": d.expected_errors,
        "expected_errors_std": d.expected_errors_std,
        "realized_accuracy": d.realized_accuracy,
        "estimated_accuracy": d.estimated_accuracy,
        "z_statistic": d.z_statistic,
        "p_value": d.p_value,
        "detected": d.detected,
        "explanation": d.explanation,
        "run_id": run_id,
        "computed_at": now(),
    }


def measure_day(
    model: ModelConfig,
    date: dt.date,
    inference: pd.DataFrame,
    labels: pd.DataFrame | None,
    label_state: str,
    ref: VersionReference,
    run_id: str,
) -> RealizedDay:
    """Realized performance of ``date``; ``label_state`` is the label log's ``arrived`` or
    ``pending`` for the day (``pending`` if it was never ingested)."""
    thr = model.thresholds.performance
    pending = (labels is None or len(labels) == 0) and label_state == "pending"
    inference, scored_by = scored_day(model, inference, ref)
    day = join_model_labels(model, inference, labels)
    report = evaluate_day(day, thr.min_label_coverage)
    drift = None
    if report.metrics is not None:
        lab = day.labeled()
        drift = realized_vs_estimated(
            lab[LABEL].to_numpy(dtype=float),
            lab[PREDICTION].to_numpy(dtype=float),
            lab[PROBABILITY].to_numpy(dtype=float),
            ref.cbpe,
            significance=thr.significance,
            min_gap=thr.concept_drift_min_gap,
        )
    status = "labels_pending" if pending and report.status == "no_labels" else report.status
    row = performance_row(model, date, ref, scored_by, report, drift, status, run_id)
    m = report.metrics
    headline = {name: (getattr(m, attr) if m else None) for name, attr in REALIZED_METRICS.items()}
    headline[families.LABEL_COVERAGE.name] = None if status == "labels_pending" else report.coverage
    return RealizedDay(date, status, scored_by, ref, report, drift, row, headline)


def estimate_day(
    model: ModelConfig, date: dt.date, inference: pd.DataFrame, ref: VersionReference, run_id: str
) -> EstimatedDay:
    """CBPE estimate of ``date`` with the calibration of the day's champion."""
    cols = model.columns
    inference, scored_by = scored_day(model, inference, ref)
    est = ref.cbpe.estimate(inference[cols.probability], inference[cols.prediction])
    ref_acc = ref.performance.accuracy
    drop = ref_acc - est.accuracy if est.accuracy is not None and ref_acc is not None else None
    row = {
        "model": model.name,
        "partition_date": date,
        "model_version": ref.version,
        "scored_by": scored_by,
        "n_predictions": est.n,
        "n_estimated": est.n_estimated,
        "estimated_accuracy": est.accuracy,
        "estimated_precision": est.precision,
        "estimated_recall": est.recall,
        "estimated_f1": est.f1,
        "estimated_accuracy_std": est.accuracy_std,
        "reference_accuracy": ref_acc,
        "estimated_accuracy_drop": drop,
        "notes": "; ".join(est.notes),
        "run_id": run_id,
        "computed_at": now(),
    }
    headline = {families.ESTIMATED_ACCURACY.name: est.accuracy}
    return EstimatedDay(date, scored_by, ref, est, row, headline)


def measure_range(
    model: ModelConfig,
    dates: Sequence[dt.date],
    lake: Lake,
    wh: Warehouse,
    refs: VersionReferences,
    run_id: str,
) -> list[RealizedDay]:
    """Measure every day of a run and write ``model_performance``, its headline metrics
    and the partition log, replacing those days."""
    writer = RangeWriter(wh, model, MODEL_PERFORMANCE, PERFORMANCE_TABLE, run_id)
    bands = refs.band_store(wh)
    days = []
    drift_rows = []
    for date, inference, labels, label_state in days_to_measure(lake, wh, model, dates):
        day = measure_day(model, date, inference, labels, label_state, refs.for_date(date), run_id)
        if day.report.metrics is not None:
            bands.get(day.reference.version, day.report.n_labeled)
        if day.drift is not None:
            drift_rows.append(concept_drift_row(model, date, day.reference, day.drift, run_id))
        writer.add(
            date, day.row, day.reference.version, day.headline, day.report.n_labeled, day.status
        )
        days.append(day)
    if days:
        wh.replace(
            CONCEPT_DRIFT_TABLE.name,
            pd.DataFrame(drift_rows, columns=list(CONCEPT_DRIFT_TABLE.columns)),
            {"model": model.name, "partition_date": sorted({d.date for d in days})},
        )
    writer.flush()
    calibrate_window_bands(
        wh,
        PERFORMANCE_TABLE,
        "n_labeled",
        dates,
        bands,
        "accuracy",
        lambda r: r["status"] == "complete",
    )
    return days


def estimate_range(
    model: ModelConfig,
    dates: Sequence[dt.date],
    lake: Lake,
    wh: Warehouse,
    refs: VersionReferences,
    run_id: str,
) -> list[EstimatedDay]:
    """Estimate every day of a run and write ``estimated_performance``, its headline
    metric and the partition log, replacing those days."""
    if not model.columns.probability:
        raise MonitorInputError(
            f"model {model.name!r} logs no probability column: CBPE cannot estimate",
            {"model": model.name},
        )
    writer = RangeWriter(wh, model, ESTIMATED_PERFORMANCE, ESTIMATED_TABLE, run_id)
    bands = refs.band_store(wh)
    days = []
    for date, inference in days_to_estimate(lake, model, dates):
        ref = refs.for_date(date)
        day = estimate_day(model, date, inference, ref, run_id)
        if day.estimate.n_estimated:
            bands.get(ref.version, day.estimate.n_estimated)
        writer.add(date, day.row, ref.version, day.headline, day.estimate.n_estimated)
        days.append(day)
    writer.flush()
    calibrate_window_bands(
        wh,
        ESTIMATED_TABLE,
        "n_estimated",
        dates,
        bands,
        "estimated_accuracy",
        lambda r: r["estimated_accuracy"] is not None,
    )
    return days
