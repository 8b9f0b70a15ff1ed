"""Regression and multiclass metrics against scikit-learn (the oracle)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn import metrics as skm

from monitoring_assets.core.performance.multiclass import multiclass_metrics
from monitoring_assets.core.performance.regression import regression_metrics, residual_drift


def _regression_data(seed: int, n: int = 500):
    rng = np.random.default_rng(seed)
    y = rng.gamma(3.0, 20.0, size=n)
    pred = y + rng.normal(2.0, 8.0, size=n)
    return y, pred


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_regression_metrics_match_scikit_learn(seed):
    y, pred = _regression_data(seed)
    m = regression_metrics(y, pred)
    assert m.n == len(y)
    assert m.mae == pytest.approx(skm.mean_absolute_error(y, pred), rel=1e-12)
    assert m.rmse == pytest.approx(math.sqrt(skm.mean_squared_error(y, pred)), rel=1e-12)
    assert m.mape == pytest.approx(skm.mean_absolute_percentage_error(y, pred), rel=1e-12)
    assert m.r2 == pytest.approx(skm.r2_score(y, pred), rel=1e-12)
    # Bias: positive when the model over-predicts (oracle: the plain mean of pred - y).
    assert m.mean_error == pytest.approx(float(np.sum(pred) - np.sum(y)) / len(y), rel=1e-9)
    assert m.mean_error > 0
    assert m.n_zero_target == 0 and m.notes == ()


def test_mape_leaves_zero_targets_out_and_says_so():
    y = np.array([0.0, 10.0, 20.0, 0.0, 40.0])
    pred = np.array([5.0, 12.0, 18.0, -1.0, 44.0])
    m = regression_metrics(y, pred)
    nz = y != 0
    # The rule: MAPE over the non-zero targets only (scikit-learn on that subset).
    assert m.mape == pytest.approx(skm.mean_absolute_percentage_error(y[nz], pred[nz]))
    assert m.n_zero_target == 2
    assert "2 rows with target 0 left out of MAPE" in m.notes
    # MAE/RMSE still use every row.
    assert m.mae == pytest.approx(skm.mean_absolute_error(y, pred))
    only_zero = regression_metrics([0.0, 0.0], [1.0, -1.0])
    assert only_zero.mape is None and only_zero.n_zero_target == 2


def test_r2_is_none_for_constant_targets_and_bad_input_is_refused():
    m = regression_metrics([3.0, 3.0, 3.0], [2.0, 3.0, 4.0])
    assert m.r2 is None
    assert any("constant" in n for n in m.notes)
    with pytest.raises(ValueError, match="NaN"):
        regression_metrics([1.0, np.nan], [1.0, 2.0])
    with pytest.raises(ValueError, match="rows"):
        regression_metrics([1.0, 2.0], [1.0])
    assert regression_metrics([], []).mae is None


def test_residual_drift_sees_a_shifted_residual_distribution_only():
    rng = np.random.default_rng(5)
    ref = rng.normal(0, 5, size=3000)
    same = residual_drift(rng.normal(0, 5, size=1000), ref, significance=0.001)
    moved = residual_drift(rng.normal(3, 5, size=1000), ref, significance=0.001)
    assert same.drifted is False and same.p_value > 0.001
    assert moved.drifted is True and moved.p_value < 1e-10
    assert residual_drift(ref[:10], ref, significance=0.001).drifted is None


CLASSES = [0, 1, 2]


def _multiclass_data(seed: int, n: int = 900):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, 3)) * 1.5
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = np.array([rng.choice(3, p=p) for p in proba])
    noisy = proba + rng.uniform(0, 0.3, size=proba.shape)
    noisy /= noisy.sum(axis=1, keepdims=True)
    return y, noisy.argmax(axis=1), noisy


@pytest.mark.parametrize("seed", [11, 12])
def test_multiclass_metrics_match_scikit_learn(seed):
    y, pred, proba = _multiclass_data(seed)
    m = multiclass_metrics(y, pred, CLASSES, proba)
    assert m.accuracy == pytest.approx(skm.accuracy_score(y, pred))
    p, r, f, s = skm.precision_recall_fscore_support(y, pred, labels=CLASSES)
    for i, c in enumerate(CLASSES):
        assert m.per_class[c].precision == pytest.approx(p[i])
        assert m.per_class[c].recall == pytest.approx(r[i])
        assert m.per_class[c].f1 == pytest.approx(f[i])
        assert m.per_class[c].support == s[i]
        assert m.per_class[c].roc_auc == pytest.approx(skm.roc_auc_score(y == c, proba[:, i]))
    for avg in ("macro", "weighted"):
        p, r, f, _ = skm.precision_recall_fscore_support(y, pred, labels=CLASSES, average=avg)
        assert getattr(m, f"{avg}_precision") == pytest.approx(p)
        assert getattr(m, f"{avg}_recall") == pytest.approx(r)
        assert getattr(m, f"{avg}_f1") == pytest.approx(f)
    assert m.macro_roc_auc == pytest.approx(
        skm.roc_auc_score(y, proba, multi_class="ovr", average="macro", labels=CLASSES)
    )


def test_an_undefined_per_class_value_is_none_not_zero():
    y = np.array([0, 1, 2, 2, 1, 0])
    pred = np.array([0, 1, 1, 1, 1, 0])  # class 2 is never predicted
    m = multiclass_metrics(y, pred, CLASSES)
    assert m.per_class[2].precision is None
    assert m.per_class[2].recall == 0.0 and m.per_class[2].f1 == 0.0
    # Macro averages over the defined values; scikit-learn's zero_division=0 counts a 0.
    assert m.macro_precision == pytest.approx((1.0 + 0.5) / 2)
    assert m.macro_roc_auc is None
    with pytest.raises(ValueError, match="outside classes"):
        multiclass_metrics([0, 3], [0, 1], CLASSES)


def test_a_days_labels_join_like_the_binary_join():
    import datetime as dt

    import pandas as pd

    from monitoring_assets.core.performance.task_daily import labelled_rows
    from tests.tasks.conftest import task_model

    model = task_model("multiclass", [], days=2, rows_per_day=10)
    c = model.columns
    inference = pd.DataFrame({c.id: ["a", "b", "c", "d"], c.prediction: [0, 1, 2, 0]})
    labels = pd.DataFrame(
        {
            c.id: ["a", "b", "b", "c", "c", "d", "zzz"],
            c.target: [0, 1, 2, 2, 2, 9, 1],
            "label_timestamp": pd.Timestamp(dt.date(2026, 6, 2)),
        }
    )
    got, notes = labelled_rows(model, inference, labels)
    # b: conflicting -> unlabelled; c: identical duplicate -> one label; d: 9 is no class;
    # zzz: unknown id.
    assert dict(zip(got[c.id], got["_y"], strict=True)) == {"a": 0, "c": 2}
    assert notes == [
        "1 request(s) with conflicting labels left unlabelled",
        "1 label(s) not valid for task multiclass left out",
    ]
