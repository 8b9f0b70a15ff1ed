"""Multivariate drift monitor: the Dagster shell around :mod:`monitoring_assets.core.multivariate_days`.

Only for a model whose file has a ``multivariate`` section; per method it lists
(``methods``), under the model's key prefix, daily with a single-run backfill policy:

- ``reconstruction_drift``: the day's mean PCA reconstruction error against thresholds
  calibrated on reference chunks; check ``reconstruction_error_within_threshold``;
  ``ml_reconstruction_error`` and its WARN level ``ml_reconstruction_error_threshold``.
- ``domain_classifier_drift``: the cross-validated ROC AUC of a classifier telling the
  day's rows from the reference's; check ``domain_classifier_auc_below_threshold``;
  ``ml_domain_classifier_auc``.

Both read the day's ``inference_logs`` and the version's ``reference_data``; what is
fitted on the reference is kept in ``multivariate_fits`` (a rerun does not refit), the
results in ``multivariate_results`` (delete-then-insert over the run's days). Checks
record one evaluation per day and check, judged from the stored rows.
"""

from collections.abc import Sequence
from typing import Any

import dagster as dg

from monitoring_assets.core.checks import CheckDeclaration
from monitoring_assets.core.day_profiles import MonitorInputError
from monitoring_assets.core.metrics import (
    DOMAIN_CLASSIFIER_AUC,
    RECONSTRUCTION_ERROR,
    RECONSTRUCTION_ERROR_THRESHOLD,
)
from monitoring_assets.core.multivariate import DOMAIN_CLASSIFIER, RECONSTRUCTION
from monitoring_assets.core.multivariate_days import (
    ASSETS,
    CHECKS,
    COMPUTED,
    MultivariateMonitor,
    MultivariateResult,
    multivariate_outcome,
    result_rows,
    store_results,
    stored_results,
)
from monitoring_assets.core.tables import MULTIVARIATE_RESULTS_TABLE
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

METRIC = {RECONSTRUCTION: RECONSTRUCTION_ERROR.name, DOMAIN_CLASSIFIER: DOMAIN_CLASSIFIER_AUC.name}
DESCRIPTION = {
    RECONSTRUCTION: (
        "Multivariate drift: mean PCA reconstruction error of the day's rows (features "
        "standardised, categoricals one-hot), PCA fitted once per model version on the "
        "reference; thresholds calibrated on reference chunks of the day's size."
    ),
    DOMAIN_CLASSIFIER: (
        "Multivariate drift: cross-validated ROC AUC of a gradient-boosting classifier "
        "telling the day's rows from the reference's (0.5: indistinguishable)."
    ),
}
CHECK_DESCRIPTION = {
    RECONSTRUCTION: (
        "mean reconstruction error at or below the calibrated WARN level (ERROR above the "
        "error level); insufficient data passes, not computable is a failed WARN"
    ),
    DOMAIN_CLASSIFIER: (
        "domain classifier ROC AUC at or below auc_threshold (Evidently's 0.55, raised on "
        "small days to what chance reaches); ERROR above auc_threshold_error"
    ),
}


def _metadata(result: MultivariateResult) -> dict[str, Any]:
    meta: dict[str, Any] = {"status": result.status, "rows": dg.MetadataValue.int(result.rows)}
    if result.value is not None:
        meta["value"] = dg.MetadataValue.float(float(result.value))
    t = result.threshold
    if t is not None:
        meta |= {
            "threshold": dg.MetadataValue.float(t.warn),
            "threshold_error": dg.MetadataValue.float(t.error),
            "threshold_mode": t.mode,
            "threshold_source": t.source,
            "drifted": result.verdict != "OK",
        }
    if result.reason:
        meta["reason"] = result.reason
    for k, v in result.details.items():
        meta[f"detail/{k}"] = v if isinstance(v, (int, float, str)) else str(v)
    return meta


