"""The ports: what the core needs from the outside world, implemented by ``resources/``.

The core (profiles, drift, quality, performance, retraining, alerts) talks to storage only
through these protocols; the DuckDB/Postgres warehouses and the local/pyarrow lakes in
``resources/`` implement them. ``resources.warehouse.open_warehouse`` and
``resources.lake.open_lake`` turn a location into an adapter, and
``monitoring_assets/definitions.py`` (``build_resources``) is where the code location's
resources are chosen.

The lake's layout (:data:`PART_FILE`, :func:`date_key`, :func:`version_key`) is part of
the contract: every adapter writes the same Hive-style paths.

The alert channel port (``Channel``, ``DeliveryError``) lives with the alerts, in
:mod:`monitoring_assets.core.alerts.channels`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Protocol

import pandas as pd

from monitoring_assets.core.names import check_partition_key, check_safe_name, quote_ident

# Table and column names are plain identifiers fixed in code (checked when a spec is
# declared) and quoted where SQL is built; every value is a bound parameter.
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


class WarehouseError(RuntimeError):
    """A warehouse operation failed; the message names the table and the rows concerned."""


class WarehouseConnection(Protocol):
    """One open warehouse connection, DuckDB-shaped on every backend.

    ``execute("BEGIN TRANSACTION")`` / ``"COMMIT"`` / ``"ROLLBACK"`` delimit a transaction;
    ``register(name, frame)`` makes ``frame`` readable as table ``name`` (for
    ``INSERT INTO t BY NAME SELECT * FROM name``) until :meth:`unregister`.
    """

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> Any: ...

    def register(self, name: str, frame: pd.DataFrame) -> Any: ...

    def unregister(self, name: str) -> Any: ...


class Warehouse(Protocol):
    """Tables of metrics, profiles, findings and the alert outbox (DuckDB or Postgres)."""

    def migrate(self, tables: Sequence[TableSpec] | None = None) -> Any: ...

    def replace(
        self, table: str, rows: pd.DataFrame | Iterable[pd.DataFrame], where: Mapping[str, Any]
    ) -> int:
        """Delete the rows matching ``where``, insert ``rows``, in one transaction.
        ``rows`` may be an iterable of frames, inserted one at a time (read lazily, so
        a long write never holds all its rows; an error while reading rolls back)."""
        ...

    def query(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame: ...

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None: ...

    def log_partitions(self, *args: Any, **kwargs: Any) -> Any: ...

    def connect(self, read_only: bool = False) -> AbstractContextManager[WarehouseConnection]:
        """An open connection (read-only if asked), e.g. to write several tables in one
        transaction."""
        ...


# The lake's layout, shared by every adapter: {root}/{model}/{dataset}/{key}/part-0.parquet,
# with key ``date=YYYY-MM-DD`` for daily partitions (Hive style, so DuckDB and Arrow read
# ``date`` as a column) and ``version=<v>`` for per-version snapshots.
PART_FILE = "part-0.parquet"


def date_key(date: dt.date) -> str:
    """The partition key of a day: ``date=YYYY-MM-DD``."""
    return f"date={date.isoformat()}"


def version_key(version: str) -> str:
    """The partition key of a model version's snapshot: ``version=<version>``."""
    return f"version={version}"


class StagedPartition(Protocol):
    """A partition written to a staging place, made visible by :meth:`commit`."""

    def commit(self) -> str:
        """Put the partition in place; returns the location of its file."""
        ...

    def discard(self) -> None: ...


class Lake(Protocol):
    """Hive-partitioned Parquet: inference logs, labels, references (local or object storage).

    Locations are strings, never ``Path``: a local path for a folder on disk, the
    filesystem's own path (``bucket/prefix/...``) for object storage. Ask the lake
    whether a location exists (:meth:`exists`, :meth:`has_partition`, :meth:`has_day`)
    and read through it (:meth:`read_partition`, :meth:`read_day`, :meth:`open_input`):
    a location may not be on this machine's disk.
    """

    def date_key(self, date: dt.date) -> str: ...

    def dataset_location(self, model: str, dataset: str) -> str: ...

    def partition_location(self, model: str, dataset: str, key: str) -> str:
        """The folder of partition ``key``."""
        ...

    def file_location(self, model: str, dataset: str, key: str) -> str:
        """The Parquet file of partition ``key``."""
        ...

    def day_location(self, model: str, dataset: str, date: dt.date) -> str: ...

    def exists(self, location: str) -> bool: ...

    def has_partition(self, model: str, dataset: str, key: str) -> bool: ...

    def has_day(self, model: str, dataset: str, date: dt.date) -> bool: ...

    def open_input(self, location: str) -> BinaryIO:
        """A binary reader of the file at ``location`` (e.g. to hash it)."""
        ...

    def stage(self, model: str, dataset: str, key: str, frame: pd.DataFrame) -> StagedPartition: ...

    def write(self, model: str, dataset: str, key: str, frame: pd.DataFrame) -> str:
        """Replace partition ``key`` with ``frame``; returns its file's location."""
        ...

    def write_day(self, model: str, dataset: str, date: dt.date, frame: pd.DataFrame) -> str: ...

    def read_partition(self, model: str, dataset: str, key: str) -> pd.DataFrame:
        """Partition ``key``; ``FileNotFoundError`` naming it when absent."""
        ...

    def read_day(self, model: str, dataset: str, date: dt.date) -> pd.DataFrame: ...

    def days(self, model: str, dataset: str) -> list[dt.date]:
        """The days that have a partition, ascending."""
        ...


def lake_segments(model: str, dataset: str, key: str | None = None) -> list[str]:
    """The checked path segments ``[model, dataset(, key)]`` of a lake location.

    Model and dataset are safe names and a partition is ``key=<safe name>``
    (:mod:`monitoring_assets.core.names`), so no value can lead a write outside
    ``{root}/{model}/{dataset}``; ``ValueError`` names the bad segment.
    """
    out = [check_safe_name(model, "model name"), check_safe_name(dataset, "lake dataset")]
    if key is not None:
        out.append(check_partition_key(key, "lake partition"))
    return out
