"""The warehouse: where metrics, profiles, findings and the alert outbox live.

One small interface over DuckDB (the embedded default, a file under
DRIFTWARDEN_HOME) so the same monitors can write to another SQL store chosen by
configuration. Writers use :meth:`Warehouse.replace` (delete-then-insert in one
transaction), so a rerun of a partition replaces its rows instead of duplicating
them.

Tables are declared once in :mod:`monitoring_assets.core.tables`;
:meth:`Warehouse.migrate` creates whatever is missing.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pandas as pd

from monitoring_assets.core.ports import TableSpec, WarehouseError
from monitoring_assets.core.tables import (  # noqa: F401 (re-exported for the warehouse's users)
    LATENCY_HISTOGRAM,
    MONITOR_METRICS,
    PARTITION_LOG,
    TABLES,
)


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
        clause, params = _where(where)
        frame = rows[list(spec.columns)]
        with self.connect() as con:
            con.execute(spec.ddl())
            con.execute("BEGIN TRANSACTION")
            try:
                con.execute(f"DELETE FROM {table} WHERE {clause}", params)
                if len(frame):
                    con.register("_incoming", frame)
                    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _incoming")
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


def _where(where: Mapping[str, Any]) -> tuple[str, list[Any]]:
    if not where:
        raise WarehouseError(
            "replace() needs a non-empty 'where': refusing to replace a whole table"
        )
    parts, params = [], []
    for col, value in where.items():
        if isinstance(value, (list, set, frozenset)):
            values = sorted(value)
            if not values:
                raise WarehouseError(
                    f"replace() where {col!r} IN (): an empty list matches nothing"
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
