"""Per-partition column profiles: the aggregates every drift and quality statistic needs.

A profile is built in one DuckDB pass over a partition (a pandas DataFrame or Parquet
files) and holds, per column: row, missing (NULL and NaN), +inf and -inf counts; the
finite count, min, max, mean and second central moment; and value counts.

Value counts are exact when a column has at most ``exact_cap`` distinct finite values
in the data profiled (categoricals, integers, prices, anything low-precision). Above
that, numerical values are rounded to ``sig_digits`` significant digits before they are
counted, so a day of a million continuous values keeps tens of thousands of entries.
Rounding moves each value by at most ``0.5 * 10**(1 - sig_digits) * |x|``; the profile
keeps the exact sum of ``|x - round(x)|`` so every statistic derived from rounded values
can state its own error bound (see :mod:`monitoring_assets.core.drift`). Min, max,
mean and standard deviation are always computed from the raw values.

Profiles merge (:func:`merge_profiles`): a window of days is a merge of day profiles,
not a rescan. They serialize to long warehouse rows (:func:`profile_to_rows`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import duckdb
import numpy as np
import pandas as pd

from monitoring_assets.core.names import quote_ident

Kind = Literal["numerical", "categorical"]

#: Significant digits kept when a numerical column is too varied to count exactly.
SIG_DIGITS = 4
#: Up to this many distinct finite values per column, value counts are exact.
EXACT_CAP = 20_000
#: Columns profiled per DuckDB statement. DuckDB's GROUPING() takes at most 64 columns,
#: and one statement of a few thousand aggregates (~230 numerical columns) kills the
#: process with a floating-point exception, so wide data is profiled in batches.
BATCH_COLUMNS = 48
MAX_BATCH_COLUMNS = 63
#: Numerical values fetched from DuckDB at a time to be counted (8 bytes each).
FETCH_CELLS = 4_000_000
#: Profile rows per frame written to the warehouse (:func:`profile_row_chunks`).
ROW_CHUNK = 500_000

#: ``column_name`` of the serialized profile's dataset-level row (rows, duplicate ids).
DATASET_ROW = "__dataset__"

#: Warehouse columns of a serialized profile (the shell adds model/partition keys).
PROFILE_ROW_COLUMNS: dict[str, str] = {
    "column_name": "VARCHAR",
    "entry": "VARCHAR",  # 'stats' (one row per column) or 'value' (one per distinct value)
    "num_value": "DOUBLE",
    "str_value": "VARCHAR",
    "count": "BIGINT",
    "stats": "VARCHAR",  # JSON of the scalar aggregates, on the 'stats' row
}

_NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT")
_NUMERIC_PREFIXES = ("FLOAT", "DOUBLE", "DECIMAL", "REAL", "USMALLINT", "UINTEGER", "UBIGINT")


def is_numeric_type(sql_type: str) -> bool:
    """Whether a DuckDB type name is a number (integers, floats, decimals)."""
    t = sql_type.upper()
    return t in _NUMERIC_TYPES or t.startswith(_NUMERIC_PREFIXES)


def is_integer_type(sql_type: str) -> bool:
    """Whether a DuckDB type name is an integer type (numpy's Sturges rule treats those apart)."""
    t = sql_type.upper()
    return t in _NUMERIC_TYPES or t in ("USMALLINT", "UINTEGER", "UBIGINT")


@dataclass
class ColumnProfile:
    """Aggregates of one column in one partition (or a merge of partitions).

    ``values``/``counts`` are the finite, non-missing values and their counts, sorted by
    value; numerical values are float64, categorical values strings. ``sig_digits`` is
    None when the counts are exact, else the significant digits values were rounded to,
    and ``abs_rounding_error`` is the exact sum of ``|x - round(x)|`` over those values.
    ``present`` is False when the column was absent from the data (all counts zero);
    ``error`` explains a column that could not be profiled (e.g. text in a numerical
    column).
    """

    name: str
    kind: Kind
    dtype: str
    rows: int
    missing: int = 0
    nan: int = 0
    pos_inf: int = 0
    neg_inf: int = 0
    count: int = 0
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    m2: float = 0.0
    values: np.ndarray = field(default_factory=lambda: np.empty(0))
    counts: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    sig_digits: int | None = None
    abs_rounding_error: float = 0.0
    present: bool = True
    error: str | None = None

    @property
    def exact(self) -> bool:
        """Whether the value counts are the raw values (no rounding)."""
        return self.sig_digits is None

    @property
    def std(self) -> float | None:
        """Population standard deviation of the finite values (numpy's default ddof=0)."""
        if self.count == 0 or self.mean is None:
            return None
        return math.sqrt(max(self.m2, 0.0) / self.count)

    @property
    def n_unique(self) -> int:
        """Distinct finite values (a lower bound when rounded; then it exceeds ``EXACT_CAP``)."""
        return len(self.values)

    @property
    def integer(self) -> bool:
        return is_integer_type(self.dtype)

    def stats_dict(self) -> dict:
        return {
            "kind": self.kind,
            "dtype": self.dtype,
            "rows": self.rows,
            "missing": self.missing,
            "nan": self.nan,
            "pos_inf": self.pos_inf,
            "neg_inf": self.neg_inf,
            "count": self.count,
            "min": self.min,
            "max": self.max,
            "mean": self.mean,
            "m2": self.m2,
            "sig_digits": self.sig_digits,
            "abs_rounding_error": self.abs_rounding_error,
            "present": self.present,
            "error": self.error,
        }


@dataclass
class DatasetProfile:
    """Profiles of the configured columns of one partition (or a merge of partitions).

    ``duplicate_ids`` counts rows whose id repeats an earlier row's id within the
    partition (None when no id column was profiled); it does not merge across
    partitions (an id repeated on two days is not counted).
    """

    rows: int
    columns: dict[str, ColumnProfile]
    duplicate_ids: int | None = None
    partitions: int = 1

    def __getitem__(self, name: str) -> ColumnProfile:
        try:
            return self.columns[name]
        except KeyError:
            raise KeyError(
                f"profile has no column {name!r}; profiled: {sorted(self.columns)}"
            ) from None


# --------------------------------------------------------------------------- building


_q = quote_ident


def _round_sql(expr: str, k: int) -> str:
    # Round to k significant digits; DuckDB's round(x, d) divides by 10^d, so values that
    # already have <= k significant decimal digits come back bit-identical.
    return (
        f"CASE WHEN {expr} = 0 OR NOT isfinite({expr}) THEN {expr} "
        f"ELSE round({expr}, ({k} - 1 - floor(log10(abs({expr}))))::INTEGER) END"
    )


def round_sig(values: np.ndarray, k: int) -> np.ndarray:
    """Round finite values to ``k`` significant digits exactly as profiles do (in DuckDB)."""
    if len(values) == 0:
        return np.asarray(values, dtype=float)
    con = duckdb.connect()
    try:
        frame = pd.DataFrame({"x": np.asarray(values, dtype=float)})
        con.register("v", frame)
        return con.execute(f"SELECT {_round_sql('x', k)} AS r FROM v").fetchnumpy()["r"]
    finally:
        con.close()


Source = pd.DataFrame | str | Path | Sequence[str | Path]


def _source_sql(con: duckdb.DuckDBPyConnection, source: Source) -> str:
    """The name of a relation on ``con`` reading ``source``. File paths are handed to
    DuckDB's relation API as values, never spliced into SQL text."""
    if isinstance(source, pd.DataFrame):
        con.register("_src_frame", source)
        return "_src_frame"
    if isinstance(source, (str, Path)):
        paths = [str(source)]
    else:
        if not source:
            raise ValueError("profile source is an empty list of Parquet files")
        paths = [str(s) for s in source]
    rel = con.read_parquet(paths, hive_partitioning=True, union_by_name=True)
    rel.create_view("_src_files", replace=True)
    return "_src_files"


def profile_partitions(
    source: Source,
    columns: Mapping[str, Kind],
    *,
    partition_column: str | None = None,
    id_column: str | None = None,
    sig_digits: int = SIG_DIGITS,
    exact_cap: int = EXACT_CAP,
    batch_columns: int = BATCH_COLUMNS,
    connection: duckdb.DuckDBPyConnection | None = None,
) -> dict[str, DatasetProfile]:
    """Profile ``columns`` (name -> kind) of ``source`` per value of ``partition_column``.

    ``source`` is a DataFrame, a Parquet path/glob or a list of Parquet paths (Hive
    folders such as ``date=...`` become columns). Columns are profiled in batches of
    ``batch_columns`` (:data:`BATCH_COLUMNS`), so any number of columns works and memory
    is bounded by one batch: per batch, one scan computes the scalar aggregates and one
    grouped scan the value counts of its columns, for every partition (Parquet reads only
    the batch's columns). Every column's profile is independent of the batching. Without
    ``partition_column`` the whole source is one partition keyed ``""``. Columns absent
    from the source are profiled as ``present=False``; a partition with no rows is simply
    absent from the result (callers decide what an empty day means). Column names reach
    SQL only as quoted identifiers, paths only as values.
    """
    if sig_digits < 1:
        raise ValueError(f"sig_digits must be >= 1, got {sig_digits}")
    if not 1 <= batch_columns <= MAX_BATCH_COLUMNS:
        raise ValueError(
            f"batch_columns must be between 1 and {MAX_BATCH_COLUMNS}, got {batch_columns}"
        )
    con = connection or duckdb.connect()
    try:
        src = _source_sql(con, source)
        schema = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()}
        if partition_column is not None and partition_column not in schema:
            raise ValueError(
                f"partition column {partition_column!r} is not in the data; columns: {sorted(schema)}"
            )
        pk = f"CAST({_q(partition_column)} AS VARCHAR)" if partition_column else "''"
        ids = id_column if id_column and id_column in schema else None
        work: list[tuple[str, Kind, str]] = []  # (name, declared kind, how profiled)
        for c, kind in columns.items():
            if c not in schema:
                continue
            how = "cat" if kind == "categorical" else "num"
            if how == "num" and not is_numeric_type(schema[c]):
                how = "bad"
            work.append((c, kind, how))
        batches = [work[i : i + batch_columns] for i in range(0, len(work), batch_columns)]
        # Parquet is cheaper to rescan (only the columns each query needs) than to copy.
        relation = "TABLE" if isinstance(source, pd.DataFrame) else "VIEW"
        rows: dict[str, int] = {}
        dups: dict[str, int | None] = {}
        profiled: dict[str, dict[str, ColumnProfile]] = {}
        for b, batch in enumerate(batches or [[]]):
            first = b == 0
            scanned = _profile_batch(
                con, src, pk, batch, schema, ids if first else None, relation, sig_digits, exact_cap
            )
            for key, (n, d, cols) in scanned.items():
                if first:
                    rows[key], dups[key] = n, d
                profiled.setdefault(key, {}).update(cols)
        if src == "_src_frame":
            con.unregister(src)
        else:
            con.execute(f"DROP VIEW IF EXISTS {src}")
    finally:
        if connection is None:
            con.close()

    out: dict[str, DatasetProfile] = {}
    for key, n in rows.items():
        cols = profiled.get(key, {})
        for name, kind in columns.items():
            if name not in schema:
                cols[name] = ColumnProfile(name, kind, "ABSENT", n, present=False)
        out[key] = DatasetProfile(n, {c: cols[c] for c in columns}, dups[key])
    return out


