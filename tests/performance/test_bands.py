"""Calibrated performance bands and the concept-drift test, end to end on a real lake,
DuckDB warehouse and registry, with a synthetic model whose truth is known
(:mod:`tests.performance.synthetic`)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

from monitoring_assets.core.performance.bands import (
    BandStore,
    Threshold,
    band_threshold,
    chunk_indices,
    size_bucket,
)
from monitoring_assets.core.performance.checks import (
    ACCURACY_ABOVE_FLOOR,
    ACCURACY_DROP_WITHIN_LIMIT,
    CONCEPT_DRIFT,
    ESTIMATED_ACCURACY_DROP_WITHIN_LIMIT,
)
from tests.performance import synthetic as S

DAY_ROWS = 1000
STATIONARY, SHIFTED, FLIPPED = range(0, 15), range(15, 20), range(20, 25)


def _date(i: int) -> dt.date:
    return S.START + dt.timedelta(days=i)


def _day_frame(i: int) -> pd.DataFrame:
    if i in SHIFTED:
        return S.rows(DAY_ROWS, 100 + i, x_scale=0.6)
    if i in FLIPPED:
        return S.rows(DAY_ROWS, 100 + i, flip=0.15)
    return S.rows(DAY_ROWS, 100 + i)


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    s = S.stores(tmp_path_factory.mktemp("synth"))
    model = S.model_config()
    S.write_validation(s, model, S.rows(12000, 1, prefix="val"))
    dates = [_date(i) for i in range(25)]
    frames = {i: _day_frame(i) for i in range(25)}
    for i, d in enumerate(dates):
        S.write_day(s, model, d, frames[i])
    out, days = S.run(s, model, dates)
    return s, model, out, days, frames


def _true_accuracy(x_scale: float) -> float:
    """E[max(p, 1 − p)] for x ~ N(0, x_scale²): the accuracy of the perfectly calibrated
    synthetic model, by numerical integration."""

    def f(x):
        p = 1 / (1 + np.exp(-S.SLOPE * x))
        return max(p, 1 - p) * stats.norm.pdf(x, scale=x_scale)

    return integrate.quad(f, -12 * x_scale, 12 * x_scale)[0]


def test_the_synthetic_model_is_healthy_at_0_83() -> None:
    assert _true_accuracy(1.0) == pytest.approx(0.83, abs=0.001)
    assert _true_accuracy(0.6) < 0.77  # the covariate shift costs ~6 points


def test_stationary_days_at_0_83_raise_no_accuracy_alert(history) -> None:
    s, model, out, days, frames = history
    old_floor_failures = 0
    for i in STATIONARY:
        pk = _date(i).isoformat()
        for check in (
            ACCURACY_ABOVE_FLOOR,
            ACCURACY_DROP_WITHIN_LIMIT,
            ESTIMATED_ACCURACY_DROP_WITHIN_LIMIT,
        ):
            o = out[(pk, check)]
            assert o.passed, (pk, check, o.description)
            assert o.metadata["threshold_mode"] == "calibrated"
        f = frames[i]
        old_floor_failures += accuracy_score(f.y, f.prediction) < 0.85
    # the former default (absolute floor 0.85, ERROR) failed on every one of these days
    assert old_floor_failures == len(STATIONARY)
    floor = out[(_date(0).isoformat(), ACCURACY_ABOVE_FLOOR)]
    assert floor.metadata["threshold_source"] == (
        "mean−6σ of 13 validation chunks of 861 rows (σ of one day: 1.43 × the chunks' σ)"
    )
    assert 0.72 < floor.metadata["threshold"] < 0.80


def test_covariate_shift_fires_the_drop_check_but_not_concept_drift(history) -> None:
    s, model, out, days, frames = history
    for i in SHIFTED:
        pk = _date(i).isoformat()
        f = frames[i]
        # the truth: the model is as calibrated as ever, accuracy is lower
        assert accuracy_score(f.y, f.prediction) < 0.80
        drop, drift = out[(pk, ACCURACY_DROP_WITHIN_LIMIT)], out[(pk, CONCEPT_DRIFT)]
        assert not drop.passed, drop.description
        assert drop.description.endswith("covariate shift explains it"), drop.description
        assert drift.passed, drift.description
        # the estimate dropped as far as the truth says it should (independent integral)
        assert drift.metadata["estimated_accuracy"] == pytest.approx(_true_accuracy(0.6), abs=0.02)
        assert not out[(pk, ESTIMATED_ACCURACY_DROP_WITHIN_LIMIT)].passed


def test_label_flip_fires_concept_drift(history) -> None:
    s, model, out, days, frames = history
    for i in FLIPPED:
        pk = _date(i).isoformat()
        drift = out[(pk, CONCEPT_DRIFT)]
        assert not drift.passed and drift.severity == "WARN"
        assert drift.description.startswith("realized accuracy 0.")
        assert "on the same 1,000 rows" in drift.description
        assert "P(y|x) changed" in drift.description
        f = frames[i]
        assert drift.metadata["realized_accuracy"] == pytest.approx(
            accuracy_score(f.y, f.prediction)
        )
        # features and scores are unchanged: the estimate stays up, and says so
        assert out[(pk, ESTIMATED_ACCURACY_DROP_WITHIN_LIMIT)].passed
        drop = out[(pk, ACCURACY_DROP_WITHIN_LIMIT)]
        if not drop.passed:
            assert "P(y|x) changed, see concept_drift" in drop.description
    stored = s.wh.query(
        "SELECT partition_date, detected FROM concept_drift_tests ORDER BY 1"
    ).detected.tolist()
    assert stored[FLIPPED.start :] == [True] * len(FLIPPED)
    assert not any(stored[SHIFTED.start : SHIFTED.stop])


def test_stored_metrics_equal_scikit_learn(history) -> None:
    s, model, out, days, frames = history
    perf = s.wh.query("SELECT * FROM model_performance ORDER BY partition_date")
    for i in (0, SHIFTED.start, FLIPPED.start):
        f, r = frames[i], perf.iloc[i]
        assert r.accuracy == pytest.approx(accuracy_score(f.y, f.prediction))
        assert r.f1 == pytest.approx(f1_score(f.y, f.prediction))
        assert r.precision == pytest.approx(precision_score(f.y, f.prediction))
        assert r.recall == pytest.approx(recall_score(f.y, f.prediction))
        assert r.roc_auc == pytest.approx(roc_auc_score(f.y, f.probability))


def test_band_chunks_equal_scikit_learn_on_the_same_chunks(history) -> None:
    s, model, out, days, frames = history
    bands = s.wh.query("SELECT * FROM performance_bands WHERE chunk_rows = 861")
    assert set(bands.metric) == {
        "accuracy",
        "f1",
        "roc_auc",
        "precision",
        "recall",
        "estimated_accuracy",
        "calibration_error",
    }
    val = S.rows(12000, 1, prefix="val")
    import zlib

    chunks, chunking = chunk_indices(val.timestamp, len(val), 861, 200, zlib.crc32(b"synth/v1/861"))
    assert chunking == "rows" and len(chunks) == 12000 // 861
    assert len({int(j) for c in chunks for j in c}) == 13 * 861  # disjoint
    acc = [accuracy_score(val.y.iloc[c], val.prediction.iloc[c]) for c in chunks]
    auc = [roc_auc_score(val.y.iloc[c], val.probability.iloc[c]) for c in chunks]
    by_metric = bands.set_index("metric")
    assert by_metric.loc["accuracy", "mean"] == pytest.approx(np.mean(acc))
    assert by_metric.loc["accuracy", "std"] == pytest.approx(np.std(acc, ddof=1))
    assert by_metric.loc["roc_auc", "mean"] == pytest.approx(np.mean(auc))
    assert by_metric.loc["roc_auc", "std"] == pytest.approx(np.std(auc, ddof=1))
    ece = [_ece(val.y.iloc[c].to_numpy(), val.probability.iloc[c].to_numpy()) for c in chunks]
    assert by_metric.loc["calibration_error", "mean"] == pytest.approx(np.mean(ece))
    assert by_metric.loc["calibration_error", "std"] == pytest.approx(np.std(ece, ddof=1))


def _ece(y: np.ndarray, p: np.ndarray) -> float:
    """Ten equal-width bins, |positive rate − mean probability| weighted by the bin's rows
    (written out independently of the code under test)."""
    total = 0.0
    for b in range(10):
        lo, hi = b / 10, (b + 1) / 10
        inside = (p >= lo) & ((p < hi) if b < 9 else (p <= hi))
        if inside.any():
            total += inside.sum() * abs(y[inside].mean() - p[inside].mean())
    return total / len(p)


def test_ece_helper_on_a_hand_computed_case() -> None:
    # two bins, each half right: |0.5 − 0.9| and |0.5 − 0.1| → 0.4
    y, p = np.array([1, 0, 1, 0]), np.array([0.9, 0.9, 0.1, 0.1])
    assert _ece(y, p) == pytest.approx(0.4)


def test_size_buckets_are_geometric_and_rounded_down() -> None:
    # floor(2^(floor(4·log2 n)/4)): 30 -> 2^4.75 = 26.9 -> 26; 1000 -> 2^9.75 = 861.0
    assert [size_bucket(n) for n in (29, 30, 1000, 1024, 1950, 2000, 2047)] == [
        0,
        26,
        861,
        1024,
        1722,
        1722,
        1722,
    ]


def test_too_small_validation_split_falls_back_to_fixed_with_the_reason(tmp_path) -> None:
    s = S.stores(tmp_path)
    model = S.model_config()
    S.write_validation(s, model, S.rows(5000, 1, prefix="val"))
    S.write_day(s, model, _date(0), S.rows(DAY_ROWS, 100))
    out, _ = S.run(s, model, [_date(0)])
    o = out[(_date(0).isoformat(), ACCURACY_ABOVE_FLOOR)]
    assert o.metadata["threshold_mode"] == "fixed"
    assert (
        "validation split of 5,000 rows gives 5 chunk(s) of 861 rows"
        in (o.metadata["threshold_source"])
    )
    assert "< min_chunks 10" in o.metadata["threshold_source"]


def test_bands_are_calibrated_once_per_version_and_size(history, tmp_path) -> None:
    s, model, out, days, frames = history
    before = s.wh.query("SELECT chunk_rows, metric, computed_at FROM performance_bands")
    S.run(s, model, [_date(0), _date(1)])
    after = s.wh.query("SELECT chunk_rows, metric, computed_at FROM performance_bands")
    pd.testing.assert_frame_equal(
        before.sort_values(["chunk_rows", "metric"]).reset_index(drop=True),
        after.sort_values(["chunk_rows", "metric"]).reset_index(drop=True),
    )


def test_chunks_follow_time_when_the_split_spans_enough_days() -> None:
    n = 3000
    ts = pd.Series(pd.Timestamp("2026-01-01") + pd.to_timedelta(np.arange(n) * 900, unit="s"))
    shuffled = ts.sample(frac=1.0, random_state=3).reset_index(drop=True)  # 31 days
    chunks, chunking = chunk_indices(shuffled, n, 100, 200, seed=1)
    assert chunking == "time" and len(chunks) == 30
    for c in chunks:  # each chunk is one contiguous stretch of time
        got = shuffled.iloc[c].sort_values()
        assert (got.diff().dropna() == pd.Timedelta(seconds=900)).all()
    # too few distinct days for 30 chunks: a seeded shuffle instead
    one_day = pd.Series(pd.Timestamp("2026-01-01") + pd.to_timedelta(np.arange(n), unit="s"))
    assert chunk_indices(one_day, n, 100, 200, seed=1)[1] == "rows"
    assert chunk_indices(None, n, 5000, 200, seed=1) == ([], "none")


def test_a_version_without_validation_split_is_fixed_and_says_why(tmp_path) -> None:
    s = S.stores(tmp_path)
    model = S.model_config()
    store = BandStore(s.wh, model, validation=lambda version: None)
    bands = store.get("v9", DAY_ROWS)

    def fixed() -> Threshold:
        return Threshold(0.8, "fixed", "accuracy_floor 0.8")

    t = band_threshold(model, ACCURACY_ABOVE_FLOOR, bands["accuracy"], "error", fixed)
    assert (t.value, t.mode) == (0.8, "fixed")
    assert t.source == (
        "accuracy_floor 0.8; auto mode: version v9 has no labelled validation split with predictions"
    )
    assert s.wh.query("SELECT count(*) AS n FROM performance_bands").n[0] == 0
