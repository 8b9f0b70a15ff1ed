"""Concept drift: has P(y | x) changed, as opposed to the inputs moving?

Two tests, for two different questions:

- :func:`realized_vs_estimated` compares a day's realized errors with the errors the
  label-free estimate (CBPE) expects *on the same rows*. CBPE calibrates each row's score
  on the version's validation set, so it follows covariate shift: if the inputs move to
  regions where the model is less sure, the estimate drops with the realized accuracy.
  Only a change of P(y | x) makes realized performance fall below what the calibrated
  probabilities promise. The test is one-sided: with q_i the calibrated probability that
  row i's prediction is right, the expected error count is E = Σ(1 − q_i) with the
  Poisson-binomial variance Σ q_i(1 − q_i); the calibration itself was learned from
  ``n_reference`` validation rows, which adds (n·s)² with s = √(ā(1 − ā)/n_reference)
  (ā the mean q). z = (observed − E − ½) / √(sum of both variances) (continuity
  corrected), p = P(Z ≥ z). Drift is reported when p < ``significance`` *and* realized
  accuracy is at least ``min_gap`` below the estimate: with thousands of rows a
  negligible gap is already significant.
- :func:`mcnemar_paired` compares two models on the *same* rows (champion vs
  challenger on one holdout). McNemar's test is only valid for such paired
  predictions; it is never used between reference and current data.

A plain drop of performance against the reference is not concept drift; the
``accuracy_drop_within_limit`` check judges it, and says whether the estimate dropped too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from monitoring_assets.core.performance.cbpe import CBPE

# Below this many discordant pairs the chi-square approximation is poor; use the exact
# binomial test instead (the usual rule of thumb).
MCNEMAR_EXACT_BELOW = 25


def cohens_h(p1: float, p2: float) -> float:
    """Cohen's h between two proportions: 2·asin(√p1) − 2·asin(√p2)."""
    for name, v in (("p1", p1), ("p2", p2)):
        if not 0.0 <= v <= 1.0:
            raise ValueError(f"{name} must be a proportion in [0, 1], got {v}")
    return 2 * math.asin(math.sqrt(p1)) - 2 * math.asin(math.sqrt(p2))


@dataclass(frozen=True)
class ConceptDriftResult:
    """Realized vs expected errors on the same rows, the test and its verdict."""

    computable: bool
    detected: bool
    explanation: str
    n: int
    significance: float
    min_gap: float
    observed_errors: int | None = None
    expected_errors: float | None = None
    expected_errors_std: float | None = None
    realized_accuracy: float | None = None
    estimated_accuracy: float | None = None
    z_statistic: float | None = None
    p_value: float | None = None
    cohens_h: float | None = None

    @property
    def gap(self) -> float | None:
        """Estimated minus realized accuracy (positive: worse than the estimate)."""
        if self.realized_accuracy is None or self.estimated_accuracy is None:
            return None
        return self.estimated_accuracy - self.realized_accuracy