def _profile_batch(
    con: duckdb.DuckDBPyConnection,
    src: str,
    pk: str,
    batch: Sequence[tuple[str, Kind, str]],
    schema: Mapping[str, str],
    id_column: str | None,
    relation: str,
    sig_digits: int,
    exact_cap: int,
) -> dict[str, tuple[int, int | None, dict[str, ColumnProfile]]]:
    """Profiles of one batch of columns, per partition: {key: (rows, duplicate ids, columns)}."""
    numeric = [c for c, _, how in batch if how == "num"]
    categorical = [c for c, _, how in batch if how == "cat"]
    wrong_type = [c for c, _, how in batch if how == "bad"]

    # ---- pass 1: scalar aggregates per partition
    proj = [f"{pk} AS _pk"]
    for i, c in enumerate(numeric):
        proj.append(f"CAST({_q(c)} AS DOUBLE) AS n{i}")
    for i, c in enumerate(categorical + wrong_type):
        proj.append(f"CAST({_q(c)} AS VARCHAR) AS s{i}")
    if id_column:
        proj.append(f"{_q(id_column)} AS _id")
    base = f"SELECT {', '.join(proj)} FROM {src}"

    # Aggregates over f<i> (NULL unless finite) rather than FILTER clauses: same values,
    # same order, an order of magnitude faster in DuckDB.
    fin = [f"CASE WHEN isfinite(n{i}) THEN n{i} END AS f{i}" for i, _ in enumerate(numeric)]
    aggs = ["count(*) AS _rows"]
    for i, _ in enumerate(numeric):
        x, f = f"n{i}", f"f{i}"
        aggs += [
            f"count({x}) AS n{i}_nonnull",
            f"count_if(isnan({x})) AS n{i}_nan",
            f"count_if({x} = 'inf'::DOUBLE) AS n{i}_pinf",
            f"count_if({x} = '-inf'::DOUBLE) AS n{i}_ninf",
            f"min({f}) AS n{i}_min",
            f"max({f}) AS n{i}_max",
            f"avg({f}) AS n{i}_mean",
            f"var_pop({f}) AS n{i}_var",
            f"approx_count_distinct({f}) AS n{i}_acd",
        ]
    for i, _ in enumerate(categorical + wrong_type):
        aggs.append(f"count(s{i}) AS s{i}_valid")
    if id_column:
        # Distinct 64-bit hashes: a collision among n ids has probability ~ n^2 / 2^65
        # (3e-10 for 100k ids), and hashing avoids a distinct over the id strings.
        aggs.append("count(_id) - count(DISTINCT hash(_id)) AS _dups")
    con.execute(f"CREATE OR REPLACE TEMP {relation} _base AS {base}")
    with_f = f"(SELECT *{''.join(', ' + e for e in fin)} FROM _base)"
    scal = con.execute(
        f"SELECT _pk, hash(_pk) AS _pkh, {', '.join(aggs)} FROM {with_f} GROUP BY _pk ORDER BY _pk"
    ).df()

    # A column is counted exactly unless some partition has too many distinct values;
    # deciding per column (not per partition) keeps partitions mergeable as they are.
    rounded = {
        i
        for i, _ in enumerate(numeric)
        if len(scal) and int(scal[f"n{i}_acd"].fillna(0).max()) > exact_cap
    }

    # The rounding error is summed only where rounding happens (log10 is not free).
    if rounded:
        errs = ", ".join(
            f"sum(abs(f{i} - ({_round_sql(f'f{i}', sig_digits)}))) AS n{i}_err"
            for i in sorted(rounded)
        )
        err = con.execute(f"SELECT _pk, {errs} FROM {with_f} GROUP BY _pk ORDER BY _pk").df()
        scal = scal.merge(err, on="_pk", how="left")

    # ---- pass 2: value counts of the batch's columns, every partition
    keys = [str(k) for k in scal["_pk"]]
    value_counts = _value_counts(
        con,
        keys,
        scal["_pkh"].to_numpy(dtype=np.uint64),
        int(scal["_rows"].sum()),
        numeric,
        categorical,
        rounded,
        sig_digits,
    )
    con.execute(f"DROP {relation} IF EXISTS _base")

    out: dict[str, tuple[int, int | None, dict[str, ColumnProfile]]] = {}
    for _, r in scal.iterrows():
        key = str(r["_pk"])
        rows = int(r["_rows"])
        cols: dict[str, ColumnProfile] = {}
        for i, name in enumerate(numeric):
            nan = _i(r[f"n{i}_nan"])
            valid = _i(r[f"n{i}_nonnull"]) - nan
            pinf, ninf = _i(r[f"n{i}_pinf"]), _i(r[f"n{i}_ninf"])
            finite = valid - pinf - ninf
            vals, cnts = value_counts.get((key, f"v{i}"), (np.empty(0), np.empty(0, np.int64)))
            cols[name] = ColumnProfile(
                name,
                "numerical",
                schema[name],
                rows,
                missing=rows - valid,
                nan=nan,
                pos_inf=pinf,
                neg_inf=ninf,
                count=finite,
                min=_f(r[f"n{i}_min"]),
                max=_f(r[f"n{i}_max"]),
                mean=_f(r[f"n{i}_mean"]),
                m2=(_f(r[f"n{i}_var"]) or 0.0) * finite,
                values=np.asarray(vals, dtype=float),
                counts=cnts,
                sig_digits=sig_digits if i in rounded else None,
                abs_rounding_error=(_f(r[f"n{i}_err"]) or 0.0) if i in rounded else 0.0,
            )
        for i, name in enumerate(categorical):
            valid = _i(r[f"s{i}_valid"])
            vals, cnts = value_counts.get(
                (key, f"w{i}"), (np.empty(0, object), np.empty(0, np.int64))
            )
            cols[name] = ColumnProfile(
                name,
                "categorical",
                schema[name],
                rows,
                missing=rows - valid,
                count=valid,
                values=np.asarray(vals, dtype=object),
                counts=cnts,
            )
        for j, name in enumerate(wrong_type, start=len(categorical)):
            valid = _i(r[f"s{j}_valid"])
            cols[name] = ColumnProfile(
                name,
                "numerical",
                schema[name],
                rows,
                missing=rows - valid,
                error=f"column {name!r} is declared numerical but has type {schema[name]}",
            )
        dups = int(r["_dups"]) if "_dups" in r.index else None
        out[key] = (rows, dups, cols)
    return out


