"""Segments: per-value profiles of a model's traffic (``segments:`` in the model file).

A segment is one value of a segment column (``country=DE``), or one bin of a numerical
one (``age=[30, 50)``). Per column, the ``segment_settings.top_k`` values with the most
reference rows are segments of their own; every other value is pooled as
``country=other`` and a missing value is ``country=(missing)``. Columns are segmented
one at a time, never crossed.

Profiles are the day profiles' kind (:class:`~monitoring_assets.core.profile.DatasetProfile`):
one DuckDB pass per segment column profiles every (day, segment) of a chunk of days at
once, on the same connection and file view as the logs, and they merge like day
profiles, so a small segment's window is a merge, never a rescan. Values reach DuckDB as
a registered table, names as quoted identifiers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import duckdb
import pandas as pd

from monitoring_assets.core.config import ModelConfig, Segment
from monitoring_assets.core.day_profiles import MonitorInputError, day_files, profiled_columns
from monitoring_assets.core.names import quote_ident
from monitoring_assets.core.ports import Warehouse
from monitoring_assets.core.profile import (
    EXACT_CAP,
    DatasetProfile,
    Kind,
    is_numeric_type,
    merge_profiles,
)
from monitoring_assets.core.profile_build import profile_partitions
from monitoring_assets.core.profile_rows import profile_from_rows, profile_to_rows
from monitoring_assets.core.sql import ident
from monitoring_assets.core.tables import SEGMENT_PROFILES_TABLE

#: The pooled segment of a column's values outside its top K.
OTHER = "other"
#: The segment of rows whose segment column is null.
MISSING = "(missing)"
_SEP = "\x1f"


def segment_key(column: str, value: str) -> str:
    """The one name of a segment everywhere (checks, alerts, metrics): ``country=DE``."""
    return f"{column}={value}"


def split_key(key: str) -> tuple[str, str]:
    """``country=DE`` -> ``('country', 'DE')``."""
    column, _, value = key.partition("=")
    return column, value


def bin_labels(bins: Sequence[float]) -> list[str]:
    """Labels of the bins below, between and above ``bins``: ``<0``, ``[0, 30)``, ``>=50``."""
    e = [f"{b:g}" for b in bins]
    return [f"<{e[0]}"] + [f"[{a}, {b})" for a, b in zip(e, e[1:])] + [f">={e[-1]}"]


@dataclass(frozen=True)
class SegmentPlan:
    """The segments of one column: the values monitored one by one (in reference-volume
    order), whether an ``other`` pool exists, and the reference row count of each."""

    column: str
    values: tuple[str, ...]
    bins: tuple[float, ...] | None = None
    pooled: bool = False
    reference_rows: Mapping[str, int] | None = None

    @property
    def keys(self) -> list[str]:
        vals = list(self.values) + ([OTHER] if self.pooled else [])
        return [segment_key(self.column, v) for v in vals]


def plan_segments(
    reference: pd.DataFrame | str, model: ModelConfig, *, top_k: int | None = None
) -> list[SegmentPlan]:
    """Each segment column's plan from the reference (a frame or a Parquet location).

    Raises ValueError naming the column when the reference lacks it."""
    k = top_k or model.segment_settings.top_k
    con = duckdb.connect()
    try:
        src = _reference_view(con, reference)
        have = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()}
        plans = []
        for seg in model.segments:
            if seg.column not in have:
                raise ValueError(
                    f"model {model.name!r}: segment column {seg.column!r} is not in the "
                    f"reference data (columns: {sorted(have)})"
                )
            plans.append(_plan(con, src, seg, k))
    finally:
        con.close()
    return plans


def _reference_view(con: duckdb.DuckDBPyConnection, reference: pd.DataFrame | str) -> str:
    if isinstance(reference, pd.DataFrame):
        con.register("_seg_ref", reference)
    else:
        con.read_parquet(reference).create_view("_seg_ref", replace=True)
    return "_seg_ref"


def _plan(con: duckdb.DuckDBPyConnection, src: str, seg: Segment, k: int) -> SegmentPlan:
    c = quote_ident(seg.column)
    if seg.bins is not None:
        labels = bin_labels(seg.bins)
        rows = con.execute(
            f"SELECT {_bin_index_sql(c, seg.bins)} AS i, count(*) FROM {src} "
            f"WHERE {c} IS NOT NULL GROUP BY 1"
        ).fetchall()
        counts = {labels[int(i)]: int(n) for i, n in rows}
        return SegmentPlan(seg.column, tuple(labels), tuple(seg.bins), False, counts)
    rows = con.execute(
        f"SELECT CAST({c} AS VARCHAR) AS v, count(*) AS n FROM {src} "
        f"WHERE {c} IS NOT NULL GROUP BY 1 ORDER BY n DESC, v"
    ).fetchall()
    top = rows[:k]
    counts = {str(v): int(n) for v, n in top}
    if len(rows) > k:
        counts[OTHER] = int(sum(n for _, n in rows[k:]))
    return SegmentPlan(seg.column, tuple(str(v) for v, _ in top), None, len(rows) > k, counts)


def _bin_index_sql(column_sql: str, bins: Sequence[float]) -> str:
    # Edges are finite floats validated by the model file, written as float literals.
    parts = [f"CAST({column_sql} >= {float(b)!r}::DOUBLE AS INTEGER)" for b in bins]
    return " + ".join(parts)


def _label_sql(con: duckdb.DuckDBPyConnection, plan: SegmentPlan, src: str) -> tuple[str, str]:
    """(FROM clause, label expression) adding the plan's segment label to ``src`` rows."""
    c = quote_ident(plan.column)
    if plan.bins is not None:
        labels = bin_labels(plan.bins)
        con.register("_seg_values", pd.DataFrame({"_i": range(len(labels)), "_v": labels}))
        frm = (
            f"{src} AS _s LEFT JOIN _seg_values ON "
            f"_seg_values._i = ({_bin_index_sql('_s.' + c, plan.bins)})"
        )
        label = (
            f"CASE WHEN _s.{c} IS NULL OR isnan(_s.{c}) THEN '{MISSING}' ELSE _seg_values._v END"
        )
        return frm, label
    con.register("_seg_values", pd.DataFrame({"_v": list(plan.values)}, dtype=object))
    frm = f"{src} AS _s LEFT JOIN _seg_values ON CAST(_s.{c} AS VARCHAR) = _seg_values._v"
    label = (
        f"CASE WHEN _s.{c} IS NULL THEN '{MISSING}' "
        f"WHEN _seg_values._v IS NOT NULL THEN _seg_values._v ELSE '{OTHER}' END"
    )
    return frm, label


