"""Classification metrics for a binary model, and the daily performance report.

Conventions (the same as scikit-learn's, which the tests use as the oracle):

- the positive class is ``classes[1]``; probabilities are P(positive class);
- precision is undefined (``None``) without predicted positives, recall without actual
  positives, F1 when both are absent; scikit-learn would report 0 with a warning, which
  reads like a real measurement;
- ROC AUC needs both classes among the labels, otherwise it is ``None`` with a note;
- log loss clips probabilities to [eps, 1 - eps] with eps the float64 machine epsilon,
  as scikit-learn does;
- expected calibration error (ECE) uses 10 equal-width bins of the positive-class
  probability, with the edges of ``sklearn.calibration.calibration_curve(...,
  strategy="uniform")``: [0, 0.1], (0.1, 0.2], ..., (0.9, 1.0]. ECE is the mean over
  rows of |observed positive rate - mean predicted probability| of the row's bin, i.e.
  sum over bins of (bin rows / rows) x |gap|.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from monitoring_assets.core.performance.labels import (
    LABEL,
    PREDICTION,
    PREDICTION_VALID,
    PROBABILITY,
    PROBABILITY_VALID,
    DataIssue,
    LabeledDay,
)

ECE_BINS = 10


def expected_calibration_error(
    y_true: np.ndarray, probability: np.ndarray, n_bins: int = ECE_BINS
) -> float:
    """Binned |observed - predicted| positive rate, weighted by bin size (see module doc)."""
    y = np.asarray(y_true, dtype=float)
    p = np.asarray(probability, dtype=float)
    if len(y) != len(p):
        raise ValueError(f"y_true has {len(y)} rows but probability has {len(p)}")
    if len(p) == 0:
        raise ValueError("probability is empty: calibration error needs at least one row")
    if np.isnan(p).any() or p.min() < 0 or p.max() > 1:
        raise ValueError("probability must be in [0, 1] without NaN")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.searchsorted(edges[1:-1], p)
    total = np.bincount(bins, minlength=n_bins)
    sum_p = np.bincount(bins, weights=p, minlength=n_bins)
    sum_y = np.bincount(bins, weights=y, minlength=n_bins)
    nz = total > 0
    gaps = np.abs(sum_y[nz] / total[nz] - sum_p[nz] / total[nz])
    return float(np.sum(gaps * total[nz]) / len(p))


@dataclass(frozen=True)
class Metrics:
    """Metrics of one labeled set. ``None`` means not computable; ``notes`` says why."""

    n: int
    accuracy: float | None
    precision: float | None
    recall: float | None
    f1: float | None
    roc_auc: float | None
    log_loss: float | None
    calibration_error: float | None
    positive_rate: float | None
    label_positive_rate: float | None
    tn: int
    fp: int
    fn: int
    tp: int
    n_with_probability: int
    notes: tuple[str, ...] = ()

    @property
    def error_rate(self) -> float | None:
        return None if self.accuracy is None else 1.0 - self.accuracy

    @property
    def errors(self) -> int:
        return self.fp + self.fn

    def as_dict(self) -> dict[str, Any]:
        """Plain values, for metadata and tables."""
        d = asdict(self)
        d["notes"] = list(self.notes)
        return d


def classification_metrics(
    y_true: np.ndarray | pd.Series,
    y_pred: np.ndarray | pd.Series,
    probability: np.ndarray | pd.Series | None = None,
    *,
    classes: tuple[int, int] = (0, 1),
) -> Metrics:
    """Metrics of predictions ``y_pred`` (and optional P(positive)) against ``y_true``.

    ``probability`` may contain NaN: those rows are left out of the probability-based
    metrics only. Values of ``y_true``/``y_pred`` must be in ``classes``.
    """
    y = np.asarray(y_true, dtype=float)
    yp = np.asarray(y_pred, dtype=float)
    if len(y) != len(yp):
        raise ValueError(f"y_true has {len(y)} rows but y_pred has {len(yp)}")
    neg, pos = (float(c) for c in classes)
    for name, arr in (("y_true", y), ("y_pred", yp)):
        bad = ~np.isin(arr, [neg, pos])
        if bad.any():
            raise ValueError(f"{name} has values outside classes {list(classes)}: {arr[bad][:5]}")
    notes: list[str] = []
    n = len(y)
    t, p = y == pos, yp == pos
    tp, fp = int(np.sum(t & p)), int(np.sum(~t & p))
    fn, tn = int(np.sum(t & ~p)), int(np.sum(~t & ~p))
    accuracy = (tp + tn) / n if n else None
    precision = tp / (tp + fp) if tp + fp else None
    if precision is None and n:
        notes.append("precision not computable: no positive predictions")
    recall = tp / (tp + fn) if tp + fn else None
    if recall is None and n:
        notes.append("recall not computable: no positive labels")
    f1 = 2 * tp / (2 * tp + fp + fn) if 2 * tp + fp + fn else None
    if f1 is None and n:
        notes.append("f1 not computable: no positive labels or predictions")

    roc_auc = ll = ece = None
    n_prob = 0
    if probability is not None:
        pr = np.asarray(probability, dtype=float)
        if len(pr) != n:
            raise ValueError(f"y_true has {n} rows but probability has {len(pr)}")
        ok = ~np.isnan(pr) & (pr >= 0) & (pr <= 1)
        n_prob = int(ok.sum())
        if n_prob < n:
            notes.append(
                f"{n - n_prob} rows without a valid probability left out of AUC/log loss/ECE"
            )
        yb, pb = (y[ok] == pos).astype(int), pr[ok]
        if n_prob:
            from sklearn.metrics import log_loss, roc_auc_score  # lazy import

            ll = float(log_loss(yb, pb, labels=[0, 1]))
            ece = expected_calibration_error(yb, pb)
            if len(np.unique(yb)) == 2:
                roc_auc = float(roc_auc_score(yb, pb))
            else:
                notes.append(
                    f"roc_auc not computable: only class {int(classes[int(yb[0])])} among labels"
                )
        else:
            notes.append(
                "no valid probabilities: roc_auc, log_loss, calibration_error not computed"
            )
    return Metrics(
        n=n,
        accuracy=accuracy,
        precision=precision,
        recall=recall,
        f1=f1,
        roc_auc=roc_auc,
        log_loss=ll,
        calibration_error=ece,
        positive_rate=float(p.mean()) if n else None,
        label_positive_rate=float(t.mean()) if n else None,
        tn=tn,
        fp=fp,
        fn=fn,
        tp=tp,
        n_with_probability=n_prob,
        notes=tuple(notes),
    )


Status = Literal["complete", "partial", "no_labels", "no_predictions"]


@dataclass(frozen=True)
class PerformanceReport:
    """A day's realized performance.

    ``status``:
    - ``complete``: coverage reached ``min_label_coverage``; ``metrics`` is set.
    - ``partial``: some labels, too few; ``metrics`` is None and ``partial_metrics``
      holds the numbers over the labeled subset, which must not be read as the day's.
    - ``no_labels`` / ``no_predictions``: nothing to compute.
    """

    status: Status
    reason: str
    n_predictions: int
    n_labeled: int
    coverage: float
    min_label_coverage: float
    predicted_counts: dict[int, int]
    label_counts: dict[int, int]
    predicted_positive_rate: float | None
    metrics: Metrics | None
    partial_metrics: Metrics | None
    issues: tuple[DataIssue, ...] = field(default_factory=tuple)

    @property
    def complete(self) -> bool:
        return self.status == "complete"


def evaluate_day(day: LabeledDay, min_label_coverage: float) -> PerformanceReport:
    """Realized metrics of a joined day, gated by label coverage."""
    if not 0.0 <= min_label_coverage <= 1.0:
        raise ValueError(f"min_label_coverage must be in [0, 1], got {min_label_coverage}")
    neg, pos = day.classes
    f = day.frame
    valid_pred = f.loc[f[PREDICTION_VALID], PREDICTION]
    predicted_counts = {c: int((valid_pred == c).sum()) for c in day.classes}
    labeled = day.labeled()
    label_counts = {c: int((labeled[LABEL] == c).sum()) for c in day.classes}
    ppr = float((valid_pred == pos).mean()) if len(valid_pred) else None
    common = dict(
        n_predictions=day.n_predictions,
        n_labeled=day.n_labeled,
        coverage=day.coverage,
        min_label_coverage=min_label_coverage,
        predicted_counts=predicted_counts,
        label_counts=label_counts,
        predicted_positive_rate=ppr,
        issues=day.issues,
    )
    if day.n_predictions == 0:
        return PerformanceReport(
            status="no_predictions",
            reason="no predictions on this day",
            metrics=None,
            partial_metrics=None,
            **common,
        )
    if day.n_labeled == 0:
        return PerformanceReport(
            status="no_labels",
            reason=f"none of {day.n_predictions} predictions has a valid label yet",
            metrics=None,
            partial_metrics=None,
            **common,
        )
    prob = labeled[PROBABILITY].where(labeled[PROBABILITY_VALID])
    m = classification_metrics(labeled[LABEL], labeled[PREDICTION], prob, classes=day.classes)
    if day.coverage + 1e-12 < min_label_coverage:
        return PerformanceReport(
            status="partial",
            reason=(
                f"label coverage {day.coverage:.3f} is below min_label_coverage "
                f"{min_label_coverage:.3f}: metrics over the {day.n_labeled} labeled rows only"
            ),
            metrics=None,
            partial_metrics=m,
            **common,
        )
    return PerformanceReport(
        status="complete",
        reason=f"label coverage {day.coverage:.3f}",
        metrics=m,
        partial_metrics=None,
        **common,
    )
