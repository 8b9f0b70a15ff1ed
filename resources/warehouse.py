"""The warehouse: where metrics, profiles, findings and the alert outbox live.

This module owns the embedded backend (:class:`Warehouse`, a DuckDB file under
DRIFTWARDEN_HOME), :func:`open_warehouse` (the one place a location becomes a backend:
a ``postgresql://`` URL is :class:`~resources.warehouse_postgres.PostgresWarehouse`,
anything else a DuckDB file) and the Dagster resource around it. Both backends
implement :class:`monitoring_assets.core.ports.Warehouse` and share
:mod:`resources.warehouse_base`.

Writers use :meth:`Warehouse.replace` (delete-then-insert in one transaction), so a
rerun of a partition replaces its rows instead of duplicating them. Tables are declared
once in :mod:`monitoring_assets.core.tables`; :meth:`Warehouse.migrate` creates whatever
is missing. Table and column names are plain identifiers fixed in code (checked when a
spec is declared) and are quoted where SQL is built; every value is a bound parameter.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pandas as pd

from monitoring_assets.core.names import quote_ident
from monitoring_assets.core.ports import TableSpec, WarehouseError
from monitoring_assets.core.tables import (  # noqa: F401 (re-exported for the warehouse's users)
    LATENCY_HISTOGRAM,
    MONITOR_METRICS,
    PARTITION_LOG,
    TABLES,
)
from resources.warehouse_base import PartitionLog, frames_for, where_clause

POSTGRES_SCHEMES = ("postgresql://", "postgres://")
DUCKDB_SCHEME = "duckdb:///"


#: DuckDB's memory limit while a staged write (an iterable of frames) runs.
STAGED_WRITE_MEMORY = "128MB"


class Warehouse(PartitionLog):
    """A DuckDB-file warehouse.

    Connections are opened per operation so several processes (a run, the metrics
    exporter, the CLI) can take turns on one file; a writer that finds the file
    locked retries for ``lock_timeout`` seconds, then fails with a clear error.
    """

    _locks: dict[str, threading.Lock] = {}
    _synced: set[tuple[str, str]] = set()

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
                self._sync(con, spec)

    def _sync(self, con: duckdb.DuckDBPyConnection, spec: TableSpec) -> None:
        """Create ``spec``'s table, or add the columns it gained since it was created
        (once per process and file)."""
        con.execute(spec.ddl())
        key = (str(self.path.resolve()), spec.name)
        if key in self._synced:
            return
        for col, typ in spec.columns.items():
            con.execute(
                f"ALTER TABLE {quote_ident(spec.name)} ADD COLUMN IF NOT EXISTS "
                f"{quote_ident(col)} {typ}"
            )
        self._synced.add(key)

    def replace(
        self, table: str, rows: pd.DataFrame | Iterable[pd.DataFrame], where: Mapping[str, Any]
    ) -> int:
        """Delete rows matching ``where`` (equality; a (lo, hi) inclusive range for a tuple;
        membership for a list), then insert ``rows``, in one transaction. Returns rows
        inserted.

        ``rows`` may be an iterable of frames: they are appended one at a time to a
        staging table (DuckDB keeps a transaction's own appends in memory, a staged
        ``INSERT ... SELECT`` it writes straight to the file), then the delete and one
        insert from the staging table run in one transaction; the staging table is
        dropped whatever happens, and readers never see a partial write."""
        spec, frames = frames_for(table, rows)
        clause, params = where_clause(where, spec)
        target = quote_ident(spec.name)
        staged = not isinstance(rows, pd.DataFrame)
        stage = TableSpec(f"_stage_{uuid.uuid4().hex[:16]}", spec.columns)
        inserted = 0
        with self.connect() as con:
            self._sync(con, spec)
            try:
                if staged:
                    # DuckDB keeps written blocks cached up to its memory limit (most of
                    # the machine's memory by default): a year of staged profile rows
                    # stayed resident. Capped, they are evicted to the file as written.
                    con.execute("SET memory_limit = ?", [STAGED_WRITE_MEMORY])
                    con.execute(stage.ddl())
                    inserted = self._append(con, quote_ident(stage.name), frames)
                con.execute("BEGIN TRANSACTION")
                try:
                    con.execute(f"DELETE FROM {target} WHERE {clause}", params)
                    if staged:
                        con.execute(
                            f"INSERT INTO {target} BY NAME SELECT * FROM {quote_ident(stage.name)}"
                        )
                    else:
                        inserted = self._append(con, target, frames)
                    con.execute("COMMIT")
                except Exception:
                    con.execute("ROLLBACK")
                    raise
            except Exception as exc:
                raise WarehouseError(
                    f"write to {table!r} where {dict(where)} failed: {exc}"
                ) from exc
            finally:
                if staged:
                    con.execute(f"DROP TABLE IF EXISTS {quote_ident(stage.name)}")
        return inserted

    @staticmethod
    def _append(con: duckdb.DuckDBPyConnection, target: str, frames: Iterable[pd.DataFrame]) -> int:
        n = 0
        for frame in frames:
            if len(frame):
                con.register("_incoming", frame)
                con.execute(f"INSERT INTO {target} BY NAME SELECT * FROM _incoming")
                con.unregister("_incoming")
                n += len(frame)
        return n

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


def open_warehouse(location: str | Path, lock_timeout: float | None = None):
    """The warehouse at ``location``: a ``postgresql://`` URL, or a DuckDB file path
    (optionally ``duckdb:///path``). ``lock_timeout`` (seconds a writer waits for
    another) defaults to the backend's own.

    Every entry point (the Dagster resource, the CLI, the demo, the exporter, the stream
    consumer) opens its warehouse here, typically as
    ``open_warehouse(home.warehouse_location)``.
    """
    text = str(location)
    options = {} if lock_timeout is None else {"lock_timeout": lock_timeout}
    if text.startswith(POSTGRES_SCHEMES):
        from resources.warehouse_postgres import PostgresWarehouse

        return PostgresWarehouse(text, **options)
    return Warehouse(text.removeprefix(DUCKDB_SCHEME), **options)


def is_server(location: str | Path) -> bool:
    """Whether ``location`` names a warehouse server rather than a DuckDB file."""
    return str(location).startswith(POSTGRES_SCHEMES)


class WarehouseResource(dg.ConfigurableResource):
    """The warehouse as a Dagster resource. ``path`` is a DuckDB file path or a
    ``postgresql://`` URL (see :func:`open_warehouse`)."""

    path: str

    def get(self) -> Warehouse:
        return open_warehouse(self.path)