def _value_counts(
    con: duckdb.DuckDBPyConnection,
    keys: Sequence[str],
    key_hashes: np.ndarray,
    rows: int,
    numeric: Sequence[str],
    categorical: Sequence[str],
    rounded: set[int],
    sig_digits: int,
) -> dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]:
    """Value counts of ``_base``'s columns n0.. (numerical) and s0.. (categorical) in the
    partitions ``keys``: {(partition, v<i> | w<i>): (values sorted, counts)}.

    Numerical columns are fetched (rounded by DuckDB where needed) about
    :data:`FETCH_CELLS` values at a time and counted by sorting; categorical columns are
    stacked into (column, partition, value) and grouped in one statement. (DuckDB's
    GROUPING SETS allow 64 sets and slow down with many; hashing millions of distinct
    doubles is several times slower than sorting them.)"""
    out: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
    if not keys:
        return out
    # Rows are told apart by partition through hash(_pk), mapped back to the keys here
    # (a join with the keys would cost a hash join per fetch); a hash collision between
    # two keys falls back to the join.
    by_hash = np.argsort(key_hashes)
    hashed = len(keys) > 1 and len(np.unique(key_hashes)) == len(keys)
    joined = len(keys) > 1 and not hashed
    if numeric:
        src, code = "_base", "0"
        if hashed:
            code = "hash(_pk)"
        elif joined:
            con.register("_keys", pd.DataFrame({"_pk": list(keys), "_k": range(len(keys))}))
            src, code = "_base JOIN _keys USING (_pk)", "_k"
        step = max(1, FETCH_CELLS // max(rows, 1))
        for at in range(0, len(numeric), step):
            idx = range(at, min(at + step, len(numeric)))
            exprs = [
                f"COALESCE({_round_sql(f'n{i}', sig_digits) if i in rounded else f'n{i}'}, "
                f"'nan'::DOUBLE) AS v{i}"
                for i in idx
            ]
            got = con.execute(f"SELECT {code} AS _k, {', '.join(exprs)} FROM {src}").fetchnumpy()
            if hashed:
                h = np.asarray(got["_k"], dtype=np.uint64)
                k = by_hash[np.searchsorted(key_hashes[by_hash], h)]
            else:
                k = np.asarray(got["_k"], dtype=np.int64)
            for i in idx:
                v = np.asarray(got[f"v{i}"], dtype=float)
                live = np.isfinite(v)
                for key, vals, cnts in _sorted_counts(k[live], v[live] + 0.0, len(keys)):
                    out[(keys[key], f"v{i}")] = (vals, cnts)
            del got
        if joined:
            con.unregister("_keys")
    selects = [
        f"SELECT {i} AS _c, _pk, s{i} AS _v FROM _base WHERE s{i} IS NOT NULL"
        for i, _ in enumerate(categorical)
    ]
    if selects:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _vc AS SELECT _c, _pk, _v, count(*) AS _n "
            f"FROM ({' UNION ALL '.join(selects)}) GROUP BY ALL"
        )
        groups = con.execute(
            "SELECT _c, _pk, count(*) FROM _vc GROUP BY ALL ORDER BY _c, _pk"
        ).fetchall()
        got_rows = con.execute("SELECT _v, _n FROM _vc ORDER BY _c, _pk, _v").fetchall()
        con.execute("DROP TABLE IF EXISTS _vc")
        vals = np.array([r[0] for r in got_rows], dtype=object)
        cnts = np.array([r[1] for r in got_rows], dtype=np.int64)
        at = 0
        for c, key, n in groups:
            out[(str(key), f"w{c}")] = (vals[at : at + n], cnts[at : at + n])
            at += n
    return out


