"""Asset factories: one Dagster graph per configured model, under the model's key prefix.

The foundation assets live here (``reference_data``, ``inference_logs``,
``ground_truth``); monitors (drift, quality, performance, …) are builders, each a
function of :class:`ModelGraph` returning :class:`MonitorDefs`, and
:func:`build_model` applies the ones it is given (the list is
``monitoring_assets.definitions.MONITORS``). A second model is a config entry, not code.
"""

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from monitoring_assets.core.config import ModelConfig
from monitoring_assets.core.metrics import INFERENCE_REQUESTS
from monitoring_assets.core.ports import StagedPartition
from monitoring_assets.core.references import file_digest
from monitoring_assets.core.schema import SchemaError, validate_inference, validate_labels
from monitoring_assets.core.tables import SIMULATOR_TRUTH
from monitoring_assets.monitors.owners import dagster_owners, with_owners
from resources.lake import LakeResource
from resources.sources import FileAdapter, build_source
from resources.warehouse import (
    LATENCY_HISTOGRAM,
    MONITOR_METRICS,
    WarehouseResource,
)

# Cumulative latency buckets (seconds), Prometheus-style; +inf is implied last.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True)
class ModelGraph:
    """What a monitor builder needs to know about one model's graph."""

    model: ModelConfig
    partitions_def: dg.DailyPartitionsDefinition

    @property
    def name(self) -> str:
        return self.model.name

    def key(self, name: str) -> dg.AssetKey:
        return dg.AssetKey([self.model.name, name])

    @property
    def group(self) -> str:
        return self.model.name

    @property
    def backfill_policy(self) -> dg.BackfillPolicy:
        """The one backfill policy of every partitioned asset of the model (a backfill
        launches each run with all of its assets, so they must agree): the model file's
        ``backfill.partitions_per_run`` days per run, else the whole range in one run."""
        per_run = self.model.backfill.partitions_per_run
        if per_run is None:
            return dg.BackfillPolicy.single_run()
        return dg.BackfillPolicy.multi_run(per_run)


@dataclass
class MonitorDefs:
    """Definitions a monitor contributes for one model."""

    assets: list = field(default_factory=list)
    checks: list = field(default_factory=list)
    jobs: list = field(default_factory=list)
    sensors: list = field(default_factory=list)
    schedules: list = field(default_factory=list)

    def extend(self, other: "MonitorDefs") -> "MonitorDefs":
        for name in ("assets", "checks", "jobs", "sensors", "schedules"):
            getattr(self, name).extend(getattr(other, name))
        return self


MonitorBuilder = Callable[[ModelGraph], MonitorDefs]


def partitions_for(model: ModelConfig) -> dg.DailyPartitionsDefinition:
    """Daily partitions from the model's first date to its (exclusive) end, if any."""
    end = model.last_date_exclusive
    return dg.DailyPartitionsDefinition(
        start_date=model.first_date.isoformat(),
        end_date=end.isoformat() if end else None,
    )


def partition_dates(context: dg.AssetExecutionContext) -> list[dt.date]:
    """The days a (possibly ranged) run covers."""
    return [dt.date.fromisoformat(k) for k in context.partition_keys]


def latency_rows(model: str, date: dt.date, latency_ms: pd.Series) -> pd.DataFrame:
    """Cumulative latency histogram of one day, in seconds."""
    seconds = latency_ms.dropna().to_numpy(dtype=float) / 1000.0
    seconds = seconds[np.isfinite(seconds)]
    bounds = [*LATENCY_BUCKETS, float("inf")]
    sorted_s = np.sort(seconds)
    counts = np.searchsorted(sorted_s, bounds, side="right")
    return pd.DataFrame(
        {
            "model": model,
            "partition_date": date,
            "le": bounds,
            "count": counts.astype("int64"),
            "sum_seconds": float(seconds.sum()),
        }
    )


def metric_rows(
    model: ModelConfig, date: dt.date, run_id: str, values: dict[tuple[str, str], float]
) -> pd.DataFrame:
    """Rows for ``monitor_metrics`` from {(metric, feature): value}."""
    now = pd.Timestamp.now(tz="UTC").tz_localize(None)
    return pd.DataFrame(
        [
            {
                "model": model.name,
                "model_version": model.version,
                "partition_date": date,
                "metric": metric,
                "feature": feature,
                "value": float(value),
                "run_id": run_id,
                "computed_at": now,
            }
            for (metric, feature), value in values.items()
        ],
        columns=list(MONITOR_METRICS.columns),
    )


