"""Confidence-based performance estimation (CBPE), after NannyML.

Without labels, a calibrated probability c = P(y = positive | score) says how likely
each prediction is to be right: a positive prediction is a true positive with
probability c and a false positive with 1 - c; a negative prediction is a false
negative with probability c and a true negative with 1 - c. Summing gives the
expected confusion matrix of the day and from it expected accuracy, precision,
recall and F1.

The estimate is only as good as the calibration, and calibration is learned once on
labeled reference data (the model version's validation set, not its training set,
whose scores are optimistic) with isotonic regression. It stays valid under
covariate shift, as long as P(y | score) does not change. Concept drift changes
exactly that, so CBPE cannot see it; realized performance must.

``fit`` once per model version, ``estimate`` per day. The fitted state is a pair of
monotone breakpoint lists (JSON-able, no pickle), evaluated with linear
interpolation clipped to the ends, exactly as
``sklearn.isotonic.IsotonicRegression(out_of_bounds="clip").predict`` does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

Calibration = Literal["isotonic", "none"]


@dataclass(frozen=True)
class EstimatedPerformance:
    """Expected metrics of a day without labels.

    ``accuracy_std`` is the standard deviation of the realized accuracy around the
    estimate if the calibration is right (sum of Bernoulli variances), a band the UI
    can show next to the estimate.
    """

    n: int
    n_estimated: int
    accuracy: float | None
    precision: float | None
    recall: float | None
    f1: float | None
    accuracy_std: float | None
    expected_tp: float
    expected_fp: float
    expected_fn: float
    expected_tn: float
    notes: tuple[str, ...] = ()


class CBPE:
    """Confidence-based performance estimator for a binary classifier."""

    def __init__(self, classes: tuple[int, int] = (0, 1), calibration: Calibration = "isotonic"):
        if calibration not in ("isotonic", "none"):
            raise ValueError(f"calibration must be 'isotonic' or 'none', got {calibration!r}")
        self.classes = classes
        self.calibration = calibration
        self._x: np.ndarray | None = None
        self._y: np.ndarray | None = None
        self.n_reference = 0

    @property
    def fitted(self) -> bool:
        return self.calibration == "none" or self._x is not None

    def fit(self, y_true: Any, probability: Any) -> CBPE:
        """Learn the calibration map from labeled reference rows (P(positive) scores)."""
        y = np.asarray(y_true, dtype=float)
        p = np.asarray(probability, dtype=float)
        if len(y) != len(p):
            raise ValueError(f"y_true has {len(y)} rows but probability has {len(p)}")
        ok = ~np.isnan(p) & (p >= 0) & (p <= 1) & np.isin(y, [float(c) for c in self.classes])
        if ok.sum() < 2:
            raise ValueError(
                f"CBPE.fit needs labeled rows with valid probabilities; got {int(ok.sum())}"
            )
        yb = (y[ok] == float(self.classes[1])).astype(float)
        self.n_reference = int(ok.sum())
        if self.calibration == "isotonic":
            from sklearn.isotonic import IsotonicRegression  # lazy: keeps code-location load light

            iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(p[ok], yb)
            self._x = np.asarray(iso.X_thresholds_, dtype=float)
            self._y = np.asarray(iso.y_thresholds_, dtype=float)
        return self

    def calibrate(self, probability: Any) -> np.ndarray:
        """Calibrated P(positive) for raw scores (NaN stays NaN)."""
        p = np.asarray(probability, dtype=float)
        if self.calibration == "none":
            return p.copy()
        if self._x is None or self._y is None:
            raise RuntimeError("CBPE is not fitted: call fit(reference labels, probabilities)")
        out = np.interp(p, self._x, self._y)
        out[np.isnan(p)] = np.nan
        return out

    def estimate(self, probability: Any, y_pred: Any) -> EstimatedPerformance:
        """Expected metrics for predictions ``y_pred`` with raw scores ``probability``.

        Rows whose probability is NaN or outside [0, 1], or whose prediction is not a
        class, cannot be estimated and are left out (counted in ``n - n_estimated``).
        """
        p = np.asarray(probability, dtype=float)
        yp = np.asarray(y_pred, dtype=float)
        if len(p) != len(yp):
            raise ValueError(f"probability has {len(p)} rows but y_pred has {len(yp)}")
        neg, pos = (float(c) for c in self.classes)
        ok = ~np.isnan(p) & (p >= 0) & (p <= 1) & np.isin(yp, [neg, pos])
        notes: list[str] = []
        if (~ok).any():
            notes.append(
                f"{int((~ok).sum())} rows without a valid probability or prediction not estimated"
            )
        c = self.calibrate(p[ok])
        is_pos = yp[ok] == pos
        tp = float(np.sum(c[is_pos]))
        fp = float(np.sum(1.0 - c[is_pos]))
        fn = float(np.sum(c[~is_pos]))
        tn = float(np.sum(1.0 - c[~is_pos]))
        m = int(ok.sum())
        if m == 0:
            notes.append("nothing to estimate")
            return EstimatedPerformance(
                len(p), 0, None, None, None, None, None, 0, 0, 0, 0, tuple(notes)
            )
        correct = np.where(is_pos, c, 1.0 - c)
        return EstimatedPerformance(
            n=len(p),
            n_estimated=m,
            accuracy=(tp + tn) / m,
            precision=tp / (tp + fp) if tp + fp > 0 else None,
            recall=tp / (tp + fn) if tp + fn > 0 else None,
            f1=2 * tp / (2 * tp + fp + fn) if 2 * tp + fp + fn > 0 else None,
            accuracy_std=math.sqrt(float(np.sum(correct * (1.0 - correct)))) / m,
            expected_tp=tp,
            expected_fp=fp,
            expected_fn=fn,
            expected_tn=tn,
            notes=tuple(notes),
        )

    def to_state(self) -> dict[str, Any]:
        """A JSON-able snapshot of the fitted estimator."""
        return {
            "classes": list(self.classes),
            "calibration": self.calibration,
            "n_reference": self.n_reference,
            "x": None if self._x is None else self._x.tolist(),
            "y": None if self._y is None else self._y.tolist(),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> CBPE:
        """Rebuild an estimator saved with :meth:`to_state`."""
        est = cls(tuple(state["classes"]), state["calibration"])  # type: ignore[arg-type]
        est.n_reference = int(state.get("n_reference", 0))
        if state.get("x") is not None:
            est._x = np.asarray(state["x"], dtype=float)
            est._y = np.asarray(state["y"], dtype=float)
        return est