def _sorted_counts(
    key: np.ndarray, values: np.ndarray, n_keys: int
) -> Iterable[tuple[int, np.ndarray, np.ndarray]]:
    """(key, distinct values ascending, counts) per key present, by one sort."""
    if n_keys == 1:
        if len(values):
            vals, cnts = np.unique(values, return_counts=True)
            yield 0, vals, cnts.astype(np.int64)
        return
    if not len(values):
        return
    order = np.lexsort((values, key))
    key, values = key[order], values[order]
    new = np.ones(len(values), dtype=bool)
    new[1:] = (key[1:] != key[:-1]) | (values[1:] != values[:-1])
    starts = np.flatnonzero(new)
    cnts = np.diff(np.r_[starts, len(values)]).astype(np.int64)
    vals, keys = values[starts], key[starts]
    bounds = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    for lo, hi in zip(bounds, np.r_[bounds[1:], len(keys)]):
        yield int(keys[lo]), vals[lo:hi], cnts[lo:hi]


def profile_frame(
    source: pd.DataFrame | str | Path,
    columns: Mapping[str, Kind],
    *,
    id_column: str | None = None,
    sig_digits: int = SIG_DIGITS,
    exact_cap: int = EXACT_CAP,
) -> DatasetProfile:
    """Profile a whole DataFrame or Parquet path/glob as one partition.

    An empty source gives a profile with ``rows == 0`` (every column present but empty).
    """
    parts = profile_partitions(
        source, columns, id_column=id_column, sig_digits=sig_digits, exact_cap=exact_cap
    )
    if parts:
        return parts[""]
    return empty_profile(columns, source_columns=_columns_of(source))


