"""Read what the exporter serves from the warehouse, in one short read-only visit.

A :class:`Snapshot` is plain data (no prometheus-client types), so the collector,
the Pushgateway push and the tests share one reading of the warehouse:

- the latest partition of every (model, metric, feature) in ``monitor_metrics``;
- the daily row counts of ``model_inference_requests`` summed per (model, version);
- the cumulative latency buckets of ``latency_histogram`` summed over days;
- ``max(written_at)`` of ``partition_log`` per model (last successful monitoring run);
- open (firing) alerts per model and tier from ``alerts``, 0 when that table is absent.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from monitoring_assets.core import metrics as m
from monitoring_assets.core.ports import WarehouseError
from resources.warehouse import DUCKDB_SCHEME, Warehouse, is_server, open_warehouse


class SnapshotUnavailable(RuntimeError):
    """The warehouse could not be read now (typically: a run holds its file lock)."""


@dataclass(frozen=True)
class Sample:
    """One gauge value with its labels."""

    metric: str
    model: str
    version: str
    feature: str
    value: float
    partition_date: dt.date | None = None


@dataclass(frozen=True)
class Histogram:
    """Cumulative buckets (upper bound -> count, ending with +inf) for one model and version."""

    model: str
    version: str
    buckets: tuple[tuple[float, float], ...]
    sum_seconds: float

    @property
    def count(self) -> float:
        return self.buckets[-1][1] if self.buckets else 0.0


@dataclass(frozen=True)
class Snapshot:
    """Everything one scrape exposes, read at ``read_at`` (unix seconds)."""

    read_at: float
    read_seconds: float = 0.0
    samples: tuple[Sample, ...] = ()
    requests: tuple[tuple[str, str, float], ...] = ()  # (model, version, total rows)
    histograms: tuple[Histogram, ...] = ()
    last_success: tuple[tuple[str, float], ...] = ()  # (model, unix seconds)
    open_alerts: tuple[tuple[str, str, int], ...] = ()  # (model, tier, count)
    models: tuple[str, ...] = field(default=())

    @classmethod
    def empty(cls, read_at: float | None = None) -> Snapshot:
        return cls(read_at=time.time() if read_at is None else read_at)

    def latest_partition(self) -> dict[str, float]:
        """Per model, the newest partition date of the batch monitors' series in
        ``monitor_metrics`` (unix seconds); the stream's series are not counted."""
        return self._newest(stream=False)

    def stream_latest_partition(self) -> dict[str, float]:
        """Per model, the newest event day of the stream consumer's series (unix seconds)."""
        return self._newest(stream=True)

    def _newest(self, stream: bool) -> dict[str, float]:
        out: dict[str, float] = {}
        for s in self.samples:
            if s.partition_date is not None and (s.metric in m.STREAM_GAUGES) == stream:
                ts = _date_seconds(s.partition_date)
                out[s.model] = max(out.get(s.model, ts), ts)
        return out


def read_snapshot(path: str | Path, lock_timeout: float = 0.5) -> Snapshot:
    """Read a :class:`Snapshot` from the warehouse at ``path``: a DuckDB file or a
    ``postgresql://`` URL.

    A missing file is an empty warehouse (the file is not created); a missing table
    reads as empty. Raises :class:`SnapshotUnavailable` when the file cannot be
    opened within ``lock_timeout`` seconds (a writer holds its lock) or a query fails.
    """
    started = time.perf_counter()
    now = time.time()
    if is_server(path):
        rows = _read_server(str(path))
        return _assemble(now, started, *rows)
    path = Path(str(path).removeprefix(DUCKDB_SCHEME))
    if not path.exists():
        return Snapshot.empty(now)
    warehouse = Warehouse(path, lock_timeout=lock_timeout)
    try:
        with warehouse.connect(read_only=True) as con:
            # The key (model, partition_date, metric, feature) makes the latest row of
            # each series unique; arg_max_null keeps a NULL latest value (NaN), where
            # arg_max would silently fall back to an older day.
            metric_rows = _rows(
                con,
                """
                SELECT model,
                       coalesce(arg_max_null(model_version, partition_date), '') AS version,
                       metric, feature,
                       arg_max_null(value, partition_date) AS value,
                       max(partition_date) AS partition_date
                FROM (SELECT model, model_version, partition_date, metric,
                             coalesce(feature, '') AS feature, value
                      FROM monitor_metrics WHERE metric <> ?)
                GROUP BY model, metric, feature
                ORDER BY model, metric, feature
                """,
                [m.INFERENCE_REQUESTS.name],
            )
            request_rows = _rows(
                con,
                """
                SELECT model, coalesce(model_version, '') AS version, sum(value) AS total
                FROM monitor_metrics WHERE metric = ? AND isfinite(value)
                GROUP BY ALL ORDER BY ALL
                """,
                [m.INFERENCE_REQUESTS.name],
            )
            histogram_rows = _histogram_rows(con)
            run_rows = _rows(
                con,
                "SELECT model, max(written_at) AS written_at FROM partition_log GROUP BY model",
            )
            alert_rows = _rows(
                con,
                """
                SELECT model, tier, count(*) AS n FROM alerts
                WHERE status = 'firing' GROUP BY ALL
                """,
            )
    except WarehouseError as exc:
        raise SnapshotUnavailable(str(exc)) from exc
    except duckdb.Error as exc:
        raise SnapshotUnavailable(f"cannot read warehouse {path}: {exc}") from exc
    return _assemble(now, started, metric_rows, request_rows, histogram_rows, run_rows, alert_rows)


