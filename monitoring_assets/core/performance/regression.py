"""Regression performance: realized metrics, residual drift, and Direct Loss Estimation.

Realized metrics of predictions ``ŷ`` against targets ``y`` (error ``e = ŷ − y``):

- ``mae`` = mean |e|, ``rmse`` = sqrt(mean e²), ``mean_error`` = mean e (the bias: positive
  means the model over-predicts);
- ``mape`` = mean |e| / |y| over the rows whose target is not 0. **Zero-target rule**: rows
  with ``y = 0`` are left out of MAPE (their relative error is undefined) and counted in
  ``n_zero_target``; MAPE is ``None`` when every target is 0. scikit-learn instead divides by
  ``max(|y|, eps)``, which turns a zero target into an error of ~1e15;
- ``r2`` = 1 − Σe² / Σ(y − ȳ)²; ``None`` when the targets are constant (scikit-learn's
  ``force_finite`` would report 0 or 1, which reads like a measurement).

Residual drift compares the day's residuals with the validation split's by the
two-sample Kolmogorov–Smirnov test (:func:`residual_drift`).

Direct Loss Estimation (after NannyML's DLE) estimates MAE and RMSE without labels: on the
version's labelled validation split, a gradient-boosted model learns |e| and another e²
from the features and the prediction; a day's estimated MAE is the mean predicted |e|,
its estimated RMSE the square root of the mean predicted e². Like CBPE it holds under
covariate shift while P(y | features) is unchanged, and cannot see concept drift.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class RegressionMetrics:
    """Metrics of one labelled set; ``None`` means not computable (``notes`` says why)."""

    n: int
    mae: float | None
    rmse: float | None
    mape: float | None
    r2: float | None
    mean_error: float | None
    n_zero_target: int
    notes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["notes"] = list(self.notes)
        return d


def regression_metrics(y_true: Any, y_pred: Any) -> RegressionMetrics:
    """MAE, RMSE, MAPE (zero targets left out), R² and mean error of ``y_pred``."""
    y = np.asarray(y_true, dtype=float)
    p = np.asarray(y_pred, dtype=float)
    if len(y) != len(p):
        raise ValueError(f"y_true has {len(y)} rows but y_pred has {len(p)}")
    if np.isnan(y).any() or np.isnan(p).any():
        raise ValueError("y_true and y_pred must not contain NaN (drop unlabelled rows first)")
    n = len(y)
    if n == 0:
        return RegressionMetrics(0, None, None, None, None, None, 0, ("no rows",))
    notes: list[str] = []
    e = p - y
    nonzero = y != 0
    n_zero = int(n - nonzero.sum())
    mape = float(np.mean(np.abs(e[nonzero]) / np.abs(y[nonzero]))) if nonzero.any() else None
    if n_zero:
        notes.append(f"{n_zero} rows with target 0 left out of MAPE")
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum(e**2)) / ss_tot if ss_tot > 0 else None
    if r2 is None:
        notes.append("r2 not computable: the targets are constant")
    return RegressionMetrics(
        n=n,
        mae=float(np.mean(np.abs(e))),
        rmse=float(math.sqrt(np.mean(e**2))),
        mape=mape,
        r2=r2,
        mean_error=float(np.mean(e)),
        n_zero_target=n_zero,
        notes=tuple(notes),
    )


@dataclass(frozen=True)
class ResidualDrift:
    """Two-sample KS test of the day's residuals against the validation residuals."""

    statistic: float | None
    p_value: float | None
    n: int
    n_reference: int
    drifted: bool | None
    explanation: str


def residual_drift(
    residuals: Any, reference_residuals: Any, significance: float, min_rows: int = 30
) -> ResidualDrift:
    """Whether the residual distribution moved (KS p-value below ``significance``)."""
    r = np.asarray(residuals, dtype=float)
    ref = np.asarray(reference_residuals, dtype=float)
    r, ref = r[~np.isnan(r)], ref[~np.isnan(ref)]
    if len(r) < min_rows or len(ref) < min_rows:
        return ResidualDrift(
            None,
            None,
            len(r),
            len(ref),
            None,
            f"not computable: {len(r)} labelled rows, {len(ref)} reference rows (< {min_rows})",
        )
    from scipy.stats import ks_2samp  # lazy: keeps code-location load light

    res = ks_2samp(r, ref)
    drifted = bool(res.pvalue < significance)
    return ResidualDrift(
        float(res.statistic),
        float(res.pvalue),
        len(r),
        len(ref),
        drifted,
        f"KS statistic {res.statistic:.3f}, p = {res.pvalue:.2g} "
        f"({'<' if drifted else '>='} significance {significance:g}) on {len(r)} residuals "
        f"vs {len(ref)} validation residuals",
    )