def _columns_of(source: pd.DataFrame | str | Path) -> set[str] | None:
    if isinstance(source, pd.DataFrame):
        return set(source.columns)
    return None


def empty_profile(
    columns: Mapping[str, Kind], source_columns: Iterable[str] | None = None
) -> DatasetProfile:
    """The profile of a partition with no rows (columns absent from ``source_columns``
    are marked not present)."""
    have = set(source_columns) if source_columns is not None else set(columns)
    return DatasetProfile(
        0,
        {
            c: ColumnProfile(
                c,
                k,
                "UNKNOWN" if c in have else "ABSENT",
                0,
                values=np.empty(0, dtype=float if k == "numerical" else object),
                present=c in have,
            )
            for c, k in columns.items()
        },
        duplicate_ids=0,
    )


def _i(x: object) -> int:
    # DuckDB returns NULL for some aggregates over all-NULL input; that count is zero.
    v = _f(x)
    return 0 if v is None else int(v)


def _f(x: object) -> float | None:
    if x is None:
        return None
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


# --------------------------------------------------------------------------- merging


def _merge_counts(
    parts: Sequence[tuple[np.ndarray, np.ndarray]], numeric: bool
) -> tuple[np.ndarray, np.ndarray]:
    parts = [p for p in parts if len(p[0])]
    if not parts:
        return (np.empty(0, dtype=float if numeric else object), np.empty(0, dtype=np.int64))
    vals = np.concatenate([p[0] for p in parts])
    cnts = np.concatenate([p[1] for p in parts])
    if not numeric:
        vals = vals.astype(str)
    uniq, inv = np.unique(vals, return_inverse=True)
    summed = np.bincount(inv, weights=cnts, minlength=len(uniq)).astype(np.int64)
    if not numeric:
        uniq = uniq.astype(object)
    return uniq, summed


