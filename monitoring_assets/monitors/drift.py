"""Drift and data-quality monitor: the Dagster shell around :mod:`monitoring_assets.core`.

Per model, under the model's key prefix (all daily, single-run backfill policy):

- ``feature_profiles``: each day's mergeable profile of the features, the prediction and
  the probability (:func:`~monitoring_assets.core.day_profiles.profile_days`), stored in
  ``feature_profiles`` (delete-then-insert over the run's days).
- ``data_drift``: every feature of the day's window (the day alone unless ``window`` is
  set; see :meth:`~monitoring_assets.core.references.DriftReferences.drift`) against the
  day's reference
  (:class:`~monitoring_assets.core.references.DriftReferences`) by the model's
  :class:`~monitoring_assets.core.monitor.DriftMonitor`; per-feature rows in
  ``drift_results``, ``ml_model_drift_score`` / ``ml_model_drifted_features`` /
  ``ml_feature_drift_score`` in ``monitor_metrics``.
- ``prediction_drift``: the probability column (or the prediction when there is none);
  ``ml_prediction_drift_score``.
- ``data_quality``: see :mod:`monitoring_assets.monitors.quality`.
- ``target_drift``: see :mod:`monitoring_assets.monitors.target`.
- ``drift_report``: see :mod:`monitoring_assets.monitors.report`.

The first four are one multi-asset step (the profiles are computed once and feed the
other three); it can be subset, in which case stored profiles are reused. Checks record
one evaluation per day and check even in a range run
(:mod:`monitoring_assets.monitors.daily_checks`), judging the stored results with the
same rules a live calculation uses.
"""

import dataclasses
import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import dagster as dg

from monitoring_assets.core.checks import CheckDeclaration
from monitoring_assets.core.day_profiles import (
    load_day_profiles,
    profile_days,
    store_day_profiles,
    trailing_rows,
)
from monitoring_assets.core.day_segments import profile_days_with_segments
from monitoring_assets.core.monitor import (
    CRITICAL_FEATURES_NOT_DRIFTED,
    DRIFT_SHARE_BELOW_THRESHOLD,
    PREDICTION_DRIFT_BELOW_THRESHOLD,
    DriftResult,
    prediction_column,
)
from monitoring_assets.core.profile import DatasetProfile
from monitoring_assets.core.quality import day_quality
from monitoring_assets.core.references import DayDrift, DriftReferences
from monitoring_assets.core.results import (
    FEATURE,
    PREDICTION,
    PREDICTION_DRIFT_SCORE,
    column_metrics,
    drift_markdown,
    drift_metrics,
    drift_outcomes,
    drift_rows,
    found_cells,
    prediction_outcome,
    quality_metrics,
    quality_rows,
    replace_rows,
    stored_rows,
)
from monitoring_assets.core.segment_days import reference_frame
from monitoring_assets.core.segments import SegmentPlan, plan_segments, store_segment_profiles
from monitoring_assets.core.tables import (
    DRIFT_RESULTS_TABLE,
    FEATURE_PROFILES_TABLE,
    QUALITY_TABLE,
)
from monitoring_assets.monitors.daily_checks import daily_checks
from monitoring_assets.monitors.failures import input_failures
from monitoring_assets.monitors.inference import (
    ModelGraph,
    MonitorDefs,
    partition_dates,
    write_metrics,
)
from monitoring_assets.monitors.quality import (
    DATA_QUALITY,
    build_quality_checks,
    data_quality_spec,
    quality_metadata,
)
from monitoring_assets.monitors.report import (
    DRIFT_REPORT,
    build_drift_report,
    evidently_report_name,
)
from monitoring_assets.monitors.target import build_target_drift
from monitoring_assets.scorecard import ScorecardColumn, register_column
from resources.lake import LakeResource
from resources.warehouse import WarehouseResource

FEATURE_PROFILES = "feature_profiles"

