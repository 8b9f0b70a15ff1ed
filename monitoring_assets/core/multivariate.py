"""Multivariate drift: changes in how the features move together (no Dagster, no I/O).

Per-column tests miss a change in the *joint* distribution: two features whose
marginals stay identical while their correlation breaks. Two methods see it:

- **Data reconstruction** (NannyML's ``DataReconstructionDriftCalculator`` shape:
  :meth:`ReconstructionDrift.fit` once per model version, then
  :meth:`ReconstructionDrift.errors` per day). Numerical features are standardised
  (nulls imputed with the reference mean), categoricals one-hot coded on their
  ``max_categories`` most frequent reference values (anything else, unseen values
  included, is the all-zero code; null is a value of its own), every coded column
  standardised; PCA keeps the fewest components that hold ``variance_share`` of the
  reference's variance (scikit-learn's rule for a float ``n_components``). A row's
  error is the Euclidean distance between its coded vector and its reconstruction from
  those components; a day's value is the mean error of its rows. The threshold is
  calibrated like the per-column ones (:func:`reconstruction_thresholds`): reference
  chunks of the day's size (:func:`~monitoring_assets.core.calibration.chunk_frame`),
  exp(mean + ``k``·σ) (WARN) and exp(mean + ``k_error``·σ) (ERROR) of the log of the
  chunks' mean errors, σ taken at its upper 90 % confidence bound times √(1 + 1/n)
  (:func:`~monitoring_assets.core.performance.bands.day_sigma_factor`), or their quantiles (``rule: quantile``). Too few chunks: the analytic fallback
  mean + k·σ_row/√n of the reference's row errors, stated as ``fixed``.
- **Domain classifier** (:func:`domain_classifier_auc`, Evidently's model-based drift):
  a gradient-boosting classifier (scikit-learn ``HistGradientBoostingClassifier``) learns
  to tell reference rows from the day's rows (each side sampled, seeded: the day to
  ``max_rows``, the reference to twice that, at least 1,000, at most ``max_rows``); its
  out-of-fold ROC AUC over ``folds`` stratified folds is the statistic.
  0.5 means it cannot tell them apart. Evidently's threshold is 0.55; on a small day a
  classifier reaches more than that by chance, so the threshold is also at least
  0.5 + k·σ₀, σ₀ the AUC's standard deviation when nothing changed (Mann-Whitney:
  √((n₁ + n₂ + 1) / (12 n₁ n₂)), times the measured :data:`NULL_SPREAD`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from monitoring_assets.core.calibration import log_sigma_levels
from monitoring_assets.core.config import Calibration
from monitoring_assets.core.config_multivariate import DomainClassifierSettings, Multivariate
from monitoring_assets.core.performance.bands import SIGMA_CONFIDENCE, day_sigma_factor

RECONSTRUCTION, DOMAIN_CLASSIFIER = "reconstruction", "domain_classifier"
CALIBRATED, FIXED = "calibrated", "fixed"
#: The seed of every sample the multivariate methods draw.
MULTIVARIATE_SEED = 20_261_130
NULL_CATEGORY = "\x00null"


class NotComputable(ValueError):
    """The method cannot judge this reference or day; the message says why."""


# --------------------------------------------------------------------------- encoding


@dataclass(frozen=True)
class Encoding:
    """How rows become standardised numeric vectors (fitted on the reference).

    ``numerical``: name -> (mean, scale); ``categorical``: name -> coded values;
    ``center``/``scale``: of every coded column, in order; ``excluded``: name -> why."""

    numerical: dict[str, tuple[float, float]]
    categorical: dict[str, list[str]]
    center: np.ndarray
    scale: np.ndarray
    excluded: dict[str, str] = field(default_factory=dict)

    @property
    def width(self) -> int:
        return len(self.numerical) + sum(len(v) for v in self.categorical.values())

    def raw(self, frame: pd.DataFrame) -> np.ndarray:
        """The coded (not yet standardised) matrix of ``frame``; nulls of a numerical
        column take the reference mean."""
        n = len(frame)
        out = np.empty((n, self.width), dtype=float)
        j = 0
        for name, (mean, _) in self.numerical.items():
            col = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)
            out[:, j] = np.where(np.isfinite(col), col, mean)
            j += 1
        for name, values in self.categorical.items():
            col = _categories(frame[name])
            for v in values:
                out[:, j] = col == v
                j += 1
        return out

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """The standardised coded matrix of ``frame``."""
        return (self.raw(frame) - self.center) / self.scale

    def to_dict(self) -> dict[str, Any]:
        return {
            "numerical": {k: list(v) for k, v in self.numerical.items()},
            "categorical": self.categorical,
            "center": self.center.tolist(),
            "scale": self.scale.tolist(),
            "excluded": self.excluded,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Encoding:
        return cls(
            {k: (float(v[0]), float(v[1])) for k, v in d["numerical"].items()},
            {k: list(v) for k, v in d["categorical"].items()},
            np.asarray(d["center"], dtype=float),
            np.asarray(d["scale"], dtype=float),
            dict(d.get("excluded", {})),
        )


def _categories(s: pd.Series) -> np.ndarray:
    return s.astype(object).where(s.notna(), NULL_CATEGORY).astype(str).to_numpy()


def fit_encoding(
    reference: pd.DataFrame, features: dict[str, str], max_categories: int
) -> Encoding:
    """Fit the coding of ``features`` (name -> ``numerical``/``categorical``) on the
    reference. An all-null column is excluded with the reason; a column the reference
    lacks is an error naming it."""
    return _fit_encoding(reference, features, max_categories)[0]


def _fit_encoding(
    reference: pd.DataFrame, features: dict[str, str], max_categories: int
) -> tuple[Encoding, np.ndarray]:
    """The fitted coding and the reference's standardised coded matrix."""
    missing = [f for f in features if f not in reference.columns]
    if missing:
        raise NotComputable(f"reference has no column(s) {missing}")
    numerical: dict[str, tuple[float, float]] = {}
    categorical: dict[str, list[str]] = {}
    excluded: dict[str, str] = {}
    for name, kind in features.items():
        s = reference[name]
        if s.notna().sum() == 0:
            excluded[name] = "all values null on the reference"
            continue
        if kind == "numerical":
            v = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
            ok = v[np.isfinite(v)]
            if not len(ok):
                excluded[name] = "no finite number on the reference"
                continue
            numerical[name] = (float(ok.mean()), float(ok.std()))
        else:
            counts = pd.Series(_categories(s)).value_counts()
            # most frequent first, ties by value: the same reference codes the same way
            ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            categorical[name] = [str(k) for k, _ in ranked[:max_categories]]
    enc = Encoding(numerical, categorical, np.zeros(0), np.ones(0), excluded)
    raw = enc.raw(reference)
    center = raw.mean(axis=0) if len(raw) else np.zeros(enc.width)
    scale = raw.std(axis=0) if len(raw) else np.ones(enc.width)
    scale = np.where(scale > 0, scale, 1.0)  # a constant column stays 0 (StandardScaler's rule)
    return Encoding(numerical, categorical, center, scale, excluded), (raw - center) / scale


