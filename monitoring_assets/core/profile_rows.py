"""Profiles as long warehouse rows and back (the ``profiles`` table's rows).

One 'stats' row per column (its scalar aggregates as JSON), one 'value' row per
distinct value, and a :data:`DATASET_ROW` stats row with the row and duplicate-id
counts. The shell adds the model and partition keys.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd

from monitoring_assets.core.profile import ColumnProfile, DatasetProfile

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