#: Days a range run profiles, stores and judges at a time: a year's backfill holds one
#: batch's day profiles (and the trailing ones its windows reach), never all of them.
BATCH_DAYS = 31


def _batches(dates: Sequence[dt.date], size: int) -> list[list[dt.date]]:
    days = sorted(dates)
    return [days[i : i + size] for i in range(0, len(days), size)]


class _ProfiledDays(Mapping[dt.date, DatasetProfile]):
    """The day profiles of ``dates`` for :func:`store_day_profiles`: computed batch by
    batch as they are iterated (the write stays one transaction, the profiles are
    dropped once their rows are staged); each day's asset metadata is kept."""

    def __init__(
        self,
        lake: Any,
        model: Any,
        dates: Sequence[dt.date],
        plans: Sequence[SegmentPlan] = (),
    ):
        self.lake, self.model, self.dates = lake, model, sorted(dates)
        self.plans = list(plans)
        self.metadata: dict[dt.date, dict] = {}
        #: (day, segment) profiles of the days iterated, when the model has segments.
        self.segments: dict[tuple[dt.date, str], DatasetProfile] = {}

    def _profile(self, batch: Sequence[dt.date]) -> dict[dt.date, DatasetProfile]:
        if not self.plans:
            return profile_days(self.lake, self.model, batch)
        days, segments = profile_days_with_segments(self.lake, self.model, self.plans, batch)
        self.segments.update(segments)
        return days

    def __len__(self) -> int:
        return len(self.dates)

    def __iter__(self) -> Iterator[dt.date]:
        return iter(self.dates)

    def __getitem__(self, date: dt.date) -> DatasetProfile:
        if date not in self.dates:
            raise KeyError(date)
        return self._profile([date])[date]

    def items(self) -> Iterator[tuple[dt.date, DatasetProfile]]:  # type: ignore[override]
        for batch in _batches(self.dates, BATCH_DAYS):
            profiles = self._profile(batch)
            for d in batch:
                p = profiles.pop(d)
                self.metadata[d] = _profile_metadata(p)
                yield d, p


DATA_DRIFT = "data_drift"
PREDICTION_DRIFT = "prediction_drift"


def _specs(graph: ModelGraph) -> list[dg.AssetSpec]:
    model = graph.model
    pred_col = prediction_column(model)
    identity = dg.IdentityPartitionMapping()
    common: dict[str, Any] = dict(
        partitions_def=graph.partitions_def,
        group_name=graph.group,
        kinds={"duckdb"},
        tags={"driftwarden/model": model.name},
    )
    from_profiles = [
        dg.AssetDep(graph.key(FEATURE_PROFILES), partition_mapping=identity),
        graph.key("reference_data"),
    ]
    return [
        dg.AssetSpec(
            graph.key(FEATURE_PROFILES),
            deps=[dg.AssetDep(graph.key("inference_logs"), partition_mapping=identity)],
            description=(
                "Mergeable per-day profiles (counts, moments, value counts) of the features, "
                "prediction and probability, from one DuckDB pass over the inference logs."
            ),
            metadata={"warehouse_table": FEATURE_PROFILES_TABLE.name},
            **common,
        ),
        dg.AssetSpec(
            graph.key(DATA_DRIFT),
            deps=from_profiles,
            description=(
                f"Per-feature drift of {model.name} against the {model.reference.kind} reference "
                "with Evidently 0.7's methods; thresholds fixed (Evidently's) or calibrated on "
                f"the reference (thresholds.mode: {model.thresholds.mode}); dataset drift share."
            ),
            metadata={
                "warehouse_table": DRIFT_RESULTS_TABLE.name,
                "drift_share": model.thresholds.drift.drift_share,
            },
            **common,
        ),
        dg.AssetSpec(
            graph.key(PREDICTION_DRIFT),
            deps=from_profiles,
            description=f"Drift of the model output ({pred_col}) against the reference.",
            metadata={"warehouse_table": DRIFT_RESULTS_TABLE.name, "column": pred_col},
            **common,
        ),
        data_quality_spec(graph, graph.key(FEATURE_PROFILES)),
    ]


