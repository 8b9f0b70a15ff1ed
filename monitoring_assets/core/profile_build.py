"""Building profiles (:class:`~monitoring_assets.core.profile.DatasetProfile`) with DuckDB.

A partition (a pandas DataFrame or Parquet files) is profiled in batches of columns: per
batch, one scan computes the scalar aggregates and one grouped scan the value counts,
for every partition at once. Column names reach SQL only as quoted identifiers, paths
only as values.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from monitoring_assets.core.lake_io import scan_connection
from monitoring_assets.core.names import quote_ident
from monitoring_assets.core.profile import (
    EXACT_CAP,
    SIG_DIGITS,
    ColumnProfile,
    DatasetProfile,
    Kind,
    empty_profile,
    is_numeric_type,
    round_sig_sql,
)

#: Columns profiled per DuckDB statement. DuckDB's GROUPING() takes at most 64 columns,
#: and one statement of a few thousand aggregates (~230 numerical columns) kills the
#: process with a floating-point exception, so wide data is profiled in batches.
BATCH_COLUMNS = 48
MAX_BATCH_COLUMNS = 63
#: Categorical columns counted in one grouped scan (grouping sets) when a batch has many
#: partitions; DuckDB's grouping sets slow down with many sets, so more take one scan each.
GROUPING_SETS_MAX = 16
#: Numerical values fetched from DuckDB at a time to be counted (8 bytes each).
FETCH_CELLS = 4_000_000

_q = quote_ident

Source = pd.DataFrame | str | Path | Sequence[str | Path] | duckdb.DuckDBPyRelation


def _source_sql(con: duckdb.DuckDBPyConnection, source: Source) -> str:
    """The name of a relation on ``con`` reading ``source``. File paths are handed to
    DuckDB's relation API as values, never spliced into SQL text."""
    if isinstance(source, pd.DataFrame):
        con.register("_src_frame", source)
        return "_src_frame"
    if isinstance(source, duckdb.DuckDBPyRelation):
        # a relation of ``connection`` built by the caller (e.g. logs with a segment key)
        source.create_view("_src_files", replace=True)
        return "_src_files"
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
    round_columns: Collection[str] | None = None,
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

    A numerical column's values are rounded when some partition has more than
    ``exact_cap`` distinct values; ``round_columns`` replaces that decision by the given
    set (profiles of parts of partitions decided on the whole ones, so they merge into them).
    """
    if sig_digits < 1:
        raise ValueError(f"sig_digits must be >= 1, got {sig_digits}")
    if not 1 <= batch_columns <= MAX_BATCH_COLUMNS:
        raise ValueError(
            f"batch_columns must be between 1 and {MAX_BATCH_COLUMNS}, got {batch_columns}"
        )
    con = connection or scan_connection()
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
                con,
                src,
                pk,
                batch,
                schema,
                ids if first else None,
                relation,
                sig_digits,
                exact_cap,
                round_columns,
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
    round_columns: Collection[str] | None = None,
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
    for i, c in enumerate(numeric):
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
        ]
        if round_columns is None:
            aggs.append(f"approx_count_distinct({f}) AS n{i}_acd")
        elif c in round_columns:
            # The rounding is known up front: its error comes with this scan.
            aggs.append(f"sum(abs({f} - ({round_sig_sql(f, sig_digits)}))) AS n{i}_err")
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
    if round_columns is not None:
        rounded = {i for i, c in enumerate(numeric) if c in round_columns}
    else:
        rounded = {
            i
            for i, _ in enumerate(numeric)
            if len(scal) and int(scal[f"n{i}_acd"].fillna(0).max()) > exact_cap
        }

    # The rounding error is summed only where rounding happens (log10 is not free).
    if rounded and round_columns is None:
        errs = ", ".join(
            f"sum(abs(f{i} - ({round_sig_sql(f'f{i}', sig_digits)}))) AS n{i}_err"
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
                f"COALESCE({round_sig_sql(f'n{i}', sig_digits) if i in rounded else f'n{i}'}, "
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
    if selects and len(keys) > 1 and len(selects) <= GROUPING_SETS_MAX:
        # Many partitions: one grouped scan (grouping sets), so the partition key, often
        # an expression (a segment label), is computed once per row, not once per column.
        n = len(selects)
        which = " ".join(f"WHEN GROUPING(s{i}) = 0 THEN {i}" for i in range(n))
        value = " ".join(f"WHEN GROUPING(s{i}) = 0 THEN s{i}" for i in range(n))
        sets = ", ".join(f"(_pk, s{i})" for i in range(n))
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _vc AS SELECT * FROM (SELECT "
            f"CASE {which} END AS _c, _pk, CASE {value} END AS _v, count(*) AS _n "
            f"FROM _base GROUP BY GROUPING SETS ({sets})) WHERE _v IS NOT NULL"
        )
    elif selects:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _vc AS SELECT _c, _pk, _v, count(*) AS _n "
            f"FROM ({' UNION ALL '.join(selects)}) GROUP BY ALL"
        )
    if selects:
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
    # = np.lexsort((values, key)), several times faster: sort the values, then a stable
    # sort by partition (a radix sort on small integer codes) keeps them sorted within it.
    order = np.argsort(values)
    small = key.astype(np.uint16 if n_keys <= 65535 else np.int64)
    order = order[np.argsort(small[order], kind="stable")]
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
