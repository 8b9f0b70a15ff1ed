"""CBPE: label-free estimates against realized performance."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.isotonic import IsotonicRegression

from monitoring_assets.core.performance import CBPE, classification_metrics
from monitoring_assets.core.simulator import Simulator
from tests.performance.conftest import day


def _calibrated(n: int, seed: int, distort: float = 1.0):
    """Rows whose true P(y=1) is p; the logged score is p distorted by ``distort``."""
    rng = np.random.default_rng(seed)
    p = rng.beta(1.2, 1.8, size=n)
    y = (rng.uniform(size=n) < p).astype(int)
    score = p**distort
    return y, score, (score >= 0.5).astype(int)


def test_calibration_state_matches_isotonic_regression() -> None:
    y, s, _ = _calibrated(5000, 1, distort=0.4)
    est = CBPE().fit(y, s)
    iso = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(s, y)
    grid = np.concatenate([np.linspace(-0.1, 1.1, 301), [np.nan]])
    got = est.calibrate(grid)
    assert np.isnan(got[-1])
    np.testing.assert_allclose(got[:-1], iso.predict(np.clip(grid[:-1], 0, 1)), atol=1e-12)
    restored = CBPE.from_state(est.to_state())
    np.testing.assert_allclose(restored.calibrate(grid[:-1]), got[:-1])


def test_estimate_is_the_expected_confusion_matrix() -> None:
    est = CBPE(calibration="none").fit([0, 1], [0.2, 0.8])
    e = est.estimate([0.9, 0.6, 0.3, 0.1], [1, 1, 0, 0])
    assert e.expected_tp == pytest.approx(1.5) and e.expected_fp == pytest.approx(0.5)
    assert e.expected_fn == pytest.approx(0.4) and e.expected_tn == pytest.approx(1.6)
    assert e.accuracy == pytest.approx(3.1 / 4)
    assert e.precision == pytest.approx(0.75)
    assert e.recall == pytest.approx(1.5 / 1.9)
    assert e.f1 == pytest.approx(3.0 / 3.9)


def test_isotonic_calibration_fixes_a_miscalibrated_model() -> None:
    y_ref, s_ref, _ = _calibrated(20000, 2, distort=0.4)
    y, s, pred = _calibrated(20000, 3, distort=0.4)
    realized = classification_metrics(y, pred)
    raw = CBPE(calibration="none").fit(y_ref, s_ref).estimate(s, pred)
    iso = CBPE().fit(y_ref, s_ref).estimate(s, pred)
    assert abs(raw.accuracy - realized.accuracy) > 0.05
    assert iso.accuracy == pytest.approx(realized.accuracy, abs=0.01)
    assert iso.f1 == pytest.approx(realized.f1, abs=0.01)
    assert iso.precision == pytest.approx(realized.precision, abs=0.01)
    assert iso.recall == pytest.approx(realized.recall, abs=0.01)


def test_invalid_rows_are_not_estimated() -> None:
    est = CBPE().fit([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8])
    e = est.estimate([0.9, np.nan, 1.5, 0.1], [1, 1, 1, 0])
    assert e.n == 4 and e.n_estimated == 2
    assert "2 rows" in e.notes[0]
    nothing = est.estimate([np.nan], [1])
    assert nothing.accuracy is None and nothing.n_estimated == 0


def test_unfitted_estimator_refuses() -> None:
    with pytest.raises(RuntimeError, match="not fitted"):
        CBPE().estimate([0.5], [1])


def test_cbpe_within_002_of_realized_over_70_simulated_days(covariate_only_model) -> None:
    """No concept drift (a covariate shift from day 20): estimate within 0.02 every day."""
    sim = Simulator(covariate_only_model)
    val = sim.validation()
    est = CBPE().fit(val["churn"], val["probability"])
    gaps = []
    for i in range(covariate_only_model.source.scenario.days):
        inf = sim.inference_day(day(covariate_only_model, i))
        lab = sim.labels_day(day(covariate_only_model, i))
        y = inf[["request_id"]].merge(lab, on="request_id")["churn"].to_numpy()
        realized = classification_metrics(y, inf["prediction"], inf["probability"]).accuracy
        gaps.append(est.estimate(inf["probability"], inf["prediction"]).accuracy - realized)
    gaps = np.abs(np.asarray(gaps))
    assert len(gaps) >= 60
    assert gaps.max() < 0.02, f"worst day off by {gaps.max():.4f}"
    assert gaps.mean() < 0.008