def realized_vs_estimated(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    probability: np.ndarray,
    cbpe: CBPE,
    *,
    significance: float = 0.05,
    min_gap: float = 0.02,
) -> ConceptDriftResult:
    """The one-sided test of the module doc on the rows with a label, a prediction in
    ``cbpe.classes`` and a probability in [0, 1]."""
    y = np.asarray(y_true, dtype=float)
    yp = np.asarray(y_pred, dtype=float)
    p = np.asarray(probability, dtype=float)
    if not (len(y) == len(yp) == len(p)):
        raise ValueError(f"lengths differ: y_true {len(y)}, y_pred {len(yp)}, probability {len(p)}")
    neg, pos = (float(c) for c in cbpe.classes)
    ok = np.isin(y, [neg, pos]) & np.isin(yp, [neg, pos]) & ~np.isnan(p) & (p >= 0) & (p <= 1)
    n = int(ok.sum())
    common = dict(n=n, significance=significance, min_gap=min_gap)
    if cbpe.calibration == "none" and cbpe.n_reference == 0:
        return ConceptDriftResult(
            computable=False,
            detected=False,
            explanation="not computable: no calibrated probabilities for the label-free estimate",
            **common,
        )
    if n == 0:
        return ConceptDriftResult(
            computable=False,
            detected=False,
            explanation="not computable: no labelled row with a valid probability",
            **common,
        )
    c = cbpe.calibrate(p[ok])
    right = yp[ok] == pos
    q = np.where(right, c, 1.0 - c)  # P(prediction is right)
    observed = int(np.sum(yp[ok] != y[ok]))
    expected = float(np.sum(1.0 - q))
    var = float(np.sum(q * (1.0 - q)))
    if cbpe.n_reference > 0:
        a = float(np.mean(q))
        var += (n * math.sqrt(a * (1.0 - a) / cbpe.n_reference)) ** 2
    std = math.sqrt(var)
    realized, estimated = 1.0 - observed / n, 1.0 - expected / n
    if std == 0.0:
        z, pv = (math.inf, 0.0) if observed > expected else (0.0, 1.0)
    else:
        from scipy.stats import norm  # lazy import

        z = (observed - expected - 0.5) / std
        pv = float(norm.sf(z))
    h = cohens_h(observed / n, min(max(expected / n, 0.0), 1.0))
    gap = estimated - realized
    detected = pv < significance and gap >= min_gap
    rows = f"on the same {n:,} rows"
    stats = (
        f"errors {observed:,} vs expected {expected:,.1f} ± {std:.1f}, z={z:.2f}, "
        f"one-sided p={pv:.2g}"
    )
    if detected:
        text = (
            f"realized accuracy {realized:.3f} vs estimated {estimated:.3f} {rows} ({stats}): "
            "P(y|x) changed"
        )
    elif gap >= min_gap:
        text = (
            f"no concept drift: realized accuracy {realized:.3f} vs estimated {estimated:.3f} "
            f"{rows} ({stats}): the gap is not significant at {significance:g}"
        )
    else:
        text = (
            f"no concept drift: realized accuracy {realized:.3f} vs estimated {estimated:.3f} "
            f"{rows} ({stats}): within {min_gap:g} of the label-free estimate"
        )
    return ConceptDriftResult(
        computable=True,
        detected=detected,
        explanation=text,
        observed_errors=observed,
        expected_errors=expected,
        expected_errors_std=std,
        realized_accuracy=realized,
        estimated_accuracy=estimated,
        z_statistic=float(z),
        p_value=pv,
        cohens_h=h,
        **common,
    )


@dataclass(frozen=True)
class McNemarResult:
    """McNemar's test of two models on the same rows.

    ``table`` is [[both right, only A right], [only B right, both wrong]].
    """

    n: int
    table: tuple[tuple[int, int], tuple[int, int]]
    only_a_right: int
    only_b_right: int
    statistic: float
    p_value: float
    exact: bool

    @property
    def better(self) -> str | None:
        """'a', 'b', or None when they are equally often uniquely right."""
        if self.only_a_right == self.only_b_right:
            return None
        return "a" if self.only_a_right > self.only_b_right else "b"


def mcnemar_paired(
    y_true: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray, *, exact: bool | None = None
) -> McNemarResult:
    """McNemar's test between models A and B predicting the same rows ``y_true``.

    ``exact=None`` chooses the exact binomial test below 25 discordant pairs and the
    continuity-corrected chi-square above.
    """
    y, a, b = (np.asarray(v) for v in (y_true, pred_a, pred_b))
    if not (len(y) == len(a) == len(b)):
        raise ValueError(
            f"paired predictions need equal lengths: y_true {len(y)}, pred_a {len(a)}, pred_b {len(b)}"
        )
    if len(y) == 0:
        raise ValueError("y_true is empty: McNemar's test needs paired rows")
    ra, rb = a == y, b == y
    n11, n10 = int(np.sum(ra & rb)), int(np.sum(ra & ~rb))
    n01, n00 = int(np.sum(~ra & rb)), int(np.sum(~ra & ~rb))
    use_exact = (n10 + n01) < MCNEMAR_EXACT_BELOW if exact is None else exact
    table = [[n11, n10], [n01, n00]]
    if n10 + n01 == 0:
        stat, p = 0.0, 1.0  # the models never disagree in correctness
    else:
        from statsmodels.stats.contingency_tables import mcnemar  # lazy import

        res = mcnemar(table, exact=use_exact, correction=True)
        stat, p = float(res.statistic), float(res.pvalue)
    return McNemarResult(
        n=len(y),
        table=((n11, n10), (n01, n00)),
        only_a_right=n10,
        only_b_right=n01,
        statistic=stat,
        p_value=p,
        exact=use_exact,
    )
