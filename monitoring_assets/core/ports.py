"""The ports: what the core needs from the outside world, implemented by ``resources/``.

The core (profiles, drift, quality, performance, retraining, alerts) talks to storage only
through these protocols; the DuckDB/Postgres warehouses, the local/pyarrow lakes and the
model registry in ``resources/`` implement them, and ``monitoring_assets/definitions.py``
chooses which.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pandas as pd


@dataclass(frozen=True)
class TableSpec:
    """A warehouse table: ordered ``columns`` (name -> portable SQL type) and its key."""

    name: str
    columns: Mapping[str, str]
    key: Sequence[str] = field(default_factory=tuple)

    def ddl(self) -> str:
        cols = ", ".join(f"{c} {t}" for c, t in self.columns.items())
        pk = f", PRIMARY KEY ({', '.join(self.key)})" if self.key else ""
        return f"CREATE TABLE IF NOT EXISTS {self.name} ({cols}{pk})"


class WarehouseError(RuntimeError):
    """A warehouse operation failed; the message names the table and the rows concerned."""


class Warehouse(Protocol):
    """Tables of metrics, profiles, findings and the alert outbox (DuckDB or Postgres)."""

    def migrate(self, tables: Sequence[TableSpec] | None = None) -> Any: ...

    def replace(self, table: str, rows: pd.DataFrame, where: Mapping[str, Any]) -> int:
        """Delete the rows matching ``where``, insert ``rows``, in one transaction."""
        ...

    def query(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame: ...

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None: ...

    def log_partitions(self, *args: Any, **kwargs: Any) -> Any: ...


class StagedPartition(Protocol):
    """A partition written to a staging place, made visible by :meth:`commit`."""

    def commit(self) -> Any: ...

    def discard(self) -> None: ...


class Lake(Protocol):
    """Hive-partitioned Parquet: inference logs, labels, references (local or object storage)."""

    def dataset_dir(self, model: str, dataset: str) -> Any: ...

    def partition_dir(self, model: str, dataset: str, key: str) -> Any: ...

    def stage(self, model: str, dataset: str, key: str, frame: pd.DataFrame) -> StagedPartition: ...

    def write_day(self, model: str, dataset: str, date: dt.date, frame: pd.DataFrame) -> Any: ...

    def day_path(self, model: str, dataset: str, date: dt.date) -> Any: ...

    def read_day(self, model: str, dataset: str, date: dt.date) -> pd.DataFrame: ...

    def has_day(self, model: str, dataset: str, date: dt.date) -> bool: ...
