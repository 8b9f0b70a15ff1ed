"""Concept-drift and paired tests against exact distributions, statsmodels and scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.proportion import proportion_effectsize

from monitoring_assets.core.performance import (
    CBPE,
    cohens_h,
    mcnemar_paired,
    realized_vs_estimated,
)


def _raw_scores(n_reference: int) -> CBPE:
    """An estimator that takes the scores as calibrated (no isotonic map)."""
    return CBPE.from_state(
        {"classes": [0, 1], "calibration": "none", "n_reference": n_reference, "x": None, "y": None}
    )


def _poisson_binomial_sf(p_error: np.ndarray, k: int) -> float:
    """P(at least k errors) for independent rows with error probabilities ``p_error``,
    by exact convolution."""
    dist = np.zeros(len(p_error) + 1)
    dist[0] = 1.0
    for q in p_error:
        dist[1:] = dist[1:] * (1 - q) + dist[:-1] * q
        dist[0] *= 1 - q
    return float(dist[k:].sum())


def _day(n: int, seed: int, flip: float = 0.0):
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.02, 0.98, n)
    y = (rng.uniform(size=n) < p).astype(int)
    y = np.where(rng.uniform(size=n) < flip, 1 - y, y)
    return y, (p >= 0.5).astype(int), p


def test_gap_test_p_value_is_the_poisson_binomial_tail() -> None:
    y, pred, p = _day(600, 1, flip=0.06)
    res = realized_vs_estimated(y, pred, p, _raw_scores(10**12))
    p_error = np.where(pred == 1, 1 - p, p)
    observed = int(np.sum(y != pred))
    exact = _poisson_binomial_sf(p_error, observed)
    assert res.observed_errors == observed
    assert res.expected_errors == pytest.approx(p_error.sum())
    assert 1e-5 < exact < 0.05
    assert res.p_value == pytest.approx(exact, rel=0.25)  # normal approximation
    assert res.detected and res.explanation.endswith("P(y|x) changed")
    assert res.cohens_h == pytest.approx(proportion_effectsize(observed / 600, p_error.sum() / 600))


def test_calibration_uncertainty_widens_the_test() -> None:
    y, pred, p = _day(2000, 2)
    q = np.where(pred == 1, p, 1 - p)
    res = realized_vs_estimated(y, pred, p, _raw_scores(1000))
    a = q.mean()
    by_hand = math.sqrt(np.sum(q * (1 - q)) + (2000 * math.sqrt(a * (1 - a) / 1000)) ** 2)
    assert res.expected_errors_std == pytest.approx(by_hand)
    z = (res.observed_errors - np.sum(1 - q) - 0.5) / by_hand
    assert res.p_value == pytest.approx(stats.norm.sf(z))


def test_significant_but_small_gap_is_not_drift() -> None:
    y, pred, p = _day(200_000, 3, flip=0.015)
    res = realized_vs_estimated(y, pred, p, _raw_scores(10**12), min_gap=0.02)
    assert res.p_value < 1e-6 and 0 < res.gap < 0.02
    assert not res.detected and "within 0.02 of the label-free estimate" in res.explanation


def test_doing_better_than_the_estimate_is_not_drift() -> None:
    y, pred, p = _day(2000, 4)
    y = np.where(np.random.default_rng(5).uniform(size=2000) < 0.3, pred, y)  # more right
    res = realized_vs_estimated(y, pred, p, _raw_scores(10**12))
    assert res.gap < 0 and res.p_value > 0.5 and not res.detected


def test_rows_without_probability_are_left_out_and_none_left_is_not_computable() -> None:
    y, pred, p = _day(100, 6)
    p[:40] = np.nan
    assert realized_vs_estimated(y, pred, p, _raw_scores(1000)).n == 60
    res = realized_vs_estimated(y, pred, np.full(100, np.nan), _raw_scores(1000))
    assert not res.computable and not res.detected and "not computable" in res.explanation


def test_cohens_h_rejects_non_proportions() -> None:
    assert cohens_h(0.5, 0.5) == 0.0
    with pytest.raises(ValueError, match="p1"):
        cohens_h(1.2, 0.5)


@pytest.mark.parametrize("n,flip_a,flip_b,exact", [(60, 0.2, 0.1, True), (3000, 0.2, 0.1, False)])
def test_mcnemar_matches_statsmodels(n, flip_a, flip_b, exact) -> None:
    rng = np.random.default_rng(n)
    y = rng.integers(0, 2, size=n)
    a = np.where(rng.uniform(size=n) < flip_a, 1 - y, y)
    b = np.where(rng.uniform(size=n) < flip_b, 1 - y, y)
    res = mcnemar_paired(y, a, b)
    ra, rb = a == y, b == y
    table = [[np.sum(ra & rb), np.sum(ra & ~rb)], [np.sum(~ra & rb), np.sum(~ra & ~rb)]]
    ref = mcnemar(table, exact=exact, correction=True)
    assert res.exact is exact
    assert res.p_value == pytest.approx(ref.pvalue)
    assert res.statistic == pytest.approx(ref.statistic)
    assert res.better == "b"
    if not exact:
        # the corrected chi-square by hand, with scipy's chi2 tail
        b10, c01 = table[0][1], table[1][0]
        chi = (abs(b10 - c01) - 1) ** 2 / (b10 + c01)
        assert res.p_value == pytest.approx(stats.chi2.sf(chi, 1))


def test_mcnemar_needs_paired_rows() -> None:
    with pytest.raises(ValueError, match="equal lengths"):
        mcnemar_paired(np.zeros(5), np.zeros(5), np.zeros(4))
    same = mcnemar_paired(np.array([0, 1]), np.array([0, 1]), np.array([0, 1]))
    assert same.p_value == 1.0 and same.better is None
