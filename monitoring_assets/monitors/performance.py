"""Performance monitoring and retraining for one model: the Dagster shell.

Contributes, per model (see :func:`build_performance_monitor`):

- ``model_performance`` [daily]: a day's predictions joined with that day's labels
  (``ground_truth[D]`` holds the labels *of* day D's predictions, which arrive on
  D + ``label_delay_days``; the ``labels_<model>`` job re-materializes this asset when
  they are in, so the dependency is the same partition). Realized metrics when label
  coverage reaches ``min_label_coverage``, a labelled partial result otherwise, and the
  concept-drift test against the reference version's validation performance.
- ``estimated_performance`` [daily]: CBPE from the day's probabilities, available on
  day D itself; once labels arrive, estimate and realized value sit side by side.
- Checks, one evaluation per day even in a single-run range backfill:
  ``accuracy_above_floor`` (ERROR), ``accuracy_drop_within_limit``,
  ``label_coverage_sufficient``, ``calibration_error_within_limit``, ``concept_drift``,
  ``estimated_accuracy_drop_within_limit`` (WARN).
- ``retrain_<model>``: trains a challenger (idempotent per the ``driftwarden/trigger``
  run tag), compares it with the champion, promotes it or, with
  ``driftwarden/review=required``, stops at the ``human_review`` step.
  ``review_<model>`` applies the reviewer's decision.

Which version a partition is measured against comes from the model registry
(:meth:`ModelRegistry.champion_for`): after a promotion effective from day P, days
>= P use the new version's validation performance and CBPE calibration (and, when the
log does not say which version served a row, the new version's predictions); earlier
days keep their results.
"""

# No ``from __future__ import annotations`` here: Dagster reads the context and config
# annotations of asset and op functions at definition time.

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from monitoring_assets.core.checks import CheckDeclaration, CheckOutcome
from monitoring_assets.core.config import ModelConfig
from monitoring_assets.core.performance import (
    CBPE,
    ConceptDriftResult,
    Metrics,
    PerformanceReport,
    classification_metrics,
    error_rate_test,
    evaluate_day,
    join_labels,
)
from monitoring_assets.core.retraining import (
    RetrainOutcome,
    RetrainPolicy,
    retrain,
    review_decision,
    score,
)
from monitoring_assets.core.tables import ESTIMATED_TABLE, PERFORMANCE_TABLE, RETRAINING_TABLE
from monitoring_assets.monitors.daily_checks import daily_checks
from monitoring_assets.monitors.inference import ModelGraph, MonitorDefs, partition_dates
from monitoring_assets.scorecard import ScorecardColumn, register_column
from resources.lake import Lake, LakeResource
from resources.model_registry import ModelRegistry, ModelRegistryResource
from resources.warehouse import (
    MONITOR_METRICS,
    TableSpec,
    Warehouse,
    WarehouseResource,
)

# ----------------------------------------------------------------------------- names

MODEL_PERFORMANCE = "model_performance"
ESTIMATED_PERFORMANCE = "estimated_performance"

ACCURACY_ABOVE_FLOOR = "accuracy_above_floor"
ACCURACY_DROP_WITHIN_LIMIT = "accuracy_drop_within_limit"
LABEL_COVERAGE_SUFFICIENT = "label_coverage_sufficient"
CALIBRATION_ERROR_WITHIN_LIMIT = "calibration_error_within_limit"
CONCEPT_DRIFT = "concept_drift"
ESTIMATED_ACCURACY_DROP_WITHIN_LIMIT = "estimated_accuracy_drop_within_limit"

TRIGGER_TAG = "driftwarden/trigger"
REVIEW_TAG = "driftwarden/review"
AS_OF_TAG = "driftwarden/as_of"
EFFECTIVE_FROM_TAG = "driftwarden/effective_from"

# Headline metric name -> attribute of Metrics (Prometheus names, see MONITOR_METRICS).
REALIZED_METRICS = {
    "model_accuracy": "accuracy",
    "model_precision": "precision",
    "model_recall": "recall",
    "model_f1": "f1",
    "model_roc_auc": "roc_auc",
    "model_calibration_error": "calibration_error",
}

# ----------------------------------------------------------------------------- tables


def _now() -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC").tz_localize(None)


# ----------------------------------------------------------------------------- references


@dataclass(frozen=True)
class VersionReference:
    """What a partition is compared against: one model version's validation results."""

    version: str
    performance: Metrics
    cbpe: CBPE
    estimator: Any | None


def metrics_from_dict(d: dict[str, Any]) -> Metrics:
    """Rebuild :class:`Metrics` stored with ``Metrics.as_dict``."""
    return Metrics(**{**d, "notes": tuple(d.get("notes") or ())})


def _served_estimator(model: ModelConfig) -> Any | None:
    """The estimator the source says produced the logged predictions (simulator only)."""
    from resources.sources import build_source

    source = build_source(model)
    sim = getattr(source, "sim", None)
    return getattr(sim, "estimator", None)