def _profile_metadata(p: DatasetProfile) -> dict:
    rounded = ", ".join(c.name for c in p.columns.values() if not c.exact)
    return {
        "rows": dg.MetadataValue.int(p.rows),
        "duplicate_ids": dg.MetadataValue.int(p.duplicate_ids or 0),
        "rounded_columns": rounded or "none",
    }


def _data_drift_metadata(result: DriftResult) -> dict:
    share = result.drift_share
    meta: dict[str, Any] = {
        "drifted_features": dg.MetadataValue.int(result.dataset.n_drifted),
        "tested_features": dg.MetadataValue.int(result.dataset.n_columns),
        "dataset_drift": result.dataset.dataset_drift,
        "reference": result.reference,
        "features": dg.MetadataValue.md(drift_markdown(result.features)),
    }
    if share is not None:
        meta["drift_share"] = dg.MetadataValue.float(share)
    ok = [r for r in result.features.values() if r.computable]
    calibrated = [r for r in ok if r.threshold_mode == "calibrated"]
    meta["thresholds"] = f"{len(calibrated)} of {len(ok)} tested features calibrated" + (
        f" ({calibrated[0].threshold_source})" if calibrated else ""
    )
    for name, r in result.features.items():
        if r.computable:
            meta[f"score/{name}"] = dg.MetadataValue.float(float(r.score))
            meta[f"threshold/{name}"] = dg.MetadataValue.float(float(r.threshold))  # type: ignore[arg-type]
            meta[f"threshold_mode/{name}"] = r.threshold_mode
            meta[f"threshold_source/{name}"] = r.threshold_source
        elif r.reason:
            meta[f"not_computable/{name}"] = r.reason
    return meta


def _window_metadata(day: DayDrift) -> dict:
    """What the judged data covered, and whether it was too little to judge."""
    meta: dict[str, Any] = {
        "window": day.window or "the day alone",
        "window_rows": dg.MetadataValue.int(day.rows),
        "insufficient_data": day.insufficient,
    }
    if day.insufficient:
        meta["insufficient_data_reason"] = day.result.prediction.reason or "too few rows"
    return meta


def _prediction_metadata(result: DriftResult) -> dict:
    r = result.prediction
    meta: dict[str, Any] = {
        "column": r.column,
        "method": r.method or "—",
        "drifted": bool(r.drifted),
        "reference": result.reference,
        "result": dg.MetadataValue.md(drift_markdown({r.column: r})),
    }
    if r.computable:
        meta["score"] = dg.MetadataValue.float(float(r.score))
        meta["threshold"] = dg.MetadataValue.float(float(r.threshold))  # type: ignore[arg-type]
        if r.threshold_error is not None:
            meta["threshold_error"] = dg.MetadataValue.float(float(r.threshold_error))
        meta["threshold_mode"] = r.threshold_mode
        meta["threshold_source"] = r.threshold_source
    else:
        meta["not_computable"] = r.reason
    return meta