# --------------------------------------------------------------------------- reconstruction


@dataclass(frozen=True)
class ReconstructionFit:
    """What :meth:`ReconstructionDrift.fit` learned: the coding, the kept components,
    and the reference's row errors summarised (mean, standard deviation, rows)."""

    encoding: Encoding
    components: np.ndarray  # k × width
    mean: np.ndarray  # PCA centre in coded space (≈ 0)
    explained: float  # share of variance the components hold
    reference_rows: int
    reference_error_mean: float
    reference_error_std: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "encoding": self.encoding.to_dict(),
            "components": self.components.tolist(),
            "mean": self.mean.tolist(),
            "explained": self.explained,
            "reference_rows": self.reference_rows,
            "reference_error_mean": self.reference_error_mean,
            "reference_error_std": self.reference_error_std,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ReconstructionFit:
        enc = Encoding.from_dict(d["encoding"])
        comps = np.asarray(d["components"], dtype=float).reshape(-1, enc.width)
        return cls(
            enc,
            comps,
            np.asarray(d["mean"], dtype=float),
            float(d["explained"]),
            int(d["reference_rows"]),
            float(d["reference_error_mean"]),
            float(d["reference_error_std"]),
        )


def kept_components(explained_ratio: np.ndarray, share: float) -> int:
    """The number of leading components that hold ``share`` of the variance
    (scikit-learn's rule for ``PCA(n_components=share)``)."""
    cum = np.cumsum(explained_ratio)
    return int(min(np.searchsorted(cum, share, side="right") + 1, len(explained_ratio)))


