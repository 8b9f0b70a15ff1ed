"""Multiclass performance: realized metrics and multiclass CBPE.

Realized metrics follow scikit-learn's definitions (the tests' oracle):

- ``accuracy``: share of rows whose prediction equals the label;
- per class k (one-vs-rest): precision, recall, F1; a per-class value is ``None`` where it
  is undefined (no predictions of k for precision, no labels of k for recall, neither for
  F1) — scikit-learn would report 0 with a warning;
- ``macro_*``: unweighted mean over the classes where the value is defined; ``weighted_*``:
  mean weighted by each class's label count (classes without labels weigh 0, as in
  scikit-learn);
- one-vs-rest ROC AUC per class (when probabilities per class are logged, rows with any
  missing probability left out), by the Mann–Whitney rank sum; ``macro_roc_auc`` is their
  mean over the classes present among the labels (``None`` with fewer than 2 present).

Multiclass CBPE (as NannyML's): each class's probability is calibrated one-vs-rest with
isotonic regression on the validation split (the binary :class:`CBPE` per class), and the
calibrated probabilities of a row are renormalized to sum to 1. A row predicted as k is
then right with probability c_k; expected accuracy is the mean of c over the predicted
classes, and the expected confusion counts per class give expected precision, recall, F1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from monitoring_assets.core.performance.cbpe import CBPE


@dataclass(frozen=True)
class ClassMetrics:
    precision: float | None
    recall: float | None
    f1: float | None
    support: int
    roc_auc: float | None = None


@dataclass(frozen=True)
class MulticlassMetrics:
    n: int
    accuracy: float | None
    macro_precision: float | None
    macro_recall: float | None
    macro_f1: float | None
    weighted_precision: float | None
    weighted_recall: float | None
    weighted_f1: float | None
    macro_roc_auc: float | None
    per_class: dict[int, ClassMetrics] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def _mean(values: Sequence[float | None]) -> float | None:
    got = [v for v in values if v is not None]
    return float(np.mean(got)) if got else None


def _weighted(values: Sequence[float | None], weights: Sequence[int]) -> float | None:
    total = sum(weights)
    if total == 0:
        return None
    return float(sum((v or 0.0) * w for v, w in zip(values, weights, strict=True)) / total)


def roc_auc_ovr(y: np.ndarray, score: np.ndarray) -> float | None:
    """One-vs-rest ROC AUC of a boolean ``y`` by the rank sum (ties averaged)."""
    from scipy.stats import rankdata  # lazy

    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = rankdata(score)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _from_counts(
    classes: Sequence[int], tp: np.ndarray, fp: np.ndarray, fn: np.ndarray
) -> dict[int, tuple[float | None, float | None, float | None]]:
    out = {}
    for i, c in enumerate(classes):
        prec = tp[i] / (tp[i] + fp[i]) if tp[i] + fp[i] > 0 else None
        rec = tp[i] / (tp[i] + fn[i]) if tp[i] + fn[i] > 0 else None
        f1 = 2 * tp[i] / (2 * tp[i] + fp[i] + fn[i]) if 2 * tp[i] + fp[i] + fn[i] > 0 else None
        out[c] = (
            None if prec is None else float(prec),
            None if rec is None else float(rec),
            None if f1 is None else float(f1),
        )
    return out


def multiclass_metrics(
    y_true: Any,
    y_pred: Any,
    classes: Sequence[int],
    probabilities: np.ndarray | None = None,
) -> MulticlassMetrics:
    """Metrics of ``y_pred`` against ``y_true``; ``probabilities`` is rows × classes (in
    the order of ``classes``) or None. Values must be among ``classes``."""
    y = np.asarray(y_true)
    p = np.asarray(y_pred)
    if len(y) != len(p):
        raise ValueError(f"y_true has {len(y)} rows but y_pred has {len(p)}")
    for name, arr in (("y_true", y), ("y_pred", p)):
        bad = ~np.isin(arr, list(classes))
        if bad.any():
            raise ValueError(f"{name} has values outside classes {list(classes)}: {arr[bad][:5]}")
    n = len(y)
    notes: list[str] = []
    tp = np.array([np.sum((p == c) & (y == c)) for c in classes], dtype=float)
    fp = np.array([np.sum((p == c) & (y != c)) for c in classes], dtype=float)
    fn = np.array([np.sum((p != c) & (y == c)) for c in classes], dtype=float)
    support = [int(np.sum(y == c)) for c in classes]
    prf = _from_counts(classes, tp, fp, fn)
    aucs: dict[int, float | None] = {c: None for c in classes}
    macro_auc = None
    if probabilities is not None:
        pr = np.asarray(probabilities, dtype=float)
        if pr.shape != (n, len(classes)):
            raise ValueError(f"probabilities has shape {pr.shape}, expected ({n}, {len(classes)})")
        ok = ~np.isnan(pr).any(axis=1)
        if (~ok).any():
            notes.append(f"{int((~ok).sum())} rows without every class probability left out of AUC")
        for i, c in enumerate(classes):
            aucs[c] = roc_auc_ovr(y[ok] == c, pr[ok, i])
        present = [aucs[c] for c in classes if aucs[c] is not None]
        macro_auc = float(np.mean(present)) if len(present) >= 2 else None
        if macro_auc is None:
            notes.append("macro_roc_auc not computable: fewer than 2 classes among the labels")
    per_class = {
        c: ClassMetrics(*prf[c], support=support[i], roc_auc=aucs[c]) for i, c in enumerate(classes)
    }
    precs = [prf[c][0] for c in classes]
    recs = [prf[c][1] for c in classes]
    f1s = [prf[c][2] for c in classes]
    return MulticlassMetrics(
        n=n,
        accuracy=float(np.mean(p == y)) if n else None,
        macro_precision=_mean(precs),
        macro_recall=_mean(recs),
        macro_f1=_mean(f1s),
        weighted_precision=_weighted(precs, support),
        weighted_recall=_weighted(recs, support),
        weighted_f1=_weighted(f1s, support),
        macro_roc_auc=macro_auc,
        per_class=per_class,
        notes=tuple(notes),
    )


@dataclass(frozen=True)
class MulticlassEstimate:
    n: int
    n_estimated: int
    accuracy: float | None
    accuracy_std: float | None
    macro_f1: float | None
    per_class: dict[int, tuple[float | None, float | None, float | None]]
    notes: tuple[str, ...] = ()


class MulticlassCBPE:
    """Per-class isotonic calibration, renormalized (see the module doc)."""

    def __init__(self, classes: Sequence[int]):
        self.classes = list(classes)
        self._per_class: dict[int, CBPE] = {}

    @property
    def fitted(self) -> bool:
        return len(self._per_class) == len(self.classes)

    def fit(self, y_true: Any, probabilities: np.ndarray) -> MulticlassCBPE:
        y = np.asarray(y_true)
        pr = np.asarray(probabilities, dtype=float)
        ok = ~np.isnan(pr).any(axis=1) & np.isin(y, self.classes)
        if ok.sum() < 30:
            raise ValueError(f"MulticlassCBPE.fit needs >= 30 labelled rows, got {int(ok.sum())}")
        for i, c in enumerate(self.classes):
            self._per_class[c] = CBPE((0, 1)).fit((y[ok] == c).astype(int), pr[ok, i])
        return self

    def calibrate(self, probabilities: np.ndarray) -> np.ndarray:
        """Calibrated, renormalized probabilities (rows × classes)."""
        pr = np.asarray(probabilities, dtype=float)
        cal = np.column_stack(
            [self._per_class[c].calibrate(pr[:, i]) for i, c in enumerate(self.classes)]
        )
        total = cal.sum(axis=1, keepdims=True)
        uniform = np.full_like(cal, 1.0 / len(self.classes))
        return np.where(total > 0, cal / np.where(total > 0, total, 1.0), uniform)

    def estimate(self, probabilities: np.ndarray, y_pred: Any) -> MulticlassEstimate:
        pr = np.asarray(probabilities, dtype=float)
        yp = np.asarray(y_pred)
        ok = ~np.isnan(pr).any(axis=1) & np.isin(yp, self.classes)
        n, m = len(yp), int(ok.sum())
        notes = () if m == n else (f"{n - m} rows without probabilities or a class not estimated",)
        if m == 0:
            empty = {c: (None, None, None) for c in self.classes}
            return MulticlassEstimate(n, 0, None, None, None, empty, notes)
        cal = self.calibrate(pr[ok])
        yp = yp[ok]
        idx = np.array([self.classes.index(v) for v in yp])
        right = cal[np.arange(m), idx]
        tp = np.array([right[idx == i].sum() for i in range(len(self.classes))])
        fp = np.array([(1.0 - right[idx == i]).sum() for i in range(len(self.classes))])
        fn = np.array([cal[idx != i, i].sum() for i in range(len(self.classes))])
        per_class = _from_counts(self.classes, tp, fp, fn)
        return MulticlassEstimate(
            n=n,
            n_estimated=m,
            accuracy=float(right.mean()),
            accuracy_std=float(np.sqrt(np.sum(right * (1 - right))) / m),
            macro_f1=_mean([per_class[c][2] for c in self.classes]),
            per_class=per_class,
            notes=notes,
        )