def _validation_frame(model: ModelConfig, lake: Lake, version: str) -> pd.DataFrame:
    """The configured version's validation set (written by ``reference_data``)."""
    for dataset in ("validation", "reference"):
        path = lake.partition_dir(model.name, dataset, f"version={version}") / "part-0.parquet"
        if path.exists():
            frame = pq.read_table(path).to_pandas()
            cols = model.columns
            if cols.target in frame and cols.prediction in frame:
                return frame
    raise dg.Failure(
        description=(
            f"model {model.name!r} version {version!r}: no labeled validation or reference data "
            f"in the lake under {lake.dataset_dir(model.name, 'validation')}; materialize "
            f"{model.name}/reference_data first"
        )
    )


def ensure_registry(model: ModelConfig, registry: ModelRegistry, lake: Lake) -> None:
    """Register the configured version as the first champion, with its reference
    performance and CBPE calibration from its validation set (once)."""
    if registry.versions(model.name):
        if registry.get_json(model.name, model.version, "reference_performance") is not None:
            return
    val = _validation_frame(model, lake, model.version)
    cols = model.columns
    prob = val[cols.probability] if cols.probability and cols.probability in val else None
    perf = classification_metrics(
        val[cols.target].astype(int), val[cols.prediction].astype(int), prob, classes=model.classes
    )
    registry.ensure_initial(
        model.name,
        model.version,
        _served_estimator(model),
        effective_from=model.first_date,
        metrics={f"validation_{k}": v for k, v in perf.as_dict().items() if k != "notes"},
    )
    registry.put_json(model.name, model.version, "reference_performance", perf.as_dict())
    if prob is not None:
        cbpe = CBPE(model.classes).fit(val[cols.target].astype(int), prob)
        registry.put_json(model.name, model.version, "cbpe", cbpe.to_state())


class References:
    """Per-run cache of version references, resolved per partition through the registry."""

    def __init__(self, model: ModelConfig, registry: ModelRegistry, lake: Lake):
        self.model, self.registry, self.lake = model, registry, lake
        ensure_registry(model, registry, lake)
        self._cache: dict[str, VersionReference] = {}

    def version_for(self, date: dt.date) -> str:
        return self.registry.champion_for(self.model.name, date) or self.model.version

    def get(self, version: str) -> VersionReference:
        if version not in self._cache:
            perf = self.registry.get_json(self.model.name, version, "reference_performance")
            if perf is None:
                raise dg.Failure(
                    description=f"model {self.model.name!r} version {version!r} has no "
                    "reference_performance in the registry"
                )
            state = self.registry.get_json(self.model.name, version, "cbpe")
            cbpe = CBPE.from_state(state) if state else CBPE(self.model.classes, "none")
            estimator = None
            if version != self.model.version:
                estimator = self.registry.load_artifact(self.model.name, version)
            self._cache[version] = VersionReference(
                version, metrics_from_dict(perf), cbpe, estimator
            )
        return self._cache[version]

    def for_date(self, date: dt.date) -> VersionReference:
        return self.get(self.version_for(date))


def scored_day(
    model: ModelConfig, frame: pd.DataFrame, ref: VersionReference
) -> tuple[pd.DataFrame, str]:
    """The day's predictions as the partition's champion made them.

    Logged predictions are used when they came from that version (the configured
    version served them, or the log has a ``model_version`` column naming it).
    Otherwise the features are scored by the champion, as it would have served them.
    """
    cols = model.columns
    logged_version = None
    if "model_version" in frame and frame["model_version"].nunique() == 1:
        logged_version = str(frame["model_version"].iloc[0])
    if ref.version == (logged_version or model.version) or ref.estimator is None or len(frame) == 0:
        return frame, "logged"
    pred, prob = score(ref.estimator, frame[model.feature_names], model.classes)
    out = frame.copy()
    out[cols.prediction] = pred
    if cols.probability:
        out[cols.probability] = prob
    return out, f"rescored by {ref.version}"


# ----------------------------------------------------------------------------- rows


def _f(v: Any) -> float | None:
    return None if v is None or (isinstance(v, float) and np.isnan(v)) else float(v)


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
        "computed_at": _now(),
    }
    for k in ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss", "calibration_error"):
        row[k] = getattr(m, k) if m else None
    row["positive_rate"] = report.predicted_positive_rate
    row["label_positive_rate"] = m.label_positive_rate if m else None
    for k in ("tn", "fp", "fn", "tp"):
        row[k] = getattr(m, k) if m else None
    d = drift
    row.update(
        accuracy_drop=d.accuracy_drop if d else None,
        f1_drop=d.f1_drop if d else None,
        error_rate=d.current_error_rate if d else None,
        reference_error_rate=d.reference_error_rate if d else None,
        z_statistic=d.z_statistic if d else None,
        p_value=d.p_value if d else None,
        cohens_h=d.cohens_h if d else None,
        concept_drift=d.detected if d and d.computable else None,
        concept_drift_explanation=d.explanation if d else "not evaluated: metrics incomplete",
    )
    return row