def profile_segments(
    source: pd.DataFrame | Sequence[str],
    model: ModelConfig,
    plans: Sequence[SegmentPlan],
    *,
    partition_column: str | None = None,
    connection: duckdb.DuckDBPyConnection | None = None,
) -> dict[tuple[str, str], DatasetProfile]:
    """Profiles per (partition, segment) of ``source`` (a frame, or Parquet files with
    Hive ``date=`` folders), one grouped DuckDB pass per segment column. Without
    ``partition_column`` the partition is ``""``. A segment with no rows is absent."""
    return _profile(source, model, plans, partition_column, None, EXACT_CAP, connection)[1]


def profile_day_segments(
    source: pd.DataFrame | Sequence[str],
    model: ModelConfig,
    plans: Sequence[SegmentPlan],
    *,
    partition_column: str | None = None,
    id_column: str | None = None,
    exact_cap: int = EXACT_CAP,
    connection: duckdb.DuckDBPyConnection | None = None,
) -> tuple[dict[str, DatasetProfile], dict[tuple[str, str], DatasetProfile]]:
    """The day profiles and the (day, segment) profiles of ``source`` from one scan.

    The first plan's (day, segment) profiles are computed in one grouped pass and each
    day's profile is their merge: equal to
    :func:`~monitoring_assets.core.profile_build.profile_partitions` of the day (counts,
    extremes and value counts exactly; mean, M2 and rounding error are sums in another
    order, equal to about 1e-12 relative). What does not merge is computed per day from
    the same rows: the duplicate ids and which numerical columns have too many distinct
    values to count exactly (those are rounded in every segment of the pass, as in the
    day). Further plans each take one more pass over the same rows."""
    if not plans:
        raise ValueError("profile_day_segments needs at least one segment plan")
    return _profile(source, model, plans, partition_column, id_column or "", exact_cap, connection)


