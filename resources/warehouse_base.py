"""What every warehouse backend shares: table lookup, the checks and the ``where``
clause of ``replace``, and the ``partition_log`` writer.

The DuckDB (:mod:`resources.warehouse`) and Postgres (:mod:`resources.warehouse_postgres`)
backends both build on this module and never import each other, so a rule about what
``replace`` accepts is written once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import pandas as pd

from monitoring_assets.core.names import quote_ident
from monitoring_assets.core.ports import TableSpec, WarehouseError
from monitoring_assets.core.tables import PARTITION_LOG, TABLES


def table_spec(table: str) -> TableSpec:
    """The declared table ``table``; an unknown name is a :class:`WarehouseError`."""
    try:
        return TABLES[table]
    except KeyError:
        raise WarehouseError(
            f"unknown warehouse table {table!r}; registered: {sorted(TABLES)}"
        ) from None


def rows_for(table: str, rows: pd.DataFrame) -> tuple[TableSpec, pd.DataFrame]:
    """``rows`` in ``table``'s column order, refusing missing or unexpected columns."""
    spec = table_spec(table)
    missing = [c for c in spec.columns if c not in rows.columns]
    extra = [c for c in rows.columns if c not in spec.columns]
    if missing or extra:
        raise WarehouseError(
            f"rows for table {table!r} do not match its columns: "
            f"missing {missing}, unexpected {extra}"
        )
    return spec, rows[list(spec.columns)]


def frames_for(
    table: str, rows: pd.DataFrame | Iterable[pd.DataFrame]
) -> tuple[TableSpec, Iterator[pd.DataFrame]]:
    """``replace``'s rows as frames in ``table``'s column order, each checked by
    :func:`rows_for` as it is read (an iterable is read lazily, one frame at a time)."""
    spec = table_spec(table)
    if isinstance(rows, pd.DataFrame):
        return spec, iter([rows_for(table, rows)[1]])
    return spec, (rows_for(table, f)[1] for f in rows)


def where_clause(where: Mapping[str, Any], spec: TableSpec) -> tuple[str, list[Any]]:
    """SQL (``?`` placeholders) and parameters of ``replace``'s ``where``: equality; a
    ``(lo, hi)`` tuple is an inclusive range; a list or set is membership.

    Columns must be columns of ``spec`` and are quoted; values are always bound. An empty
    ``where`` (the whole table) and an empty list (matches nothing) are refused.
    """
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


class PartitionLog:
    """``partition_log`` writes shared by every warehouse backend (built on ``replace``)."""

    def replace(
        self, table: str, rows: pd.DataFrame | Iterable[pd.DataFrame], where: Mapping[str, Any]
    ) -> int:
        raise NotImplementedError

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