class ReconstructionDrift:
    """PCA reconstruction error of rows, fitted once on the reference."""

    def __init__(self, features: dict[str, str], settings: Multivariate):
        self.features, self.settings = dict(features), settings
        self.fitted: ReconstructionFit | None = None

    def fit(self, reference: pd.DataFrame) -> ReconstructionDrift:
        """Fit coding and PCA on ``reference``; :class:`NotComputable` when the
        reference cannot support a PCA (no usable feature, fewer rows than needed)."""
        enc, x = _fit_encoding(reference, self.features, self.settings.max_categories)
        if enc.width == 0:
            raise NotComputable(
                "no usable feature for PCA ("
                + "; ".join(f"{k}: {v}" for k, v in enc.excluded.items())
                + ")"
            )
        n = len(reference)
        if n <= enc.width:
            raise NotComputable(
                f"reference too small for PCA: {n} rows for {enc.width} coded columns "
                f"(PCA needs more rows than columns, at least {enc.width + 1})"
            )
        mean = x.mean(axis=0)
        c = x - mean
        # The eigenvectors of the width × width scatter matrix are PCA's components
        # (an SVD of the rows would also build an n × width matrix it does not need).
        with threadpool_limits(limits=1, user_api="blas"):
            eigval, eigvec = np.linalg.eigh(c.T @ c)
        order = np.argsort(eigval)[::-1]
        var = np.maximum(eigval[order], 0.0)
        total = var.sum()
        if total <= 0:
            raise NotComputable("every coded column is constant on the reference")
        ratio = var / total
        k = kept_components(ratio, self.settings.variance_share)
        comps = eigvec[:, order[:k]].T
        fit = ReconstructionFit(enc, comps, mean, float(ratio[:k].sum()), n, 0.0, 0.0)
        err = row_errors(fit, x)
        self.fitted = ReconstructionFit(
            enc, comps, mean, fit.explained, n, float(err.mean()), float(err.std(ddof=1))
        )
        return self

    @classmethod
    def from_fit(cls, features: dict[str, str], settings: Multivariate, fit: ReconstructionFit):
        out = cls(features, settings)
        out.fitted = fit
        return out

    def errors(self, frame: pd.DataFrame) -> np.ndarray:
        """Each row's reconstruction error."""
        if self.fitted is None:
            raise RuntimeError("ReconstructionDrift.fit() first")
        return row_errors(self.fitted, self.fitted.encoding.transform(frame))


def row_errors(fit: ReconstructionFit, x: np.ndarray) -> np.ndarray:
    """Euclidean distance of each standardised coded row to its PCA reconstruction.

    The components are orthonormal, so the squared distance is the row's squared norm
    less that of its projection: one product with the components instead of two."""
    c = x - fit.mean
    with threadpool_limits(limits=1, user_api="blas"):
        proj = c @ fit.components.T
    sq = np.einsum("ij,ij->i", c, c) - np.einsum("ij,ij->i", proj, proj)
    return np.sqrt(np.maximum(sq, 0.0))


@dataclass(frozen=True)
class Threshold:
    """A WARN and an ERROR level of a statistic (larger = more drift) and their source."""

    warn: float
    error: float
    mode: str
    source: str
    chunks: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "warn": self.warn,
            "error": self.error,
            "mode": self.mode,
            "source": self.source,
            "chunks": self.chunks,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Threshold:
        return cls(
            float(d["warn"]), float(d["error"]), str(d["mode"]), str(d["source"]), int(d["chunks"])
        )