class RangeWriter:
    """Collects one run's per-day rows and writes each table once at the end.

    Every table is replaced over the run's date range (delete-then-insert in one
    transaction), so reruns are idempotent, a failing day leaves nothing half-written,
    and a 365-day backfill opens a handful of connections instead of thousands.
    A metric that is not computable on a day is absent from ``monitor_metrics``, not 0.
    """

    def __init__(
        self, wh: Warehouse, model: ModelConfig, asset: str, table: TableSpec, run_id: str
    ):
        self.wh, self.model, self.asset, self.table, self.run_id = wh, model, asset, table, run_id
        self.rows: list[dict[str, Any]] = []
        self.metrics: list[dict[str, Any]] = []
        self.log: dict[dt.date, tuple[int, str]] = {}
        self.metric_names: set[str] = set()
        self.dates: list[dt.date] = []

    def add(
        self,
        date: dt.date,
        row: dict[str, Any],
        version: str,
        headline: dict[str, float | None],
        rows: int,
        detail: str = "",
    ) -> None:
        now = _now()
        self.dates.append(date)
        self.rows.append(row)
        self.metric_names.update(headline)
        for metric, value in headline.items():
            if value is not None and not (isinstance(value, float) and np.isnan(value)):
                self.metrics.append(
                    {
                        "model": self.model.name,
                        "model_version": version,
                        "partition_date": date,
                        "metric": metric,
                        "feature": "",
                        "value": float(value),
                        "run_id": self.run_id,
                        "computed_at": now,
                    }
                )
        self.log[date] = (int(rows), detail)

    def flush(self) -> None:
        if not self.dates:
            return
        days = sorted(set(self.dates))
        name = self.model.name
        self.wh.replace(
            self.table.name,
            pd.DataFrame(self.rows, columns=list(self.table.columns)),
            {"model": name, "partition_date": days},
        )
        metrics = pd.DataFrame(self.metrics, columns=list(MONITOR_METRICS.columns))
        for metric in sorted(self.metric_names):
            self.wh.replace(
                MONITOR_METRICS.name,
                metrics[metrics.metric == metric],
                {"model": name, "partition_date": days, "metric": metric},
            )
        self.wh.log_partitions(name, self.asset, self.log, self.run_id)


def _md_number(v: Any) -> dg.MetadataValue | str:
    return dg.MetadataValue.float(float(v)) if v is not None else "n/a"


# ----------------------------------------------------------------------------- builder


