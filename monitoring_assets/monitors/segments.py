"""Segment monitor: the Dagster shell around :mod:`monitoring_assets.core.segment_days`.

Per model with ``segments:`` in its model file (daily, single-run backfill policy):

- ``segment_drift``: every segment's profile, drift (calibrated for its window),
  worst missing share and traffic share for each day, in ``segment_results``
  (from the profiles ``feature_profiles`` stored in ``segment_profiles`` with the
  day's, from one scan of the logs; the segments behind the day's drift in
  ``segment_causes``); ``ml_segment_*`` series in ``monitor_metrics``, labelled by
  ``segment``.
- ``segment_performance``: each segment's accuracy once the day's labels are in (in
  ``segment_performance``; the segments behind the accuracy change in ``segment_causes``).
- checks ``segments_not_drifted``, ``segment_mix_stable`` and
  ``segment_accuracy_drop_within_limit``: one evaluation per day, with each segment's
  verdict in the metadata, split into one alert per segment.
"""

import datetime as dt
from typing import Any

import dagster as dg

from monitoring_assets.core.checks import CheckDeclaration
from monitoring_assets.core.results import replace_rows, stored_rows
from monitoring_assets.core.segment_checks import (
    SEGMENT_ACCURACY_DROP,
    SEGMENT_MIX_STABLE,
    SEGMENTS_NOT_DRIFTED,
    accuracy_outcome,
    segment_outcomes,
)
from monitoring_assets.core.segment_days import (
    SegmentDay,
    cause_rows,
    result_rows,
    segment_accuracy_days,
    segment_days,
    segment_metrics,
)
from monitoring_assets.core.tables import (
    SEGMENT_CAUSES_TABLE,
    SEGMENT_PERFORMANCE_TABLE,
    SEGMENT_RESULTS_TABLE,
)
from monitoring_assets.monitors.daily_checks import daily_checks
from monitoring_assets.monitors.failures import input_failures
from monitoring_assets.monitors.inference import (
    ModelGraph,
    MonitorDefs,
    partition_dates,
    write_metrics,
)
from resources.lake import LakeResource
from resources.warehouse import WarehouseResource

SEGMENT_DRIFT = "segment_drift"
SEGMENT_PERFORMANCE = "segment_performance"


def _metadata(day: SegmentDay) -> dict[str, Any]:
    lines = [
        "| segment | rows (window) | share (ref) | drifted | mix shift | note |",
        "|---|---|---|---|---|---|",
    ]
    for r in day.results:
        lines.append(
            f"| {r.segment} | {r.rows} ({r.window_rows}) | {r.share:.1%} ({r.reference_share:.1%}) "
            f"| {', '.join(r.drifted_features) or ('prediction' if r.prediction_drifted else '—')}"
            f" | {'yes' if r.mix_shift else '—'} | {r.reason or ''} |"
        )
    return {
        "segments": dg.MetadataValue.int(len(day.results)),
        "drifted_segments": dg.MetadataValue.int(len(day.drifted)),
        "segment_table": dg.MetadataValue.md("\n".join(lines)),
        "causes": dg.MetadataValue.json([c.as_dict() for c in day.causes]),
    }