# The same reads in Postgres SQL (DISTINCT ON for "the latest row per series").
_PG_METRICS = """
    SELECT DISTINCT ON (model, metric, coalesce(feature, ''))
           model, coalesce(model_version, '') AS version, metric,
           coalesce(feature, '') AS feature, value, partition_date
    FROM monitor_metrics WHERE metric <> ?
    ORDER BY model, metric, coalesce(feature, ''), partition_date DESC
"""
_PG_REQUESTS = """
    SELECT model, coalesce(model_version, '') AS version, sum(value) AS total
    FROM monitor_metrics WHERE metric = ? AND value BETWEEN -1e308 AND 1e308
    GROUP BY 1, 2 ORDER BY 1, 2
"""
_PG_HISTOGRAM = """
    WITH day_version AS (
        SELECT model, partition_date, max(model_version) AS version
        FROM monitor_metrics WHERE metric = ? GROUP BY model, partition_date
    ), model_version AS (
        SELECT DISTINCT ON (model) model, version FROM day_version
        ORDER BY model, partition_date DESC
    )
    SELECT h.model, coalesce(d.version, mv.version, '') AS version, h.le,
           sum(h.count) AS count,
           sum(CASE WHEN h.le > 1e308 THEN h.sum_seconds ELSE 0 END) AS sum_seconds
    FROM latency_histogram h
    LEFT JOIN day_version d USING (model, partition_date)
    LEFT JOIN model_version mv ON mv.model = h.model
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
"""
_PG_RUNS = "SELECT model, max(written_at) AS written_at FROM partition_log GROUP BY model"
_PG_ALERTS = (
    "SELECT model, tier, count(*) AS n FROM alerts WHERE status = 'firing' GROUP BY model, tier"
)


def _read_server(url: str) -> tuple[list[tuple], ...]:
    """The snapshot's rows from a Postgres warehouse (tables it lacks read as empty)."""
    try:
        warehouse = open_warehouse(url)
        out = []
        for sql, params in (
            (_PG_METRICS, [m.INFERENCE_REQUESTS.name]),
            (_PG_REQUESTS, [m.INFERENCE_REQUESTS.name]),
            (_PG_HISTOGRAM, [m.INFERENCE_REQUESTS.name]),
            (_PG_RUNS, []),
            (_PG_ALERTS, []),
        ):
            try:
                frame = warehouse.query(sql, params)
            except Exception as exc:  # noqa: BLE001 - only "no such table" is expected
                if getattr(exc, "pgcode", None) != "42P01":  # undefined_table
                    raise
                out.append([])  # e.g. no alert was ever raised: the table is not there yet
                continue
            out.append(list(frame.itertuples(index=False, name=None)))
    except WarehouseError as exc:
        raise SnapshotUnavailable(str(exc)) from exc
    return tuple(out)