def build_performance_monitor(graph: ModelGraph) -> MonitorDefs:
    """``model_performance``, ``estimated_performance``, their checks, and the
    ``retrain_<model>`` / ``review_<model>`` jobs for one model."""
    model = graph.model
    thr = model.thresholds.performance
    cols = model.columns

    @dg.asset(
        key=graph.key(MODEL_PERFORMANCE),
        group_name=graph.group,
        partitions_def=graph.partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
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
            "test against the reference version. Below min_label_coverage the result is partial."
        ),
        kinds={"duckdb"},
        tags={"driftwarden/model": model.name},
        metadata={
            "label_delay_days": model.label_delay_days,
            "min_label_coverage": thr.min_label_coverage,
            "warehouse_table": PERFORMANCE_TABLE.name,
        },
    )
    def model_performance(
        context: dg.AssetExecutionContext,
        lake: LakeResource,
        warehouse: WarehouseResource,
        model_registry: ModelRegistryResource,
    ):
        store, wh, reg = lake.get(), warehouse.get(), model_registry.get()
        refs = References(model, reg, store)
        run_id = context.run.run_id
        gt_log = _ground_truth_log(wh, model.name)
        counts: dict[str, int] = {}
        writer = RangeWriter(wh, model, MODEL_PERFORMANCE, PERFORMANCE_TABLE, run_id)
        for date in partition_dates(context):
            inf = _read_day(store, model, "inference_logs", date)
            labels = (
                store.read_day(model.name, "ground_truth", date)
                if store.has_day(model.name, "ground_truth", date)
                else None
            )
            pending = (labels is None or len(labels) == 0) and gt_log.get(
                date, "pending"
            ) == "pending"
            ref = refs.for_date(date)
            inf, scored_by = scored_day(model, inf, ref)
            day = join_labels(
                inf,
                labels,
                classes=model.classes,
                id_column=cols.id,
                prediction_column=cols.prediction,
                probability_column=cols.probability,
                target_column=cols.target,
            )
            report = evaluate_day(day, thr.min_label_coverage)
            drift = (
                error_rate_test(
                    report.metrics,
                    ref.performance,
                    accuracy_drop=thr.accuracy_drop,
                    f1_drop=thr.f1_drop,
                    significance=thr.significance,
                )
                if report.metrics is not None
                else None
            )
            status = "labels_pending" if pending and report.status == "no_labels" else report.status
            counts[status] = counts.get(status, 0) + 1
            row = performance_row(model, date, ref, scored_by, report, drift, status, run_id)
            m = report.metrics
            headline = {
                name: (getattr(m, attr) if m else None) for name, attr in REALIZED_METRICS.items()
            }
            headline["ml_label_coverage"] = None if status == "labels_pending" else report.coverage
            writer.add(date, row, ref.version, headline, day.n_labeled, status)
            meta: dict[str, Any] = {
                "status": status,
                "model_version": ref.version,
                "scored_by": scored_by,
                "label_coverage": dg.MetadataValue.float(report.coverage),
                "n_labeled": dg.MetadataValue.int(report.n_labeled),
                "n_predictions": dg.MetadataValue.int(report.n_predictions),
                "reference_accuracy": _md_number(ref.performance.accuracy),
            }
            for k in (
                "accuracy",
                "precision",
                "recall",
                "f1",
                "roc_auc",
                "log_loss",
                "calibration_error",
            ):
                meta[k if m else f"partial_{k}"] = _md_number(row[k])
            if drift is not None:
                meta["concept_drift"] = drift.detected
                meta["error_rate_p_value"] = _md_number(drift.p_value)
                meta["cohens_h"] = _md_number(drift.cohens_h)
            if report.issues:
                meta["issues"] = dg.MetadataValue.md(
                    "\n".join(f"- {i.describe()}" for i in report.issues)
                )
            context.add_asset_metadata(meta, partition_key=date.isoformat())
        writer.flush()
        context.log.info(f"{model.name} model_performance: {counts}")
        return dg.MaterializeResult(metadata={"days_by_status": json.dumps(counts, sort_keys=True)})

    @dg.asset(
        key=graph.key(ESTIMATED_PERFORMANCE),
        group_name=graph.group,
        partitions_def=graph.partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
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
        tags={"driftwarden/model": model.name},
        metadata={"warehouse_table": ESTIMATED_TABLE.name, "method": "CBPE (isotonic calibration)"},
    )
    def estimated_performance(
        context: dg.AssetExecutionContext,
        lake: LakeResource,
        warehouse: WarehouseResource,
        model_registry: ModelRegistryResource,
    ):
        store, wh, reg = lake.get(), warehouse.get(), model_registry.get()
        refs = References(model, reg, store)
        run_id = context.run.run_id
        if not cols.probability:
            raise dg.Failure(
                description=f"model {model.name!r} logs no probability column: CBPE cannot estimate"
            )
        writer = RangeWriter(wh, model, ESTIMATED_PERFORMANCE, ESTIMATED_TABLE, run_id)
        for date in partition_dates(context):
            ref = refs.for_date(date)
            inf, scored_by = scored_day(model, _read_day(store, model, "inference_logs", date), ref)
            est = ref.cbpe.estimate(inf[cols.probability], inf[cols.prediction])
            ref_acc = ref.performance.accuracy
            drop = (
                ref_acc - est.accuracy if est.accuracy is not None and ref_acc is not None else None
            )
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
                "computed_at": _now(),
            }
            writer.add(
                date, row, ref.version, {"model_estimated_accuracy": est.accuracy}, est.n_estimated
            )
            context.add_asset_metadata(
                {
                    "estimated_accuracy": _md_number(est.accuracy),
                    "estimated_accuracy_std": _md_number(est.accuracy_std),
                    "estimated_f1": _md_number(est.f1),
                    "estimated_precision": _md_number(est.precision),
                    "estimated_recall": _md_number(est.recall),
                    "reference_accuracy": _md_number(ref_acc),
                    "model_version": ref.version,
                    "scored_by": scored_by,
                    "n_estimated": dg.MetadataValue.int(est.n_estimated),
                },
                partition_key=date.isoformat(),
            )
        writer.flush()
        return dg.MaterializeResult()

    perf_checks = daily_checks(
        name=f"{model.name}_performance_checks",
        asset_key=graph.key(MODEL_PERFORMANCE),
        partitions_def=graph.partitions_def,
        checks=[
            CheckDeclaration(ACCURACY_ABOVE_FLOOR, f"accuracy >= {thr.accuracy_floor} (ERROR)"),
            CheckDeclaration(
                ACCURACY_DROP_WITHIN_LIMIT,
                f"accuracy and F1 within {thr.accuracy_drop}/{thr.f1_drop} of the reference version",
            ),
            CheckDeclaration(
                LABEL_COVERAGE_SUFFICIENT,
                f"once labels have arrived, >= {thr.min_label_coverage} of predictions have one",
            ),
            CheckDeclaration(
                CALIBRATION_ERROR_WITHIN_LIMIT,
                f"expected calibration error <= {thr.max_calibration_error}",
            ),
            CheckDeclaration(
                CONCEPT_DRIFT,
                "error rate not significantly above the reference's (z-test) with a drop beyond limits",
            ),
        ],
        evaluate=lambda ctx, keys: _evaluate_performance(ctx, keys, model),
        required_resource_keys={"warehouse"},
    )
    est_checks = daily_checks(
        name=f"{model.name}_estimated_performance_checks",
        asset_key=graph.key(ESTIMATED_PERFORMANCE),
        partitions_def=graph.partitions_def,
        checks=[
            CheckDeclaration(
                ESTIMATED_ACCURACY_DROP_WITHIN_LIMIT,
                f"estimated accuracy within {thr.estimated_accuracy_drop} of the reference version",
            )
        ],
        evaluate=lambda ctx, keys: _evaluate_estimated(ctx, keys, model),
        required_resource_keys={"warehouse"},
    )

    register_column(ScorecardColumn("accuracy (est)", _accuracy_cells))
    register_column(ScorecardColumn("concept drift", _concept_cells))
    register_column(ScorecardColumn("retraining", _retraining_cells))

    return MonitorDefs(
        assets=[model_performance, estimated_performance],
        checks=[perf_checks, est_checks],
        jobs=[build_retrain_job(model), build_review_job(model)],
    )