def _segment_asset(graph: ModelGraph) -> dg.AssetsDefinition:
    model = graph.model
    identity = dg.IdentityPartitionMapping()

    @dg.asset(
        key=graph.key(SEGMENT_DRIFT),
        deps=[
            dg.AssetDep(graph.key("inference_logs"), partition_mapping=identity),
            # The day's segment profiles are stored by feature_profiles (one scan).
            dg.AssetDep(graph.key("feature_profiles"), partition_mapping=identity),
            graph.key("reference_data"),
        ],
        partitions_def=graph.partitions_def,
        group_name=graph.group,
        kinds={"duckdb"},
        tags={"driftwarden/model": model.name},
        backfill_policy=graph.backfill_policy,
        description=(
            f"Drift, missing values and traffic share per segment of {model.name} "
            f"({', '.join(s.column for s in model.segments)}; top "
            f"{model.segment_settings.top_k} values, the rest pooled as 'other'), each "
            "against its own reference rows with thresholds calibrated for its window."
        ),
        metadata={"warehouse_table": SEGMENT_RESULTS_TABLE.name},
    )
    def segment_drift(
        context: dg.AssetExecutionContext, lake: LakeResource, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        store, wh = lake.get(), warehouse.get()
        run_id = context.run.run_id
        dates = partition_dates(context)
        with input_failures():
            days = segment_days(store, wh, model, dates, log=context.log.info)
        replace_rows(wh, SEGMENT_RESULTS_TABLE, model, result_rows(model, days, run_id), dates)
        causes = cause_rows(model, {d: day.causes for d, day in days.items()}, "drift", run_id)
        replace_rows(wh, SEGMENT_CAUSES_TABLE, model, causes, dates, kind="drift")
        metrics: dict[dt.date, dict[tuple[str, str], float]] = {
            d: segment_metrics(day) for d, day in days.items()
        }
        write_metrics(wh, model, run_id, metrics)
        for d, day in days.items():
            context.add_asset_metadata(
                _metadata(day), asset_key=graph.key(SEGMENT_DRIFT), partition_key=d.isoformat()
            )
        return dg.MaterializeResult(metadata={"days": dg.MetadataValue.int(len(dates))})

    return segment_drift


def _performance_asset(graph: ModelGraph) -> dg.AssetsDefinition:
    model = graph.model
    identity = dg.IdentityPartitionMapping()

    @dg.asset(
        key=graph.key(SEGMENT_PERFORMANCE),
        deps=[
            dg.AssetDep(graph.key("ground_truth"), partition_mapping=identity),
            dg.AssetDep(graph.key("inference_logs"), partition_mapping=identity),
            graph.key("reference_data"),
        ],
        partitions_def=graph.partitions_def,
        group_name=graph.group,
        kinds={"duckdb"},
        tags={"driftwarden/model": model.name},
        backfill_policy=graph.backfill_policy,
        description=(
            f"Accuracy per segment of {model.name} once a day's labels are in, against each "
            "segment's reference accuracy, and the segments behind the day's accuracy change."
        ),
        metadata={"warehouse_table": SEGMENT_PERFORMANCE_TABLE.name},
    )
    def segment_performance(
        context: dg.AssetExecutionContext, lake: LakeResource, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        store, wh = lake.get(), warehouse.get()
        dates = partition_dates(context)
        with input_failures():
            rows, causes = segment_accuracy_days(store, model, dates, context.run.run_id)
        replace_rows(wh, SEGMENT_PERFORMANCE_TABLE, model, rows, dates)
        found = cause_rows(model, causes, "performance", context.run.run_id)
        replace_rows(wh, SEGMENT_CAUSES_TABLE, model, found, dates, kind="performance")
        for d in dates:
            context.add_asset_metadata(
                {
                    "labelled_segments": dg.MetadataValue.int(
                        sum(r["partition_date"] == d for r in rows)
                    ),
                    "causes": dg.MetadataValue.json([c.as_dict() for c in causes.get(d, [])]),
                },
                asset_key=graph.key(SEGMENT_PERFORMANCE),
                partition_key=d.isoformat(),
            )
        return dg.MaterializeResult(metadata={"days": dg.MetadataValue.int(len(dates))})

    return segment_performance


def _performance_checks(graph: ModelGraph) -> dg.AssetChecksDefinition:
    model = graph.model

    def evaluate(ctx: dg.AssetCheckExecutionContext, keys):  # type: ignore[no-untyped-def]
        rows = stored_rows(ctx.resources.warehouse.get(), SEGMENT_PERFORMANCE_TABLE, model, keys)
        for pk in keys:
            if rows.get(pk):
                yield pk, accuracy_outcome(rows[pk])

    return daily_checks(
        name=f"{model.name}_segment_performance_checks",
        asset_key=graph.key(SEGMENT_PERFORMANCE),
        partitions_def=graph.partitions_def,
        checks=[
            CheckDeclaration(
                SEGMENT_ACCURACY_DROP,
                "no segment's accuracy dropped by accuracy_drop and by segment_settings.k "
                "standard errors against its reference (WARN; one alert per segment)",
            )
        ],
        evaluate=evaluate,
        required_resource_keys={"warehouse"},
    )


def _segment_checks(graph: ModelGraph) -> dg.AssetChecksDefinition:
    model = graph.model

    def evaluate(ctx: dg.AssetCheckExecutionContext, keys):  # type: ignore[no-untyped-def]
        rows = stored_rows(ctx.resources.warehouse.get(), SEGMENT_RESULTS_TABLE, model, keys)
        for pk in keys:
            if pk in rows:
                for o in segment_outcomes(rows[pk]):
                    yield pk, o

    return daily_checks(
        name=f"{model.name}_segment_checks",
        asset_key=graph.key(SEGMENT_DRIFT),
        partitions_def=graph.partitions_def,
        checks=[
            CheckDeclaration(
                SEGMENTS_NOT_DRIFTED,
                "no segment's prediction or critical feature drifted, and no segment has "
                "drift_share_warn of its features drifted (WARN; one alert per segment)",
            ),
            CheckDeclaration(
                SEGMENT_MIX_STABLE,
                "no segment's share of traffic moved by mix_shift_ratio and mix_shift_z "
                "(WARN; one alert per segment)",
            ),
        ],
        evaluate=evaluate,
        required_resource_keys={"warehouse"},
    )


def build_segment_monitor(graph: ModelGraph) -> MonitorDefs:
    """The segment asset and its checks, for a model with ``segments``; else nothing."""
    if not graph.model.segments:
        return MonitorDefs()
    return MonitorDefs(
        assets=[_segment_asset(graph), _performance_asset(graph)],
        checks=[_segment_checks(graph), _performance_checks(graph)],
    )
