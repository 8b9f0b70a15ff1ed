"""Realized and estimated performance of regression and multiclass models, per day.

The binary pipeline (:mod:`.daily`) has its own tables; the other tasks write long rows,
one per (day, metric, class), to ``task_performance`` (realized, once labels arrive) and
``task_estimated_performance`` (label-free, on the day itself):

- regression — realized ``mae``, ``rmse``, ``mape`` (zero targets left out), ``r2``,
  ``mean_error`` and ``residual_drift`` (KS statistic of the day's residuals against the
  validation split's; its p-value in ``notes``); estimated ``estimated_mae`` and
  ``estimated_rmse`` by Direct Loss Estimation, beside the realized values once labels are in;
- multiclass — realized ``accuracy``, ``macro_``/``weighted_`` ``precision``/``recall``/``f1``,
  ``macro_roc_auc`` and per class (``class_label``) ``precision``, ``recall``, ``f1``,
  ``roc_auc``; estimated ``estimated_accuracy``, ``estimated_macro_f1`` and per-class
  ``estimated_precision``/``estimated_recall``/``estimated_f1`` by multiclass CBPE.

Every day also gets a ``label_coverage`` row (realized) carrying its status:
``complete``, ``partial`` (coverage below ``min_label_coverage``: the metrics cover the
labelled rows only), ``no_labels``, ``labels_pending``, ``no_predictions``.

A checked metric's row carries its thresholds (:func:`task_threshold`): calibrated bands
from chunks of the validation split of the day's size (the binary bands' chunking, see
:mod:`.bands`) — upper edges ``mean + k·σ`` for losses, lower edges ``mean − k·σ``
otherwise — or fixed ones derived from the reference value. The estimate is judged with
the realized metric's band. Only the configured model version is measured: retraining
has no built-in trainer for these tasks.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from monitoring_assets.core.config import ModelConfig
from monitoring_assets.core.performance.bands import Band, Threshold, chunk_indices, size_bucket
from monitoring_assets.core.performance.multiclass import (
    MulticlassCBPE,
    MulticlassMetrics,
    multiclass_metrics,
)
from monitoring_assets.core.performance.references import validation_frame
from monitoring_assets.core.performance.regression import (
    DirectLossEstimator,
    RegressionMetrics,
    regression_metrics,
)
from monitoring_assets.core.ports import Lake
from monitoring_assets.core.registry import ModelRegistry

LOWER, HIGHER = "lower_is_better", "higher_is_better"
#: The registry object holding a version's fitted Direct Loss Estimation models.
DLE_ARTIFACT = "direct_loss_estimator"


@dataclass(frozen=True)
class Checked:
    """A metric a check judges: its row (``metric``, ``class_label``), the band metric
    it is judged with, and which way is bad."""

    check: str
    metric: str
    class_label: str
    band_metric: str
    direction: str
    estimated: bool


def checked_metrics(model: ModelConfig) -> list[Checked]:
    """The band-judged checks of ``model`` (not label coverage, not residual drift)."""
    if model.task == "regression":
        return [
            Checked("mae_within_band", "mae", "", "mae", LOWER, False),
            Checked("rmse_within_band", "rmse", "", "rmse", LOWER, False),
            Checked("estimated_mae_within_band", "estimated_mae", "", "mae", LOWER, True),
            Checked("estimated_rmse_within_band", "estimated_rmse", "", "rmse", LOWER, True),
        ]
    out = [
        Checked("accuracy_within_band", "accuracy", "", "accuracy", HIGHER, False),
        Checked("macro_f1_within_band", "macro_f1", "", "macro_f1", HIGHER, False),
    ]
    out += [
        Checked(f"class_{c}_f1_within_band", "f1", str(c), f"f1[{c}]", HIGHER, False)
        for c in model.classes or ()
    ]
    if model.probability_columns:
        out += [
            Checked(
                "estimated_accuracy_within_band", "estimated_accuracy", "", "accuracy", HIGHER, True
            ),
            Checked(
                "estimated_macro_f1_within_band", "estimated_macro_f1", "", "macro_f1", HIGHER, True
            ),
        ]
    return out


def chunk_values(model: ModelConfig, y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """The band metrics of one chunk of labelled rows."""
    if model.task == "regression":
        e = pred - y
        return {"mae": float(np.mean(np.abs(e))), "rmse": float(math.sqrt(np.mean(e**2)))}
    m = multiclass_metrics(y, pred, list(model.classes or ()))
    out = {"accuracy": m.accuracy, "macro_f1": m.macro_f1}
    out.update({f"f1[{c}]": cm.f1 for c, cm in m.per_class.items()})
    return {k: float("nan") if v is None else float(v) for k, v in out.items()}


def task_reference(
    model: ModelConfig, lake: Lake, registry: ModelRegistry, served: Callable[[], Any]
) -> TaskReference:
    """The configured version's reference, with ``registry`` storing what is fitted on it.
    The version is registered first when the registry does not know it (the first one
    as champion; ``served`` gives the estimator to store with it, None for a files model)."""
    if model.version not in {v.version for v in registry.versions(model.name)}:
        if registry.versions(model.name):
            registry.register(
                model.name, served(), version=model.version, note="version from the model file"
            )
        else:
            registry.ensure_initial(
                model.name, model.version, served(), effective_from=model.first_date
            )
    return TaskReference(model, lake, registry)


class TaskReference:
    """What the configured version is compared against: its labelled validation split,
    the reference metrics on it, the label-free estimator fitted on it, and its bands.

    With a ``registry`` (where the version is registered) the regression estimator is
    fitted once per version and stored there (:data:`DLE_ARTIFACT`, its sha256 checked
    on load); later runs load it instead of fitting again. A stored estimator whose
    inputs are not the model file's columns any more is fitted again and replaced."""

    def __init__(self, model: ModelConfig, lake: Lake, registry: ModelRegistry | None = None):
        self.model = model
        self.registry = registry
        self.version = model.version
        frame = validation_frame(model, lake, model.version)
        cols = model.columns
        frame = frame[frame[cols.target].notna() & frame[cols.prediction].notna()]
        if model.task == "multiclass":
            frame = frame[
                frame[cols.target].isin(model.classes) & frame[cols.prediction].isin(model.classes)
            ]
        self.frame = frame.reset_index(drop=True)
        self.y = self._values(self.frame[cols.target])
        self.pred = self._values(self.frame[cols.prediction])
        self._bands: dict[int, dict[str, Band]] = {}

    def _values(self, s: pd.Series) -> np.ndarray:
        return s.to_numpy(dtype=float if self.model.task == "regression" else "int64")

    def probabilities(self, frame: pd.DataFrame) -> np.ndarray | None:
        """Rows × classes probabilities of ``frame``, None when not logged."""
        cols = self.model.probability_columns
        if not cols or any(c not in frame for c in cols.values()):
            return None
        return frame[[cols[c] for c in self.model.classes or ()]].to_numpy(dtype=float)

    @cached_property
    def performance(self) -> RegressionMetrics | MulticlassMetrics:
        if self.model.task == "regression":
            return regression_metrics(self.y, self.pred)
        return multiclass_metrics(
            self.y, self.pred, list(self.model.classes or ()), self.probabilities(self.frame)
        )

    @cached_property
    def residuals(self) -> np.ndarray:
        return self.pred - self.y

    @cached_property
    def dle(self) -> DirectLossEstimator:
        m = self.model
        fresh = DirectLossEstimator(m.numerical, m.categorical, m.columns.prediction)
        if self.registry is None:
            return fresh.fit(self.frame, self.y)
        stored = self.registry.get_object(m.name, self.version, DLE_ARTIFACT)
        if isinstance(stored, DirectLossEstimator) and stored.inputs == fresh.inputs:
            return stored
        fresh.fit(self.frame, self.y)
        self.registry.put_object(m.name, self.version, DLE_ARTIFACT, fresh)
        return fresh

    @cached_property
    def cbpe(self) -> MulticlassCBPE | None:
        prob = self.probabilities(self.frame)
        if prob is None:
            return None
        return MulticlassCBPE(list(self.model.classes or ())).fit(self.y, prob)

    def reference_value(self, band_metric: str) -> float | None:
        p = self.performance
        if band_metric.startswith("f1["):
            assert isinstance(p, MulticlassMetrics)
            return p.per_class[int(band_metric[3:-1])].f1
        return getattr(p, band_metric)

    def bands(self, n_rows: int) -> dict[str, Band]:
        """The band of every chunk metric for a day of ``n_rows`` labelled rows."""
        rows = size_bucket(n_rows)
        if rows not in self._bands:
            cal = self.model.thresholds.calibration
            ts = (
                self.frame[self.model.columns.timestamp]
                if self.model.columns.timestamp in self.frame
                else None
            )
            seed = zlib.crc32(f"{self.model.name}/{self.version}/{rows}".encode())
            chunks, chunking = (
                chunk_indices(ts, len(self.frame), rows, cal.max_chunks, seed)
                if rows
                else ([], "none")
            )
            values: dict[str, list[float]] = {}
            for idx in chunks:
                for k, v in chunk_values(self.model, self.y[idx], self.pred[idx]).items():
                    if not math.isnan(v):
                        values.setdefault(k, []).append(v)
            reason = (
                ""
                if chunks
                else (
                    f"validation split of {len(self.frame):,} rows holds no chunk of {rows:,} rows"
                )
            )
            self._bands[rows] = {
                k: Band(k, rows, chunking, len(self.frame), tuple(v), reason)
                for k, v in values.items()
            }
        return self._bands[rows]