def _read_day(store: Lake, model: ModelConfig, dataset: str, date: dt.date) -> pd.DataFrame:
    try:
        return store.read_day(model.name, dataset, date)
    except FileNotFoundError as exc:
        raise dg.Failure(
            description=f"{exc}; materialize {model.name}/{dataset} for {date} first",
            metadata={"partition": date.isoformat(), "model": model.name},
        ) from None


def _ground_truth_log(wh: Warehouse, model: str) -> dict[dt.date, str]:
    df = wh.query(
        "SELECT partition_date, detail FROM partition_log WHERE model = ? AND asset = 'ground_truth'",
        [model],
    )
    return {
        pd.Timestamp(d).date(): str(s) for d, s in zip(df.partition_date, df.detail, strict=True)
    }


# ----------------------------------------------------------------------------- checks


def _stored(
    ctx: dg.AssetCheckExecutionContext, table: str, model: str, keys: list[str]
) -> dict[str, dict]:
    if not keys:
        return {}
    wh: Warehouse = ctx.resources.warehouse.get()
    df = wh.query(
        f"SELECT * FROM {table} WHERE model = ? AND partition_date BETWEEN ? AND ?",
        [model, keys[0], keys[-1]],
    )
    out = {}
    for rec in df.to_dict("records"):
        rec = {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in rec.items()}
        out[pd.Timestamp(rec["partition_date"]).date().isoformat()] = rec
    return out


def performance_outcomes(row: dict[str, Any], model: ModelConfig) -> list[CheckOutcome]:
    """The five realized-performance checks of one stored ``model_performance`` row.

    Accuracy, drop, calibration and concept-drift checks need complete metrics; on other
    days they pass with a 'not evaluated' description, and ``label_coverage_sufficient``
    is the one that fails (unless the labels are simply not due yet).
    """
    thr = model.thresholds.performance
    status = row["status"]
    base = {"status": status, "model_version": row["model_version"]}
    if status != "complete":
        why = (
            "labels not arrived yet"
            if status == "labels_pending"
            else f"{status}: label coverage {row['label_coverage']:.3f} < {thr.min_label_coverage}"
        )
        skipped = [
            CheckOutcome(c, True, sev, f"not evaluated: {why}", base)
            for c, sev in (
                (ACCURACY_ABOVE_FLOOR, "ERROR"),
                (ACCURACY_DROP_WITHIN_LIMIT, "WARN"),
                (CALIBRATION_ERROR_WITHIN_LIMIT, "WARN"),
                (CONCEPT_DRIFT, "WARN"),
            )
        ]
        coverage_ok = status == "labels_pending"
        skipped.append(
            CheckOutcome(
                LABEL_COVERAGE_SUFFICIENT,
                coverage_ok,
                "WARN",
                why
                + (f"; issues: {row['issues']}" if row.get("issues") not in (None, "[]") else ""),
                {
                    **base,
                    "label_coverage": float(row["label_coverage"]),
                    "min_label_coverage": thr.min_label_coverage,
                },
            )
        )
        return skipped
    acc, ref_acc = row["accuracy"], row["reference_accuracy"]
    out = [
        CheckOutcome(
            ACCURACY_ABOVE_FLOOR,
            acc >= thr.accuracy_floor,
            "ERROR",
            f"accuracy {acc:.4f} vs floor {thr.accuracy_floor}",
            {**base, "accuracy": acc, "accuracy_floor": thr.accuracy_floor},
        ),
        CheckOutcome(
            LABEL_COVERAGE_SUFFICIENT,
            True,
            "WARN",
            f"label coverage {row['label_coverage']:.3f} >= {thr.min_label_coverage}",
            {
                **base,
                "label_coverage": float(row["label_coverage"]),
                "min_label_coverage": thr.min_label_coverage,
            },
        ),
    ]
    acc_drop, f1_drop = row["accuracy_drop"], row["f1_drop"]
    drop_ok = not (
        (acc_drop is not None and acc_drop > thr.accuracy_drop)
        or (f1_drop is not None and f1_drop > thr.f1_drop)
    )
    out.append(
        CheckOutcome(
            ACCURACY_DROP_WITHIN_LIMIT,
            drop_ok,
            "WARN",
            f"accuracy {acc:.4f} vs reference {ref_acc:.4f} (drop {acc_drop:+.4f}, limit "
            f"{thr.accuracy_drop}); F1 drop "
            + ("n/a" if f1_drop is None else f"{f1_drop:+.4f}")
            + f" (limit {thr.f1_drop})",
            {
                **base,
                "accuracy": acc,
                "reference_accuracy": ref_acc,
                "accuracy_drop": acc_drop,
                "accuracy_drop_limit": thr.accuracy_drop,
                **({"f1_drop": f1_drop} if f1_drop is not None else {}),
                "f1_drop_limit": thr.f1_drop,
            },
        )
    )
    ece = row["calibration_error"]
    out.append(
        CheckOutcome(
            CALIBRATION_ERROR_WITHIN_LIMIT,
            ece is None or ece <= thr.max_calibration_error,
            "WARN",
            "calibration error not computable (no valid probabilities)"
            if ece is None
            else f"expected calibration error {ece:.4f} vs limit {thr.max_calibration_error}",
            {
                **base,
                "max_calibration_error": thr.max_calibration_error,
                **({"calibration_error": ece} if ece is not None else {}),
            },
        )
    )
    out.append(
        CheckOutcome(
            CONCEPT_DRIFT,
            not bool(row["concept_drift"]),
            "WARN",
            row["concept_drift_explanation"],
            {
                **base,
                "error_rate": row["error_rate"],
                "reference_error_rate": row["reference_error_rate"],
                "p_value": row["p_value"],
                "cohens_h": row["cohens_h"],
                "significance": thr.significance,
            },
        )
    )
    return out