def levels(values: np.ndarray, settings: Calibration) -> tuple[float, float, str]:
    """WARN and ERROR levels of positive ``values`` by the calibration rule, and the
    rule's words. ``rule: sigma`` works on their logarithm, as the per-column distances
    do (:func:`~monitoring_assets.core.calibration.log_sigma_levels`): a small chunk's
    mean error is right-skewed. A σ from the few chunks a reference yields (12–28 is
    common) is too small to judge a new day with: it is taken at its upper
    :data:`~monitoring_assets.core.performance.bands.SIGMA_CONFIDENCE` confidence bound
    and widened for the uncertainty of the mean, the performance bands' rule
    (:func:`~monitoring_assets.core.performance.bands.day_sigma_factor`)."""
    if settings.rule == "quantile":
        return (
            float(np.quantile(values, settings.quantile)),
            float(np.quantile(values, settings.quantile_error)),
            f"quantile {settings.quantile:g}/{settings.quantile_error:g}",
        )
    f = day_sigma_factor(len(values))
    warn, error = log_sigma_levels(values, settings.k * f, settings.k_error * f)
    return (
        warn,
        error,
        f"exp(mean+{settings.k:g}σ/{settings.k_error:g}σ of log error; σ ×{f:.3g}: "
        f"its upper {SIGMA_CONFIDENCE:.0%} bound (χ², {len(values) - 1} df) × √(1+1/"
        f"{len(values)}) for a new day)".replace("%", " %"),
    )


def analytic_threshold(fit: ReconstructionFit, rows: int, settings: Calibration, why: str):
    """The fallback when chunks cannot calibrate: the mean of ``rows`` row errors varies
    by σ_row/√rows around the reference mean."""
    sd = fit.reference_error_std / math.sqrt(max(rows, 1))
    k, k_err = settings.k, settings.k_error
    if settings.rule == "quantile":
        from scipy.stats import norm

        k, k_err = float(norm.ppf(settings.quantile)), float(norm.ppf(settings.quantile_error))
    m = fit.reference_error_mean
    return Threshold(
        m + k * sd,
        m + k_err * sd,
        FIXED,
        f"fixed: {why}; reference mean error {m:.4g} + {k:g}/{k_err:g} × σ_row/√{rows}",
    )


def reconstruction_thresholds(
    fit: ReconstructionFit,
    chunk_errors: np.ndarray,
    rows: int,
    settings: Calibration,
    chunk_by: str,
    mode: str,
) -> Threshold:
    """Thresholds of a day of ``rows`` rows from reference chunks' mean errors
    (``chunk_errors``); the analytic fallback when ``mode`` is fixed, the chunks are
    fewer than ``min_chunks`` or all equal."""
    n = len(chunk_errors)
    if mode == FIXED:
        return analytic_threshold(fit, rows, settings, "thresholds.mode fixed")
    if n < settings.min_chunks:
        why = (
            f"reference too small to calibrate (reference yields {n} chunks of {rows} rows, "
            f"< {settings.min_chunks})"
        )
        return analytic_threshold(fit, rows, settings, why)
    if float(np.std(chunk_errors)) <= 1e-12:
        return analytic_threshold(fit, rows, settings, "constant on the reference")
    warn, error, rule = levels(chunk_errors, settings)
    by = " (within days)" if chunk_by == "day" else ""
    return Threshold(
        warn, error, CALIBRATED, f"{rule} of {n} reference chunks of {rows} rows{by}", n
    )


# --------------------------------------------------------------------------- domain classifier


#: How much more the classifier's out-of-fold AUC varies, on one population, than the
#: Mann-Whitney σ₀ of fixed scores, 80 draws of 50 day rows against 1,000 reference rows
#: (``bench/bench_multivariate.py --only spread``): 0.049 against σ₀ 0.042 (1.17) on the
#: churn features; 0.061 / 0.059 against σ₀ 0.042 (1.45 / 1.41, ± 0.11) on 50 features
#: (91 coded columns) with 5 / 3 folds. The chance level is judged at the largest, 1.45 σ₀.
NULL_SPREAD = 1.45