def task_threshold(
    model: ModelConfig,
    check: Checked,
    band: Band | None,
    reference: float | None,
    level: str,
) -> Threshold:
    """The ``level`` (``warn``/``error``) edge of ``check``: calibrated from ``band`` when
    the check's mode allows it, else fixed from the reference value."""
    thr = model.thresholds
    mode = thr.mode_for(check.check)
    cal = thr.calibration
    why = ""
    if mode != "fixed":
        needed = cal.min_chunks if mode == "auto" else 2
        if band is None or band.n_chunks < needed:
            why = (band.reason if band is not None else "") or (
                f"{0 if band is None else band.n_chunks} validation chunk(s) with "
                f"{check.band_metric} defined, < {needed}"
            )
        elif check.direction == HIGHER:
            edge, text = band.edges(cal)[level]
            return Threshold(edge, "calibrated", text)
        else:
            return _upper(band, cal, level)
    fixed = _fixed(model, check, reference, level)
    if mode == "fixed":
        return fixed
    return Threshold(fixed.value, "fixed", f"{fixed.source}; {mode} mode: {why}")


def _upper(band: Band, cal: Any, level: str) -> Threshold:
    """Upper edge of a loss band: ``mean + k·σ`` or the upper quantile."""
    mean, std = band.mean, band.std
    assert mean is not None and std is not None
    k = cal.k if level == "warn" else cal.k_error
    where = f"of {band.n_chunks} validation chunks of {band.chunk_rows:,} rows"
    if cal.rule == "quantile":
        q = cal.quantile if level == "warn" else cal.quantile_error
        return Threshold(
            float(np.quantile(band.values, q)), "calibrated", f"{q:.3g} quantile {where}"
        )
    if std == 0.0:
        std = abs(mean) / band.chunk_rows or 1.0 / band.chunk_rows
    return Threshold(mean + k * std, "calibrated", f"mean+{k:g}σ {where}")


def _fixed(model: ModelConfig, check: Checked, reference: float | None, level: str) -> Threshold:
    perf = model.thresholds.performance
    if reference is None:
        return Threshold(None, "fixed", "no reference value: not judged")
    times = 1 if level == "warn" else 2
    if check.direction == LOWER:
        f = 1 + times * perf.loss_increase
        return Threshold(
            reference * f, "fixed", f"reference {reference:.4g} × {f:g} (loss_increase)"
        )
    drop = perf.f1_drop if "f1" in check.metric else perf.accuracy_drop
    key = "f1_drop" if "f1" in check.metric else "accuracy_drop"
    return Threshold(
        reference - times * drop, "fixed", f"reference {reference:.4g} − {times}×{key}"
    )