def _profile(
    source: pd.DataFrame | Sequence[str],
    model: ModelConfig,
    plans: Sequence[SegmentPlan],
    partition_column: str | None,
    id_column: str | None,
    exact_cap: int,
    connection: duckdb.DuckDBPyConnection | None,
) -> tuple[dict[str, DatasetProfile], dict[tuple[str, str], DatasetProfile]]:
    """(day profiles, segment profiles); day profiles only when ``id_column`` is not None
    ("" for none)."""
    kinds = profiled_columns(model)
    con = connection or duckdb.connect()
    days: dict[str, DatasetProfile] = {}
    out: dict[tuple[str, str], DatasetProfile] = {}
    try:
        if isinstance(source, pd.DataFrame):
            con.register("_seg_src", source)
        else:
            con.read_parquet(list(source), hive_partitioning=True, union_by_name=True).create_view(
                "_seg_src", replace=True
            )
        if partition_column is not None:
            pk = f"CAST(_s.{quote_ident(partition_column)} AS VARCHAR)"
        else:
            pk = "''"
        schema = {r[0]: r[1] for r in con.execute("DESCRIBE SELECT * FROM _seg_src").fetchall()}
        if partition_column is not None and partition_column not in schema:
            raise ValueError(
                f"partition column {partition_column!r} is not in the data; "
                f"columns: {sorted(schema)}"
            )
        keep = [c for c in kinds if c in schema]
        # Parquet is cheaper to rescan (only the columns each statement needs) than to copy.
        kind = "TABLE" if isinstance(source, pd.DataFrame) else "VIEW"
        cols = "".join(f"_s.{quote_ident(c)}, " for c in keep)
        with_days = id_column is not None
        ids = id_column if id_column and id_column in schema else None
        rounded: set[str] | None = None
        dups: dict[str, int] = {}
        if with_days:
            rounded, dups = _day_facts(con, kinds, schema, pk, ids, exact_cap)
        for n, plan in enumerate(plans):
            frm, label = _label_sql(con, plan, "_seg_src")
            # One scan of the logs into the rows the profile reads, keyed by (day, segment):
            # the profile's several statements then read this table, not the files again.
            con.execute(
                f"CREATE OR REPLACE TEMP {kind} _seg_rows AS SELECT {cols}"
                f"{pk} || chr(31) || ({label}) AS _segkey FROM {frm}"
            )
            parts = profile_partitions(
                con.table("_seg_rows"),
                kinds,
                partition_column="_segkey",
                exact_cap=exact_cap,
                connection=con,
                round_columns=rounded,
            )
            con.execute(f"DROP {kind} IF EXISTS _seg_rows")
            con.unregister("_seg_values")
            by_day: dict[str, list[DatasetProfile]] = {}
            for key, prof in parts.items():
                part, _, value = key.partition(_SEP)
                out[(part, segment_key(plan.column, value))] = prof
                by_day.setdefault(part, []).append(prof)
            if with_days and n == 0:
                for part, profs in by_day.items():
                    merged = merge_profiles(profs, exact_cap=_NEVER)
                    days[part] = DatasetProfile(
                        merged.rows, merged.columns, dups.get(part) if ids else None
                    )
    finally:
        if connection is None:
            con.close()
    return days, out


#: An exact cap no merge reaches: columns counted exactly in the segments stay exact.
_NEVER = 2**62


def _day_facts(
    con: duckdb.DuckDBPyConnection,
    kinds: Mapping[str, Kind],
    schema: Mapping[str, str],
    pk: str,
    ids: str | None,
    exact_cap: int,
) -> tuple[set[str], dict[str, int]]:
    """What does not merge from segments into the day, computed per day of ``_seg_src``
    as :func:`~monitoring_assets.core.profile_build.profile_partitions` does: the
    numerical columns some day has more than ``exact_cap`` distinct finite values of
    (rounded in every segment of the pass), and the duplicate ids of each day."""
    numeric = [
        c
        for c, k in kinds.items()
        if k != "categorical" and c in schema and is_numeric_type(schema[c])
    ]
    aggs = [
        f"count(_s.{quote_ident(ids)}) - count(DISTINCT hash(_s.{quote_ident(ids)}))"
        if ids
        else "0"
    ]
    for c in numeric:
        x = f"CAST(_s.{quote_ident(c)} AS DOUBLE)"
        aggs.append(f"approx_count_distinct(CASE WHEN isfinite({x}) THEN {x} END)")
    got = con.execute(
        f"SELECT {pk} AS _day, {', '.join(aggs)} FROM _seg_src AS _s GROUP BY _day"
    ).fetchall()
    rounded = {c for i, c in enumerate(numeric) if any((r[i + 2] or 0) > exact_cap for r in got)}
    return rounded, {str(r[0]): int(r[1]) for r in got}


