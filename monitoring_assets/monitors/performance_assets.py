"""The Dagster shape every task's performance monitor shares: the ``model_performance``
and ``estimated_performance`` assets of one model and their two daily multi-checks.

What differs by task — what is measured, the descriptions, the asset and partition
metadata, the checks — is passed in by :mod:`.performance` (binary) and
:mod:`.task_performance` (regression, multiclass).
"""

# No ``from __future__ import annotations`` here: Dagster reads the context annotations
# of asset functions at definition time.

import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import dagster as dg

from monitoring_assets.core.checks import CheckDeclaration, CheckOutcome
from monitoring_assets.core.performance.daily import ESTIMATED_PERFORMANCE, MODEL_PERFORMANCE
from monitoring_assets.monitors.daily_checks import daily_checks
from monitoring_assets.monitors.failures import input_failures
from monitoring_assets.monitors.inference import ModelGraph, partition_dates
from monitoring_assets.monitors.retraining import MODEL_TAG


class PerformanceDay(Protocol):
    """What the shell reads of a measured or estimated day."""

    date: dt.date
    status: str


#: ``(model, dates, lake, warehouse, reference, run_id) -> days``: a core range function.
RangeFn = Callable[..., Sequence[Any]]


@dataclass(frozen=True)
class PerformanceAsset:
    """One of the two assets: its core range function, description, asset metadata and
    the metadata of each of its partitions."""

    run: RangeFn
    description: str
    metadata: Mapping[str, Any]
    day_metadata: Callable[[Any], dict[str, Any]]


def performance_assets(
    graph: ModelGraph,
    realized: PerformanceAsset,
    estimated: PerformanceAsset,
    reference: Callable[[dg.AssetExecutionContext], Any],
    resources: set[str],
) -> list[dg.AssetsDefinition]:
    """``model_performance`` (after the day's labels) and ``estimated_performance`` (on
    the day itself) of ``graph``'s model; ``reference(context)`` gives what the range
    functions compare against."""
    model = graph.model
    same_day = dg.IdentityPartitionMapping()
    deps = [dg.AssetDep(graph.key("inference_logs"), partition_mapping=same_day)]

    def run(spec: PerformanceAsset, context: dg.AssetExecutionContext) -> Sequence[Any]:
        with input_failures():
            days = spec.run(
                model,
                partition_dates(context),
                context.resources.lake.get(),
                context.resources.warehouse.get(),
                reference(context),
                context.run.run_id,
            )
        for day in days:
            context.add_asset_metadata(spec.day_metadata(day), partition_key=day.date.isoformat())
        return days

    @dg.asset(
        key=graph.key(MODEL_PERFORMANCE),
        group_name=graph.group,
        partitions_def=graph.partitions_def,
        backfill_policy=graph.backfill_policy,
        deps=[
            *deps,
            # ground_truth[D] holds the labels of D's predictions, arriving on D + delay.
            dg.AssetDep(graph.key("ground_truth"), partition_mapping=same_day),
            graph.key("reference_data"),
        ],
        description=realized.description,
        kinds={"duckdb"},
        tags={MODEL_TAG: model.name},
        metadata=dict(realized.metadata),
        required_resource_keys=resources,
    )
    def model_performance(context: dg.AssetExecutionContext):
        counts: dict[str, int] = {}
        for day in run(realized, context):
            counts[day.status] = counts.get(day.status, 0) + 1
        context.log.info(f"{model.name} model_performance: {counts}")
        return dg.MaterializeResult(metadata={"days_by_status": json.dumps(counts, sort_keys=True)})

    @dg.asset(
        key=graph.key(ESTIMATED_PERFORMANCE),
        group_name=graph.group,
        partitions_def=graph.partitions_def,
        backfill_policy=graph.backfill_policy,
        deps=[*deps, graph.key("reference_data")],
        description=estimated.description,
        kinds={"duckdb"},
        tags={MODEL_TAG: model.name},
        metadata=dict(estimated.metadata),
        required_resource_keys=resources,
    )
    def estimated_performance(context: dg.AssetExecutionContext):
        run(estimated, context)
        return dg.MaterializeResult()

    return [model_performance, estimated_performance]


#: ``(warehouse, partition keys) -> (partition key, outcome)`` of one day's checks.
Evaluate = Callable[[Any, list[str]], Iterable[tuple[str, CheckOutcome]]]


def performance_check_defs(
    graph: ModelGraph,
    realized: tuple[Sequence[CheckDeclaration], Evaluate],
    estimated: tuple[Sequence[CheckDeclaration], Evaluate],
) -> list[dg.AssetChecksDefinition]:
    """``<model>_performance_checks`` on ``model_performance`` and
    ``<model>_estimated_performance_checks`` on ``estimated_performance``, one
    evaluation per day; each is ``(declarations, evaluate)``."""
    return [
        daily_checks(
            name=f"{graph.model.name}_{prefix}performance_checks",
            asset_key=graph.key(asset),
            partitions_def=graph.partitions_def,
            checks=checks,
            evaluate=lambda ctx, keys, evaluate=evaluate: evaluate(
                ctx.resources.warehouse.get(), list(keys)
            ),
            required_resource_keys={"warehouse"},
        )
        for prefix, asset, (checks, evaluate) in (
            ("", MODEL_PERFORMANCE, realized),
            ("estimated_", ESTIMATED_PERFORMANCE, estimated),
        )
    ]
