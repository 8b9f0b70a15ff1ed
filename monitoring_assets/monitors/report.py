"""``drift_report``: Evidently's DataDriftPreset HTML for the days worth reading.

The choice of days and the Evidently call are in :mod:`monitoring_assets.core.drift_report`;
this file declares the asset, its run config and where the HTML goes (the home's
``reports`` folder), and says per day why a report was or was not written.
"""

from functools import cached_property

import dagster as dg
import numpy as np
import pandas as pd

from monitoring_assets.core.config import ModelConfig
from monitoring_assets.core.day_profiles import day_files
from monitoring_assets.core.drift_report import ReportPlan, render_report, report_days, sample
from monitoring_assets.core.references import reference_file
from monitoring_assets.core.results import FEATURE, stored_rows
from monitoring_assets.core.tables import DRIFT_RESULTS_TABLE
from monitoring_assets.monitors.failures import input_failures
from monitoring_assets.monitors.inference import ModelGraph, partition_dates
from resources.lake import LakeResource
from resources.report_store import ReportStoreResource
from resources.warehouse import WarehouseResource

DRIFT_REPORT = "drift_report"


class DriftReportConfig(dg.Config):
    """How much Evidently work a ``drift_report`` run may do."""

    sample_rows: int = 5000
    seed: int = 0
    #: None: every flagged day of a ranged run gets its report (every alerting day).
    max_reports_per_run: int | None = None
    ranged_runs_only_flagged: bool = True
    #: Days to report on whatever they were flagged (on demand), within the run's days.
    days: list[str] = []


def build_drift_report(graph: ModelGraph, data_drift: dg.AssetKey) -> dg.AssetsDefinition:
    """The ``drift_report`` asset of one model, reading what ``data_drift`` stored."""
    model = graph.model
    identity = dg.IdentityPartitionMapping()

    @dg.asset(
        key=graph.key(DRIFT_REPORT),
        deps=[
            dg.AssetDep(data_drift, partition_mapping=identity),
            dg.AssetDep(graph.key("inference_logs"), partition_mapping=identity),
            graph.key("reference_data"),
        ],
        backfill_policy=graph.backfill_policy,
        description=(
            "Evidently DataDriftPreset HTML on a seeded sample of the day and the reference, "
            "linked by URL from each day's metadata. A one-day run always writes it; a ranged "
            "run writes it for every flagged (alerting) day, and for the days named in the "
            "run config's `days` (on demand); each day's metadata says why it has none."
        ),
        kinds={"evidently", "html"},
        tags={"driftwarden/model": model.name},
        partitions_def=graph.partitions_def,
        group_name=graph.group,
    )
    def drift_report(
        context: dg.AssetExecutionContext,
        config: DriftReportConfig,
        lake: LakeResource,
        warehouse: WarehouseResource,
        reports: ReportStoreResource,
    ):
        store, wh, out_store = lake.get(), warehouse.get(), reports.get()
        dates = partition_dates(context)
        stored = stored_rows(
            wh, DRIFT_RESULTS_TABLE, model, [d.isoformat() for d in dates], role=FEATURE
        )
        plan = report_days(
            model, dates, stored, config.max_reports_per_run, config.ranged_runs_only_flagged
        )
        plan = with_requested_days(plan, dates, config.days)
        written = 0
        ref_sample = None
        columns = model.feature_names
        for d in dates:
            pk = d.isoformat()
            if d in plan.skipped:
                context.add_asset_metadata(
                    {"report": f"skipped: {plan.skipped[d]} ({plan.why})", "report_written": False},
                    partition_key=pk,
                )
                continue
            with input_failures():
                if ref_sample is None:
                    ref_sample = sample(
                        reference_file(store, model), config.sample_rows, config.seed, columns
                    )
                (day,) = day_files(store, model, "inference_logs", [d]).values()
            cur = sample(day, config.sample_rows, config.seed, columns)
            excluded = {
                **{c: f"reference: {why}" for c, why in unreportable(ref_sample, model).items()},
                **{c: f"current day: {why}" for c, why in unreportable(cur, model).items()},
            }
            if len(excluded) == len(columns):
                context.add_asset_metadata(
                    {
                        "report": "skipped: no feature has a value to compare",
                        "report_written": False,
                        "excluded_columns": dg.MetadataValue.json(excluded),
                    },
                    partition_key=pk,
                )
                continue
            kept = [c for c in columns if c not in excluded]
            name = evidently_report_name(pk)
            out_store.write_html(
                model.name,
                name,
                render_report(_with_features(model, kept), cur[kept], ref_sample[kept], pk),
            )
            written += 1
            context.add_asset_metadata(
                {
                    "report": dg.MetadataValue.url(out_store.url(model.name, name)),
                    "report_written": True,
                    "excluded_columns": dg.MetadataValue.json(excluded),
                    "sample_rows": dg.MetadataValue.int(len(cur)),
                    "reference_sample_rows": dg.MetadataValue.int(len(ref_sample)),
                    "seed": dg.MetadataValue.int(config.seed),
                    "selection": plan.why,
                },
                partition_key=pk,
            )
        context.log.info(f"{written} Evidently report(s) written ({plan.why})")
        return dg.MaterializeResult()

    return drift_report


def evidently_report_name(pk: str) -> str:
    """The report store name of the Evidently report of day ``pk``."""
    return f"data_drift_{pk}.html"


def with_requested_days(plan: ReportPlan, dates: list, requested: list[str]) -> ReportPlan:
    """``plan`` with the run config's requested days added (those within the run)."""
    wanted = {d for d in dates if d.isoformat() in set(requested)}
    if not wanted:
        return plan
    chosen = sorted(set(plan.chosen) | wanted)
    skipped = {d: why for d, why in plan.skipped.items() if d not in wanted}
    return ReportPlan(chosen, plan.why + "; requested days added", skipped)


def unreportable(frame: pd.DataFrame, model: ModelConfig) -> dict[str, str]:
    """Features of ``frame`` Evidently cannot compare, with the reason: a numerical
    column without a finite value (all null, NaN or ±inf) or a categorical column
    without a value. The drift monitors still judge them; only the report leaves them out."""
    out: dict[str, str] = {}
    for name in model.numerical:
        values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)
        if not np.isfinite(values).any():
            kind = "null" if np.isnan(values).all() else "null or infinite"
            out[name] = f"no finite value in {len(values)} sampled row(s) (all {kind})"
    for name in model.categorical:
        if not frame[name].notna().any():
            out[name] = f"no value in {len(frame)} sampled row(s) (all null)"
    return out


def _with_features(model: ModelConfig, names: list[str]) -> ModelConfig:
    """``model`` restricted to the features ``names`` (for the report's data definition)."""
    keep = [f for f in model.features if f.name in names]
    copy = model.model_copy(update={"features": keep})
    # model_copy carries the cached per-feature lists over; they are recomputed from keep.
    for attr, value in vars(type(model)).items():
        if isinstance(value, cached_property):
            copy.__dict__.pop(attr, None)
    return copy
