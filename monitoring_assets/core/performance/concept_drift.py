"""Concept drift: has the model's error rate changed against its reference?

Two tests, for two different questions:

- :func:`error_rate_test` compares the error rate of a day (or window) with the
  reference (validation-set) error rate: two independent samples, so a two-proportion
  z-test (``statsmodels.stats.proportion.proportions_ztest``, pooled variance) with
  Cohen's h as the effect size. It is combined with the configured accuracy and F1
  drops: with thousands of rows a negligible change is already significant, and with
  a few dozen rows a large drop may be noise, so drift is reported only when the
  increase is both significant and larger than a configured drop.
- :func:`mcnemar_paired` compares two models on the *same* rows (champion vs
  challenger on one holdout). McNemar's test is only valid for such paired
  predictions; it is never used between reference and current data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from monitoring_assets.core.performance.metrics import Metrics

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
    """Current vs reference error rate, the test, and the threshold verdicts."""

    computable: bool
    detected: bool
    explanation: str
    n_current: int
    n_reference: int
    current_error_rate: float | None = None
    reference_error_rate: float | None = None
    z_statistic: float | None = None
    p_value: float | None = None
    cohens_h: float | None = None
    significant_increase: bool = False
    accuracy_drop: float | None = None
    f1_drop: float | None = None
    accuracy_drop_exceeded: bool = False
    f1_drop_exceeded: bool = False


def error_rate_test(
    current: Metrics,
    reference: Metrics,
    *,
    accuracy_drop: float = 0.05,
    f1_drop: float = 0.05,
    significance: float = 0.05,
) -> ConceptDriftResult:
    """Test whether ``current``'s error rate rose significantly above ``reference``'s.

    ``detected`` is true when the error rate increase is significant at
    ``significance`` (two-sided z-test) *and* accuracy dropped by more than
    ``accuracy_drop`` or F1 by more than ``f1_drop`` (absolute).
    """
    if current.n == 0 or reference.n == 0:
        which = "current" if current.n == 0 else "reference"
        return ConceptDriftResult(
            computable=False,
            detected=False,
            explanation=f"not computable: the {which} set has no labeled rows",
            n_current=current.n,
            n_reference=reference.n,
        )
    e_cur, e_ref = current.errors, reference.errors
    r_cur, r_ref = e_cur / current.n, e_ref / reference.n
    pooled = (e_cur + e_ref) / (current.n + reference.n)
    if pooled in (0.0, 1.0):
        # Identical degenerate rates (all right or all wrong in both): zero variance,
        # no evidence of a difference.
        z, p = 0.0, 1.0
    else:
        from statsmodels.stats.proportion import proportions_ztest  # lazy import

        z_raw, p_raw = proportions_ztest([e_cur, e_ref], [current.n, reference.n])
        z, p = float(z_raw), float(p_raw)
    h = cohens_h(r_cur, r_ref)
    acc_drop = (
        reference.accuracy - current.accuracy
        if current.accuracy is not None and reference.accuracy is not None
        else None
    )
    f1d = reference.f1 - current.f1 if current.f1 is not None and reference.f1 is not None else None
    significant = p < significance and r_cur > r_ref
    acc_x = acc_drop is not None and acc_drop > accuracy_drop
    f1_x = f1d is not None and f1d > f1_drop
    detected = significant and (acc_x or f1_x)
    parts = [
        f"error rate {r_cur:.4f} vs reference {r_ref:.4f} (z={z:.2f}, p={p:.3g}, h={h:.3f})",
    ]
    if acc_drop is not None:
        parts.append(f"accuracy drop {acc_drop:+.4f} (limit {accuracy_drop})")
    if f1d is not None:
        parts.append(f"F1 drop {f1d:+.4f} (limit {f1_drop})")
    verdict = "concept drift" if detected else "no concept drift"
    return ConceptDriftResult(
        computable=True,
        detected=detected,
        explanation=f"{verdict}: " + "; ".join(parts),
        n_current=current.n,
        n_reference=reference.n,
        current_error_rate=r_cur,
        reference_error_rate=r_ref,
        z_statistic=z,
        p_value=p,
        cohens_h=h,
        significant_increase=significant,
        accuracy_drop=acc_drop,
        f1_drop=f1d,
        accuracy_drop_exceeded=acc_x,
        f1_drop_exceeded=f1_x,
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