def _evaluate_performance(ctx: dg.AssetCheckExecutionContext, keys, model: ModelConfig):
    rows = _stored(ctx, PERFORMANCE_TABLE.name, model.name, list(keys))
    for pk in keys:
        if pk in rows:
            for outcome in performance_outcomes(rows[pk], model):
                yield pk, outcome


def _evaluate_estimated(ctx: dg.AssetCheckExecutionContext, keys, model: ModelConfig):
    thr = model.thresholds.performance
    rows = _stored(ctx, ESTIMATED_TABLE.name, model.name, list(keys))
    for pk in keys:
        row = rows.get(pk)
        if row is None:
            continue
        drop = row["estimated_accuracy_drop"]
        if drop is None:
            yield (
                pk,
                CheckOutcome(
                    ESTIMATED_ACCURACY_DROP_WITHIN_LIMIT,
                    False,
                    "WARN",
                    f"no estimate: {row['notes']}",
                    {},
                ),
            )
            continue
        yield (
            pk,
            CheckOutcome(
                ESTIMATED_ACCURACY_DROP_WITHIN_LIMIT,
                drop <= thr.estimated_accuracy_drop,
                "WARN",
                f"estimated accuracy {row['estimated_accuracy']:.4f} vs reference "
                f"{row['reference_accuracy']:.4f} (drop {drop:+.4f}, limit {thr.estimated_accuracy_drop})",
                {
                    "estimated_accuracy": row["estimated_accuracy"],
                    "estimated_accuracy_std": row["estimated_accuracy_std"],
                    "reference_accuracy": row["reference_accuracy"],
                    "estimated_accuracy_drop": drop,
                    "estimated_accuracy_drop_limit": thr.estimated_accuracy_drop,
                    "model_version": row["model_version"],
                },
            ),
        )


# ----------------------------------------------------------------------------- retraining


class RetrainConfig(dg.Config):
    """How the challenger is trained and judged (see ``RetrainPolicy``)."""

    metric: str = "accuracy"
    min_improvement: float = 0.01
    window_days: int = 28
    holdout_days: int = 7
    require_significance: bool = False
    significance: float = 0.05


def labeled_window(
    model: ModelConfig, lake: Lake, wh: Warehouse, as_of: dt.date | None, window_days: int
) -> pd.DataFrame:
    """Labeled rows (features, target, ``partition_date``) of the most recent
    ``window_days`` days whose labels have arrived, up to ``as_of``."""
    log = _ground_truth_log(wh, model.name)
    days = sorted(d for d, s in log.items() if s == "arrived" and (as_of is None or d <= as_of))
    days = days[-window_days:]
    cols = model.columns
    frames = []
    for date in days:
        if not (
            lake.has_day(model.name, "inference_logs", date)
            and lake.has_day(model.name, "ground_truth", date)
        ):
            continue
        inf = lake.read_day(model.name, "inference_logs", date)
        lab = lake.read_day(model.name, "ground_truth", date)
        joined = join_labels(
            inf,
            lab,
            classes=model.classes,
            id_column=cols.id,
            prediction_column=cols.prediction,
            probability_column=cols.probability,
            target_column=cols.target,
        )
        good = joined.labeled()[["request_id", "label"]]
        rows = inf.assign(_id=inf[cols.id].astype(str)).merge(
            good, left_on="_id", right_on="request_id", suffixes=("", "_j")
        )
        rows[cols.target] = rows["label"].astype(int)
        frames.append(rows[[*model.feature_names, cols.target]].assign(partition_date=date))
    if not frames:
        return pd.DataFrame(columns=[*model.feature_names, cols.target, "partition_date"])
    return pd.concat(frames, ignore_index=True)