def profile_segment_days(
    lake, model: ModelConfig, plans: Sequence[SegmentPlan], dates: Sequence[dt.date]
) -> dict[tuple[dt.date, str], DatasetProfile]:
    """Segment profiles of the inference logs of ``dates``. A day whose file lacks a
    segment column raises :class:`MonitorInputError` naming the column and the day."""
    if not plans:
        return {}
    files = day_files(lake, model, "inference_logs", dates)
    con = duckdb.connect()
    try:
        schema = con.execute(
            "SELECT file_name, name FROM parquet_schema(?)", [list(files.values())]
        ).fetchall()
        have: dict[str, set[str]] = {}
        for f, name in schema:
            have.setdefault(str(f), set()).add(name)
        for d, f in sorted(files.items()):
            lacking = [p.column for p in plans if p.column not in have.get(f, set())]
            if lacking:
                raise MonitorInputError(
                    f"model {model.name!r}: segment column(s) {lacking} missing from "
                    f"inference_logs of {d} ({f}); add the column or remove it from segments",
                    {"segment_columns": ", ".join(lacking), "partition": d.isoformat()},
                )
        con.execute("SET preserve_insertion_order = false")
        parts = profile_segments(
            list(files.values()), model, plans, partition_column="date", connection=con
        )
    except duckdb.Error as exc:
        raise MonitorInputError(
            f"model {model.name!r}: cannot profile segments of inference_logs: {exc}"
        ) from exc
    finally:
        con.close()
    return {(dt.date.fromisoformat(p), seg): prof for (p, seg), prof in parts.items()}


# --------------------------------------------------------------------------- stored


def store_segment_profiles(
    wh: Warehouse,
    model: ModelConfig,
    profiles: Mapping[tuple[dt.date, str], DatasetProfile],
    dates: Sequence[dt.date],
) -> int:
    """Replace the segment profiles of ``dates`` in ``segment_profiles``; rows written."""
    frames = []
    for (d, seg), prof in profiles.items():
        rows = profile_to_rows(prof)
        rows.insert(0, "segment", seg)
        rows.insert(0, "partition_date", d)
        rows.insert(0, "model", model.name)
        frames.append(rows)
    cols = list(SEGMENT_PROFILES_TABLE.columns)
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)
    return wh.replace(
        SEGMENT_PROFILES_TABLE.name,
        frame[cols],
        {"model": model.name, "partition_date": sorted(dates)},
    )


def load_segment_profiles(
    wh: Warehouse, model: ModelConfig, dates: Sequence[dt.date]
) -> dict[tuple[dt.date, str], DatasetProfile]:
    """Stored segment profiles of ``dates`` (absent when never stored)."""
    if not dates:
        return {}
    cols = ", ".join(ident(c) for c in SEGMENT_PROFILES_TABLE.columns)
    df = wh.query(
        f"SELECT {cols} FROM {ident(SEGMENT_PROFILES_TABLE.name)} WHERE {ident('model')} = ? "
        f"AND {ident('partition_date')} IN ({', '.join('?' for _ in dates)})",
        [model.name, *dates],
    )
    out: dict[tuple[dt.date, str], DatasetProfile] = {}
    for (d, seg), rows in df.groupby(["partition_date", "segment"], sort=True):
        day = d.date() if hasattr(d, "date") else d
        out[(day, str(seg))] = profile_from_rows(
            rows.drop(columns=["model", "partition_date", "segment"])
        )
    return out


def segment_problems(reference: pd.DataFrame, model: ModelConfig) -> list[str]:
    """What ``validate`` refuses about the model's segments, given its reference: a
    missing column, a categorical with more than ``segment_settings.max_values`` values
    (refused, not bucketed: an identifier is not a segment), a numerical column without
    bins (unless it has at most ``top_k`` values), bins on a non-numerical column."""
    out = []
    s = model.segment_settings
    for seg in model.segments:
        if seg.column not in reference.columns:
            out.append(f"segment column {seg.column!r} is not in the reference")
            continue
        col = reference[seg.column]
        numeric = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
        n = int(col.nunique(dropna=True))
        if seg.binned and not numeric:
            out.append(f"segment {seg.column!r} has bins but holds {col.dtype}, not numbers")
        elif not seg.binned and numeric and n > s.top_k:
            out.append(
                f"segment {seg.column!r} is numerical with {n} distinct values: give its bins, "
                f"e.g. {{column: {seg.column}, bins: [0, 30, 50]}}"
            )
        elif not seg.binned and n > s.max_values:
            out.append(
                f"segment {seg.column!r} has {n} distinct values in the reference "
                f"(> segment_settings.max_values {s.max_values}): refused, an identifier-like "
                "column is not a segment; segment on a coarser column"
            )
    return out
