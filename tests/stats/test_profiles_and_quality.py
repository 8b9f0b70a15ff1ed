"""Profiles (build, merge, serialize) and data quality on bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from monitoring_assets.core.config import QualityThresholds
from monitoring_assets.core.drift import column_drift, dataset_drift
from monitoring_assets.core.profile import merge_profiles
from monitoring_assets.core.profile_build import profile_frame, profile_partitions
from monitoring_assets.core.profile_rows import profile_from_rows, profile_to_rows
from monitoring_assets.core.quality import data_quality, worst

KINDS = {"num": "numerical", "cnt": "numerical", "cat": "categorical"}


def _frame(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "num": rng.normal(shift, 1, n),
            "cnt": rng.integers(0, 30, n),
            "cat": rng.choice(["a", "b", "c"], n),
            "request_id": np.arange(n),
        }
    )


def _same(a, b) -> None:
    assert a.rows == b.rows and a.missing == b.missing and a.count == b.count
    assert (a.min, a.max) == (b.min, b.max)
    if b.kind == "numerical":
        assert a.mean == pytest.approx(b.mean, rel=1e-12)
        assert a.std == pytest.approx(b.std, rel=1e-9)
    assert a.sig_digits == b.sig_digits
    assert a.abs_rounding_error == pytest.approx(b.abs_rounding_error, rel=1e-9)
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.counts, b.counts)


def test_profile_counts_missing_nan_and_infinities_separately():
    df = pd.DataFrame(
        {
            "num": [1.0, np.nan, np.inf, -np.inf, 2.0, None],
            "cnt": [1] * 6,
            "cat": ["a", None, "b", "b", "a", "a"],
        }
    )
    p = profile_frame(df, KINDS)
    num = p["num"]
    assert (num.rows, num.missing, num.pos_inf, num.neg_inf, num.count) == (6, 2, 1, 1, 2)
    assert (num.min, num.max, num.mean, num.std) == (1.0, 2.0, 1.5, 0.5)
    assert p["cat"].missing == 1 and dict(zip(p["cat"].values, p["cat"].counts)) == {"a": 3, "b": 2}


def test_parquet_nan_is_missing(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    # pa.array keeps NaN as a float NaN (pandas would write a null): both are missing.
    table = pa.table(
        {"num": pa.array([1.0, float("nan"), None, 3.0]), "cnt": [1, 2, 3, 4], "cat": list("abcd")}
    )
    path = tmp_path / "d.parquet"
    pq.write_table(table, path)
    num = profile_frame(path, KINDS)["num"]
    assert (num.missing, num.nan, num.count) == (2, 1, 2)


def test_merge_of_days_equals_rescan_exact_and_rounded():
    days = [_frame(n, seed=i) for i, n in enumerate((8000, 14000, 12000))]
    for d, day in zip(("2026-01-01", "2026-01-02", "2026-01-03"), days):
        day["date"] = d
    whole = pd.concat(days, ignore_index=True)
    per_day = profile_partitions(whole, KINDS, partition_column="date", id_column="request_id")
    assert sorted(per_day) == ["2026-01-01", "2026-01-02", "2026-01-03"]
    merged = merge_profiles(list(per_day.values()))
    rescan = profile_frame(whole, KINDS)
    # 34k continuous values exceed EXACT_CAP (20k): the merge rounds like the rescan does.
    assert merged["num"].sig_digits == rescan["num"].sig_digits == 4
    assert merged["cnt"].exact and rescan["cnt"].exact
    for c in KINDS:
        _same(merged[c], rescan[c])
    assert merged.rows == rescan.rows == 34000


def test_profile_rows_round_trip():
    p = profile_frame(_frame(3000, 1), KINDS, id_column="request_id")
    rows = profile_to_rows(p)
    assert list(rows.columns) == [
        "column_name",
        "entry",
        "num_value",
        "str_value",
        "count",
        "stats",
    ]
    back = profile_from_rows(rows.sample(frac=1.0, random_state=0))
    for c in KINDS:
        _same(back[c], p[c])
    assert back.duplicate_ids == p.duplicate_ids == 0


def test_duplicate_ids_counted():
    df = _frame(100, 2)
    df.loc[:4, "request_id"] = 0  # rows 0..4 share id 0: 4 duplicates
    p = profile_frame(df, KINDS, id_column="request_id")
    assert p.duplicate_ids == 4
    f = {x.rule: x for x in data_quality(p, p)}["duplicate_id_share"]
    assert f.value == pytest.approx(0.04) and f.status == "error"


# --------------------------------------------------------------------------- bad input


def test_all_null_column_is_a_quality_error_and_drift_not_computable():
    ref = profile_frame(_frame(2000, 3), KINDS)
    bad = _frame(500, 4)
    bad["num"] = np.nan
    cur = profile_frame(bad, KINDS)
    d = column_drift(ref["num"], cur["num"])
    assert not d.computable and "only missing" in d.reason and np.isnan(d.score)
    f = {(x.rule, x.column): x for x in data_quality(ref, cur)}
    assert (
        f[("missing_share", "num")].status == "error" and f[("missing_share", "num")].value == 1.0
    )
    assert f[("out_of_range_share", "num")].status == "not_computable"


def test_column_missing_from_day():
    ref = profile_frame(_frame(2000, 3), KINDS)
    cur = profile_frame(_frame(500, 4).drop(columns=["cat"]), KINDS)
    assert not cur["cat"].present
    dd = dataset_drift(ref, cur)
    assert dd.not_computable == ("cat",) and dd.n_columns == 2
    assert "missing from the current" in dd.columns["cat"].reason
    f = {(x.rule, x.column): x for x in data_quality(ref, cur)}
    assert f[("schema_matches", "cat")].status == "error"


def test_empty_partition():
    ref = profile_frame(_frame(2000, 3), KINDS)
    cur = profile_frame(_frame(0, 4), KINDS, id_column="request_id")
    assert cur.rows == 0
    dd = dataset_drift(ref, cur)
    assert dd.n_columns == 0 and not dd.dataset_drift and np.isnan(dd.share_drifted)
    assert all("no rows" in r.reason for r in dd.columns.values())
    f = {(x.rule, x.column): x for x in data_quality(ref, cur, trailing_rows=[2000, 2100])}
    assert f[("row_count_change", "")].status == "error"
    assert f[("missing_share", "num")].status == "not_computable"


def test_infinities_are_out_of_range_and_not_silent():
    ref = profile_frame(_frame(2000, 3), KINDS)
    bad = _frame(1000, 4)
    bad.loc[:299, "num"] = np.inf
    cur = profile_frame(bad, KINDS)
    f = {(x.rule, x.column): x for x in data_quality(ref, cur)}
    assert f[("out_of_range_share", "num")].value == pytest.approx(0.3)
    assert f[("out_of_range_share", "num")].status == "error"
    assert "300 infinite" in f[("out_of_range_share", "num")].reason


def test_unseen_category_share():
    ref = profile_frame(_frame(2000, 3), KINDS)
    bad = _frame(1000, 4)
    bad.loc[:49, "cat"] = "zz"
    f = {(x.rule, x.column): x for x in data_quality(ref, profile_frame(bad, KINDS))}
    assert f[("unseen_category_share", "cat")].value == pytest.approx(0.05)
    assert f[("unseen_category_share", "cat")].status == "warn"
    assert "zz" in f[("unseen_category_share", "cat")].reason


def test_constant_column_drift_is_defined():
    ref_df, cur_df = _frame(2000, 3), _frame(500, 4)
    ref_df["num"], cur_df["num"] = 1.0, 1.0
    d = column_drift(profile_frame(ref_df, KINDS)["num"], profile_frame(cur_df, KINDS)["num"])
    # One distinct value in total: Evidently picks jensenshannon and finds no drift.
    assert d.computable and d.method == "jensenshannon" and d.score == 0.0 and not d.drifted


def test_small_reference_is_not_computable():
    ref = profile_frame(_frame(29, 3), KINDS)
    cur = profile_frame(_frame(500, 4), KINDS)
    d = column_drift(ref["num"], cur["num"])
    assert not d.computable and "29 finite values" in d.reason


def test_text_in_numerical_column_is_explained():
    ref = profile_frame(_frame(2000, 3), KINDS)
    bad = _frame(100, 4)
    bad["num"] = "oops"
    cur = profile_frame(bad, KINDS)
    assert cur["num"].error and "VARCHAR" in cur["num"].error
    assert not column_drift(ref["num"], cur["num"]).computable
    f = {(x.rule, x.column): x for x in data_quality(ref, cur)}
    assert f[("schema_matches", "num")].status == "error"


def test_row_count_change_thresholds():
    ref = profile_frame(_frame(1000, 3), KINDS)
    t = QualityThresholds()
    f = {
        x.rule: x
        for x in data_quality(ref, profile_frame(_frame(500, 1), KINDS), t, [1000, 1000, 1010])
    }
    assert (
        f["row_count_change"].value == pytest.approx(0.5) and f["row_count_change"].status == "warn"
    )
    assert worst(list(f.values())) == "warn"


def test_unknown_override_names_column():
    p = profile_frame(_frame(100, 3), KINDS)
    with pytest.raises(ValueError, match="'cat'.*'ks'"):
        column_drift(p["cat"], p["cat"], "ks")