def _drift_and_quality(graph: ModelGraph) -> dg.AssetsDefinition:
    model = graph.model

    @dg.multi_asset(
        specs=_specs(graph),
        name=f"{model.name}_drift_and_quality",
        can_subset=True,
        backfill_policy=graph.backfill_policy,
        op_tags={"driftwarden/model": model.name},
    )
    def drift_and_quality(
        context: dg.AssetExecutionContext, lake: LakeResource, warehouse: WarehouseResource
    ):
        store, wh = lake.get(), warehouse.get()
        run_id = context.run.run_id
        dates = partition_dates(context)
        selected = {k.path[-1] for k in context.selected_asset_keys}

        # 1. day profiles: computed and stored when selected (batch by batch, in one
        # transaction), else the stored ones (missing: computed, not stored)
        with input_failures():
            if FEATURE_PROFILES in selected:
                plans = (
                    plan_segments(reference_frame(store, model), model) if model.segments else []
                )
                profiled = _ProfiledDays(store, model, dates, plans)
                if plans:
                    # Stale segment profiles of these days must not outlive a failed write:
                    # segment_drift rescans a day that has none.
                    store_segment_profiles(wh, model, {}, dates)
                written = store_day_profiles(wh, model, profiled)
                if plans:
                    written += store_segment_profiles(wh, model, profiled.segments, dates)
                for d, meta in profiled.metadata.items():
                    context.add_asset_metadata(
                        meta, asset_key=graph.key(FEATURE_PROFILES), partition_key=d.isoformat()
                    )
                context.log.info(
                    f"{model.name} feature_profiles: {len(dates)} day(s), {written} rows stored"
                )
            refs = DriftReferences(wh, store, model, {})

        # 2. per batch of days: their profiles (and those their windows reach), the
        # reference of each day; per day: drift by the model's DriftMonitor, quality by
        # the rules. Only one batch's profiles are held at a time.
        metrics: dict[dt.date, dict[tuple[str, str], float]] = {d: {} for d in dates}
        drift_out, pred_out, quality_out = [], [], []
        held = 0
        unstored: dict[dt.date, DatasetProfile] = {}  # computed, not stored: kept for windows
        for batch in _batches(dates, BATCH_DAYS):
            with input_failures():
                days = load_day_profiles(wh, model, batch)
                missing = [d for d in batch if d not in days]
                if missing:
                    unstored.update(profile_days(store, model, missing))
                days = {**unstored, **days}
                refs.days = dict(days)
                refs.prefetch(batch)
                held = max(held, len(refs.days))
                trailing = trailing_rows(wh, model, batch, days) if DATA_QUALITY in selected else {}
            for d in batch:
                pk = d.isoformat()
                with input_failures():
                    ref = refs.for_day(d)
                    if {DATA_DRIFT, PREDICTION_DRIFT} & selected:
                        day = refs.drift(d)
                        result = day.result
                if DATA_DRIFT in selected:
                    drift_out += drift_rows(
                        model, d, FEATURE, result.features, ref.label, run_id, day.window
                    )
                    metrics[d].update(drift_metrics(result))
                    context.add_asset_metadata(
                        _data_drift_metadata(result) | _window_metadata(day),
                        asset_key=graph.key(DATA_DRIFT),
                        partition_key=pk,
                    )
                if PREDICTION_DRIFT in selected:
                    p = result.prediction
                    pred_out += drift_rows(
                        model, d, PREDICTION, {p.column: p}, ref.label, run_id, day.window
                    )
                    metrics[d].update(column_metrics(PREDICTION_DRIFT_SCORE, p))
                    context.add_asset_metadata(
                        _prediction_metadata(result) | _window_metadata(day),
                        asset_key=graph.key(PREDICTION_DRIFT),
                        partition_key=pk,
                    )
                if DATA_QUALITY in selected:
                    findings = day_quality(model, ref.profile, days[d], trailing[d], ref.reason)
                    quality_out += quality_rows(model, d, findings, run_id)
                    metrics[d].update(quality_metrics(findings))
                    context.add_asset_metadata(
                        quality_metadata(days[d], findings),
                        asset_key=graph.key(DATA_QUALITY),
                        partition_key=pk,
                    )
            refs.days = {}
        context.log.info(
            f"{model.name} drift and quality: {len(dates)} day(s) in batches of "
            f"{BATCH_DAYS}, at most {held} day profiles held"
        )

        # 4. store: delete-then-insert over the run's days
        if DATA_DRIFT in selected:
            replace_rows(wh, DRIFT_RESULTS_TABLE, model, drift_out, dates, role=FEATURE)
        if PREDICTION_DRIFT in selected:
            replace_rows(wh, DRIFT_RESULTS_TABLE, model, pred_out, dates, role=PREDICTION)
        if DATA_QUALITY in selected:
            replace_rows(wh, QUALITY_TABLE, model, quality_out, dates)
        write_metrics(wh, model, run_id, metrics)
        for name in (FEATURE_PROFILES, DATA_DRIFT, PREDICTION_DRIFT, DATA_QUALITY):
            if name in selected:
                yield dg.MaterializeResult(
                    asset_key=graph.key(name),
                    # Run-level values go to the log: a range run copies this to every day.
                    metadata={"reference": refs.label()},
                )

    return drift_and_quality