def merge_columns(
    parts: Sequence[ColumnProfile], exact_cap: int = EXACT_CAP, sig_digits: int = SIG_DIGITS
) -> ColumnProfile:
    """Merge one column's profiles from several partitions.

    Exact counts stay exact while the merged distinct count is at most ``exact_cap``;
    otherwise every part is rounded to ``sig_digits`` (rounding is idempotent, and the
    rounding error of parts that were exact is computed from their values).
    """
    if not parts:
        raise ValueError("merge_columns needs at least one profile")
    first = parts[0]
    for p in parts[1:]:
        if p.kind != first.kind:
            raise ValueError(f"column {first.name!r}: cannot merge {first.kind} with {p.kind}")
    live = [p for p in parts if p.present and p.error is None]
    rows = sum(p.rows for p in parts)
    dtypes = sorted({p.dtype for p in live if p.dtype not in ("UNKNOWN", "ABSENT")})
    errors = [p.error for p in parts if p.error]
    merged = ColumnProfile(
        first.name,
        first.kind,
        dtypes[0] if len(dtypes) == 1 else ("DOUBLE" if dtypes else first.dtype),
        rows,
        missing=sum(p.missing for p in parts),
        nan=sum(p.nan for p in parts),
        pos_inf=sum(p.pos_inf for p in parts),
        neg_inf=sum(p.neg_inf for p in parts),
        present=any(p.present for p in parts),
        error=errors[0] if errors else None,
    )
    # Chan et al.'s pairwise update keeps mean/M2 accurate when merging many parts.
    n, mean, m2 = 0, 0.0, 0.0
    for p in live:
        if p.count == 0 or p.mean is None:
            continue
        delta = p.mean - mean
        tot = n + p.count
        mean += delta * p.count / tot
        m2 += p.m2 + delta * delta * n * p.count / tot
        n = tot
    merged.count = n
    merged.mean = mean if n else None
    merged.m2 = m2
    mins = [p.min for p in live if p.min is not None]
    maxs = [p.max for p in live if p.max is not None]
    merged.min = min(mins) if mins else None
    merged.max = max(maxs) if maxs else None

    numeric = first.kind == "numerical"
    vals, cnts = _merge_counts([(p.values, p.counts) for p in live], numeric)
    k_parts = {p.sig_digits for p in live if p.sig_digits is not None}
    if numeric and (k_parts or len(vals) > exact_cap):
        k = min(k_parts) if k_parts else sig_digits
        err = 0.0
        rounded_parts = []
        for p in live:
            if p.sig_digits == k:
                err += p.abs_rounding_error
                rounded_parts.append((p.values, p.counts))
            else:
                r = round_sig(p.values, k)
                # Error against the raw values: exact parts know them; a finer rounding adds
                # its own (bounded) error on top.
                err += float(np.sum(np.abs(p.values - r) * p.counts)) + p.abs_rounding_error
                rounded_parts.append((r, p.counts))
        vals, cnts = _merge_counts(rounded_parts, True)
        merged.sig_digits = k
        merged.abs_rounding_error = err
    merged.values, merged.counts = vals, cnts
    if not numeric:
        merged.count = int(cnts.sum())
    return merged


