"""Every metric against scikit-learn on the same data."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve
from sklearn.exceptions import UndefinedMetricWarning

from monitoring_assets.core.performance import (
    classification_metrics,
    evaluate_day,
    expected_calibration_error,
    join_labels,
)


def _data(n: int, seed: int, classes=(0, 1)):
    rng = np.random.default_rng(seed)
    p = rng.beta(2, 3, size=n)
    y = (rng.uniform(size=n) < np.clip(p + rng.normal(0, 0.1, n), 0, 1)).astype(int)
    pred = (p >= 0.5).astype(int)
    c = np.asarray(classes)
    return c[y], c[pred], p


@pytest.mark.parametrize("seed,n", [(0, 50), (1, 500), (2, 5000)])
def test_metrics_match_sklearn(seed: int, n: int) -> None:
    y, pred, p = _data(n, seed)
    m = classification_metrics(y, pred, p)
    assert m.n == n
    assert m.accuracy == pytest.approx(skm.accuracy_score(y, pred), abs=1e-12)
    assert m.precision == pytest.approx(skm.precision_score(y, pred), abs=1e-12)
    assert m.recall == pytest.approx(skm.recall_score(y, pred), abs=1e-12)
    assert m.f1 == pytest.approx(skm.f1_score(y, pred), abs=1e-12)
    assert m.roc_auc == pytest.approx(skm.roc_auc_score(y, p), abs=1e-12)
    assert m.log_loss == pytest.approx(skm.log_loss(y, p), abs=1e-12)
    tn, fp, fn, tp = skm.confusion_matrix(y, pred, labels=[0, 1]).ravel()
    assert (m.tn, m.fp, m.fn, m.tp) == (tn, fp, fn, tp)
    assert m.positive_rate == pytest.approx(pred.mean())
    assert m.label_positive_rate == pytest.approx(y.mean())
    assert m.notes == ()


def test_metrics_with_other_class_values_match_sklearn() -> None:
    y, pred, p = _data(400, 3, classes=(-1, 7))
    m = classification_metrics(y, pred, p, classes=(-1, 7))
    assert m.f1 == pytest.approx(skm.f1_score(y, pred, pos_label=7))
    assert m.roc_auc == pytest.approx(skm.roc_auc_score(y == 7, p))


def test_ece_matches_calibration_curve_bins() -> None:
    y, _, p = _data(3000, 4)
    # include exact bin edges: sklearn puts 0.1 in the first bin ([0, 0.1]).
    p = np.concatenate([p, [0.0, 0.1, 0.2, 0.5, 1.0]])
    y = np.concatenate([y, [0, 1, 0, 1, 1]])
    prob_true, prob_pred = calibration_curve(y, p, n_bins=10, strategy="uniform")
    counts = np.bincount(np.searchsorted(np.linspace(0, 1, 11)[1:-1], p), minlength=10)
    weights = counts[counts > 0] / len(p)
    expected = float(np.sum(weights * np.abs(prob_true - prob_pred)))
    assert expected_calibration_error(y, p) == pytest.approx(expected, abs=1e-12)
    assert 0.0 < expected < 0.2


def test_ece_is_zero_for_perfect_bin_means_and_large_for_overconfidence() -> None:
    y = np.array([0, 1] * 50)
    assert expected_calibration_error(y, np.full(100, 0.5)) == pytest.approx(0.0)
    assert expected_calibration_error(y, np.full(100, 0.99)) == pytest.approx(0.49)


def test_roc_auc_not_computable_with_one_class() -> None:
    m = classification_metrics(np.zeros(10), np.zeros(10), np.linspace(0, 0.4, 10))
    assert m.roc_auc is None
    assert any("roc_auc not computable: only class 0" in n for n in m.notes)
    assert m.accuracy == 1.0
    assert m.precision is None and m.recall is None and m.f1 is None
    # scikit-learn agrees the value is undefined (it warns and returns NaN)
    with pytest.warns(UndefinedMetricWarning):
        assert np.isnan(skm.roc_auc_score(np.zeros(10), np.linspace(0, 0.4, 10)))


def test_log_loss_clips_like_sklearn() -> None:
    y = np.array([0, 1, 1, 0])
    p = np.array([0.0, 1.0, 0.0, 0.3])
    assert classification_metrics(y, (p > 0.5).astype(int), p).log_loss == pytest.approx(
        skm.log_loss(y, p)
    )


def test_report_complete_only_above_min_coverage() -> None:
    y, pred, p = _data(1000, 5)
    import pandas as pd

    preds = pd.DataFrame({"request_id": range(1000), "prediction": pred, "probability": p})
    labels = pd.DataFrame({"request_id": range(1000), "target": y})
    full = evaluate_day(join_labels(preds, labels), min_label_coverage=0.8)
    assert full.status == "complete"
    assert full.metrics is not None and full.partial_metrics is None
    assert full.metrics.accuracy == pytest.approx(skm.accuracy_score(y, pred))
    assert full.predicted_counts == {0: int((pred == 0).sum()), 1: int((pred == 1).sum())}
    assert full.label_counts == {0: int((y == 0).sum()), 1: int((y == 1).sum())}

    part = evaluate_day(join_labels(preds, labels.iloc[:700]), min_label_coverage=0.8)
    assert part.status == "partial"
    assert part.coverage == pytest.approx(0.7)
    assert part.metrics is None
    assert part.partial_metrics is not None
    assert part.partial_metrics.accuracy == pytest.approx(skm.accuracy_score(y[:700], pred[:700]))
    assert "below min_label_coverage 0.800" in part.reason