def _assemble(
    now: float,
    started: float,
    metric_rows: list[tuple],
    request_rows: list[tuple],
    histogram_rows: list[tuple],
    run_rows: list[tuple],
    alert_rows: list[tuple],
) -> Snapshot:
    """Build the :class:`Snapshot` from the rows of the five reads (either backend)."""
    samples = tuple(
        Sample(
            metric=str(metric),
            model=str(model),
            version=str(version),
            feature=str(feature),
            value=_float(value),
            partition_date=_date(partition_date),
        )
        for model, version, metric, feature, value, partition_date in metric_rows
    )
    requests = tuple((str(a), str(b), _float(c)) for a, b, c in request_rows)
    histograms = _histograms(histogram_rows)
    last_success = tuple(
        (str(model), _timestamp_seconds(ts)) for model, ts in run_rows if ts is not None
    )
    open_alerts = tuple(
        (str(model), str(tier), int(n)) for model, tier, n in alert_rows if tier in m.ALERT_TIERS
    )
    models = sorted(
        {s.model for s in samples}
        | {r[0] for r in requests}
        | {h.model for h in histograms}
        | {r[0] for r in last_success}
        | {r[0] for r in open_alerts}
    )
    return Snapshot(
        read_at=now,
        read_seconds=time.perf_counter() - started,
        samples=samples,
        requests=requests,
        histograms=histograms,
        last_success=last_success,
        open_alerts=open_alerts,
        models=tuple(models),
    )


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[tuple]:
    """Run a query; a table that does not exist yet reads as no rows."""
    try:
        return con.execute(sql, params or []).fetchall()
    except duckdb.CatalogException:
        return []


def _histogram_rows(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    # A day's version is the one its monitors recorded for the request count; a day
    # without one is labelled with the model's most recent such version.
    return _rows(
        con,
        """
        WITH day_version AS (
            SELECT model, partition_date, max(model_version) AS version
            FROM monitor_metrics WHERE metric = ? GROUP BY ALL
        ), model_version AS (
            SELECT model, arg_max(version, partition_date) AS version
            FROM day_version GROUP BY ALL
        )
        SELECT h.model, coalesce(d.version, mv.version, '') AS version, h.le,
               sum(h.count) AS count,
               sum(CASE WHEN h.le = 'inf'::DOUBLE THEN h.sum_seconds ELSE 0 END) AS sum_seconds
        FROM latency_histogram h
        LEFT JOIN day_version d USING (model, partition_date)
        LEFT JOIN model_version mv ON mv.model = h.model
        GROUP BY ALL
        ORDER BY 1, 2, 3
        """,
        [m.INFERENCE_REQUESTS.name],
    )


def _histograms(rows: Iterable[tuple]) -> tuple[Histogram, ...]:
    grouped: dict[tuple[str, str], list[tuple[float, float, float]]] = defaultdict(list)
    for model, version, le, count, sum_seconds in rows:
        grouped[(str(model), str(version))].append((_float(le), _float(count), _float(sum_seconds)))
    out = []
    for (model, version), rows_ in sorted(grouped.items()):
        buckets: list[tuple[float, float]] = []
        running = 0.0
        total_seconds = 0.0
        for le, count, seconds in sorted(rows_, key=lambda r: r[0]):
            if math.isnan(le):
                continue
            # Cumulative counts never decrease; a writer's slip must not make the
            # exposition invalid for histogram_quantile.
            running = max(running, 0.0 if math.isnan(count) else count)
            buckets.append((le, running))
            if not math.isnan(seconds):
                total_seconds += seconds
        if not buckets or not math.isinf(buckets[-1][0]):
            buckets.append((math.inf, running))
        out.append(Histogram(model, version, tuple(buckets), total_seconds))
    return tuple(out)


def _float(value: object) -> float:
    if value is None:
        return math.nan
    return float(value)  # type: ignore[arg-type]


def _date(value: object) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _date_seconds(day: dt.date) -> float:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()


def _timestamp_seconds(value: object) -> float:
    """Unix seconds of a warehouse TIMESTAMP (naive values are UTC, as the writers store them)."""
    if isinstance(value, dt.datetime):
        ts = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return ts.timestamp()
    if isinstance(value, dt.date):
        return _date_seconds(value)
    return dt.datetime.fromisoformat(str(value)).replace(tzinfo=dt.UTC).timestamp()
