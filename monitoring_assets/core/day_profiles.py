"""Day profiles of a model's inference logs: computed from the lake, kept in the warehouse.

A day profile (:class:`~monitoring_assets.core.profile.DatasetProfile`) holds the
features, the prediction and the probability of one inference-log partition. This
module owns their I/O over the storage ports: :func:`profile_days` reads the lake's
Parquet days in as few DuckDB passes as memory allows (chunks of whole days of about
:data:`CHUNK_ROWS` rows, so a 365-day backfill stays bounded), :func:`store_day_profiles`
and :func:`load_day_profiles` replace and read them in ``feature_profiles``.

Lake locations are the lake's own strings (:class:`~monitoring_assets.core.ports.Lake`):
existence is asked of the lake (``has_day``, ``has_partition``), never of a ``Path``,
and DuckDB gets them as bound parameters, never inside SQL text. Missing or unreadable input raises
:class:`MonitorInputError`, whose message says what to materialize; the Dagster shell
turns it into a run failure with the same words.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import duckdb
import pandas as pd

from monitoring_assets.core.config import ModelConfig
from monitoring_assets.core.lake_io import scan_connection
from monitoring_assets.core.metrics import INFERENCE_REQUESTS
from monitoring_assets.core.ports import Lake, Warehouse
from monitoring_assets.core.profile import (
    ColumnProfile,
    DatasetProfile,
    Kind,
    empty_profile,
    merge_profiles,
)
from monitoring_assets.core.profile_build import profile_partitions
from monitoring_assets.core.profile_rows import (
    DATASET_ROW,
    PROFILE_ROW_COLUMNS,
    profile_from_rows,
    profile_row_chunks,
)
from monitoring_assets.core.sql import ident
from monitoring_assets.core.tables import FEATURE_PROFILES_TABLE, MONITOR_METRICS

#: Rows profiled per DuckDB pass: a long backfill is split into chunks of whole days.
#: (A pass's memory grows with its rows: 3.1M rows took ~310 MB above the process's
#: base, 1M rows ~230 MB, in the same time.)
CHUNK_ROWS = 1_000_000
#: Profile rows read per warehouse query when a stored profile is rebuilt (whole
#: columns per query), so reading a wide profile never holds all its rows at once.
READ_ROWS = 1_000_000
#: Profile rows of several days read in one query by :func:`load_day_profiles`; more
#: are read day by day (a query's frame holds its strings as Python objects: ~300 MB
#: per million rows).
LOAD_ROWS = 250_000
#: Profile rows built and appended per frame by :func:`store_day_profiles`.
WRITE_ROWS = 100_000
#: Days of row counts the row-count rule compares a day with.
TRAILING_DAYS = 7
#: Weeks of the same weekday the weekday-aware row-count rule looks back over.
TRAILING_WEEKS = 4


class MonitorInputError(RuntimeError):
    """A monitor's input is missing or unreadable. The message names the model, the
    partition(s) and what to materialize; ``metadata`` holds the same facts as strings."""

    def __init__(self, message: str, metadata: Mapping[str, str] | None = None):
        super().__init__(message)
        self.metadata: dict[str, str] = dict(metadata or {})


def profiled_columns(model: ModelConfig) -> dict[str, Kind]:
    """Columns profiled per day: features, prediction (categorical; numerical for
    regression), probability (each class's, for multiclass)."""
    cols: dict[str, Kind] = {f.name: f.type for f in model.features}
    cols[model.columns.prediction] = model.target_kind
    for column in model.probability_columns.values():
        cols[column] = "numerical"
    return cols


def day_files(
    lake: Lake, model: ModelConfig, dataset: str, dates: Sequence[dt.date]
) -> dict[dt.date, str]:
    """The Parquet file of each of ``dates`` (as a string); every day must exist."""
    missing = [d.isoformat() for d in dates if not lake.has_day(model.name, dataset, d)]
    if missing:
        shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
        raise MonitorInputError(
            f"model {model.name!r}: {dataset} is not materialized for partition(s) "
            f"{shown} ({len(missing)} day(s)); materialize {model.name}/{dataset} first",
            {"missing_partitions": ", ".join(missing)},
        )
    return {d: lake.day_location(model.name, dataset, d) for d in dates}


def _chunks(files: Mapping[dt.date, str], max_rows: int) -> list[list[dt.date]]:
    """Whole days grouped so each DuckDB pass reads about ``max_rows`` rows at most."""
    con = scan_connection()
    try:
        # DuckDB names each file as it was given, so the strings map back to their days.
        meta = con.execute(
            "SELECT file_name, sum(num_rows) FROM parquet_file_metadata(?) GROUP BY file_name",
            [list(files.values())],
        ).fetchall()
    finally:
        con.close()
    rows = {str(f): int(n) for f, n in meta}
    chunks: list[list[dt.date]] = [[]]
    size = 0
    for d, f in sorted(files.items()):
        n = rows.get(f, 0)
        if chunks[-1] and size + n > max_rows:
            chunks.append([])
            size = 0
        chunks[-1].append(d)
        size += n
    return chunks


#: Profiles one chunk of days: ``(connection, paths, chunk, files, columns_by_file)`` ->
#: ``(day profiles by ISO date, anything else the caller collects)``.
ChunkProfiler = Callable[
    [duckdb.DuckDBPyConnection, list[str], list[dt.date], dict, dict[str, set[str]]],
    tuple[dict[str, DatasetProfile], Any],
]


def scan_day_chunks(
    lake: Lake,
    model: ModelConfig,
    dates: Sequence[dt.date],
    profile: ChunkProfiler,
    max_rows: int = CHUNK_ROWS,
) -> Iterator[tuple[dict[dt.date, DatasetProfile], Any]]:
    """The inference logs of ``dates`` profiled in as few DuckDB passes as memory allows,
    one ``(day profiles, extra)`` per chunk of days. A day with no rows gets an empty
    profile; a column absent from a day's file is marked not present (not all-null)."""
    kinds = profiled_columns(model)
    files = day_files(lake, model, "inference_logs", dates)
    for chunk in _chunks(files, max_rows):
        paths = [files[d] for d in chunk]
        con = scan_connection()
        try:
            schema = con.execute(
                "SELECT file_name, name FROM parquet_schema(?)", [paths]
            ).fetchall()
            have: dict[str, set[str]] = {}
            for f, name in schema:
                have.setdefault(str(f), set()).add(name)
            con.execute("SET preserve_insertion_order = false")
            parts, extra = profile(con, paths, chunk, files, have)
        except duckdb.Error as exc:
            raise MonitorInputError(
                f"model {model.name!r}: cannot profile inference_logs "
                f"{chunk[0]} .. {chunk[-1]}: {exc}"
            ) from exc
        finally:
            con.close()
        days: dict[dt.date, DatasetProfile] = {}
        for d in chunk:
            cols = have.get(files[d], set())
            prof = parts.get(d.isoformat()) or empty_profile(kinds, source_columns=cols)
            for name, kind in kinds.items():
                if name not in cols and prof.columns[name].present:
                    prof.columns[name] = ColumnProfile(
                        name, kind, "ABSENT", prof.rows, present=False
                    )
            days[d] = prof
        yield days, extra


def profile_days(
    lake: Lake, model: ModelConfig, dates: Sequence[dt.date], max_rows: int = CHUNK_ROWS
) -> dict[dt.date, DatasetProfile]:
    """Profiles of the inference logs of ``dates`` (see :func:`scan_day_chunks`)."""
    kinds = profiled_columns(model)

    def profile(con, paths, chunk, files, have):  # type: ignore[no-untyped-def]
        parts = profile_partitions(
            paths, kinds, partition_column="date", id_column=model.columns.id, connection=con
        )
        return parts, None

    out: dict[dt.date, DatasetProfile] = {}
    for days, _ in scan_day_chunks(lake, model, dates, profile, max_rows):
        out.update(days)
    return out


def store_day_profiles(
    wh: Warehouse,
    model: ModelConfig,
    profiles: Mapping[dt.date, DatasetProfile],
    chunk_rows: int = WRITE_ROWS,
) -> int:
    """Replace the stored profiles of these days, in one transaction; returns the rows
    written. Rows are built and written about ``chunk_rows`` at a time, so a long range
    or a wide model never holds all its profile rows at once."""
    if not profiles:
        return 0

    def frames() -> Iterator[pd.DataFrame]:
        pending: list[pd.DataFrame] = []
        size = 0
        for d, p in profiles.items():
            for rows in profile_row_chunks(p, chunk_rows):
                rows.insert(0, "partition_date", d)
                rows.insert(0, "model", model.name)
                pending.append(rows)
                size += len(rows)
                if size >= chunk_rows:
                    yield pd.concat(pending, ignore_index=True)
                    pending, size = [], 0
        if pending:
            yield pd.concat(pending, ignore_index=True)

    return wh.replace(
        FEATURE_PROFILES_TABLE.name,
        frames(),
        {"model": model.name, "partition_date": sorted(profiles)},
    )


def read_profile(
    wh: Warehouse, table: str, keys: Mapping[str, Any], max_rows: int = READ_ROWS
) -> DatasetProfile | None:
    """The profile stored as rows in ``table`` where the ``keys`` columns equal their
    values (None when there is none). A profile of more than ``max_rows`` rows is read
    in batches of whole columns, about ``max_rows`` rows per query, each rebuilt on its
    own; the result equals reading all rows at once, in the stored column order."""
    where = " AND ".join(f"{ident(k)} = ?" for k in keys)
    params = list(keys.values())
    t = ident(table)
    sizes = wh.query(
        f"SELECT {ident('column_name')}, count(*) AS n FROM {t} WHERE {where} "
        f"GROUP BY {ident('column_name')}",
        params,
    )
    if not len(sizes):
        return None
    cols = ", ".join(ident(c) for c in PROFILE_ROW_COLUMNS)
    if int(sizes["n"].sum()) <= max_rows:
        return profile_from_rows(wh.query(f"SELECT {cols} FROM {t} WHERE {where}", params))
    # The stored column order: that of the stats rows (one per column).
    order = wh.query(
        f"SELECT {ident('column_name')} FROM {t} WHERE {where} AND {ident('entry')} = ?",
        [*params, "stats"],
    )["column_name"].tolist()
    size = dict(zip(sizes["column_name"], sizes["n"].astype(int)))
    batches: list[list[str]] = [[]]
    rows = 0
    for name in order:
        if name == DATASET_ROW:
            continue
        if batches[-1] and rows + size[name] > max_rows:
            batches.append([])
            rows = 0
        batches[-1].append(name)
        rows += size[name]
    columns: dict[str, ColumnProfile] = {}
    first: DatasetProfile | None = None
    for names in batches:
        marks = ", ".join("?" * (len(names) + 1))
        part = profile_from_rows(
            wh.query(
                f"SELECT {cols} FROM {t} WHERE {where} AND {ident('column_name')} IN ({marks})",
                [*params, DATASET_ROW, *names],
            )
        )
        first = first or part
        columns.update(part.columns)
    assert first is not None
    return DatasetProfile(
        rows=first.rows,
        columns={name: columns[name] for name in order if name != DATASET_ROW},
        duplicate_ids=first.duplicate_ids,
        partitions=first.partitions,
    )


def load_day_profiles(
    wh: Warehouse,
    model: ModelConfig,
    dates: Iterable[dt.date],
    max_rows: int = LOAD_ROWS,
    read_rows: int = READ_ROWS,
) -> dict[dt.date, DatasetProfile]:
    """Stored day profiles of ``dates`` (days never profiled are absent): in one query
    when their rows are at most ``max_rows``, else day by day through
    :func:`read_profile` (whole columns, about ``read_rows`` rows per query)."""
    days = sorted(set(dates))
    if not days:
        return {}
    table = ident(FEATURE_PROFILES_TABLE.name)
    marks = ", ".join("?" * len(days))
    sizes = wh.query(
        f"SELECT partition_date, count(*) AS n FROM {table} "
        f"WHERE model = ? AND partition_date IN ({marks}) GROUP BY partition_date",
        [model.name, *days],
    )
    if int(sizes["n"].sum()) > max_rows:
        out: dict[dt.date, DatasetProfile] = {}
        for d in sorted(pd.Timestamp(x).date() for x in sizes["partition_date"]):
            keys = {"model": model.name, "partition_date": d}
            prof = read_profile(wh, FEATURE_PROFILES_TABLE.name, keys, read_rows)
            if prof is not None:
                out[d] = prof
        return out
    cols = ", ".join(ident(c) for c in ("partition_date", *PROFILE_ROW_COLUMNS))
    df = wh.query(
        f"SELECT {cols} FROM {table} WHERE model = ? AND partition_date IN ({marks})",
        [model.name, *days],
    )
    return {
        pd.Timestamp(d).date(): profile_from_rows(grp)
        for d, grp in df.groupby("partition_date", sort=True)
    }


def trailing_rows(
    wh: Warehouse,
    model: ModelConfig,
    dates: Sequence[dt.date],
    profiles: Mapping[dt.date, DatasetProfile],
    days: int = 7 * TRAILING_WEEKS,
) -> dict[dt.date, list[int | None]]:
    """Per day of ``dates``: the row counts of the ``days`` days before it, by lag
    (index 0 is the day before, oldest last), None where a day has no rows on record
    (this run's ``profiles`` first, else the stored profiles, else the day's ingested
    row count in ``monitor_metrics``). The ingested counts make a day's result the same
    whether the days before it were profiled before it or not yet, as when a backfill
    runs its chunks of days side by side after ingesting them."""
    if not dates:
        return {}
    since = min(dates) - dt.timedelta(days=days)
    ingested = wh.query(
        f"SELECT partition_date, {ident('value')} FROM {ident(MONITOR_METRICS.name)} "
        "WHERE model = ? AND metric = ? AND partition_date BETWEEN ? AND ?",
        [model.name, INFERENCE_REQUESTS.name, since, max(dates)],
    )
    df = wh.query(
        f"SELECT partition_date, {ident('count')} FROM {ident(FEATURE_PROFILES_TABLE.name)} "
        "WHERE model = ? AND column_name = ? AND partition_date BETWEEN ? AND ?",
        [model.name, DATASET_ROW, since, max(dates)],
    )
    known = {
        pd.Timestamp(d).date(): int(n) for d, n in zip(ingested.partition_date, ingested["value"])
    }
    known.update({pd.Timestamp(d).date(): int(n) for d, n in zip(df.partition_date, df["count"])})
    known.update({d: p.rows for d, p in profiles.items()})
    return {d: [known.get(d - dt.timedelta(days=k)) for k in range(1, days + 1)] for d in dates}


# --------------------------------------------------------------------------- windows


def window_reach(model: ModelConfig) -> int:
    """How many days before a day its drift window may reach (0: the day alone)."""
    w = model.window
    if w.min_rows is not None:
        return w.max_days - 1
    return (w.days or 1) - 1


def window_dates(
    model: ModelConfig, date: dt.date, profiles: Mapping[dt.date, DatasetProfile]
) -> list[dt.date]:
    """The profiled days the drift window ending on ``date`` covers, newest first:
    ``window.days: N`` — those of the N days ending on ``date``; ``window.min_rows: R``
    — ``date`` and as many trailing days as it takes to reach R rows, at most
    ``max_days`` days; no window — ``date`` alone. Days with no profile are skipped."""
    w = model.window
    out: list[dt.date] = []
    rows = 0
    for k in range(window_reach(model) + 1):
        d = date - dt.timedelta(days=k)
        if d not in profiles:
            continue
        out.append(d)
        rows += profiles[d].rows
        if w.min_rows is not None and rows >= w.min_rows:
            break
    return out


def window_label(dates: Sequence[dt.date], rows: int) -> str:
    """What a window covered, in words ("7 days 2026-06-01..2026-06-07, 1050 rows")."""
    if not dates:
        return "no profiled day"
    first, last = min(dates), max(dates)
    n = len(dates)
    return f"{n} day{'s' if n != 1 else ''} {first}..{last}, {rows} rows"


def window_profile(
    model: ModelConfig, date: dt.date, profiles: Mapping[dt.date, DatasetProfile]
) -> tuple[DatasetProfile | None, list[dt.date]]:
    """The merged profile of ``date``'s drift window (None when no day of it is
    profiled) and the days it covers; never a rescan."""
    days = window_dates(model, date, profiles)
    if not days:
        return None, []
    if len(days) == 1:
        return profiles[days[0]], days
    return merge_profiles([profiles[d] for d in days]), days
