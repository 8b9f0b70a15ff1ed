"""``target_drift``: drift of the label distribution against the training snapshot.

Labels arrive ``label_delay_days`` after their predictions, so a day is judged once its
``ground_truth`` partition holds labels; a day whose labels are pending is recorded as
pending (and loses any stale result), not as a result. The threshold is calibrated like
the features' (mode of check ``target_drift``); a day with fewer labels than
``window.min_day_rows`` is "insufficient data". Target drift is judged per day: drift
windows do not apply to it (labels are not kept as day profiles).
"""

from dataclasses import replace
from typing import Any

import dagster as dg
import duckdb
import pandas as pd

from monitoring_assets.core.calibration import ReferenceCalibration
from monitoring_assets.core.lake_io import scan_connection
from monitoring_assets.core.monitor import DriftMonitor
from monitoring_assets.core.performance.labels import label_categories
from monitoring_assets.core.profile import DatasetProfile
from monitoring_assets.core.profile_build import profile_partitions
from monitoring_assets.core.references import training_reference, training_source
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
        backfill_policy=graph.backfill_policy,
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
            source = training_source(store, model)
            stored = training_reference(wh, store, model, source)
            # classes compared as the model file types them; a regression target is a number
            categorical = model.target_kind == "categorical"
            reference = _typed_reference(stored, source[0], target) if categorical else stored
        # Calibrated on the stored (untyped) reference and its file, like the features':
        # typing relabels categories, it does not change a chunk's statistic.
        calibration = ReferenceCalibration(wh, model, stored, *source)
        monitor = DriftMonitor(model, calibration=calibration).fit(
            reference, f"training {model.version}"
        )
        min_rows = model.window.min_day_rows
        files = [
            store.day_location(model.name, "ground_truth", d)
            for d in dates
            if store.has_day(model.name, "ground_truth", d)
        ]
        if not files:
            profiles = {}
        elif model.target_kind == "categorical":
            # classes compared as the model file types them (1, 1.0 and "1" are class 1)
            profiles = _typed_label_profiles(files, target)
        else:
            profiles = profile_partitions(files, {target: "numerical"}, partition_column="date")
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
            if prof.rows < min_rows:
                r = monitor.insufficient(prof.rows, min_rows).prediction
                r = replace(r, column=target, kind=model.target_kind)
            else:
                r = monitor.column(prof, target, model.target_kind, check=TARGET_DRIFT)
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
                meta["threshold"] = dg.MetadataValue.float(float(r.threshold))  # type: ignore[arg-type]
                meta["threshold_mode"] = r.threshold_mode
                meta["threshold_source"] = r.threshold_source
            elif r.insufficient:
                meta["insufficient_data"] = r.reason
            context.add_asset_metadata(meta, partition_key=pk)
        # Pending days lose any stale result: the table says what is known now.
        replace_rows(wh, DRIFT_RESULTS_TABLE, model, out, dates, role=TARGET)
        write_metrics(wh, model, run_id, metrics)
        return dg.MaterializeResult(
            metadata={"days_with_labels": len(dates) - pending, "days_pending": pending}
        )

    return target_drift


# Labels are compared by the type the model file declares (classes are numbers): the
# same class stored as 1 in the label files and 1.0 in the training snapshot is one
# category, not two (see label_categories).


def _typed_label_profiles(files: list[str], target: str) -> dict[str, DatasetProfile]:
    """Per day (``date`` of the Hive folders), the profile of the typed label values."""
    con = scan_connection()
    try:
        rel = con.read_parquet(files, hive_partitioning=True, union_by_name=True)
        if target not in rel.columns:
            return profile_partitions(files, {target: "categorical"}, partition_column="date")
        frame = rel.select(duckdb.ColumnExpression(target), duckdb.ColumnExpression("date")).df()
    finally:
        con.close()
    typed = pd.DataFrame(
        {target: label_categories(frame[target]), "date": frame["date"].astype(str)}
    )
    return profile_partitions(typed, {target: "categorical"}, partition_column="date")


def _typed_reference(reference: DatasetProfile, location: str, target: str) -> DatasetProfile:
    """``reference`` with its label column profiled from typed values."""
    if target not in reference.columns or not reference.columns[target].present:
        return reference
    con = scan_connection()
    try:
        values = con.read_parquet(location).select(duckdb.ColumnExpression(target)).df()[target]
    finally:
        con.close()
    typed = profile_partitions(
        pd.DataFrame({target: label_categories(values)}), {target: "categorical"}
    )[""]
    return replace(reference, columns={**reference.columns, target: typed.columns[target]})