@dataclass(frozen=True)
class EstimatedLoss:
    """A day's label-free MAE / RMSE estimate."""

    n: int
    n_estimated: int
    mae: float | None
    rmse: float | None
    notes: tuple[str, ...] = ()


class DirectLossEstimator:
    """Learns |error| and error² from features and prediction (see the module doc)."""

    def __init__(self, numerical: list[str], categorical: list[str], prediction: str):
        self.numerical, self.categorical, self.prediction = numerical, categorical, prediction
        self._abs: Any = None
        self._sq: Any = None
        self.n_reference = 0

    @property
    def fitted(self) -> bool:
        return self._abs is not None

    @property
    def inputs(self) -> tuple[tuple[str, ...], tuple[str, ...], str]:
        """(numerical, categorical, prediction) columns the estimator reads."""
        return tuple(self.numerical), tuple(self.categorical), self.prediction

    def _inputs(self, frame: pd.DataFrame) -> pd.DataFrame:
        x = pd.DataFrame(index=frame.index)
        for c in [*self.numerical, self.prediction]:
            x[c] = pd.to_numeric(frame[c], errors="coerce").astype(float)
        for c in self.categorical:
            x[c] = frame[c].astype(object).where(frame[c].notna(), None).astype(str)
        return x

    def _pipeline(self) -> Any:
        from sklearn.compose import ColumnTransformer
        from sklearn.ensemble import HistGradientBoostingRegressor
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import OrdinalEncoder

        n_num = len(self.numerical) + 1
        pre = ColumnTransformer(
            [
                ("num", "passthrough", [*self.numerical, self.prediction]),
                (
                    "cat",
                    OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan),
                    self.categorical,
                ),
            ]
        )
        cat_mask = [False] * n_num + [True] * len(self.categorical)
        reg = HistGradientBoostingRegressor(
            max_iter=60,
            learning_rate=0.1,
            max_leaf_nodes=15,
            min_samples_leaf=40,
            early_stopping=False,
            categorical_features=cat_mask if self.categorical else None,
            random_state=0,
        )
        return Pipeline([("pre", pre), ("reg", reg)])

    def fit(self, frame: pd.DataFrame, target: Any) -> DirectLossEstimator:
        """Fit on the labelled validation rows of ``frame`` (features + prediction)."""
        y = pd.to_numeric(pd.Series(np.asarray(target)), errors="coerce").to_numpy(dtype=float)
        pred = pd.to_numeric(frame[self.prediction], errors="coerce").to_numpy(dtype=float)
        ok = ~np.isnan(y) & ~np.isnan(pred)
        if ok.sum() < 30:
            raise ValueError(f"DirectLossEstimator.fit needs >= 30 labelled rows, got {ok.sum()}")
        x = self._inputs(frame.loc[ok])
        e = pred[ok] - y[ok]
        self._abs = self._pipeline().fit(x, np.abs(e))
        self._sq = self._pipeline().fit(x, e**2)
        self.n_reference = int(ok.sum())
        return self

    def expected_losses(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Per-row predicted |error| and error² (clipped at 0), rows with a prediction."""
        if not self.fitted:
            raise RuntimeError("DirectLossEstimator is not fitted")
        x = self._inputs(frame)
        ok = ~x[self.prediction].isna().to_numpy()
        x = x.loc[ok]
        if len(x) == 0:
            return np.empty(0), np.empty(0)
        return (
            np.clip(self._abs.predict(x), 0.0, None),
            np.clip(self._sq.predict(x), 0.0, None),
        )

    def estimate(self, frame: pd.DataFrame) -> EstimatedLoss:
        """Estimated MAE and RMSE of the rows of ``frame``."""
        a, s = self.expected_losses(frame)
        n, m = len(frame), len(a)
        notes = () if m == n else (f"{n - m} rows without a prediction not estimated",)
        if m == 0:
            return EstimatedLoss(n, 0, None, None, notes)
        return EstimatedLoss(n, m, float(a.mean()), float(math.sqrt(s.mean())), notes)
