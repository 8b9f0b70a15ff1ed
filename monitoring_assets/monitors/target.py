"""``target_drift``: drift of the label distribution against the training snapshot.

Labels arrive ``label_delay_days`` after their predictions, so a day is judged once its
``ground_truth`` partition holds labels; a day whose labels are pending is recorded as
pending (and loses any stale result), not as a result.
"""

from typing import Any

import dagster as dg

from monitoring_assets.core.monitor import DriftMonitor
from monitoring_assets.core.profile import profile_partitions
from monitoring_assets.core.references import training_reference
from monitoring_assets.core.results import (
    TARGET,
    TARGET_DRIFT_SCORE,
    column_metrics,
    drift_markdown,
    drift_rows,
    replace_rows,
)
from monitoring_assets.core.tables import DRIFT_RESULTS_TABLE
from monitoring_assets.monitors.failures import input_failures
from monitoring_assets.monitors.inference import (
    ModelGraph,
    partition_dates,
    write_metrics,
)
from resources.lake import LakeResource
from resources.warehouse import WarehouseResource

TARGET_DRIFT = "target_drift"


def build_target_drift(graph: ModelGraph) -> dg.AssetsDefinition:
    """The ``target_drift`` asset of one model."""
    model = graph.model
    target = model.columns.target
    identity = dg.IdentityPartitionMapping()

    @dg.asset(
        key=graph.key(TARGET_DRIFT),
        deps=[
            dg.AssetDep(graph.key("ground_truth"), partition_mapping=identity),
            graph.key("reference_data"),
        ],
        backfill_policy=dg.BackfillPolicy.single_run(),
        description=(
            f"Drift of the label ({target}) distribution against the training snapshot, "
            "for days whose labels have arrived; pending days are recorded as pending."
        ),
        kinds={"duckdb"},
        tags={"driftwarden/model": model.name},
        metadata={"warehouse_table": DRIFT_RESULTS_TABLE.name, "column": target},
        partitions_def=graph.partitions_def,
        group_name=graph.group,
    )
    def target_drift(
        context: dg.AssetExecutionContext, lake: LakeResource, warehouse: WarehouseResource
    ):
        store, wh = lake.get(), warehouse.get()
        run_id = context.run.run_id
        dates = partition_dates(context)
        with input_failures():
            reference = training_reference(wh, store, model)
        monitor = DriftMonitor(model).fit(reference, f"training {model.version}")
        files = [
            store.day_location(model.name, "ground_truth", d)
            for d in dates
            if store.has_day(model.name, "ground_truth", d)
        ]
        profiles = (
            profile_partitions(files, {target: model.target_kind}, partition_column="date")
            if files
            else {}
        )
        out, metrics, pending = [], {}, 0
        for d in dates:
            prof = profiles.get(d.isoformat())
            pk = d.isoformat()
            if prof is None or prof.rows == 0:
                pending += 1
                context.add_asset_metadata(
                    {"status": "labels pending", "labels": dg.MetadataValue.int(0)},
                    partition_key=pk,
                )
                continue
            r = monitor.column(prof, target, model.target_kind)
            out += drift_rows(model, d, TARGET, {target: r}, monitor.label, run_id)
            if r.computable:
                metrics[d] = column_metrics(TARGET_DRIFT_SCORE, r)
            meta: dict[str, Any] = {
                "status": "computed",
                "labels": dg.MetadataValue.int(prof.rows),
                "method": r.method or "—",
                "drifted": bool(r.drifted),
                "result": dg.MetadataValue.md(drift_markdown({target: r})),
            }
            if r.computable:
                meta["score"] = dg.MetadataValue.float(float(r.score))
            context.add_asset_metadata(meta, partition_key=pk)
        # Pending days lose any stale result: the table says what is known now.
        replace_rows(wh, DRIFT_RESULTS_TABLE, model, out, dates, role=TARGET)
        write_metrics(wh, model, run_id, metrics)
        return dg.MaterializeResult(
            metadata={"days_with_labels": len(dates) - pending, "days_pending": pending}
        )

    return target_drift