def _multivariate_assets(graph: ModelGraph, methods: Sequence[str]) -> dg.AssetsDefinition:
    model = graph.model
    identity = dg.IdentityPartitionMapping()
    specs = [
        dg.AssetSpec(
            graph.key(ASSETS[m]),
            deps=[
                dg.AssetDep(graph.key("inference_logs"), partition_mapping=identity),
                graph.key("reference_data"),
            ],
            description=DESCRIPTION[m],
            metadata={"warehouse_table": MULTIVARIATE_RESULTS_TABLE.name, "method": m},
            partitions_def=graph.partitions_def,
            group_name=graph.group,
            kinds={"duckdb"},
            tags={"driftwarden/model": model.name},
        )
        for m in methods
    ]

    @dg.multi_asset(
        specs=specs,
        name=f"{model.name}_multivariate_drift",
        can_subset=True,
        backfill_policy=graph.backfill_policy,
        op_tags={"driftwarden/model": model.name},
    )
    def multivariate_drift(
        context: dg.AssetExecutionContext, lake: LakeResource, warehouse: WarehouseResource
    ):
        store, wh = lake.get(), warehouse.get()
        run_id = context.run.run_id
        dates = partition_dates(context)
        selected = [m for m in methods if graph.key(ASSETS[m]) in context.selected_asset_keys]
        monitor = MultivariateMonitor(wh, store, model)
        rows: dict[str, list[dict]] = {m: [] for m in selected}
        metrics: dict = {d: {} for d in dates}
        for d in dates:
            with input_failures():
                try:
                    day = store.read_day(model.name, "inference_logs", d)
                except FileNotFoundError as exc:
                    raise MonitorInputError(
                        f"model {model.name!r}: {exc}; materialize {model.name}/inference_logs "
                        f"for {d} first"
                    ) from exc
            for m in selected:
                result = monitor.judge(m, day)
                rows[m].append(result_rows(model, d, result, monitor.label, run_id))
                if result.status == COMPUTED and result.value is not None:
                    metrics[d][(METRIC[m], "")] = result.value
                    if m == RECONSTRUCTION and result.threshold is not None:
                        metrics[d][(RECONSTRUCTION_ERROR_THRESHOLD.name, "")] = (
                            result.threshold.warn
                        )
                context.add_asset_metadata(
                    _metadata(result), asset_key=graph.key(ASSETS[m]), partition_key=d.isoformat()
                )
        for m in selected:
            store_results(wh, model, m, rows[m], dates)
        write_metrics(wh, model, run_id, metrics)
        if monitor.refitted:
            context.log.info(f"{model.name} multivariate: fitted {', '.join(monitor.refitted)}")
        for m in selected:
            yield dg.MaterializeResult(
                asset_key=graph.key(ASSETS[m]),
                metadata={"days": dg.MetadataValue.int(len(dates)), "reference": monitor.label},
            )

    return multivariate_drift


def _checks(graph: ModelGraph, method: str) -> dg.AssetChecksDefinition:
    model = graph.model

    def evaluate(ctx: dg.AssetCheckExecutionContext, keys: Sequence[str]):
        stored = stored_results(ctx.resources.warehouse.get(), model, method, list(keys))
        for pk in keys:
            if pk in stored:
                yield pk, multivariate_outcome(stored[pk], pk)

    return daily_checks(
        name=f"{model.name}_{ASSETS[method]}_checks",
        asset_key=graph.key(ASSETS[method]),
        partitions_def=graph.partitions_def,
        checks=[CheckDeclaration(CHECKS[method], CHECK_DESCRIPTION[method])],
        evaluate=evaluate,
        required_resource_keys={"warehouse"},
    )


def build_multivariate_monitor(graph: ModelGraph) -> MonitorDefs:
    """The multivariate drift assets and checks of one model (none without a
    ``multivariate`` section in its model file)."""
    mv = graph.model.multivariate
    if mv is None:
        return MonitorDefs()
    return MonitorDefs(
        assets=[_multivariate_assets(graph, mv.methods)],
        checks=[_checks(graph, m) for m in mv.methods],
    )