def write_metrics(
    warehouse,
    model: ModelConfig,
    run_id: str,
    values: dict[dt.date, dict[tuple[str, str], float]],
) -> None:
    """Replace these days' values of exactly these metrics in ``monitor_metrics``, in one
    transaction: ``values`` is {date: {(metric, feature): value}}."""
    frames = [metric_rows(model, d, run_id, v) for d, v in values.items() if v]
    if not frames:
        return
    rows = pd.concat(frames, ignore_index=True)
    warehouse.replace(
        MONITOR_METRICS.name,
        rows,
        {
            "model": model.name,
            "partition_date": sorted(values),
            "metric": sorted(set(rows.metric)),
        },
    )


def _schema_metadata(frame: pd.DataFrame) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[dg.TableColumn(name=str(c), type=str(t)) for c, t in frame.dtypes.items()]
    )


def build_foundation(graph: ModelGraph) -> MonitorDefs:
    """``reference_data``, ``inference_logs`` and ``ground_truth`` for one model."""
    model = graph.model
    source_kind = model.source.kind

    @dg.asset(
        key=graph.key("reference_data"),
        group_name=graph.group,
        description=(
            f"Training snapshot of {model.name} {model.version}: the default reference for drift "
            "and the validation split for reference performance."
        ),
        kinds={"parquet"},
        tags={"driftwarden/model": model.name},
        metadata={"model_version": model.version, "source": source_kind},
    )
    def reference_data(context: dg.AssetExecutionContext, lake: LakeResource):
        source = build_source(model)
        try:
            frame = source.reference()
            checked = validate_inference(
                _with_missing_latency(frame, model),
                model,
                origin=_origin("reference data", source, "reference"),
            )
        except (SchemaError, FileNotFoundError) as exc:
            raise dg.Failure(description=str(exc)) from None
        if model.columns.target in frame:
            checked[model.columns.target] = frame[model.columns.target].to_numpy()
        key = f"version={model.version}"
        store = lake.get()
        path = store.write(model.name, "reference", key, checked)
        meta = {
            "rows": dg.MetadataValue.int(len(checked)),
            "model_version": model.version,
            "path": dg.MetadataValue.path(str(path)),
            "dagster/column_schema": _schema_metadata(checked),
        }
        validation = getattr(source, "validation", None)
        if validation is not None:
            val = validation()
            vpath = store.write(model.name, "validation", key, val)
            meta["validation_rows"] = dg.MetadataValue.int(len(val))
            meta["validation_path"] = dg.MetadataValue.path(str(vpath))
        return dg.MaterializeResult(metadata=meta)

    @dg.asset(
        key=graph.key("inference_logs"),
        group_name=graph.group,
        partitions_def=graph.partitions_def,
        backfill_policy=graph.backfill_policy,
        description=(
            f"Daily inference log of {model.name}: request id, timestamp, features, prediction, "
            "probability and latency, schema-validated against the model file and stored as "
            "Hive-partitioned Parquet (a rerun replaces the day)."
        ),
        kinds={"parquet", "duckdb"},
        tags={"driftwarden/model": model.name},
        metadata={"partition_expr": model.columns.timestamp, "source": source_kind},
    )
    def inference_logs(
        context: dg.AssetExecutionContext, lake: LakeResource, warehouse: WarehouseResource
    ):
        source = build_source(model)
        store, wh = lake.get(), warehouse.get()
        staged: list[tuple[dt.date, StagedPartition, pd.DataFrame]] = []
        try:
            # Validate and stage every day first: a bad day fails the run with nothing swapped in.
            for date in partition_dates(context):
                try:
                    day = source.inference_day(date)
                    frame = validate_inference(
                        day,
                        model,
                        origin=_origin(f"inference_logs {date}", source, "inference", date),
                    )
                except (SchemaError, FileNotFoundError) as exc:
                    raise _day_failure(exc, "inference_logs", model, date) from None
                stats = frame[[model.columns.latency]] if model.columns.latency else frame[[]]
                part = store.stage(model.name, "inference_logs", store.date_key(date), frame)
                staged.append((date, part, stats))
                context.log.debug(f"staged {model.name} inference_logs {date}: {len(frame)} rows")
        except BaseException:
            for _, s, _ in staged:
                s.discard()
            raise
        # Rows whose timestamp is null belong to no day: counted per file and said.
        untimed = (
            source.rows_without_timestamp("inference") if isinstance(source, FileAdapter) else None
        )
        for name, n in (untimed or {}).items():
            if n:
                context.log.warning(
                    f"{model.name} inference_logs: {n} row(s) of {name} have a null "
                    f"{model.columns.timestamp!r} timestamp, belong to no day and were left out"
                )
        total = 0
        logged, metrics, histograms, truths = {}, {}, [], []
        for date, part, stats in staged:
            path = part.commit()
            rows = len(stats)
            total += rows
            version = file_digest(store, str(path))
            logged[date] = (rows, version)
            metrics[date] = {(INFERENCE_REQUESTS.name, ""): rows}
            if model.columns.latency:
                histograms.append(latency_rows(model.name, date, stats[model.columns.latency]))
            truth = source.truth(date)
            if truth is not None:
                truths.append(
                    {
                        "model": model.name,
                        "partition_date": date,
                        "events": "; ".join(truth.events),
                        "columns": ",".join(truth.columns),
                    }
                )
            meta = {
                "rows": dg.MetadataValue.int(rows),
                "path": dg.MetadataValue.path(str(path)),
                "data_version": version,
            }
            if truth is not None:
                meta["injected"] = "; ".join(truth.events) or "none"
            if untimed is not None:
                meta["rows_without_timestamp"] = dg.MetadataValue.int(sum(untimed.values()))
            context.add_asset_metadata(meta, partition_key=date.isoformat())
        days = sorted(logged)
        wh.log_partitions(model.name, "inference_logs", logged, context.run.run_id)
        write_metrics(wh, model, context.run.run_id, metrics)
        if histograms:
            wh.replace(
                LATENCY_HISTOGRAM.name,
                pd.concat(histograms, ignore_index=True),
                {"model": model.name, "partition_date": days},
            )
        if truths:
            wh.replace(
                SIMULATOR_TRUTH.name,
                pd.DataFrame(truths),
                {"model": model.name, "partition_date": days},
            )
        context.log.info(f"{model.name} inference_logs: {len(staged)} day(s), {total} rows")
        # The run's totals are in the log: a range run copies result metadata to every day.
        return dg.MaterializeResult()

    @dg.asset(
        key=graph.key("ground_truth"),
        group_name=graph.group,
        partitions_def=graph.partitions_def,
        # The day's predictions first: a run whose inference_logs fail writes no labels,
        # and labels kept in one file are matched to the day by its stored request ids.
        deps=[
            dg.AssetDep(
                graph.key("inference_logs"), partition_mapping=dg.IdentityPartitionMapping()
            )
        ],
        backfill_policy=graph.backfill_policy,
        description=(
            f"Labels of {model.name}'s predictions, keyed by the prediction day; they arrive "
            f"{model.label_delay_days} day(s) later. A day whose labels have not arrived is "
            "stored empty and marked pending; rerun it once they are in."
        ),
        kinds={"parquet"},
        tags={"driftwarden/model": model.name},
        metadata={"label_delay_days": model.label_delay_days},
    )
    def ground_truth(
        context: dg.AssetExecutionContext, lake: LakeResource, warehouse: WarehouseResource
    ):
        source = build_source(model)
        store, wh = lake.get(), warehouse.get()
        staged: list[tuple[dt.date, StagedPartition, int, bool]] = []
        try:
            # Validate and stage every day first: a bad day fails the run with nothing
            # written, neither files nor partition_log rows.
            for date in partition_dates(context):
                try:
                    labels = _labels_of_day(source, store, model, date)
                    pending = labels is None
                    if labels is None:
                        labels = _no_labels(model)
                    labels = validate_labels(
                        labels,
                        model,
                        origin=_origin(f"ground_truth {date}", source, "labels", date),
                    )
                except (SchemaError, FileNotFoundError) as exc:
                    raise _day_failure(exc, "ground_truth", model, date) from None
                part = store.stage(model.name, "ground_truth", store.date_key(date), labels)
                staged.append((date, part, len(labels), pending))
        except BaseException:
            for _, part, _, _ in staged:
                part.discard()
            raise
        arrived_days = 0
        logged: dict[dt.date, tuple[int, str]] = {}
        for date, part, rows, pending in staged:
            path = part.commit()
            arrived_days += not pending
            expected = date + dt.timedelta(days=model.label_delay_days)
            logged[date] = (rows, "pending" if pending else "arrived")
            context.add_asset_metadata(
                {
                    "labels": dg.MetadataValue.int(rows),
                    "status": "pending" if pending else "arrived",
                    "labels_expected_on": expected.isoformat(),
                    "path": dg.MetadataValue.path(str(path)),
                },
                partition_key=date.isoformat(),
            )
        wh.log_partitions(model.name, "ground_truth", logged, context.run.run_id)
        return dg.MaterializeResult(metadata={"days_with_labels": arrived_days})

    return MonitorDefs(assets=[reference_data, inference_logs, ground_truth])