def merge_profiles(
    profiles: Sequence[DatasetProfile], exact_cap: int = EXACT_CAP, sig_digits: int = SIG_DIGITS
) -> DatasetProfile:
    """Merge partition profiles into the profile of their union (e.g. a rolling window)."""
    if not profiles:
        raise ValueError("merge_profiles needs at least one profile")
    names: list[str] = []
    for p in profiles:
        names += [c for c in p.columns if c not in names]
    cols = {}
    for name in names:
        parts = [p.columns[name] for p in profiles if name in p.columns]
        cols[name] = merge_columns(parts, exact_cap=exact_cap, sig_digits=sig_digits)
    dups = [p.duplicate_ids for p in profiles]
    return DatasetProfile(
        rows=sum(p.rows for p in profiles),
        columns=cols,
        duplicate_ids=None if any(d is None for d in dups) else int(sum(dups)),  # type: ignore[arg-type]
        partitions=sum(p.partitions for p in profiles),
    )


# --------------------------------------------------------------------------- serializing


def profile_to_rows(profile: DatasetProfile) -> pd.DataFrame:
    """Long rows (``PROFILE_ROW_COLUMNS``): one 'stats' row per column, one 'value' row per
    distinct value. A :data:`DATASET_ROW` stats row carries the row and duplicate-id counts."""
    return _rows_frame(
        [_dataset_block(profile)] + [_column_block(c) for c in profile.columns.values()]
    )


def profile_row_chunks(
    profile: DatasetProfile, max_rows: int = ROW_CHUNK
) -> Iterator[pd.DataFrame]:
    """:func:`profile_to_rows`'s rows as frames of whole columns, each of at most
    ``max_rows`` rows unless one column alone has more (a wide profile is written
    without ever holding all its rows)."""
    blocks = [_dataset_block(profile)]
    size, columns = 1, 0
    for c in profile.columns.values():
        n = 1 + len(c.values)
        if columns and size + n > max_rows:
            yield _rows_frame(blocks)
            blocks, size, columns = [], 0, 0
        blocks.append(_column_block(c))
        size, columns = size + n, columns + 1
    if blocks:
        yield _rows_frame(blocks)


# One column's rows: (names, entries, num_value, str_value, count, stats), all per row.
_Block = list[np.ndarray]