def null_auc_sd(n_reference: int, n_day: int) -> float:
    """Standard deviation of the ROC AUC of scores that cannot tell the two sides apart
    (Mann-Whitney; the classifier's own is :data:`NULL_SPREAD` times this)."""
    return math.sqrt((n_reference + n_day + 1) / (12.0 * n_reference * n_day))


def domain_threshold(
    n_reference: int, n_day: int, settings: DomainClassifierSettings, calibration: Calibration
) -> Threshold:
    """WARN/ERROR AUC levels: Evidently's threshold (and our error level), raised to
    0.5 + k·σ₀ / 0.5 + k_error·σ₀ when a chance AUC would reach them."""
    sd = NULL_SPREAD * null_auc_sd(n_reference, n_day)
    k, k_err = calibration.k, calibration.k_error
    if calibration.rule == "quantile":
        from scipy.stats import norm

        k = float(norm.ppf(calibration.quantile))
        k_err = float(norm.ppf(calibration.quantile_error))
    warn = max(settings.auc_threshold, 0.5 + k * sd)
    error = max(settings.auc_threshold_error, 0.5 + k_err * sd, warn)
    src = (
        f"AUC {settings.auc_threshold:g}/{settings.auc_threshold_error:g} (Evidently's 0.55 "
        f"for WARN), at least 0.5 + {k:g}/{k_err:g}σ₀ of chance (σ₀ {sd:.4f} at "
        f"{n_reference} reference vs {n_day} day rows)"
    )
    return Threshold(warn, error, FIXED, src)


def domain_classifier_auc(
    reference: np.ndarray | pd.DataFrame,
    day: np.ndarray | pd.DataFrame,
    settings: DomainClassifierSettings,
    seed: int = MULTIVARIATE_SEED,
    encode: Callable[[pd.DataFrame], np.ndarray] | None = None,
) -> tuple[float, int, int]:
    """Out-of-fold ROC AUC of a classifier telling ``day`` rows (label 1) from
    ``reference`` rows (label 0), each side sampled (seeded) to ``max_rows`` at most;
    returns (AUC, reference rows used, day rows used).

    A side given as a frame is coded with ``encode`` after sampling: a 100,000-row day
    codes its 2,000 drawn rows, not all of them (the same rows are drawn either way, so
    the AUC is that of the coded day)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    rng = np.random.default_rng(seed)
    cur = _sample(day, settings.max_rows, rng)
    # more reference rows than twice the day's add little power and cost time
    ref = _sample(reference, min(settings.max_rows, max(2 * len(cur), 1000)), rng)
    if len(cur) < settings.folds or len(ref) < settings.folds:
        raise NotComputable(
            f"domain classifier needs at least {settings.folds} rows on each side "
            f"(the folds), got {len(ref)} reference and {len(cur)} day rows"
        )
    if isinstance(ref, pd.DataFrame) or isinstance(cur, pd.DataFrame):
        if encode is None:
            raise TypeError("domain_classifier_auc: a frame needs encode=")
        ref = encode(ref) if isinstance(ref, pd.DataFrame) else ref
        cur = encode(cur) if isinstance(cur, pd.DataFrame) else cur
    x = np.vstack([ref, cur])
    y = np.concatenate([np.zeros(len(ref), dtype=int), np.ones(len(cur), dtype=int)])
    clf = HistGradientBoostingClassifier(
        max_iter=50, learning_rate=0.1, max_leaf_nodes=15, early_stopping=False, random_state=0
    )
    folds = StratifiedKFold(n_splits=settings.folds, shuffle=True, random_state=0)
    # One thread: OpenMP threads spin-waiting on a shared, loaded machine made these small
    # fits 10-50x slower than one thread doing the work.
    with threadpool_limits(limits=1, user_api="openmp"):
        proba = cross_val_predict(clf, x, y, cv=folds, method="predict_proba")[:, 1]
    return float(roc_auc_score(y, proba)), len(ref), len(cur)


def _sample(x: Any, n: int, rng: np.random.Generator) -> Any:
    """``n`` rows of an array or frame drawn without replacement, in their order."""
    if len(x) <= n:
        return x
    pick = np.sort(rng.choice(len(x), n, replace=False))
    return x.iloc[pick] if isinstance(x, pd.DataFrame) else x[pick]
