"""Per-partition column profiles: the aggregates every drift and quality statistic needs.

A profile holds, per column: row, missing (NULL and NaN), +inf and -inf counts; the
finite count, min, max, mean and second central moment; and value counts. It is built
in one DuckDB pass over a partition (:mod:`monitoring_assets.core.profile_build`).

Value counts are exact when a column has at most ``exact_cap`` distinct finite values
in the data profiled (categoricals, integers, prices, anything low-precision). Above
that, numerical values are rounded to ``sig_digits`` significant digits before they are
counted, so a day of a million continuous values keeps tens of thousands of entries.
Rounding moves each value by at most ``0.5 * 10**(1 - sig_digits) * |x|``; the profile
keeps the exact sum of ``|x - round(x)|`` so every statistic derived from rounded values
can state its own error bound (see :mod:`monitoring_assets.core.drift`). Min, max,
mean and standard deviation are always computed from the raw values.

Profiles merge (:func:`merge_profiles`): a window of days is a merge of day profiles,
not a rescan. They serialize to long warehouse rows
(:mod:`monitoring_assets.core.profile_rows`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import duckdb
import numpy as np
import pandas as pd

Kind = Literal["numerical", "categorical"]

#: Significant digits kept when a numerical column is too varied to count exactly.
SIG_DIGITS = 4
#: Up to this many distinct finite values per column, value counts are exact.
EXACT_CAP = 20_000


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


# --------------------------------------------------------------------------- rounding


def round_sig_sql(expr: str, k: int) -> str:
    """SQL rounding ``expr`` to ``k`` significant digits (non-finite values and 0 pass).

    DuckDB's round(x, d) divides by 10^d, so values that already have <= k significant
    decimal digits come back bit-identical."""
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
        return con.execute(f"SELECT {round_sig_sql('x', k)} AS r FROM v").fetchnumpy()["r"]
    finally:
        con.close()


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


def with_columns(profile: DatasetProfile, names: Iterable[str]) -> DatasetProfile:
    """A copy of ``profile`` restricted to ``names`` (e.g. features only)."""
    keep = list(names)
    return replace(profile, columns={n: profile.columns[n] for n in keep if n in profile.columns})


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