def _drift_checks(graph: ModelGraph) -> list[dg.AssetChecksDefinition]:
    model = graph.model
    thr = model.thresholds.drift

    def rows_of(ctx: dg.AssetCheckExecutionContext, keys: Sequence[str], role: str):
        return stored_rows(
            ctx.resources.warehouse.get(), DRIFT_RESULTS_TABLE, model, keys, role=role
        )

    def evaluate_drift(ctx: dg.AssetCheckExecutionContext, keys: Sequence[str]):
        rows = rows_of(ctx, keys, FEATURE)
        reports = ctx.resources.reports.get()
        for pk in keys:
            if pk in rows:
                # The day's Evidently page, when drift_report wrote one (it runs before these
                # checks in the same run): linked from each check's result.
                name = evidently_report_name(pk)
                link = (
                    {"report": dg.MetadataValue.url(reports.url(model.name, name))}
                    if reports.exists(model.name, name)
                    else {}
                )
                for o in drift_outcomes(rows[pk], model):
                    yield pk, dataclasses.replace(o, metadata={**o.metadata, **link})

    def evaluate_prediction(ctx: dg.AssetCheckExecutionContext, keys: Sequence[str]):
        rows = rows_of(ctx, keys, PREDICTION)
        for pk in keys:
            if pk in rows:
                yield pk, prediction_outcome(rows[pk][0], model)

    data_drift = daily_checks(
        name=f"{model.name}_data_drift_checks",
        asset_key=graph.key(DATA_DRIFT),
        partitions_def=graph.partitions_def,
        checks=[
            CheckDeclaration(
                DRIFT_SHARE_BELOW_THRESHOLD,
                f"share of drifted features below {thr.drift_share_warn} "
                f"(WARN at or above it, ERROR at or above {thr.drift_share_error})",
            ),
            CheckDeclaration(
                CRITICAL_FEATURES_NOT_DRIFTED,
                "no feature marked critical in the model file has drifted (ERROR)",
            ),
        ],
        evaluate=evaluate_drift,
        required_resource_keys={"warehouse", "reports"},
        # After drift_report when both run: the checks link the day's Evidently page.
        additional_deps=[graph.key(DRIFT_REPORT)],
    )
    prediction = daily_checks(
        name=f"{model.name}_prediction_drift_checks",
        asset_key=graph.key(PREDICTION_DRIFT),
        partitions_def=graph.partitions_def,
        checks=[
            CheckDeclaration(
                PREDICTION_DRIFT_BELOW_THRESHOLD,
                f"{prediction_column(model)} drift score below {thr.prediction_drift_score_warn} "
                f"(ERROR at {thr.prediction_drift_score_error}); calibrated thresholds "
                "(mean + k·σ / k_error·σ of reference chunks) replace them when they apply",
            )
        ],
        evaluate=evaluate_prediction,
        required_resource_keys={"warehouse"},
    )
    return [data_drift, prediction]


def build_drift_monitor(graph: ModelGraph) -> MonitorDefs:
    """Profiles, data/prediction/target drift, data quality, the Evidently report and
    their per-day checks for one model; adds the scorecard's drift/quality column."""
    register_column(ScorecardColumn("drift/quality found", found_cells))
    return MonitorDefs(
        assets=[
            _drift_and_quality(graph),
            build_target_drift(graph),
            build_drift_report(graph, graph.key(DATA_DRIFT)),
        ],
        checks=[*_drift_checks(graph), build_quality_checks(graph)],
    )
