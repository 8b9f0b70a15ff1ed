"""What the performance monitor reads and writes: lake days, the label log, stored rows.

Everything goes through the ports (:class:`~monitoring_assets.core.ports.Lake`,
:class:`~monitoring_assets.core.ports.Warehouse`); SQL binds every value and quotes
table names with :func:`~monitoring_assets.core.sql.ident`.

:class:`RangeWriter` collects a run's per-day rows and writes each table once, replacing
the run's dates (delete-then-insert), so reruns and range backfills are idempotent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from monitoring_assets.core.config import ModelConfig
from monitoring_assets.core.day_profiles import MonitorInputError
from monitoring_assets.core.performance.labels import join_model_labels
from monitoring_assets.core.ports import Lake, TableSpec, Warehouse
from monitoring_assets.core.sql import ident
from monitoring_assets.core.tables import MONITOR_METRICS, PARTITION_LOG

INFERENCE_LOGS = "inference_logs"
GROUND_TRUTH = "ground_truth"


class MissingPartition(MonitorInputError):
    """A day the monitor needs is not in the lake; says which asset to materialize."""

    def __init__(self, message: str, model: str, dataset: str, date: dt.date):
        super().__init__(message, {"partition": date.isoformat(), "model": model})
        self.model, self.dataset, self.date = model, dataset, date


def now() -> pd.Timestamp:
    """The time stamped on written rows (UTC, naive, as the tables store it)."""
    return pd.Timestamp.now(tz="UTC").tz_localize(None)


def read_day(lake: Lake, model: ModelConfig, dataset: str, date: dt.date) -> pd.DataFrame:
    """One day of ``dataset``; :class:`MissingPartition` naming what to materialize."""
    try:
        return lake.read_day(model.name, dataset, date)
    except FileNotFoundError as exc:
        raise MissingPartition(
            f"{exc}; materialize {model.name}/{dataset} for {date} first",
            model.name,
            dataset,
            date,
        ) from None


def read_labels(lake: Lake, model: ModelConfig, date: dt.date) -> pd.DataFrame | None:
    """The labels of ``date``'s predictions, or None if none were written."""
    if not lake.has_day(model.name, GROUND_TRUTH, date):
        return None
    return lake.read_day(model.name, GROUND_TRUTH, date)


def ground_truth_log(wh: Warehouse, model: str) -> dict[dt.date, str]:
    """Per day, whether its labels have ``arrived`` or are ``pending`` (from ``partition_log``)."""
    df = wh.query(
        f"SELECT partition_date, detail FROM {ident(PARTITION_LOG.name)} "
        "WHERE model = ? AND asset = ?",
        [model, GROUND_TRUTH],
    )
    return {
        pd.Timestamp(d).date(): str(s) for d, s in zip(df.partition_date, df.detail, strict=True)
    }


def days_to_measure(
    lake: Lake, wh: Warehouse, model: ModelConfig, dates: Sequence[dt.date]
) -> Iterator[tuple[dt.date, pd.DataFrame, pd.DataFrame | None, str]]:
    """Each of ``dates`` with what measuring it reads: its inference logs, its labels (None
    when not ingested) and the label log's state (``pending`` when never ingested)."""
    label_log = ground_truth_log(wh, model.name)
    for date in dates:
        yield (
            date,
            read_day(lake, model, INFERENCE_LOGS, date),
            read_labels(lake, model, date),
            label_log.get(date, "pending"),
        )


def days_to_estimate(
    lake: Lake, model: ModelConfig, dates: Sequence[dt.date]
) -> Iterator[tuple[dt.date, pd.DataFrame]]:
    """Each of ``dates`` with its inference logs (what a label-free estimate reads)."""
    for date in dates:
        yield date, read_day(lake, model, INFERENCE_LOGS, date)


def newest_monitored_day(wh: Warehouse, model: str) -> dt.date | None:
    """The newest day whose ``inference_logs`` partition was written, if any."""
    df = wh.query(
        f"SELECT max(partition_date) AS d FROM {ident(PARTITION_LOG.name)} "
        "WHERE model = ? AND asset = ?",
        [model, INFERENCE_LOGS],
    )
    last = df.d.iloc[0] if len(df) else None
    return pd.Timestamp(last).date() if last is not None and not pd.isna(last) else None


def stored_rows(
    wh: Warehouse, table: TableSpec, model: str, keys: list[str]
) -> dict[str, dict[str, Any]]:
    """Rows of ``table`` for ``model`` between the first and last partition key, by key
    (NaN read back as None)."""
    if not keys:
        return {}
    df = wh.query(
        f"SELECT * FROM {ident(table.name)} WHERE model = ? AND partition_date BETWEEN ? AND ?",
        [model, keys[0], keys[-1]],
    )
    out = {}
    for rec in df.to_dict("records"):
        rec = {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in rec.items()}
        out[pd.Timestamp(rec["partition_date"]).date().isoformat()] = rec
    return out


def labeled_window(
    model: ModelConfig, lake: Lake, wh: Warehouse, as_of: dt.date | None, window_days: int
) -> pd.DataFrame:
    """Labeled rows (features, target, the logged prediction and probability, and
    ``partition_date``) of the most recent ``window_days`` days whose labels have
    arrived, up to ``as_of``."""
    log = ground_truth_log(wh, model.name)
    days = sorted(d for d, s in log.items() if s == "arrived" and (as_of is None or d <= as_of))
    days = days[-window_days:]
    cols = model.columns
    frames = []
    for date in days:
        if not (
            lake.has_day(model.name, INFERENCE_LOGS, date)
            and lake.has_day(model.name, GROUND_TRUTH, date)
        ):
            continue
        inf = lake.read_day(model.name, INFERENCE_LOGS, date)
        lab = lake.read_day(model.name, GROUND_TRUTH, date)
        joined = join_model_labels(model, inf, lab)
        good = joined.labeled()[["request_id", "label"]]
        rows = inf.assign(_id=inf[cols.id].astype(str)).merge(
            good, left_on="_id", right_on="request_id", suffixes=("", "_j")
        )
        rows[cols.target] = rows["label"].astype(int)
        logged = [c for c in (cols.prediction, cols.probability) if c and c in rows]
        frames.append(
            rows[[*model.feature_names, cols.target, *logged]].assign(partition_date=date)
        )
    if not frames:
        return pd.DataFrame(columns=[*model.feature_names, cols.target, "partition_date"])
    return pd.concat(frames, ignore_index=True)


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
        """One day: its table row, its headline metrics (by metric name) and its log entry."""
        stamp = now()
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
                        "computed_at": stamp,
                    }
                )
        self.log[date] = (int(rows), detail)

    def flush(self) -> None:
        """Write the collected days (nothing if none were added)."""
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
