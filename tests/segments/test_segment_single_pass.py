"""One pass for the day and its segments: the day profiles built by merging the
(day, segment) profiles equal the unsegmented day profiles, and both equal numpy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from monitoring_assets.core.config import ModelConfig
from monitoring_assets.core.day_profiles import profiled_columns
from monitoring_assets.core.profile_build import profile_partitions
from monitoring_assets.core.segments import (
    MISSING,
    OTHER,
    SegmentPlan,
    profile_day_segments,
    segment_key,
)

#: Moments (mean, M2, rounding error) are sums in another order: relative tolerance.
RTOL = 1e-9
CAP = 50  # small exact_cap, so the wide column is rounded and the narrow ones are not
ROUNDED = {"wide", "mid", "probability"}


def _model() -> ModelConfig:
    return ModelConfig.model_validate(
        {
            "name": "onepass",
            "features": [
                {"name": "wide", "type": "numerical"},
                {"name": "narrow", "type": "numerical"},
                {"name": "mid", "type": "numerical"},
                {"name": "empty", "type": "numerical"},
                {"name": "plan", "type": "categorical"},
            ],
            "segments": ["country"],
        }
    )


def _frame(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 3000
    wide = rng.normal(100, 30, n)
    wide[rng.random(n) < 0.05] = np.nan
    wide[:3] = [np.inf, -np.inf, np.inf]
    narrow = rng.integers(0, 12, n).astype(float)
    narrow[rng.random(n) < 0.1] = np.nan
    plan = rng.choice(["a", "b", "c", None], n, p=[0.5, 0.3, 0.15, 0.05]).astype(object)
    country = rng.choice(
        ["DE", "FR", "ES", "IT", "NL", None], n, p=[0.4, 0.3, 0.15, 0.1, 0.03, 0.02]
    )
    country = country.astype(object)
    country[7] = "LU"  # a one-row segment (pooled in other) ...
    country[8] = "PT"  # ... and one monitored on its own
    # at most 40 distinct values per country, 240 in the day: rounded because of the day
    code = pd.Series(country).map({"DE": 0, "FR": 1, "ES": 2, "IT": 3, "NL": 4}).fillna(5)
    mid = code.to_numpy() * 1000 + rng.integers(0, 40, n) * 0.123457
    ids = np.array([f"r{i}" for i in rng.integers(0, n * 4, n)], dtype=object)  # duplicates
    days = np.where(np.arange(n) < n // 2, "2026-06-01", "2026-06-02")
    pred = rng.choice(["0", "1"], n).astype(object)
    proba = np.round(rng.random(n), 3)
    return pd.DataFrame(
        {
            "date": days,
            "id": ids,
            "wide": wide,
            "narrow": narrow,
            "mid": mid,
            "empty": np.full(n, np.nan),
            "plan": plan,
            "country": country,
            "prediction": pred,
            "probability": proba,
        }
    )


PLAN = SegmentPlan("country", ("DE", "FR", "ES", "IT", "PT"), None, True)


def _finite(s: pd.Series) -> np.ndarray:
    v = s.to_numpy(dtype=float)
    return v[np.isfinite(v)]


def _check_against_numpy(prof, rows: pd.DataFrame, rounded: set[str]) -> None:
    """Every count, min/max and histogram exactly; mean and M2 to RTOL; from numpy."""
    assert prof.rows == len(rows)
    for name in ("wide", "narrow", "mid", "empty", "probability"):
        col, raw = prof[name], rows[name].to_numpy(dtype=float)
        fin = raw[np.isfinite(raw)]
        assert col.count == len(fin), name
        assert col.missing == int(np.isnan(raw).sum()), name
        assert col.pos_inf == int((raw == np.inf).sum()), name
        assert col.neg_inf == int((raw == -np.inf).sum()), name
        if len(fin):
            assert col.min == fin.min() and col.max == fin.max(), name
            assert col.mean == pytest.approx(fin.mean(), rel=RTOL), name
            assert col.m2 == pytest.approx(fin.var() * len(fin), rel=RTOL, abs=1e-9), name
        else:
            assert col.mean is None and col.min is None and col.count == 0, name
        if name not in rounded:
            vals, cnts = np.unique(fin, return_counts=True)
            assert col.sig_digits is None, name
            np.testing.assert_array_equal(col.values, vals)
            np.testing.assert_array_equal(col.counts, cnts)
        else:
            assert col.sig_digits is not None and int(col.counts.sum()) == len(fin), name
    for name in ("plan", "prediction"):
        col = prof[name]
        s = rows[name].dropna().astype(str)
        vc = s.value_counts().sort_index()
        assert col.missing == int(rows[name].isna().sum())
        assert list(col.values) == list(vc.index), name
        np.testing.assert_array_equal(col.counts, vc.to_numpy())


def _same(a, b) -> None:
    """``a`` equals ``b``: counts, extremes and histograms exactly, moments to RTOL."""
    assert a.rows == b.rows and a.duplicate_ids == b.duplicate_ids
    assert a.partitions == b.partitions
    assert list(a.columns) == list(b.columns)
    for name, x in a.columns.items():
        y = b.columns[name]
        for f in ("kind", "dtype", "rows", "missing", "nan", "pos_inf", "neg_inf", "count"):
            assert getattr(x, f) == getattr(y, f), (name, f)
        for f in ("min", "max", "sig_digits", "present", "error"):
            assert getattr(x, f) == getattr(y, f), (name, f)
        assert x.values.dtype == y.values.dtype, name
        np.testing.assert_array_equal(x.values, y.values)
        np.testing.assert_array_equal(x.counts, y.counts)
        for f in ("mean", "m2", "abs_rounding_error"):
            u, v = getattr(x, f), getattr(y, f)
            assert (u is None) == (v is None), (name, f)
            if u is not None:
                assert u == pytest.approx(v, rel=RTOL, abs=1e-9), (name, f)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_day_profiles_from_segments_equal_unsegmented_profiles(seed):
    model, frame = _model(), _frame(seed)
    kinds = profiled_columns(model)
    days, segs = profile_day_segments(
        frame, model, [PLAN], partition_column="date", id_column="id", exact_cap=CAP
    )
    direct = profile_partitions(
        frame, kinds, partition_column="date", id_column="id", exact_cap=CAP
    )
    assert sorted(days) == sorted(direct) == ["2026-06-01", "2026-06-02"]
    for d in direct:
        _same(days[d], direct[d])
        rows = frame[frame["date"] == d]
        _check_against_numpy(days[d], rows, rounded=ROUNDED)
        assert days[d].duplicate_ids == int(rows["id"].duplicated().sum())
        assert sum(p.rows for (day, _), p in segs.items() if day == d) == len(rows)
    # the segments themselves, against numpy, rounded exactly where the day is
    label = frame["country"].where(
        frame["country"].isin(PLAN.values) | frame["country"].isna(), OTHER
    )
    label = label.fillna(MISSING)
    for (d, key), prof in segs.items():
        rows = frame[(frame["date"] == d) & (label.map(lambda v: segment_key("country", v)) == key)]
        _check_against_numpy(prof, rows, rounded=ROUNDED)
    assert any(p.rows == 1 for p in segs.values())  # PT on one day


def test_a_column_rounded_on_one_day_is_rounded_on_every_day_of_the_pass():
    model, frame = _model(), _frame(5)
    frame.loc[frame["date"] == "2026-06-02", "wide"] = 7.0  # one value on the second day
    days, _ = profile_day_segments(
        frame, model, [PLAN], partition_column="date", id_column="id", exact_cap=CAP
    )
    direct = profile_partitions(
        frame, profiled_columns(model), partition_column="date", id_column="id", exact_cap=CAP
    )
    for d in direct:
        _same(days[d], direct[d])


def test_without_partition_or_ids_and_a_second_segment_column():
    model, frame = _model(), _frame(3)
    other = SegmentPlan("plan", ("a", "b"), None, True)
    days, segs = profile_day_segments(frame, model, [PLAN, other], exact_cap=CAP)
    direct = profile_partitions(frame, profiled_columns(model), exact_cap=CAP)
    _same(days[""], direct[""])
    assert {k for _, k in segs} >= {"plan=a", "plan=b", "plan=other", "plan=(missing)"}
    assert sum(p.rows for (_, k), p in segs.items() if k.startswith("plan=")) == len(frame)


def test_categorical_counts_of_many_partitions_equal_one_scan_per_column(monkeypatch):
    from monitoring_assets.core import profile_build

    frame = _frame(4)
    frame["key"] = frame["date"] + "/" + frame["country"].fillna("-")
    kinds = profiled_columns(_model())
    grouped = profile_partitions(frame, kinds, partition_column="key", exact_cap=CAP)
    monkeypatch.setattr(profile_build, "GROUPING_SETS_MAX", 0)
    unioned = profile_partitions(frame, kinds, partition_column="key", exact_cap=CAP)
    assert sorted(grouped) == sorted(unioned) and len(grouped) > 10
    for k in grouped:
        _same(grouped[k], unioned[k])
        rows = frame[frame["key"] == k]
        for name in ("plan", "prediction"):
            vc = rows[name].dropna().astype(str).value_counts().sort_index()
            assert list(grouped[k][name].values) == list(vc.index)
            np.testing.assert_array_equal(grouped[k][name].counts, vc.to_numpy())
