"""Profiles of wide data: any number of columns, batched per DuckDB statement, and
profile rows written in chunks inside one warehouse transaction.

Oracles are numpy/pandas computations written here, not the profile code: value counts
by ``np.unique``, missing/NaN/inf counts by masks, min/max exact, mean/variance to 1e-12.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from monitoring_assets.core.config import load_project
from monitoring_assets.core.day_profiles import (
    load_day_profiles,
    read_profile,
    store_day_profiles,
)
from monitoring_assets.core.ports import WarehouseError
from monitoring_assets.core.profile import DatasetProfile
from monitoring_assets.core.profile_build import BATCH_COLUMNS, profile_frame, profile_partitions
from monitoring_assets.core.profile_rows import (
    profile_from_rows,
    profile_row_chunks,
    profile_to_rows,
)
from monitoring_assets.core.tables import REFERENCE_PROFILES_TABLE
from resources.warehouse import Warehouse, open_warehouse
from tests.conftest import churn_yaml, write

N_NUM, N_INT, N_CAT = 120, 30, 50  # 200 columns: beyond 64 grouping sets, several batches


def _wide(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cols: dict[str, object] = {}
    for i in range(N_NUM):
        x = rng.normal(i % 5, 1 + i % 3, rows)
        if i % 4 == 0:
            x = np.round(x, 1)  # few distinct values: counted exactly
        x[rng.random(rows) < 0.05] = np.nan
        if i % 10 == 0:
            x[rng.random(rows) < 0.01] = np.inf
            x[rng.random(rows) < 0.01] = -np.inf
        cols[f"x{i}"] = x
    for i in range(N_INT):
        cols[f"k{i}"] = rng.integers(-3, 9, rows)
    levels = np.array(["a", "b", "é", "Z", None], dtype=object)
    for i in range(N_CAT):
        cols[f"c{i}"] = levels[rng.integers(0, 5, rows)]
    cols["text_as_number"] = np.array(["1.5", "x"] * (rows // 2), dtype=object)
    cols["request_id"] = [f"r{j % (rows - 7)}" for j in range(rows)]  # 7 duplicates
    return pd.DataFrame(cols)


def _kinds() -> dict[str, str]:
    kinds = {f"x{i}": "numerical" for i in range(N_NUM)}
    kinds |= {f"k{i}": "numerical" for i in range(N_INT)}
    kinds |= {f"c{i}": "categorical" for i in range(N_CAT)}
    kinds |= {"text_as_number": "numerical", "not_in_data": "numerical"}
    return kinds


def _assert_same(a: DatasetProfile, b: DatasetProfile) -> None:
    assert (a.rows, a.duplicate_ids) == (b.rows, b.duplicate_ids)
    assert list(a.columns) == list(b.columns)
    for name in a.columns:
        x, y = a.columns[name].stats_dict(), b.columns[name].stats_dict()
        for f in ("mean", "m2", "abs_rounding_error"):
            u, v = x.pop(f), y.pop(f)
            assert (u is None and v is None) or u == pytest.approx(v, rel=1e-12, abs=1e-12), (
                name,
                f,
            )
        assert x == y, name
        assert np.array_equal(a.columns[name].values, b.columns[name].values), name
        assert np.array_equal(a.columns[name].counts, b.columns[name].counts), name
        assert a.columns[name].values.dtype == b.columns[name].values.dtype, name


def _assert_matches_oracle(prof: DatasetProfile, df: pd.DataFrame) -> None:
    assert prof.rows == len(df)
    for name, col in prof.columns.items():
        if name == "not_in_data":
            assert not col.present and col.dtype == "ABSENT"
            continue
        if name == "text_as_number":
            assert col.error and "declared numerical" in col.error
            continue
        s = df[name]
        if col.kind == "categorical":
            live = s.dropna().to_numpy(dtype=str)
            vals, cnts = np.unique(live, return_counts=True)
            assert col.missing == int(s.isna().sum()) and col.count == len(live), name
        else:
            x = s.to_numpy(dtype=float)
            fin = x[np.isfinite(x)]
            assert col.nan + col.missing == int(np.isnan(x).sum()), name
            assert (col.pos_inf, col.neg_inf) == (
                int((x == np.inf).sum()),
                int((x == -np.inf).sum()),
            )
            assert col.count == len(fin), name
            assert (col.min, col.max) == (fin.min(), fin.max()), name
            assert col.mean == pytest.approx(fin.mean(), rel=1e-12), name
            assert col.std == pytest.approx(fin.std(), rel=1e-9), name
            if not col.exact:
                assert col.counts.sum() == len(fin) and np.all(np.diff(col.values) > 0), name
                continue
            vals, cnts = np.unique(fin, return_counts=True)
        assert list(col.values) == list(vals), name
        assert list(col.counts) == list(cnts), name


def test_wide_frame_profile_matches_the_numpy_oracle():
    df = _wide(3000, 1)
    prof = profile_frame(df, _kinds(), id_column="request_id", exact_cap=500)
    assert prof.duplicate_ids == 7
    assert sum(not c.exact for c in prof.columns.values()) > 50  # rounding exercised too
    _assert_matches_oracle(prof, df)


@pytest.mark.parametrize("batch", [1, 7, 63])
def test_batching_does_not_change_a_profile(batch):
    df = _wide(2000, 2)
    base = profile_frame(df, _kinds(), id_column="request_id", exact_cap=500)
    other = profile_partitions(
        df, _kinds(), id_column="request_id", exact_cap=500, batch_columns=batch
    )[""]
    _assert_same(base, other)


def test_partitions_of_parquet_days_equal_each_day_profiled_alone(tmp_path):
    files = []
    for i, day in enumerate(["2026-01-01", "2026-01-02", "2026-01-03"]):
        folder = tmp_path / f"date={day}"
        folder.mkdir()
        df = _wide(1500 + 500 * i, 10 + i)
        df.to_parquet(folder / "part-0.parquet")
        files.append((day, folder / "part-0.parquet", df))
    kinds = _kinds()
    parts = profile_partitions(
        [f for _, f, _ in files], kinds, partition_column="date", id_column="request_id"
    )
    assert sorted(parts) == [d for d, _, _ in files]
    for day, path, df in files:
        alone = profile_frame(path, kinds, id_column="request_id")
        _assert_same(parts[day], alone)
        _assert_matches_oracle(parts[day], df)


def test_batch_size_is_checked():
    with pytest.raises(ValueError, match="batch_columns must be between 1 and 63"):
        profile_partitions(_wide(10, 0), _kinds(), batch_columns=64)
    assert 1 <= BATCH_COLUMNS <= 63


def test_row_chunks_are_the_rows_in_bounded_frames():
    prof = profile_frame(_wide(1000, 3), _kinds(), id_column="request_id")
    whole = profile_to_rows(prof)
    chunks = list(profile_row_chunks(prof, max_rows=2500))
    assert len(chunks) > 5
    biggest_column = whole.groupby("column_name").size().max()
    assert all(len(c) <= max(2500, biggest_column) for c in chunks)
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), whole)
    _assert_same(profile_from_rows(pd.concat(chunks)), prof)


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request, tmp_path):
    if request.param == "duckdb":
        return Warehouse(tmp_path / "w.duckdb")
    return open_warehouse(request.getfixturevalue("pg_warehouse_url"))


def _model(tmp_path):
    return load_project(write(tmp_path / "models.yaml", churn_yaml())).models[0]


def test_day_profiles_stored_in_chunks_read_back_equal(warehouse, tmp_path):
    model = _model(tmp_path)
    days = {
        dt.date(2026, 3, 1) + dt.timedelta(days=i): profile_frame(
            _wide(400, 20 + i), _kinds(), id_column="request_id"
        )
        for i in range(3)
    }
    expected = sum(len(profile_to_rows(p)) for p in days.values())
    assert store_day_profiles(warehouse, model, days, chunk_rows=3000) == expected
    back = load_day_profiles(warehouse, model, list(days))
    assert sorted(back) == sorted(days)
    for d, p in days.items():
        _assert_same(back[d], p)


def test_a_failing_chunk_leaves_the_stored_rows_untouched(warehouse, tmp_path):
    model = _model(tmp_path)
    day = dt.date(2026, 3, 1)
    first = {day: profile_frame(_wide(300, 30), _kinds())}
    store_day_profiles(warehouse, model, first, chunk_rows=1000)
    before = warehouse.query("SELECT count(*) AS n FROM feature_profiles").n.iloc[0]

    good = profile_to_rows(profile_frame(_wide(300, 31), _kinds()))
    good.insert(0, "partition_date", day)
    good.insert(0, "model", model.name)

    def frames():
        yield good.iloc[:500]
        yield good.iloc[500:1000]
        raise RuntimeError("profile rows of column 'x9' could not be built")

    with pytest.raises((WarehouseError, RuntimeError), match="x9"):
        warehouse.replace(
            "feature_profiles", frames(), {"model": model.name, "partition_date": [day]}
        )
    after = warehouse.query("SELECT count(*) AS n FROM feature_profiles").n.iloc[0]
    assert after == before
    left = warehouse.query(
        "SELECT table_name FROM information_schema.tables WHERE table_name LIKE '_stage%'"
    )
    assert left.empty  # the staging table is gone too
    _assert_same(load_day_profiles(warehouse, model, [day])[day], first[day])


def test_frames_with_wrong_columns_are_refused_and_roll_back(warehouse, tmp_path):
    model = _model(tmp_path)
    day = dt.date(2026, 3, 2)
    store_day_profiles(warehouse, model, {day: profile_frame(_wide(200, 40), _kinds())})
    rows = profile_to_rows(profile_frame(_wide(200, 41), _kinds()))
    rows.insert(0, "partition_date", day)
    rows.insert(0, "model", model.name)
    with pytest.raises(WarehouseError, match="unexpected"):
        warehouse.replace(
            "feature_profiles",
            iter([rows, rows.assign(extra=1)]),
            {"model": model.name, "partition_date": [day]},
        )
    got = load_day_profiles(warehouse, model, [day])[day]
    assert got.rows == 200
    assert warehouse.query("SELECT count(*) AS n FROM feature_profiles").n.iloc[0] == len(
        profile_to_rows(got)
    )


def _stored_reference(warehouse, prof: DatasetProfile) -> dict[str, str]:
    keys = {"model": "wide", "model_version": "v1", "source_digest": "d1"}
    rows = profile_to_rows(prof)
    for i, (k, v) in enumerate(keys.items()):
        rows.insert(i, k, v)
    warehouse.replace(REFERENCE_PROFILES_TABLE.name, rows, {"model": "wide"})
    return keys


def test_a_wide_profile_read_in_column_batches_equals_the_whole_read(warehouse):
    prof = profile_frame(_wide(600, 40), _kinds(), id_column="request_id")
    keys = _stored_reference(warehouse, prof)
    n = len(profile_to_rows(prof))
    whole = read_profile(warehouse, REFERENCE_PROFILES_TABLE.name, keys, max_rows=n)
    per_query: list[int] = []
    query = warehouse.query

    def counting(sql, params=None):
        out = query(sql, params)
        per_query.append(len(out))
        return out

    warehouse.query = counting
    batched = read_profile(warehouse, REFERENCE_PROFILES_TABLE.name, keys, max_rows=2000)
    biggest = max(1 + len(c.values) for c in prof.columns.values())
    assert len(per_query) > 2 + 5  # sizes, order, then several batches
    assert max(per_query[2:]) <= 2000 + biggest + 1
    for got in (whole, batched):
        _assert_same(got, prof)
        assert got.partitions == prof.partitions
    for name, col in whole.columns.items():  # batched equals the one-query read exactly
        assert batched.columns[name].stats_dict() == col.stats_dict(), name
    other = dict(keys, source_digest="d2")
    assert read_profile(warehouse, REFERENCE_PROFILES_TABLE.name, other, max_rows=2000) is None


def test_day_profiles_beyond_the_read_size_are_read_day_by_day_equal(warehouse, tmp_path):
    model = _model(tmp_path)
    days = {
        dt.date(2026, 4, 1) + dt.timedelta(days=i): profile_frame(
            _wide(300, 50 + i), _kinds(), id_column="request_id"
        )
        for i in range(2)
    }
    store_day_profiles(warehouse, model, days)
    wanted = [*days, dt.date(2026, 4, 9)]  # a day never profiled stays absent
    small = load_day_profiles(warehouse, model, wanted, max_rows=1500, read_rows=1500)
    big = load_day_profiles(warehouse, model, wanted)
    assert sorted(small) == sorted(big) == sorted(days)
    for d, p in days.items():
        _assert_same(small[d], p)
        _assert_same(big[d], p)