def _origin(what: str, source, kind: str, date: dt.date | None = None) -> str:
    """``what`` and, for a files source, the file(s) its rows came from."""
    origin = getattr(source, "origin", None)
    files = origin(kind, date) if origin else ""
    return f"{what} ({files})" if files else what


def _day_failure(exc: Exception, asset: str, model: ModelConfig, date: dt.date) -> dg.Failure:
    """A day's bad input as a run failure whose message names the partition."""
    text = str(exc)
    if date.isoformat() not in text:
        text = f"{asset} {date}: {text}"
    return dg.Failure(
        description=text, metadata={"partition": date.isoformat(), "model": model.name}
    )


def _no_labels(model: ModelConfig) -> pd.DataFrame:
    return pd.DataFrame(
        {
            model.columns.id: pd.Series(dtype=str),
            model.columns.target: pd.Series(dtype="int64"),
            "label_timestamp": pd.Series(dtype="datetime64[us]"),
        }
    )


def _labels_of_day(source, store, model: ModelConfig, date: dt.date) -> pd.DataFrame | None:
    """The labels of ``date``'s predictions. A files source keeping every day's labels in
    one file matches them by the day's request ids, read from the stored
    ``inference_logs`` day (one column of a Parquet file) rather than the source."""
    if (
        isinstance(source, FileAdapter)
        and source.cfg.labels
        and "{date}" not in source.cfg.labels
        and store.has_day(model.name, "inference_logs", date)
    ):
        location = store.day_location(model.name, "inference_logs", date)
        with store.open_input(location) as f:
            ids = pq.read_table(f, columns=[model.columns.id]).column(0).to_pandas()
        return source.labels_day(date, ids=ids)
    return source.labels_day(date)