def _dataset_block(profile: DatasetProfile) -> _Block:
    meta = {"duplicate_ids": profile.duplicate_ids, "partitions": profile.partitions}
    return [
        np.array([DATASET_ROW], dtype=object),
        np.array(["stats"], dtype=object),
        np.array([np.nan]),
        np.array([None], dtype=object),
        np.array([profile.rows], dtype=np.int64),
        np.array([json.dumps(meta)], dtype=object),
    ]


def _column_block(c: ColumnProfile) -> _Block:
    n = len(c.values)
    numeric = c.kind == "numerical"
    entries = np.full(n + 1, "value", dtype=object)
    entries[0] = "stats"
    stats = np.full(n + 1, None, dtype=object)
    stats[0] = json.dumps(c.stats_dict())
    return [
        np.full(n + 1, c.name, dtype=object),
        entries,
        np.r_[np.nan, c.values.astype(float) if numeric and n else np.full(n, np.nan)],
        np.r_[
            np.array([None], dtype=object),
            np.full(n, None, dtype=object) if numeric else c.values.astype(str).astype(object),
        ],
        np.r_[np.array([c.rows], dtype=np.int64), c.counts.astype(np.int64)],
        stats,
    ]


def _rows_frame(blocks: Sequence[_Block]) -> pd.DataFrame:
    cols = [np.concatenate([b[j] for b in blocks]) for j in range(len(PROFILE_ROW_COLUMNS))]
    return pd.DataFrame(dict(zip(PROFILE_ROW_COLUMNS, cols)))


def profile_from_rows(rows: pd.DataFrame) -> DatasetProfile:
    """Rebuild a profile from :func:`profile_to_rows` output (any row order)."""
    missing = [c for c in PROFILE_ROW_COLUMNS if c not in rows.columns]
    if missing:
        raise ValueError(f"profile rows lack columns {missing}")
    stats = rows[rows["entry"] == "stats"]
    ds = stats[stats["column_name"] == DATASET_ROW]
    if len(ds) != 1:
        raise ValueError(
            f"profile rows need exactly one {DATASET_ROW!r} stats row, found {len(ds)}"
        )
    meta = json.loads(ds["stats"].iloc[0])
    # One stable sort by column, then slices (no per-column scans or frame copies: a wide
    # profile has millions of value rows).
    is_value = rows["entry"].to_numpy(dtype=object) == "value"
    codes, names = pd.factorize(rows["column_name"].to_numpy(dtype=object)[is_value])
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
    slot = {name: (bounds[i], bounds[i + 1]) for i, name in enumerate(names)}
    num_all = rows["num_value"].to_numpy(dtype=float)[is_value][order]
    str_all = rows["str_value"].to_numpy(dtype=object)[is_value][order]
    cnt_all = rows["count"].to_numpy(dtype=np.int64)[is_value][order]
    cols: dict[str, ColumnProfile] = {}
    for _, r in stats[stats["column_name"] != DATASET_ROW].iterrows():
        s = json.loads(r["stats"])
        name = r["column_name"]
        lo, hi = slot.get(name, (0, 0))
        numeric = s["kind"] == "numerical"
        vals = num_all[lo:hi] if numeric else str_all[lo:hi]
        by_value = np.argsort(vals, kind="stable")
        vals, counts = vals[by_value], cnt_all[lo:hi][by_value]
        cols[name] = ColumnProfile(
            name=name,
            kind=s["kind"],
            dtype=s["dtype"],
            rows=s["rows"],
            missing=s["missing"],
            nan=s["nan"],
            pos_inf=s["pos_inf"],
            neg_inf=s["neg_inf"],
            count=s["count"],
            min=s["min"],
            max=s["max"],
            mean=s["mean"],
            m2=s["m2"],
            values=vals,
            counts=counts,
            sig_digits=s["sig_digits"],
            abs_rounding_error=s["abs_rounding_error"],
            present=s["present"],
            error=s["error"],
        )
    return DatasetProfile(
        rows=int(ds["count"].iloc[0]),
        columns=cols,
        duplicate_ids=meta.get("duplicate_ids"),
        partitions=int(meta.get("partitions", 1)),
    )


def with_columns(profile: DatasetProfile, names: Iterable[str]) -> DatasetProfile:
    """A copy of ``profile`` restricted to ``names`` (e.g. features only)."""
    keep = list(names)
    return replace(profile, columns={n: profile.columns[n] for n in keep if n in profile.columns})
