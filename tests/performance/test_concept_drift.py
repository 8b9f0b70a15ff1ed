"""Concept-drift and paired tests against statsmodels/scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.proportion import proportion_effectsize, proportions_ztest

from monitoring_assets.core.performance import (
    classification_metrics,
    cohens_h,
    error_rate_test,
    mcnemar_paired,
)


def _metrics(n: int, error_rate: float, seed: int):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=n)
    wrong = rng.uniform(size=n) < error_rate
    return classification_metrics(y, np.where(wrong, 1 - y, y))


def test_error_rate_test_matches_statsmodels_and_scipy() -> None:
    cur, ref = _metrics(2000, 0.2, 1), _metrics(6000, 0.1, 2)
    res = error_rate_test(cur, ref)
    z, p = proportions_ztest([cur.errors, ref.errors], [cur.n, ref.n])
    assert res.z_statistic == pytest.approx(z)
    assert res.p_value == pytest.approx(p)
    # the same pooled z-test by hand, with scipy's normal tail
    pooled = (cur.errors + ref.errors) / (cur.n + ref.n)
    se = math.sqrt(pooled * (1 - pooled) * (1 / cur.n + 1 / ref.n))
    z_hand = (cur.errors / cur.n - ref.errors / ref.n) / se
    assert res.p_value == pytest.approx(2 * stats.norm.sf(abs(z_hand)))
    assert res.cohens_h == pytest.approx(
        proportion_effectsize(cur.errors / cur.n, ref.errors / ref.n)
    )
    assert res.significant_increase and res.accuracy_drop_exceeded
    assert res.detected
    assert res.accuracy_drop == pytest.approx(ref.accuracy - cur.accuracy)


def test_significant_but_small_change_is_not_drift() -> None:
    cur, ref = _metrics(200_000, 0.115, 3), _metrics(200_000, 0.100, 4)
    res = error_rate_test(cur, ref)
    assert res.p_value < 1e-6 and res.significant_increase
    assert not res.accuracy_drop_exceeded
    assert not res.detected
    assert res.explanation.startswith("no concept drift")


def test_large_drop_on_few_rows_is_not_drift_without_significance() -> None:
    cur, ref = _metrics(12, 0.25, 5), _metrics(6000, 0.1, 6)
    res = error_rate_test(cur, ref)
    assert res.accuracy_drop_exceeded and res.p_value > 0.05
    assert not res.detected


def test_improvement_is_not_drift() -> None:
    res = error_rate_test(_metrics(2000, 0.05, 7), _metrics(6000, 0.2, 8))
    assert res.p_value < 0.05 and not res.significant_increase and not res.detected


def test_degenerate_and_empty_inputs() -> None:
    perfect = classification_metrics(np.array([0, 1] * 50), np.array([0, 1] * 50))
    res = error_rate_test(perfect, perfect)
    assert res.computable and res.p_value == 1.0 and not res.detected
    empty = classification_metrics(np.array([]), np.array([]))
    res = error_rate_test(empty, perfect)
    assert not res.computable and "current set has no labeled rows" in res.explanation


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