def _default_effective_from(wh: Warehouse, model: str, as_of: dt.date) -> dt.date:
    """The day after the newest monitored day: partitions already built keep their results."""
    df = wh.query(
        "SELECT max(partition_date) AS d FROM partition_log WHERE model = ? AND asset = 'inference_logs'",
        [model],
    )
    last = df.d.iloc[0] if len(df) else None
    newest = pd.Timestamp(last).date() if last is not None and not pd.isna(last) else as_of
    return max(newest, as_of) + dt.timedelta(days=1)


def retraining_row(outcome: RetrainOutcome, run_id: str, metric: str) -> dict[str, Any]:
    """One ``retraining_runs`` row."""
    c = outcome.comparison
    tw, hw = outcome.training_window, outcome.holdout_window
    return {
        "model": outcome.model,
        "trigger": outcome.trigger,
        "run_id": run_id,
        "decision": outcome.decision,
        "champion": outcome.champion,
        "challenger": outcome.challenger,
        "metric": metric,
        "champion_value": getattr(c.champion, metric) if c else None,
        "challenger_value": getattr(c.challenger, metric) if c else None,
        "mcnemar_p_value": c.mcnemar.p_value if c else None,
        "n_holdout": c.n_holdout if c else None,
        "training_start": tw[0] if tw else None,
        "training_end": tw[1] if tw else None,
        "holdout_start": hw[0] if hw else None,
        "holdout_end": hw[1] if hw else None,
        "effective_from": outcome.effective_from,
        "reason": outcome.reason,
        "finished_at": _now(),
    }


def build_retrain_job(model: ModelConfig) -> dg.JobDefinition:
    """``retrain_<model>``: train, compare, promote or stop at ``human_review``."""

    @dg.op(
        name=f"{model.name}_train_and_compare",
        required_resource_keys={"lake", "warehouse", "model_registry"},
        out={
            "promoted": dg.Out(str, is_required=False),
            "needs_review": dg.Out(str, is_required=False),
            "not_promoted": dg.Out(str, is_required=False),
        },
        tags={"driftwarden/model": model.name},
    )
    def train_and_compare(context: dg.OpExecutionContext, config: RetrainConfig):
        tags = context.run.tags
        trigger = tags.get(TRIGGER_TAG) or f"manual-{context.run_id}"
        review = tags.get(REVIEW_TAG, "").lower() == "required"
        store = context.resources.lake.get()
        wh = context.resources.warehouse.get()
        reg: ModelRegistry = context.resources.model_registry.get()
        ensure_registry(model, reg, store)
        as_of = dt.date.fromisoformat(tags[AS_OF_TAG]) if tags.get(AS_OF_TAG) else None
        window = labeled_window(model, store, wh, as_of, config.window_days)
        if len(window) == 0:
            raise dg.Failure(
                description=f"model {model.name!r}: no labeled days (ground_truth 'arrived') "
                f"{'up to ' + str(as_of) if as_of else ''} to retrain on"
            )
        last_labeled = pd.to_datetime(window["partition_date"]).dt.date.max()
        eff = (
            dt.date.fromisoformat(tags[EFFECTIVE_FROM_TAG])
            if tags.get(EFFECTIVE_FROM_TAG)
            else _default_effective_from(wh, model.name, last_labeled)
        )
        policy = RetrainPolicy(
            metric=config.metric,  # type: ignore[arg-type]
            min_improvement=config.min_improvement,
            window_days=config.window_days,
            holdout_days=config.holdout_days,
            require_significance=config.require_significance,
            significance=config.significance,
        )
        outcome = retrain(
            model=model.name,
            registry=reg,
            window=window,
            features=model.feature_names,
            target=model.columns.target,
            trigger=trigger,
            effective_from=eff,
            policy=policy,
            review=review,
            classes=model.classes,
        )
        if outcome.trained:
            row = retraining_row(outcome, context.run_id, config.metric)
            wh.replace(
                RETRAINING_TABLE.name,
                pd.DataFrame([row], columns=list(RETRAINING_TABLE.columns)),
                {"model": model.name, "trigger": trigger},
            )
        meta: dict[str, Any] = {
            "trigger": trigger,
            "decision": outcome.decision,
            "reason": outcome.reason,
            "champion": str(outcome.champion),
            "challenger": str(outcome.challenger),
        }
        if outcome.comparison is not None:
            for k, v in outcome.comparison.as_dict().items():
                if v is not None:
                    meta[k] = float(v)
        context.log.info(f"{model.name} retraining for trigger {trigger!r}: {outcome.reason}")
        out_name = {
            "promoted": "promoted",
            "pending_review": "needs_review",
        }.get(outcome.decision, "not_promoted")
        yield dg.Output(str(outcome.challenger), output_name=out_name, metadata=meta)

    @dg.op(name=f"{model.name}_human_review", tags={"driftwarden/model": model.name})
    def human_review(context: dg.OpExecutionContext, version: str) -> None:
        """Stop here: a person decides with the review job."""
        context.log.warning(
            f"{model.name} {version} is pending_review: launch review_{model.name} with "
            f"config {{version: {version}, approve: true|false}} to decide"
        )

    @dg.job(
        name=f"retrain_{model.name}",
        description=(
            f"Train a challenger for {model.name} on the most recent labeled window, compare it "
            "with the champion on the same holdout (metric deltas, McNemar), and promote it if "
            "better by the configured margin, or stop at human review when the run tag "
            f"{REVIEW_TAG}=required. Idempotent per {TRIGGER_TAG}."
        ),
        tags={"driftwarden/model": model.name},
    )
    def retrain_job():
        _promoted, needs_review, _not = train_and_compare()
        human_review(needs_review)

    return retrain_job