def _with_missing_latency(frame: pd.DataFrame, model: ModelConfig) -> pd.DataFrame:
    """Reference snapshots carry no latency; fill it so the shared schema check applies."""
    out = frame.drop(columns=[model.columns.target], errors="ignore").copy()
    if model.columns.latency and model.columns.latency not in out:
        out[model.columns.latency] = np.nan
    return out


def build_model(
    model: ModelConfig, monitors: Sequence[MonitorBuilder]
) -> tuple[ModelGraph, MonitorDefs]:
    """Every definition of one model: what each of ``monitors`` builds (in order; the
    foundation is one of them), the ``monitor_<model>``/``labels_<model>`` jobs and
    their schedules. Every asset carries the model's owners (:mod:`.owners`)."""
    graph = ModelGraph(model, partitions_for(model))
    defs = MonitorDefs()
    for builder in monitors:
        defs.extend(builder(graph))
    owners = dagster_owners(model)
    defs.assets = [with_owners(a, owners) for a in defs.assets]
    selection = dg.AssetSelection.groups(graph.group)
    monitor_job = dg.define_asset_job(
        f"monitor_{model.name}",
        selection=selection,
        partitions_def=graph.partitions_def,
        description=f"Ingest and monitor {model.name} for a day (or a range, in one run).",
        tags={"driftwarden/model": model.name},
    )
    labels_job = dg.define_asset_job(
        f"labels_{model.name}",
        selection=dg.AssetSelection.assets(graph.key("ground_truth")).downstream() & selection,
        partitions_def=graph.partitions_def,
        description=(
            f"Ingest {model.name}'s labels for the day that is label_delay_days old, and "
            "recompute what depends on them."
        ),
        tags={"driftwarden/model": model.name},
    )
    defs.jobs.extend([monitor_job, labels_job])
    monitor_schedule = f"monitor_{model.name}_daily"
    defs.schedules.append(
        dg.build_schedule_from_partitioned_job(
            monitor_job,
            name=monitor_schedule,
            hour_of_day=1,
            description=(
                f"Run monitor_{model.name} every day at 01:00 UTC for the day that just "
                f"ended. {starts_stopped(monitor_schedule)}"
            ),
        )
    )
    defs.schedules.append(_labels_schedule(model, labels_job))
    return graph, defs


def starts_stopped(schedule_name: str) -> str:
    """The sentence every schedule that starts stopped ends its description with."""
    return (
        "Starts stopped: turn it on with its toggle in the UI (Automation), or "
        f"`dagster schedule start {schedule_name} -w workspace.yaml` with DAGSTER_HOME "
        "set to the instance folder (.driftwarden/dagster)."
    )


def _labels_schedule(model: ModelConfig, job) -> dg.ScheduleDefinition:
    delay = model.label_delay_days
    name = f"labels_{model.name}_daily"

    @dg.schedule(
        job=job,
        cron_schedule="30 2 * * *",
        name=name,
        description=(
            f"Run labels_{model.name} every day at 02:30 UTC for the day whose labels are "
            f"due ({delay} day(s) of label delay). {starts_stopped(name)}"
        ),
    )
    def _schedule(context: dg.ScheduleEvaluationContext):
        due = (context.scheduled_execution_time.date() - dt.timedelta(days=delay + 1)).isoformat()
        pdef = partitions_for(model)
        if due not in pdef.get_partition_keys(dynamic_partitions_store=context.instance):
            return dg.SkipReason(f"{due} is outside {model.name}'s partitions")
        return dg.RunRequest(run_key=f"labels-{model.name}-{due}", partition_key=due)

    return _schedule
