"""The warehouse: where metrics, profiles, findings and the alert outbox live.

One small interface over DuckDB (the embedded default, a file under
DRIFTWARDEN_HOME) so the same monitors can write to another SQL store chosen by
configuration. Writers use :meth:`Warehouse.replace` (delete-then-insert in one
transaction), so a rerun of a partition replaces its rows instead of duplicating
them.

Tables are declared with :class:`TableSpec` and registered by the module that owns
them (``register_table``); :meth:`Warehouse.migrate` creates whatever is missing.

Table and column names are plain identifiers fixed in code (checked when a spec is
declared) and are quoted where SQL is built; every value is a bound parameter.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pandas as pd

from monitoring_assets.names import quote_ident

_PLAIN_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")


@dataclass(frozen=True)
class TableSpec:
    """A warehouse table: ordered ``columns`` (name -> portable SQL type) and its key."""

    name: str
    columns: Mapping[str, str]
    key: Sequence[str] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        for what, name in [("table", self.name), *(("column", c) for c in self.columns)]:
            if not _PLAIN_IDENTIFIER.fullmatch(name):
                raise ValueError(
                    f"warehouse {what} name {name!r} (table {self.name!r}) is not a plain "
                    "lowercase identifier"
                )
        unknown = [k for k in self.key if k not in self.columns]
        if unknown:
            raise ValueError(
                f"warehouse table {self.name!r}: key columns {unknown} are not columns"
            )

    def ddl(self) -> str:
        cols = ", ".join(f"{quote_ident(c)} {t}" for c, t in self.columns.items())
        pk = f", PRIMARY KEY ({', '.join(map(quote_ident, self.key))})" if self.key else ""
        return f"CREATE TABLE IF NOT EXISTS {quote_ident(self.name)} ({cols}{pk})"


TABLES: dict[str, TableSpec] = {}


def register_table(spec: TableSpec) -> TableSpec:
    """Declare a table; registering the same name with other columns is an error."""
    existing = TABLES.get(spec.name)
    if existing is not None and existing != spec:
        raise ValueError(f"warehouse table {spec.name!r} is declared twice with different columns")
    TABLES[spec.name] = spec
    return spec


# Every run that touches a model partition leaves a row here; the demo scorecard,
# the Prometheus exporter and freshness alerts read it.
PARTITION_LOG = register_table(
    TableSpec(
        "partition_log",
        {
            "model": "VARCHAR",
            "asset": "VARCHAR",
            "partition_date": "DATE",
            "rows": "BIGINT",
            "run_id": "VARCHAR",
            "written_at": "TIMESTAMP",
            "detail": "VARCHAR",
        },
        key=("model", "asset", "partition_date"),
    )
)


# The headline number of every monitor, one row per (model, partition, metric, feature):
# the Prometheus exporter, the demo scorecard and dashboards read this long table, so a
# new monitor shows up everywhere by writing here. ``feature`` is '' for model-level
# metrics. Metric names are the Prometheus names (ml_model_drift_score, model_accuracy…).
MONITOR_METRICS = register_table(
    TableSpec(
        "monitor_metrics",
        {
            "model": "VARCHAR",
            "model_version": "VARCHAR",
            "partition_date": "DATE",
            "metric": "VARCHAR",
            "feature": "VARCHAR",
            "value": "DOUBLE",
            "run_id": "VARCHAR",
            "computed_at": "TIMESTAMP",
        },
        key=("model", "partition_date", "metric", "feature"),
    )
)


# Cumulative bucket counts of logged inference latencies per model and day. ``le`` is
# the bucket's upper bound in seconds (+inf for the last bucket); ``count`` is how
# many requests of the day took at most ``le``; ``sum_seconds`` is the day's total
# latency, repeated on each bucket row (the exporter reads it from the +inf row).
LATENCY_HISTOGRAM = register_table(
    TableSpec(
        "latency_histogram",
        {
            "model": "VARCHAR",
            "partition_date": "DATE",
            "le": "DOUBLE",
            "count": "BIGINT",
            "sum_seconds": "DOUBLE",
        },
        key=("model", "partition_date", "le"),
    )
)


class WarehouseError(RuntimeError):
    """A warehouse operation failed; the message names the table and the rows concerned."""


class PartitionLog:
    """``partition_log`` writes shared by every warehouse backend (built on ``replace``)."""

    def log_partition(
        self, model: str, asset: str, partition_date, rows: int, run_id: str, detail: str = ""
    ) -> None:
        self.log_partitions(model, asset, {partition_date: (rows, detail)}, run_id)

    def log_partitions(
        self, model: str, asset: str, days: Mapping[Any, tuple[int, str]], run_id: str
    ) -> None:
        """Record that ``asset`` was written for each day: {date: (rows, detail)}."""
        now = pd.Timestamp.now(tz="UTC").tz_localize(None)
        frame = pd.DataFrame(
            [
                {
                    "model": model,
                    "asset": asset,
                    "partition_date": pd.Timestamp(d).date(),
                    "rows": int(rows),
                    "run_id": run_id,
                    "written_at": now,
                    "detail": detail,
                }
                for d, (rows, detail) in days.items()
            ],
            columns=list(PARTITION_LOG.columns),
        )
        if len(frame):
            self.replace(
                PARTITION_LOG.name,
                frame,
                {"model": model, "asset": asset, "partition_date": list(frame.partition_date)},
            )


class Warehouse(PartitionLog):
    """A DuckDB-file warehouse.

    Connections are opened per operation so several processes (a run, the metrics
    exporter, the CLI) can take turns on one file; a writer that finds the file
    locked retries for ``lock_timeout`` seconds, then fails with a clear error.
    """

    _locks: dict[str, threading.Lock] = {}

    def __init__(self, path: str | Path, lock_timeout: float = 30.0):
        self.path = Path(path)
        self.lock_timeout = lock_timeout
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = self._locks.setdefault(str(self.path.resolve()), threading.Lock())

    @property
    def url(self) -> str:
        return f"duckdb:///{self.path}"

    @contextlib.contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """Open a connection, retrying while another process holds the file lock."""
        if read_only and not self.path.exists():
            # DuckDB cannot open a missing file read-only; an empty warehouse is valid.
            self.migrate()
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.02
        with self._lock:
            while True:
                try:
                    con = duckdb.connect(str(self.path), read_only=read_only)
                    break
                except duckdb.IOException as exc:
                    if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                        raise WarehouseError(f"cannot open warehouse {self.path}: {exc}") from exc
                    time.sleep(delay)
                    delay = min(delay * 2, 0.5)
            try:
                yield con
            finally:
                con.close()

    def migrate(self, tables: Sequence[TableSpec] | None = None) -> None:
        """Create every registered table that does not exist yet."""
        specs = list(tables) if tables is not None else list(TABLES.values())
        with self.connect() as con:
            for spec in specs:
                con.execute(spec.ddl())

    def replace(self, table: str, rows: pd.DataFrame, where: Mapping[str, Any]) -> int:
        """Delete rows matching ``where`` (equality; a (lo, hi) inclusive range for a tuple;
        membership for a list), then insert ``rows``, in one transaction. Returns rows inserted."""
        spec = self._spec(table)
        missing = [c for c in spec.columns if c not in rows.columns]
        extra = [c for c in rows.columns if c not in spec.columns]
        if missing or extra:
            raise WarehouseError(
                f"rows for table {table!r} do not match its columns: missing {missing}, unexpected {extra}"
            )
        clause, params = _where(where, spec)
        frame = rows[list(spec.columns)]
        target = quote_ident(spec.name)
        with self.connect() as con:
            con.execute(spec.ddl())
            con.execute("BEGIN TRANSACTION")
            try:
                con.execute(f"DELETE FROM {target} WHERE {clause}", params)
                if len(frame):
                    con.register("_incoming", frame)
                    con.execute(f"INSERT INTO {target} BY NAME SELECT * FROM _incoming")
                    con.unregister("_incoming")
                con.execute("COMMIT")
            except Exception as exc:
                con.execute("ROLLBACK")
                raise WarehouseError(
                    f"write to {table!r} where {dict(where)} failed: {exc}"
                ) from exc
        return len(frame)

    def query(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        """Run a read query; an absent table reads as empty (after migrating)."""
        with self.connect() as con:
            try:
                return con.execute(sql, params or []).df()
            except duckdb.CatalogException:
                pass
        self.migrate()
        with self.connect() as con:
            return con.execute(sql, params or []).df()

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        with self.connect() as con:
            con.execute(sql, params or [])

    @staticmethod
    def _spec(table: str) -> TableSpec:
        try:
            return TABLES[table]
        except KeyError:
            raise WarehouseError(
                f"unknown warehouse table {table!r}; registered: {sorted(TABLES)}"
            ) from None


def _where(where: Mapping[str, Any], spec: TableSpec) -> tuple[str, list[Any]]:
    """``where`` as SQL with ``?`` parameters: columns of ``spec`` quoted, values bound."""
    if not where:
        raise WarehouseError(
            "replace() needs a non-empty 'where': refusing to replace a whole table"
        )
    unknown = [c for c in where if c not in spec.columns]
    if unknown:
        raise WarehouseError(f"replace() on {spec.name!r}: where names unknown column(s) {unknown}")
    parts, params = [], []
    for name, value in where.items():
        col = quote_ident(name)
        if isinstance(value, (list, set, frozenset)):
            values = sorted(value)
            if not values:
                raise WarehouseError(
                    f"replace() where {name!r} IN (): an empty list matches nothing"
                )
            parts.append(f"{col} IN ({', '.join('?' * len(values))})")
            params.extend(values)
        elif isinstance(value, tuple):
            parts.append(f"{col} BETWEEN ? AND ?")
            params.extend(value)
        else:
            parts.append(f"{col} = ?")
            params.append(value)
    return " AND ".join(parts), params


def open_warehouse(location: str | Path):
    """The warehouse at ``location``: a ``postgresql://`` URL, or a DuckDB file path
    (optionally ``duckdb:///path``)."""
    text = str(location)
    if text.startswith(("postgresql://", "postgres://")):
        from resources.warehouse_postgres import PostgresWarehouse

        return PostgresWarehouse(text)
    if text.startswith("duckdb:///"):
        text = text[len("duckdb:///") :]
    return Warehouse(text)


class WarehouseResource(dg.ConfigurableResource):
    """The warehouse as a Dagster resource. ``path`` is a DuckDB file path or a
    ``postgresql://`` URL (see :func:`open_warehouse`)."""

    path: str

    def get(self) -> Warehouse:
        return open_warehouse(self.path)