class ReviewConfig(dg.Config):
    """A reviewer's decision on a pending_review version."""

    version: str
    approve: bool
    reviewer: str = ""
    effective_from: str | None = None


def build_review_job(model: ModelConfig) -> dg.JobDefinition:
    """``review_<model>``: promote or reject a version waiting in ``pending_review``."""

    @dg.op(
        name=f"{model.name}_apply_review",
        required_resource_keys={"warehouse", "model_registry"},
        tags={"driftwarden/model": model.name},
    )
    def apply_review(context: dg.OpExecutionContext, config: ReviewConfig) -> str:
        reg: ModelRegistry = context.resources.model_registry.get()
        wh = context.resources.warehouse.get()
        eff = (
            dt.date.fromisoformat(config.effective_from)
            if config.effective_from
            else _default_effective_from(wh, model.name, dt.date.min + dt.timedelta(days=1))
        )
        status = review_decision(
            reg,
            model.name,
            config.version,
            approve=config.approve,
            effective_from=eff,
            reviewer=config.reviewer,
        )
        wh.execute(
            f"UPDATE {RETRAINING_TABLE.name} SET decision = ?, effective_from = ? "
            "WHERE model = ? AND challenger = ?",
            [
                "promoted" if config.approve else "rejected",
                eff if config.approve else None,
                model.name,
                config.version,
            ],
        )
        context.log.info(f"{model.name} {config.version}: {status} after review")
        return status

    @dg.job(
        name=f"review_{model.name}",
        description=f"Apply a reviewer's decision on a {model.name} version in pending_review.",
        tags={"driftwarden/model": model.name},
    )
    def review_job():
        apply_review()

    return review_job


# ----------------------------------------------------------------------------- scorecard


def _accuracy_cells(wh: Warehouse, model: ModelConfig, dates) -> dict[dt.date, str]:
    real = wh.query(
        "SELECT partition_date, status, accuracy, model_version FROM model_performance WHERE model = ?",
        [model.name],
    )
    est = wh.query(
        "SELECT partition_date, estimated_accuracy FROM estimated_performance WHERE model = ?",
        [model.name],
    )
    e = {
        pd.Timestamp(d).date(): a
        for d, a in zip(est.partition_date, est.estimated_accuracy, strict=True)
    }
    out: dict[dt.date, str] = {}
    for d, s, a, v in zip(
        real.partition_date, real.status, real.accuracy, real.model_version, strict=True
    ):
        date = pd.Timestamp(d).date()
        realized = f"{a:.3f}" if s == "complete" else ("pending" if s == "labels_pending" else s)
        est_txt = f"{e[date]:.3f}" if date in e and e[date] == e[date] else "-"
        out[date] = f"{realized} / est {est_txt} ({v})"
    for date, a in e.items():
        out.setdefault(date, f"- / est {a:.3f}")
    return out


def _concept_cells(wh: Warehouse, model: ModelConfig, dates) -> dict[dt.date, str]:
    df = wh.query(
        "SELECT partition_date, concept_drift, p_value, cohens_h, accuracy_drop FROM model_performance "
        "WHERE model = ? AND concept_drift",
        [model.name],
    )
    return {
        pd.Timestamp(d).date(): f"DRIFT drop {drop:+.3f} p={p:.1e} h={h:.2f}"
        for d, _, p, h, drop in df.itertuples(index=False)
    }


def _retraining_cells(wh: Warehouse, model: ModelConfig, dates) -> dict[dt.date, str]:
    df = wh.query(
        "SELECT decision, champion, challenger, champion_value, challenger_value, holdout_end, "
        "effective_from, trigger FROM retraining_runs WHERE model = ?",
        [model.name],
    )
    out: dict[dt.date, str] = {}
    for r in df.itertuples(index=False):
        text = (
            f"{r.challenger} {r.decision} ({r.champion} {r.champion_value:.3f} -> "
            f"{r.challenger_value:.3f}; trigger {r.trigger})"
        )
        when = (
            r.effective_from
            if r.decision == "promoted" and not pd.isna(r.effective_from)
            else r.holdout_end
        )
        date = pd.Timestamp(when).date()
        out[date] = f"{out[date]}; {text}" if date in out else text
    return out


def performance_resources(registry_root: str) -> dict[str, Any]:
    """Resources this monitor needs beyond the shared ones (``model_registry``)."""
    return {"model_registry": ModelRegistryResource(root=registry_root)}
